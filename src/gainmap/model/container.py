"""The file model: a gain-map JPEG as images and gaps with absolute spans.

Reading is :mod:`gainmap.model.reader`, writing :mod:`gainmap.model.writer`, and which metadata wins (and what
counts as gain-map metadata) :mod:`gainmap.model.policy`; the methods here that serialise or pick metadata are
thin doors to those modules.

A file is a sequence of *parts*: :class:`JpegImage` (primary, gain map, other MPF images) and :class:`Gap` (bytes
before, between or after images).  Each image holds its segments (:class:`~gainmap.formats.scanner.Segment`, with the
entropy-coded data of each scan attached to its SOS) and any :class:`~gainmap.formats.scanner.Raw` bytes that were not
well-formed.  Decoded views (MPF, XMP, ISO 21496-1, ICC, Exif) are computed lazily from segment payloads.

Writing: every segment length is always derived from its payload.  MPF entry sizes and offsets and the
GContainer ``Item:Length`` are recomputed whenever the model no longer serialises to the bytes it was read
from (or when asked with ``recompute=True``); an unmodified file is reproduced byte for byte, stale values
included, so the reader and writer can be trusted to lose nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gainmap.errors import Problem, SchemaError
from gainmap.formats.jpeg import PROGRESSIVE_SOF, SOF_MARKERS, SOS, FrameHeader
from gainmap.formats.scanner import Item, Segment
from gainmap.model import policy, writer

if TYPE_CHECKING:
    from gainmap.formats.exif import ExifInfo
    from gainmap.formats.icc import IccChunk
    from gainmap.formats.iso21496 import IsoRecord
    from gainmap.formats.mpf import MpfInfo
    from gainmap.formats.xmp import XmpPacket
    from gainmap.metadata import GainMapMetadata

# MP entry type codes (attribute & 0xFFFFFF) and what they are called.
MP_TYPES = {0x030000: "baseline-primary", 0x010001: "large-thumbnail-vga", 0x010002: "large-thumbnail-fullhd",
            0x020001: "panorama", 0x020002: "disparity", 0x020003: "multi-angle", 0x000000: "undefined"}


def _cached_view(seg: Segment, parser: Callable[[bytes], Any]) -> Any:
    """Parse ``seg.payload`` with ``parser`` once per payload object; None when it is not that structure."""
    if seg._view is not None and seg._view[0] is seg.payload:
        return seg._view[1]
    try:
        value = parser(seg.payload)
    except SchemaError:
        value = None
    seg._view = (seg.payload, value)
    return value


@dataclass(eq=False)
class JpegImage:
    """One JPEG image (SOI to EOI) inside a file."""

    items: list[Item]
    offset: int = -1
    complete: bool = True
    role: str = "other"

    # ------------------------------------------------------------------ structure
    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)

    @property
    def end(self) -> int:
        return self.offset + self.size

    def to_bytes(self) -> bytes:
        return b"".join(item.to_bytes() for item in self.items)

    def segments(self, kind: str | None = None) -> list[Segment]:
        """Segments in file order, optionally only those of one kind (``"xmp"``, ``"mpf"``, ``"sos"``...)."""
        segs = [i for i in self.items if isinstance(i, Segment)]
        return segs if kind is None else [s for s in segs if s.kind == kind]

    def header_segments(self) -> list[Segment]:
        """Segments before the first SOS (where readers look for metadata)."""
        out = []
        for item in self.items:
            if isinstance(item, Segment):
                if item.marker == SOS:
                    break
                out.append(item)
        return out

    def first(self, kind: str, *, header_only: bool = True) -> Segment | None:
        pool = self.header_segments() if header_only else self.segments()
        return next((s for s in pool if s.kind == kind), None)

    def scans(self) -> list[Segment]:
        return [s for s in self.segments() if s.marker == SOS]

    def index_of(self, seg: Segment) -> int:
        return next(i for i, item in enumerate(self.items) if item is seg)

    def insert(self, seg: Segment, index: int | None = None) -> None:
        """Insert a segment; by default where :func:`gainmap.model.policy.app_insert_index` puts a new APPn."""
        self.items.insert(policy.app_insert_index(self.items) if index is None else index, seg)

    def remove(self, seg: Segment) -> None:
        self.items.pop(self.index_of(seg))

    # ------------------------------------------------------------------ frame
    @property
    def frame_segment(self) -> Segment | None:
        return next((s for s in self.segments() if s.marker in SOF_MARKERS), None)

    @property
    def frame(self) -> Any:
        seg = self.frame_segment
        if seg is None:
            return None
        return _cached_view(seg, _parse_frame)

    @property
    def width(self) -> int | None:
        return self.frame.width if self.frame is not None else None

    @property
    def height(self) -> int | None:
        return self.frame.height if self.frame is not None else None

    @property
    def components(self) -> int | None:
        return len(self.frame.components) if self.frame is not None else None

    @property
    def progressive(self) -> bool:
        seg = self.frame_segment
        return seg is not None and seg.marker in PROGRESSIVE_SOF

    # ------------------------------------------------------------------ metadata views
    @property
    def xmp(self) -> XmpPacket | None:
        """The first standard XMP packet (what libultrahdr and libavif read), parsed, or None."""
        from gainmap.formats import xmp

        seg = self.first("xmp")
        return None if seg is None else _cached_view(seg, xmp.parse_xmp)

    @property
    def mpf(self) -> MpfInfo | None:
        from gainmap.formats import mpf

        seg = self.first("mpf", header_only=False)
        return None if seg is None else _cached_view(seg, mpf.parse_mpf)

    @property
    def iso(self) -> IsoRecord | None:
        from gainmap.formats import iso21496

        seg = self.first("iso21496")
        return None if seg is None else _cached_view(seg, iso21496.parse_iso)

    @property
    def exif(self) -> ExifInfo | None:
        from gainmap.formats import exif

        seg = self.first("exif")
        return None if seg is None else _cached_view(seg, exif.parse_exif)

    def icc_chunks(self) -> list[IccChunk]:
        from gainmap.formats import icc

        return [c for c in (_cached_view(s, icc.parse_icc_chunk) for s in self.header_segments()
                            if s.kind == "icc") if c is not None]

    @property
    def icc(self) -> bytes | None:
        """The reassembled ICC profile (Skia's rules), or None when absent or broken."""
        from gainmap.formats import icc

        chunks = self.icc_chunks()
        if not chunks:
            return None
        profile, _problems = icc.assemble_icc(chunks)
        return profile

    def __repr__(self) -> str:
        dims = f"{self.width}x{self.height}x{self.components}" if self.frame is not None else "no frame"
        return f"<JpegImage {self.role} @{self.offset} {self.size} bytes {dims}{'' if self.complete else ' truncated'}>"


def _parse_frame(payload: bytes) -> Any:
    try:
        return FrameHeader.parse(payload)
    except Exception as exc:  # construct raises its own errors on short payloads
        raise SchemaError(f"bad frame header: {exc}") from None


@dataclass(eq=False)
class Gap:
    """Bytes that belong to no image: before the first, between two, or after the last."""

    data: bytes
    offset: int = -1
    kind: str = "trailing"  # "junk" (between images) or "trailing" (after the last)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def end(self) -> int:
        return self.offset + self.size

    def to_bytes(self) -> bytes:
        return self.data

    @property
    def looks_like(self) -> str:
        return classify_trailing(self.data)


def classify_trailing(data: bytes) -> str:
    """What bytes outside any image look like: zeros, ff-padding, jpeg, mp4 (Motion Photo), samsung-sef, unknown."""
    if not data.strip(b"\x00"):
        return "zeros"
    if not data.strip(b"\xff"):
        return "ff-padding"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data.endswith(b"SEFT") or b"SEFH" in data[:64]:
        return "samsung-sef"
    return "unknown"


Part = JpegImage | Gap


@dataclass(eq=False)
class GainMapFile:
    """A parsed file: parts in order, the problems met while reading, and where each viewer finds the gain map."""

    parts: list[Part]
    source: str = "<bytes>"
    problems: list[Problem] = field(default_factory=list)
    #: Absolute offset of the gain map's SOI as found by MPF (Skia, libavif), GContainer and SOI scan (libultrahdr).
    locations: dict[str, int | None] = field(default_factory=dict)
    #: For each MP entry of the primary's MPF, the image it pointed at when read (None when it missed).
    mpf_links: list[JpegImage | None] = field(default_factory=list)
    gainmap: JpegImage | None = None
    _original: bytes | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ navigation
    @property
    def images(self) -> list[JpegImage]:
        return [p for p in self.parts if isinstance(p, JpegImage)]

    @property
    def primary(self) -> JpegImage:
        return self.images[0]

    @property
    def gaps(self) -> list[Gap]:
        return [p for p in self.parts if isinstance(p, Gap)]

    def image_at(self, offset: int) -> JpegImage | None:
        return next((im for im in self.images if im.offset == offset), None)

    def part_at(self, offset: int) -> Part | None:
        return next((p for p in self.parts if p.offset <= offset < p.end), None)

    def bytes_between(self, first: Part, second: Part) -> int:
        """How many bytes the parts strictly between two parts take, as the model is now (0 if not in order)."""
        a, b = self.parts.index(first), self.parts.index(second)
        return sum(p.size for p in self.parts[a + 1:b]) if b > a else 0

    def walk(self) -> Iterator[tuple[Part, Item | None]]:
        """Every part and, for images, every item, in file order."""
        for part in self.parts:
            yield part, None
            if isinstance(part, JpegImage):
                for item in part.items:
                    yield part, item

    # ------------------------------------------------------------------ metadata (policy.py decides)
    def metadata_sources(self) -> dict[str, GainMapMetadata]:
        """Every gain-map parameter set the file carries that converts cleanly: keys "iso", "hdrgm", "apple"."""
        return policy.metadata_sources(self)

    def metadata(self) -> GainMapMetadata | None:
        """The gain-map parameters the file's readers would use (:func:`gainmap.model.policy.metadata`)."""
        return policy.metadata(self)

    # ------------------------------------------------------------------ writing (writer.py does it)
    def to_bytes(self, recompute: bool | None = None) -> bytes:
        """Serialise.  Derived values are recomputed when the model changed since reading, or when asked."""
        return writer.to_bytes(self, recompute)

    def update_derived(self) -> None:
        """Recompute GContainer Item:Length, MPF entry sizes and offsets, and every absolute offset."""
        writer.update_derived(self)

    def update_container_length(self) -> None:
        writer.update_container_length(self)

    def update_mpf(self) -> None:
        writer.update_mpf(self)

    def relayout(self) -> None:
        """Assign every part and segment its absolute offset in the serialised file."""
        pos = 0
        for part in self.parts:
            part.offset = pos
            if isinstance(part, JpegImage):
                for item in part.items:
                    item.offset = pos + (item.fill if isinstance(item, Segment) else 0)
                    pos += item.size
            else:
                pos += part.size

    def __repr__(self) -> str:
        ims = ", ".join(repr(im) for im in self.images)
        md = self.metadata_sources()
        where = f"@{self.gainmap.offset}" if self.gainmap else None
        return (f"<GainMapFile {self.source!r} {len(self.images)} image(s) [{ims}] gainmap={where} "
                f"metadata={sorted(md) or None} problems={len(self.problems)}>")
