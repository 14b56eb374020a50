"""Shared helpers of the xmp, container and hdrgm check families (no checks are registered here).

The packets a reader looks at are those of the primary and of the gain map: the first standard XMP APP1 of
each image (what Skia, libultrahdr and libavif read) and, when its ``xmpNote:HasExtendedXMP`` names one, the
ExtendedXMP packet reassembled the way Skia does (Skia searches the standard packet first, then the extended
one).  :func:`packets` returns them once per file as :class:`PacketRef` objects, which turn the offsets the
XMP parser records into absolute file offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.checks.registry import Finding
from gainmap.errors import Problem
from gainmap.formats.scanner import Segment
from gainmap.formats.xmp import (
    EXT_DATA_OFFSET,
    PACKET_OFFSET,
    XmpPacket,
    assemble_extended,
    parse_extended_chunk,
    parse_xmp_packet,
)
from gainmap.formats.xmp.props import CONTAINER_NS, ITEM_NS
from gainmap.metadata import HDRGM_NS

if TYPE_CHECKING:
    from gainmap.analysis.checks.context import CheckContext
    from gainmap.model.container import JpegImage

_CHUNK_RE = re.compile(r"^chunk (\d+)")


@dataclass
class PacketRef:
    """One parsed XMP packet and where its bytes lie in the file.

    ``where`` is "standard" (offsets the parser recorded are relative to ``segment``'s payload) or
    "extended" (offsets are relative to the reassembled packet; ``chunks`` maps them back to the APP1
    segments).  ``text`` holds the bytes those offsets index.
    """

    packet: XmpPacket
    image: int | None
    role: str  # "primary" or "gainmap"
    where: str  # "standard" or "extended"
    segment: Segment | None = None
    chunks: list[tuple[int, int, Segment]] = field(default_factory=list)  # (chunk_offset, length, segment)

    @property
    def text(self) -> bytes:
        return self.segment.payload if self.where == "standard" and self.segment is not None else self.packet.packet

    def absolute(self, rel: int) -> int:
        """The file offset of parser offset ``rel`` (clamped into the packet's bytes)."""
        if self.where == "standard" and self.segment is not None:
            rel = max(0, min(rel, len(self.segment.payload) - 1))
            return self.segment.payload_offset + rel
        for start, length, seg in self.chunks:
            if start <= rel < start + length:
                return seg.payload_offset + EXT_DATA_OFFSET + (rel - start)
        if self.chunks:
            start, length, seg = self.chunks[-1]
            return seg.payload_offset + EXT_DATA_OFFSET + max(0, length - 1)
        return 0

    @property
    def start(self) -> int:
        """File offset of the packet's first byte (after the XMP namespace string)."""
        return self.absolute(PACKET_OFFSET if self.where == "standard" else 0)

    @property
    def label(self) -> str:
        kind = "XMP" if self.where == "standard" else "ExtendedXMP"
        return f"the {'primary' if self.role == 'primary' else 'gain map'}'s {kind}"

    def find(self, needle: bytes, rel: int = 0) -> int | None:
        """Parser offset of the first ``needle`` at or after ``rel``, or None."""
        pos = self.text.find(needle, max(0, rel))
        return None if pos < 0 else pos

    # ------------------------------------------------------------------ what the packet says
    def uses(self, uri: str) -> bool:
        """The packet has properties of ``uri`` (hdrgm, Container or Item)."""
        pkt = self.packet
        if uri == HDRGM_NS:
            return bool(pkt.hdrgm_all)
        if uri in (CONTAINER_NS, ITEM_NS):
            return pkt.container_description_index is not None
        return False


@dataclass
class ExtendedInfo:
    """The result of reassembling one image's ExtendedXMP."""

    guid: str | None
    segments: list[Segment]
    packet: bytes | None
    problems: list[Problem]
    ref: PacketRef | None


def image_packets(image: JpegImage) -> list[XmpPacket]:
    """An image's first standard XMP packet and, when it names one that reassembles, its ExtendedXMP packet
    (what Skia searches, in that order).  Needs no check context: :func:`gainmap.analysis.validate.presence` can use it
    so that hdrgm and GContainer kept in ExtendedXMP (Pixel files) count as present."""
    standard = image.xmp if image is not None else None
    if standard is None:
        return []
    ext = _extended(None, image, 0, "primary", standard)
    return [standard] + ([ext.ref.packet] if ext.ref is not None else [])


def _image_xmp_segments(image: JpegImage) -> list[Segment]:
    return [s for s in image.header_segments() if s.kind == "xmp"]


def _extended(ctx: CheckContext | None, image: JpegImage, index: int | None, role: str, standard: XmpPacket | None) -> ExtendedInfo:
    segs = [s for s in image.header_segments() if s.kind == "extended_xmp"]
    guid = standard.has_extended_xmp if standard is not None else None
    if guid is None:
        return ExtendedInfo(None, segs, None, [], None)
    data, problems = assemble_extended([s.payload for s in segs], guid)
    ref = None
    if data is not None:
        chunks = []
        for seg in segs:
            try:
                chunk = parse_extended_chunk(seg.payload)
            except Exception:  # noqa: BLE001 - parse_extended_chunk raises SchemaError only
                continue
            if chunk.guid == guid:
                chunks.append((chunk.chunk_offset, len(chunk.data), seg))
        chunks.sort(key=lambda c: c[0])
        ref = PacketRef(parse_xmp_packet(data), index, role, "extended", None, chunks)
    return ExtendedInfo(guid, segs, data, problems, ref)


@dataclass
class ImageXmp:
    """The XMP of one image that readers use: its first standard packet and its ExtendedXMP."""

    image: JpegImage
    index: int | None
    role: str
    segments: list[Segment]
    standard: PacketRef | None
    extended: ExtendedInfo

    @property
    def refs(self) -> list[PacketRef]:
        return [r for r in (self.standard, self.extended.ref) if r is not None]


def image_xmp(ctx: CheckContext, role: str) -> ImageXmp | None:
    """The primary's or the gain map's XMP (computed once per check run); None when that image is absent."""
    cache = ctx.cache.setdefault("xmp.images", {})
    if role in cache:
        return cache[role]
    image = ctx.primary if role == "primary" else ctx.gainmap
    result = None
    if image is not None:
        index = ctx.image_index(image)
        segs = _image_xmp_segments(image)
        packet = image.xmp if segs else None
        standard = PacketRef(packet, index, role, "standard", segs[0]) if packet is not None else None
        result = ImageXmp(image, index, role, segs, standard, _extended(ctx, image, index, role, packet))
    cache[role] = result
    return result


def images(ctx: CheckContext) -> Iterator[ImageXmp]:
    """The primary's XMP, then the gain map's (when the gain map is a different image)."""
    for role in ("primary", "gainmap"):
        info = image_xmp(ctx, role)
        if info is not None and (role == "primary" or info.image is not ctx.primary):
            yield info


def packets(ctx: CheckContext) -> Iterator[PacketRef]:
    """Every packet readers use, primary first: standard, then extended."""
    for info in images(ctx):
        yield from info.refs


def family_of(code: str) -> str | None:
    cid = catalogue().resolve(code)
    return None if cid is None else cid.split(".", 1)[0]


def problem_findings(ref: PacketRef, families: Iterable[str], *, skip: Iterable[str] = (),
                     severity: str | None = None) -> Iterator[Finding]:
    """The packet's parser problems whose catalogue family is in ``families`` (codes in ``skip`` left out),
    with absolute offsets and the packet named in the message."""
    fams, skipped = set(families), set(skip)
    for p in ref.packet.problems:
        if p.code in skipped or family_of(p.code) not in fams:
            continue
        yield Finding(p.code, severity, ref.absolute(p.offset), p.length or 1, f"{ref.label}: {p.message}",
                      ref.image)


def chunk_index(problem: Problem) -> int | None:
    """The chunk an :func:`assemble_extended` problem names ("chunk N: ..."), if any."""
    m = _CHUNK_RE.match(problem.message)
    return int(m.group(1)) if m else None


def primary_declares(ctx: CheckContext, uri: str) -> PacketRef | None:
    """The first primary packet (standard, then extended) that declares ``uri``."""
    info = image_xmp(ctx, "primary")
    if info is None:
        return None
    return next((r for r in info.refs if r.packet.declarations(uri)), None)


def primary_hdrgm(ctx: CheckContext) -> PacketRef | None:
    """The first primary packet (standard, then extended) with hdrgm properties or an hdrgm declaration."""
    info = image_xmp(ctx, "primary")
    if info is None:
        return None
    return next((r for r in info.refs if r.packet.hdrgm_all or r.packet.declarations(HDRGM_NS)), None)


def primary_directory(ctx: CheckContext) -> PacketRef | None:
    """The first primary packet (standard, then extended) with a Container:Directory."""
    info = image_xmp(ctx, "primary")
    if info is None:
        return None
    return next((r for r in info.refs if r.packet.container_description_index is not None), None)


def gainmap_packet(ctx: CheckContext) -> PacketRef | None:
    """The gain map's first standard packet (the only one libultrahdr and libavif read)."""
    if ctx.gainmap is None or ctx.gainmap is ctx.primary:
        return None
    info = image_xmp(ctx, "gainmap")
    return info.standard if info is not None else None


def hex_at(offset: int) -> str:
    return f"{offset:#x}"
