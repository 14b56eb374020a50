"""MPF (CIPA DC-007 Multi-Picture Format) in APP2, plus the TIFF pieces it shares with Exif.

Payload = ``b"MPF\\0"`` + a little TIFF file: header (byte order, first IFD offset), the MP Index IFD
(B000 version, B001 NumberOfImages, B002 MPEntry, optional B003/B004), an optional MP Attribute IFD and a
value area holding the 16-byte MP Entry array.  Every offset inside it, MP Entry offsets included, counts
from the TIFF header, i.e. from payload offset 4 (:data:`TIFF_BASE`).

Problem codes (offsets relative to the payload):
``mpf.byte-order`` ``mpf.ifd-bounds`` ``mpf.tag-order`` ``mpf.unknown-tag`` ``mpf.tag-type``
``mpf.value-bounds`` ``mpf.version`` ``mpf.number-of-images`` ``mpf.entry-missing`` ``mpf.entry-count``
``mpf.entry-bounds`` ``mpf.attribute-bounds`` ``mpf.primary-type`` ``mpf.primary-offset``
``mpf.entry-format``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from construct import (
    Array,
    Bytes,
    Const,
    Construct,
    ConstructError,
    Int16ub,
    Int16ul,
    Int32ub,
    Int32ul,
    Rebuild,
    Struct,
    len_,
    this,
)

from gainmap.errors import Problem, SchemaError

MPF_IDENT = b"MPF\x00"
#: Payload offset of the TIFF header: the base of every MPF offset.
TIFF_BASE = len(MPF_IDENT)

BYTE_ORDER_MARKS = {"MM": b"MM\x00\x2a", "II": b"II\x2a\x00"}

#: TIFF field types -> size of one value in bytes (BigTIFF 16..18 included; Apple uses 16).
TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
                   16: 8, 17: 8, 18: 8}

TAG_VERSION, TAG_NUMBER_OF_IMAGES, TAG_MP_ENTRY, TAG_IMAGE_UID_LIST, TAG_TOTAL_FRAMES = (
    0xB000, 0xB001, 0xB002, 0xB003, 0xB004)
INDEX_TAGS = frozenset({TAG_VERSION, TAG_NUMBER_OF_IMAGES, TAG_MP_ENTRY, TAG_IMAGE_UID_LIST, TAG_TOTAL_FRAMES})

TYPE_PRIMARY = 0x030000
TYPE_UNDEFINED = 0x000000
MP_ENTRY_SIZE = 16


# --------------------------------------------------------------------------------------------- TIFF schemas
class TiffSchemas(NamedTuple):
    """construct schemas of one TIFF byte order."""

    byte_order: str
    u16: Construct
    u32: Construct
    header: Construct      #: byte-order mark + u32 first IFD offset (8 bytes)
    ifd_entry: Construct   #: u16 tag, u16 type, u32 count, 4-byte value field (12 bytes)
    ifd: Construct         #: u16 count (rebuilt), entries, u32 next IFD offset
    mp_entry: Construct    #: u32 attribute, u32 size, u32 offset, u16 dep1, u16 dep2 (16 bytes)


@cache
def tiff_schemas(byte_order: str) -> TiffSchemas:
    """The TIFF header / IFD entry / IFD / MP Entry schemas for ``"MM"`` (big) or ``"II"`` (little endian)."""
    if byte_order not in BYTE_ORDER_MARKS:
        raise ValueError(f"byte order must be 'MM' or 'II', not {byte_order!r}")
    u16, u32 = (Int16ub, Int32ub) if byte_order == "MM" else (Int16ul, Int32ul)
    header = Struct("mark" / Const(BYTE_ORDER_MARKS[byte_order]), "first_ifd_offset" / u32)
    entry = Struct("tag" / u16, "type" / u16, "count" / u32, "value" / Bytes(4))
    ifd = Struct("count" / Rebuild(u16, len_(this.entries)), "entries" / Array(this.count, entry),
                 "next_ifd_offset" / u32)
    mp_entry = Struct("attribute" / u32, "size" / u32, "offset" / u32, "dep1" / u16, "dep2" / u16)
    return TiffSchemas(byte_order, u16, u32, header, entry, ifd, mp_entry)


@cache
def canonical_mpf_schema(byte_order: str) -> Construct:
    """The MPF payload libultrahdr and Apple write: 3 index tags, no attribute IFD, entries at T+50.

    NumberOfImages and the MPEntry byte count are rebuilt from ``entries``.
    """
    s = tiff_schemas(byte_order)
    u16, u32 = s.u16, s.u32
    return Struct(
        "ident" / Const(MPF_IDENT),
        "mark" / Const(BYTE_ORDER_MARKS[byte_order]),
        "first_ifd_offset" / Const(8, u32),
        "tag_count" / Const(3, u16),
        "version" / Struct("tag" / Const(TAG_VERSION, u16), "type" / Const(7, u16), "count" / Const(4, u32),
                           "value" / Const(b"0100")),
        "number_of_images" / Struct("tag" / Const(TAG_NUMBER_OF_IMAGES, u16), "type" / Const(4, u16),
                                    "count" / Const(1, u32), "value" / Rebuild(u32, len_(this._.entries))),
        "mp_entry" / Struct("tag" / Const(TAG_MP_ENTRY, u16), "type" / Const(7, u16),
                            "count" / Rebuild(u32, lambda ctx: MP_ENTRY_SIZE * len(ctx._.entries)),
                            "offset" / Const(50, u32)),
        "attribute_ifd_offset" / Const(0, u32),
        "entries" / Array(this.number_of_images.value, s.mp_entry),
    )


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class MpEntry:
    """One 16-byte MP Entry; ``offset`` is relative to the MPF TIFF header (0 for the primary)."""

    attribute: int
    size: int
    offset: int
    dep1: int = 0
    dep2: int = 0

    @property
    def type_code(self) -> int:
        return self.attribute & 0xFFFFFF

    @property
    def format(self) -> int:
        return (self.attribute >> 24) & 7

    @property
    def is_primary_type(self) -> bool:
        return self.type_code == TYPE_PRIMARY


@dataclass(frozen=True)
class IfdTag:
    """One IFD entry as read.

    ``value_offset_in_payload`` is where the value lives, payload-relative: the 4-byte value field itself
    for values of at most 4 bytes (or of unknown type), else the TIFF base + the stored offset.
    ``entry_offset`` is the payload-relative offset of the 12-byte entry.
    """

    tag: int
    type: int
    count: int
    value_field: bytes
    value_offset_in_payload: int
    entry_offset: int = -1

    @property
    def value_size(self) -> int | None:
        size = TIFF_TYPE_SIZES.get(self.type)
        return None if size is None else size * self.count

    @property
    def is_inline(self) -> bool:
        size = self.value_size
        return size is None or size <= 4


@dataclass
class MpfInfo:
    """A parsed MPF payload.  ``first_ifd_offset`` and ``attribute_ifd_offset`` are the stored (T-relative)
    values; ``entries_offset`` is payload-relative.

    ``kind`` is ``"index"`` for the first image's MPF (MP Index IFD, then an optional Attribute IFD) and
    ``"attribute-only"`` for the MPF of a non-first image, whose first IFD is an MP Attribute IFD.
    """

    byte_order: str = "MM"
    first_ifd_offset: int = 8
    index_tags: list[IfdTag] = field(default_factory=list)
    entries: list[MpEntry] = field(default_factory=list)
    entries_offset: int | None = None
    number_of_images: int | None = None
    attribute_ifd_offset: int = 0
    attribute_tags: list[IfdTag] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kind: str = "index"

    def entry_offset(self, index: int) -> int | None:
        """Payload-relative offset of entry ``index`` (None when the array was not found)."""
        return None if self.entries_offset is None else self.entries_offset + MP_ENTRY_SIZE * index

    def tag(self, tag: int) -> IfdTag | None:
        return next((t for t in self.index_tags if t.tag == tag), None)


# --------------------------------------------------------------------------------------------- TIFF reading
def detect_byte_order(mark: bytes) -> tuple[str | None, bool]:
    """(byte order, exact) from a 4-byte TIFF mark; a damaged mark yields the plausible order, exact=False."""
    for order, expected in BYTE_ORDER_MARKS.items():
        if mark == expected:
            return order, True
    if mark[2:4] == b"\x00\x2a":
        return "MM", False
    if mark[2:4] == b"\x2a\x00":
        return "II", False
    if mark[:2] in (b"MM", b"II"):
        return mark[:2].decode(), False
    return None, False


def guess_byte_order(tiff: bytes) -> str | None:
    """For a mark that tells nothing: the order whose first-IFD offset is 8, else the one that is in range."""
    in_range = []
    for order in ("MM", "II"):
        first = int.from_bytes(tiff[4:8], "big" if order == "MM" else "little")
        if first == 8:
            return order
        if 8 <= first <= len(tiff) - 2:
            in_range.append(order)
    return in_range[0] if len(in_range) == 1 else None


def read_ifd(tiff: bytes, ifd_offset: int, byte_order: str, base: int, prefix: str,
             problems: list[Problem], what: str = "IFD",
             bounds_checked_elsewhere: frozenset[int] = frozenset()) -> tuple[list[IfdTag], int | None]:
    """Read the IFD at T-relative ``ifd_offset`` of ``tiff``; return its tags and next-IFD offset.

    Truncated IFDs keep the entries that fit.  ``base`` turns T-relative offsets into payload-relative
    ones in the problems and tags.  Never raises.
    """
    s = tiff_schemas(byte_order)
    if ifd_offset < 8 or ifd_offset + 2 > len(tiff):
        problems.append(Problem(f"{prefix}.ifd-bounds", base + ifd_offset, 2,
                                f"{what} offset {ifd_offset} lies outside the {len(tiff)}-byte TIFF data"))
        return [], None
    count = s.u16.parse(tiff[ifd_offset:ifd_offset + 2])
    fits = (len(tiff) - ifd_offset - 2) // 12
    if count > fits:
        problems.append(Problem(f"{prefix}.ifd-bounds", base + ifd_offset, 2,
                                f"{what} declares {count} entries but only {fits} fit in the data"))
    tags = []
    for i in range(min(count, fits)):
        pos = ifd_offset + 2 + 12 * i
        e = s.ifd_entry.parse(tiff[pos:pos + 12])
        tag = IfdTag(e.tag, e.type, e.count, e.value, base + pos + 8, base + pos)
        if not tag.is_inline:
            pointer = s.u32.parse(e.value)
            tag = IfdTag(e.tag, e.type, e.count, e.value, base + pointer, base + pos)
            if pointer + (tag.value_size or 0) > len(tiff) and e.tag not in bounds_checked_elsewhere:
                problems.append(Problem(f"{prefix}.value-bounds", base + pos, 12,
                                        f"{what} tag 0x{e.tag:04X}: {tag.value_size}-byte value at T+{pointer} "
                                        f"runs past the end of the data"))
        tags.append(tag)
    next_pos = ifd_offset + 2 + 12 * count
    if count > fits or next_pos + 4 > len(tiff):
        return tags, None
    return tags, s.u32.parse(tiff[next_pos:next_pos + 4])


def tag_value(tiff: bytes, tag: IfdTag, base: int) -> bytes | None:
    """The value bytes of ``tag`` (inline or pointed to), or None when out of range or of unknown type."""
    size = tag.value_size
    if size is None:
        return None
    if size <= 4:
        return tag.value_field[:size]
    start = tag.value_offset_in_payload - base
    if start < 0 or start + size > len(tiff):
        return None
    return tiff[start:start + size]


# --------------------------------------------------------------------------------------------- MPF parse
def parse_mpf(payload: bytes) -> MpfInfo:
    """Parse an MPF APP2 payload tolerantly; SchemaError only when it is not MPF at all."""
    payload = bytes(payload)
    if not payload.startswith(MPF_IDENT):
        raise SchemaError("payload does not start with 'MPF\\0'", 0)
    tiff = payload[TIFF_BASE:]
    if len(tiff) < 8:
        raise SchemaError(f"MPF payload too short for a TIFF header ({len(payload)} bytes)", TIFF_BASE)
    problems: list[Problem] = []
    order, exact = detect_byte_order(tiff[:4])
    if not exact:
        guessed = order or guess_byte_order(tiff)
        note = f"; read as {guessed}" if guessed else "; no plausible byte order, MPF not read"
        problems.append(Problem("mpf.byte-order", TIFF_BASE, 4,
                                f"bad MPF byte-order mark {tiff[:4].hex(' ')}{note}"))
        order = guessed
    if order is None:
        return MpfInfo(byte_order="MM", first_ifd_offset=0, problems=problems)
    s = tiff_schemas(order)
    info = MpfInfo(byte_order=order, first_ifd_offset=s.u32.parse(tiff[4:8]), problems=problems)
    tags, next_ifd = read_ifd(tiff, info.first_ifd_offset, order, TIFF_BASE, "mpf", problems, "MP Index IFD",
                              frozenset({TAG_MP_ENTRY}))
    if _is_attribute_ifd(tags):
        info.kind = "attribute-only"
        info.attribute_ifd_offset = info.first_ifd_offset
        info.attribute_tags = tags
        return info
    info.index_tags = tags
    _check_index_tags(info)
    _read_entries(info, tiff)
    if next_ifd:
        info.attribute_ifd_offset = next_ifd
        if next_ifd + 2 > len(tiff):
            problems.append(Problem("mpf.attribute-bounds", TIFF_BASE + next_ifd, 0,
                                    f"MP Attribute IFD offset {next_ifd} lies outside the MPF data"))
        else:
            info.attribute_tags, _ = read_ifd(tiff, next_ifd, order, TIFF_BASE, "mpf", problems,
                                              "MP Attribute IFD")
    _check_entries(info)
    return info


def _is_attribute_ifd(tags: list[IfdTag]) -> bool:
    """An MP Attribute IFD as first IFD: no B001/B002 but attribute tags (B101 MPIndividualNum, B2xx)."""
    codes = {t.tag for t in tags}
    return (not codes & {TAG_NUMBER_OF_IMAGES, TAG_MP_ENTRY}
            and any(c == 0xB101 or 0xB200 <= c <= 0xB2FF for c in codes))


def _check_index_tags(info: MpfInfo) -> None:
    problems = info.problems
    s = tiff_schemas(info.byte_order)
    previous = -1
    for t in info.index_tags:
        if t.tag <= previous:
            problems.append(Problem("mpf.tag-order", t.entry_offset, 12,
                                    f"MP Index tag 0x{t.tag:04X} follows 0x{previous:04X}: tags must ascend"))
        previous = max(previous, t.tag)
        if t.tag not in INDEX_TAGS:
            problems.append(Problem("mpf.unknown-tag", t.entry_offset, 12,
                                    f"unknown MP Index tag 0x{t.tag:04X} (Skia rejects the MPF)"))
    version = info.tag(TAG_VERSION)
    if version is None:
        problems.append(Problem("mpf.version", TIFF_BASE + info.first_ifd_offset, 2,
                                "MPFVersion (B000) is missing"))
    elif (version.type, version.count, version.value_field) != (7, 4, b"0100"):
        problems.append(Problem("mpf.version", version.entry_offset, 12,
                                f"MPFVersion must be UNDEFINED x4 '0100', found type {version.type} count "
                                f"{version.count} value {version.value_field!r}"))
    number = info.tag(TAG_NUMBER_OF_IMAGES)
    if number is not None:
        if number.type != 4 or number.count != 1:
            problems.append(Problem("mpf.tag-type", number.entry_offset, 12,
                                    f"NumberOfImages must be LONG x1, found type {number.type} count "
                                    f"{number.count}"))
        info.number_of_images = s.u32.parse(number.value_field)
        if info.number_of_images < 1:
            problems.append(Problem("mpf.number-of-images", number.entry_offset, 12,
                                    "NumberOfImages is 0"))
    else:
        problems.append(Problem("mpf.number-of-images", TIFF_BASE + info.first_ifd_offset, 2,
                                "NumberOfImages (B001) is missing"))


def _read_entries(info: MpfInfo, tiff: bytes) -> None:
    problems = info.problems
    s = tiff_schemas(info.byte_order)
    tag = info.tag(TAG_MP_ENTRY)
    if tag is None:
        problems.append(Problem("mpf.entry-missing", TIFF_BASE + info.first_ifd_offset, 2,
                                "MPEntry (B002) is missing"))
        return
    if tag.type != 7:
        problems.append(Problem("mpf.tag-type", tag.entry_offset, 12,
                                f"MPEntry must be UNDEFINED, found type {tag.type}"))
    if tag.count % MP_ENTRY_SIZE or (info.number_of_images is not None
                                     and tag.count != MP_ENTRY_SIZE * info.number_of_images):
        problems.append(Problem("mpf.entry-count", tag.entry_offset, 12,
                                f"MPEntry byte count {tag.count} != 16 x NumberOfImages "
                                f"({info.number_of_images})"))
    if tag.count <= 4:
        return
    start = s.u32.parse(tag.value_field)
    info.entries_offset = TIFF_BASE + start
    declared = tag.count // MP_ENTRY_SIZE
    fits = max(0, (len(tiff) - start) // MP_ENTRY_SIZE)
    if declared > fits:
        problems.append(Problem("mpf.entry-bounds", TIFF_BASE + start, tag.count,
                                f"MP Entry array ({declared} entries at T+{start}) runs past the end of the "
                                f"{len(tiff)}-byte MPF data; {fits} readable"))
    for i in range(min(declared, fits)):
        pos = start + MP_ENTRY_SIZE * i
        e = s.mp_entry.parse(tiff[pos:pos + MP_ENTRY_SIZE])
        info.entries.append(MpEntry(e.attribute, e.size, e.offset, e.dep1, e.dep2))


def _check_entries(info: MpfInfo) -> None:
    for i, e in enumerate(info.entries):
        at = info.entry_offset(i) or 0
        if e.format != 0:
            info.problems.append(Problem("mpf.entry-format", at, 4,
                                         f"MP Entry {i}: image data format {e.format} is not JPEG (0)"))
        if e.is_primary_type != (i == 0):
            what = "is not" if i == 0 else "is also"
            info.problems.append(Problem("mpf.primary-type", at, 4,
                                         f"MP Entry {i} {what} of type Baseline MP Primary (0x030000); found "
                                         f"0x{e.type_code:06X}"))
        if i == 0 and e.offset != 0:
            info.problems.append(Problem("mpf.primary-offset", at + 8, 4,
                                         f"MP Entry 0 (primary) offset must be 0, found {e.offset}"))


# --------------------------------------------------------------------------------------------- MPF build
def build_mpf(info: MpfInfo) -> bytes:
    """The canonical payload (version, NumberOfImages, MPEntry; entries at T+50) for ``info.entries``."""
    if info.byte_order not in BYTE_ORDER_MARKS:
        raise SchemaError(f"cannot build MPF with byte order {info.byte_order!r}")
    if not info.entries:
        raise SchemaError("cannot build MPF without MP entries")
    entries = [dict(attribute=e.attribute, size=e.size, offset=e.offset, dep1=e.dep1, dep2=e.dep2)
               for e in info.entries]
    try:
        built: bytes = canonical_mpf_schema(info.byte_order).build(dict(version={}, number_of_images={},
                                                                        mp_entry={}, entries=entries))
        return built
    except ConstructError as exc:
        raise SchemaError(f"cannot build MPF: {exc}") from exc


def patch_entries(payload: bytes, entries: list[MpEntry]) -> bytes:
    """Rewrite the existing MP Entry array in place (same count), keeping every other byte."""
    info = parse_mpf(payload)
    tag = info.tag(TAG_MP_ENTRY)
    if info.entries_offset is None or tag is None:
        raise SchemaError("the MP Entry array cannot be located in this MPF payload")
    declared = tag.count // MP_ENTRY_SIZE
    if len(info.entries) != declared:
        raise SchemaError("the MP Entry array runs past the end of the MPF payload", info.entries_offset)
    if len(entries) != declared:
        raise SchemaError(f"MPF holds {declared} entries, {len(entries)} given", info.entries_offset)
    s = tiff_schemas(info.byte_order)
    out = bytearray(payload)
    for i, e in enumerate(entries):
        pos = info.entries_offset + MP_ENTRY_SIZE * i
        try:
            out[pos:pos + MP_ENTRY_SIZE] = s.mp_entry.build(dict(attribute=e.attribute, size=e.size,
                                                                 offset=e.offset, dep1=e.dep1, dep2=e.dep2))
        except ConstructError as exc:
            raise SchemaError(f"MP Entry {i} cannot be encoded: {exc}", pos) from exc
    return bytes(out)


def make_mpf(primary_size: int, others: list[tuple[int, int]], byte_order: str = "MM") -> bytes:
    """MPF for a primary of ``primary_size`` bytes plus (size, T-relative offset) images of type Undefined."""
    entries = [MpEntry(TYPE_PRIMARY, primary_size, 0)]
    entries += [MpEntry(TYPE_UNDEFINED, size, offset) for size, offset in others]
    return build_mpf(MpfInfo(byte_order=byte_order, entries=entries))
