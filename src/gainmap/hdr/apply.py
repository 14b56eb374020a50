"""Applying a gain map to a linear base image (ISO 21496-1 semantics, formats.md section 5), and Apple's rule.

Per channel c, with the gain-map code v (8 bits) sampled up to the base size::

    r      = v / 255
    L      = lerp(min_c, max_c, r ** (1 / gamma_c))        (log2 gain)
    out    = (base_c + base_offset_c) * 2 ** (L * w) - alternate_offset_c

How the map is sampled up
-------------------------
libultrahdr (``sampleMap``), libavif (``avifImageScale`` of the gain-map image) and Skia (a texture
sampler) all interpolate the *code values* and only then apply gamma, lerp and exp2; so does this module.
libultrahdr uses Shepard inverse-distance weights on a corner-aligned grid (``x_map = x / scale``); here the
interpolation is bilinear with pixel-centre alignment (``x_map = (x + 0.5) * w_map / W - 0.5``, clamped at
the edges, as GPU samplers and libyuv do).  That is symmetric, works for any (non-integer) ratio, and
differs from libultrahdr by at most a fraction of one code step on smooth maps.

Because the interpolated code is no longer an integer, the exp2 work goes through a *fine* table with
``FINE_STEPS`` entries per code (4081 entries for 16 steps): the nearest entry is at most 1/32 of a code
away, a finer grid than libultrahdr's own 1024-entry gain LUT.  At integer codes (a map the size of the
base) the table equals :func:`gain_lut` exactly.

Everything runs in row chunks (``chunk_rows``) in float32, so memory stays near the size of the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from gainmap.hdr import color
from gainmap.metadata import GainMapMetadata

#: Sub-steps per 8-bit code in the table used for interpolated gain-map values.
FINE_STEPS = 16


# ------------------------------------------------------------------------------------------- weight
def weight_for(md: GainMapMetadata, display_headroom: float | None) -> float:
    """How much of the gain map to apply, in [-1, 1], for a display with log2 headroom ``display_headroom``.

    ``None`` asks for the full alternate rendition: +1, or -1 when the base is the HDR rendition.
    Otherwise the ISO 21496-1 form (as libavif ``avifGetGainMapWeight``)::

        w = clamp((H_disp - H_base) / (H_alt - H_base), 0, 1)

    and when the base is HDR (``H_base > H_alt``) the weight is applied negatively, ``-w``: the map stores
    log2(HDR/SDR) whatever the direction (libavif negates it when computing an HDR-base map), so going from
    an HDR base towards the SDR alternate divides by the gain.  Equal headrooms give 0 (libavif: the case is
    undefined and the map is not applied).
    """
    sign = -1.0 if md.base_is_hdr else 1.0
    if display_headroom is None:
        return sign
    h_base, h_alt = md.base_hdr_headroom, md.alternate_hdr_headroom
    if h_base == h_alt:
        return 0.0
    h = float(display_headroom)
    if math.isnan(h):
        raise ValueError("display_headroom must not be NaN")
    w = min(max((h - h_base) / (h_alt - h_base), 0.0), 1.0)
    return sign * w


# --------------------------------------------------------------------------------------------- LUTs
def _log_gain(md: GainMapMetadata, r: np.ndarray, channels: int) -> np.ndarray:
    """float64 (len(r), channels) log2 gains for normalised codes r in [0, 1]."""
    out = np.empty((r.shape[0], channels), dtype=np.float64)
    for c, (lo, hi, gamma, _bo, _ao) in enumerate(md.channels(channels)):
        if not (gamma > 0 and math.isfinite(gamma)):
            raise ValueError(f"gain-map gamma must be finite and > 0, got {gamma!r}")
        t = r if gamma == 1.0 else np.power(r, 1.0 / gamma)
        out[:, c] = lo + (hi - lo) * t
    return out


def gain_lut(md: GainMapMetadata, weight: float) -> np.ndarray:
    """float32 (256, C) gain factors 2**(L * weight) for every 8-bit code, C = ``md.channel_count``."""
    r = np.arange(256, dtype=np.float64) / 255.0
    return np.exp2(_log_gain(md, r, md.channel_count) * float(weight)).astype(np.float32)


def _fine_lut(values: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """float32 (255 * FINE_STEPS + 1, C) table of ``values(r)`` on r = i / (255 * FINE_STEPS)."""
    n = 255 * FINE_STEPS
    r = np.arange(n + 1, dtype=np.float64) / n
    return np.ascontiguousarray(values(r), dtype=np.float32)


# --------------------------------------------------------------------------------------- sampling
def _axis_coords(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-centre aligned bilinear source indices (lower, upper) and float32 fractions."""
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0.0, n_in - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (pos - lo).astype(np.float32)


class _MapSampler:
    """Turns a uint8 gain map (h, w, Cm) into table indices for row ranges of an (H, W) image."""

    def __init__(self, gmap: np.ndarray, height: int, width: int) -> None:
        self.map = gmap
        self.same_size = gmap.shape[0] == height and gmap.shape[1] == width
        if not self.same_size:
            self.y0, self.y1, self.fy = _axis_coords(height, gmap.shape[0])
            self.x0, self.x1, fx = _axis_coords(width, gmap.shape[1])
            self.fx = fx[:, np.newaxis]

    def indices(self, r0: int, r1: int) -> tuple[np.ndarray, int]:
        """Table indices for image rows [r0, r1) and the steps per code they use (1 or FINE_STEPS)."""
        if self.same_size:
            return self.map[r0:r1], 1
        y0, y1, fy = self.y0[r0:r1], self.y1[r0:r1], self.fy[r0:r1]
        ya, yb = int(y0[0]), int(y1[-1]) + 1
        rows = self.map[ya:yb].astype(np.float32)
        rows *= np.float32(FINE_STEPS)
        rows += np.float32(0.5)                         # interpolation keeps it: truncation rounds below
        left = rows[:, self.x0]
        right = rows[:, self.x1]
        right -= left
        right *= self.fx
        left += right                                   # horizontally interpolated rows, (nr, W, Cm)
        top = left[y0 - ya]
        bottom = left[y1 - ya]
        bottom -= top
        bottom *= fy[:, np.newaxis, np.newaxis]
        top += bottom
        return top.astype(np.int32), FINE_STEPS


def _normalise_map(gainmap: np.ndarray) -> np.ndarray:
    g = np.asarray(gainmap)
    if g.dtype != np.uint8:
        raise TypeError(f"gain map must be uint8, got {g.dtype}")
    if g.ndim == 2:
        g = g[:, :, np.newaxis]
    if g.ndim != 3 or g.shape[2] not in (1, 3) or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"gain map must be (h, w), (h, w, 1) or (h, w, 3), got shape {np.shape(gainmap)}")
    return g


def _check_base(base: np.ndarray) -> np.ndarray:
    b = np.asarray(base)
    if b.ndim != 3 or b.shape[2] != 3:
        raise ValueError(f"base image must be (H, W, 3), got shape {b.shape}")
    if not np.issubdtype(b.dtype, np.floating):
        raise TypeError(f"base image must be linear float, got {b.dtype}")
    return b


def _prepare_out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {shape}, got {out.dtype} {out.shape}")
    return out


def _run(base: np.ndarray, gmap: np.ndarray, table: Callable[[int], np.ndarray], pre_add: np.ndarray,
         post_sub: np.ndarray, out: np.ndarray, chunk_rows: int) -> np.ndarray:
    """out = (base + pre_add) * table[idx] - post_sub, by row chunks.

    ``table(steps)`` gives the (255 * steps + 1, C) factor table for that index resolution.
    """
    height, width = base.shape[:2]
    sampler = _MapSampler(gmap, height, width)
    tables: dict[int, np.ndarray] = {}
    cm = gmap.shape[2]
    do_pre = bool(np.any(pre_add != 0))
    do_post = bool(np.any(post_sub != 0))
    pre = pre_add.astype(np.float32)
    post = post_sub.astype(np.float32)
    # With one factor per pixel and equal offsets per channel, base * f + (pre * f - post) does the
    # offset work on the single-channel factor instead of on all three channels.
    uniform = bool(np.all(pre_add == pre_add[0]) and np.all(post_sub == post_sub[0]))
    step = max(1, int(chunk_rows))
    for r0 in range(0, height, step):
        r1 = min(height, r0 + step)
        idx, steps = sampler.indices(r0, r1)
        if steps not in tables:
            tables[steps] = table(steps)
        lut = tables[steps]
        c = lut.shape[1]
        if c == 1:
            factor = lut[:, 0][idx]                      # (rows, W, Cm)
        elif cm == 1:
            factor = lut[idx[:, :, 0]]                   # (rows, W, 3)
        else:
            flat = idx.astype(np.intp) * 3
            flat += np.arange(3)
            factor = lut.ravel()[flat]
        o = out[r0:r1]
        chunk = base[r0:r1]
        if factor.shape[2] == 1 and uniform and (do_pre or do_post):
            extra = factor * pre[0] if do_pre else np.zeros_like(factor)
            extra -= post[0]
            np.multiply(chunk, factor, out=o)
            o += extra
            continue
        if do_pre:
            np.add(chunk, pre, out=o)
            o *= factor
        else:
            np.multiply(chunk, factor, out=o)
        if do_post:
            o -= post
    return out


# ------------------------------------------------------------------------------------------ public
def apply_gainmap(sdr_linear: np.ndarray, gainmap: np.ndarray, md: GainMapMetadata,
                  display_headroom: float | None = None, out: np.ndarray | None = None,
                  chunk_rows: int = 256) -> np.ndarray:
    """The rendition for ``display_headroom`` (log2; ``None`` = the full alternate) of a linear base image.

    ``sdr_linear`` is the linear base rendition (float, H x W x 3; despite the name it is the HDR image for
    an HDR-base record); ``gainmap`` uint8 h x w, h x w x 1 or h x w x 3 of any size (sampled as described
    in the module docstring).  Returns float32 H x W x 3 (``out`` if given; it may be ``sdr_linear`` itself
    when that is float32, for an in-place apply).  Output values are not clipped.

    The math runs in the primaries of the array passed in.  For ``md.use_base_colour_space == False`` the
    caller converts the base into the alternate image's primaries first (:func:`gainmap.hdr.color.convert`).
    """
    base = _check_base(sdr_linear)
    gmap = _normalise_map(gainmap)
    weight = weight_for(md, display_headroom)
    offsets = md.channels(3)
    pre = np.array([o[3] for o in offsets], dtype=np.float64)
    post = np.array([o[4] for o in offsets], dtype=np.float64)
    result = _prepare_out(out, base.shape)
    if weight == 0.0:
        # 2**0 = 1: the base plus the offsets' difference (exactly the base when the offsets agree).
        step = max(1, int(chunk_rows))
        for r0 in range(0, base.shape[0], step):
            np.add(base[r0:r0 + step], (pre - post).astype(np.float32), out=result[r0:r0 + step])
        return result

    def table(steps: int) -> np.ndarray:
        if steps == 1:
            return gain_lut(md, weight)
        return _fine_lut(lambda r: np.exp2(_log_gain(md, r, md.channel_count) * weight))

    return _run(base, gmap, table, pre, post, result, chunk_rows)


#: Linearisations for Apple's gain map (formats.md section 8): the doc says BT.709, ImageIO reportedly 2.2.
APPLE_LINEARIZE = ("rec709", "gamma2.2", "srgb")


def _linearize(kind: str, r: np.ndarray) -> np.ndarray:
    if kind == "rec709":
        return color.bt709_to_linear(r).astype(np.float64)
    if kind == "gamma2.2":
        return r ** 2.2
    if kind == "srgb":
        return color.srgb_to_linear_f64(r)
    raise ValueError(f"linearize must be one of {', '.join(APPLE_LINEARIZE)}, got {kind!r}")


def apple_lut(headroom_linear: float, linearize: str = "rec709") -> np.ndarray:
    """float32 (256,) factors 1 + (H - 1) * lin(v / 255) of Apple's rule for every 8-bit code."""
    r = np.arange(256, dtype=np.float64) / 255.0
    return (1.0 + (float(headroom_linear) - 1.0) * _linearize(linearize, r)).astype(np.float32)


def apply_apple(sdr_linear: np.ndarray, gainmap_u8: np.ndarray, headroom_linear: float,
                linearize: str = "rec709", out: np.ndarray | None = None, chunk_rows: int = 256) -> np.ndarray:
    """Apple HDR gain map (iOS 14-17): ``HDR = SDR * (1 + (H - 1) * g)``, g the linearised map value.

    ``headroom_linear`` is the linear ratio H (>= 1); ``linearize`` is ``"rec709"`` (the BT.709 inverse OETF,
    Apple's document), ``"gamma2.2"`` (ImageIO, reportedly) or ``"srgb"``.  Same sampling and chunking as
    :func:`apply_gainmap`.
    """
    h = float(headroom_linear)
    if not (h >= 1.0 and math.isfinite(h)):
        raise ValueError(f"Apple headroom must be a finite ratio >= 1, got {headroom_linear!r}")
    _linearize(linearize, np.zeros(1))
    base = _check_base(sdr_linear)
    gmap = _normalise_map(gainmap_u8)
    result = _prepare_out(out, base.shape)
    zero = np.zeros(3)

    def table(steps: int) -> np.ndarray:
        if steps == 1:
            return apple_lut(h, linearize)[:, np.newaxis]
        return _fine_lut(lambda r: (1.0 + (h - 1.0) * _linearize(linearize, r))[:, np.newaxis])

    return _run(base, gmap, table, zero, zero, result, chunk_rows)


def decode_sdr(jpeg_rgb_u8: np.ndarray, colour_space: str = "srgb") -> np.ndarray:
    """Linear float32 (H, W, 3) of decoded 8-bit JPEG RGB, in ``colour_space``'s own primaries.

    All three named spaces use the sRGB curve for 8-bit SDR (Display P3 by definition; sRGB and BT.2020
    gain-map bases as written by libultrahdr), so ``colour_space`` only names the primaries (validated).
    """
    color.canonical_name(colour_space)
    rgb = np.asarray(jpeg_rgb_u8)
    if rgb.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got {rgb.dtype}")
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, np.newaxis], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) or (H, W) pixels, got shape {rgb.shape}")
    return color.srgb_u8_lut()[rgb]
