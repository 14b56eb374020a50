"""The reference prior: a compact model of how this photo's SDR maps to its gain, learned from the original.

PriorRAW's idea (reconstruct from a reference prior instead of per-image metadata, with the reference
compressed to a tiny fraction of its pixels), applied to one photo: the original's own (SDR, gain) pairs teach
a model that then paints the regions an editor replaced.

* **Features** of each pixel (on a grid at the scale the edited picture shows the photo, so the context
  windows cover the same content): log2 luminance, two log chroma ratios (R/G, B/G), the log luminance
  averaged over a near (sigma 2 px) and a wide (sigma 8 px) neighbourhood, the local maximum (5x5) and the
  local standard deviation (5x5).  Standardised with the original's mean and spread.
* **Model**: k-means (:data:`CLUSTERS` centres, on up to :data:`SAMPLES` pixels), then per cluster a ridge
  regression from the features to the log2 gain (per channel for a multichannel map).  That is
  ``CLUSTERS * (7 + 8 * channels)`` numbers: about 500 for a 12 MP photo, 0.01 % of its map pixels.
* **Prediction**: a soft mix of the regressions of the :data:`NEAREST` nearest centres (weights
  ``exp(-d^2 / 2 tau^2)`` relative to the nearest, so cluster borders leave no contour), clipped to the
  original's gain range.  A pixel farther than :data:`NOVELTY` (standardised units) from every centre looks
  like nothing in the original: the prior says so, and the caller predicts it another way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gainmap.editing.transfer import FLOOR

CLUSTERS = 32
SAMPLES = 30000
NEAREST = 3
TAU = 0.6
NOVELTY = 3.0
RIDGE = 1e-2
MIN_CLUSTER = 24
N_FEATURES = 7


def features(sdr_linear: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(h, w, N_FEATURES) float32 features of linear SDR pixels (see the module docstring)."""
    rgb = np.maximum(sdr_linear.astype(np.float32), 0)
    lum = np.log2(rgb @ weights.astype(np.float32) + np.float32(FLOOR))
    lg = np.log2(rgb + np.float32(FLOOR))
    near = cv2.GaussianBlur(lum, (0, 0), 2.0)
    wide = cv2.GaussianBlur(lum, (0, 0), 8.0)
    peak = cv2.dilate(lum, np.ones((5, 5), np.uint8))
    mean = cv2.blur(lum, (5, 5))
    std = np.sqrt(np.maximum(cv2.blur(lum * lum, (5, 5)) - mean * mean, 0))
    return np.stack([lum, lg[..., 0] - lg[..., 1], lg[..., 2] - lg[..., 1], near, wide, peak, std], axis=-1)


@dataclass
class ReferencePrior:
    """Cluster centres (K, F), per-cluster ridge coefficients (K, F + 1, C), feature scaling, gain range."""

    centres: np.ndarray
    coefficients: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    gain_min: np.ndarray
    gain_max: np.ndarray
    pixels: int

    @property
    def size(self) -> int:
        """How many numbers the prior keeps."""
        return int(self.centres.size + self.coefficients.size)

    def predict(self, feats: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
        """(gain (N, C), novel (N,) bool) for standardised-or-raw features (N, F) (raw: they are scaled here)."""
        x = ((feats - self.mean) / self.scale).astype(np.float32)
        n, channels = x.shape[0], self.coefficients.shape[2]
        out = np.empty((n, channels), dtype=np.float32)
        novel = np.empty(n, dtype=bool)
        c2 = (self.centres ** 2).sum(axis=1)
        k = min(NEAREST, self.centres.shape[0])
        for s in range(0, n, chunk):
            xb = x[s:s + chunk]
            d2 = np.maximum((xb ** 2).sum(axis=1, keepdims=True) - 2 * xb @ self.centres.T + c2, 0)
            near = np.argpartition(d2, k - 1, axis=1)[:, :k]
            dn = np.take_along_axis(d2, near, axis=1)
            w = np.exp(-(dn - dn.min(axis=1, keepdims=True)) / (2 * TAU * TAU))
            w /= w.sum(axis=1, keepdims=True)
            xa = np.concatenate([np.ones((xb.shape[0], 1), np.float32), xb], axis=1)
            pred = np.einsum("nf,nkfc->nkc", xa, self.coefficients[near])
            out[s:s + chunk] = (w[..., np.newaxis] * pred).sum(axis=1)
            novel[s:s + chunk] = dn.min(axis=1) > NOVELTY * NOVELTY
        np.clip(out, self.gain_min, self.gain_max, out=out)
        return out, novel


def fit_prior(sdr_linear: np.ndarray, gain: np.ndarray, weights: np.ndarray, *, seed: int = 0) -> ReferencePrior:
    """Learn the prior from the original's linear SDR (h, w, 3) and its log2 gain (h, w, C) on one grid."""
    feats = features(sdr_linear, weights).reshape(-1, N_FEATURES)
    target = gain.reshape(feats.shape[0], -1).astype(np.float32)
    ok = np.isfinite(feats).all(axis=1) & np.isfinite(target).all(axis=1)
    feats, target = feats[ok], target[ok]
    rng = np.random.default_rng(seed)
    if feats.shape[0] > SAMPLES:
        pick = rng.choice(feats.shape[0], SAMPLES, replace=False)
        feats, target = feats[pick], target[pick]
    mean = feats.mean(axis=0)
    scale = np.maximum(feats.std(axis=0), 1e-3)
    x = ((feats - mean) / scale).astype(np.float32)
    k = max(1, min(CLUSTERS, x.shape[0] // MIN_CLUSTER))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 25, 1e-3)
    _, labels, centres = cv2.kmeans(x, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    channels = target.shape[1]
    coefs = np.zeros((k, N_FEATURES + 1, channels), dtype=np.float32)
    global_mean = target.mean(axis=0)
    for c in range(k):
        sel = labels == c
        if sel.sum() < MIN_CLUSTER:
            coefs[c, 0] = target[sel].mean(axis=0) if sel.any() else global_mean
            continue
        xa = np.concatenate([np.ones((int(sel.sum()), 1), np.float32), x[sel]], axis=1).astype(np.float64)
        reg = RIDGE * sel.sum() * np.eye(N_FEATURES + 1)
        reg[0, 0] = 0.0   # the intercept is not shrunk
        coefs[c] = np.linalg.solve(xa.T @ xa + reg, xa.T @ target[sel].astype(np.float64))
    return ReferencePrior(centres.astype(np.float32), coefs, mean.astype(np.float32), scale.astype(np.float32),
                          target.min(axis=0), target.max(axis=0), int(ok.sum()))
