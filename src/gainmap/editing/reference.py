"""Restore from the original photo: register, classify, transfer / rebase / predict, quantise.

:func:`gain_from_reference` returns the new gain map (uint8), its metadata and a :class:`ReferenceReport`;
:func:`gainmap.editing.restore.restore` wraps it around the edited primary.  The steps and their thresholds
are documented in :mod:`gainmap.editing.register`, :mod:`gainmap.editing.transfer` and
:mod:`gainmap.editing.prior`; docs/restore.md explains the method and its limits.

Speed and memory: the edited primary is decoded once at full size (the only full-size float array, 12 bytes
a pixel, is its linear copy, reduced at once to the map grid); the original is decoded at half size or less
through libjpeg's DCT scaling (:func:`gainmap.hdr.decode.decode_reduced`) whenever that still gives at least
two original pixels per map pixel.  All classification and prediction runs on the map grid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from gainmap.editing import prior as prior_mod
from gainmap.editing import transfer
from gainmap.editing.register import NotSamePhotoError, Registration, register
from gainmap.errors import GainMapError
from gainmap.hdr import warp
from gainmap.hdr.color import conversion_matrix, linear_to_srgb, luminance_coefficients, u8_to_linear_lut
from gainmap.hdr.decode import DecodeInfo, decode_pixels, decode_reduced, primary_colour_space
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile
from gainmap.predict.base import decode_gain, get_predictor, resize_float

#: At least this many original pixels per map pixel (per axis) before the original is decoded reduced.
OVERSAMPLE = 2.0
#: The fallback predictor sees the edited picture at this long side (its own working size is 512).
FALLBACK_LONG_SIDE = 1024
#: Tints of --save-masks: unchanged, tone/colour-changed, content-changed.
MASK_COLOURS = ((40, 200, 60), (40, 110, 255), (255, 40, 40))


@dataclass
class ReferenceReport:
    """What restoring from the original did, for people (:meth:`lines`) and scripts (:meth:`as_dict`)."""

    registration: Registration
    fractions: dict[str, float]
    predicted_by_prior: float = 0.0
    predicted_by_fallback: float = 0.0
    fallback: str | None = None
    prior_size: int = 0
    prior_pixels: int = 0
    original_headroom: float = 0.0
    headroom: float = 0.0
    orientation: dict[str, int] = field(default_factory=dict)
    labels: np.ndarray | None = None
    preview: np.ndarray | None = None     # the edited picture on the map grid, uint8 sRGB
    forced: bool = False

    def masks_picture(self) -> Image.Image:
        """The edited picture (map size) with the classes tinted: unchanged green, tone/colour-changed blue,
        content-changed red."""
        if self.labels is None or self.preview is None:
            raise GainMapError("no class masks: the gain map was not restored from an original")
        colours = np.array(MASK_COLOURS, dtype=np.float32)[self.labels]
        out = 0.55 * self.preview.astype(np.float32) + 0.45 * colours
        return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")

    def as_dict(self) -> dict[str, Any]:
        return {"registration": self.registration.describe(), "same_photo": self.registration.same_photo,
                "refusal_reasons": list(self.registration.reasons), "forced": self.forced,
                "fractions": {k: round(v, 4) for k, v in self.fractions.items()},
                "content_predicted_by": {"prior": round(self.predicted_by_prior, 4),
                                         "fallback": round(self.predicted_by_fallback, 4),
                                         "fallback_predictor": self.fallback},
                "prior": {"numbers": self.prior_size, "trained_on_pixels": self.prior_pixels},
                "headroom": {"original": round(self.original_headroom, 4), "restored": round(self.headroom, 4)},
                "exif_orientation": self.orientation}

    def lines(self) -> list[str]:
        r = self.registration.describe()
        f = self.fractions
        turn = f"{r['rotation_deg']:.1f} deg" + (", mirrored" if r["mirrored"] else "")
        out = [f"registration: {r['model']}, scale {r['scale_x']:.3f} x {r['scale_y']:.3f}, rotation {turn}, "
               f"offset ({r['tx']:.1f}, {r['ty']:.1f}) px; {r['inliers']}/{r['matches']} matches agree, "
               f"confidence {r['confidence']:.2f}, original covers {r['coverage']:.0%}"
               + (" (FORCED: " + "; ".join(self.registration.reasons) + ")" if self.forced else ""),
               f"pixels: {f['unchanged']:.1%} unchanged (HDR light carried over, gain rebased), "
               f"{f['tone_changed']:.1%} tone/colour-changed (original boost transferred), "
               f"{f['content_changed']:.1%} content-changed (predicted)"]
        if f["content_changed"] > 0:
            out.append(f"prediction: {self.predicted_by_prior:.1%} of the map from the reference prior "
                       f"({self.prior_size} numbers learned from {self.prior_pixels} original pixels), "
                       f"{self.predicted_by_fallback:.1%} from {self.fallback or 'no fallback'}")
        out.append(f"headroom: {self.headroom:.2f} stops (original {self.original_headroom:.2f})")
        return out


def _orientation(gmf: GainMapFile) -> int:
    try:
        with Image.open(io.BytesIO(gmf.primary.to_bytes())) as im:
            return int(im.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError):
        return 1


def _headroom(info: DecodeInfo, gain: np.ndarray) -> float:
    md = info.metadata
    if md is not None:
        return float(md.base_hdr_headroom if md.base_is_hdr else md.alternate_hdr_headroom)
    return float(max(np.nanmax(gain), 0.0))


def _to_space(arr: np.ndarray, src: str, dst: str) -> np.ndarray:
    if src == dst:
        return arr
    return (arr @ conversion_matrix(src, dst).T.astype(np.float32)).astype(np.float32)


def _decode_original(reference: GainMapFile, reduce: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, DecodeInfo]:
    try:
        return decode_reduced(reference, reduce)
    except GainMapError as exc:
        raise GainMapError(f"{reference.source}: the original's HDR rendition cannot be decoded: {exc}") from None


def gain_from_reference(edited: GainMapFile, reference: GainMapFile, *, predictor: str = "gmnet",
                        gainmap_scale: int = 4, max_headroom: float | None = None, force: bool = False
                        ) -> tuple[np.ndarray, GainMapMetadata, ReferenceReport]:
    """The edited picture's gain map (uint8), its metadata and the report (see the module docstring)."""
    if reference.gainmap is None:
        raise GainMapError(f"{reference.source}: the original has no gain map, so there is no HDR to carry over")
    if gainmap_scale < 1:
        raise GainMapError(f"gain-map scale must be >= 1, got {gainmap_scale}")
    edited_u8 = decode_pixels(edited.primary, "RGB", what="edited primary image")
    eh, ew = edited_u8.shape[:2]
    oh, ow = reference.primary.height or 0, reference.primary.width or 0
    reduce = 2 if min(oh, ow) >= 1024 else 1
    sdr_u8, sdr_o, hdr_o, info = _decode_original(reference, reduce)
    reg = register(sdr_u8, edited_u8, original_size=(oh, ow), edited_size=(eh, ew))
    if not reg.same_photo and not force:
        raise NotSamePhotoError(f"{edited.source}: does not look like an edit of {reference.source}: "
                                + "; ".join(reg.reasons) + ". Use --force to restore from it anyway, or "
                                "restore without --reference to predict the gain map")
    mh, mw = -(-eh // gainmap_scale), -(-ew // gainmap_scale)
    to_map = warp.grid_to_grid((eh, ew), (mh, mw)) @ reg.matrix
    if reduce > 1 and min(warp.axis_scales(to_map)) * reduce * OVERSAMPLE > 1.0:
        reduce = 1     # the edit enlarged the picture: the reduced original is too coarse
        sdr_u8, sdr_o, hdr_o, info = _decode_original(reference, reduce)
    from_reduced = to_map @ np.linalg.inv(warp.grid_to_grid((oh, ow), sdr_o.shape[:2]))
    space, _ = primary_colour_space(edited)
    sdr_o, hdr_o = _to_space(sdr_o, info.primary_colour_space, space), _to_space(hdr_o, info.primary_colour_space, space)
    weights = luminance_coefficients(space).astype(np.float32)
    # cv2.LUT: a uint8 -> float32 table lookup on all cores, several times faster than numpy indexing here
    edited_map = warp.area_reduce(cv2.LUT(edited_u8, u8_to_linear_lut("srgb").astype(np.float32)), (mh, mw))
    channels = reference.gainmap.components if reference.gainmap.components in (1, 3) else 1
    sdr_w, coverage = warp.warp(sdr_o, from_reduced, (mh, mw))
    gain_w, _ = warp.warp(transfer.log_gain(sdr_o, hdr_o, weights, channels), from_reduced, (mh, mw),
                          prefilter=False)
    classes = transfer.classify(edited_map, sdr_w, coverage, weights)
    carried, rebased = transfer.gains(edited_map, sdr_w, gain_w, weights, channels,
                                      classes.labels == transfer.UNCHANGED)
    report = ReferenceReport(reg, classes.fractions(), forced=not reg.same_photo,
                             orientation={"edited": _orientation(edited), "original": _orientation(reference)})
    predicted = None
    need = classes.content_weight > 1e-3
    if need.any():
        predicted = _predict(report, need, classes, edited_u8, edited_map, sdr_w, sdr_o, hdr_o, from_reduced, weights,
                             channels, carried, rebased, predictor, gainmap_scale)
    gain = transfer.combine(classes, carried, rebased, predicted)
    report.original_headroom = _headroom(info, gain)
    codes, md = transfer.quantise(gain, report.original_headroom, max_headroom=max_headroom)
    report.headroom = md.alternate_hdr_headroom
    report.labels = classes.labels
    report.preview = np.round(linear_to_srgb(np.clip(edited_map, 0, 1)) * 255).astype(np.uint8)
    return codes, md, report


def _predict(report: ReferenceReport, need: np.ndarray, classes: transfer.Classes, edited_u8: np.ndarray,
             edited_map: np.ndarray, sdr_w: np.ndarray, sdr_o: np.ndarray, hdr_o: np.ndarray, from_reduced: np.ndarray,
             weights: np.ndarray, channels: int, carried: np.ndarray, rebased: np.ndarray, predictor: str,
             gainmap_scale: int) -> np.ndarray:
    """Gains (h, w, C) where ``need``: the reference prior, then the fallback predictor where it is unsure."""
    mh, mw = need.shape
    s = float(np.sqrt(abs(np.linalg.det(from_reduced[:2, :2]))))     # map pixels per reduced-original pixel
    ph, pw = max(8, round(sdr_o.shape[0] * s)), max(8, round(sdr_o.shape[1] * s))
    sdr_p, hdr_p = warp.area_reduce(sdr_o, (ph, pw)), warp.area_reduce(hdr_o, (ph, pw))
    gain_p = transfer.log_gain(sdr_p, hdr_p, weights, channels)
    model = prior_mod.fit_prior(sdr_p, gain_p, weights)
    report.prior_size, report.prior_pixels = model.size, model.pixels
    unchanged_look = transfer.undo_tone(edited_map, sdr_w, classes.labels != transfer.CONTENT)
    feats = prior_mod.features(unchanged_look, weights)
    out = np.zeros((mh, mw, channels), dtype=np.float32)
    values, novel = model.predict(feats[need])
    out[need] = values
    novel_map = np.zeros((mh, mw), dtype=bool)
    novel_map[need] = novel
    content = classes.labels == transfer.CONTENT
    n = max(1, classes.labels.size)
    if novel_map.any():
        fallback = _fallback(edited_u8, predictor, gainmap_scale, (mh, mw), channels)
        kept = np.where((classes.labels == transfer.UNCHANGED)[..., np.newaxis], rebased, carried)
        fallback = transfer.level_match(fallback, kept, classes)
        out[novel_map] = fallback[novel_map]
        report.fallback = predictor
    report.predicted_by_prior = float((content & ~novel_map).sum()) / n
    report.predicted_by_fallback = float((content & novel_map).sum()) / n
    return out


def _fallback(edited_u8: np.ndarray, predictor: str, gainmap_scale: int, shape: tuple[int, int],
              channels: int) -> np.ndarray:
    h, w = edited_u8.shape[:2]
    f = max(1.0, max(h, w) / FALLBACK_LONG_SIDE)
    small = warp.area_reduce(edited_u8, (max(1, round(h / f)), max(1, round(w / f))))
    pred = get_predictor(predictor).predict(np.ascontiguousarray(small), gainmap_scale=1)
    g = decode_gain(pred)
    g = g if g.ndim == 3 else g[..., np.newaxis]
    out = np.stack([resize_float(g[..., c], shape[0], shape[1]) for c in range(g.shape[2])], axis=-1)
    if out.shape[2] != channels:
        out = np.repeat(out[..., :1], channels, axis=2)
    return out.astype(np.float32)
