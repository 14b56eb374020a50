"""ICC schema: APP2 chunks, reassembly rules, profile inspection and generated profiles."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from gainmap.errors import SchemaError
from gainmap.formats import icc
from gainmap.formats.icc import (
    ICC_IDENT,
    CicpType,
    IccChunk,
    IccChunkStruct,
    IccHeaderStruct,
    MlucHead,
    ParaType,
    Sf32Type,
    TagTable,
    XYZType,
    assemble_icc,
    build_icc_chunk,
    parse_icc_chunk,
    parse_icc_profile,
    split_profile,
)
from gainmap.hdr import color, profiles
from gainmap.hdr.profiles import make_rgb_profile

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
U8 = st.integers(0, 255)
U32 = st.integers(0, 0xFFFFFFFF)
S32 = st.integers(-(1 << 31), (1 << 31) - 1)
SIG = st.binary(min_size=4, max_size=4)


# ------------------------------------------------------------------------------------------ chunks
@settings(max_examples=60)
@given(seq=U8, count=U8, data=st.binary(max_size=300))
def test_chunk_round_trip(seq, count, data):
    chunk = IccChunk(seq, count, data)
    payload = build_icc_chunk(chunk)
    assert payload[:12] == ICC_IDENT and payload[12] == seq and payload[13] == count
    assert parse_icc_chunk(payload) == chunk
    assert IccChunkStruct.build(IccChunkStruct.parse(payload)) == payload


def test_chunk_rejects_other_payloads():
    for raw in (b"", b"ICC_PROFILE", b"ICC_PROFILE\x00\x01", b"XMP_PROFILE\x00\x01\x01abc"):
        with pytest.raises(SchemaError):
            parse_icc_chunk(raw)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(profile=st.binary(min_size=1, max_size=4000), max_data=st.integers(16, 2000), order=st.randoms())
def test_split_assemble_round_trip(profile, max_data, order):
    payloads = split_profile(profile, max_data=max_data)
    assert all(len(p) <= 14 + max_data for p in payloads)
    chunks = [parse_icc_chunk(p) for p in payloads]
    assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
    assert {c.count for c in chunks} == {len(chunks)}
    order.shuffle(chunks)
    assembled, problems = assemble_icc(chunks)
    assert problems == [] and assembled == profile


def test_split_default_chunk_size_and_limits():
    profile = bytes(range(256)) * 600  # 153600 bytes -> 3 chunks of <= 65519
    payloads = split_profile(profile)
    assert [len(p) - 14 for p in payloads] == [65519, 65519, 153600 - 2 * 65519]
    assert all(len(p) <= 65533 for p in payloads)
    with pytest.raises(SchemaError):
        split_profile(b"")
    with pytest.raises(SchemaError):
        split_profile(b"x" * 300, max_data=1)


@pytest.mark.parametrize(("chunks", "code"), [
    ([IccChunk(1, 0, b"a")], "icc.chunk-count"),
    ([IccChunk(0, 1, b"a")], "icc.chunk-index"),
    ([IccChunk(3, 2, b"a"), IccChunk(1, 2, b"b")], "icc.chunk-index"),
    ([IccChunk(1, 2, b"a"), IccChunk(2, 3, b"b")], "icc.chunk-count-mismatch"),
    ([IccChunk(1, 2, b"a"), IccChunk(1, 2, b"b"), IccChunk(2, 2, b"c")], "icc.chunk-duplicate"),
    ([IccChunk(1, 3, b"a"), IccChunk(3, 3, b"b")], "icc.chunk-missing"),
])
def test_assembly_rules(chunks, code):
    profile, problems = assemble_icc(chunks)
    assert profile is None
    assert code in {p.code for p in problems}


def test_assemble_nothing():
    assert assemble_icc([]) == (None, [])


# ------------------------------------------------------------------------------------------ schemas
header_dicts = st.fixed_dictionaries(dict(
    size=U32, cmm=SIG, version_major=U8, version_minor=U8, device_class=SIG, colour_space=SIG, pcs=SIG,
    date=st.lists(st.integers(0, 0xFFFF), min_size=6, max_size=6), platform=SIG, flags=U32, manufacturer=SIG,
    model=U32, attributes=st.integers(0, (1 << 64) - 1), intent=U32, illuminant=st.lists(S32, min_size=3, max_size=3),
    creator=SIG, profile_id=st.binary(min_size=16, max_size=16)))


@settings(max_examples=60)
@given(header_dicts)
def test_header_schema_round_trip(obj):
    raw = IccHeaderStruct.build(obj)
    assert len(raw) == 128 and raw[36:40] == b"acsp"
    assert IccHeaderStruct.parse(raw) == {**obj, "magic": b"acsp"}
    assert IccHeaderStruct.build(IccHeaderStruct.parse(raw)) == raw


@settings(max_examples=60)
@given(st.lists(st.fixed_dictionaries(dict(signature=SIG, offset=U32, size=U32)), max_size=20))
def test_tag_table_round_trip(entries):
    raw = TagTable.build(dict(entries=entries))
    assert len(raw) == 4 + 12 * len(entries)
    parsed = TagTable.parse(raw)
    assert parsed.count == len(entries) and list(parsed.entries) == entries
    assert TagTable.build(parsed) == raw


@settings(max_examples=40)
@given(xyz=st.lists(S32, min_size=3, max_size=3), nine=st.lists(S32, min_size=9, max_size=9),
       function=st.integers(0, 4), params=st.lists(S32, min_size=7, max_size=7), cicp=st.tuples(U8, U8, U8, U8))
def test_tag_type_schemas_round_trip(xyz, nine, function, params, cicp):
    for schema, obj in (
        (XYZType, dict(xyz=xyz)),
        (Sf32Type, dict(numbers=nine)),
        (ParaType, dict(function=function, params=params[:icc.PARA_PARAM_COUNTS[function]])),
        (CicpType, dict(primaries=cicp[0], transfer=cicp[1], matrix=cicp[2], full_range=cicp[3])),
    ):
        raw = schema.build(obj)
        parsed = schema.parse(raw)
        assert {k: v for k, v in parsed.items() if not k.startswith("_") and k != "type"} == obj
        assert schema.build(parsed) == raw


@settings(max_examples=40)
@given(st.lists(st.fixed_dictionaries(dict(language=st.binary(min_size=2, max_size=2),
                                           country=st.binary(min_size=2, max_size=2), length=U32, offset=U32)),
                max_size=5))
def test_mluc_head_round_trip(records):
    raw = MlucHead.build(dict(records=records))
    parsed = MlucHead.parse(raw)
    assert list(parsed.records) == records and parsed.record_size == 12
    assert MlucHead.build(parsed) == raw


# ------------------------------------------------------------------------------------------ generation
def _xy_near(x: float, y: float, dx: float, dy: float):
    return st.tuples(st.floats(x - dx, x + dx), st.floats(y - dy, y + dy))


def _xy_triangles():
    """Plausible RGB gamuts: around sRGB .. BT.2020 primaries."""
    return st.tuples(_xy_near(0.66, 0.31, 0.07, 0.03), _xy_near(0.25, 0.68, 0.1, 0.12),
                     _xy_near(0.14, 0.06, 0.02, 0.02))


@settings(max_examples=60, deadline=None)
@given(primaries=_xy_triangles(), white=st.tuples(st.floats(0.28, 0.36), st.floats(0.28, 0.38)),
       text=st.text(st.characters(blacklist_characters="\x00"), max_size=40))
def test_generated_profile_recovers_primaries(primaries, white, text):
    m = color.rgb_to_xyz_matrix(primaries, white)
    assume(np.min(m[1]) > 0.005)
    profile = make_rgb_profile(text, primaries, white)
    parsed = parse_icc_profile(profile)
    assert parsed.problems == []
    assert parsed.description == text
    h = parsed.header
    assert (h.size, h.version, h.device_class, h.colour_space, h.pcs) == (len(profile), (4, 3), "mntr", "RGB ",
                                                                          "XYZ ")
    assert parsed.white_xyz == pytest.approx(icc.D50, abs=1e-4)
    got, got_white = color.native_primaries(parsed.colorants)
    for (gx, gy), (ex, ey) in zip(got, primaries, strict=True):
        assert abs(gx - ex) < 1e-3 and abs(gy - ey) < 1e-3
    assert abs(got_white[0] - white[0]) < 1e-3 and abs(got_white[1] - white[1]) < 1e-3
    kind, params = parsed.curves["rTRC"]
    assert kind == "para" and params[0] == 3.0
    assert params[1:] == pytest.approx(color.SRGB_PARAMETRIC, abs=1e-4)
    zeroed = bytearray(profile)
    zeroed[44:48], zeroed[64:68], zeroed[84:100] = bytes(4), bytes(4), bytes(16)  # ICC profile-ID rule
    assert hashlib.md5(bytes(zeroed)).digest() == h.profile_id


def test_pcs_matrix_rows_sum_to_d50():
    parsed = parse_icc_profile(profiles.display_p3_profile())
    assert color.pcs_matrix(parsed.colorants).sum(axis=1) == pytest.approx(icc.D50, abs=2e-4)
    assert parsed.chad is not None


def test_lazy_constants():
    assert profiles.SRGB_PROFILE is profiles.srgb_profile()
    assert profiles.DISPLAY_P3_PROFILE == profiles.display_p3_profile()
    with pytest.raises(AttributeError):
        profiles.NO_SUCH_PROFILE  # noqa: B018


def _transform(dst: bytes, pixels: np.ndarray) -> np.ndarray:
    image = Image.fromarray(pixels, "RGB")
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"),
                                        ImageCms.ImageCmsProfile(io.BytesIO(dst)), "RGB", "RGB")
    return np.asarray(ImageCms.applyTransform(image, transform)).astype(int)


def test_pillow_accepts_generated_profiles():
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    out = _transform(profiles.srgb_profile(), pixels)
    assert np.max(np.abs(out - pixels.astype(int))) <= 1
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(profiles.display_p3_profile()))
    assert ImageCms.getProfileDescription(p3).strip() == "Display P3"
    red = _transform(profiles.display_p3_profile(), np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0]
    assert np.max(np.abs(red - np.array([234, 51, 35]))) <= 1  # sRGB red inside P3


def test_make_rgb_profile_rejects_bad_input():
    with pytest.raises(ValueError):
        make_rgb_profile("x", color.PRIMARIES["srgb"], trc="pq")
    with pytest.raises(ValueError):
        make_rgb_profile("x", ((0.6, 0.3), (0.3, 0.6)))


# ------------------------------------------------------------------------------------------ inspection
def _v2_profile() -> bytes:
    """A v2-style profile: textDescriptionType desc, wtpt = D65, no chad, a gamma curv."""
    desc = b"desc" + bytes(4) + (5).to_bytes(4, "big") + b"v2 x\x00" + bytes(79)
    d65 = color.WHITE_D65
    white = np.array([d65[0] / d65[1], 1.0, (1 - d65[0] - d65[1]) / d65[1]])
    adapt = color.bradford_matrix(white, np.array(icc.D50))
    m = adapt @ color.rgb_to_xyz_matrix(color.PRIMARIES["srgb"], d65)
    xyz = [XYZType.build(dict(xyz=[round(v * 65536) for v in col])) for col in (m[:, 0], m[:, 1], m[:, 2], white)]
    curv = b"curv" + bytes(4) + (1).to_bytes(4, "big") + (563).to_bytes(2, "big") + b"\x00\x00"
    tags = [("desc", desc), ("rXYZ", xyz[0]), ("gXYZ", xyz[1]), ("bXYZ", xyz[2]), ("wtpt", xyz[3]),
            ("rTRC", curv)]
    offset = 128 + 4 + 12 * len(tags)
    entries, blob = [], b""
    for sig, data in tags:
        entries.append(dict(signature=sig.encode(), offset=offset + len(blob), size=len(data)))
        blob += data
    table = TagTable.build(dict(entries=entries))
    size = 128 + len(table) + len(blob)
    header = IccHeaderStruct.build(dict(
        size=size, cmm=b"test", version_major=2, version_minor=0x10, device_class=b"mntr", colour_space=b"RGB ",
        pcs=b"XYZ ", date=[0] * 6, platform=b"APPL", flags=0, manufacturer=bytes(4), model=0, attributes=0,
        intent=0, illuminant=list(icc.D50_RAW), creator=bytes(4), profile_id=bytes(16)))
    return header + table + blob


def test_v2_profile_inspection():
    parsed = parse_icc_profile(_v2_profile())
    assert parsed.problems == []
    assert parsed.header.version == (2, 1) and parsed.header.cmm == "test"
    assert parsed.description == "v2 x"
    assert parsed.curves["rTRC"] == ("curv", (563 / 256,))
    assert parsed.chad is None
    got, white = color.native_primaries(parsed.colorants)
    for (gx, gy), (ex, ey) in zip(got, color.PRIMARIES["srgb"], strict=True):
        assert abs(gx - ex) < 1e-3 and abs(gy - ey) < 1e-3
    assert white == pytest.approx(color.WHITE_D65, abs=1e-3)


def test_inspection_problems():
    good = profiles.srgb_profile()
    bad = bytearray(good)
    bad[0:4] = (len(good) + 10).to_bytes(4, "big")             # size lies
    bad[79] ^= 1                                                 # illuminant off by one unit
    first_tag = 132
    bad[first_tag + 4:first_tag + 8] = (10_000).to_bytes(4, "big")  # desc out of bounds
    parsed = parse_icc_profile(bytes(bad))
    codes = {p.code for p in parsed.problems}
    assert {"icc.size", "icc.illuminant", "icc.tag-bounds"} <= codes
    assert parsed.description is None and "desc" not in parsed.tags
    assert parsed.red_xyz is not None
    dup = bytearray(good)
    dup[first_tag + 12:first_tag + 16] = b"desc"                 # 'cprt' renamed to a second 'desc'
    assert "icc.tag-duplicate" in {p.code for p in parse_icc_profile(bytes(dup)).problems}
    many = bytearray(good)
    many[128:132] = (5000).to_bytes(4, "big")
    assert "icc.tag-count" in {p.code for p in parse_icc_profile(bytes(many)).problems}


def test_not_a_profile():
    for raw in (b"", b"x" * 131, bytes(200)):
        with pytest.raises(SchemaError):
            parse_icc_profile(raw)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.data())
def test_random_and_mutated_profiles_raise_only_schema_error(raw, data):
    base = profiles.srgb_profile()
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 8))):
        mutated[data.draw(st.integers(0, len(base) - 1))] = data.draw(U8)
    mutated[36:40] = b"acsp"
    cut = data.draw(st.integers(0, len(base)))
    for candidate in (raw, raw[:36] + b"acsp" + raw[40:], bytes(mutated), base[:cut]):
        try:
            parse_icc_profile(candidate)
        except SchemaError:
            pass


# ------------------------------------------------------------------------------------------ corpus
def _corpus_profiles() -> list[tuple[str, list[IccChunk]]]:
    """Test helper: ICC chunks of each file, grouped per image (a new group at every sequence 1)."""
    out = []
    for path in sorted(CORPUS.glob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".mpo"):
            continue
        data = path.read_bytes()
        groups: list[list[IccChunk]] = []
        for m in re.finditer(rb"\xff\xe2(..)ICC_PROFILE\x00", data, re.DOTALL):
            length = int.from_bytes(m.group(1), "big")
            chunk = parse_icc_chunk(data[m.start() + 4:m.start() + 2 + length])
            if chunk.seq == 1 or not groups:
                groups.append([])
            groups[-1].append(chunk)
        out += [(path.name, g) for g in groups]
    return out


@pytest.mark.corpus
def test_corpus_profiles_parse():
    if not CORPUS.is_dir():
        pytest.skip("corpus not available at ../shared/corpus")
    profiles = _corpus_profiles()
    assert len(profiles) > 40
    srgb_seen = 0
    for name, chunks in profiles:
        profile, problems = assemble_icc(chunks)
        assert profile is not None and problems == [], name
        parsed = parse_icc_profile(profile)
        assert parsed.description, name
        if parsed.description == "sRGB IEC61966-2.1":
            srgb_seen += 1
            got, _ = color.native_primaries(parsed.colorants)
            for (gx, gy), (ex, ey) in zip(got, color.PRIMARIES["srgb"], strict=True):
                assert abs(gx - ex) < 2e-3 and abs(gy - ey) < 2e-3, name
    assert srgb_seen >= 3


def test_nul_in_a_description_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        make_rgb_profile("a\x00b", color.PRIMARIES["srgb"], color.WHITE_D65)
