"""A global HDR -> SDR tone mapper and 8-bit sRGB encoding.

Operator: extended Reinhard (Reinhard et al. 2002, eq. 4) on luminance,

    Y_out = Y * (1 + Y / Lw**2) / (1 + Y)

with white point ``Lw`` (linear, 1.0 = SDR white): ``Y = Lw`` maps to exactly 1.0 and anything brighter
clips to 1.0.  The curve compresses mid-tones too (0.18 -> 0.154 for Lw = 4), as Reinhard does; it is a
simple, documented reference operator, not a look.  Each pixel's RGB is scaled by Y_out / Y, which keeps hue and chromaticity; a pixel whose largest
channel then exceeds 1 is desaturated towards its own Y_out (keeping luminance and hue) until it fits,
and negative (out-of-gamut) channels are clipped to 0.  The result is linear SDR in [0, 1].
"""

from __future__ import annotations

import numpy as np

from gainmap.hdr import color

#: Percentile of luminance used as the white point when ``peak`` is not given.
PEAK_PERCENTILE = 99.9


def reinhard_curve(y: np.ndarray, white: float) -> np.ndarray:
    """The extended Reinhard curve on luminance (float32), ``white`` the value that maps to 1."""
    y = np.maximum(np.asarray(y, dtype=np.float32), np.float32(0.0))
    w2 = np.float32(white) * np.float32(white)
    return (y * (np.float32(1.0) + y / w2) / (np.float32(1.0) + y)).astype(np.float32, copy=False)


def tonemap(hdr_linear: np.ndarray, colour_space: str = "srgb", peak: float | None = None,
            chunk_rows: int = 512) -> np.ndarray:
    """SDR linear float32 in [0, 1] from linear HDR (1.0 = SDR white), see the module docstring.

    ``peak`` is the white point Lw in linear units; ``None`` takes the 99.9th percentile of luminance
    (at least 1.0; from every other pixel in each direction above 1 MP), so a few specular pixels do
    not darken the whole picture.
    """
    hdr = np.asarray(hdr_linear)
    if hdr.ndim != 3 or hdr.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3), got shape {hdr.shape}")
    if peak is None:
        # Every other pixel in each direction is plenty for a percentile and costs a quarter.
        sub = hdr[::2, ::2] if hdr.shape[0] * hdr.shape[1] > 1 << 20 else hdr
        y_all = color.luminance(sub, colour_space)
        finite = y_all[np.isfinite(y_all)]
        white = float(np.percentile(finite, PEAK_PERCENTILE)) if finite.size else 1.0
        white = max(white, 1.0)
    else:
        white = float(peak)
        if not white > 0:
            raise ValueError(f"peak must be > 0, got {peak!r}")
    k = color.luminance_coefficients(colour_space).astype(np.float32)
    out = np.empty(hdr.shape, dtype=np.float32)
    for r0 in range(0, hdr.shape[0], max(1, int(chunk_rows))):
        rgb = np.array(hdr[r0:r0 + chunk_rows], dtype=np.float32)
        np.nan_to_num(rgb, copy=False, nan=0.0, posinf=white, neginf=0.0)
        np.maximum(rgb, np.float32(0.0), out=rgb)
        y = rgb[:, :, 0] * k[0] + rgb[:, :, 1] * k[1] + rgb[:, :, 2] * k[2]
        y_out = np.minimum(reinhard_curve(y, white), np.float32(1.0))
        ratio = np.divide(y_out, y, out=np.zeros_like(y), where=y > 0)
        rgb *= ratio[:, :, np.newaxis]
        peak_c = np.maximum(np.maximum(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2])
        over = peak_c > 1.0
        if np.any(over):
            # Desaturate towards Y_out: rgb' = Y + t (rgb - Y), t chosen so that max(rgb') = 1.
            t = np.ones_like(y_out)
            t[over] = (1.0 - y_out[over]) / (peak_c[over] - y_out[over])
            rgb -= y_out[:, :, np.newaxis]
            rgb *= t[:, :, np.newaxis]
            rgb += y_out[:, :, np.newaxis]
        np.clip(rgb, 0.0, 1.0, out=rgb)
        out[r0:r0 + chunk_rows] = rgb
    return out


def encode_srgb_u8(linear: np.ndarray) -> np.ndarray:
    """8-bit sRGB codes of linear values: clip to [0, 1], sRGB OETF, round half up."""
    v = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    s = color.linear_to_srgb(v)
    return np.floor(s * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
