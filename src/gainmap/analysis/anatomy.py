"""The anatomy of a file as data for the visual report: every part and segment with its absolute span and
decoded meaning, the pointers (MPF entries, GContainer) with where they land, and the decoded metadata tables.

Built once from the model by the validator (``check_file(..., detail=True)``), so the HTML renderer draws it
without reading or parsing anything.  Offsets are absolute in the file as read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gainmap.formats.iso21496 import CHANNEL_FIELDS
from gainmap.formats.mpf import TIFF_BASE
from gainmap.formats.scanner import Raw, Segment
from gainmap.model.apple import apple_headroom
from gainmap.model.container import MP_TYPES, GainMapFile, Gap, JpegImage

#: Meaning lines per segment are capped so one odd file cannot make the page huge.
MAX_MEANING_LINES = 24


@dataclass(frozen=True)
class Block:
    """A span of the file: an image or gap (``level`` "part") or a segment / raw run (``level`` "segment")."""

    offset: int
    length: int
    label: str
    kind: str
    level: str
    #: Which part it belongs to: "primary", "gainmap", another MP role, or "gap" / "trailer".
    role: str
    meaning: tuple[str, ...] = ()

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Pointer:
    """An offset stored in the file: where the field lies (``source``) and where it points (``target``)."""

    label: str
    source: int
    target: int | None
    #: True when the target is the start of an image (a pointer that lands where it should).
    lands: bool
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A small table of decoded values (hdrgm, ISO 21496-1 per channel, Apple headroom, ...)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Anatomy:
    """Parts, segments, pointers and metadata tables of one file."""

    size: int
    parts: tuple[Block, ...]
    segments: tuple[Block, ...]
    pointers: tuple[Pointer, ...]
    tables: tuple[Table, ...] = field(default=())

    def header_span(self, role: str) -> tuple[int, int] | None:
        """(start, end) of an image's header: its segments before the first entropy-coded scan ends."""
        segs = [b for b in self.segments if b.role == role]
        if not segs:
            return None
        end = next((b.offset + min(b.length, 64) for b in segs if b.kind == "sos"), segs[-1].end)
        return segs[0].offset, max(end, segs[0].offset + 1)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(_num(v) for v in value)
    return str(value)


def _frac(pair: tuple[int, int] | None) -> str:
    if pair is None:
        return "-"
    n, d = pair
    return f"{n}/{d} = {n / d:.6g}" if d else f"{n}/0 (zero denominator)"


def _role(image: JpegImage, gmf: GainMapFile) -> str:
    if image is gmf.primary:
        return "primary"
    return "gainmap" if image is gmf.gainmap else (image.role or "other")


# ------------------------------------------------------------------------------------------ meanings
def _mpf_meaning(image: JpegImage, seg: Segment) -> list[str]:
    info = image.mpf
    if info is None:
        return ["MPF index (does not parse)"]
    base = seg.payload_offset + TIFF_BASE
    lines = [f"MPF index, byte order {info.byte_order}, {len(info.entries)} entr{'y' if len(info.entries) == 1 else 'ies'}"]
    for i, e in enumerate(info.entries):
        kind = MP_TYPES.get(e.type_code, f"type 0x{e.type_code:06X}")
        where = "the primary (offset 0)" if e.offset == 0 else f"@{base + e.offset} (stored {e.offset})"
        lines.append(f"entry {i}: {kind}, {e.size} bytes at {where}")
    lines += [f"problem: {p.message}" for p in info.problems]
    return lines


def _iso_meaning(image: JpegImage) -> list[str]:
    rec = image.iso
    if rec is None:
        return ["ISO 21496-1 (does not parse)"]
    lines = [f"ISO 21496-1 {rec.layout}, minimum version {rec.minimum_version}, writer {rec.writer_version}"]
    if rec.layout != "version-only":
        lines.append(f"base headroom {_frac(rec.base_hdr_headroom)}, alternate {_frac(rec.alternate_hdr_headroom)}")
        for i, ch in enumerate(rec.channels):
            lines.append(f"channel {i}: " + ", ".join(f"{k} {_frac(v)}" for k, v in ch.items()))
    lines += [f"problem: {p.message}" for p in rec.problems]
    return lines


def _xmp_meaning(image: JpegImage) -> list[str]:
    packet = image.xmp
    if packet is None:
        return ["XMP (does not parse)"]
    lines = [f"XMP packet, {len(packet.packet)} bytes" + ("" if packet.well_formed else ", not well-formed")]
    if packet.hdrgm:
        lines.append("hdrgm: " + ", ".join(f"{k}={_num(v.value if v.value is not None else v.raw)}"
                                           for k, v in packet.hdrgm.items()))
    for item in packet.container_items:
        lines.append(f"GContainer item {item.semantic}: {item.mime}, Length={item.length}, Padding={item.padding}")
    if packet.apple is not None:
        lines.append(f"Apple HDRGainMap: version {packet.apple.version}, headroom {packet.apple.headroom}")
    if packet.has_extended_xmp:
        lines.append(f"ExtendedXMP GUID {packet.has_extended_xmp}")
    return lines


def _exif_meaning(image: JpegImage) -> list[str]:
    info = image.exif
    if info is None:
        return ["Exif (does not parse)"]
    lines = [f"Exif, byte order {info.byte_order}"]
    if info.apple is not None:
        lines.append(f"Apple maker note: HDRHeadroom {_frac(info.apple.headroom)}, HDRGain {_frac(info.apple.gain)}")
    return lines


def _segment_meaning(image: JpegImage, seg: Segment) -> list[str]:
    kind = seg.kind
    if kind == "mpf":
        return _mpf_meaning(image, seg)
    if kind == "iso21496":
        return _iso_meaning(image) if seg is image.first("iso21496") else ["ISO 21496-1 (a second block)"]
    if kind == "xmp":
        return _xmp_meaning(image) if seg is image.first("xmp") else ["XMP packet (not the first)"]
    if kind == "exif":
        return _exif_meaning(image) if seg is image.first("exif") else ["Exif (not the first)"]
    if kind == "extended_xmp":
        return [f"ExtendedXMP chunk, {len(seg.payload)} bytes (the rest of an XMP packet too big for one APP1)"]
    if kind == "icc":
        return [f"ICC profile chunk, {len(seg.payload)} bytes"]
    if kind == "sof":
        frame = image.frame
        if frame is not None and seg is image.frame_segment:
            return [f"frame {seg.name}: {image.width}x{image.height}, {image.components} component(s)"
                    + (", progressive" if image.progressive else "")]
        return [f"frame header {seg.name}"]
    if kind == "sos":
        return [f"scan header + {len(seg.ecs or b'')} bytes of entropy-coded data"]
    named = {"soi": "start of image", "eoi": "end of image", "dqt": "quantisation tables",
             "dht": "Huffman tables", "dri": "restart interval", "jfif": "JFIF header", "com": "comment"}
    if kind == "com":
        text = seg.payload[:60].decode("latin-1").replace("\x00", " ")
        return [f"comment: {text!r}"]
    return [named.get(kind, f"{seg.name} segment ({kind}), {len(seg.payload)} bytes of payload")]


def _segment_blocks(gmf: GainMapFile, image: JpegImage) -> Iterable[Block]:
    role = _role(image, gmf)
    for item in image.items:
        if isinstance(item, Raw):
            yield Block(item.offset, item.size, "raw", "raw", "segment", role,
                        (f"bytes that are not a well-formed segment: {item.reason}",))
            continue
        start = item.offset - item.fill
        label = item.kind.upper() if item.kind in ("mpf", "xmp", "icc", "exif", "jfif") else item.name
        label = {"iso21496": "ISO", "extended_xmp": "XMP-EXT"}.get(item.kind, label)
        meaning = _segment_meaning(image, item)
        if item.fill:
            meaning = [*meaning, f"{item.fill} fill byte(s) before the marker"]
        yield Block(start, item.size, label, item.kind, "segment", role, tuple(meaning[:MAX_MEANING_LINES]))


def _part_block(gmf: GainMapFile, part: JpegImage | Gap) -> Block:
    if isinstance(part, Gap):
        role = "trailer" if part.kind == "trailing" else "gap"
        return Block(part.offset, part.size, role, part.kind, "part", role,
                     (f"{part.size} bytes between or after the images; looks like {part.looks_like}",))
    role = _role(part, gmf)
    dims = f"{part.width}x{part.height}" if part.width else "no frame"
    label = {"primary": "primary", "gainmap": "gain map"}.get(role, role)
    return Block(part.offset, part.size, label, "image", "part", role,
                 (f"{label} image, {dims}, {part.size} bytes" + ("" if part.complete else ", truncated"),))


# ------------------------------------------------------------------------------------------ pointers
def _pointers(gmf: GainMapFile) -> list[Pointer]:
    out: list[Pointer] = []
    primary = gmf.primary
    seg = primary.first("mpf", header_only=False)
    info = primary.mpf
    starts = {im.offset for im in gmf.images}
    if seg is not None and info is not None:
        base = seg.payload_offset + TIFF_BASE
        for i, e in enumerate(info.entries):
            if i == 0 or e.offset == 0:
                continue
            rel = info.entry_offset(i)
            field_at = seg.payload_offset + rel + 8 if rel is not None else seg.offset
            target = base + e.offset
            lands = target in starts
            out.append(Pointer(f"MPF entry {i}", field_at, target, lands,
                               "lands on an image" if lands else "points into the middle of something"))
    cont = gmf.locations.get("container")
    xmp = primary.first("xmp")
    if cont is not None and xmp is not None:
        lands = cont in starts
        out.append(Pointer("GContainer GainMap", xmp.offset, cont, lands,
                           "lands on an image" if lands else "Item:Length sums miss the gain map"))
    return out


# ------------------------------------------------------------------------------------------ tables
def _hdrgm_table(gmf: GainMapFile) -> Table | None:
    rows = []
    for name, image in (("primary", gmf.primary), ("gain map", gmf.gainmap)):
        packet = image.xmp if image is not None else None
        for key, v in (packet.hdrgm.items() if packet is not None else []):
            value = v.value if v.value is not None else v.raw
            rows.append((name, key, _num(value), v.form))
    return Table("hdrgm XMP", ("image", "property", "value", "form"), tuple(rows)) if rows else None


def _iso_table(gmf: GainMapFile) -> Table | None:
    rows: list[tuple[str, ...]] = []
    for name, image in (("primary", gmf.primary), ("gain map", gmf.gainmap)):
        rec = image.iso if image is not None else None
        if rec is None:
            continue
        if rec.layout == "version-only":
            rows.append((name, "version block", f"minimum {rec.minimum_version}, writer {rec.writer_version}",
                         "", "", "", ""))
            continue
        rows.append((name, "headroom: base, alternate", f"{_frac(rec.base_hdr_headroom)}, "
                     f"{_frac(rec.alternate_hdr_headroom)}", "", "", "", ""))
        for i, ch in enumerate(rec.channels):
            rows.append((name, f"channel {i}", *(_frac(ch.get(k)) for k in CHANNEL_FIELDS)))
    if not rows:
        return None
    return Table("ISO 21496-1 (stored fractions and their values)",
                 ("image", "what", "gain min (log2)", "gain max (log2)", "gamma", "base offset",
                  "alternate offset"), tuple(rows))


def _apple_table(gmf: GainMapFile) -> Table | None:
    head = apple_headroom(gmf)
    if head is None:
        return None
    rows = [("headroom (linear)", f"{head.linear:.6g}"), ("headroom (stops)", f"{head.stops:.4g}"),
            ("from", head.source)]
    if head.maker_note_stops is not None:
        rows.append(("maker note (stops)", f"{head.maker_note_stops:.4g}"))
    return Table("Apple HDR headroom", ("what", "value"), tuple(rows))


def _effective_table(gmf: GainMapFile) -> Table | None:
    sources = gmf.metadata_sources()
    if not sources:
        return None
    names = ("gain_map_min", "gain_map_max", "gamma", "base_offset", "alternate_offset")
    rows = []
    for src, md in sources.items():
        for n in names:
            rows.append((src, n, _num(getattr(md, n))))
        rows.append((src, "headroom base / alternate",
                     f"{md.base_hdr_headroom:.6g} / {md.alternate_hdr_headroom:.6g}"))
    return Table("Gain-map parameters per form (log2 gains, as readers convert them)",
                 ("form", "parameter", "value"), tuple(rows))


# ------------------------------------------------------------------------------------------ entry point
def anatomy(gmf: GainMapFile, size: int) -> Anatomy:
    """The anatomy of ``gmf`` (read from ``size`` bytes)."""
    parts = tuple(_part_block(gmf, p) for p in gmf.parts)
    segments = tuple(b for im in gmf.images for b in _segment_blocks(gmf, im))
    tables = tuple(t for t in (_hdrgm_table(gmf), _iso_table(gmf), _apple_table(gmf), _effective_table(gmf))
                   if t is not None)
    return Anatomy(size, parts, segments, tuple(_pointers(gmf)), tables)


__all__ = ["Anatomy", "Block", "Pointer", "Table", "anatomy"]
