"""Edited pairs with known truth, for judging a restore from the original (``gainmap eval --reference``).

An :class:`Original` is a gain-map photo's SDR (uint8) and HDR (linear, 1.0 = SDR white) renditions.  An
:class:`EditSpec` is what an editor might have done, in this order:

1. content, in the original's coordinates: ``replace`` copies a rectangle from another part of the same photo
   over one (its true HDR is that part's HDR), ``remove`` fills a rectangle with OpenCV's inpainting (no truth
   inside: that region is left out of the scores and judged by its seam);
2. geometry: an uneven crop, a 90-degree turn, a mirror, a resize (all as one affine transform, resampled in
   linear light with an area prefilter, :func:`gainmap.hdr.warp.warp`);
3. tone: ``grade`` = exposure +0.5 EV, an S-curve contrast and +25 % saturation on the SDR;
4. the result saved as a plain SDR JPEG (quality 90, no metadata): all an editor hands back.

:func:`make_edit` returns the JPEG bytes and the truth on the edited grid: the HDR luminance (for a graded
edit the edited SDR lifted by the original's boost, the rule docs/restore.md chooses), the original's true
per-pixel log2 gain warped with the exact geometry (the geometry oracle's input) and masks of the replaced
and removed pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from gainmap.hdr import warp
from gainmap.hdr.color import linear_to_srgb, luminance_coefficients, u8_to_linear_lut

FLOOR = 1.0 / 64.0
QUALITY = 90

Rect = tuple[float, float, float, float]   # x, y, w, h as fractions of the picture


@dataclass
class Original:
    sdr_u8: np.ndarray        # (h, w, 3) uint8, sRGB-encoded
    hdr: np.ndarray           # (h, w, 3) float32, linear, 1.0 = SDR white
    colour_space: str = "srgb"
    channels: int = 1         # the original map's channels: the boost a grade keeps is per channel for 3


@dataclass
class EditSpec:
    name: str
    crop: Rect | None = None          # kept part, fractions of the picture after the turn
    turn: int = 0                     # quarter turns counter-clockwise (np.rot90)
    mirror: bool = False
    resize: float = 1.0
    grade: bool = False
    replace: tuple[Rect, tuple[float, float]] | None = None   # (target rect, source x, y)
    remove: Rect | None = None


@dataclass
class EditedPair:
    spec: EditSpec
    jpeg: bytes
    truth_luma: np.ndarray            # (h, w) linear HDR luminance on the edited grid
    true_gain: np.ndarray             # (h, w, C) log2 gain (luminance or per channel) warped exactly
    replaced: np.ndarray              # (h, w) bool: content replaced, truth known
    removed: np.ndarray               # (h, w) bool: content removed, no truth
    matrix: np.ndarray = field(default_factory=lambda: np.eye(3))


#: The edits of issue 16 (a region in the middle third so a crop keeps it).
EDITS: tuple[EditSpec, ...] = (
    EditSpec("crop+resize80", crop=(0.06, 0.03, 0.90, 0.90), resize=0.8),
    EditSpec("rot90+crop", turn=1, crop=(0.05, 0.08, 0.88, 0.86)),
    EditSpec("mirror", mirror=True),
    EditSpec("grade", grade=True),
    EditSpec("replace", replace=((0.40, 0.38, 0.22, 0.22), (0.08, 0.10))),
    EditSpec("remove", remove=(0.55, 0.45, 0.15, 0.15)),
    EditSpec("combined", crop=(0.04, 0.05, 0.90, 0.88), turn=1, mirror=True, resize=0.8, grade=True,
             replace=((0.40, 0.38, 0.22, 0.22), (0.08, 0.10)), remove=(0.12, 0.62, 0.15, 0.15)),
)


def _pixels(rect: Rect, h: int, w: int) -> tuple[int, int, int, int]:
    x, y, rw, rh = rect
    return round(x * w), round(y * h), max(1, round(rw * w)), max(1, round(rh * h))


def _geometry(spec: EditSpec, h: int, w: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The original -> edited transform (pixel centres, 3x3) and the edited size (h, w)."""
    m = np.eye(3)
    ch, cw = h, w
    for _ in range(spec.turn % 4):      # np.rot90: (x, y) -> (y, W - 1 - x)
        m = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, cw - 1.0], [0.0, 0.0, 1.0]]) @ m
        ch, cw = cw, ch
    if spec.mirror:
        m = warp.flip_matrix(cw) @ m
    if spec.crop is not None:
        x, y, rw, rh = _pixels(spec.crop, ch, cw)
        m = np.array([[1.0, 0.0, -x], [0.0, 1.0, -y], [0.0, 0.0, 1.0]]) @ m
        ch, cw = rh, rw
    if spec.resize != 1.0:
        nh, nw = max(1, round(ch * spec.resize)), max(1, round(cw * spec.resize))
        m = warp.grid_to_grid((ch, cw), (nh, nw)) @ m
        ch, cw = nh, nw
    return m, (ch, cw)


def _grade(lin: np.ndarray) -> np.ndarray:
    """+0.5 EV, S-curve contrast and +25 % saturation; linear in, sRGB uint8 out."""
    v = linear_to_srgb(np.clip(lin * np.float32(2 ** 0.5), 0, 1))
    v = v - np.float32(0.3 / (2 * np.pi)) * np.sin(np.float32(2 * np.pi) * v)   # slope 1.3 mid, 0.7 ends
    grey = v.mean(axis=-1, keepdims=True)
    v = np.clip(grey + (v - grey) * 1.25, 0, 1)
    return np.round(v * 255).astype(np.uint8)


def _luma(rgb: np.ndarray, space: str) -> np.ndarray:
    return rgb @ luminance_coefficients(space).astype(np.float32)


def lift_luma(sdr_linear: np.ndarray, gain: np.ndarray, space: str) -> np.ndarray:
    """Luminance of linear SDR lifted by a log2 gain (h, w, 1: of luminance; h, w, 3: per channel)."""
    k = np.float32(FLOOR)
    if gain.shape[-1] == 3:
        return _luma((sdr_linear + k) * np.exp2(gain) - k, space)
    return (_luma(sdr_linear, space) + k) * np.exp2(gain[..., 0]) - k


def make_edit(original: Original, spec: EditSpec) -> EditedPair:
    """The edited JPEG and its truth (see the module docstring)."""
    sdr_u8 = original.sdr_u8.copy()
    hdr = original.hdr.astype(np.float32).copy()
    h, w = sdr_u8.shape[:2]
    replaced = np.zeros((h, w), np.float32)
    removed = np.zeros((h, w), np.float32)
    if spec.replace is not None:
        (rect, (sx, sy)) = spec.replace
        x, y, rw, rh = _pixels(rect, h, w)
        x0, y0 = round(sx * w), round(sy * h)
        sdr_u8[y:y + rh, x:x + rw] = original.sdr_u8[y0:y0 + rh, x0:x0 + rw]
        hdr[y:y + rh, x:x + rw] = original.hdr[y0:y0 + rh, x0:x0 + rw]
        replaced[y:y + rh, x:x + rw] = 1
    if spec.remove is not None:
        x, y, rw, rh = _pixels(spec.remove, h, w)
        mask = np.zeros((h, w), np.uint8)
        mask[y:y + rh, x:x + rw] = 255
        sdr_u8 = cv2.inpaint(sdr_u8, mask, 5, cv2.INPAINT_TELEA)
        removed[y:y + rh, x:x + rw] = 1
    lut = u8_to_linear_lut("srgb")
    sdr_lin = lut[sdr_u8]
    k = np.float32(FLOOR)
    if original.channels == 3:
        gain = np.log2((np.maximum(hdr, 0) + k) / (sdr_lin + k))
    else:
        gain = np.log2((np.maximum(_luma(hdr, original.colour_space), 0) + k)
                       / (_luma(sdr_lin, original.colour_space) + k))
    m, shape = _geometry(spec, h, w)
    e_lin, _ = warp.warp(sdr_lin, m, shape)
    e_hdr, _ = warp.warp(hdr, m, shape)
    e_gain, _ = warp.warp(gain, m, shape)
    masks, _ = warp.warp(np.stack([replaced, removed], axis=-1), m, shape)
    if spec.grade:
        e_u8 = _grade(e_lin)
    else:
        e_u8 = np.round(linear_to_srgb(np.clip(e_lin, 0, 1)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(e_u8, "RGB").save(buf, "JPEG", quality=QUALITY)
    jpeg = buf.getvalue()
    e_gain = e_gain.reshape(*shape, -1)
    if spec.grade:   # the rule: the edited SDR lifted by the original's boost
        decoded = lut[np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))]
        truth = lift_luma(decoded, e_gain, original.colour_space)
    else:
        truth = _luma(e_hdr, original.colour_space)
    return EditedPair(spec, jpeg, truth.astype(np.float32), e_gain.astype(np.float32),
                      masks[..., 0] > 0.5, masks[..., 1] > 0.01, m)
