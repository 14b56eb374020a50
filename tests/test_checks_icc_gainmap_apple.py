"""The icc, gainmap, apple and exif checks: each id trips on a targeted edit of a valid fixture, with the byte it
names, and the valid fixtures are clean (apart from the facts and justified warnings noted)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from checkhelpers import get, ids, module_findings, valid
from conftest import FIXTURES, fixture_files
from gainmap.analysis.checks import apple as apple_checks
from gainmap.analysis.checks import gainmap as gainmap_checks
from gainmap.analysis.checks import icc as icc_checks
from gainmap.analysis.checks.registry import Finding, registered
from gainmap.formats import icc, iso21496
from gainmap.formats.exif import EXIF_IDENT
from gainmap.formats.scanner import Segment
from gainmap.hdr import profiles
from gainmap.metadata import GainMapMetadata
from gainmap.model.assemble import assemble
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read

MODULES = {icc_checks.__name__, gainmap_checks.__name__, apple_checks.__name__}
MODULE_IDS = {i for rc in registered() if rc.fn.__module__ in MODULES for i in rc.ids}
MD = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(2.0,), gamma=(1.0,), base_offset=(1 / 64,),
                     alternate_offset=(1 / 64,), base_hdr_headroom=0.0, alternate_hdr_headroom=2.0)










def jpeg(w: int, h: int, mode: str = "RGB") -> bytes:
    y, x = np.mgrid[0:h, 0:w]
    px = ((x * 7 + y * 3) % 256).astype(np.uint8)
    if mode == "L":
        img = Image.fromarray(px)
    else:
        img = Image.fromarray(np.stack([px, px[::-1], px.T[:h, :w] if w == h else px], -1)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def build(primary: bytes, gm: bytes, **kw) -> bytes:
    return assemble(primary, gm, MD, **kw).to_bytes()


def replace_icc(data: bytes, payloads: list[bytes], image: str = "primary") -> bytes:
    gmf = read(data)
    im = gmf.primary if image == "primary" else gmf.gainmap
    for seg in [s for s in im.segments() if s.kind == "icc"]:
        im.remove(seg)
    for i, p in enumerate(payloads):
        im.insert(Segment.app(2, p), 2 + i)
    return gmf.to_bytes(recompute=True)


def add_tag(profile: bytes, sig: bytes, blob: bytes) -> bytes:
    """``profile`` with one more tag appended (table entries shifted, size field updated)."""
    count = int.from_bytes(profile[128:132], "big")
    end = 132 + 12 * count
    shifted = b"".join(profile[132 + 12 * i:136 + 12 * i]
                       + (int.from_bytes(profile[136 + 12 * i:140 + 12 * i], "big") + 12).to_bytes(4, "big")
                       + profile[140 + 12 * i:144 + 12 * i] for i in range(count))
    data = profile[end:] + b"\x00" * (-len(profile[end:]) % 4)
    entry = sig + (end + 12 + len(data)).to_bytes(4, "big") + len(blob).to_bytes(4, "big")
    out = profile[:128] + (count + 1).to_bytes(4, "big") + shifted + entry + data + blob
    return len(out).to_bytes(4, "big") + out[4:]


def chunks(profile: bytes, n: int) -> list[bytes]:
    return icc.split_profile(profile, max_data=-(-len(profile) // n))


def chunk(seq: int, count: int, data: bytes) -> bytes:
    return icc.build_icc_chunk(icc.IccChunk(seq, count, data))


# ------------------------------------------------------------------------------------------------ clean
JUSTIFIED = {
    # Apple-only files are exactly what apple.legacy-format describes: justified on the Apple fixtures.
    "apple.jpg": {"apple.legacy-format"}, "apple_v1.jpg": {"apple.legacy-format"},
}


@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_valid_fixtures_have_no_warnings(path):
    found = findings(path.read_bytes())
    assert {f.id for f in found if f.severity != "info"} == JUSTIFIED.get(path.name, set())


def test_module_families():
    assert {i.split(".")[0] for i in MODULE_IDS} == {"icc", "gainmap", "apple", "exif"}


# ------------------------------------------------------------------------------------------------ icc chunks
PROFILE = profiles.display_p3_profile()
DATA = PROFILE  # the bytes split across chunks


@pytest.mark.parametrize("payloads, fid, field", [
    ([chunk(1, 0, DATA)], "icc.chunk-count", 13),
    ([chunk(1, 2, DATA[:300]), chunk(2, 3, DATA[300:])], "icc.chunk-count-mismatch", 13),
    ([chunk(0, 2, DATA[:300]), chunk(2, 2, DATA[300:])], "icc.chunk-index", 12),
    ([chunk(1, 2, DATA[:300]), chunk(1, 2, DATA[300:])], "icc.chunk-duplicate", 12),
    ([chunk(1, 2, DATA[:300])], "icc.chunk-missing", None),
])
def test_chunk_rules(payloads, fid, field):
    data = replace_icc(valid(), payloads)
    segs = [s for s in read(data).primary.segments() if s.kind == "icc"]
    f = get(findings(data), fid)[0]
    assert f.image == 0 and f.severity == "warning"
    if field is None:
        assert f.offset == segs[0].offset
    else:
        bad = [s for s in segs if s.payload_offset + field == f.offset]
        assert bad and f.length == 1, (f, [s.offset for s in segs])
    assert "ICC_PROFILE APP2 at 0x" in f.message


def test_chunk_too_short_for_its_numbers():
    data = replace_icc(valid(), [b"ICC_PROFILE\x00\x01"])
    seg = next(s for s in read(data).primary.segments() if s.kind == "icc")
    f = get(findings(data), "icc.chunk-index")[0]
    assert f.offset == seg.offset and "too short" in f.message


def test_chunks_in_any_order_are_fine():
    two = chunks(PROFILE, 2)
    data = replace_icc(valid(), two[::-1])
    assert not ids(findings(data)) & {"icc.chunk-index", "icc.chunk-missing", "icc.chunk-duplicate", "icc.header"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=4))
def test_chunk_numbering_property(numbering):
    pieces = [DATA[i * 150:(i + 1) * 150] or b"x" for i in range(len(numbering))]
    payloads = [chunk(seq, count, p) for (seq, count), p in zip(numbering, pieces)]
    found = ids(findings(replace_icc(valid(), payloads)))
    n = numbering[0][1]
    well_formed = (n == len(numbering) and all(c == n for _, c in numbering)
                   and sorted(s for s, _ in numbering) == list(range(1, n + 1)))
    chunk_ids = {"icc.chunk-count", "icc.chunk-count-mismatch", "icc.chunk-index", "icc.chunk-duplicate",
                 "icc.chunk-missing"}
    assert bool(found & chunk_ids) == (not well_formed)


# ------------------------------------------------------------------------------------------------ icc profile
def _profile_file(profile: bytes, n: int = 2) -> tuple[bytes, int]:
    data = replace_icc(valid(), chunks(profile, n))
    segs = [s for s in read(data).primary.segments() if s.kind == "icc"]
    return data, segs[0].payload_offset + 14


def test_header_not_a_profile():
    data, start = _profile_file(b"\x00" * 200, 1)
    f = get(findings(data), "icc.header")[0]
    assert (f.offset, f.severity) == (start, "warning") and "acsp" in f.message
    assert "icc.gamut" not in ids(findings(data))


@pytest.mark.parametrize("edit, fid, rel", [
    (lambda p: (len(p) + 8).to_bytes(4, "big") + p[4:], "icc.size", 0),
    (lambda p: p[:79] + bytes([p[79] ^ 1]) + p[80:], "icc.illuminant", 68),
    (lambda p: p[:128] + (10 ** 6).to_bytes(4, "big") + p[132:], "icc.tag-count", 128),
    (lambda p: p[:136] + (10 ** 6).to_bytes(4, "big") + p[140:], "icc.tag-bounds", 132),
    (lambda p: p[:144] + p[132:144] + p[156:], "icc.tag-duplicate", 144),
    (lambda p: p[:16] + b"GRAY" + p[20:], "icc.colour-space", 16),
])
def test_profile_problems_point_into_the_chunks(edit, fid, rel):
    profile = edit(PROFILE)
    data, start = _profile_file(profile, 1)
    f = get(findings(data), fid)[0]
    assert (f.offset, f.image, f.severity) == (start + rel, 0, "warning")


def test_profile_offset_mapping_across_chunks():
    profile = PROFILE[:79] + bytes([PROFILE[79] ^ 1]) + PROFILE[80:]
    data = replace_icc(valid(), [chunk(1, 2, profile[:50]), chunk(2, 2, profile[50:])])
    segs = [s for s in read(data).primary.segments() if s.kind == "icc"]
    f = get(findings(data), "icc.illuminant")[0]
    assert f.offset == segs[1].payload_offset + 14 + (68 - 50)


def test_tag_type():
    sig = PROFILE.find(b"XYZ ", 132)
    profile = PROFILE[:sig] + b"abcd" + PROFILE[sig + 4:]
    data, start = _profile_file(profile, 1)
    assert get(findings(data), "icc.tag-type")[0].offset == start


def test_gamut_info():
    f = get(findings(valid()), "icc.gamut")[0]
    assert f.severity == "info" and f.detail["colour_space"] == "srgb"
    f = get(findings(valid("apple.jpg")), "icc.gamut")[0]
    assert f.detail["colour_space"] == "display-p3" and f.image == 0


def test_missing_icc():
    data = (FIXTURES / "broken" / "no_icc.jpg").read_bytes()
    f = get(findings(data), "icc.missing")[0]
    assert (f.severity, f.image) == ("warning", 0)
    assert "icc.missing" not in ids(findings(jpeg(32, 24)))  # a plain JPEG is not a gain-map file


CICP_PQ = b"cicp" + b"\x00" * 4 + bytes([9, 16, 0, 1])


def test_gainmap_profile_hdr_intent():
    hdr_icc = add_tag(profiles.srgb_profile(), b"cicp", CICP_PQ)
    data = build(jpeg(64, 48), jpeg(16, 12, "L"), write_xmp=False, icc=profiles.srgb_profile(), gainmap_icc=hdr_icc)
    gmf = read(data)
    f = get(findings(data), "icc.gainmap-profile")[0]
    seg = next(s for s in gmf.gainmap.segments() if s.kind == "icc")
    assert (f.offset, f.image, f.severity) == (seg.offset, 1, "warning")
    assert "9/16/0/1" in f.message


def test_gainmap_profile_lut_based():
    lut = profiles.srgb_profile().replace(b"rXYZ", b"A2B0", 1)
    data = build(jpeg(64, 48), jpeg(16, 12, "L"), write_xmp=False, gainmap_icc=lut)
    assert "LUT-based" in get(findings(data), "icc.gainmap-profile")[0].message


def test_gainmap_profile_not_for_plain_profiles_or_own_colour_space():
    data = build(jpeg(64, 48), jpeg(16, 12, "L"), write_xmp=False, gainmap_icc=profiles.srgb_profile())
    assert "icc.gainmap-profile" not in ids(findings(data))
    hdr_icc = add_tag(profiles.srgb_profile(), b"cicp", CICP_PQ)
    data = build(jpeg(64, 48), jpeg(16, 12, "L"), write_xmp=False, gainmap_icc=hdr_icc)
    gmf = read(data)
    seg = gmf.gainmap.first("iso21496")
    flags_at = seg.payload_offset + len(iso21496.ISO_URN) + 4
    own = bytearray(data)
    own[flags_at] &= ~0x40 & 0xFF  # use_base_colour_space = 0: the gain-map ICC is meaningful
    found = findings(bytes(own))
    assert "icc.gainmap-profile" not in ids(found)
    assert any(f.id == "icc.gamut" and f.image == 1 for f in found)


# ------------------------------------------------------------------------------------------------ gainmap
def test_gainmap_decode():
    data = (FIXTURES / "broken" / "truncated_gainmap.jpg").read_bytes()
    gmf = read(data)
    f = get(findings(data), "gainmap.decode")[0]
    assert (f.offset, f.length, f.severity, f.image) == (gmf.gainmap.offset, gmf.gainmap.size, "error", 1)


def test_gainmap_decode_bogus_huffman_table():
    data = bytearray(valid())
    dht = next(s for s in read(bytes(data)).gainmap.segments() if s.name == "DHT")
    data[dht.payload_offset + 1:dht.payload_offset + 17] = b"\xff" * 16  # code counts that overflow
    f = get(findings(bytes(data)), "gainmap.decode")[0]
    assert "OSError" in f.message and f.image == 1


def test_gainmap_channels():
    data = build(jpeg(64, 48), jpeg(16, 12, "CMYK"))
    f = get(findings(data), "gainmap.channels")[0]
    assert f.offset == read(data).gainmap.frame_segment.offset and "4 components" in f.message


@pytest.mark.parametrize("gm_size, fid, words", [
    ((128, 96), "gainmap.size-ratio", "larger than the primary"),
    ((16, 16), "gainmap.size-ratio", "aspect ratios differ"),
    ((20, 15), "gainmap.integer-ratio", "not an integer"),
])
def test_gainmap_size(gm_size, fid, words):
    data = build(jpeg(64, 48), jpeg(*gm_size, "L"))
    found = findings(data)
    f = get(found, fid)[0]
    assert words in f.message and f.image == 1
    assert len({"gainmap.size-ratio", "gainmap.integer-ratio"} & ids(found)) == 1


def test_gainmap_size_rounding_is_tolerated():
    assert not ids(findings(build(jpeg(64, 48), jpeg(16, 12, "L")))) & {"gainmap.size-ratio",
                                                                         "gainmap.integer-ratio"}
    # 101x76 mapped to 25x19 (each side divided by 4 and rounded): not "another aspect ratio"
    found = ids(findings(build(jpeg(101, 76), jpeg(25, 19, "L"))))
    assert "gainmap.size-ratio" not in found


def test_dimension_limit():
    data = build(jpeg(8200, 8), jpeg(2050, 2, "L"))
    f = get(findings(data), "gainmap.dimension-limit")[0]
    assert f.image == 0 and "8200x8" in f.message
    assert "gainmap.dimension-limit" not in ids(findings(build(jpeg(8192, 8), jpeg(2048, 2, "L"))))


# ------------------------------------------------------------------------------------------------ apple
def test_apple_facts():
    found = findings(valid("apple.jpg"))
    gm = read(valid("apple.jpg")).gainmap
    f = get(found, "apple.gainmap")[0]
    assert (f.severity, f.image, f.offset) == ("info", 1, gm.first("xmp").offset)
    u = get(found, "apple.headroom-units")[0]
    assert "x4.5" in u.message and "x22.63" in u.message
    assert get(found, "apple.legacy-format")[0].severity == "warning"
    v1 = ids(findings(valid("apple_v1.jpg")))
    assert "apple.gainmap" in v1 and "apple.headroom-units" not in v1
    assert not ids(findings(valid())) & {"apple.gainmap", "apple.legacy-format", "apple.headroom-units"}


def test_apple_with_iso_is_not_legacy():
    gmf = read(valid("apple.jpg"))
    gmf.gainmap.insert(Segment.app(2, iso21496.build_iso(iso21496.metadata_to_iso(MD))))
    gmf.primary.insert(Segment.app(2, iso21496.version_block()))
    data = gmf.to_bytes(recompute=True)
    found = ids(findings(data))
    assert "apple.gainmap" in found and "apple.legacy-format" not in found


def _without_exif(name: str) -> bytes:
    gmf = read(valid(name))
    gmf.primary.remove(gmf.primary.first("exif"))
    return gmf.to_bytes(recompute=True)


def test_makernote_and_headroom_missing():
    found = findings(_without_exif("apple.jpg"))
    f = get(found, "apple.makernote-missing")[0]
    assert f.severity == "error" and "no Exif" in f.message
    assert "apple.headroom-missing" not in ids(found)  # HDRGainMapHeadroom in the XMP still gives it
    found = ids(findings(_without_exif("apple_v1.jpg")))
    assert {"apple.makernote-missing", "apple.headroom-missing"} <= found
    assert not ids(findings(valid("apple_v1.jpg"))) & {"apple.makernote-missing", "apple.headroom-missing"}


def test_apple_xmp_value():
    gmf = read(valid("apple.jpg"))
    seg = gmf.gainmap.first("xmp")
    seg.payload = seg.payload.replace(b"<HDRGainMap:HDRGainMapVersion>131072", b"<HDRGainMap:HDRGainMapVersion>1x3")
    data = gmf.to_bytes(recompute=True)
    f = get(findings(data), "apple.xmp-value")[0]
    seg = read(data).gainmap.first("xmp")
    assert f.image == 1 and seg.offset <= f.offset < seg.offset + seg.size and "1x3" in f.message


# ------------------------------------------------------------------------------------------------ exif
def _tiff(ifd0: list[tuple[int, int, int, bytes]], extra: bytes = b"", first: int = 8) -> bytes:
    body = struct.pack(">H", len(ifd0)) + b"".join(struct.pack(">HHI", t, ty, c) + v for t, ty, c, v in ifd0)
    return EXIF_IDENT + b"MM\x00\x2a" + struct.pack(">I", first) + body + b"\x00\x00\x00\x00" + extra


def _note(tag33_type: int = 10, header: bytes = b"Apple iOS\x00\x00\x01MM") -> bytes:
    ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x21, tag33_type, 1, 14 + 2 + 12 + 4) + b"\x00" * 4
    return header + ifd + struct.pack(">iI", 3, 2)


def _with_exif(payload: bytes) -> bytes:
    gmf = read(valid("apple.jpg"))
    gmf.primary.first("exif").payload = payload
    return gmf.to_bytes(recompute=True)


def _exif_ifd_with(note: bytes) -> bytes:
    # IFD0 (1 entry: ExifIFD -> 26), Exif IFD at 26 (1 entry: MakerNote at 44), note at 44
    exif_ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x927C, 7, len(note), 44) + b"\x00" * 4
    return _tiff([(0x8769, 4, 1, struct.pack(">I", 26))], exif_ifd + note)


@pytest.mark.parametrize("payload, fid", [
    (EXIF_IDENT + b"XY\x00\x2a\x00\x00\x00\x08" + b"\x00" * 6, "exif.byte-order"),
    (_tiff([], first=4000), "exif.ifd-bounds"),
    (_tiff([(0x010F, 2, 40, struct.pack(">I", 5000))]), "exif.value-bounds"),
    (_tiff([(0x8769, 4, 1, struct.pack(">I", 8))]), "exif.ifd-loop"),
    (_tiff([(0x0112, 3, 1, b"\x00\x01\x00\x00"), (0x0112, 3, 1, b"\x00\x01\x00\x00")]), "exif.tag-duplicate"),
    (_exif_ifd_with(_note(header=b"Apple iOS\x00\x00\x01II")), "exif.apple-header"),
    (_exif_ifd_with(_note(tag33_type=5)), "exif.apple-tag-type"),
])
def test_exif_problems(payload, fid):
    data = _with_exif(payload)
    seg = read(data).primary.first("exif")
    f = get(findings(data), fid)[0]
    assert f.image == 0 and seg.payload_offset <= f.offset < seg.payload_offset + len(seg.payload)
    assert "Exif APP1 of the primary" in f.message


def test_valid_maker_note_gives_no_exif_findings():
    found = ids(findings(_with_exif(_exif_ifd_with(_note()))))
    assert not {i for i in found if i.startswith("exif.")}
    assert "apple.makernote-missing" not in found


def test_grayscale_primary_is_not_a_libultrahdr_base():
    import io as _io

    from PIL import Image as _Image

    from gainmap.analysis.validate import check_bytes as _check
    from gainmap.editing.restore import restore

    buf = _io.BytesIO()
    _Image.new("L", (64, 48), 128).save(buf, "JPEG")
    out = restore(buf.getvalue(), predictor="heuristic").to_bytes()
    report = _check(out)
    assert [f.id for f in report.findings if f.severity == "error"] == ["gainmap.base-format"]
    assert not report.viewers["libultrahdr"].hdr and report.viewers["chrome"].hdr
    valid = _check((FIXTURES / "valid" / "ultrahdr.jpg").read_bytes())
    assert "gainmap.base-format" not in {f.id for f in valid.findings}


def findings(data: bytes, gmf: GainMapFile | None = None) -> list[Finding]:
    return module_findings(data, MODULES, gmf)
