"""Edits that several repair actions make: the gain-map image, XMP and APP segment replacement, the ISO
version block, and the primary's fingerprint (what repair must never change)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from gainmap.editing.repair.state import RepairError
from gainmap.errors import SchemaError
from gainmap.formats import iso21496, xmp
from gainmap.formats.scanner import Segment
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import app_insert_index


def gainmap_of(gmf: GainMapFile) -> JpegImage:
    """The gain-map image, or :class:`RepairError` when the file has none."""
    if gmf.gainmap is None:
        raise RepairError("the file has no gain-map image to repair (restore one with `gainmap restore`)")
    return gmf.gainmap


def set_xmp(image: JpegImage, edit: Callable[[bytes], bytes], *, where: int | None = None) -> None:
    """Edit the image's first standard XMP packet, creating one (after JFIF/Exif) when absent."""
    seg = image.first("xmp")
    if seg is None:
        seg = Segment.app(1, xmp.wrap_app1(xmp.new_packet()))
        image.insert(seg, where if where is not None else app_insert_index(image.items, after=("jfif", "exif")))
    packet = image.xmp
    if packet is None or not packet.well_formed:
        raise RepairError(f"the XMP packet at offset {seg.offset} is not well-formed; cannot edit it safely")
    try:
        seg.payload = xmp.wrap_app1(edit(packet.packet))
    except SchemaError as exc:
        raise RepairError(f"cannot edit the XMP at offset {seg.offset}: {exc}") from None


def replace_segments(image: JpegImage, kind: str, payloads: list[bytes], *, after: tuple[str, ...]) -> None:
    """Replace every header segment of ``kind`` by new APP segments (same marker family) at the first one's
    place, or after the last header segment of one of the kinds ``after``."""
    old = [s for s in image.header_segments() if s.kind == kind]
    index = image.index_of(old[0]) if old else app_insert_index(image.items, after=after)
    for s in old:
        image.remove(s)
    marker = {"xmp": 1, "iso21496": 2, "mpf": 2, "icc": 2}[kind]
    for k, payload in enumerate(payloads):
        image.items.insert(index + k, Segment.app(marker, payload))


def ensure_iso_version(primary: JpegImage) -> bool:
    """Give the primary exactly one, correct ISO 21496-1 version block; whether anything changed."""
    old = [s for s in primary.header_segments() if s.kind == "iso21496"]
    if len(old) == 1 and old[0].payload == iso21496.version_block():
        return False
    replace_segments(primary, "iso21496", [iso21496.version_block()], after=("jfif", "exif", "xmp", "icc"))
    return True


def primary_fingerprint(image: JpegImage) -> str:
    """SHA-256 over the frame header, tables, scan headers and entropy-coded data (what must never change)."""
    h = hashlib.sha256()
    for seg in image.segments():
        if seg.kind in ("sof", "dqt", "dht", "dri", "sos", "dnl") or seg.marker in range(0xD0, 0xD8):
            h.update(bytes((seg.marker,)) + seg.payload + (seg.ecs or b""))
    return h.hexdigest()
