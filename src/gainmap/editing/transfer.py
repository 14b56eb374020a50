"""Transfer: sort the edited picture's gain-map pixels into three classes and give each its gain.

Everything here works on the output gain map's grid (the edited image reduced by the map scale, linear-light
block means), where ``edited`` is the edited SDR, ``sdr_w`` the original's SDR and ``gain_w`` its log gain
warped onto that grid, and ``coverage`` how much of each pixel the original covers.  Luminances are floored at
:data:`FLOOR` (1/64 of SDR white, the gain offset), so stops below it do not count.

**Classes** (thresholds in stops of block-mean luminance, after a 3x3 median that removes JPEG noise):

* *unchanged*: ``|log2 Ye - log2 Yw| < UNCHANGED_LUMA`` and the chroma (log R/G, log B/G) moved less than
  ``UNCHANGED_CHROMA``.  JPEG q90 re-encoding and a resize move 4x4 block means by a few hundredths of a stop;
  0.1 stop is far above that and far below any deliberate edit.
* *tone/colour-changed*: not unchanged, but the same content: the edges are in the same places (zero-mean
  normalised correlation of the edge maps, gradient magnitude of log RGB summed over the channels, in a
  ``STRUCTURE_WINDOW`` window at least ``SAME_STRUCTURE``; a grade changes the edges' contrast, not where
  they are), or both windows are flat (log luminance standard deviation below ``FLAT_STOPS``), or a global tone curve of log luminance
  (the median edited value per bin of the original's, fitted over the whole overlap) explains the edited
  value within ``TONE_CURVE_RESIDUAL``, or the edit clipped a pixel that was already bright or dark
  (:data:`CLIPPED_WHITE`), where no texture is left to compare.
* *content-changed*: neither; also every pixel the original does not cover.  The mask is cleaned with a
  3x3 opening (lone pixels at edges are misregistration, not content) and grown by ``GROW`` pixels.

**Gains** (log2 of HDR over SDR luminance, or per channel for a multichannel original):

* unchanged: ``rebase``, ``G_w + lowpass(log2((Yw + k) / (Ye + k)))``, so the output decodes to the
  original's HDR light (the gain is recomputed against the edited SDR pixels, vearutop's ``RebaseUltraHDR``
  idea; low-passed, see :func:`gains`); ``G_w`` is the original's per-pixel gain
  ``log2((Yhdr + k) / (Ysdr + k))`` sampled at the map pixel centres;
* tone/colour-changed: the original's gain carried as it is, ``G_w``: the HDR is the
  edited SDR lifted by the original's boost, so the HDR follows the edit's look (a brightened sky stays
  brighter in HDR by the same factor, a graded colour keeps its grade).  Rebasing here would fight the edit:
  brightening a sky would lower its gain to land on the old HDR light and erase the edit on HDR displays;
* content-changed: a prediction (:mod:`gainmap.editing.prior`, then the fallback predictor), level-matched
  to the kept gain around it when it comes from the fallback.

The classes are blended in the log domain: the content mask is feathered with a Gaussian of ``FEATHER``
map pixels, on the inside of the grown region (``clip(2 blur - 1, 0, 1)``: 0 on its border, 1 a few
pixels in), so no seam shows where prediction meets carried gain and kept pixels keep their gain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from gainmap.metadata import GainMapMetadata

FLOOR = 1.0 / 64.0
UNCHANGED_LUMA = 0.1
UNCHANGED_CHROMA = 0.1
STRUCTURE_WINDOW = 7
SAME_STRUCTURE = 0.7
FLAT_STOPS = 0.05
TONE_CURVE_RESIDUAL = 0.15
TONE_CURVE_BINS = 32
TONE_CURVE_SAMPLES = 60000
#: Edited pixels at least this bright in every channel (linear) where the original was within two stops of
#: that, or black (luminance under twice the floor) where the original was within three stops of the floor,
#: were clipped by the edit (an exposure push blows highlights out): tone-changed, whatever texture the
#: original had there.
CLIPPED_WHITE = 0.9
FEATHER = 1.0
#: The content-changed mask grows by this many map pixels (the feather then runs inside the grown part).
GROW = 1
REBASE_SIGMA = 4.0
#: Coverage below this counts as outside the original.
COVERED = 0.99

UNCHANGED, TONE, CONTENT = 0, 1, 2
CLASS_NAMES = ("unchanged", "tone_changed", "content_changed")


@dataclass
class Classes:
    """Per-pixel class (0 unchanged, 1 tone/colour-changed, 2 content-changed) and the feathered content weight."""

    labels: np.ndarray
    content_weight: np.ndarray

    def fractions(self) -> dict[str, float]:
        n = max(1, self.labels.size)
        return {name: float((self.labels == i).sum()) / n for i, name in enumerate(CLASS_NAMES)}


def log_luma(rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log2 of luminance plus the floor, float32 (h, w)."""
    return np.log2(rgb @ weights.astype(np.float32) + np.float32(FLOOR))


def _log_chroma(rgb: np.ndarray) -> np.ndarray:
    lg = np.log2(np.maximum(rgb, 0) + np.float32(FLOOR))
    return np.stack([lg[..., 0] - lg[..., 1], lg[..., 2] - lg[..., 1]], axis=-1)


def _median3(x: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(np.ascontiguousarray(x, dtype=np.float32), 3)


def _edges(rgb: np.ndarray) -> np.ndarray:
    """Gradient magnitude of log RGB summed over the channels: where the edges are, whatever a grade did to
    their contrast or to the balance between the channels."""
    lg = np.log2(np.maximum(rgb, 0) + np.float32(FLOOR)).astype(np.float32)
    total = np.zeros(rgb.shape[:2], np.float32)
    for c in range(lg.shape[2]):
        total += cv2.magnitude(cv2.Sobel(lg[..., c], cv2.CV_32F, 1, 0, ksize=3),
                               cv2.Sobel(lg[..., c], cv2.CV_32F, 0, 1, ksize=3))
    return total


def _local_stats(a: np.ndarray, b: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local standard deviations of ``a`` and ``b`` and their correlation in a ``size`` window."""
    k = (size, size)
    mean_a, mean_b = cv2.blur(a, k), cv2.blur(b, k)
    var_a = np.maximum(cv2.blur(a * a, k) - mean_a * mean_a, 0)
    var_b = np.maximum(cv2.blur(b * b, k) - mean_b * mean_b, 0)
    cov = cv2.blur(a * b, k) - mean_a * mean_b
    corr = cov / np.sqrt(var_a * var_b + 1e-8)
    return np.sqrt(var_a), np.sqrt(var_b), corr


def _tone_curve_residual(src: np.ndarray, dst: np.ndarray, use: np.ndarray, seed: int = 0) -> np.ndarray:
    """|dst - f(src)| with f the median of dst per bin of src, per channel, max over them.  f is fitted on up to
    ``TONE_CURVE_SAMPLES`` pixels where ``use``."""
    out = np.zeros(src.shape[:2], dtype=np.float32)
    where = np.flatnonzero(use.ravel())
    if where.size < 8:
        return np.full(src.shape[:2], np.inf, dtype=np.float32)
    if where.size > TONE_CURVE_SAMPLES:
        where = np.random.default_rng(seed).choice(where, TONE_CURVE_SAMPLES, replace=False)
    for c in range(src.shape[2]):
        s, d = src[..., c], dst[..., c]
        s_fit, d_fit = s.ravel()[where], d.ravel()[where]
        edges = np.linspace(float(s_fit.min()), float(s_fit.max()) + 1e-6, TONE_CURVE_BINS + 1)
        idx = np.clip(np.searchsorted(edges, s_fit, side="right") - 1, 0, TONE_CURVE_BINS - 1)
        order = np.lexsort((d_fit, idx))
        counts = np.bincount(idx, minlength=TONE_CURVE_BINS)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        have = counts >= 8
        curve = d_fit[order][np.where(have, starts + counts // 2, 0)]
        centres = 0.5 * (edges[:-1] + edges[1:])
        fitted = np.interp(s, centres[have], curve[have]).astype(np.float32)
        np.maximum(out, np.abs(d - fitted), out=out)
    return out


def undo_tone(edited: np.ndarray, sdr_w: np.ndarray, use: np.ndarray) -> np.ndarray:
    """The edited linear RGB mapped back to the original's look through the inverse of a global per-channel
    tone curve (edited as a function of the original, fitted where ``use``): the reference prior is keyed on
    the original's colours, so a graded picture is looked up as it was before the grade."""
    k = np.float32(FLOOR)
    le = np.log2(np.maximum(edited, 0) + k)
    lw = np.log2(np.maximum(sdr_w, 0) + k)
    where = np.flatnonzero(use.ravel())
    if where.size < 64:
        return edited
    if where.size > TONE_CURVE_SAMPLES:
        where = np.random.default_rng(0).choice(where, TONE_CURVE_SAMPLES, replace=False)
    out = np.empty_like(le)
    for c in range(le.shape[2]):
        x, y = lw[..., c].ravel()[where], le[..., c].ravel()[where]
        edges = np.quantile(x, np.linspace(0, 1, TONE_CURVE_BINS + 1))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, TONE_CURVE_BINS - 1)
        xs = np.array([np.median(x[idx == b]) for b in range(TONE_CURVE_BINS) if (idx == b).any()])
        ys = np.array([np.median(y[idx == b]) for b in range(TONE_CURVE_BINS) if (idx == b).any()])
        ys = np.maximum.accumulate(ys)          # a tone curve is monotone; flat steps invert to their middle
        out[..., c] = np.interp(le[..., c], ys, xs)
    return (np.exp2(out) - k).astype(np.float32)


def classify(edited: np.ndarray, sdr_w: np.ndarray, coverage: np.ndarray, weights: np.ndarray) -> Classes:
    """The three classes on the map grid (see the module docstring for the rule and thresholds)."""
    le, lw = log_luma(edited, weights), log_luma(sdr_w, weights)
    d_luma = _median3(np.abs(le - lw))
    d_chroma = _median3(np.abs(_log_chroma(edited) - _log_chroma(sdr_w)).max(axis=-1))
    covered = coverage >= COVERED
    unchanged = covered & (d_luma < UNCHANGED_LUMA) & (d_chroma < UNCHANGED_CHROMA)
    std_e, std_w, _ = _local_stats(le, lw, STRUCTURE_WINDOW)
    _, _, corr = _local_stats(_edges(edited), _edges(sdr_w), STRUCTURE_WINDOW)
    same_structure = (corr >= SAME_STRUCTURE) | ((std_e < FLAT_STOPS) & (std_w < FLAT_STOPS))
    on_curve = _median3(_tone_curve_residual(lw[..., np.newaxis], le[..., np.newaxis], covered)) \
        < TONE_CURVE_RESIDUAL
    clipped = ((edited.min(axis=-1) >= CLIPPED_WHITE) & (lw >= np.log2(CLIPPED_WHITE / 4 + FLOOR))) \
        | ((le <= np.log2(2 * FLOOR)) & (lw <= np.log2(8 * FLOOR)))
    content = covered & ~unchanged & ~(same_structure | on_curve | clipped)
    kernel = np.ones((3, 3), np.uint8)
    content = cv2.morphologyEx(content.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    content = cv2.dilate(content, kernel, iterations=GROW).astype(bool) | ~covered
    labels = np.where(content, CONTENT, np.where(unchanged, UNCHANGED, TONE)).astype(np.uint8)
    weight = np.zeros(content.shape, np.float32)
    if content.any():   # the feather runs inside the (grown) region: kept pixels keep their gain exactly
        weight = np.clip(2.0 * cv2.GaussianBlur(content.astype(np.float32), (0, 0), FEATHER) - 1.0, 0.0, 1.0)
        weight[~covered] = 1.0
    return Classes(labels, weight)


def channel_view(rgb: np.ndarray, weights: np.ndarray, channels: int) -> np.ndarray:
    """Luminance (h, w, 1) for a one-channel gain, the RGB itself for three channels."""
    if channels == 1:
        return (rgb @ weights.astype(np.float32))[..., np.newaxis]
    return rgb


def log_gain(sdr: np.ndarray, hdr: np.ndarray, weights: np.ndarray, channels: int) -> np.ndarray:
    """log2((HDR + k) / (SDR + k)) per pixel, of luminance (channels 1) or per channel, float32 (h, w, C)."""
    k = np.float32(FLOOR)
    num = np.maximum(channel_view(hdr, weights, channels), 0) + k
    return np.log2(num / (np.maximum(channel_view(sdr, weights, channels), 0) + k)).astype(np.float32)


def gains(edited: np.ndarray, sdr_w: np.ndarray, gain_w: np.ndarray, weights: np.ndarray, channels: int,
          unchanged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(carried, rebased) log2 gains (h, w, C).  ``gain_w`` is the original's per-pixel gain sampled at the map
    pixel centres (the original's map resampled, not re-estimated).  Rebasing adds the SDR change of the
    block means, ``log2((Yw + k) / (Ye + k))``, low-passed over the unchanged pixels (a Gaussian of
    ``REBASE_SIGMA`` map pixels, normalised by the unchanged pixels it covers): so (Ye + k) 2^rebased follows
    the original's light through a slow drift (an exposure nudge under the unchanged threshold) without
    copying the block-to-block noise of JPEG coding and resampling into the map, which measured worse than
    not rebasing at all (docs/restore.md)."""
    k = np.float32(FLOOR)
    shift = np.log2((np.maximum(channel_view(sdr_w, weights, channels), 0) + k)
                    / (np.maximum(channel_view(edited, weights, channels), 0) + k))
    w = unchanged.astype(np.float32)
    norm = cv2.GaussianBlur(w, (0, 0), REBASE_SIGMA) + np.float32(1e-6)
    smooth = np.stack([cv2.GaussianBlur(np.nan_to_num(shift[..., c]) * w, (0, 0), REBASE_SIGMA) / norm
                       for c in range(shift.shape[2])], axis=-1)
    return gain_w, (gain_w + smooth).astype(np.float32)


def combine(classes: Classes, carried: np.ndarray, rebased: np.ndarray, predicted: np.ndarray | None
            ) -> np.ndarray:
    """The output log gain: rebased where unchanged, carried where tone-changed, feathered prediction."""
    keep = np.where((classes.labels == UNCHANGED)[..., np.newaxis], rebased, carried)
    if predicted is None or not classes.content_weight.any():
        return keep
    w = classes.content_weight[..., np.newaxis]
    return (1.0 - w) * np.nan_to_num(keep) + w * predicted


def level_match(predicted: np.ndarray, kept: np.ndarray, classes: Classes, max_shift: float = 1.0) -> np.ndarray:
    """``predicted`` shifted by the median difference to the kept gain on the ring of kept pixels around the
    content-changed region (at most ``max_shift`` stops), so a predictor with another level leaves no step."""
    content = (classes.labels == CONTENT).astype(np.uint8)
    ring = cv2.dilate(content, np.ones((9, 9), np.uint8)).astype(bool) & (classes.labels != CONTENT)
    if ring.sum() < 8:
        return predicted
    diff = (kept - predicted)[ring]
    shift = np.clip(np.median(diff, axis=0), -max_shift, max_shift)
    return (predicted + shift.astype(np.float32)).astype(np.float32)


def quantise(gain: np.ndarray, headroom: float, *, max_headroom: float | None = None
             ) -> tuple[np.ndarray, GainMapMetadata]:
    """8-bit map (h, w) or (h, w, 3) and metadata for a log2 gain field: range = the field's own (min <= 0 kept
    when negative), gamma 1, offsets 1/64, SDR base; the HDR rendition's headroom is ``headroom`` (capped by
    ``max_headroom``, which also compresses the field, as a predictor's ``max_headroom`` does)."""
    g = np.nan_to_num(gain.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    channels = g.shape[2]
    lo = [float(min(0.0, g[..., c].min())) for c in range(channels)]
    hi = [float(max(g[..., c].max(), lo[c] + 1.0 / 1024)) for c in range(channels)]
    alt = max(float(headroom), 1.0 / 1024)
    if max_headroom is not None and max_headroom < max(hi):
        factor = max_headroom / max(hi)
        lo, hi = [v * factor for v in lo], [v * factor for v in hi]
        g = g * np.float32(factor)
    if max_headroom is not None:
        alt = min(alt, float(max_headroom))
    codes = np.empty(g.shape, dtype=np.uint8)
    for c in range(channels):
        r = np.clip((g[..., c] - lo[c]) / (hi[c] - lo[c]), 0.0, 1.0)
        codes[..., c] = np.floor(r * 255.0 + 0.5).astype(np.uint8)
    if not all(math.isfinite(v) for v in lo + hi):
        raise ValueError("gain range is not finite")
    md = GainMapMetadata(gain_map_min=tuple(lo), gain_map_max=tuple(hi), gamma=(1.0,) * channels,
                         base_offset=(FLOOR,) * channels, alternate_offset=(FLOOR,) * channels,
                         base_hdr_headroom=0.0, alternate_hdr_headroom=alt, use_base_colour_space=True,
                         source="restored")
    return (codes[..., 0] if channels == 1 else codes), md
