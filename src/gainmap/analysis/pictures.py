"""Pictures of a file for the visual report, as data: an SDR thumbnail, the gain map (reduced), its boost in
stops per pixel, a histogram of its codes, and the file's own bytes for the HDR preview.

Computed once by the validator (``check_file(..., detail=True)``); the HTML renderer only encodes these arrays.
The primary is decoded with libjpeg's DCT scaling (Pillow's ``draft``), so a 12-megapixel photo costs a
1/8-size decode; the gain map is decoded in full (it is small) for an exact histogram.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, JpegImagePlugin

from gainmap.errors import GainMapError
from gainmap.hdr.apply import apple_lut, gain_lut
from gainmap.hdr.decode import decode_pixels
from gainmap.metadata import GainMapMetadata
from gainmap.model.apple import apple_headroom
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import metadata

#: Longest side of the SDR thumbnail and of the reduced gain map, in pixels.
THUMB_SIDE = 480
#: The histogram counts every pixel of maps up to this size, and a regular grid of about this many beyond.
HISTOGRAM_SAMPLES = 1 << 20


@dataclass(frozen=True)
class Pictures:
    """What the report shows as images; any array is None when that picture cannot be made (``notes`` says why)."""

    #: The file as read (the HDR preview shows the file itself).
    file_bytes: bytes
    #: uint8 (H, W, 3) SDR thumbnail of the primary.
    sdr: np.ndarray | None = None
    #: uint8 (h, w) or (h, w, 3) gain map reduced to at most THUMB_SIDE.
    gain_map: np.ndarray | None = None
    #: float32 (h, w) boost in stops (log2 of the gain at full headroom) for the reduced map (channel mean).
    stops: np.ndarray | None = None
    #: (lowest, highest) boost the metadata allows, in stops: the false-colour scale.
    stops_range: tuple[float, float] | None = None
    #: Code counts of the map (every pixel, or a regular grid of HISTOGRAM_SAMPLES for big maps): (C, 256).
    histogram: np.ndarray | None = None
    #: Summary numbers (min / mean / max boost, map size, metadata form).
    stats: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _thumbnail(image: JpegImage, side: int) -> np.ndarray:
    """The image reduced to at most ``side`` pixels, decoded at 1/2..1/8 scale where libjpeg allows."""
    if not image.complete:
        raise GainMapError(f"the primary at offset {image.offset} is truncated (no EOI)")
    try:
        with JpegImagePlugin.JpegImageFile(io.BytesIO(image.to_bytes())) as jpeg:
            jpeg.draft("RGB", (side, side))
            rgb = jpeg.convert("RGB")
            rgb.thumbnail((side, side), Image.Resampling.BILINEAR)
            return np.asarray(rgb)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise GainMapError(f"the primary at offset {image.offset} does not decode: {exc}") from None


def _reduce(arr: np.ndarray, side: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if max(h, w) <= side:
        return arr
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BOX))


def _stops_table(gmf: GainMapFile, md: GainMapMetadata, channels: int) -> tuple[np.ndarray, str]:
    """(256, C) boost in stops for every code, and the rule used."""
    head = apple_headroom(gmf)
    if md.source == "apple" and head is not None and head.linear >= 1.0:
        table = np.log2(apple_lut(head.linear))[:, np.newaxis]
        return np.repeat(table, channels, axis=1) if channels > 1 else table, "Apple 1 + (H - 1) * g"
    if channels == 1 and md.channel_count == 3:
        md = md.collapse_channels()
    table = np.log2(gain_lut(md, 1.0)).astype(np.float32)
    if table.shape[1] != channels:
        table = np.repeat(table[:, :1], channels, axis=1)
    return table, "ISO 21496-1 log-linear"


def pictures(gmf: GainMapFile, data: bytes) -> Pictures:
    """The pictures of ``gmf`` (read from ``data``); never raises for a broken file."""
    notes: list[str] = []
    sdr = None
    try:
        sdr = _thumbnail(gmf.primary, THUMB_SIDE)
    except GainMapError as exc:
        notes.append(f"No SDR thumbnail: {exc}.")
    gm = gmf.gainmap
    if gm is None:
        return Pictures(data, sdr, notes=(*notes, "The file has no gain map to draw."))
    try:
        full = decode_pixels(gm, what="gain map")
    except GainMapError as exc:
        return Pictures(data, sdr, notes=(*notes, f"The gain map does not decode: {exc}."))
    channels = 1 if full.ndim == 2 else full.shape[2]
    step = max(1, math.ceil(math.sqrt(full.shape[0] * full.shape[1] / HISTOGRAM_SAMPLES)))
    sample = full[::step, ::step].reshape(-1, channels)
    histogram = np.stack([np.bincount(sample[:, c], minlength=256) for c in range(channels)])
    small = _reduce(full, THUMB_SIDE)
    stats = {"gain map size": f"{full.shape[1]}x{full.shape[0]}, {channels} channel{'s' if channels > 1 else ''}"}
    if step > 1:
        stats["histogram"] = f"every {step}th pixel in each direction"
    md = metadata(gmf)
    stops = stops_range = None
    if md is None or not md.is_finite():
        notes.append("No usable gain-map metadata, so the boost in stops cannot be drawn.")
    else:
        try:
            with np.errstate(over="ignore"):  # overflowing gains are reported below, not warned about
                table, rule = _stops_table(gmf, md, channels)
        except ValueError as exc:  # gamma <= 0 and other values no reader can apply
            notes.append(f"The metadata cannot be applied: {exc}.")
        else:
            if not np.all(np.isfinite(table)):
                notes.append("The metadata asks for a boost beyond any number (the gains overflow), so the "
                             "boost in stops cannot be drawn.")
                return Pictures(data, sdr, small, None, None, histogram, stats, tuple(notes))
            codes = small.reshape(small.shape[0], small.shape[1], channels)
            stops = np.mean(np.stack([table[codes[..., c], c] for c in range(channels)], axis=-1), axis=-1)
            lo, hi = float(np.min(table)), float(np.max(table))
            stops_range = (lo, hi) if hi > lo else (lo, lo + 1.0)
            weights = histogram.sum(axis=0).astype(np.float64)
            mean = float(np.sum(weights * table.mean(axis=1)) / max(weights.sum(), 1.0))
            used = np.nonzero(weights)[0]
            stats.update({"metadata": f"{md.source or 'computed'} ({rule})",
                          "boost range allowed": f"{lo:+.2f} .. {hi:+.2f} stops",
                          "boost in this map": f"{float(table[used].min()):+.2f} .. "
                                               f"{float(table[used].max()):+.2f} stops, mean {mean:+.2f}",
                          "headroom for full effect": _headroom_words(md)})
            stops = stops.astype(np.float32)
    return Pictures(data, sdr, small, stops, stops_range, histogram, stats, tuple(notes))


def _headroom_words(md: GainMapMetadata) -> str:
    h = md.alternate_hdr_headroom
    return f"{h:.2f} stops (x{2 ** h:.3g} SDR white)" if math.isfinite(h) and abs(h) < 64 else str(h)


__all__ = ["THUMB_SIDE", "Pictures", "pictures"]
