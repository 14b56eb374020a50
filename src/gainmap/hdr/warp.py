"""Geometry for pixel arrays: 3x3 transforms between pixel grids and warping with an anti-aliasing prefilter.

Convention: a transform is a 3x3 float64 matrix acting on homogeneous pixel-centre coordinates ``(x, y, 1)``,
where pixel ``(i, j)`` has its centre at ``x = j, y = i``.  A grid that is ``f`` times smaller than another
(``f`` > 1: reduced) has its pixel centres at ``(x + 0.5) / f - 0.5`` of the larger grid's coordinates
(:func:`scale_matrix`), the convention of OpenCV's ``INTER_AREA`` resize and of block means.

Warping (:func:`warp`) resamples a source image onto a destination grid through a source -> destination
transform.  When the transform shrinks the source by more than about 1.5x, the source is first reduced with an
area filter (OpenCV ``INTER_AREA``: the mean of the source pixels each destination pixel covers), so the
bilinear warp that follows never aliases; for linear-light arrays that is a resample in linear light.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: A transform that shrinks more than this (per axis) gets an area-filter reduction before the warp.
PREFILTER_BELOW = 1.0 / 1.5


def scale_matrix(fx: float, fy: float | None = None) -> np.ndarray:
    """Coordinates of a grid to those of the same picture ``fx`` (``fy``) times smaller (pixel centres kept)."""
    fy = fx if fy is None else fy
    return np.array([[1.0 / fx, 0.0, 0.5 / fx - 0.5], [0.0, 1.0 / fy, 0.5 / fy - 0.5], [0.0, 0.0, 1.0]])


def grid_to_grid(src_shape: tuple[int, int], dst_shape: tuple[int, int]) -> np.ndarray:
    """Coordinates of a grid of ``src_shape`` (h, w) to a resized grid of ``dst_shape`` covering the same picture."""
    return scale_matrix(src_shape[1] / dst_shape[1], src_shape[0] / dst_shape[0])


def axis_scales(matrix: np.ndarray) -> tuple[float, float]:
    """How much the transform stretches each source axis (lengths of the linear part's columns)."""
    a = np.asarray(matrix, dtype=np.float64)[:2, :2]
    return float(math.hypot(a[0, 0], a[1, 0])), float(math.hypot(a[0, 1], a[1, 1]))


def describe(matrix: np.ndarray) -> dict[str, float | bool]:
    """Scale per axis, rotation in degrees (of the first axis) and whether the transform mirrors."""
    a = np.asarray(matrix, dtype=np.float64)
    sx, sy = axis_scales(a)
    return {"scale_x": sx, "scale_y": sy, "rotation_deg": math.degrees(math.atan2(a[1, 0], a[0, 0])),
            "mirrored": bool(np.linalg.det(a[:2, :2]) < 0), "tx": float(a[0, 2]), "ty": float(a[1, 2])}


def area_reduce(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``img`` resized to ``shape`` (h, w) with the area filter (block means; no-op at the same size)."""
    if img.shape[:2] == tuple(shape):
        return img
    return cv2.resize(img, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_AREA)


def warp(img: np.ndarray, matrix: np.ndarray, shape: tuple[int, int], *, fill: float = 0.0,
         prefilter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``img`` resampled onto a grid of ``shape`` (h, w) through ``matrix`` (source -> destination).

    Returns the warped array (float32, channels kept) and the coverage: the fraction (0..1, float32) of each
    destination pixel's bilinear footprint that falls inside the source, 1 where the source covers it fully.
    Destination pixels outside the source are ``fill``.  ``prefilter=False`` samples the source at the
    destination pixel centres (bilinear), for fields that are already smooth (a gain map's log gain).
    """
    src = np.asarray(img, dtype=np.float32)
    m = np.asarray(matrix, dtype=np.float64)
    sx, sy = axis_scales(m)
    fx = 1.0 / sx if sx < PREFILTER_BELOW and prefilter else 1.0
    fy = 1.0 / sy if sy < PREFILTER_BELOW and prefilter else 1.0
    # Reduce along the source axes only when the transform keeps axes aligned (any 90-degree turn or flip);
    # for other angles reduce uniformly by the smaller shrink, so no direction aliases.
    a = m[:2, :2]
    if abs(a[0, 1]) * abs(a[1, 0]) > 1e-12 and abs(a[0, 0]) * abs(a[1, 1]) > 1e-12:
        fx = fy = min(fx, fy)
    if fx > 1.0 or fy > 1.0:
        h, w = src.shape[:2]
        rh, rw = max(1, round(h / fy)), max(1, round(w / fx))
        src = area_reduce(src, (rh, rw))
        m = m @ np.linalg.inv(grid_to_grid((h, w), (rh, rw)))
    out_hw = (int(shape[1]), int(shape[0]))
    affine = m[:2, :]
    warped = cv2.warpAffine(src, affine, out_hw, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=fill)
    ones = np.ones(src.shape[:2], dtype=np.float32)
    coverage = cv2.warpAffine(ones, affine, out_hw, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0.0)
    if warped.ndim == 2 and src.ndim == 3:
        warped = warped[:, :, np.newaxis]
    return warped, coverage


def flip_matrix(width: int) -> np.ndarray:
    """The horizontal mirror of a grid ``width`` pixels wide (its own inverse)."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def as_3x3(affine: np.ndarray) -> np.ndarray:
    """A 2x3 affine matrix (OpenCV's form) as 3x3."""
    out = np.eye(3)
    out[:2, :] = np.asarray(affine, dtype=np.float64)[:2, :]
    return out
