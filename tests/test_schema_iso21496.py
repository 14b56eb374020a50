"""ISO 21496-1 APP2 schema: layouts, problems, conversion to and from GainMapMetadata."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.errors import SchemaError
from gainmap.formats.iso21496 import (
    CHANNEL_FIELDS,
    ISO_URN,
    SIGNED,
    CompactMetadata,
    FullMetadata,
    IsoRecord,
    VersionBlock,
    build,
    build_compact,
    build_iso,
    encode_field,
    iso_to_metadata,
    metadata_to_iso,
    parse_iso,
    read,
    version_block,
)
from gainmap.formats.located import Span, span
from gainmap.metadata import GainMapMetadata, MetadataConversionError

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"

# formats.md §3.1: the 93-byte gain-map APP2 segment (marker, Lp, URN, 61 bytes).
WORKED_EXAMPLE = bytes.fromhex(
    "FFE2005B"
    "75726E3A69736F3A7374643A69736F3A74733A32313439363A2D3100"
    "0000" "0000" "40"
    "00000000000F4240" "0028EB29000F4240"
    "FFFFE317000F4240" "0028EB29000F4240" "000D5810000F4240" "0000000A000F4240" "0000000A000F4240")
# formats.md §3: libultrahdr <= 2.0.2 compact output (flags 0x48), after the URN.
COMPACT_EXAMPLE = bytes.fromhex("00000000" "48" "00000001" "00000000" "00000003"
                                "00000000" "00000003" "00000001" "00000000" "00000000")

U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
S32 = st.integers(-(1 << 31), (1 << 31) - 1)


def test_urn_is_28_bytes():
    assert len(ISO_URN) == 28 and ISO_URN.endswith(b"\x00")


def test_worked_example_decodes():
    assert len(WORKED_EXAMPLE) == 93 and int.from_bytes(WORKED_EXAMPLE[2:4], "big") == 91
    payload = WORKED_EXAMPLE[4:]
    record = parse_iso(payload)
    assert record.layout == "full" and record.problems == [] and record.trailing == b""
    assert (record.minimum_version, record.writer_version, record.flags) == (0, 0, 0x40)
    assert not record.is_multichannel and record.use_base_colour_space and record.reserved_bits == 0
    assert record.base_hdr_headroom == (0, 1_000_000)
    assert record.alternate_hdr_headroom == (2_681_641, 1_000_000)
    assert record.channels == [dict(gain_map_min=(-7401, 1_000_000), gain_map_max=(2_681_641, 1_000_000),
                                    gamma=(874_512, 1_000_000), base_offset=(10, 1_000_000),
                                    alternate_offset=(10, 1_000_000))]
    md = iso_to_metadata(record)
    assert md.gain_map_min == (-0.007401,) and md.gain_map_max == (2.681641,)
    assert md.gamma == (0.874512,) and md.base_offset == (1e-5,) and md.alternate_offset == (1e-5,)
    assert md.base_hdr_headroom == 0.0 and md.alternate_hdr_headroom == 2.681641
    assert md.use_base_colour_space and not md.base_is_hdr
    assert math.isclose(2 ** md.gain_map_max[0], 6.41585, rel_tol=1e-5)
    assert build_iso(record) == payload


def test_version_block():
    assert version_block() == ISO_URN + b"\x00\x00\x00\x00"
    assert len(version_block()) + 2 == 0x22
    record = parse_iso(version_block())
    assert record.layout == "version-only" and record.flags is None and record.problems == []
    assert build_iso(record) == version_block()
    with pytest.raises(MetadataConversionError):
        iso_to_metadata(record)


def test_compact_layout_is_read_and_written_full():
    record = parse_iso(ISO_URN + COMPACT_EXAMPLE)
    assert len(COMPACT_EXAMPLE) == 37
    assert record.layout == "compact"
    assert [p.code for p in record.problems] == ["iso.legacy-compact"]
    md = iso_to_metadata(record)
    assert md.gain_map_min == (0.0,) and md.gain_map_max == (3.0,) and md.gamma == (1.0,)
    assert md.base_offset == (0.0,) and md.alternate_offset == (0.0,)
    assert (md.base_hdr_headroom, md.alternate_hdr_headroom) == (0.0, 3.0)
    out = build_iso(record)
    assert len(out) == 28 + 61 and out[28 + 4] == 0x40
    again = parse_iso(out)
    assert again.layout == "full" and again.problems == []
    assert iso_to_metadata(again) == md


def test_length_decides_full_even_with_bit3():
    body = bytearray(WORKED_EXAMPLE[4 + 28:])
    body[4] |= 0x08
    record = parse_iso(ISO_URN + bytes(body))
    assert record.layout == "full"
    assert [p.code for p in record.problems] == ["iso.reserved-flags"]
    assert iso_to_metadata(record).gain_map_max == (2.681641,)


def test_problem_codes():
    body = bytearray(WORKED_EXAMPLE[4 + 28:])
    body[0:2] = b"\x00\x01"                   # minimum_version 1, writer 0
    body[4] = 0x40 | 0x04 | 0x01              # legacy backward + reserved bit 0
    body[5 + 8 + 4:5 + 8 + 8] = b"\x00" * 4   # alternate headroom D = 0
    record = parse_iso(ISO_URN + bytes(body))
    codes = {p.code for p in record.problems}
    assert codes == {"iso.min-version", "iso.writer-version", "iso.legacy-backward", "iso.reserved-flags",
                     "iso.zero-denominator"}
    assert record.legacy_backward_direction
    zero = next(p for p in record.problems if p.code == "iso.zero-denominator")
    assert zero.offset == 28 + 5 + 8 + 4
    with pytest.raises(MetadataConversionError):
        iso_to_metadata(record)


def test_trailing_bytes_and_truncation():
    body = WORKED_EXAMPLE[4 + 28:]
    record = parse_iso(ISO_URN + body + b"xyz")
    assert record.trailing == b"xyz" and [p.code for p in record.problems] == ["iso.trailing-bytes"]
    assert (record.problems[0].offset, record.problems[0].length) == (28 + len(body), 3)
    assert build_iso(record) == ISO_URN + body + b"xyz"
    newer = bytearray(body)
    newer[2:4] = b"\x00\x01"
    assert parse_iso(ISO_URN + bytes(newer) + b"ext").problems == []
    short = parse_iso(ISO_URN + body[:40])
    assert [p.code for p in short.problems] == ["iso.length"]
    assert short.alternate_hdr_headroom == (2_681_641, 1_000_000) and short.channels == []
    with pytest.raises(MetadataConversionError):
        iso_to_metadata(short)
    multi_flag = bytearray(body)
    multi_flag[4] |= 0x80                     # says 3 channels, holds 1
    assert "iso.length" in {p.code for p in parse_iso(ISO_URN + bytes(multi_flag)).problems}


def test_not_iso_raises_schema_error():
    with pytest.raises(SchemaError):
        parse_iso(b"urn:iso:std:iso:ts:21496:-2\x00\x00\x00\x00\x00")
    with pytest.raises(SchemaError):
        parse_iso(ISO_URN + b"\x00\x00")


def test_build_rejects_bad_records():
    with pytest.raises(SchemaError):
        build_iso(IsoRecord(flags=0x40, base_hdr_headroom=(0, 1), alternate_hdr_headroom=(1, 1), channels=[],
                            layout="full"))
    with pytest.raises(SchemaError):
        build_iso(IsoRecord(flags=0x40, base_hdr_headroom=(0, 1), alternate_hdr_headroom=(1, 1 << 33),
                            channels=[dict.fromkeys(CHANNEL_FIELDS, (1, 1))], layout="full"))


# ------------------------------------------------------------------------------------------ schemas
def _frac(signed: bool):
    return st.fixed_dictionaries(dict(n=S32 if signed else U32, d=U32))


full_channel = st.fixed_dictionaries(dict(
    gain_map_min=_frac(True), gain_map_max=_frac(True), gamma=_frac(False), base_offset=_frac(True),
    alternate_offset=_frac(True)))


@st.composite
def full_dicts(draw):
    n = draw(st.sampled_from([1, 3]))
    flags = (draw(st.integers(0, 0xFF)) & ~0x88) | (0x80 if n == 3 else 0)
    return dict(minimum_version=draw(U16), writer_version=draw(U16), flags=flags,
                base_hdr_headroom=draw(_frac(False)), alternate_hdr_headroom=draw(_frac(False)),
                channels=draw(st.lists(full_channel, min_size=n, max_size=n)))


@settings(max_examples=80)
@given(full_dicts())
def test_full_schema_round_trip(obj):
    raw = FullMetadata.build(obj)
    assert len(raw) == (141 if len(obj["channels"]) == 3 else 61)
    assert FullMetadata.parse(raw) == obj
    assert FullMetadata.build(FullMetadata.parse(raw)) == raw


@settings(max_examples=60)
@given(st.binary(min_size=61, max_size=61))
def test_full_schema_bytes_round_trip(raw):
    raw = raw[:4] + bytes([raw[4] & 0x77]) + raw[5:]
    assert FullMetadata.build(FullMetadata.parse(raw)) == raw


compact_channel = st.fixed_dictionaries(dict(gain_map_min=S32, gain_map_max=S32, gamma=U32, base_offset=S32,
                                             alternate_offset=S32))


@settings(max_examples=60)
@given(n=st.sampled_from([1, 3]), data=st.data())
def test_compact_schema_round_trip(n, data):
    obj = dict(minimum_version=data.draw(U16), writer_version=data.draw(U16),
               flags=0x08 | (0x80 if n == 3 else 0), denominator=data.draw(U32),
               base_hdr_headroom=data.draw(U32), alternate_hdr_headroom=data.draw(U32),
               channels=data.draw(st.lists(compact_channel, min_size=n, max_size=n)))
    raw = CompactMetadata.build(obj)
    assert len(raw) == (77 if n == 3 else 37)
    assert CompactMetadata.parse(raw) == obj
    record = parse_iso(ISO_URN + raw)
    assert record.layout == "compact" and len(record.channels) == n


@settings(max_examples=30)
@given(U16, U16)
def test_version_schema_round_trip(a, b):
    raw = VersionBlock.build(dict(minimum_version=a, writer_version=b))
    assert VersionBlock.parse(raw) == dict(minimum_version=a, writer_version=b)
    assert parse_iso(ISO_URN + raw).minimum_version == a


@settings(max_examples=60)
@given(full_dicts())
def test_build_parse_record_round_trip(obj):
    payload = ISO_URN + FullMetadata.build(obj)
    record = parse_iso(payload)
    assert record.layout == "full"
    assert build_iso(record) == payload
    assert parse_iso(build_iso(record)) == record


# ------------------------------------------------------------------------------------------ metadata
def _channel_values(elements):
    return st.one_of(st.tuples(elements), st.tuples(elements, elements, elements))


@st.composite
def metadata(draw):
    n = draw(st.sampled_from([1, 3]))
    finite = dict(allow_nan=False, allow_infinity=False)

    def vals(lo, hi):
        return tuple(draw(st.floats(lo, hi, **finite)) for _ in range(n))

    return GainMapMetadata(
        gain_map_min=vals(-20, 20), gain_map_max=vals(-20, 20), gamma=vals(0.01, 10),
        base_offset=vals(-1, 1), alternate_offset=vals(-1, 1),
        base_hdr_headroom=draw(st.floats(0, 20, **finite)), alternate_hdr_headroom=draw(st.floats(0, 20, **finite)),
        use_base_colour_space=draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(metadata())
def test_metadata_round_trip(md):
    record = metadata_to_iso(md)
    payload = build_iso(record)
    n = 3 if md.is_multichannel else 1
    assert len(payload) == 28 + (141 if n == 3 else 61)
    assert payload[28 + 4] == (0x40 if md.use_base_colour_space else 0) | (0x80 if n == 3 else 0)
    back = parse_iso(payload)
    assert back.problems == []
    out = iso_to_metadata(back)
    assert out.channel_count == n
    assert out.approx_equal(md, tol=1e-6)


def test_metadata_to_iso_rejects_negative_headroom():
    with pytest.raises(MetadataConversionError):
        metadata_to_iso(GainMapMetadata(base_hdr_headroom=-0.5))


# ------------------------------------------------------------------------------------------ tolerance
@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_schema_error(raw):
    for candidate in (raw, ISO_URN + raw):
        try:
            record = parse_iso(candidate)
        except SchemaError:
            assert not candidate.startswith(ISO_URN) or len(candidate) < 32
            continue
        try:
            iso_to_metadata(record)
        except MetadataConversionError:
            pass


@settings(max_examples=100)
@given(full_dicts(), st.data())
def test_truncations_never_crash(obj, data):
    payload = ISO_URN + FullMetadata.build(obj)
    cut = data.draw(st.integers(0, len(payload)))
    try:
        record = parse_iso(payload[:cut])
    except SchemaError:
        assert cut < 32
    else:
        assert cut == len(payload) or record.layout == "version-only" or record.problems


# ------------------------------------------------------------------------------------------ corpus
def _corpus_iso_payloads() -> list[tuple[str, bytes]]:
    """Test helper: every APP2 ISO 21496-1 segment in the corpus files, gain-map images included."""
    found = []
    for path in sorted(CORPUS.glob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".mpo"):
            continue
        data = path.read_bytes()
        for m in re.finditer(re.escape(ISO_URN), data):
            if data[m.start() - 4:m.start() - 2] == b"\xff\xe2":
                length = int.from_bytes(data[m.start() - 2:m.start()], "big")
                found.append((path.name, data[m.start():m.start() - 2 + length]))
    return found


@pytest.mark.corpus
def test_corpus_iso_payloads():
    if not CORPUS.is_dir():
        pytest.skip("corpus not available at ../shared/corpus")
    payloads = _corpus_iso_payloads()
    assert len(payloads) >= 10
    layouts = set()
    for name, payload in payloads:
        record = parse_iso(payload)
        layouts.add(record.layout)
        assert build_iso(record) == payload, name
        if record.layout != "version-only":
            md = iso_to_metadata(record)
            assert md.is_finite(), name
            assert md.channel_count == (3 if record.is_multichannel else 1)
    assert layouts == {"version-only", "full"}


def test_to_fraction_uses_the_whole_int32_range():
    """-2**31 fits a signed 32-bit numerator (the fuzz found it refused); 2**31 does not."""
    from gainmap.metadata import MetadataConversionError, to_fraction

    assert to_fraction(-2147483648.0) == (-2147483648, 1)
    assert to_fraction(2147483647.0) == (2147483647, 1)
    assert to_fraction(4294967295.0, signed=False) == (4294967295, 1)
    for bad, signed in ((2147483648.0, True), (-2147483649.0, True), (4294967296.0, False), (-1.0, False)):
        with pytest.raises(MetadataConversionError):
            to_fraction(bad, signed=signed)


# ------------------------------------------------------------------------------------------ located record
def _stored(payload: bytes, base: int, where, signed: bool) -> int:
    return int.from_bytes(payload[where.offset - base:where.end - base], "big", signed=signed)


def _values(record: IsoRecord) -> list[tuple[str, int, bool]]:
    """(path, value, signed) of every number the record holds, as its layout stores it."""
    out = [("minimum_version", record.minimum_version, False), ("writer_version", record.writer_version, False)]
    if record.flags is None:
        return out
    out.append(("flags", record.flags, False))
    compact = record.layout == "compact"
    fractions = [(name, getattr(record, name), False) for name in ("base_hdr_headroom", "alternate_hdr_headroom")
                 if getattr(record, name) is not None]
    fractions += [(f"channels[{i}].{name}", c[name], SIGNED[name])
                  for i, c in enumerate(record.channels) for name in CHANNEL_FIELDS]
    for path, (n, d), signed in fractions:
        if compact:
            out.append((path, n, signed))
        else:
            out += [(f"{path}.n", n, signed), (f"{path}.d", d, False)]
    if compact:
        out.append(("denominator", record.base_hdr_headroom[1], False))
    return out


@settings(max_examples=80, deadline=None)
@given(full_dicts(), st.integers(0, 1 << 20), st.binary(max_size=6))
def test_full_record_round_trips_and_every_value_is_at_its_span(obj, base, tail):
    obj = {**obj, "writer_version": max(obj["writer_version"], 1) if tail else obj["writer_version"]}
    payload = ISO_URN + FullMetadata.build(obj) + tail
    record = read(payload, base)
    assert build(record) == payload and read(build(record), base) == record
    assert span(record, "urn") == Span(base, 28) and span(record, "metadata") == Span(base + 28, len(payload) - 28)
    for path, value, signed in _values(record):
        assert _stored(payload, base, span(record, path), signed) == value, path
        assert encode_field(record, path, value) == payload[span(record, path).offset - base:span(record, path).end
                                                            - base], path
    if tail:
        assert span(record, "trailing") == Span(base + len(payload) - len(tail), len(tail))
    assert [p.offset for p in read(payload).problems] == [p.offset - base for p in record.problems]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1, 3]), st.data())
def test_compact_record_values_are_at_their_spans(n, data):
    obj = dict(minimum_version=0, writer_version=0, flags=0x08 | (0x80 if n == 3 else 0), denominator=data.draw(U32),
               base_hdr_headroom=data.draw(U32), alternate_hdr_headroom=data.draw(U32),
               channels=data.draw(st.lists(compact_channel, min_size=n, max_size=n)))
    payload = ISO_URN + CompactMetadata.build(obj)
    base = data.draw(st.integers(0, 1 << 20))
    record = read(payload, base)
    assert record.layout == "compact"
    assert build_compact(record) == payload
    for path, value, signed in _values(record):
        assert _stored(payload, base, span(record, path), signed) == value, path
    if obj["denominator"] == 0:
        (problem,) = [p for p in record.problems if p.code == "iso.zero-denominator"]
        assert Span(problem.offset, problem.length) == span(record, "denominator")


@settings(max_examples=60, deadline=None)
@given(full_dicts(), st.data())
def test_problems_point_at_their_fields(obj, data):
    """Zero denominators, flags and a short block: each problem covers the bytes of the field it names."""
    payload = ISO_URN + FullMetadata.build(obj)
    cut = data.draw(st.integers(33, len(payload)))
    record = read(payload[:cut], 1000)
    for p in record.problems:
        owner = record.spans.owner(p.offset)
        assert owner is not None and p.offset + p.length <= 1000 + cut, p
        if p.code == "iso.zero-denominator":
            assert owner.endswith(".d") and span(record, owner) == Span(p.offset, p.length)
            assert _stored(payload, 1000, span(record, owner), False) == 0
        elif p.code in ("iso.reserved-flags", "iso.legacy-backward"):
            assert owner == "flags"
        elif p.code == "iso.length":
            assert Span(p.offset, p.length) == span(record, "metadata")
    for path, value, signed in _values(record):  # what a cut block still holds is where it says
        assert _stored(payload, 1000, span(record, path), signed) == value, path


@settings(max_examples=40, deadline=None)
@given(full_dicts(), st.data())
def test_encode_field_edits_one_value_in_place(obj, data):
    payload = ISO_URN + FullMetadata.build(obj)
    record = read(payload)
    path, _, signed = data.draw(st.sampled_from([v for v in _values(record) if v[0] != "flags"]))
    bits = 16 if path.endswith("version") else 32
    value = data.draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else
                      st.integers(0, (1 << bits) - 1))
    where = span(record, path)
    edited = payload[:where.offset] + encode_field(record, path, value) + payload[where.end:]
    assert dict((p, v) for p, v, _ in _values(read(edited)))[path] == value
    with pytest.raises(KeyError):
        encode_field(record, "channels[0].gain", 1)
    with pytest.raises(SchemaError):
        encode_field(record, "minimum_version", 1 << 16)


def test_build_compact_needs_one_denominator():
    one = dict.fromkeys(CHANNEL_FIELDS, (1, 2))
    record = IsoRecord(flags=0, base_hdr_headroom=(0, 2), alternate_hdr_headroom=(3, 2), channels=[one],
                       layout="compact")
    assert read(build_compact(record)).channels == [one]
    with pytest.raises(SchemaError, match="common denominator"):
        build_compact(IsoRecord(flags=0, base_hdr_headroom=(0, 1), alternate_hdr_headroom=(3, 2), channels=[one]))


def test_version_only_spans():
    record = read(version_block(0, 7), 50)
    assert span(record, "writer_version") == Span(50 + 28 + 2, 2)
    assert span(record, "metadata") == Span(78, 4)
    with pytest.raises(KeyError):
        span(record, "flags")
