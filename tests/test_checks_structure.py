"""The jpeg, layout and locate checks (gainmap.analysis.checks.structure): every id trips on a targeted edit of a valid
fixture and stays quiet on the valid fixtures."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from checkhelpers import ids, module_findings, valid
from conftest import FIXTURES, fixture_files
from gainmap.analysis.checks import structure
from gainmap.analysis.checks.registry import Finding, registered
from gainmap.analysis.validate import CheckContext
from gainmap.errors import Problem
from gainmap.model.container import JpegImage
from gainmap.model.reader import read

MODULE_IDS = {i for rc in registered() if rc.fn.__module__ == structure.__name__ for i in rc.ids}


def findings(data: bytes, gmf=None) -> list[Finding]:
    """Run only this module's checks; no check may crash."""
    return module_findings(data, {structure.__name__}, gmf)




def one(found: list[Finding], fid: str) -> Finding:
    hits = [f for f in found if f.id == fid]
    assert len(hits) == 1, (fid, found)
    return hits[0]




def plain_jpeg(w: int = 32, h: int = 24) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ valid files
@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_valid_fixtures_have_no_structure_warnings(path):
    found = findings(path.read_bytes())
    assert [f for f in found if f.severity != "info"] == []


def test_module_declares_its_families_only():
    assert MODULE_IDS
    assert {i.split(".")[0] for i in MODULE_IDS} == {"jpeg", "layout", "locate"}


# ------------------------------------------------------------------------------------------------ jpeg
def test_fill_after_soi():
    data = valid()
    bad = data[:2] + b"\xff" + data[2:]
    f = one(findings(bad), "jpeg.fill-after-soi")
    assert (f.offset, f.image, f.severity) == (2, 0, "error")
    assert "jpeg.fill-bytes" not in ids(findings(bad))  # the fill right after SOI is not double-reported


def test_fill_bytes_info_with_offset():
    data = valid()
    dqt = next(s for s in read(data).primary.segments() if s.name == "DQT")
    bad = data[:dqt.offset] + b"\xff\xff\xff" + data[dqt.offset:]
    f = one(findings(bad), "jpeg.fill-bytes")
    assert (f.offset, f.length, f.severity, f.image) == (dqt.offset, 3, "info", 0)
    assert "DQT" in f.message
    assert "jpeg.fill-bytes" not in ids(findings(data))


def test_fill_bytes_summarised_per_image():
    data = valid()
    segs = [s for s in read(data).primary.segments() if s.name in ("DQT", "DHT")]
    bad = bytearray(data)
    for s in sorted(segs, key=lambda s: s.offset, reverse=True):
        bad[s.offset:s.offset] = b"\xff"
    f = one(findings(bytes(bad)), "jpeg.fill-bytes")
    assert f"{len(segs)} fill byte(s) in all" in f.message


def test_garbage_between_segments():
    data = valid()
    dqt = next(s for s in read(data).primary.segments() if s.name == "DQT")
    bad = data[:dqt.offset] + b"\x01\x02\x03" + data[dqt.offset:]
    f = one(findings(bad), "jpeg.garbage")
    assert (f.offset, f.length, f.image) == (dqt.offset, 3, 0)


def test_unexpected_soi():
    data = valid()
    dqt = next(s for s in read(data).primary.segments() if s.name == "DQT")
    bad = data[:dqt.offset] + b"\xff\xd8" + data[dqt.offset:]
    f = one(findings(bad), "jpeg.unexpected-soi")
    assert (f.offset, f.image) == (dqt.offset, 0)


def test_truncated_inside_marker():
    gmf = read(valid())
    gm = gmf.gainmap
    cut = gm.first("xmp").offset + 1  # ends right after the FF of the gain map's APP1
    f = one(findings(valid()[:cut]), "jpeg.truncated")
    assert f.image == 1 and f.offset == cut - 1


def test_segment_length_past_eof():
    gmf = read(valid())
    seg = gmf.gainmap.first("xmp")
    f = one(findings(valid()[:seg.offset + 20]), "jpeg.segment-length")
    assert (f.offset, f.image) == (seg.offset, 1)


def test_missing_eoi_on_the_gain_map():
    data = valid()
    f = one(findings(data[:-2]), "jpeg.missing-eoi")
    assert f.offset == len(data) - 2 and f.image == 1


def test_reader_problem_codes_are_converted():
    """jpeg.no-soi has no reader path today; any reader Problem of these families must still surface."""
    data = valid()
    gmf = read(data)
    gmf.problems.append(Problem("jpeg.no-soi", gmf.gainmap.offset, 2, "no SOI here"))
    f = one(findings(data, gmf), "jpeg.no-soi")
    assert (f.offset, f.length, f.image, f.message) == (gmf.gainmap.offset, 2, 1, "no SOI here")


# ------------------------------------------------------------------------------------------------ layout
@pytest.mark.parametrize("tail, words", [
    (b"\x00" * 100, "zeros"),
    (b"\xff" * 10, "FF padding"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40, "MP4 video (ftyp brand 'mp42')"),
    (b"AXS!\x00\x01" + b"\x07" * 30, "AFCP trailer"),
    (b"\x11" * 40 + b"SEFH" + b"\x22" * 20 + b"SEFT", "Samsung SEF"),
    (b"\xff\xd8\x12\x34\x56", "JPEG SOI"),
    (b"\x12\x34" * 10 + b"\xff\xd9", "EOI marker"),
    (b"\x12\x34\x56\x78" * 4, "unrecognised data (starts 12 34 56 78"),
])
def test_trailing_data_is_classified(tail, words):
    data = valid()
    f = one(findings(data + tail), "layout.trailing-data")
    assert (f.offset, f.length, f.severity, f.image) == (len(data), len(tail), "info", None)
    assert words in f.message


def test_junk_between_images_fixture():
    data = (FIXTURES / "broken" / "junk_between.jpg").read_bytes()
    found = findings(data)
    f = one(found, "layout.junk-between-images")
    gmf = read(data)
    assert (f.offset, f.length, f.severity) == (gmf.primary.end, 64, "warning")
    assert "zeros" in f.message


def test_image_before_gainmap():
    gmf = read(valid())
    extra = read(plain_jpeg()).primary
    gmf.parts.insert(1, extra)
    data = gmf.to_bytes(recompute=True)  # MPF entry 1 still points at the gain map
    back = read(data)
    assert back.gainmap is not None and back.locations["scan"] != back.gainmap.offset
    f = one(findings(data, back), "layout.image-before-gainmap")
    assert (f.offset, f.length, f.image) == (back.primary.end, extra.size, 1)
    assert hex(back.gainmap.offset)[2:].upper() in f.message
    assert "layout.image-before-gainmap" not in ids(findings(valid()))


# ------------------------------------------------------------------------------------------------ locate
def test_disagree_names_each_location():
    data = (FIXTURES / "broken" / "stale_mpf_offset.jpg").read_bytes()
    gmf = read(data)
    f = one(findings(data), "locate.disagree")
    assert f.severity == "warning" and f.image == 1
    for where in (gmf.locations["mpf"], gmf.locations["scan"]):
        assert f"0x{where:X}" in f.message
    assert "libultrahdr" in f.message and "MPF" in f.message


def test_gainmap_missing_when_cut_after_the_primary():
    data = valid()
    gmf = read(data)
    sdr_only = data[:gmf.primary.end]
    f = one(findings(sdr_only), "locate.gainmap-missing")
    xmp = gmf.primary.first("xmp")
    assert (f.offset, f.image, f.severity) == (xmp.offset, 0, "error")
    assert "hdrgm" in f.message and "ISO 21496-1 version block" in f.message
    assert "past the end of the file" in f.message  # where the MPF entry now points


def test_gainmap_missing_iso_version_block_only():
    data = (FIXTURES / "valid" / "iso_only.jpg").read_bytes()
    gmf = read(data)
    f = one(findings(data[:gmf.primary.end]), "locate.gainmap-missing")
    assert f.offset == gmf.primary.first("iso21496").offset


def test_gainmap_missing_for_a_gainmap_saved_alone():
    gmf = read(valid("xmp_only.jpg"))
    alone = gmf.gainmap.to_bytes()  # hdrgm parameters, no base image
    f = one(findings(alone), "locate.gainmap-missing")
    assert "gain-map image saved on its own" in f.message


def test_gainmap_missing_not_for_plain_jpegs():
    assert "locate.gainmap-missing" not in ids(findings(plain_jpeg()))
    assert "locate.gainmap-missing" not in ids(findings(valid()))


# ------------------------------------------------------------------------------------------------ helpers
def test_describe_offset_words():
    data = (FIXTURES / "broken" / "stale_mpf_offset.jpg").read_bytes()
    gmf = read(data)
    ctx = CheckContext(gmf, data)
    gm = gmf.gainmap
    assert structure.describe_offset(ctx, gm.offset) == "on the SOI of the gain map"
    text = structure.describe_offset(ctx, gm.offset + 100)
    assert "inside the gain map, 100 byte(s) after its SOI" in text and "APP1 [xmp]" in text
    assert "past the end of the file" in structure.describe_offset(ctx, len(data) + 5)
    sos = gmf.primary.scans()[0]
    assert "entropy-coded data" in structure.describe_offset(ctx, sos.offset + 40)


def test_image_index_of_eof_offset():
    data = valid()[:-2]
    gmf = read(data)
    ctx = CheckContext(gmf, data)
    assert structure.image_index(ctx, len(data)) == 1
    assert structure.image_index(ctx, 0) == 0
    assert structure.image_index(ctx, None) is None
    assert isinstance(gmf.images[1], JpegImage)


# ------------------------------------------------------------------------------------------------ mutations
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_never_crash(draw):
    name = draw.draw(st.sampled_from(["ultrahdr.jpg", "apple.jpg", "progressive.jpg"]))
    data = bytearray(valid(name))
    primary_end = read(bytes(data)).primary.end
    op = draw.draw(st.sampled_from(["flip", "truncate", "insert"]))
    pos = draw.draw(st.integers(0, len(data) - 1))
    if op == "flip":
        data[pos] ^= draw.draw(st.integers(1, 255))
    elif op == "truncate":
        del data[max(pos, 2):]
    else:
        data[pos:pos] = draw.draw(st.binary(min_size=1, max_size=8))
    if data[:2] != b"\xff\xd8":
        return
    found = findings(bytes(data))
    assert all(f.id in MODULE_IDS for f in found)
    apple_sdr = name == "apple.jpg" and len(data) == primary_end  # nothing there promises a gain map
    if op == "truncate" and not apple_sdr:  # the cut is always noticed
        assert ids(found) & {"jpeg.missing-eoi", "jpeg.truncated", "jpeg.segment-length", "locate.gainmap-missing"}
