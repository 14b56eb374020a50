"""The file model: a gain-map JPEG as images and gaps with absolute spans; ``read`` and ``to_bytes``.

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

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gainmap.errors import NotAJpegError, Problem, SchemaError
from gainmap.formats.jpeg import PROGRESSIVE_SOF, SOF_MARKERS, SOS, FrameHeader
from gainmap.formats.scanner import Item, Segment, scan_image

if TYPE_CHECKING:
    from gainmap.metadata import GainMapMetadata

#: Scan-found JPEG candidates that fail to parse before the rest of the file is given up as trailing data.
_MAX_FAILED_CANDIDATES = 64
_SOI_SIG = b"\xff\xd8\xff"

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
        """Insert a segment; by default after the last APPn that precedes the frame header."""
        if index is None:
            index = 1
            for i, item in enumerate(self.items):
                if isinstance(item, Segment) and (item.marker in SOF_MARKERS or item.marker == SOS):
                    break
                if isinstance(item, Segment) and 0xE0 <= item.marker <= 0xEF:
                    index = i + 1
        self.items.insert(index, seg)

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
    def xmp(self) -> Any:
        """The first standard XMP packet (what libultrahdr and libavif read), parsed, or None."""
        from gainmap.formats import xmp

        seg = self.first("xmp")
        return None if seg is None else _cached_view(seg, xmp.parse_xmp)

    @property
    def mpf(self) -> Any:
        from gainmap.formats import mpf

        seg = self.first("mpf", header_only=False)
        return None if seg is None else _cached_view(seg, mpf.parse_mpf)

    @property
    def iso(self) -> Any:
        from gainmap.formats import iso21496

        seg = self.first("iso21496")
        return None if seg is None else _cached_view(seg, iso21496.parse_iso)

    @property
    def exif(self) -> Any:
        from gainmap.formats import exif

        seg = self.first("exif")
        return None if seg is None else _cached_view(seg, exif.parse_exif)

    def icc_chunks(self) -> list[Any]:
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

    # ------------------------------------------------------------------ metadata
    def metadata_sources(self) -> dict[str, GainMapMetadata]:
        """Every gain-map parameter set the file carries that converts cleanly: keys "iso", "hdrgm", "apple"."""
        from gainmap.formats import iso21496
        from gainmap.metadata import GainMapMetadata, MetadataConversionError
        from gainmap.model import apple

        out: dict[str, GainMapMetadata] = {}
        gm = self.gainmap
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
        headroom = apple.apple_headroom(self)
        if headroom is not None and headroom.linear >= 1.0:
            out["apple"] = GainMapMetadata.from_apple(headroom.linear)
        return out

    def metadata(self) -> GainMapMetadata | None:
        """The gain-map parameters, preferring ISO 21496-1, then hdrgm, then Apple (libultrahdr's order)."""
        sources = self.metadata_sources()
        for key in ("iso", "hdrgm", "apple"):
            if key in sources:
                return sources[key]
        return None

    # ------------------------------------------------------------------ writing
    def to_bytes(self, recompute: bool | None = None) -> bytes:
        """Serialise.  Derived values are recomputed when the model changed since reading, or when asked."""
        plain = b"".join(p.to_bytes() for p in self.parts)
        if recompute is None:
            recompute = self._original is None or plain != self._original
        if not recompute:
            return plain
        self.update_derived()
        return b"".join(p.to_bytes() for p in self.parts)

    def update_derived(self) -> None:
        """Recompute GContainer Item:Length, MPF entry sizes and offsets, and every absolute offset."""
        self.update_container_length()
        self.update_mpf()

    def update_container_length(self) -> None:
        """Set the GContainer GainMap ``Item:Length`` to the gain-map image's real size (and the Primary item's
        ``Item:Padding`` to the bytes kept between the primary and the gain map)."""
        from gainmap.formats import xmp as xmp_schema

        gm = self.gainmap
        seg = self.primary.first("xmp")
        if gm is not None and seg is not None:
            packet = self.primary.xmp
            items = getattr(packet, "container_items", None) or []
            if any(i.semantic == "GainMap" and i.length != gm.size for i in items):
                try:
                    new_packet = xmp_schema.set_container_directory(packet.packet, gm.size,
                                                                    self.bytes_between(self.primary, gm))
                except SchemaError:  # a packet we cannot edit safely is written as it was read
                    return
                seg.payload = xmp_schema.XMP_IDENT + new_packet

    def update_mpf(self) -> None:
        """Lay the file out, then set each linked MP entry's size and offset (primary: its size, offset 0)."""
        from gainmap.formats import mpf as mpf_schema

        self.relayout()
        mseg = self.primary.first("mpf", header_only=False)
        info = self.primary.mpf
        if mseg is None or info is None or not info.entries:
            return
        base = mseg.offset + 8
        entries = []
        for i, entry in enumerate(info.entries):
            target = self.mpf_links[i] if i < len(self.mpf_links) else None
            if i == 0:
                entry = _replace_entry(entry, size=self.primary.size, offset=0)
            elif target is not None and target in self.images:
                entry = _replace_entry(entry, size=target.size, offset=target.offset - base)
            entries.append(entry)
        try:
            mseg.payload = mpf_schema.patch_entries(mseg.payload, entries)
        except SchemaError:
            return

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


def _replace_entry(entry: Any, **changes: int) -> Any:
    from dataclasses import replace

    return replace(entry, **changes)


# ---------------------------------------------------------------------- reading
def identify_non_jpeg(data: bytes) -> str:
    """A human description of what a non-JPEG file is."""
    if not data:
        return "the file is empty"
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1", "replace")
        what = {"avif": "an AVIF image", "avis": "an AVIF image sequence", "heic": "a HEIC image",
                "heix": "a HEIC image", "mif1": "a HEIF image", "msf1": "a HEIF sequence"}.get(
            brand, f"an ISO-BMFF file (brand {brand!r}, e.g. MP4/MOV)")
        return f"this is {what}, not a JPEG"
    for magic, what in ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"GIF8", "a GIF image"),
                        (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
                        (b"\xff\x0a", "a JPEG XL codestream"), (b"\x00\x00\x00\x0cJXL ", "a JPEG XL file"),
                        (b"BM", "a BMP image"), (b"%PDF", "a PDF document")):
        if data.startswith(magic):
            return f"this is {what}, not a JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "this is a WebP image, not a JPEG"
    return f"no JPEG SOI marker (FF D8) at offset 0; the file starts with {data[:8].hex(' ')}"


def read(source: str | os.PathLike[str] | bytes | bytearray | memoryview, *, name: str | None = None
         ) -> GainMapFile:
    """Read a file (path or bytes) into a :class:`GainMapFile`.

    Raises :class:`~gainmap.errors.NotAJpegError` only when the input is not a JPEG at all (an AVIF named
    .jpg, say); every other defect is recorded in ``problems`` and the model is returned.  ``OSError`` from
    opening a path propagates unchanged.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
    else:
        label = name or os.fspath(source)
        with open(source, "rb") as fh:
            data = fh.read()
    if len(data) < 2 or data[0] != 0xFF or data[1] != 0xD8:
        raise NotAJpegError(label, identify_non_jpeg(data))
    return _Reader(data, label).run()


class _Reader:
    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        self.problems: list[Problem] = []

    def _image(self, start: int) -> tuple[JpegImage, list[Problem]]:
        res = scan_image(self.data, start)
        return JpegImage(res.items, start, res.complete), res.problems

    def run(self) -> GainMapFile:
        data = self.data
        primary, probs = self._image(0)
        primary.role = "primary"
        self.problems += probs
        targets = self._mpf_targets(primary) + self._container_targets(primary)
        wanted = sorted({t for _, t in targets if primary.end <= t < len(data)})
        parts: list[Part] = [primary]
        pos = search = primary.end
        failed = 0
        while search < len(data):
            start = self._next_candidate(search, wanted)
            if start is None:
                break
            image, probs = self._image(start)
            if start not in wanted and not _plausible(image):
                failed += 1
                if failed > _MAX_FAILED_CANDIDATES:
                    break
                search = start + 1
                continue
            if start > pos:
                parts.append(Gap(data[pos:start], pos, "junk"))
                self.problems.append(Problem("layout.junk-between-images", pos, start - pos,
                                             f"{start - pos} byte(s) between images "
                                             f"({classify_trailing(data[pos:start])})"))
            self.problems += probs
            parts.append(image)
            pos = search = image.end
        if pos < len(data):
            gap = Gap(data[pos:], pos, "trailing")
            parts.append(gap)
            self.problems.append(Problem("layout.trailing-data", pos, gap.size,
                                         f"{gap.size} byte(s) after the last image ({gap.looks_like})"))
        gmf = GainMapFile(parts, self.label, self.problems, _original=data)
        self._link(gmf, targets)
        return gmf

    def _next_candidate(self, pos: int, wanted: list[int]) -> int | None:
        found = self.data.find(_SOI_SIG, pos)
        cands = [w for w in wanted if w >= pos and self.data[w:w + 2] == b"\xff\xd8"]
        if found >= 0:
            cands.append(found)
        return min(cands) if cands else None

    def _mpf_targets(self, primary: JpegImage) -> list[tuple[str, int]]:
        seg = primary.first("mpf", header_only=False)
        info = primary.mpf
        if seg is None or info is None:
            return []
        base = seg.offset + 8
        return [("mpf", base + e.offset) for e in info.entries[1:] if e.offset]

    def _container_targets(self, primary: JpegImage) -> list[tuple[str, int]]:
        packet = primary.xmp
        items = getattr(packet, "container_items", None) or []
        if not items:
            return []
        pos = primary.end + (items[0].padding or 0)  # Skia honours Padding on the first item only
        out = []
        for item in items[1:]:
            out.append(("container:" + (item.semantic or ""), pos))
            pos += item.length or 0
        return out

    def _link(self, gmf: GainMapFile, targets: list[tuple[str, int]]) -> None:
        primary = gmf.primary
        seg = primary.first("mpf", header_only=False)
        info = primary.mpf
        if seg is not None and info is not None:
            base = seg.offset + 8
            gmf.mpf_links = [primary if i == 0 else gmf.image_at(base + e.offset)
                             for i, e in enumerate(info.entries)]
            for i, e in enumerate(info.entries):
                im = gmf.mpf_links[i]
                if im is not None and im is not primary:
                    im.role = MP_TYPES.get(e.type_code, "other")
        mpf_loc = None
        for i, im in enumerate(gmf.mpf_links[1:], start=1):
            target = seg.offset + 8 + info.entries[i].offset if seg is not None else None
            if im is not None and has_gainmap_metadata(im):
                mpf_loc = im.offset
                break
            if mpf_loc is None and target is not None:
                mpf_loc = target
        cont = next((t for k, t in targets if k == "container:GainMap"), None)
        later = [im for im in gmf.images[1:] if im.complete]
        scan = later[0].offset if later else None
        gmf.locations = {"mpf": mpf_loc, "container": cont, "scan": scan}
        found = {k: v for k, v in gmf.locations.items() if v is not None}
        if len(set(found.values())) > 1:
            desc = ", ".join(f"{k} @{v}" for k, v in found.items())
            self.problems.append(Problem("locate.disagree", min(found.values()), 0,
                                         f"viewers would look for the gain map in different places: {desc}"))
        gm = None
        for key in ("mpf", "container", "scan"):
            loc = gmf.locations[key]
            im = gmf.image_at(loc) if loc is not None else None
            if im is not None and im is not primary and has_gainmap_metadata(im):
                gm = im
                break
        if gm is None:  # no metadata anywhere: take a located image unless MPF says it is something else
            for key in ("mpf", "container", "scan"):
                loc = gmf.locations[key]
                im = gmf.image_at(loc) if loc is not None else None
                if im is not None and im is not primary and im.role in ("other", "undefined"):
                    gm = im
                    break
        if gm is not None:
            gm.role = "gainmap"
        gmf.gainmap = gm


def _plausible(image: JpegImage) -> bool:
    """A JPEG found by scanning for FF D8 FF is taken as an image only if it has a frame and a scan."""
    return image.frame is not None and (image.complete or bool(image.scans()))


def has_gainmap_metadata(image: JpegImage) -> bool:
    iso = image.iso
    if iso is not None and iso.layout != "version-only":
        return True
    packet = image.xmp
    if packet is None:
        return False
    return bool(getattr(packet, "hdrgm", None)) or getattr(packet, "apple", None) is not None
