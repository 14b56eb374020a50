"""Statistics of a rectangular region of a linear image (for comparing renditions and colour checks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gainmap.hdr import color


def validate_rect(rect: Sequence[int], width: int, height: int) -> tuple[int, int, int, int]:
    """``rect`` as ints (x, y, w, h) after checking it lies inside a ``width`` x ``height`` image."""
    if len(rect) != 4:
        raise ValueError(f"a region is (x, y, w, h), got {tuple(rect)!r}")
    try:
        vals = [int(v) for v in rect]
    except (TypeError, ValueError):
        raise ValueError(f"region values must be integers, got {tuple(rect)!r}") from None
    if any(int(v) != v for v in rect):
        raise ValueError(f"region values must be integers, got {tuple(rect)!r}")
    x, y, w, h = vals
    if w <= 0 or h <= 0:
        raise ValueError(f"region {x},{y} {w}x{h}: width and height must be positive")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"region {x},{y} {w}x{h} is not inside the {width}x{height} image "
                         f"(x + w must be <= {width}, y + h <= {height}, x and y >= 0)")
    return x, y, w, h


def region_stats(linear: np.ndarray, rect: Sequence[int], colour_space: str = "srgb") -> dict[str, float | int | None]:
    """Means over ``rect`` = (x, y, w, h) of a linear (H, W, 3) image.

    Keys: ``mean_r``, ``mean_g``, ``mean_b``, ``luminance`` (Y with ``colour_space``'s coefficients),
    ``r``, ``g``, ``b`` (the mean colour's rgb chromaticity R/(R+G+B) etc.; ``None`` when R+G+B <= 0),
    ``pixels`` (count).  Means are accumulated in float64.
    """
    arr = np.asarray(linear)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    x, y, w, h = validate_rect(rect, arr.shape[1], arr.shape[0])
    region = arr[y:y + h, x:x + w]
    means = region.reshape(-1, 3).mean(axis=0, dtype=np.float64)
    k = color.luminance_coefficients(colour_space)
    total = float(means.sum())
    chroma = [float(m / total) if total > 0 else None for m in means]
    return {
        "mean_r": float(means[0]),
        "mean_g": float(means[1]),
        "mean_b": float(means[2]),
        "luminance": float(means @ k),
        "r": chroma[0],
        "g": chroma[1],
        "b": chroma[2],
        "pixels": int(w * h),
    }
