"""Registration: where the original photo's pixels went in the edited one (OpenCV features, RANSAC, ECC).

1. Both pictures are reduced to grey images with a long side of :data:`REGISTER_LONG_SIDE` (area filter) and
   equalised (CLAHE), so that a colour grade or exposure change leaves the same corners behind.
2. ORB features (:data:`FEATURES` per image) are matched by Hamming distance with Lowe's ratio test, against
   the original as it is and mirrored: ORB descriptors turn with the picture but do not mirror, so these two
   candidates cover the eight 90-degree rotations and flips (and any rotation in between).  EXIF orientation
   needs nothing more: both sides are registered in stored pixel order, the order gain maps are stored in.
3. RANSAC fits a similarity (``estimateAffinePartial2D``) and a full affine (``estimateAffine2D``: non-uniform
   scale, shear); the affine wins only with clearly more inliers (:data:`AFFINE_GAIN`).
4. ECC (``findTransformECC``, affine) refines the fit on gradient images at the same size, starting from the
   RANSAC result; the refinement is kept only when it raises the correlation and moves the corners by less
   than :data:`ECC_MAX_SHIFT` pixels.
5. The pair is judged: ``confidence`` is the zero-mean normalised correlation of the two gradient-magnitude
   images over the overlap (1 = the same picture; about 0 for unrelated photos; a grade leaves it high,
   replaced regions lower it in proportion to their area).  A pair is the same photo when RANSAC kept at
   least :data:`MIN_INLIERS` matches making up :data:`MIN_INLIER_RATIO` of the ratio-tested ones, the
   confidence is at least :data:`MIN_CONFIDENCE`, and the original covers at least :data:`MIN_COVERAGE` of
   the edited picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from gainmap.errors import GainMapError
from gainmap.hdr import warp

REGISTER_LONG_SIDE = 1024
FEATURES = 4000
RATIO_TEST = 0.8
#: RANSAC reprojection threshold in pixels of the registration grid.
RANSAC_THRESHOLD = 3.0
#: The full affine is chosen over the similarity only with this many times the inliers.
AFFINE_GAIN = 1.15
ECC_MAX_SHIFT = 4.0
MIN_INLIERS = 12
#: With this many inliers, half the matches, the unmirrored fit is clear and the mirror is not tried.
CLEAR_INLIERS = 60
#: ECC runs on gradient images with this long side (a refinement; the features found the geometry).
ECC_LONG_SIDE = 640
MIN_INLIER_RATIO = 0.15
MIN_CONFIDENCE = 0.45
MIN_COVERAGE = 0.3


class NotSamePhotoError(GainMapError):
    """The reference does not look like the photo the edited image was made from."""


@dataclass
class Registration:
    """Original pixel coordinates -> edited pixel coordinates (full resolution, pixel centres, 3x3)."""

    matrix: np.ndarray
    model: str                      # "similarity" | "affine"
    mirrored_candidate: bool        # matched against the mirrored original
    matches: int                    # after the ratio test
    inliers: int
    confidence: float               # gradient correlation over the overlap, 0..1
    coverage: float                 # fraction of the edited picture the original covers
    refined: bool                   # ECC changed the RANSAC fit
    reasons: list[str] = field(default_factory=list)  # why the pair does not look like the same photo

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    @property
    def same_photo(self) -> bool:
        return not self.reasons

    def describe(self) -> dict[str, object]:
        d: dict[str, object] = dict(warp.describe(self.matrix))
        d.update(model=self.model, matches=self.matches, inliers=self.inliers,
                 inlier_ratio=round(self.inlier_ratio, 4), confidence=round(self.confidence, 4),
                 coverage=round(self.coverage, 4), ecc_refined=self.refined,
                 matrix=[[round(float(v), 6) for v in row] for row in self.matrix[:2]])
        return d


def _grey(rgb_u8: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Equalised grey image with the given long side, and its reduction factor (full / reduced)."""
    h, w = rgb_u8.shape[:2]
    f = max(1.0, max(h, w) / long_side)
    small = warp.area_reduce(rgb_u8, (max(1, round(h / f)), max(1, round(w / f))))
    grey = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return clahe.apply(grey), f


def _gradient(grey: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _zncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    if mask.sum() < 16:
        return 0.0
    x, y = a[mask].astype(np.float64), b[mask].astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else 0.0


def _fit(kp_o: list, des_o: np.ndarray | None, kp_e: list, des_e: np.ndarray | None
         ) -> tuple[np.ndarray | None, str, int, int]:
    """RANSAC fit of original -> edited (grid coordinates) from ORB matches: (matrix, model, matches, inliers)."""
    if des_o is None or des_e is None or len(kp_o) < 3 or len(kp_e) < 3:
        return None, "similarity", 0, 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(des_o, des_e, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < 3:
        return None, "similarity", len(good), 0
    src = np.float32([kp_o[m.queryIdx].pt for m in good])
    dst = np.float32([kp_e[m.trainIdx].pt for m in good])
    best: tuple[np.ndarray | None, str, int] = (None, "similarity", 0)
    for model, estimate in (("similarity", cv2.estimateAffinePartial2D), ("affine", cv2.estimateAffine2D)):
        m, inl = estimate(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD, maxIters=4000,
                          confidence=0.995, refineIters=10)
        n = int(inl.sum()) if inl is not None else 0
        if m is not None and (best[0] is None or n > AFFINE_GAIN * best[2]):
            best = (warp.as_3x3(m), model, n)
    return best[0], best[1], len(good), best[2]


def _refine(grad_o: np.ndarray, grad_e: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, bool]:
    """ECC refinement of an original -> edited grid transform on gradient images."""
    h, w = grad_e.shape
    warped, cov = warp.warp(grad_o, m, (h, w))
    inside = cov > 0.999
    if inside.sum() < 0.1 * h * w:
        return m, False
    before = _zncc(warped[..., 0] if warped.ndim == 3 else warped, grad_e, inside)
    ecc = np.eye(2, 3, dtype=np.float32)   # maps edited-grid points into the warped original's grid
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-5)
    try:
        after, ecc = cv2.findTransformECC(grad_e, np.ascontiguousarray(warped.reshape(h, w)), ecc,
                                          cv2.MOTION_AFFINE, criteria, inside.astype(np.uint8), 3)
    except cv2.error:  # ECC did not converge: keep the RANSAC fit
        return m, False
    correction = np.linalg.inv(warp.as_3x3(ecc))   # warped original -> edited
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=np.float64).T
    shift = np.abs((correction @ corners) - corners)[:2].max()
    if not np.isfinite(shift) or shift > ECC_MAX_SHIFT or after <= before:
        return m, False
    return correction @ m, True


def register(original_rgb: np.ndarray, edited_rgb: np.ndarray, *,
             original_size: tuple[int, int] | None = None, edited_size: tuple[int, int] | None = None
             ) -> Registration:
    """Register ``original_rgb`` onto ``edited_rgb`` (uint8 RGB or grey).

    The arrays may be reduced copies of the full pictures, whose (height, width) ``*_size`` give; the matrix
    returned is in full-resolution pixel coordinates of both.
    """
    grey_o, _ = _grey(original_rgb, REGISTER_LONG_SIDE)
    grey_e, _ = _grey(edited_rgb, REGISTER_LONG_SIDE)
    original_size = original_size or original_rgb.shape[:2]
    edited_size = edited_size or edited_rgb.shape[:2]
    orb = cv2.ORB_create(nfeatures=FEATURES, scaleFactor=1.2, nlevels=10, edgeThreshold=15, patchSize=31,
                         fastThreshold=10)
    kp_e, des_e = orb.detectAndCompute(grey_e, None)
    candidates: list[tuple[int, np.ndarray | None, str, int, bool]] = []
    for mirrored in (False, True):
        if candidates and candidates[0][0] >= CLEAR_INLIERS and candidates[0][0] >= 0.5 * candidates[0][3]:
            break   # a clear match as it is: no need to try the mirror
        src = np.ascontiguousarray(grey_o[:, ::-1]) if mirrored else grey_o
        kp_o, des_o = orb.detectAndCompute(src, None)
        m, model, n_good, n_in = _fit(kp_o, des_o, kp_e, des_e)
        if m is not None and mirrored:
            m = m @ warp.flip_matrix(grey_o.shape[1])
        candidates.append((n_in, m, model, n_good, mirrored))
    n_in, m, model, n_good, mirrored = max(candidates, key=lambda c: c[0])
    if m is None:
        return Registration(np.eye(3), "similarity", False, n_good, 0, 0.0, 0.0, False,
                            ["no feature matches between the two pictures"])
    grad_o, grad_e = _gradient(grey_o), _gradient(grey_e)
    h, w = grad_e.shape
    f = max(1.0, max(h, w) / ECC_LONG_SIDE)
    to_ecc = warp.grid_to_grid((h, w), (round(h / f), round(w / f)))
    m_ecc, refined = _refine(grad_o, warp.area_reduce(grad_e, (round(h / f), round(w / f))), to_ecc @ m)
    m = np.linalg.inv(to_ecc) @ m_ecc
    warped, cov = warp.warp(grad_o, m, grad_e.shape)
    inside = cov > 0.999
    coverage = float(inside.mean())
    confidence = max(0.0, _zncc(warped.reshape(grad_e.shape), grad_e, inside))
    # grid -> full resolution on both sides
    full = (np.linalg.inv(warp.grid_to_grid(edited_size, grey_e.shape)) @ m
            @ warp.grid_to_grid(original_size, grey_o.shape))
    reasons = []
    if n_in < MIN_INLIERS:
        reasons.append(f"only {n_in} feature matches agree on one geometry (at least {MIN_INLIERS} needed)")
    elif n_in < MIN_INLIER_RATIO * n_good:
        reasons.append(f"only {n_in} of {n_good} feature matches ({n_in / max(n_good, 1):.0%}) agree on one "
                       f"geometry (at least {MIN_INLIER_RATIO:.0%} needed)")
    if confidence < MIN_CONFIDENCE:
        reasons.append(f"after alignment the two pictures' edges correlate only {confidence:.2f} "
                       f"(at least {MIN_CONFIDENCE} needed)")
    if coverage < MIN_COVERAGE:
        reasons.append(f"the original covers only {coverage:.0%} of the edited picture "
                       f"(at least {MIN_COVERAGE:.0%} needed)")
    return Registration(full, model, mirrored, n_good, n_in, confidence, coverage, refined, reasons)
