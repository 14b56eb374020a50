"""The hdrgm.*, iso.* and sync.* check families: each id tripped by an in-memory variant of a valid fixture,
silent on the valid fixtures, offsets on the offending bytes; the viewer verdicts that follow."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkhelpers import only
from checkhelpers import report_findings as findings
from conftest import FIXTURES, corpus_params, fixture_files
from gainmap.analysis.checks.sync import close, differences
from gainmap.analysis.validate import check_bytes
from gainmap.formats.iso21496 import ISO_URN, URN_LEN, parse_iso
from gainmap.formats.scanner import Segment
from gainmap.formats.xmp import XMP_IDENT
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read

MINE = ("hdrgm.", "iso.", "sync.")
#: Warnings a valid fixture carries because it deliberately has only one metadata form.
JUSTIFIED = {"iso_only.jpg": {"sync.xmp-missing"}, "multichannel_iso.jpg": {"sync.xmp-missing"},
             "xmp_only.jpg": {"sync.iso-missing"}}


# ---------------------------------------------------------------------------------------------- helpers
def load(name: str = "ultrahdr.jpg") -> GainMapFile:
    return read((FIXTURES / "valid" / name).read_bytes(), name=name)


def save(gmf: GainMapFile) -> bytes:
    gmf.update_mpf()
    return gmf.to_bytes(recompute=False)


def xmp_variant(role: str, fn: Callable[[str], str], name: str = "ultrahdr.jpg") -> bytes:
    gmf = load(name)
    image = gmf.primary if role == "primary" else gmf.gainmap
    seg = image.first("xmp")
    seg.payload = XMP_IDENT + fn(seg.payload[len(XMP_IDENT):].decode()).encode()
    return save(gmf)


def iso_variant(fn: Callable[[bytearray], bytes | bytearray | None], name: str = "ultrahdr.jpg",
                role: str = "gainmap") -> bytes:
    """Edit the body after the URN of an image's ISO block."""
    gmf = load(name)
    seg = (gmf.primary if role == "primary" else gmf.gainmap).first("iso21496")
    body = bytearray(seg.payload[URN_LEN:])
    out = fn(body)
    seg.payload = ISO_URN + bytes(body if out is None else out)
    return save(gmf)


def put(fmt: str, at: int, *values: int) -> Callable[[bytearray], None]:
    return lambda body: struct.pack_into(">" + fmt, body, at, *values)






def at(data: bytes, f) -> bytes:
    return data[f.offset:f.offset + f.length]


def attr(name: str, value: str) -> Callable[[str], str]:
    """Replace the value of hdrgm attribute ``name``."""
    def fn(text: str) -> str:
        start = text.index(f'hdrgm:{name}="') + len(f'hdrgm:{name}="')
        return text[:start] + value + text[text.index('"', start):]
    return fn


def drop_attr(name: str) -> Callable[[str], str]:
    def fn(text: str) -> str:
        start = text.index(f' hdrgm:{name}="')
        return text[:start] + text[text.index('"', text.index('="', start) + 2) + 1:]
    return fn


def to_element(name: str, inner: str | None = None) -> Callable[[str], str]:
    """Turn hdrgm attribute ``name`` into an element (with ``inner`` as its content, default its value)."""
    def fn(text: str) -> str:
        start = text.index(f' hdrgm:{name}="')
        value = text[start + len(f' hdrgm:{name}="'):text.index('"', start + len(f' hdrgm:{name}="'))]
        text = drop_attr(name)(text)
        body = value if inner is None else inner
        return text.replace('"/>\n  </rdf:RDF>', f'"><hdrgm:{name}>{body}</hdrgm:{name}></rdf:Description>\n'
                                                  "  </rdf:RDF>", 1)
    return fn


def seq(*items: str) -> str:
    return "<rdf:Seq>" + "".join(f"<rdf:li>{i}</rdf:li>" for i in items) + "</rdf:Seq>"


# ---------------------------------------------------------------------------------------------- valid files
@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_valid_fixtures_have_only_justified_findings(path: Path):
    mine = {f.id for f in findings(path.read_bytes()) if f.id.startswith(MINE)}
    assert mine == JUSTIFIED.get(path.name, set())


# ---------------------------------------------------------------------------------------------- hdrgm: primary
def test_primary_version_wrong_or_missing():
    data = xmp_variant("primary", attr("Version", "2.0"))
    (f,) = only(data, "hdrgm.primary-version")
    assert at(data, f) == b'hdrgm:Version="2.0"' and f.severity == "error" and f.image == 0
    assert check_bytes(data).viewers["chrome"].route == "iso"  # ISO still works for Chrome
    gone = xmp_variant("primary", drop_attr("Version"))
    (g,) = only(gone, "hdrgm.primary-version")
    assert at(gone, g) == b"x" and "no hdrgm:Version" in g.message  # the xmlns:hdrgm declaration
    xmp_only = xmp_variant("primary", attr("Version", "2.0"), "xmp_only.jpg")
    assert "hdrgm.primary-version" in check_bytes(xmp_only).viewers["chrome"].because


def test_primary_missing_is_info_when_iso_carries_chrome():
    def strip(text: str) -> str:
        return drop_attr("Version")(text).replace(' xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"', "")

    (f,) = only(xmp_variant("primary", strip), "hdrgm.primary-missing")
    assert f.severity == "info" and f.image == 1
    data = xmp_variant("primary", strip, "xmp_only.jpg")
    (g,) = only(data, "hdrgm.primary-missing")
    assert g.severity == "warning"
    verdicts = check_bytes(data).viewers
    assert verdicts["libultrahdr"].hdr and verdicts["libavif"].hdr and not verdicts["chrome"].hdr


def test_params_missing_and_params_in_primary():
    gmf = load("xmp_only.jpg")
    gmf.gainmap.remove(gmf.gainmap.first("xmp"))
    data = save(gmf)
    (f,) = only(data, "hdrgm.params-missing")
    assert f.offset == read(data).gainmap.offset and "has no XMP" in f.message
    assert not check_bytes(data).viewers["libultrahdr"].hdr
    alone = load("xmp_only.jpg")
    cut = alone.to_bytes()[:alone.primary.end]  # the primary alone: its XMP still declares hdrgm
    (n,) = only(cut, "hdrgm.params-missing")
    assert at(cut, n) == b'hdrgm:Version="1.0"' and "no gain-map image" in n.message
    assert not any(v.hdr for v in check_bytes(cut).viewers.values())
    moved = xmp_variant("primary", lambda t: t.replace('hdrgm:Version="1.0"',
                                                       'hdrgm:Version="1.0" hdrgm:GainMapMax="2.5"'))
    (g,) = only(moved, "hdrgm.params-in-primary")
    assert at(moved, g) == b'hdrgm:GainMapMax="2.5"' and g.severity == "warning"


# ---------------------------------------------------------------------------------------------- hdrgm: gain map
def test_gainmap_version_value_and_element_form():
    data = xmp_variant("gainmap", attr("Version", "1.1"))
    (f,) = only(data, "hdrgm.version")
    assert at(data, f) == b'hdrgm:Version="1.1"' and f.image == 1
    assert not check_bytes(data).viewers["libavif"].hdr
    element = xmp_variant("gainmap", to_element("Version"), "xmp_only.jpg")
    (g,) = only(element, "hdrgm.version-element")
    assert at(element, g) == b"<hdrgm:Version>" and findings(element, "hdrgm.version") == []
    verdicts = check_bytes(element).viewers
    assert not verdicts["libavif"].hdr and not verdicts["libultrahdr"].hdr and verdicts["chrome"].hdr


def test_required_properties():
    data = xmp_variant("gainmap", drop_attr("HDRCapacityMax"), "xmp_only.jpg")
    (f,) = only(data, "hdrgm.required")
    assert f.detail["missing"] == ["HDRCapacityMax"] and "HDRCapacityMax=1.0" in f.message
    assert not check_bytes(data).viewers["libultrahdr"].hdr and check_bytes(data).viewers["libavif"].hdr


def test_element_seq_and_single_seq_forms():
    element = xmp_variant("gainmap", to_element("GainMapMax"))
    (f,) = only(element, "hdrgm.element-form")
    assert at(element, f) == b"<hdrgm:GainMapMax>"
    data = (FIXTURES / "broken" / "seq_form_xmp.jpg").read_bytes()
    (s,) = only(data, "hdrgm.seq-form")
    assert set(s.detail["properties"]) >= {"GainMapMax", "Gamma"} and at(data, s).startswith(b"<hdrgm:")
    single = xmp_variant("gainmap", to_element("GainMapMax", seq("2.5")), "xmp_only.jpg")
    (one,) = only(single, "hdrgm.seq-single")
    assert one.detail["properties"] == ["GainMapMax"]
    verdicts = check_bytes(single).viewers
    assert verdicts["libavif"].hdr and not verdicts["libultrahdr"].hdr


def test_seq_count_value_bool_case_duplicate_unknown():
    two = xmp_variant("gainmap", to_element("GainMapMax", seq("2.5", "2.0")), "xmp_only.jpg")
    assert only(two, "hdrgm.seq-count")[0].detail["code"] == "xmp.hdrgm.seq-count"
    assert not check_bytes(two).viewers["libavif"].hdr
    text = xmp_variant("gainmap", attr("GainMapMax", "lots"))
    (v,) = only(text, "hdrgm.value")
    assert at(text, v) == b'hdrgm:GainMapMax="lots"'
    lower = xmp_variant("gainmap", attr("BaseRenditionIsHDR", "false"))
    assert only(lower, "hdrgm.bool-case")[0].detail["code"] == "xmp.hdrgm.bool-case"
    twice = xmp_variant("gainmap", lambda t: t.replace('"/>\n  </rdf:RDF>', '"><hdrgm:Gamma>1.0</hdrgm:Gamma>'
                                                       "</rdf:Description>\n  </rdf:RDF>"))
    (d,) = only(twice, "hdrgm.duplicate")
    assert at(twice, d) == b"<hdrgm:Gamma>1.0</hdrg"[: d.length]
    typo = xmp_variant("gainmap", lambda t: t.replace('hdrgm:Gamma="1.0"', 'hdrgm:Gamma="1.0" hdrgm:Gama="1.0"'))
    assert only(typo, "hdrgm.unknown-property")[0].severity == "info"


def test_prefix_and_first_description():
    other = xmp_variant("gainmap", lambda t: t.replace("xmlns:hdrgm=", "xmlns:hg=").replace("hdrgm:", "hg:"),
                        "xmp_only.jpg")
    (f,) = only(other, "hdrgm.prefix")
    assert f.detail["prefixes"] == ["hg"] and at(other, f).startswith(b"hg:")
    assert not check_bytes(other).viewers["libultrahdr"].hdr and check_bytes(other).viewers["chrome"].hdr

    def second(text: str) -> str:
        start = text.index("<rdf:Description")
        end = text.index("/>", start) + 2
        desc = text[start:end]
        return text[:start] + '<rdf:Description rdf:about=""/>' + desc + text[end:]

    later = xmp_variant("gainmap", second, "xmp_only.jpg")
    (g,) = only(later, "hdrgm.first-description")
    assert g.detail["descriptions"] == [1] and "rdf:Description 2 of 2" in g.message


def test_base_rendition_is_hdr():
    data = xmp_variant("gainmap", attr("BaseRenditionIsHDR", "True"), "xmp_only.jpg")
    (f,) = only(data, "hdrgm.base-is-hdr")
    assert at(data, f) == b'hdrgm:BaseRenditionIsHDR="True"'
    assert not check_bytes(data).viewers["libultrahdr"].hdr and check_bytes(data).viewers["libavif"].hdr


@pytest.mark.parametrize(("fid", "edit", "text"), [
    ("hdrgm.gamma", attr("Gamma", "0"), b'hdrgm:Gamma="0"'),
    ("hdrgm.offset", attr("OffsetSDR", "-0.1"), b'hdrgm:OffsetSDR="-0.1"'),
    ("hdrgm.capacity-min", attr("HDRCapacityMin", "-1"), b'hdrgm:HDRCapacityMin="-1"'),
    ("hdrgm.capacity-order", attr("HDRCapacityMin", "3"), b'hdrgm:HDRCapacityMax="2.5"'),
])
def test_value_ranges(fid, edit, text):
    data = xmp_variant("gainmap", edit, "xmp_only.jpg")
    (f,) = only(data, fid)
    assert at(data, f) == text and f.severity == "error"
    assert not check_bytes(data).viewers["libultrahdr"].hdr


def test_min_greater_than_max():
    data = (FIXTURES / "broken" / "gainmap_min_gt_max.jpg").read_bytes()
    (f,) = only(data, "hdrgm.min-max")
    assert at(data, f) == b'hdrgm:GainMapMin="3.0"' and "3 > 2.5" in f.message
    per_channel = xmp_variant("gainmap", lambda t: drop_attr("GainMapMin")(t).replace(
        '"/>\n  </rdf:RDF>', f'"><hdrgm:GainMapMin>{seq("0", "2.6", "0")}</hdrgm:GainMapMin></rdf:Description>\n'
                             "  </rdf:RDF>"), "xmp_only.jpg")
    assert "channel 1: 2.6 > 2.5" in only(per_channel, "hdrgm.min-max")[0].message


# ---------------------------------------------------------------------------------------------- iso.*
def test_iso_primary_and_gainmap_missing():
    data = (FIXTURES / "broken" / "no_iso_primary.jpg").read_bytes()
    (f,) = only(data, "iso.primary-missing")
    seg = read(data).gainmap.first("iso21496")
    assert (f.offset, f.length, f.image) == (seg.offset, seg.size, 1)
    gmf = load()
    gmf.gainmap.remove(gmf.gainmap.first("iso21496"))
    gone = save(gmf)
    (g,) = only(gone, "iso.gainmap-missing")
    assert g.offset == read(gone).primary.first("iso21496").offset
    assert check_bytes(gone).viewers["chrome"].route == "hdrgm"  # XMP takes over


@pytest.mark.parametrize(("fid", "edit", "rel", "length"), [
    ("iso.min-version", put("HH", 0, 1, 1), 0, 2),
    ("iso.writer-version", put("HH", 0, 2, 1), 2, 2),
    ("iso.legacy-backward", lambda b: b.__setitem__(4, b[4] | 0x04), 4, 1),
    ("iso.reserved-flags", lambda b: b.__setitem__(4, b[4] | 0x02), 4, 1),
    ("iso.zero-denominator", put("I", 9, 0), 9, 4),
    ("iso.length", lambda b: b[:40], 0, 40),
    ("iso.trailing-bytes", lambda b: b + b"\x00\x01\x02", 61, 3),
])
def test_iso_parser_problems(fid, edit, rel, length):
    data = iso_variant(edit)
    (f,) = only(data, fid)
    seg = read(data).gainmap.first("iso21496")
    assert (f.offset, f.length, f.image) == (seg.payload_offset + URN_LEN + rel, length, 1)


def test_primary_block_too_short_for_its_versions():
    data = iso_variant(lambda b: b[:2], role="primary")
    (f,) = only(data, "iso.length")
    assert f.image == 0 and f.length == 2 and "version fields" in f.message


def test_trailing_bytes_from_a_newer_writer_are_a_fact():
    data = iso_variant(lambda b: put("H", 2, 1)(b) or b + b"ext")
    (f,) = only(data, "iso.trailing-bytes")
    assert f.severity == "info" and "writer_version 1" in f.message


def test_iso_legacy_compact_and_reserved_fixtures():
    compact = (FIXTURES / "broken" / "legacy_compact_iso.jpg").read_bytes()
    assert only(compact, "iso.legacy-compact")[0].severity == "error"
    assert check_bytes(compact).viewers["chrome"].hdr is False
    reserved = (FIXTURES / "broken" / "iso_reserved_bits.jpg").read_bytes()
    assert at(reserved, only(reserved, "iso.reserved-flags")[0])[0] & 0x01


@pytest.mark.parametrize(("fid", "edit", "rel"), [
    ("iso.non-finite", put("II", 13, 200, 1), 13),        # alternate headroom 2^200
    ("iso.min-max", put("iI", 21, 3, 1), 21),              # gain_map_min 3 > max 2.5
    ("iso.gamma", put("II", 37, 0, 1), 37),
    ("iso.offset", put("iI", 45, -1, 64), 45),
    ("iso.headroom-direction", put("II", 5, 3, 1), 5),     # base 3 > alternate 2.5
    ("iso.headroom-equal", put("II", 5, 5, 2), 5),         # base 5/2 == alternate 5/2
])
def test_iso_values(fid, edit, rel):
    data = iso_variant(edit, "iso_only.jpg")
    (f,) = only(data, fid)
    seg = read(data).gainmap.first("iso21496")
    assert f.offset == seg.payload_offset + URN_LEN + rel and f.length in (8, 16)
    assert not check_bytes(data).viewers["libultrahdr"].hdr


def test_iso_duplicate():
    gmf = load()
    seg = gmf.gainmap.first("iso21496")
    gmf.gainmap.insert(Segment.app(2, seg.payload), gmf.gainmap.index_of(seg) + 1)
    data = save(gmf)
    (f,) = only(data, "iso.duplicate")
    assert f.detail["identical"] is True and f.image == 1


# ---------------------------------------------------------------------------------------------- sync.*
def test_mismatch_names_each_field_with_both_values():
    data = xmp_variant("gainmap", lambda t: attr("GainMapMax", "3.0")(attr("Gamma", "1.2")(t)))
    (f,) = only(data, "sync.mismatch")
    fields = {d["hdrgm"]: d for d in f.detail["fields"]}
    assert set(fields) == {"GainMapMax", "Gamma"}
    assert (fields["GainMapMax"]["xmp"], fields["GainMapMax"]["iso_value"]) == (3.0, 2.5)
    assert "GainMapMax/gain_map_max: hdrgm 3, ISO 2.5" in f.message
    rounded = xmp_variant("gainmap", attr("GainMapMax", "2.50002"))
    assert findings(rounded, "sync.mismatch") == []


def test_one_form_only():
    iso_only = (FIXTURES / "valid" / "iso_only.jpg").read_bytes()
    assert "libavif" in only(iso_only, "sync.xmp-missing")[0].message
    xmp_only = (FIXTURES / "valid" / "xmp_only.jpg").read_bytes()
    assert "Apple" in only(xmp_only, "sync.iso-missing")[0].message


def test_differences_follow_the_base_rendition_swap():
    sdr = GainMapMetadata(gain_map_max=(2.0,), base_hdr_headroom=0.0, alternate_hdr_headroom=2.0,
                          base_offset=(0.01,), alternate_offset=(0.02,))
    assert differences(sdr, sdr) == []
    hdr_base = GainMapMetadata(gain_map_max=(2.0,), base_hdr_headroom=2.0, alternate_hdr_headroom=0.0,
                               base_offset=(0.02,), alternate_offset=(0.01,))
    names = {d["hdrgm"] for d in differences(hdr_base, sdr)}
    assert names == {"HDRCapacityMax", "HDRCapacityMin", "OffsetHDR", "OffsetSDR"}


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_close_is_symmetric_and_reflexive(a, b):
    assert close(a, a) and close(a, b) == close(b, a)
    if abs(a - b) > 1e-3 * max(1.0, abs(a), abs(b)):
        assert not close(a, b)


# ---------------------------------------------------------------------------------------------- robustness
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=160))
def test_any_iso_body_is_reported_without_crashing(body):
    data = iso_variant(lambda _b: body)
    found = findings(data)
    record = parse_iso(ISO_URN + body) if len(body) >= 4 else None
    ids = {f.id for f in found}
    if record is not None:
        assert {p.code for p in record.problems} <= ids | {"iso.writer-version"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Version", "GainMapMin", "GainMapMax", "Gamma", "OffsetSDR", "OffsetHDR",
                        "HDRCapacityMin", "HDRCapacityMax", "BaseRenditionIsHDR"]),
       st.text(alphabet="0123456789.-eE+TrueFalsx ", max_size=12))
def test_any_hdrgm_value_is_reported_without_crashing(name, value):
    findings(xmp_variant("gainmap", attr(name, value)))


# ---------------------------------------------------------------------------------------------- corpus
@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_hdrgm_iso_sync(path: Path):
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        pytest.skip("not a JPEG")
    report = check_bytes(data, path.name)
    assert not [f for f in report.findings if f.id == "internal.check-failed"]
    ids = {f.id for f in report.findings}
    # every corpus file with both forms agrees within rounding (Skia's 2^12 denominators included)
    assert "sync.mismatch" not in ids
    if path.name.startswith(("gainmapjs__0", "libavif__seine")):
        assert "hdrgm.seq-form" in ids and not report.viewers["libultrahdr"].hdr
    if report.six["iso_gainmap"] and not any(f.id.startswith("hdrgm.") for f in report.findings):
        assert report.six["iso_primary"] or "iso.primary-missing" in ids
