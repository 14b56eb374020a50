"""Exif APP1 (TIFF structure) and the Apple iOS maker note that carries HDRHeadroom / HDRGain.

Payload = ``b"Exif\\0\\0"`` + TIFF data; TIFF offsets count from payload offset 6 (:data:`TIFF_BASE`).
The walk is fixed and bounded: IFD0 -> Exif IFD (0x8769) -> Interoperability IFD (0xA005) and
MakerNote (0x927C); each IFD is visited at most once.

Apple maker note: ``b"Apple iOS\\0" + u16 version + b"MM"`` (14 bytes), then an IFD that is always
big-endian and whose value offsets count from the START OF THE MAKER NOTE.  Tag 0x0021 HDRHeadroom and
tag 0x0030 HDRGain are SRATIONAL.

Problem codes (payload-relative offsets): ``exif.byte-order`` ``exif.ifd-bounds`` ``exif.value-bounds``
``exif.ifd-loop`` ``exif.tag-duplicate`` ``exif.apple-header`` ``exif.apple-tag-type``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from construct import Const, Int16ub, Int32sb, Struct

from gainmap.errors import Problem, SchemaError
from gainmap.formats.mpf import (
    TIFF_TYPE_SIZES,
    IfdTag,
    detect_byte_order,
    guess_byte_order,
    read_ifd,
    tag_value,
    tiff_schemas,
)

EXIF_IDENT = b"Exif\x00\x00"
TIFF_BASE = len(EXIF_IDENT)

TAG_MAKE, TAG_MODEL, TAG_EXIF_IFD = 0x010F, 0x0110, 0x8769
TAG_COLOR_SPACE, TAG_INTEROP_IFD, TAG_MAKER_NOTE = 0xA001, 0xA005, 0x927C
TAG_INTEROP_INDEX = 0x0001
APPLE_HEADROOM, APPLE_GAIN = 0x0021, 0x0030

APPLE_MAGIC = b"Apple iOS\x00"
APPLE_HEADER_LEN = 14

#: The Apple maker-note header (14 bytes).
AppleMakerNoteHeader = Struct("magic" / Const(APPLE_MAGIC), "version" / Int16ub, "byte_order" / Const(b"MM"))
#: Header + the big-endian IFD (count rebuilt from the entries); value data follows, maker-note relative.
AppleMakerNoteIfd = Struct("header" / AppleMakerNoteHeader, "ifd" / tiff_schemas("MM").ifd)
SRational = Struct("n" / Int32sb, "d" / Int32sb)

__all__ = ["EXIF_IDENT", "AppleMakerNote", "ExifInfo", "parse_exif", "parse_apple_maker_note",
           "AppleMakerNoteHeader", "AppleMakerNoteIfd", "tiff_schemas", "IfdTag", "TIFF_TYPE_SIZES"]


@dataclass
class AppleMakerNote:
    """HDR tags of an Apple maker note; offsets are relative to the Exif payload."""

    headroom: tuple[int, int] | None = None
    gain: tuple[int, int] | None = None
    maker_note_offset: int = 0
    tag_offsets: dict[int, int] = field(default_factory=dict)
    version: int | None = None

    @property
    def headroom_value(self) -> float | None:
        """Tag 33 as a number (None when absent or its denominator is 0); the headroom itself is computed by
        :func:`gainmap.model.apple.maker_note_stops`."""
        return _ratio(self.headroom)

    @property
    def gain_value(self) -> float | None:
        return _ratio(self.gain)


def _ratio(value: tuple[int, int] | None) -> float | None:
    if value is None or value[1] == 0:
        return None
    return value[0] / value[1]


@dataclass
class ExifInfo:
    byte_order: str | None = None
    ifd0_tags: dict[int, IfdTag] = field(default_factory=dict)
    #: Payload-relative offset of the Exif IFD, or None.
    exif_ifd_offset: int | None = None
    exif_tags: dict[int, IfdTag] = field(default_factory=dict)
    color_space: int | None = None
    interop_index: str | None = None
    make: str | None = None
    model: str | None = None
    apple: AppleMakerNote | None = None
    problems: list[Problem] = field(default_factory=list)


def _ascii(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _as_dict(tags: list[IfdTag], problems: list[Problem], what: str) -> dict[int, IfdTag]:
    out: dict[int, IfdTag] = {}
    for t in tags:
        if t.tag in out:
            problems.append(Problem("exif.tag-duplicate", t.entry_offset, 12,
                                    f"{what} tag 0x{t.tag:04X} appears twice; the first is used"))
        else:
            out[t.tag] = t
    return out


def parse_exif(payload: bytes) -> ExifInfo:
    """Parse an Exif APP1 payload tolerantly; SchemaError only when it is not Exif at all."""
    payload = bytes(payload)
    if not payload.startswith(EXIF_IDENT):
        raise SchemaError("payload does not start with 'Exif\\0\\0'", 0)
    tiff = payload[TIFF_BASE:]
    if len(tiff) < 8:
        raise SchemaError(f"Exif payload too short for a TIFF header ({len(payload)} bytes)", TIFF_BASE)
    info = ExifInfo()
    problems = info.problems
    order, exact = detect_byte_order(tiff[:4])
    if not exact:
        guessed = order or guess_byte_order(tiff)
        note = f"; read as {guessed}" if guessed else "; no plausible byte order, Exif not read"
        problems.append(Problem("exif.byte-order", TIFF_BASE, 4,
                                f"bad TIFF byte-order mark {tiff[:4].hex(' ')}{note}"))
        order = guessed
    if order is None:
        return info
    info.byte_order = order
    s = tiff_schemas(order)
    visited: set[int] = set()

    def walk(offset: int, what: str) -> dict[int, IfdTag]:
        if offset in visited:
            problems.append(Problem("exif.ifd-loop", TIFF_BASE + offset, 0,
                                    f"{what} at T+{offset} was already read (IFD loop)"))
            return {}
        visited.add(offset)
        tags, _ = read_ifd(tiff, offset, order, TIFF_BASE, "exif", problems, what)
        return _as_dict(tags, problems, what)

    def pointer(tags: dict[int, IfdTag], tag: int) -> int | None:
        t = tags.get(tag)
        return None if t is None else s.u32.parse(t.value_field)

    info.ifd0_tags = walk(s.u32.parse(tiff[4:8]), "IFD0")
    info.make = _ascii(_value(tiff, info.ifd0_tags.get(TAG_MAKE)))
    info.model = _ascii(_value(tiff, info.ifd0_tags.get(TAG_MODEL)))
    exif_ifd = pointer(info.ifd0_tags, TAG_EXIF_IFD)
    if exif_ifd is None:
        return info
    info.exif_ifd_offset = TIFF_BASE + exif_ifd
    info.exif_tags = walk(exif_ifd, "Exif IFD")
    cs = info.exif_tags.get(TAG_COLOR_SPACE)
    if cs is not None and cs.type == 3 and cs.count >= 1:
        info.color_space = s.u16.parse(cs.value_field[:2])
    interop = pointer(info.exif_tags, TAG_INTEROP_IFD)
    if interop is not None:
        interop_tags = walk(interop, "Interoperability IFD")
        info.interop_index = _ascii(_value(tiff, interop_tags.get(TAG_INTEROP_INDEX)))
    maker_note = info.exif_tags.get(TAG_MAKER_NOTE)
    if maker_note is not None:
        raw = _value(tiff, maker_note)
        if raw is not None and raw.startswith(APPLE_MAGIC):
            info.apple = parse_apple_maker_note(raw, maker_note.value_offset_in_payload, problems)
    return info


def _value(tiff: bytes, tag: IfdTag | None) -> bytes | None:
    return None if tag is None else tag_value(tiff, tag, TIFF_BASE)


def parse_apple_maker_note(note: bytes, note_offset: int = 0,
                           problems: list[Problem] | None = None) -> AppleMakerNote:
    """Read tags 0x21 / 0x30 of an Apple maker note; ``note_offset`` maps offsets into the payload."""
    problems = [] if problems is None else problems
    result = AppleMakerNote(maker_note_offset=note_offset)
    if len(note) < APPLE_HEADER_LEN + 2 or not note.startswith(APPLE_MAGIC) or note[12:14] != b"MM":
        problems.append(Problem("exif.apple-header", note_offset, min(len(note), APPLE_HEADER_LEN),
                                "Apple maker note lacks its 'Apple iOS\\0' .. 'MM' header"))
        return result
    result.version = Int16ub.parse(note[10:12])
    # The IFD's offsets are maker-note relative: read it as TIFF data rooted at the maker note.
    tags, _ = read_ifd(note, APPLE_HEADER_LEN, "MM", note_offset, "exif", problems, "Apple maker note IFD")
    for each in tags:
        result.tag_offsets.setdefault(each.tag, each.value_offset_in_payload)
    for tag_id, attr in ((APPLE_HEADROOM, "headroom"), (APPLE_GAIN, "gain")):
        t = next((x for x in tags if x.tag == tag_id), None)
        if t is None:
            continue
        raw = tag_value(note, t, note_offset)
        if t.type != 10 or t.count < 1 or raw is None:
            problems.append(Problem("exif.apple-tag-type", t.entry_offset, 12,
                                    f"Apple maker-note tag 0x{tag_id:04X} is not a readable SRATIONAL "
                                    f"(type {t.type}, count {t.count})"))
            continue
        r = SRational.parse(raw[:8])
        setattr(result, attr, (r.n, r.d))
    return result
