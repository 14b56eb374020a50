"""Policy over the model, each rule in one place: which gain-map metadata wins, what counts as gain-map
metadata, and where a new APPn segment goes.  The reader, the checks, repair, assemble and restore all ask here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
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

def preferred(sources: Mapping[str, GainMapMetadata],
              accept: Callable[[GainMapMetadata], bool] | None = None) -> GainMapMetadata | None:
    """The first parameter set in :data:`METADATA_PRECEDENCE` order that ``accept`` (default: any) takes."""
    for key in METADATA_PRECEDENCE:
        md = sources.get(key)
        if md is not None and (accept is None or accept(md)):
            return md
    return None


def metadata(gmf: GainMapFile) -> GainMapMetadata | None:
    """The gain-map parameters, preferring ISO 21496-1, then hdrgm, then Apple (libultrahdr's order)."""
    return preferred(metadata_sources(gmf))


def has_gainmap_metadata(image: JpegImage | None) -> bool:
    """An image carries gain-map parameters of its own: a full ISO 21496-1 block, hdrgm properties or Apple's
    HDRGainMap XMP (``None``, no image, carries none)."""
    if image is None:
        return False
    iso = image.iso
    if iso is not None and iso.layout != "version-only":
        return True
    packet = image.xmp
    if packet is None:
        return False
    return bool(packet.hdrgm) or packet.apple is not None


def app_insert_index(items: Sequence[Item], after: Collection[str] | None = None) -> int:
    """Where a new APPn segment goes: after the last APPn (or, with ``after``, the last segment of one of those
    kinds) of the header, else right after SOI (index 1).

    The header ends at the frame header or the first scan, whichever comes first: a segment after it is
    invisible to most readers, so new metadata is never anchored there.
    """
    index = 1
    for i, item in enumerate(items):
        if not isinstance(item, Segment):
            continue
        if item.marker in SOF_MARKERS or item.marker == SOS:
            break
        if (item.kind in after) if after is not None else 0xE0 <= item.marker <= 0xEF:
            index = i + 1
    return index
