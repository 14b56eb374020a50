"""Computing a gain map and its metadata from an SDR and an HDR rendition (encoder side).

Both renditions are linear float ``(H, W, 3)`` in the same primaries (``colour_space``), scaled so that SDR
white is 1.0 (HDR in nits / 203).  Converting them there is the caller's job (:func:`gainmap.hdr.color.convert`).

Choices, and where they come from (formats.md section 5):

* **Gain** ``g = log2((hdr + offset_hdr) / (sdr + offset_sdr))`` on luminance (the colour space's Y
  coefficients; Ultra HDR v1.0, libultrahdr, libavif single-channel) or per channel (``multichannel``).
  Non-positive ratios are floored at 1e-10 (libavif's kEpsilon) and non-finite gains count as 0 stops.
  The map always stores log2(HDR/SDR), also for an HDR base (libavif negates its base->alternate ratio in
  that case, and the applier uses a negative weight).
* **Defaults** are Ultra HDR v1.0's: gamma 1, offsets 1/64, HDRCapacityMax = GainMapMax and
  HDRCapacityMin = max(GainMapMin, 0).  libultrahdr's own defaults differ (offsets 1e-7).
* **Dark clamp** (``dark_clamp=True``): libultrahdr caps the gain at 2.3 stops where the SDR value is
  below 2/255, so that a dark SDR pixel nudged up by JPEG coding cannot blow out.  That guard matters with
  its 1e-7 offsets; with the 1/64 offsets the gain of a black SDR pixel is already bounded by
  (hdr + 1/64) / (1/64), so the clamp is off by default (it also breaks exact reconstruction there).
* **Range**: ``min_log2``/``max_log2`` if given, else the observed range of the (downscaled) map, per
  channel for a multichannel map; ``clip_percentile`` p > 0 ignores the lowest and highest p percent (a
  robust range, like libavif's 0.1 % outlier trimming); values outside the range clip.  A degenerate range
  (max - min below 1/1024 stop, e.g. SDR == HDR) is widened to 1/1024 stop so the record stays valid.
* **Encoding**: ``r = clamp((g - min) / (max - min), 0, 1) ** gamma``; code = round(255 r)
  (libultrahdr ``affineMapGain``).
* **Size**: ``scale`` s > 1 gives a ceil(H/s) x ceil(W/s) map, each code from the mean log2 gain of its
  s x s block (partial blocks at the edges average what they cover).  Averaging in the log domain keeps
  the geometric mean of the gains, which is what the applier interpolates.  s = 4 is the v1.0 recommendation.
* **Headrooms**: the SDR rendition's headroom is ``hdr_capacity_min`` (default max(min, 0)), the HDR
  rendition's ``hdr_capacity_max`` (default the largest max, raised to SDR headroom + 1/1024 if needed so
  the direction stays defined).  With ``base_is_hdr`` the pairs (headrooms, offsets) are swapped into
  base/alternate order.
"""

from __future__ import annotations

import math

import numpy as np

from gainmap.hdr import color
from gainmap.metadata import GainMapMetadata

#: The smallest range (stops) a computed record gets.
MIN_RANGE_LOG2 = 1.0 / 1024.0
#: libultrahdr's dark clamp: SDR below this linear value ...
DARK_SDR_THRESHOLD = 2.0 / 255.0
#: ... gets at most this many stops of gain.
DARK_GAIN_CAP_LOG2 = 2.3
_EPS = 1e-10


def _block_mean(values: np.ndarray, scale: int) -> np.ndarray:
    """Mean over scale x scale blocks (partial edge blocks average what they cover), float32."""
    if scale == 1:
        return values
    h, w = values.shape[:2]
    rows = np.arange(0, h, scale)
    cols = np.arange(0, w, scale)
    summed = np.add.reduceat(np.add.reduceat(values, rows, axis=0, dtype=np.float64), cols, axis=1)
    count_r = np.minimum(rows + scale, h) - rows
    count_c = np.minimum(cols + scale, w) - cols
    counts = (count_r[:, np.newaxis] * count_c[np.newaxis, :])[:, :, np.newaxis]
    return (summed / counts).astype(np.float32)


def _log_gains(sdr: np.ndarray, hdr: np.ndarray, k: np.ndarray | None, off_sdr: float, off_hdr: float,
               dark_clamp: bool) -> np.ndarray:
    """float32 (rows, W, C) log2 gains of a chunk; ``k`` the luminance coefficients for one channel."""
    s = sdr.astype(np.float32, copy=False)
    h = hdr.astype(np.float32, copy=False)
    if k is not None:
        s = (s @ k)[:, :, np.newaxis]
        h = (h @ k)[:, :, np.newaxis]
    num = np.maximum(h + np.float32(off_hdr), np.float32(_EPS))
    den = np.maximum(s + np.float32(off_sdr), np.float32(_EPS))
    num /= den
    g = np.log2(num)
    if dark_clamp:
        np.minimum(g, np.where(s < np.float32(DARK_SDR_THRESHOLD), np.float32(DARK_GAIN_CAP_LOG2),
                               np.float32(np.inf)), out=g)
    g[~np.isfinite(g)] = 0.0
    return g


def _range(g: np.ndarray, given: float | None, pct: float, low: bool) -> float:
    if given is not None:
        return float(given)
    if pct > 0.0:
        return float(np.percentile(g, pct if low else 100.0 - pct))
    return float(g.min() if low else g.max())


def _per_channel(value: float | tuple[float, ...] | None, n: int) -> list[float | None]:
    if value is None or isinstance(value, (int, float)):
        return [None if value is None else float(value)] * n
    vals: list[float | None] = [float(v) for v in value]
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        raise ValueError(f"expected 1 or {n} values, got {len(vals)}")
    return list(vals)


def compute_gainmap(sdr_linear: np.ndarray, hdr_linear: np.ndarray, *, multichannel: bool = False,
                    min_log2: float | tuple[float, ...] | None = None,
                    max_log2: float | tuple[float, ...] | None = None, gamma: float = 1.0,
                    offset_sdr: float = 1.0 / 64.0, offset_hdr: float = 1.0 / 64.0,
                    hdr_capacity_min: float | None = None, hdr_capacity_max: float | None = None,
                    colour_space: str = "srgb", scale: int = 1, base_is_hdr: bool = False,
                    clip_percentile: float = 0.0, dark_clamp: bool = False,
                    chunk_rows: int = 256) -> tuple[np.ndarray, GainMapMetadata]:
    """An 8-bit gain map (h x w, or h x w x 3 when ``multichannel``) and its ISO 21496-1 metadata.

    See the module docstring for every choice.  ``base_is_hdr`` makes the HDR rendition the base (the map
    still holds log2(HDR/SDR); :func:`gainmap.hdr.apply.apply_gainmap` on ``hdr_linear`` with the result
    gives back the SDR).  ``min_log2``/``max_log2`` may be per channel tuples for a multichannel map.
    """
    sdr = np.asarray(sdr_linear)
    hdr = np.asarray(hdr_linear)
    if sdr.ndim != 3 or sdr.shape[2] != 3 or sdr.shape != hdr.shape:
        raise ValueError(f"SDR and HDR must both be (H, W, 3) of one size, got {sdr.shape} and {hdr.shape}")
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    if not (gamma > 0 and math.isfinite(gamma)):
        raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
    if not (offset_sdr >= 0 and offset_hdr >= 0 and math.isfinite(offset_sdr) and math.isfinite(offset_hdr)):
        raise ValueError("offsets must be finite and >= 0")
    if not 0.0 <= clip_percentile < 50.0:
        raise ValueError(f"clip_percentile must be in [0, 50), got {clip_percentile!r}")
    channels = 3 if multichannel else 1
    k = None if multichannel else color.luminance_coefficients(colour_space).astype(np.float32)

    height, width = sdr.shape[:2]
    mh, mw = -(-height // scale), -(-width // scale)
    glog = np.empty((mh, mw, channels), dtype=np.float32)
    rows_per_chunk = max(1, int(chunk_rows) // scale) * scale
    for r0 in range(0, height, rows_per_chunk):
        r1 = min(height, r0 + rows_per_chunk)
        g = _log_gains(sdr[r0:r1], hdr[r0:r1], k, offset_sdr, offset_hdr, dark_clamp)
        glog[r0 // scale:-(-r1 // scale)] = _block_mean(g, scale)

    mins = _per_channel(min_log2, channels)
    maxs = _per_channel(max_log2, channels)
    lo_list: list[float] = []
    hi_list: list[float] = []
    for c in range(channels):
        lo = _range(glog[:, :, c], mins[c], clip_percentile, True)
        hi = _range(glog[:, :, c], maxs[c], clip_percentile, False)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("gain range must be finite")
        if hi < lo:
            raise ValueError(f"max_log2 {hi} is below min_log2 {lo}")
        if hi - lo < MIN_RANGE_LOG2:
            hi = lo + MIN_RANGE_LOG2
        lo_list.append(lo)
        hi_list.append(hi)

    codes = np.empty(glog.shape, dtype=np.uint8)
    for c in range(channels):
        r = glog[:, :, c]
        r -= np.float32(lo_list[c])
        r /= np.float32(hi_list[c] - lo_list[c])
        np.clip(r, 0.0, 1.0, out=r)
        if gamma != 1.0:
            np.power(r, np.float32(gamma), out=r)
        r *= np.float32(255.0)
        r += np.float32(0.5)
        codes[:, :, c] = np.floor(r)
    gainmap = codes[:, :, 0] if channels == 1 else codes

    sdr_headroom = float(hdr_capacity_min) if hdr_capacity_min is not None else max(min(lo_list), 0.0)
    if hdr_capacity_max is not None:
        hdr_headroom = float(hdr_capacity_max)
        if hdr_headroom <= sdr_headroom:
            raise ValueError(f"hdr_capacity_max {hdr_headroom} must exceed hdr_capacity_min {sdr_headroom}")
    else:
        hdr_headroom = max(max(hi_list), sdr_headroom + MIN_RANGE_LOG2)
    if base_is_hdr:
        base_h, alt_h, base_off, alt_off = hdr_headroom, sdr_headroom, offset_hdr, offset_sdr
    else:
        base_h, alt_h, base_off, alt_off = sdr_headroom, hdr_headroom, offset_sdr, offset_hdr
    md = GainMapMetadata(
        gain_map_min=tuple(lo_list), gain_map_max=tuple(hi_list), gamma=(float(gamma),) * channels,
        base_offset=(float(base_off),) * channels, alternate_offset=(float(alt_off),) * channels,
        base_hdr_headroom=base_h, alternate_hdr_headroom=alt_h, use_base_colour_space=True, source="computed")
    return gainmap, md
