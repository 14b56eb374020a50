"""Faults in the primary's MPF segment (CIPA DC-007): MP entry fields, Index IFD tags, byte order, the
segment missing, doubled or misplaced."""

from __future__ import annotations

import random
import struct

from gainmap.formats import mpf
from gainmap.formats.jpeg import EOI
from gainmap.formats.scanner import Segment
from gainmap.testing.mutators.base import NotApplicable, Target, mutator, nonzero, segment_bounds


def _put(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def _mpf(t: Target) -> tuple[Segment, mpf.MpfInfo, str]:
    """The MPF segment, its record and its struct byte order."""
    seg, info = t.mpf()
    return seg, info, ">" if info.byte_order == "MM" else "<"


def _mpf_field(t: Target, index: int, offset: int) -> tuple[int, str, int]:
    """(absolute position, struct byte order, current value) of a u32 field of MP entry ``index``."""
    seg, info, e = _mpf(t)
    pos = seg.payload_offset + info.entries_offset + 16 * index + offset
    return pos, e, struct.unpack_from(e + "I", t.data, pos)[0]


@mutator("mpf-offset", "mpf")
def mpf_offset(t: Target, rng: random.Random):
    """Gain-map MP entry offset off by N: it no longer lands on the gain map's SOI."""
    pos, e, value = _mpf_field(t, 1, 8)
    n = nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    out = _put(t.data, pos, e + "I", value + n)
    return out, {"mpf.entry-offset"}, f"MP entry 1 offset {value} -> {value + n}"


@mutator("mpf-size", "mpf")
def mpf_size(t: Target, rng: random.Random):
    """Gain-map MP entry size off by N."""
    pos, e, value = _mpf_field(t, 1, 4)
    n = nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    _, info, _ = _mpf(t)
    base = t.seg("primary", "mpf").offset + 8
    beyond = base + info.entries[1].offset + value + n > len(t.data)
    ids = {"mpf.entry-beyond-eof" if beyond else "mpf.entry-size"}
    return _put(t.data, pos, e + "I", value + n), ids, f"MP entry 1 size {value} -> {value + n}"


@mutator("mpf-primary-size", "mpf")
def mpf_primary_size(t: Target, rng: random.Random):
    """Primary MP entry size off by N."""
    pos, e, value = _mpf_field(t, 0, 4)
    n = nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    return _put(t.data, pos, e + "I", value + n), {"mpf.entry-size"}, f"MP entry 0 size {value} -> {value + n}"


@mutator("mpf-primary-offset", "mpf")
def mpf_primary_offset(t: Target, rng: random.Random):
    """Primary MP entry offset not 0."""
    pos, e, _ = _mpf_field(t, 0, 8)
    n = rng.randint(1, 5000)
    return _put(t.data, pos, e + "I", n), {"mpf.primary-offset"}, f"MP entry 0 offset 0 -> {n}"


@mutator("mpf-byte-order", "mpf")
def mpf_byte_order(t: Target, rng: random.Random):
    """MPF byte-order mark damaged."""
    seg = t.seg("primary", "mpf")
    pos = seg.payload_offset + 4
    old = t.data[pos:pos + 4]
    choices = [b"MM\x2a\x00", b"II\x00\x2a", b"MI\x00\x2a", b"\x00\x00\x00\x00", b"IM\x2a\x00"]
    new = rng.choice([c for c in choices if c != old])
    return t.data[:pos] + new + t.data[pos + 4:], {"mpf.byte-order"}, f"mark {old.hex()} -> {new.hex()}"


@mutator("mpf-primary-type", "mpf")
def mpf_primary_type(t: Target, rng: random.Random):
    """First MP entry's type is not Baseline MP Primary."""
    pos, e, value = _mpf_field(t, 0, 0)
    new = (value & 0xFF000000) | rng.choice((0x000000, 0x010001, 0x020002))
    return _put(t.data, pos, e + "I", new), {"mpf.primary-type"}, f"entry 0 attribute {value:08X} -> {new:08X}"


@mutator("mpf-entry-format", "mpf")
def mpf_entry_format(t: Target, rng: random.Random):
    """An MP entry's image data format is not JPEG."""
    index = rng.choice((0, 1))
    pos, e, value = _mpf_field(t, index, 0)
    new = (value & ~(7 << 24)) | (rng.randint(1, 7) << 24)
    return _put(t.data, pos, e + "I", new), {"mpf.entry-format"}, f"entry {index} format -> {new >> 24 & 7}"


def _mpf_tag_pos(t: Target, tag: int) -> tuple[int, str, mpf.IfdTag]:
    seg, info, e = _mpf(t)
    found = info.tag(tag)
    if found is None:
        raise NotApplicable(f"no MPF tag {tag:04X}")
    return seg.payload_offset + found.entry_offset, e, found


@mutator("mpf-count", "mpf")
def mpf_count(t: Target, rng: random.Random):
    """NumberOfImages disagrees with the MPEntry array."""
    pos, e, tag = _mpf_tag_pos(t, mpf.TAG_NUMBER_OF_IMAGES)
    n = rng.choice((1, 3, 4, 7, 0x7FFF))
    return _put(t.data, pos + 8, e + "I", n), {"mpf.entry-count"}, f"NumberOfImages -> {n}"


@mutator("mpf-entry-count-oversized", "mpf")
def mpf_entry_count_oversized(t: Target, rng: random.Random):
    """MPEntry byte count far beyond the MPF data (and NumberOfImages to match)."""
    pos, e, _ = _mpf_tag_pos(t, mpf.TAG_MP_ENTRY)
    n = rng.choice((1 << 12, 1 << 20, (1 << 28) - 1))
    out = _put(t.data, pos + 4, e + "I", 16 * n)
    npos, _, _ = _mpf_tag_pos(t, mpf.TAG_NUMBER_OF_IMAGES)
    out = _put(out, npos + 8, e + "I", n)
    return out, {"mpf.entry-bounds"}, f"MPEntry count -> {16 * n} bytes ({n} entries)"


@mutator("mpf-version", "mpf")
def mpf_version(t: Target, rng: random.Random):
    """MPFVersion not "0100"."""
    pos, _, _ = _mpf_tag_pos(t, mpf.TAG_VERSION)
    new = rng.choice((b"0200", b"0000", b"\x00\x00\x00\x00", b"1000"))
    return t.data[:pos + 8] + new + t.data[pos + 12:], {"mpf.version"}, f"MPFVersion -> {new!r}"


@mutator("mpf-ifd-offset", "mpf")
def mpf_ifd_offset(t: Target, rng: random.Random):
    """First-IFD offset points outside the MPF data (oversized offset)."""
    seg, _, e = _mpf(t)
    n = rng.choice((len(seg.payload), 0xFFFF, 0x7FFFFFFF, 0xFFFFFFF0))
    return _put(t.data, seg.payload_offset + 8, e + "I", n), {"mpf.ifd-bounds"}, f"first IFD offset -> {n}"


@mutator("mpf-extra-entry", "mpf")
def mpf_extra_entry(t: Target, rng: random.Random):
    """A third MP entry whose offset points past the end of the file (NumberOfImages 3)."""
    gmf = t.fresh()
    seg = t.seg("primary", "mpf", gmf)
    info = gmf.primary.mpf
    if info is None or len(info.entries) != 2:
        raise NotApplicable("MPF does not hold exactly two entries")
    far = rng.choice((0x7FFFFFF0, len(t.data) * 2, 0xFFFFFF00))
    extra = mpf.MpEntry(mpf.TYPE_UNDEFINED, rng.randint(1, 1 << 20), far)
    seg.payload = mpf.build_mpf(mpf.MpfInfo(byte_order=info.byte_order, entries=[*info.entries, extra]))
    gmf.mpf_links = [*gmf.mpf_links[:2], None]
    return gmf.to_bytes(recompute=True), {"mpf.entry-offset"}, f"third entry at T+{far}"


@mutator("mpf-missing", "mpf")
def mpf_missing(t: Target, rng: random.Random):
    """The MPF segment removed."""
    seg = t.seg("primary", "mpf")
    start, end = segment_bounds(seg)
    return t.data[:start] + t.data[end:], {"mpf.missing"}, f"removed MPF at {start}"


@mutator("mpf-duplicate", "mpf")
def mpf_duplicate(t: Target, rng: random.Random):
    """The MPF segment written twice."""
    gmf = t.fresh()
    seg = t.seg("primary", "mpf", gmf)
    gmf.primary.items.insert(gmf.primary.index_of(seg) + 1, Segment(seg.marker, seg.payload))
    return gmf.to_bytes(recompute=True), {"mpf.duplicate"}, "second MPF after the first"


@mutator("mpf-after-sos", "mpf")
def mpf_after_sos(t: Target, rng: random.Random):
    """The MPF segment moved after the primary's scans (before EOI), offsets recomputed."""
    gmf = t.fresh()
    seg = t.seg("primary", "mpf", gmf)
    im = gmf.primary
    if not im.complete or not isinstance(im.items[-1], Segment) or im.items[-1].marker != EOI:
        raise NotApplicable("primary without EOI")
    im.remove(seg)
    im.items.insert(len(im.items) - 1, seg)
    return gmf.to_bytes(recompute=True), {"mpf.after-sos"}, "MPF moved before EOI"
