"""MPF APP2 schema: construct round trips, tolerant parsing, canonical building, in-place patching."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gainmap.errors import SchemaError
from gainmap.formats.mpf import (
    MPF_IDENT,
    TYPE_PRIMARY,
    MpEntry,
    MpfInfo,
    build_mpf,
    canonical_mpf_schema,
    make_mpf,
    parse_mpf,
    patch_entries,
    tiff_schemas,
)

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
ORDERS = st.sampled_from(["MM", "II"])
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)

entry_dicts = st.fixed_dictionaries(dict(attribute=U32, size=U32, offset=U32, dep1=U16, dep2=U16))
mp_entries = st.builds(MpEntry, attribute=U32, size=U32, offset=U32, dep1=U16, dep2=U16)
valid_entry_lists = st.tuples(
    st.builds(MpEntry, attribute=st.sampled_from([TYPE_PRIMARY, 0x20000000 | TYPE_PRIMARY]), size=U32,
              offset=st.just(0)),
    st.lists(st.builds(MpEntry, attribute=st.sampled_from([0, 0x010001, 0x020002, 0x050000]), size=U32,
                       offset=U32), max_size=5),
).map(lambda t: [t[0], *t[1]])


def test_payload_layout_matches_libultrahdr_template():
    """formats.md §2.2: the 88-byte APP2 (Lp=0x58) libultrahdr and Apple write, marker and Lp excluded."""
    primary, gm_size, gm_offset = 0x11223344, 0x0000ABCD, 0x00112200
    expected = bytes.fromhex(
        "4D504600" "4D4D002A 00000008" "0003"
        "B000 0007 00000004 30313030"
        "B001 0004 00000001 00000002"
        "B002 0007 00000020 00000032"
        "00000000"
        "00030000 11223344 00000000 0000 0000"
        "00000000 0000ABCD 00112200 0000 0000".replace(" ", ""))
    payload = make_mpf(primary, [(gm_size, gm_offset)])
    assert payload == expected
    assert len(payload) == 86 and len(payload) + 2 == 0x58


# ------------------------------------------------------------------------------------------ schemas
@settings(max_examples=60)
@given(order=ORDERS, first=U32)
def test_tiff_header_round_trip(order, first):
    s = tiff_schemas(order)
    raw = s.header.build(dict(first_ifd_offset=first))
    assert len(raw) == 8
    assert s.header.parse(raw).first_ifd_offset == first
    assert s.header.build(s.header.parse(raw)) == raw


@settings(max_examples=60)
@given(order=ORDERS, raw=st.binary(min_size=12, max_size=12))
def test_ifd_entry_build_parse_bytes(order, raw):
    s = tiff_schemas(order)
    assert s.ifd_entry.build(s.ifd_entry.parse(raw)) == raw


@settings(max_examples=60)
@given(order=ORDERS, entries=st.lists(st.fixed_dictionaries(
    dict(tag=U16, type=U16, count=U32, value=st.binary(min_size=4, max_size=4))), max_size=12), nxt=U32)
def test_ifd_round_trip(order, entries, nxt):
    s = tiff_schemas(order)
    raw = s.ifd.build(dict(entries=entries, next_ifd_offset=nxt))
    assert len(raw) == 2 + 12 * len(entries) + 4
    parsed = s.ifd.parse(raw)
    assert parsed.count == len(entries)
    assert list(parsed.entries) == entries
    assert s.ifd.build(parsed) == raw


@settings(max_examples=60)
@given(order=ORDERS, entry=entry_dicts)
def test_mp_entry_round_trip(order, entry):
    s = tiff_schemas(order)
    raw = s.mp_entry.build(entry)
    assert len(raw) == 16
    assert s.mp_entry.parse(raw) == entry
    assert s.mp_entry.build(s.mp_entry.parse(raw)) == raw


@settings(max_examples=60)
@given(order=ORDERS, entries=st.lists(entry_dicts, min_size=1, max_size=6))
def test_canonical_schema_round_trip(order, entries):
    schema = canonical_mpf_schema(order)
    raw = schema.build(dict(version={}, number_of_images={}, mp_entry={}, entries=entries))
    parsed = schema.parse(raw)
    assert parsed.number_of_images.value == len(entries)
    assert parsed.mp_entry.count == 16 * len(entries)
    assert list(parsed.entries) == entries
    assert schema.build(parsed) == raw


def test_tiff_schemas_rejects_unknown_order():
    with pytest.raises(ValueError):
        tiff_schemas("XX")


# ------------------------------------------------------------------------------------------ build / parse
@settings(max_examples=80)
@given(order=ORDERS, entries=st.lists(mp_entries, min_size=1, max_size=6))
def test_build_parse_round_trip(order, entries):
    payload = build_mpf(MpfInfo(byte_order=order, entries=entries))
    assert len(payload) == 4 + 50 + 16 * len(entries)
    info = parse_mpf(payload)
    assert info.byte_order == order
    assert info.entries == entries
    assert info.number_of_images == len(entries)
    assert info.entries_offset == 54
    assert info.attribute_ifd_offset == 0 and info.attribute_tags == []
    assert [t.tag for t in info.index_tags] == [0xB000, 0xB001, 0xB002]
    assert build_mpf(info) == payload
    assert not {p.code for p in info.problems} & {"mpf.byte-order", "mpf.ifd-bounds", "mpf.tag-order",
                                                  "mpf.unknown-tag", "mpf.entry-count", "mpf.version",
                                                  "mpf.entry-bounds"}


@settings(max_examples=60)
@given(order=ORDERS, entries=valid_entry_lists)
def test_valid_entries_have_no_problems(order, entries):
    info = parse_mpf(build_mpf(MpfInfo(byte_order=order, entries=entries)))
    assert info.problems == []
    assert info.entries[0].is_primary_type


def test_derived_values_are_recomputed():
    info = MpfInfo(byte_order="II", entries=[MpEntry(TYPE_PRIMARY, 10, 0)], number_of_images=7,
                   entries_offset=999)
    parsed = parse_mpf(build_mpf(info))
    assert parsed.number_of_images == 1 and parsed.entries_offset == 54


def test_build_rejects_empty_and_bad_order():
    with pytest.raises(SchemaError):
        build_mpf(MpfInfo(byte_order="MM", entries=[]))
    with pytest.raises(SchemaError):
        build_mpf(MpfInfo(byte_order="XX", entries=[MpEntry(TYPE_PRIMARY, 1, 0)]))
    with pytest.raises(SchemaError):
        build_mpf(MpfInfo(byte_order="MM", entries=[MpEntry(1 << 33, 1, 0)]))


def test_entry_properties():
    e = MpEntry(0xA3030000 | 0x000001, 5, 6)
    assert e.type_code == 0x030001 and e.format == 3 and not e.is_primary_type
    assert MpEntry(0x20030000, 1, 0).is_primary_type


# ------------------------------------------------------------------------------------------ hand-made payloads
def _payload(order: str, tags: list[tuple[int, int, int, bytes]], tail: bytes = b"", first: int = 8,
             next_ifd: int = 0) -> bytes:
    """MPF payload from raw IFD entries (tag, type, count, value field) plus a value area."""
    s = tiff_schemas(order)
    ifd = s.ifd.build(dict(entries=[dict(tag=t, type=y, count=c, value=v) for t, y, c, v in tags],
                           next_ifd_offset=next_ifd))
    return MPF_IDENT + s.header.build(dict(first_ifd_offset=first)) + ifd + tail


def _u32(order: str, v: int) -> bytes:
    return tiff_schemas(order).u32.build(v)


def _entries_bytes(order: str, entries: list[MpEntry]) -> bytes:
    s = tiff_schemas(order)
    return b"".join(s.mp_entry.build(dict(attribute=e.attribute, size=e.size, offset=e.offset, dep1=e.dep1,
                                          dep2=e.dep2)) for e in entries)


ENTRIES = [MpEntry(TYPE_PRIMARY, 5000, 0), MpEntry(0, 700, 4950)]


@pytest.mark.parametrize("order", ["MM", "II"])
def test_unknown_tag_is_preserved_and_reported(order):
    n_tags = 4
    area = 8 + 2 + 12 * n_tags + 4
    tags = [(0xB000, 7, 4, b"0100"), (0xB001, 4, 1, _u32(order, 2)), (0xB002, 7, 32, _u32(order, area)),
            (0xB0FF, 4, 1, _u32(order, 42))]
    info = parse_mpf(_payload(order, tags, _entries_bytes(order, ENTRIES)))
    assert [t.tag for t in info.index_tags] == [0xB000, 0xB001, 0xB002, 0xB0FF]
    assert info.entries == ENTRIES
    unknown = [p for p in info.problems if p.code == "mpf.unknown-tag"]
    assert len(unknown) == 1 and unknown[0].offset == 4 + 10 + 12 * 3
    assert info.index_tags[3].value_offset_in_payload == 4 + 10 + 12 * 3 + 8


def test_tag_order_version_and_entry_count_problems():
    order = "MM"
    area = 8 + 2 + 12 * 3 + 4
    tags = [(0xB001, 4, 1, _u32(order, 3)), (0xB000, 7, 4, b"0200"), (0xB002, 7, 32, _u32(order, area))]
    info = parse_mpf(_payload(order, tags, _entries_bytes(order, ENTRIES)))
    codes = [p.code for p in info.problems]
    assert "mpf.tag-order" in codes and "mpf.version" in codes and "mpf.entry-count" in codes
    assert info.number_of_images == 3 and info.entries == ENTRIES


def test_entry_bounds_problem_keeps_readable_entries():
    order = "II"
    area = 8 + 2 + 12 * 3 + 4
    tags = [(0xB000, 7, 4, b"0100"), (0xB001, 4, 1, _u32(order, 3)), (0xB002, 7, 48, _u32(order, area))]
    info = parse_mpf(_payload(order, tags, _entries_bytes(order, ENTRIES)))
    assert [p.code for p in info.problems] == ["mpf.entry-bounds"]
    assert info.entries == ENTRIES
    with pytest.raises(SchemaError):
        patch_entries(_payload(order, tags, _entries_bytes(order, ENTRIES)), ENTRIES)


def test_ifd_out_of_bounds_and_missing_tags():
    info = parse_mpf(MPF_IDENT + b"MM\x00\x2a" + (5000).to_bytes(4, "big"))
    assert [p.code for p in info.problems][0] == "mpf.ifd-bounds"
    assert info.entries == [] and info.entries_offset is None
    info = parse_mpf(_payload("MM", []))
    assert {"mpf.version", "mpf.number-of-images", "mpf.entry-missing"} <= {p.code for p in info.problems}


def test_attribute_only_mpf_of_a_non_first_image():
    order = "II"
    tags = [(0xB000, 7, 4, b"0100"), (0xB101, 4, 1, _u32(order, 2))]
    info = parse_mpf(_payload(order, tags))
    assert info.kind == "attribute-only" and info.problems == []
    assert [t.tag for t in info.attribute_tags] == [0xB000, 0xB101] and info.index_tags == []
    with pytest.raises(SchemaError):
        patch_entries(_payload(order, tags), ENTRIES)


def test_attribute_ifd_is_read():
    order = "MM"
    area = 8 + 2 + 12 * 3 + 4
    attr_at = area + 32
    tags = [(0xB000, 7, 4, b"0100"), (0xB001, 4, 1, _u32(order, 2)), (0xB002, 7, 32, _u32(order, area))]
    attr_ifd = tiff_schemas(order).ifd.build(dict(entries=[dict(tag=0xB101, type=4, count=1,
                                                                value=_u32(order, 1))], next_ifd_offset=0))
    payload = _payload(order, tags, _entries_bytes(order, ENTRIES) + attr_ifd, next_ifd=attr_at)
    info = parse_mpf(payload)
    assert info.attribute_ifd_offset == attr_at
    assert [t.tag for t in info.attribute_tags] == [0xB101]
    assert info.problems == []


@pytest.mark.parametrize("mark", [b" M\x00\x2a", b"MMxx", b"\x00\x00\x00\x00"])
def test_corrupt_byte_order_mark(mark):
    good = make_mpf(1234, [(99, 1200)])
    bad = good[:4] + mark + good[8:]
    info = parse_mpf(bad)
    problem = next(p for p in info.problems if p.code == "mpf.byte-order")
    assert problem.offset == 4 and "MM" in problem.message
    assert info.byte_order == "MM"
    assert [(e.size, e.offset) for e in info.entries] == [(1234, 0), (99, 1200)]


# ------------------------------------------------------------------------------------------ patch
@settings(max_examples=60)
@given(order=ORDERS, old=st.lists(mp_entries, min_size=1, max_size=4), data=st.data())
def test_patch_entries_changes_only_the_array(order, old, data):
    new = data.draw(st.lists(mp_entries, min_size=len(old), max_size=len(old)))
    payload = build_mpf(MpfInfo(byte_order=order, entries=old))
    patched = patch_entries(payload, new)
    assert len(patched) == len(payload)
    assert patched[:54] == payload[:54]
    assert parse_mpf(patched).entries == new


def test_patch_keeps_unknown_bytes_and_checks_count():
    order = "II"
    area = 8 + 2 + 12 * 4 + 4
    tags = [(0xB000, 7, 4, b"0100"), (0xB001, 4, 1, _u32(order, 2)), (0xB002, 7, 32, _u32(order, area)),
            (0xB0FF, 4, 1, _u32(order, 42))]
    payload = _payload(order, tags, _entries_bytes(order, ENTRIES) + b"\xAA" * 9)
    new = [MpEntry(TYPE_PRIMARY, 5100, 0), MpEntry(0, 800, 5050, 1, 2)]
    patched = patch_entries(payload, new)
    start = 4 + area
    assert patched[:start] == payload[:start] and patched[start + 32:] == payload[start + 32:]
    assert parse_mpf(patched).entries == new
    with pytest.raises(SchemaError):
        patch_entries(payload, new[:1])
    with pytest.raises(SchemaError):
        patch_entries(_payload(order, tags[:2]), new)


# ------------------------------------------------------------------------------------------ tolerance
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_schema_error(raw):
    for candidate in (raw, MPF_IDENT + raw, MPF_IDENT + b"MM\x00\x2a" + raw, MPF_IDENT + b"II\x2a\x00" + raw):
        try:
            info = parse_mpf(candidate)
        except SchemaError:
            assert len(candidate) < 12 or not candidate.startswith(MPF_IDENT)
        else:
            assert all(p.code.startswith("mpf.") for p in info.problems)


@settings(max_examples=100)
@given(order=ORDERS, entries=st.lists(mp_entries, min_size=1, max_size=3), data=st.data())
def test_truncations_and_bit_flips(order, entries, data):
    payload = build_mpf(MpfInfo(byte_order=order, entries=entries))
    cut = data.draw(st.integers(0, len(payload)))
    try:
        parse_mpf(payload[:cut])
    except SchemaError:
        assert cut < 12
    pos = data.draw(st.integers(4, len(payload) - 1))
    flipped = bytearray(payload)
    flipped[pos] ^= data.draw(st.integers(1, 255))
    parse_mpf(bytes(flipped))


# ------------------------------------------------------------------------------------------ corpus
def _corpus_mpf_payloads() -> list[tuple[str, bytes]]:
    """Test helper: every APP2 'MPF\\0' segment in the corpus (FF E2 cannot occur inside entropy data)."""
    found = []
    for path in sorted(CORPUS.glob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".mpo"):
            continue
        data = path.read_bytes()
        for m in re.finditer(rb"\xff\xe2(..)MPF\x00", data, re.DOTALL):
            length = int.from_bytes(m.group(1), "big")
            found.append((path.name, data[m.start() + 4:m.start() + 2 + length]))
    return found


@pytest.mark.corpus
def test_corpus_mpf_payloads():
    if not CORPUS.is_dir():
        pytest.skip("corpus not available at ../shared/corpus")
    payloads = _corpus_mpf_payloads()
    assert len(payloads) > 30
    canonical = 0
    seen: set[str] = set()
    for name, payload in payloads:
        first_in_file = name not in seen
        seen.add(name)
        info = parse_mpf(payload)
        if len(payload) == 86 and not info.problems:
            canonical += 1
            assert build_mpf(info) == payload, name
            assert patch_entries(payload, info.entries) == payload, name
        if name == "pillow__sugarshack_bad_mpo_header.jpg" and first_in_file:
            assert info.problems[0].code == "mpf.byte-order" and len(info.entries) == 2
        if name.startswith("pillow__") and name.endswith(".mpo"):
            assert info.attribute_tags, name
            assert not [p for p in info.problems if p.code != "mpf.primary-type"], name
    assert canonical > 30


@pytest.mark.corpus
def test_corpus_libultrahdr_apple_layouts():
    path = CORPUS / "libavif__apple_gainmap_new.jpg"
    if not path.is_file():
        pytest.skip("corpus not available at ../shared/corpus")
    data = path.read_bytes()
    start = data.index(b"\xff\xe2\x00\x58MPF\x00")
    info = parse_mpf(data[start + 4:start + 90])
    assert info.byte_order == "MM" and info.problems == []
    gm = info.entries[1]
    assert data[start + 8 + gm.offset:start + 8 + gm.offset + 2] == b"\xff\xd8"
    assert data[start + 8 + gm.offset + gm.size - 2:start + 8 + gm.offset + gm.size] == b"\xff\xd9"
