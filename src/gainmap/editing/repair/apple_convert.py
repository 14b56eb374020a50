"""Converting an Apple gain map (iOS 14 to 17) to ISO 21496-1 + hdrgm: the map is re-mapped from Apple's linear
interpolation to log2 encoding through a 256-entry table and re-encoded; Apple's own metadata is kept."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, JpegImagePlugin

from gainmap.editing.repair.edits import ensure_iso_version, gainmap_of, replace_segments, set_xmp
from gainmap.editing.repair.state import RepairError, RepairState, action
from gainmap.formats import iso21496, xmp
from gainmap.formats.scanner import Segment
from gainmap.hdr.color import bt709_to_linear
from gainmap.metadata import GainMapMetadata
from gainmap.model import apple
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import app_insert_index
from gainmap.model.reader import read


@action("convert-apple")
def convert_apple(gmf: GainMapFile, state: RepairState) -> str:
    head = apple.apple_headroom(gmf)
    gm = gainmap_of(gmf)
    if set(gmf.metadata_sources()) - {"apple"}:
        return "not needed: the gain map already carries ISO 21496-1 or hdrgm metadata (converted before)"
    if head is None or head.linear <= 1.0:
        raise RepairError("Apple gain map without a usable headroom (no HDRGainMapHeadroom, no maker-note tag 33)")
    pixels = _decode_gray(gm)
    lut = apple_to_log_lut(head.linear)
    new_jpeg = _encode_gray(lut[pixels], _quality_of(gm))
    new_image = read(new_jpeg, name="re-encoded gain map").primary
    for seg in gm.header_segments():  # keep Apple's XMP (and any other metadata) so Apple viewers still work
        if seg.kind not in ("jfif", "sof", "dqt", "dht", "dri", "soi") and 0xE0 <= seg.marker <= 0xEF:
            new_image.insert(Segment.app(seg.marker - 0xE0, seg.payload), app_insert_index(new_image.items, after=("jfif",)))
    new_image.role = "gainmap"
    index = gmf.parts.index(gm)
    gmf.parts[index] = new_image
    gmf.mpf_links = [new_image if im is gm else im for im in gmf.mpf_links]
    gmf.gainmap = new_image
    stops = math.log2(head.linear)
    md = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(stops,), gamma=(1.0,), base_offset=(0.0,),
                         alternate_offset=(0.0,), base_hdr_headroom=0.0, alternate_hdr_headroom=stops,
                         source="apple")
    state.set_metadata(md)
    replace_segments(new_image, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))],
                      after=("jfif", "xmp"))
    set_xmp(new_image, lambda p: xmp.set_hdrgm(p, md.to_hdrgm()))
    ensure_iso_version(gmf.primary)
    set_xmp(gmf.primary, xmp.ensure_primary_version)
    gap = gmf.bytes_between(gmf.primary, new_image)
    set_xmp(gmf.primary, lambda p: xmp.set_container_directory(p, new_image.size, gap))
    return (f"converted the Apple gain map (headroom x{head.linear:.4g} = {stops:.4f} stops, from {head.source}) "
            "to ISO 21496-1 + hdrgm: map re-mapped through a 256-entry LUT from Apple's linear interpolation to "
            "log2 encoding and re-encoded; Apple XMP and maker note kept")


def apple_to_log_lut(headroom_linear: float) -> np.ndarray:
    """v' = round(255 * log2(1 + (H - 1) * lin(v / 255)) / log2 H), lin = Rec.709 inverse OETF (formats.md §8)."""
    g = bt709_to_linear(np.arange(256, dtype=np.float64) / 255.0)
    out = np.log2(1.0 + (headroom_linear - 1.0) * np.asarray(g, dtype=np.float64)) / math.log2(headroom_linear)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def _decode_gray(image: JpegImage) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(image.to_bytes())) as im:
            return np.asarray(im.convert("L"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise RepairError(f"the gain map at offset {image.offset} does not decode: {exc}") from None


def _quality_of(image: JpegImage) -> int:
    """A JPEG quality close to the original's, estimated from its first quantisation table."""
    try:
        with Image.open(io.BytesIO(image.to_bytes())) as im:
            if not isinstance(im, JpegImagePlugin.JpegImageFile):
                return 90
            table = list(im.quantization.get(0, []))
    except (OSError, SyntaxError, ValueError):
        return 90
    if not table:
        return 90
    mean = sum(table) / len(table)
    return int(np.clip(round(100 - mean * 1.2), 75, 98))


def _encode_gray(pixels: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
