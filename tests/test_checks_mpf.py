"""The mpf checks (gainmap.analysis.checks.mpf): each id trips on a targeted edit of a valid fixture, with the byte it
names, and the valid fixtures are clean."""

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
from gainmap.analysis.checks import mpf as mpf_checks
from gainmap.analysis.checks.registry import Finding, registered
from gainmap.formats import mpf as mpf_schema
from gainmap.formats.scanner import Segment
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read

MODULE = mpf_checks.__name__
MODULE_IDS = {i for rc in registered() if rc.fn.__module__ == MODULE for i in rc.ids}

# Payload offsets inside the canonical 86-byte big-endian MPF payload the fixtures carry.
VERSION_ENTRY, NUMBER_ENTRY, ENTRY_TAG = 14, 26, 38
ATTR_IFD = 50
ENTRY0, ENTRY1 = 54, 70










def mpf_seg(data: bytes) -> Segment:
    return read(data).primary.first("mpf", header_only=False)


def patch(data: bytes, rel: int, value: bytes) -> tuple[bytes, int]:
    """Overwrite MPF payload bytes at payload offset ``rel``; return the new file and the absolute offset."""
    at = mpf_seg(data).payload_offset + rel
    out = bytearray(data)
    out[at:at + len(value)] = value
    return bytes(out), at


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def plain_jpeg(w: int = 32, h: int = 24, value: int = 128) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def stereo_mpo() -> bytes:
    """Two plain JPEGs indexed by MPF as a disparity pair: an MPO, no gain map metadata anywhere."""
    left = read(plain_jpeg(value=100)).primary
    right = read(plain_jpeg(value=150)).primary
    left.insert(Segment.app(2, mpf_schema.make_mpf(0, [(0, 0)])), 1)
    gmf = GainMapFile([left, right], "mpo", [], mpf_links=[left, right])
    data = bytearray(gmf.to_bytes(recompute=True))
    seg = read(bytes(data)).primary.first("mpf")
    for entry in (ENTRY0, ENTRY1):
        data[seg.payload_offset + entry:seg.payload_offset + entry + 4] = u32(0x020002)
    return bytes(data)


# ------------------------------------------------------------------------------------------------ clean
@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_valid_fixtures_have_no_mpf_findings(path):
    assert findings(path.read_bytes()) == []


def test_module_declares_mpf_only():
    assert {i.split(".")[0] for i in MODULE_IDS} == {"mpf"}


# ------------------------------------------------------------------------------------------------ parser problems
@pytest.mark.parametrize("rel, value, fid", [
    (4, b"MM\x2a\x00", "mpf.byte-order"),
    (8, u32(0x1000), "mpf.ifd-bounds"),
    (VERSION_ENTRY, struct.pack(">HHI", 0xB000, 7, 8), "mpf.value-bounds"),
    (ATTR_IFD, u32(0x1000), "mpf.attribute-bounds"),
    (VERSION_ENTRY, bytes.fromhex("b001 0004 00000001 00000002"), "mpf.tag-order"),
    (VERSION_ENTRY, struct.pack(">H", 0xB005), "mpf.unknown-tag"),
    (VERSION_ENTRY + 8, b"0200", "mpf.version"),
    (NUMBER_ENTRY + 2, struct.pack(">H", 3), "mpf.tag-type"),
    (NUMBER_ENTRY + 8, u32(0), "mpf.number-of-images"),
    (NUMBER_ENTRY + 8, u32(3), "mpf.entry-count"),
    (ENTRY_TAG, struct.pack(">H", 0xB004), "mpf.entry-missing"),
    (ENTRY_TAG + 8, u32(60), "mpf.entry-bounds"),
    (ENTRY0, u32(0x020002), "mpf.primary-type"),
    (ENTRY1, u32(0x01000000), "mpf.entry-format"),
    (ENTRY0 + 8, u32(5), "mpf.primary-offset"),
])
def test_parser_problems_become_findings(rel, value, fid):
    data, at = patch(valid(), rel, value)
    seg = mpf_seg(data)
    hits = get(findings(data), fid)
    f = hits[0]
    assert f.image == 0 and f.severity == ("warning" if fid in ("mpf.value-bounds", "mpf.attribute-bounds")
                                           else "error")
    seg_end = seg.payload_offset + len(seg.payload)
    assert all(seg.offset <= h.offset < seg_end for h in hits), hits  # clamped into the segment
    assert "MPF APP2 at 0x" in f.message


def test_byte_order_finding_names_the_mark():
    data, at = patch(valid(), 4, b"MM\x2a\x00")
    f = get(findings(data), "mpf.byte-order")[0]
    assert (f.offset, f.length) == (at, 4)
    assert "4d 4d 2a 00" in f.message


def test_attribute_only_primary_mpf_has_no_entries():
    gmf = read(valid())
    seg = gmf.primary.first("mpf")
    attr_ifd = struct.pack(">H", 1) + struct.pack(">HHI", 0xB101, 4, 1) + u32(1) + u32(0)
    seg.payload = mpf_schema.MPF_IDENT + b"MM\x00\x2a" + u32(8) + attr_ifd
    data = gmf.to_bytes(recompute=True)
    f = get(findings(data), "mpf.entry-missing")[0]
    assert "Attribute IFD" in f.message and f.offset == read(data).primary.first("mpf").offset


@pytest.mark.parametrize("rel, field", [(8, 8), (ATTR_IFD, ATTR_IFD)])
def test_pointers_outside_name_the_pointer_field(rel, field):
    data, _ = patch(valid(), rel, u32(0x1000))
    seg = mpf_seg(data)
    fid = "mpf.ifd-bounds" if rel == 8 else "mpf.attribute-bounds"
    f = get(findings(data), fid)[0]
    assert (f.offset, f.length) == (seg.payload_offset + field, 4)
    assert "4096" in f.message


# ------------------------------------------------------------------------------------------------ MPO context
def test_mpo_without_gainmap_lowers_severities():
    data = stereo_mpo()
    found = findings(data)
    f = get(found, "mpf.primary-type")[0]
    assert f.severity == "info"
    bad, _ = patch(data, 4, b"MM\x2a\x00")
    assert {f.severity for f in findings(bad) if f.id == "mpf.byte-order"} == {"warning"}
    assert not [f for f in found if f.severity == "error"]


# ------------------------------------------------------------------------------------------------ presence
def test_missing_mpf():
    data = (FIXTURES / "broken" / "no_mpf.jpg").read_bytes()
    f = get(findings(data), "mpf.missing")[0]
    assert f.severity == "error" and f.offset == 0 and "libultrahdr" in f.message


def test_missing_mpf_without_gainmap_metadata_is_a_warning():
    data = plain_jpeg(value=90) + plain_jpeg(value=160)
    f = get(findings(data), "mpf.missing")[0]
    assert f.severity == "warning" and "no gain-map metadata" in f.message
    assert "mpf.missing" not in ids(findings(plain_jpeg()))


def test_truncated_mpf():
    gmf = read(valid())
    gmf.primary.first("mpf").payload = mpf_schema.MPF_IDENT + b"MM\x00\x2a"
    data = gmf.to_bytes(recompute=True)
    seg = mpf_seg(data)
    f = get(findings(data), "mpf.truncated")[0]
    assert (f.offset, f.length, f.severity) == (seg.offset, 4 + len(seg.payload), "error")
    assert "mpf.entry-offset" not in ids(findings(data))


def test_mpf_after_sos():
    gmf = read(valid())
    primary = gmf.primary
    seg = primary.first("mpf")
    primary.remove(seg)
    sos = primary.scans()[0]
    primary.items.insert(primary.index_of(sos) + 1, seg)
    data = gmf.to_bytes(recompute=True)
    back = read(data)
    f = get(findings(data, back), "mpf.after-sos")[0]
    assert f.offset == back.primary.first("mpf", header_only=False).offset
    assert f"0x{back.primary.scans()[0].offset:X}" in f.message
    assert "mpf.entry-offset" not in ids(findings(data))  # the index itself is still right


def test_duplicate_mpf():
    gmf = read(valid())
    seg = gmf.primary.first("mpf")
    gmf.primary.insert(Segment.app(2, seg.payload), gmf.primary.index_of(seg) + 1)
    data = gmf.to_bytes(recompute=True)
    segs = read(data).primary.segments("mpf")
    f = get(findings(data), "mpf.duplicate")[0]
    assert (f.offset, f.severity) == (segs[1].offset, "warning")


# ------------------------------------------------------------------------------------------------ entries
def test_stale_entry_offset_says_where_it_lands():
    data = (FIXTURES / "broken" / "stale_mpf_offset.jpg").read_bytes()
    gmf = read(data)
    seg = mpf_seg(data)
    f = get(findings(data), "mpf.entry-offset")[0]
    assert (f.offset, f.length, f.severity) == (seg.payload_offset + ENTRY1 + 8, 4, "error")
    gm = gmf.gainmap
    assert f"0x{gm.offset + 100:X}" in f.message
    assert "inside the gain map, 100 byte(s) after its SOI" in f.message
    assert f"its offset would be {gm.offset - (seg.offset + 8)}" in f.message


def test_entry_offset_into_junk_and_past_eof_and_zero():
    data = (FIXTURES / "broken" / "junk_between.jpg").read_bytes()
    assert "zeros between two images" in get(findings(data), "mpf.entry-offset")[0].message
    past, _ = patch(valid(), ENTRY1 + 8, u32(10 ** 7))
    assert "past the end of the file" in get(findings(past), "mpf.entry-offset")[0].message
    zero, _ = patch(valid(), ENTRY1 + 8, u32(0))
    assert "MPF header itself" in get(findings(zero), "mpf.entry-offset")[0].message


def test_entry_offset_into_the_primary():
    data = valid()
    seg = mpf_seg(data)
    target = read(data).primary.scans()[0].offset + 50
    bad, _ = patch(data, ENTRY1 + 8, u32(target - (seg.offset + 8)))
    f = get(findings(bad), "mpf.entry-offset")[0]
    assert "inside the primary" in f.message and "entropy-coded data" in f.message


def test_entry_beyond_eof():
    data = (FIXTURES / "broken" / "truncated_gainmap.jpg").read_bytes()
    seg = mpf_seg(data)
    f = get(findings(data), "mpf.entry-beyond-eof")[0]
    assert (f.offset, f.length, f.severity) == (seg.payload_offset + ENTRY1 + 4, 4, "error")
    assert "past the end of the file" in f.message


def test_entry_size_of_the_gain_map_and_of_the_primary():
    data = (FIXTURES / "broken" / "wrong_mpf_size.jpg").read_bytes()
    seg = mpf_seg(data)
    f = get(findings(data), "mpf.entry-size")[0]
    assert (f.offset, f.severity) == (seg.payload_offset + ENTRY1 + 4, "warning")
    assert "-70" in f.message and "cut-off gain map" in f.message
    size = read(valid()).primary.size
    bad, at = patch(valid(), ENTRY0 + 4, u32(size + 70))
    f = get(findings(bad), "mpf.entry-size")[0]
    assert (f.offset, f.severity) == (at, "warning") and "+70" in f.message and "harmless" in f.message


def test_entry_type_undefined_code():
    bad, at = patch(valid(), ENTRY1, u32(0x050000))
    f = get(findings(bad), "mpf.entry-type")[0]
    assert (f.offset, f.length, f.severity) == (at, 4, "warning") and "0x050000" in f.message
    ok, _ = patch(valid(), ENTRY1, u32(0x010001))  # a CIPA large-thumbnail code is fine
    assert "mpf.entry-type" not in ids(findings(ok))


@settings(max_examples=30, deadline=None)
@given(delta=st.integers(-6000, 6000).filter(lambda d: d != 0))
def test_any_moved_gainmap_offset_is_reported(delta):
    data = valid()
    seg = mpf_seg(data)
    gm_offset = read(data).gainmap.offset - (seg.offset + 8)
    bad, _ = patch(data, ENTRY1 + 8, u32(max(0, gm_offset + delta)))
    assert "mpf.entry-offset" in ids(findings(bad))


@settings(max_examples=40, deadline=None)
@given(pos=st.integers(4, 85), value=st.integers(0, 255))
def test_random_mpf_bytes_never_crash(pos, value):
    bad, _ = patch(valid(), pos, bytes([value]))
    assert all(f.id in MODULE_IDS for f in findings(bad))


def findings(data: bytes, gmf: GainMapFile | None = None) -> list[Finding]:
    return module_findings(data, {MODULE}, gmf)
