"""Policy over the model, each rule in one place: which gain-map metadata wins, what counts as gain-map
metadata, and where a new APPn segment goes.  The reader, the checks, repair, assemble and restore all ask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gainmap.formats import iso21496
from gainmap.formats.jpeg import SOF_MARKERS, SOS
from gainmap.formats.scanner import Item, Segment
from gainmap.metadata import GainMapMetadata, MetadataConversionError
from gainmap.model import apple

if TYPE_CHECKING:
    from gainmap.model.container import GainMapFile, JpegImage

#: Which parameter set wins when a file carries several (libultrahdr's order: ISO 21496-1, hdrgm, Apple).
METADATA_PRECEDENCE = ("iso", "hdrgm", "apple")


def metadata_sources(gmf: GainMapFile) -> dict[str, GainMapMetadata]:
    """Every gain-map parameter set the file carries that converts cleanly: keys "iso", "hdrgm", "apple"."""
    out: dict[str, GainMapMetadata] = {}
    gm = gmf.gainmap
    if gm is None:
        return out
    if gm.iso is not None and gm.iso.layout != "version-only":
        try:
            out["iso"] = iso21496.iso_to_metadata(gm.iso)
        except (MetadataConversionError, ValueError):
            pass
    if gm.xmp is not None and "GainMapMax" in gm.xmp.hdrgm:
        try:
            out["hdrgm"] = GainMapMetadata.from_hdrgm(gm.xmp.hdrgm_values())
        except (ValueError, TypeError):
            pass
    headroom = apple.apple_headroom(gmf)
    if headroom is not None and headroom.linear >= 1.0:
        out["apple"] = GainMapMetadata.from_apple(headroom.linear)
    return out

def metadata(gmf: GainMapFile) -> GainMapMetadata | None:
    """The gain-map parameters, preferring ISO 21496-1, then hdrgm, then Apple (libultrahdr's order)."""
    sources = metadata_sources(gmf)
    for key in METADATA_PRECEDENCE:
        if key in sources:
            return sources[key]
    return None


def has_gainmap_metadata(image: JpegImage) -> bool:
    """An image carries gain-map parameters: a full ISO 21496-1 block, hdrgm XMP, or Apple's HDRGainMap XMP."""
    iso = image.iso
    if iso is not None and iso.layout != "version-only":
        return True
    packet = image.xmp
    if packet is None:
        return False
    return bool(packet.hdrgm) or packet.apple is not None


def app_insert_index(items: Sequence[Item]) -> int:
    """Where a new APPn segment goes: after the last APPn before the frame header (or first scan), else after SOI."""
    index = 1
    for i, item in enumerate(items):
        if isinstance(item, Segment) and (item.marker in SOF_MARKERS or item.marker == SOS):
            break
        if isinstance(item, Segment) and 0xE0 <= item.marker <= 0xEF:
            index = i + 1
    return index
