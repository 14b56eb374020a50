"""Structurally targeted faults: each mutator breaks one thing in a valid gain-map file and says which finding
ids (``specs/checks.toml``) our validator reports for the result.

A mutator takes the bytes of a valid file and a :class:`random.Random` and returns a :class:`Mutation`, or
raises :class:`NotApplicable` when the file lacks the structure it breaks (no ISO block, no XMP...).  The
advertised ``expected`` ids are the ones ``gainmap check`` is guaranteed to report for that fault (the test
suite verifies every mutator on generated files); other findings may come along with them.  Untargeted
byte-level damage (:func:`havoc`) carries no expected ids.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gainmap.formats import icc as icc_schema
from gainmap.formats import iso21496, mpf, xmp
from gainmap.formats.jpeg import EOI, SOI
from gainmap.formats.located import Span, span
from gainmap.formats.scanner import Segment
from gainmap.model.container import GainMapFile, Gap, JpegImage
from gainmap.model.reader import read


class NotApplicable(Exception):
    """The file lacks the structure this mutator breaks."""


@dataclass(frozen=True)
class Mutation:
    """A mutated file, the mutator that made it, and the finding ids our validator reports for it."""

    name: str
    data: bytes
    expected: frozenset[str] = field(default_factory=frozenset)
    note: str = ""


MutatorFn = Callable[["Target", random.Random], tuple[bytes, Iterable[str], str]]


@dataclass(frozen=True)
class Mutator:
    """A registered mutator: ``name``, the function, the family of structure it hits, and its doc line."""

    name: str
    fn: MutatorFn
    family: str
    doc: str

    def __call__(self, data: bytes, rng: random.Random | int | None = None) -> Mutation:
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        out, ids, note = self.fn(Target(data), rng)
        return Mutation(self.name, bytes(out), frozenset(ids), note)


MUTATORS: dict[str, Mutator] = {}


def mutator(name: str, family: str) -> Callable[[MutatorFn], MutatorFn]:
    def register(fn: MutatorFn) -> MutatorFn:
        MUTATORS[name] = Mutator(name, fn, family, (fn.__doc__ or "").strip().splitlines()[0])
        return fn
    return register


# ---------------------------------------------------------------------------------------------- target
class Target:
    """A valid file to break: its bytes and a parsed model (re-read on demand for model edits)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.gmf = read(self.data)

    def fresh(self) -> GainMapFile:
        """A new model of the same bytes, safe to edit."""
        return read(self.data)

    def image(self, which: str, gmf: GainMapFile | None = None) -> JpegImage:
        gmf = gmf or self.gmf
        im = gmf.primary if which == "primary" else gmf.gainmap
        if im is None:
            raise NotApplicable("no gain-map image")
        return im

    def seg(self, which: str, kind: str, gmf: GainMapFile | None = None, *, header_only: bool = True) -> Segment:
        seg = self.image(which, gmf).first(kind, header_only=header_only)
        if seg is None:
            raise NotApplicable(f"no {kind} segment in the {which}")
        return seg

    def mpf(self) -> tuple[Segment, mpf.MpfInfo, str]:
        seg = self.seg("primary", "mpf")
        info = self.gmf.primary.mpf
        if info is None or info.entries_offset is None or len(info.entries) < 2:
            raise NotApplicable("no readable MPF with two entries")
        return seg, info, ">" if info.byte_order == "MM" else "<"

    def mpf_field(self, index: int, offset: int) -> tuple[int, str, int]:
        """(absolute position, struct byte order, current value) of a u32 field of MP entry ``index``."""
        seg, info, e = self.mpf()
        pos = seg.payload_offset + info.entries_offset + 16 * index + offset
        return pos, e, struct.unpack_from(e + "I", self.data, pos)[0]

    def iso_full(self) -> tuple[Segment, iso21496.IsoRecord]:
        seg = self.seg("gainmap", "iso21496")
        rec = self.image("gainmap").iso
        if rec is None or rec.layout != "full" or not rec.channels:
            raise NotApplicable("no full ISO 21496-1 block in the gain map")
        return seg, rec

    def hdrgm_packet(self) -> tuple[Segment, bytes]:
        seg = self.seg("gainmap", "xmp")
        pkt = self.image("gainmap").xmp
        if pkt is None or not pkt.well_formed or "GainMapMax" not in pkt.hdrgm:
            raise NotApplicable("no hdrgm parameters in the gain map")
        return seg, pkt.packet


def _span(seg: Segment) -> tuple[int, int]:
    start = seg.offset - seg.fill
    return start, start + seg.size


def _put(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def _overwrite(data: bytes, where: Span, new: bytes) -> bytes:
    """``data`` with the bytes at ``where`` replaced by ``new`` (of the same length)."""
    if len(new) != where.length:
        raise ValueError(f"{len(new)} bytes cannot replace the {where.length} at {where.offset}")
    return data[:where.offset] + new + data[where.end:]


def _nonzero(rng: random.Random, lo: int, hi: int) -> int:
    n = rng.randint(lo, hi)
    return n if rng.random() < 0.5 else -n


def _app_segments(im: JpegImage) -> list[Segment]:
    return [s for s in im.header_segments() if 0xE0 <= s.marker <= 0xEF or s.marker == 0xFE]


# ---------------------------------------------------------------------------------------------- MPF
@mutator("mpf-offset", "mpf")
def mpf_offset(t: Target, rng: random.Random):
    """Gain-map MP entry offset off by N: it no longer lands on the gain map's SOI."""
    pos, e, value = t.mpf_field(1, 8)
    n = _nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    out = _put(t.data, pos, e + "I", value + n)
    return out, {"mpf.entry-offset"}, f"MP entry 1 offset {value} -> {value + n}"


@mutator("mpf-size", "mpf")
def mpf_size(t: Target, rng: random.Random):
    """Gain-map MP entry size off by N."""
    pos, e, value = t.mpf_field(1, 4)
    n = _nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    _, info, _ = t.mpf()
    base = t.seg("primary", "mpf").offset + 8
    beyond = base + info.entries[1].offset + value + n > len(t.data)
    ids = {"mpf.entry-beyond-eof" if beyond else "mpf.entry-size"}
    return _put(t.data, pos, e + "I", value + n), ids, f"MP entry 1 size {value} -> {value + n}"


@mutator("mpf-primary-size", "mpf")
def mpf_primary_size(t: Target, rng: random.Random):
    """Primary MP entry size off by N."""
    pos, e, value = t.mpf_field(0, 4)
    n = _nonzero(rng, 1, 200)
    if value + n <= 0:
        n = -n
    return _put(t.data, pos, e + "I", value + n), {"mpf.entry-size"}, f"MP entry 0 size {value} -> {value + n}"


@mutator("mpf-primary-offset", "mpf")
def mpf_primary_offset(t: Target, rng: random.Random):
    """Primary MP entry offset not 0."""
    pos, e, _ = t.mpf_field(0, 8)
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
    pos, e, value = t.mpf_field(0, 0)
    new = (value & 0xFF000000) | rng.choice((0x000000, 0x010001, 0x020002))
    return _put(t.data, pos, e + "I", new), {"mpf.primary-type"}, f"entry 0 attribute {value:08X} -> {new:08X}"


@mutator("mpf-entry-format", "mpf")
def mpf_entry_format(t: Target, rng: random.Random):
    """An MP entry's image data format is not JPEG."""
    index = rng.choice((0, 1))
    pos, e, value = t.mpf_field(index, 0)
    new = (value & ~(7 << 24)) | (rng.randint(1, 7) << 24)
    return _put(t.data, pos, e + "I", new), {"mpf.entry-format"}, f"entry {index} format -> {new >> 24 & 7}"


def _mpf_tag_pos(t: Target, tag: int) -> tuple[int, str, mpf.IfdTag]:
    seg, info, e = t.mpf()
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
    seg, _, e = t.mpf()
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
    start, end = _span(seg)
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


# ---------------------------------------------------------------------------------------------- JPEG
def _pick_app(t: Target, rng: random.Random, which: str | None = None) -> tuple[str, Segment]:
    which = which or rng.choice(("primary", "gainmap"))
    segs = _app_segments(t.image(which))
    if not segs:
        raise NotApplicable(f"no APPn/COM segment in the {which}")
    return which, rng.choice(segs)


@mutator("segment-length-short", "jpeg")
def segment_length_short(t: Target, rng: random.Random):
    """An APPn segment's length field N bytes too small: its tail is left where a marker should be."""
    which, seg = _pick_app(t, rng)
    plen = len(seg.payload)
    if plen < 2:
        raise NotApplicable("payload too short")
    for _ in range(8):
        n = rng.randint(1, min(plen - 1, 64))
        new_end = seg.payload_offset + plen - n
        if t.data[new_end] != 0xFF:
            out = _put(t.data, seg.offset + 2, ">H", plen + 2 - n)
            return out, {"jpeg.garbage"}, f"{which} {seg.name} length -{n}"
    raise NotApplicable("no cut point that is not FF")


@mutator("segment-length-long", "jpeg")
def segment_length_long(t: Target, rng: random.Random):
    """An APPn segment's length field N bytes too large: the next marker is swallowed."""
    which, seg = _pick_app(t, rng)
    plen = len(seg.payload)
    for _ in range(8):
        n = rng.randint(1, 64)
        new_end = seg.payload_offset + plen + n
        if plen + n + 2 <= 0xFFFF and new_end < len(t.data) and t.data[new_end] != 0xFF:
            out = _put(t.data, seg.offset + 2, ">H", plen + 2 + n)
            return out, {"jpeg.garbage"}, f"{which} {seg.name} length +{n}"
    raise NotApplicable("no lengthening that lands on a non-FF byte")


@mutator("segment-length-oversized", "jpeg")
def segment_length_oversized(t: Target, rng: random.Random):
    """A segment length past the end of the file, or below 2."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    left = len(t.data) - seg.offset - 2
    new = rng.choice((0, 1) if left >= 0xFFFF else (0, 1, 0xFFFF, max(left + 1, 2)))
    if 2 <= new <= left:
        new = 0
    return _put(t.data, seg.offset + 2, ">H", new), {"jpeg.segment-length"}, f"gain map {seg.name} length {new}"


@mutator("truncate-gainmap", "jpeg")
def truncate_gainmap(t: Target, rng: random.Random):
    """The file cut inside the gain map's entropy-coded data (its EOI lost)."""
    gm = t.image("gainmap")
    scans = gm.scans()
    if not scans or not scans[-1].ecs:
        raise NotApplicable("gain map without entropy-coded data")
    first = scans[0]
    lo = first.offset + 4 + len(first.payload) + 1
    hi = gm.end - 2
    if hi <= lo:
        raise NotApplicable("gain-map data too short")
    cut = rng.randint(lo, hi - 1)
    return t.data[:cut], {"jpeg.missing-eoi"}, f"cut at {cut} of {len(t.data)}"


@mutator("truncate-header", "jpeg")
def truncate_header(t: Target, rng: random.Random):
    """The file cut inside one of the gain map's header segments."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length and len(s.payload) > 1]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    cut = rng.randint(seg.payload_offset + 1, seg.payload_offset + len(seg.payload) - 1)
    return t.data[:cut], {"jpeg.segment-length"}, f"cut inside {seg.name} at {cut}"


@mutator("truncate-marker", "jpeg")
def truncate_marker(t: Target, rng: random.Random):
    """The file cut right after the FF of a gain-map marker, or inside a length field."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    cut = seg.offset + rng.choice((1, 3))
    return t.data[:cut], {"jpeg.truncated"}, f"cut at {cut} in the {seg.name} marker"


@mutator("truncate-primary", "jpeg")
def truncate_primary(t: Target, rng: random.Random):
    """The file cut inside one of the primary's scans: the gain map and EOI are gone."""
    scans = [s for s in t.gmf.primary.scans() if s.ecs and len(s.ecs) > 2]
    if not scans:
        raise NotApplicable("primary without entropy-coded data")
    scan = rng.choice(scans)
    start = scan.offset + 4 + len(scan.payload)
    cut = rng.randint(start + 1, start + len(scan.ecs) - 1)
    return t.data[:cut], {"jpeg.missing-eoi"}, f"cut at {cut} of {len(t.data)}"


@mutator("fill-after-soi", "jpeg")
def fill_after_soi(t: Target, rng: random.Random):
    """FF fill bytes between the primary's SOI and its first marker (offsets recomputed)."""
    gmf = t.fresh()
    first = next((i for i in gmf.primary.items[1:] if isinstance(i, Segment)), None)
    if first is None:
        raise NotApplicable("primary without segments")
    first.fill = rng.randint(1, 4)
    return gmf.to_bytes(recompute=True), {"jpeg.fill-after-soi"}, f"{first.fill} fill byte(s) after SOI"


@mutator("duplicate-soi", "jpeg")
def duplicate_soi(t: Target, rng: random.Random):
    """A second SOI marker inside the gain map (offsets recomputed)."""
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    at = rng.randint(1, max(1, len(gm.header_segments()) - 1))
    gm.items.insert(at, Segment(SOI))
    return gmf.to_bytes(recompute=True), {"jpeg.unexpected-soi"}, f"SOI inserted as item {at} of the gain map"


@mutator("swap-sof-sos", "jpeg")
def swap_sof_sos(t: Target, rng: random.Random):
    """The gain map's frame header moved after its first scan: it no longer decodes."""
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    sof = gm.frame_segment
    scans = gm.scans()
    if sof is None or not scans:
        raise NotApplicable("gain map without frame or scan")
    gm.remove(sof)
    gm.items.insert(gm.index_of(scans[0]) + 1, sof)
    return gmf.to_bytes(recompute=True), {"gainmap.decode"}, "SOF moved after the first SOS"


@mutator("junk-between", "layout")
def junk_between(t: Target, rng: random.Random):
    """Bytes between the primary's EOI and the gain map's SOI (MPF recomputed to match)."""
    gmf = t.fresh()
    n = rng.randint(1, 256)
    junk = bytes(rng.choice(b"\x00 abcdefgh") for _ in range(n))
    gmf.parts.insert(1, Gap(junk, kind="junk"))
    return gmf.to_bytes(recompute=True), {"layout.junk-between-images"}, f"{n} junk bytes after the primary"


@mutator("junk-between-stale", "layout")
def junk_between_stale(t: Target, rng: random.Random):
    """Bytes inserted between the images without updating MPF (its offset now misses)."""
    t.mpf()
    end = t.gmf.primary.end
    n = rng.randint(1, 256)
    junk = b"\x00" * n
    return (t.data[:end] + junk + t.data[end:], {"layout.junk-between-images", "mpf.entry-offset"},
            f"{n} zero bytes at {end}")


# ---------------------------------------------------------------------------------------------- XMP
def _replace_payload(t: Target, seg: Segment, payload: bytes) -> bytes:
    """``seg`` (a segment of ``t.gmf``) with a new payload; MPF sizes and offsets recomputed (one fault only)."""
    if len(payload) > 65533:
        raise NotApplicable("payload too large for one segment")
    gmf = t.fresh()
    twin = next(item for _, item in gmf.walk() if isinstance(item, Segment) and item.offset == seg.offset)
    twin.payload = payload
    return gmf.to_bytes(recompute=True)


def _edit_gainmap_xmp(t: Target, packet: bytes) -> bytes:
    """Replace the gain map's XMP packet and recompute MPF offsets and Item:Length."""
    gmf = t.fresh()
    seg = t.seg("gainmap", "xmp", gmf)
    if len(packet) > xmp.MAX_APP1_PACKET:
        raise NotApplicable("packet too large")
    seg.payload = xmp.XMP_IDENT + packet
    return gmf.to_bytes(recompute=True)


@mutator("xmp-iso-mismatch", "sync")
def xmp_iso_mismatch(t: Target, rng: random.Random):
    """hdrgm XMP and ISO 21496-1 disagree (one hdrgm value moved; the values stay valid)."""
    t.iso_full()
    seg, packet = t.hdrgm_packet()
    values = t.image("gainmap").xmp.hdrgm_values()
    name = rng.choice(("GainMapMax", "HDRCapacityMax", "Gamma"))
    old = values.get(name)
    if not isinstance(old, float):
        raise NotApplicable(f"hdrgm:{name} is not a single value")
    bump = rng.choice((0.5, 1.0, 2.0, 3.0))
    new = {**values, name: old + bump}
    if name == "GainMapMax" and not values.get("BaseRenditionIsHDR"):
        new["HDRCapacityMax"] = max(float(values["HDRCapacityMax"]), old + bump)
    new.pop("Version", None)
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {"Version": "1.0", **new}))
    return out, {"sync.mismatch"}, f"hdrgm:{name} {old} -> {old + bump}"


@mutator("hdrgm-min-gt-max", "hdrgm")
def hdrgm_min_gt_max(t: Target, rng: random.Random):
    """hdrgm GainMapMin above GainMapMax."""
    seg, packet = t.hdrgm_packet()
    values = t.image("gainmap").xmp.hdrgm_values()
    top = values.get("GainMapMax")
    if not isinstance(top, float):
        raise NotApplicable("GainMapMax is per channel")
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {**values, "GainMapMin": top + rng.choice((0.25, 1, 4))}))
    return out, {"hdrgm.min-max"}, "GainMapMin > GainMapMax"


@mutator("hdrgm-gamma-zero", "hdrgm")
def hdrgm_gamma_zero(t: Target, rng: random.Random):
    """hdrgm Gamma 0 or negative."""
    seg, packet = t.hdrgm_packet()
    values = t.image("gainmap").xmp.hdrgm_values()
    gamma = rng.choice((0.0, -1.0))
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {**values, "Gamma": gamma}))
    return out, {"hdrgm.gamma"}, f"Gamma {gamma}"


def _set_attribute_text(packet: bytes, name: str, text: str) -> bytes:
    """Set ``hdrgm:name`` to raw ``text`` in an attribute-form packet (no validation)."""
    key = f'hdrgm:{name}="'.encode()
    at = packet.find(key)
    if at < 0:
        raise NotApplicable(f"hdrgm:{name} is not an attribute")
    start = at + len(key)
    end = packet.index(b'"', start)
    return packet[:start] + text.encode() + packet[end:]


@mutator("hdrgm-nan", "hdrgm")
def hdrgm_nan(t: Target, rng: random.Random):
    """A NaN-producing hdrgm value ("NaN", "inf", "1e999", empty, text)."""
    seg, packet = t.hdrgm_packet()
    name = rng.choice(("GainMapMax", "Gamma", "HDRCapacityMax", "OffsetSDR"))
    text = rng.choice(("NaN", "nan", "inf", "-inf", "1e999", "", "1.0.0", "0x10"))
    out = _edit_gainmap_xmp(t, _set_attribute_text(packet, name, text))
    return out, {"hdrgm.value"}, f"hdrgm:{name}={text!r}"


@mutator("container-length", "container")
def container_length(t: Target, rng: random.Random):
    """GContainer Item:Length off by N (MPF kept right)."""
    gmf = t.fresh()
    seg = t.seg("primary", "xmp", gmf)
    pkt = gmf.primary.xmp
    if pkt is None or not pkt.container_items or gmf.gainmap is None:
        raise NotApplicable("no GContainer directory")
    n = _nonzero(rng, 1, 500)
    length = max(1, gmf.gainmap.size + n)
    seg.payload = xmp.wrap_app1(xmp.set_container_directory(pkt.packet, length))
    gmf.update_mpf()
    return gmf.to_bytes(recompute=False), {"container.item-length"}, f"Item:Length {gmf.gainmap.size} -> {length}"


@mutator("xmp-malformed", "xmp")
def xmp_malformed(t: Target, rng: random.Random):
    """An XMP packet that is not well-formed XML (cut short, or a stray '<')."""
    which = rng.choice(("primary", "gainmap"))
    seg = t.seg(which, "xmp")
    packet = seg.payload[len(xmp.XMP_IDENT):]
    if rng.random() < 0.5:
        bad = packet[: rng.randint(1, max(1, len(packet) // 2))]
    else:
        at = packet.index(b">") + 1
        bad = packet[:at] + b"<<" + packet[at:]
    return _replace_payload(t, seg, xmp.XMP_IDENT + bad), {"xmp.malformed"}, f"{which} XMP broken"


@mutator("xmp-deep", "xmp")
def xmp_deep(t: Target, rng: random.Random):
    """Deeply nested XML inside the gain map's rdf:Description (beyond the parser's depth limit)."""
    seg, packet = t.hdrgm_packet()
    depth = rng.choice((xmp.MAX_DEPTH + 1, 200, 2000, 9000))  # 9000 still fits one APP1
    nest = b"<a>" * depth + b"x" + b"</a>" * depth
    wrapped = b'<gmtest:Deep xmlns:gmtest="urn:gainmap:testing:1.0/">' + nest + b"</gmtest:Deep>"
    at = packet.rindex(b"</rdf:Description>") if b"</rdf:Description>" in packet else -1
    if at < 0:
        at = packet.rindex(b"/>")
        closing = packet[at:at + 2]
        packet = packet[:at] + b">" + wrapped + b"</rdf:Description>" + packet[at + len(closing):]
    else:
        packet = packet[:at] + wrapped + packet[at:]
    return _replace_payload(t, seg, xmp.XMP_IDENT + packet), {"xmp.limit"}, f"nesting depth {depth}"


_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [\n <!ENTITY lol "lol">\n'
           + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>\n")
_XXE = b'<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'


@mutator("xmp-entities", "xmp")
def xmp_entities(t: Target, rng: random.Random):
    """Hostile XML: a billion-laughs or external-entity DOCTYPE before the gain map's packet."""
    seg, packet = t.hdrgm_packet()
    kind = rng.choice(("laughs", "xxe"))
    head = _LAUGHS if kind == "laughs" else _XXE
    ref = b"&lol9;" if kind == "laughs" else b"&xxe;"
    body = packet.replace(b'rdf:about=""', b'rdf:about="' + ref + b'"', 1)
    return _replace_payload(t, seg, xmp.XMP_IDENT + head + body), {"xmp.doctype"}, f"{kind} DOCTYPE"


@mutator("swap-xmp", "hdrgm")
def swap_xmp(t: Target, rng: random.Random):
    """The primary's and the gain map's XMP packets swapped."""
    gmf = t.fresh()
    a, b = t.seg("primary", "xmp", gmf), t.seg("gainmap", "xmp", gmf)
    pkt = gmf.gainmap.xmp
    if pkt is None or "GainMapMax" not in pkt.hdrgm:
        raise NotApplicable("no hdrgm parameters in the gain map")
    a.payload, b.payload = b.payload, a.payload
    return gmf.to_bytes(recompute=True), {"hdrgm.required", "hdrgm.params-in-primary"}, "XMP swapped"


@mutator("xmp-duplicate", "xmp")
def xmp_duplicate(t: Target, rng: random.Random):
    """The gain map's standard XMP packet written twice."""
    gmf = t.fresh()
    seg = t.seg("gainmap", "xmp", gmf)
    gmf.gainmap.items.insert(gmf.gainmap.index_of(seg) + 1, Segment(seg.marker, seg.payload))
    return gmf.to_bytes(recompute=True), {"xmp.duplicate"}, "second XMP packet in the gain map"


@mutator("extended-xmp-length", "xmp")
def extended_xmp_length(t: Target, rng: random.Random):
    """ExtendedXMP chunk declaring an oversized full length."""
    segs = [s for s in t.gmf.primary.header_segments() if s.kind == "extended_xmp"]
    if not segs:
        raise NotApplicable("no ExtendedXMP")
    seg = rng.choice(segs)
    n = rng.choice((0xFFFFFFFF, 1 << 30, 1 << 24))
    pos = seg.payload_offset + len(xmp.EXT_XMP_IDENT) + 32
    return _put(t.data, pos, ">I", n), {"xmp.extended-coverage"}, f"ExtendedXMP full length -> {n}"


# ---------------------------------------------------------------------------------------------- ISO
def _iso_set(data: bytes, seg: Segment, rec: iso21496.IsoRecord, path: str, value: int) -> bytes:
    """``data`` with field ``path`` of the ISO block in ``seg`` set to ``value``, in place."""
    return _overwrite(data, span(rec, path).shifted(seg.payload_offset), iso21496.encode_field(rec, path, value))


@mutator("iso-reserved-flags", "iso")
def iso_reserved_flags(t: Target, rng: random.Random):
    """Reserved ISO 21496-1 flag bits set (bit 2 is the legacy backward direction)."""
    seg, rec = t.iso_full()
    bits = 0
    while not bits:
        bits = rng.randint(1, 0x3F) & ~0x08 if rng.random() < 0.5 else rng.choice((0x01, 0x02, 0x04, 0x10, 0x20))
    out = _iso_set(t.data, seg, rec, "flags", (rec.flags or 0) | bits)
    ids = set()
    if bits & 0x3B:
        ids.add("iso.reserved-flags")
    if bits & 0x04:
        ids.add("iso.legacy-backward")
    return out, ids, f"flags |= 0x{bits:02X}"


def _iso_path(name: str, channel: int = 0) -> str:
    """The field path of one ISO fraction: a headroom, or a per-channel value."""
    return name if name.endswith("_headroom") else f"channels[{channel}].{name}"


@mutator("iso-zero-denominator", "iso")
def iso_zero_denominator(t: Target, rng: random.Random):
    """An ISO 21496-1 fraction with denominator 0."""
    seg, rec = t.iso_full()
    name = rng.choice(("base_hdr_headroom", "alternate_hdr_headroom", *iso21496.CHANNEL_FIELDS))
    channel = rng.randrange(len(rec.channels))
    out = _iso_set(t.data, seg, rec, _iso_path(name, channel) + ".d", 0)
    return out, {"iso.zero-denominator"}, f"{name}[{channel}] denominator 0"


@mutator("iso-overflow", "iso")
def iso_overflow(t: Target, rng: random.Random):
    """NaN/inf-producing ISO values: a huge log2 gain or headroom whose ratio overflows."""
    seg, rec = t.iso_full()
    name = rng.choice(("gain_map_max", "alternate_hdr_headroom"))
    if name == "alternate_hdr_headroom" and rec.base_hdr_headroom and rec.base_hdr_headroom[0] > 0:
        name = "gain_map_max"
    out = t.data
    for channel in range(len(rec.channels)) if name == "gain_map_max" else (0,):
        path = _iso_path(name, channel)
        out = _iso_set(out, seg, rec, path + ".n", 0x7FFFFFFF)
        out = _iso_set(out, seg, rec, path + ".d", rng.choice((1, 2, 3)))
    return out, {"iso.non-finite"}, f"{name} = 2^31-1 / small"


@mutator("iso-min-gt-max", "iso")
def iso_min_gt_max(t: Target, rng: random.Random):
    """ISO gain_map_min above gain_map_max in one channel."""
    seg, rec = t.iso_full()
    channel = rng.randrange(len(rec.channels))
    n, d = rec.channels[channel]["gain_map_max"]
    if d == 0:
        raise NotApplicable("zero denominator")
    new = min(n + rng.randint(1, 4) * d, 0x7FFFFFFF)
    path = _iso_path("gain_map_min", channel)
    out = _iso_set(_iso_set(t.data, seg, rec, path + ".n", new), seg, rec, path + ".d", d)
    return out, {"iso.min-max"}, f"min[{channel}] > max"


@mutator("iso-gamma-zero", "iso")
def iso_gamma_zero(t: Target, rng: random.Random):
    """ISO gamma 0 in one channel."""
    seg, rec = t.iso_full()
    channel = rng.randrange(len(rec.channels))
    return _iso_set(t.data, seg, rec, _iso_path("gamma", channel) + ".n", 0), {"iso.gamma"}, f"gamma[{channel}] = 0"


@mutator("iso-headroom-equal", "iso")
def iso_headroom_equal(t: Target, rng: random.Random):
    """ISO base and alternate headrooms equal."""
    seg, rec = t.iso_full()
    base = span(rec, "base_hdr_headroom").shifted(seg.payload_offset)
    alternate = span(rec, "alternate_hdr_headroom").shifted(seg.payload_offset)
    src = t.data[base.offset:base.end] if rng.random() < 0.5 else t.data[alternate.offset:alternate.end]
    return _overwrite(_overwrite(t.data, base, src), alternate, src), {"iso.headroom-equal"}, "headrooms equal"


@mutator("iso-min-version", "iso")
def iso_min_version(t: Target, rng: random.Random):
    """ISO 21496-1 minimum_version not 0 (in the gain map's block)."""
    seg, rec = t.iso_full()
    v = rng.randint(1, 0xFFFF)
    return _iso_set(t.data, seg, rec, "minimum_version", v), {"iso.min-version"}, f"minimum_version {v}"


@mutator("iso-short", "iso")
def iso_short(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block cut short (segment length kept consistent)."""
    seg, rec = t.iso_full()
    body = span(rec, "metadata")
    keep = rng.randint(5, body.length - 1)
    if rec.flags is not None and rec.flags & iso21496.FLAG_LEGACY_COMMON_DENOMINATOR and keep in (37, 77):
        keep -= 1
    out = _replace_payload(t, seg, seg.payload[:body.offset + keep])
    return out, {"iso.length"}, f"ISO block {body.length} -> {keep} bytes"


@mutator("iso-primary-missing", "iso")
def iso_primary_missing(t: Target, rng: random.Random):
    """The primary's ISO 21496-1 version block removed."""
    t.iso_full()
    gmf = t.fresh()
    gmf.primary.remove(t.seg("primary", "iso21496", gmf))
    return gmf.to_bytes(recompute=True), {"iso.primary-missing"}, "version block removed"


@mutator("iso-gainmap-missing", "iso")
def iso_gainmap_missing(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block removed (the primary still announces it)."""
    t.seg("primary", "iso21496")
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    gm.remove(t.seg("gainmap", "iso21496", gmf))
    return gmf.to_bytes(recompute=True), {"iso.gainmap-missing"}, "gain-map ISO block removed"


@mutator("iso-duplicate", "iso")
def iso_duplicate(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block written twice."""
    t.iso_full()
    gmf = t.fresh()
    seg = t.seg("gainmap", "iso21496", gmf)
    gmf.gainmap.items.insert(gmf.gainmap.index_of(seg) + 1, Segment(seg.marker, seg.payload))
    return gmf.to_bytes(recompute=True), {"iso.duplicate"}, "second ISO block in the gain map"


# ---------------------------------------------------------------------------------------------- ICC
def _icc_seg(t: Target) -> Segment:
    segs = [s for s in t.gmf.primary.header_segments() if s.kind == "icc"]
    if not segs:
        raise NotApplicable("no ICC profile in the primary")
    return segs[0]


@mutator("icc-chunk-count", "icc")
def icc_chunk_count(t: Target, rng: random.Random):
    """ICC chunk declaring a chunk count of 0."""
    seg = _icc_seg(t)
    out = bytearray(t.data)
    out[seg.payload_offset + len(icc_schema.ICC_IDENT) + 1] = 0
    return bytes(out), {"icc.chunk-count"}, "chunk count 0"


@mutator("icc-chunk-index", "icc")
def icc_chunk_index(t: Target, rng: random.Random):
    """ICC chunk sequence number 0 or above the count."""
    seg = _icc_seg(t)
    pos = seg.payload_offset + len(icc_schema.ICC_IDENT)
    count = t.data[pos + 1]
    index = rng.choice((0, count + 1, 255)) if count < 255 else 0
    out = bytearray(t.data)
    out[pos] = index
    return bytes(out), {"icc.chunk-index"}, f"sequence number {index} of {count}"


@mutator("icc-header", "icc")
def icc_header(t: Target, rng: random.Random):
    """ICC profile whose header is damaged (the 'acsp' signature)."""
    seg = _icc_seg(t)
    pos = seg.payload_offset + len(icc_schema.ICC_IDENT) + 2 + 36
    if t.data[pos:pos + 4] != b"acsp":
        raise NotApplicable("first chunk does not hold the header")
    return t.data[:pos] + b"xxxx" + t.data[pos + 4:], {"icc.header"}, "signature 'acsp' -> 'xxxx'"


@mutator("icc-size", "icc")
def icc_size(t: Target, rng: random.Random):
    """ICC header size field differs from the profile data."""
    seg = _icc_seg(t)
    pos = seg.payload_offset + len(icc_schema.ICC_IDENT) + 2
    (size,) = struct.unpack_from(">I", t.data, pos)
    new = size + _nonzero(rng, 1, 1000)
    return _put(t.data, pos, ">I", max(new, 129)), {"icc.size"}, f"profile size {size} -> {new}"


# ---------------------------------------------------------------------------------------------- API
def applicable(data: bytes) -> list[str]:
    """Names of the mutators that apply to ``data`` (each tried once with a fixed seed)."""
    out = []
    for name, m in MUTATORS.items():
        try:
            m(data, 0)
        except NotApplicable:
            continue
        out.append(name)
    return out


def mutate(data: bytes, rng: random.Random | int | None = None, names: Iterable[str] | None = None,
           ) -> Mutation:
    """Apply one randomly chosen applicable mutator (from ``names``, default all); NotApplicable if none fits."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    pool = list(names) if names is not None else list(MUTATORS)
    rng.shuffle(pool)
    target = Target(data)
    for name in pool:
        m = MUTATORS[name]
        try:
            out, ids, note = m.fn(target, rng)
        except NotApplicable:
            continue
        return Mutation(name, bytes(out), frozenset(ids), note)
    raise NotApplicable("no mutator applies to this file")


def havoc(data: bytes, rng: random.Random | int | None = None, rounds: int | None = None) -> bytes:
    """Untargeted damage: random byte flips, interesting values, insertions, deletions, block copies."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    out = bytearray(data)
    interesting = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2)
    for _ in range(rounds or rng.randint(1, 8)):
        if not out:
            out += b"\xff\xd8"
        pos = rng.randrange(len(out))
        op = rng.randrange(8)
        if op == 0:
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[pos] = rng.choice(interesting)
        elif op == 2:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3:
            del out[pos:pos + rng.randint(1, 64)]
        elif op == 4:
            src = rng.randrange(len(out))
            block = out[src:src + rng.randint(1, 256)]
            out[pos:pos] = block
        elif op == 5:
            width = rng.choice((2, 4))
            value = rng.choice((0, 1, 2, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)))
            out[pos:pos + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, rng.choice(("big", "little")))
        elif op == 6:
            out[pos:pos] = b"\xff" + bytes((rng.choice((0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xC0, 0xC4, 0xDB, 0x00)),))
        else:
            del out[pos:]
    return bytes(out)


def splice(a: bytes, b: bytes, rng: random.Random | int | None = None) -> bytes:
    """The head of one file joined to the tail of another (cuts at random points)."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    return a[: rng.randint(0, len(a))] + b[rng.randint(0, len(b)):]


__all__ = ["MUTATORS", "Mutation", "Mutator", "NotApplicable", "Target", "applicable", "havoc", "mutate",
           "splice"]
