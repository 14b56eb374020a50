"""``heuristic``: a documented luminance-stretch baseline (no learning, numpy + Pillow only).

At a working resolution (long side <= 512) it computes, per pixel:

1. ``y`` = luminance of the linearised pixel (weights of the stated colour space), re-encoded with the sRGB curve
   so thresholds read like 8-bit values (0.6 ~ code 153, linear 0.32);
2. ``yb`` = 0.6 x Gaussian blur (sigma 1 % of the long side) + 0.4 x ``y``: highlights get soft, halo-free
   edges without losing small speculars entirely;
3. ``g = Q * smoothstep(T, 1, yb) ** P`` stops, with threshold ``T = 0.6``, exponent ``P = 1.5`` and
   ``Q = 2.5`` stops (about a Pixel's typical GainMapMax; ``max_headroom`` lowers it): shadows and midtones
   (``yb <= T``) keep gain 0 exactly;
4. skin: pixels inside the classic YCbCr skin box (Cb 77..127, Cr 133..173, BT.601 full range), softened by the
   same blur, keep at most 40 % of their boost: faces lit brightly are diffuse surfaces, and boosting them looks
   like glare;
5. large flat bright areas: where the local standard deviation of ``y`` is below 0.03 and ``yb > T``, and such
   pixels cover more than 15 % of the frame, their boost is cut by up to half (at 50 % coverage).  A large,
   textureless bright region in an SDR photo is usually diffuse white (paper, wall, overcast sky) that the SDR
   exposure already placed near white; lifting all of it brightens the whole picture instead of adding
   highlights.  Small flat regions (lamps, the sun, speculars) keep their full boost.

The metadata is that of every prediction here: SDR base, min 0, max = the largest gain, gamma 1, offsets 1/64.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from gainmap.hdr import color
from gainmap.predict.base import (
    LUMA_WEIGHTS,
    Prediction,
    canonical_space,
    check_input,
    make_prediction,
    map_shape,
    resize_float,
)

WORK_LONG_SIDE = 512
THRESHOLD = 0.6
EXPONENT = 1.5
PEAK_STOPS = 2.5
SKIN_KEEP = 0.4
FLAT_STD = 0.03
FLAT_AREA_START = 0.15
FLAT_AREA_FULL = 0.5
FLAT_MAX_CUT = 0.5

_SRGB_LUT = color.srgb_u8_lut()


def _box1d(img: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Mean over a window of 2r+1 along ``axis`` with edge replication (cumulative sums, O(n))."""
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r + 1, r)
    c = np.cumsum(np.pad(img, pad, mode="edge"), axis=axis, dtype=np.float64)
    n = img.shape[axis]
    hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
    lo = np.take(c, np.arange(0, n), axis=axis)
    return ((hi - lo) / (2 * r + 1)).astype(np.float32)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate Gaussian blur: three box passes per axis with the matching variance."""
    r = max(0, round((np.sqrt(12.0 * sigma * sigma / 3.0 + 1.0) - 1.0) / 2.0))
    out = img.astype(np.float32)
    if r == 0:
        return out
    for _ in range(3):
        out = _box1d(_box1d(out, r, 0), r, 1)
    return out


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def heuristic_gain(sdr: np.ndarray, colour_space: str = "srgb", peak: float = PEAK_STOPS) -> np.ndarray:
    """The log2 gain field (stops, float32) at the resolution of ``sdr`` (H x W x 3 uint8)."""
    weights = np.asarray(LUMA_WEIGHTS[canonical_space(colour_space)], np.float32)
    lin = _SRGB_LUT[sdr]
    y_lin = lin @ weights
    y = color.linear_to_srgb(y_lin)
    sigma = 0.01 * max(sdr.shape[:2])
    y_blur = _blur(y, sigma)
    yb = 0.6 * y_blur + 0.4 * y
    gain = peak * _smoothstep(THRESHOLD, 1.0, yb) ** EXPONENT

    # skin: BT.601 full-range chroma of the encoded pixels
    rgb = sdr.astype(np.float32)
    cb = 128.0 - 0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
    cr = 128.0 + 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
    skin = ((cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173)).astype(np.float32)
    skin = np.clip(_blur(skin, sigma), 0.0, 1.0)
    gain *= 1.0 - (1.0 - SKIN_KEEP) * skin

    # large flat bright areas
    local_var = np.maximum(_blur(y * y, 2 * sigma) - _blur(y, 2 * sigma) ** 2, 0.0)
    flat_bright = (np.sqrt(local_var) < FLAT_STD) & (yb > THRESHOLD)
    coverage = float(flat_bright.mean())
    if coverage > FLAT_AREA_START:
        cut = FLAT_MAX_CUT * min(1.0, (coverage - FLAT_AREA_START) / (FLAT_AREA_FULL - FLAT_AREA_START))
        gain *= 1.0 - cut * _blur(flat_bright.astype(np.float32), sigma)
    return gain.astype(np.float32)


class HeuristicPredictor:
    """Luminance-stretch baseline; see the module docstring for every rule and constant."""

    name = "heuristic"

    def __init__(self, peak_stops: float = PEAK_STOPS, work_long_side: int = WORK_LONG_SIDE) -> None:
        self.peak_stops = peak_stops
        self.work_long_side = work_long_side

    def predict(self, sdr: np.ndarray, colour_space: str = "srgb", *, max_headroom: float | None = None,
                gainmap_scale: int = 4) -> Prediction:
        sdr = check_input(sdr, colour_space, max_headroom, gainmap_scale)
        h, w = sdr.shape[:2]
        s = min(1.0, self.work_long_side / max(h, w))
        work = sdr
        if s < 1.0:
            size = (max(1, round(w * s)), max(1, round(h * s)))
            work = np.asarray(Image.fromarray(sdr).resize(size, Image.Resampling.BOX, reducing_gap=2.0))
        gain = heuristic_gain(work, colour_space, self.peak_stops)
        mh, mw = map_shape(h, w, gainmap_scale)
        gain = np.maximum(resize_float(gain, mh, mw), 0.0)
        qmax = float(gain.max()) if gain.size else 0.0
        return make_prediction(gain, qmax, max_headroom, source=f"predicted:{self.name}")
