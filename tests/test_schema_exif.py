"""Exif APP1 schema: TIFF structs, the bounded IFD walk and the Apple maker note (tags 0x21 / 0x30)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.errors import SchemaError
from gainmap.formats.exif import (
    APPLE_MAGIC,
    EXIF_IDENT,
    AppleMakerNoteHeader,
    AppleMakerNoteIfd,
    parse_apple_maker_note,
    parse_exif,
    tiff_schemas,
)
from gainmap.model.apple import maker_note_stops

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
ORDERS = st.sampled_from(["MM", "II"])
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
S32 = st.integers(-(1 << 31), (1 << 31) - 1)
ENTRY = st.fixed_dictionaries(dict(tag=U16, type=U16, count=U32, value=st.binary(min_size=4, max_size=4)))


# ------------------------------------------------------------------------------------------ schemas
@settings(max_examples=60)
@given(order=ORDERS, first=U32, entry=ENTRY)
def test_tiff_header_and_entry_round_trip(order, first, entry):
    s = tiff_schemas(order)
    header = s.header.build(dict(first_ifd_offset=first))
    assert header[:2] == order.encode() and s.header.parse(header).first_ifd_offset == first
    raw = s.ifd_entry.build(entry)
    assert len(raw) == 12 and s.ifd_entry.parse(raw) == entry
    assert s.ifd_entry.build(s.ifd_entry.parse(raw)) == raw


@settings(max_examples=60)
@given(version=U16, entries=st.lists(ENTRY, max_size=10), nxt=U32)
def test_apple_maker_note_ifd_round_trip(version, entries, nxt):
    obj = dict(header=dict(version=version), ifd=dict(entries=entries, next_ifd_offset=nxt))
    raw = AppleMakerNoteIfd.build(obj)
    assert raw.startswith(APPLE_MAGIC) and raw[12:14] == b"MM" and len(raw) == 14 + 2 + 12 * len(entries) + 4
    parsed = AppleMakerNoteIfd.parse(raw)
    assert parsed.header.version == version and parsed.ifd.count == len(entries)
    assert list(parsed.ifd.entries) == entries and parsed.ifd.next_ifd_offset == nxt
    assert AppleMakerNoteIfd.build(parsed) == raw
    assert AppleMakerNoteHeader.sizeof() == 14


# ------------------------------------------------------------------------------------------ synthetic Exif
def _apple_note(headroom: tuple[int, int] | None, gain: tuple[int, int] | None) -> tuple[bytes, int]:
    """An Apple maker note (values maker-note relative); returns it and the offset of tag 0x21's value."""
    srational = tiff_schemas("MM").u32
    tags = [(0x0001, 9, 1, (15).to_bytes(4, "big"), None)]
    if headroom is not None:
        tags.append((0x0021, 10, 1, None, headroom))
    if gain is not None:
        tags.append((0x0030, 10, 1, None, gain))
    values_at = 14 + 2 + 12 * len(tags) + 4
    entries, values = [], b""
    for tag, typ, count, inline, rational in tags:
        if rational is None:
            entries.append(dict(tag=tag, type=typ, count=count, value=inline))
        else:
            entries.append(dict(tag=tag, type=typ, count=count, value=srational.build(values_at + len(values))))
            values += rational[0].to_bytes(4, "big", signed=True) + rational[1].to_bytes(4, "big", signed=True)
    note = AppleMakerNoteIfd.build(dict(header=dict(version=1), ifd=dict(entries=entries, next_ifd_offset=0)))
    return note + values, values_at


def _build_exif(order: str, make: bytes, model: bytes, color_space: int, interop: bytes, note: bytes,
                exif_pointer: int | None = None) -> tuple[bytes, dict[str, int]]:
    """Test helper: a small Exif payload, IFD0 -> Exif IFD -> (Interop IFD, MakerNote); T-relative layout."""
    s = tiff_schemas(order)
    at = {"ifd0": 8}
    at["make"] = at["ifd0"] + 2 + 12 * 3 + 4
    at["model"] = at["make"] + len(make)
    at["exif"] = at["model"] + len(model)
    at["interop"] = at["exif"] + 2 + 12 * 3 + 4
    at["note"] = at["interop"] + 2 + 12 + 4

    def ifd(entries):
        return s.ifd.build(dict(entries=[dict(tag=t, type=y, count=c, value=v) for t, y, c, v in entries],
                                next_ifd_offset=0))

    ifd0 = ifd([(0x010F, 2, len(make), s.u32.build(at["make"])), (0x0110, 2, len(model), s.u32.build(at["model"])),
                (0x8769, 4, 1, s.u32.build(at["exif"] if exif_pointer is None else exif_pointer))])
    exif = ifd([(0xA001, 3, 1, s.u16.build(color_space) + b"\x00\x00"), (0xA005, 4, 1, s.u32.build(at["interop"])),
                (0x927C, 7, len(note), s.u32.build(at["note"]))])
    interop_ifd = ifd([(0x0001, 2, 4, interop.ljust(4, b"\x00"))])
    tiff = s.header.build(dict(first_ifd_offset=8)) + ifd0 + make + model + exif + interop_ifd + note
    return EXIF_IDENT + tiff, at


rationals = st.tuples(S32, S32.filter(lambda d: d != 0))


@settings(max_examples=80)
@given(order=ORDERS, headroom=st.none() | rationals, gain=st.none() | rationals,
       make=st.binary(min_size=5, max_size=12).map(lambda b: b.replace(b"\x00", b"A") + b"\x00"),
       cs=st.sampled_from([1, 0xFFFF, 2]), interop=st.sampled_from([b"R98", b"R03", b"THM"]))
def test_synthetic_exif_with_apple_note(order, headroom, gain, make, cs, interop):
    note, headroom_value_at = _apple_note(headroom, gain)
    payload, at = _build_exif(order, make, b"iPhone 13 mini\x00", cs, interop, note)
    info = parse_exif(payload)
    assert info.problems == []
    assert info.byte_order == order
    assert info.make == make[:-1].decode("latin-1").strip()
    assert info.model == "iPhone 13 mini"
    assert info.exif_ifd_offset == 6 + at["exif"]
    assert info.color_space == cs and info.interop_index == interop.decode()
    apple = info.apple
    assert apple is not None and apple.version == 1
    assert apple.maker_note_offset == 6 + at["note"]
    assert apple.headroom == headroom and apple.gain == gain
    if headroom is not None:
        assert apple.tag_offsets[0x21] == 6 + at["note"] + headroom_value_at
        assert payload[apple.tag_offsets[0x21]:apple.tag_offsets[0x21] + 4] == headroom[0].to_bytes(4, "big",
                                                                                                     signed=True)
        assert math.isclose(apple.headroom_value, headroom[0] / headroom[1])
        assert maker_note_stops(apple) is not None
    else:
        assert apple.headroom_value is None and maker_note_stops(apple) is None


def test_apple_stops_follow_the_documented_formula():
    note, _ = _apple_note((82317, 54194), (0, 1))
    apple = parse_apple_maker_note(note)
    assert maker_note_stops(apple) == pytest.approx(3.0)
    note, _ = _apple_note((1, 2), (1, 10))
    assert maker_note_stops(parse_apple_maker_note(note)) == pytest.approx(1.601 - 0.101 * 0.1)


def test_apple_wrong_tag_type_and_header():
    problems = []
    note, _ = _apple_note((3, 2), None)
    bad = bytearray(note)
    bad[14 + 2 + 12 + 2:14 + 2 + 12 + 4] = (5).to_bytes(2, "big")  # 0x21 as RATIONAL
    apple = parse_apple_maker_note(bytes(bad), 100, problems)
    assert apple.headroom is None and [p.code for p in problems] == ["exif.apple-tag-type"]
    assert problems[0].offset == 100 + 14 + 2 + 12
    problems = []
    parse_apple_maker_note(b"Apple iOS\x00\x00\x01II" + bytes(20), 0, problems)
    assert [p.code for p in problems] == ["exif.apple-header"]


def test_ifd_loop_and_out_of_range_pointer():
    note, _ = _apple_note((1, 1), None)
    looped, _ = _build_exif("II", b"Maker\x00", b"Model\x00", 1, b"R98", note, exif_pointer=8)
    info = parse_exif(looped)
    assert "exif.ifd-loop" in {p.code for p in info.problems}
    assert info.make == "Maker" and info.apple is None
    far, _ = _build_exif("MM", b"Maker\x00", b"Model\x00", 1, b"R98", note, exif_pointer=1 << 30)
    info = parse_exif(far)
    assert [p.code for p in info.problems] == ["exif.ifd-bounds"]
    assert info.exif_ifd_offset == 6 + (1 << 30) and info.exif_tags == {}


def test_corrupt_byte_order_mark_is_guessed():
    note, _ = _apple_note((7, 2), (1, 100))
    payload, _ = _build_exif("MM", b"Apple\x00", b"iPhone\x00", 1, b"R98", note)
    bad = payload[:6] + b"XM\x00\x2a" + payload[10:]
    info = parse_exif(bad)
    assert info.problems[0].code == "exif.byte-order" and info.byte_order == "MM"
    assert info.apple is not None and info.apple.headroom == (7, 2)


def test_not_exif():
    for raw in (b"", b"Exif\x00\x00MM\x00", b"XMP\x00\x00\x00" + bytes(20)):
        with pytest.raises(SchemaError):
            parse_exif(raw)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_schema_error(raw):
    for candidate in (raw, EXIF_IDENT + raw, EXIF_IDENT + b"MM\x00\x2a\x00\x00\x00\x08" + raw,
                      EXIF_IDENT + b"II\x2a\x00\x08\x00\x00\x00" + raw):
        try:
            parse_exif(candidate)
        except SchemaError:
            assert len(candidate) < 14 or not candidate.startswith(EXIF_IDENT)
    parse_apple_maker_note(APPLE_MAGIC + b"\x00\x01MM" + raw)


@settings(max_examples=100)
@given(order=ORDERS, data=st.data())
def test_truncations_and_mutations(order, data):
    note, _ = _apple_note((82317, 54194), (0, 1))
    payload, _ = _build_exif(order, b"Apple\x00", b"iPhone\x00", 1, b"R98", note)
    cut = data.draw(st.integers(0, len(payload)))
    try:
        parse_exif(payload[:cut])
    except SchemaError:
        assert cut < 14
    mutated = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 6))):
        mutated[data.draw(st.integers(6, len(payload) - 1))] = data.draw(st.integers(0, 255))
    parse_exif(bytes(mutated))


# ------------------------------------------------------------------------------------------ corpus
def _first_exif_payload(data: bytes) -> bytes | None:
    """Test helper: a bounded walk over the primary's marker segments before SOS; the first Exif APP1."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD9, 0xDA):
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        payload = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and payload.startswith(EXIF_IDENT):
            return payload
        pos += 2 + length
    return None


def _exif_corpus() -> dict[str, bytes]:
    out = {}
    for path in sorted(CORPUS.glob("*")):
        if path.suffix.lower() in (".jpg", ".jpeg", ".mpo"):
            payload = _first_exif_payload(path.read_bytes())
            if payload is not None:
                out[path.name] = payload
    return out


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["libavif__apple_gainmap_old.jpg", "libavif__apple_gainmap_new.jpg"])
def test_apple_corpus_maker_note(name):
    path = CORPUS / name
    if not path.is_file():
        pytest.skip("corpus not available at ../shared/corpus")
    payload = _first_exif_payload(path.read_bytes())
    info = parse_exif(payload)
    assert info.problems == [] and info.make == "Apple" and info.model == "iPhone 13 mini"
    apple = info.apple
    assert apple.headroom == (82317, 54194) and apple.gain == (0, 1)  # formats.md §8
    assert payload[apple.maker_note_offset:apple.maker_note_offset + 10] == APPLE_MAGIC
    assert maker_note_stops(apple) == pytest.approx(3.0)
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    out = subprocess.run(["exiftool", "-j", "-n", "-MakerNotes:all", str(path)], capture_output=True, text=True,
                         check=True, timeout=60)
    tags = json.loads(out.stdout)[0]
    assert apple.headroom_value == pytest.approx(tags["HDRHeadroom"], rel=1e-8)
    assert apple.gain_value == pytest.approx(tags["HDRGain"], abs=1e-12)


@pytest.mark.corpus
def test_corpus_exif_agrees_with_exiftool():
    if not CORPUS.is_dir():
        pytest.skip("corpus not available at ../shared/corpus")
    payloads = _exif_corpus()
    assert len(payloads) > 30
    infos = {name: parse_exif(p) for name, p in payloads.items()}
    assert all(i.problems == [] for i in infos.values())
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    cmd = ["exiftool", "-j", "-n", "-G1", "-IFD0:Make", "-IFD0:Model", "-ExifIFD:ColorSpace",
           "-InteropIFD:InteropIndex", *(str(CORPUS / n) for n in payloads)]
    rows = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout)
    checked = 0
    for row in rows:
        info = infos[Path(row["SourceFile"]).name]
        for key, ours in (("IFD0:Make", info.make), ("IFD0:Model", info.model),
                          ("ExifIFD:ColorSpace", info.color_space), ("InteropIFD:InteropIndex", info.interop_index)):
            if key in row:
                theirs = row[key]
                assert (str(ours).strip() if isinstance(theirs, str) else ours) == theirs, (row["SourceFile"], key)
                checked += 1
    assert checked > 50
