"""Tests for gainmap.formats.xmp: ExtendedXMP chunks, secure parsing, hdrgm/GContainer/Apple reading, writers."""

from __future__ import annotations

import hashlib
import random
import re
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gainmap.errors import SchemaError
from gainmap.formats.xmp import (
    EXT_XMP_IDENT,
    MAX_APP1_PACKET,
    MAX_EXT_CHUNK,
    XMP_IDENT,
    ExtendedChunk,
    assemble_extended,
    build_extended_chunk,
    build_gainmap_xmp,
    build_primary_xmp,
    ensure_primary_version,
    new_packet,
    parse_extended_chunk,
    parse_xmp,
    parse_xmp_packet,
    set_container_directory,
    set_hdrgm,
    split_extended,
    wrap_app1,
)
from gainmap.formats.xmp.props import CONTAINER_NS, HDRGM_PROPS, ITEM_NS, RDF_NS
from gainmap.metadata import HDRGM_NS, GainMapMetadata, MetadataConversionError

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"

X = 'xmlns:x="adobe:ns:meta/"'
R = f'xmlns:rdf="{RDF_NS}"'
H = f'xmlns:hdrgm="{HDRGM_NS}"'


def packet(body: str, desc_attrs: str = "", *, extra_desc: str = "") -> bytes:
    """A packet with one Description declaring hdrgm and holding ``body``."""
    return (f'<x:xmpmeta {X}>\n <rdf:RDF {R}>\n  <rdf:Description rdf:about="" {H} {desc_attrs}>\n'
            f"{body}\n  </rdf:Description>{extra_desc}\n </rdf:RDF>\n</x:xmpmeta>").encode()


# ------------------------------------------------------------------------------------------- test helpers

def libultrahdr_attrs(pkt: bytes) -> dict[str, str]:
    """What libultrahdr's attribute-only reader sees: literal ``hdrgm:X="v"`` on the first Description."""
    text = pkt.decode()
    start = text.index("<rdf:Description")
    tag = text[start:text.index(">", start)]
    return dict(re.findall(r'\shdrgm:(\w+)="([^"]*)"', tag))


def skia_ok(pkt: bytes) -> bool:
    """Skia's traps: root x:xmpmeta and hdrgm declared on an rdf:Description (or rdf:RDF)."""
    x = parse_xmp_packet(pkt)
    return x.root_is_xmpmeta and any(d.element in ("Description", "RDF") for d in x.declarations(HDRGM_NS))


def header_walk(data: bytes, start: int = 0) -> tuple[list[bytes], int | None]:
    """APP1 payloads of one image's header segments and the offset of its first SOS (bounded walk: stops at
    SOS, EOI or a bad marker)."""
    out: list[bytes] = []
    i = start + 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xDA:
            return out, i
        if marker in (0xD9, 0x00):
            break
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if length < 2:
            break
        if marker == 0xE1:
            out.append(data[i + 4:i + 2 + length])
        i += 2 + length
    return out, None


def xmp_payloads(data: bytes, start: int = 0) -> list[bytes]:
    return header_walk(data, start)[0]


def second_image(data: bytes) -> int | None:
    """Start of the second JPEG: the first SOI after the EOI that follows the first SOS."""
    sos = header_walk(data)[1]
    eoi = data.find(b"\xff\xd9", sos) if sos is not None else -1
    nxt = data.find(b"\xff\xd8\xff", eoi) if eoi >= 0 else -1
    return nxt if nxt >= 0 else None


def non_ns_facts(pkt: bytes, skip: set[str]) -> set[tuple[str, str, str]]:
    """(element path, attribute or '#text', value) for everything outside the namespaces in ``skip``."""
    root = etree.fromstring(pkt)
    facts: set[tuple[str, str, str]] = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        path = "/".join(a.tag for a in reversed(list(el.iterancestors()))) + "/" + el.tag
        if any(f"{{{ns}}}" in path for ns in skip):
            continue
        for k, v in el.attrib.items():
            if not any(k.startswith(f"{{{ns}}}") for ns in skip):
                facts.add((path, k, v))
        if el.text and el.text.strip():
            facts.add((path, "#text", el.text.strip()))
    return facts


# ------------------------------------------------------------------------------------------- ExtendedXMP

guids = st.text(alphabet="0123456789ABCDEF", min_size=32, max_size=32)


@settings(max_examples=60)
@given(guid=guids, full=st.integers(0, 2**32 - 1), off=st.integers(0, 2**32 - 1), data=st.binary(max_size=300))
def test_extended_chunk_round_trip(guid, full, off, data):
    chunk = ExtendedChunk(guid, full, off, data)
    raw = build_extended_chunk(chunk)
    assert raw.startswith(EXT_XMP_IDENT) and len(raw) == len(EXT_XMP_IDENT) + 40 + len(data)
    assert parse_extended_chunk(raw) == chunk
    assert build_extended_chunk(parse_extended_chunk(raw)) == raw


def test_extended_chunk_refuses_other_structures():
    with pytest.raises(SchemaError):
        parse_extended_chunk(XMP_IDENT + b"<x/>")
    with pytest.raises(SchemaError):
        parse_extended_chunk(EXT_XMP_IDENT + b"A" * 32 + b"\0\0")
    with pytest.raises(SchemaError):
        build_extended_chunk(ExtendedChunk("ABC", 1, 0, b"x"))
    with pytest.raises(SchemaError):
        build_extended_chunk(ExtendedChunk("A" * 32, 1, 0, b"x" * (MAX_EXT_CHUNK + 1)))


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 200_000), seed=st.integers(0, 2**32), max_chunk=st.integers(1000, MAX_EXT_CHUNK),
       shuffle=st.booleans())
def test_split_assemble_round_trip(size, seed, max_chunk, shuffle):
    rng = random.Random(seed)
    data = rng.randbytes(size)
    guid, chunks = split_extended(data, max_chunk)
    assert guid == hashlib.md5(data).hexdigest().upper()
    assert all(len(c) <= 65533 for c in chunks)
    assert len(chunks) == -(-size // max_chunk)
    other_guid, other = split_extended(b"other" + data[:100])
    mixed = chunks + other
    if shuffle:
        rng.shuffle(mixed)
    out, problems = assemble_extended(mixed, guid)
    assert out == data
    assert {p.code for p in problems} <= {"xmp.extended.guid-mismatch"}
    assert sum(p.code == "xmp.extended.guid-mismatch" for p in problems) == len(other)


def _codes(chunks, guid):
    out, problems = assemble_extended(chunks, guid)
    return out, {p.code for p in problems}


@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), size=st.integers(3 * 4000 + 1, 60_000))
def test_assemble_mutations(seed, size):
    data = random.Random(seed).randbytes(size)
    guid, chunks = split_extended(data, 4000)
    parsed = [parse_extended_chunk(c) for c in chunks]
    assert len(parsed) >= 4

    out, codes = _codes(chunks, guid.lower())
    assert out is None and codes == {"xmp.extended.guid-format"}

    wrong = hashlib.md5(b"nope").hexdigest().upper()
    out, codes = _codes(chunks, wrong)
    assert out is None and codes == {"xmp.extended.guid-mismatch", "xmp.extended.missing"}

    out, codes = _codes(chunks[:1] + chunks[2:], guid)  # gap
    assert out is None and "xmp.extended.gap" in codes

    out, codes = _codes(chunks + [chunks[1]], guid)  # the same chunk twice
    assert out is None and "xmp.extended.overlap" in codes

    out, codes = _codes(chunks[:-1], guid)  # last chunk missing
    assert out is None and codes == {"xmp.extended.short"}

    c = parsed[1]
    flipped = bytes([c.data[0] ^ 0xFF]) + c.data[1:]
    bad = chunks[:1] + [build_extended_chunk(ExtendedChunk(guid, c.full_length, c.chunk_offset, flipped))] + chunks[2:]
    out, codes = _codes(bad, guid)
    assert out is None and codes == {"xmp.extended.md5"}

    bad = chunks[:1] + [build_extended_chunk(ExtendedChunk(guid, c.full_length + 1, c.chunk_offset, c.data))] + chunks[2:]
    out, codes = _codes(bad, guid)
    assert out is None and codes == {"xmp.extended.length-mismatch"}

    last = parsed[-1]
    bad = chunks[:-1] + [build_extended_chunk(ExtendedChunk(guid, last.full_length, last.chunk_offset,
                                                            last.data + b"!"))]
    out, codes = _codes(bad, guid)
    assert out is None and "xmp.extended.overflow" in codes

    out, codes = _codes([b"garbage"] + chunks, guid)
    assert out == data and codes == {"xmp.extended.chunk"}


def test_split_rejects_bad_arguments():
    with pytest.raises(SchemaError):
        split_extended(b"")
    with pytest.raises(SchemaError):
        split_extended(b"abc", 0)
    with pytest.raises(SchemaError):
        split_extended(b"abc", MAX_EXT_CHUNK + 1)


# ------------------------------------------------------------------------------------------- secure parsing

def test_parse_xmp_requires_identifier():
    with pytest.raises(SchemaError):
        parse_xmp(b"<x:xmpmeta/>")
    with pytest.raises(SchemaError):
        parse_xmp(EXT_XMP_IDENT + b"A" * 40)


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b"]><x:xmpmeta " + X.encode() + b">&lol9;</x:xmpmeta>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b"<x:xmpmeta " + X.encode() + b">&xxe;</x:xmpmeta>")
HOSTILE = {
    "billion-laughs": (BILLION_LAUGHS, "xmp.doctype"),
    "xxe": (XXE, "xmp.doctype"),
    "nest-10k": (b"<a>" * 10_000 + b"</a>" * 10_000, "xmp.depth"),
    "nest-65": (b"<a>" * 65 + b"</a>" * 65, "xmp.depth"),
    "20MB": (b"<x:xmpmeta " + X.encode() + b">" + b"<a/>" * (5 * 1024 * 1024) + b"</x:xmpmeta>", "xmp.too-large"),
    "lowercase-doctype": (b"<!doctype x><x/>", "xmp.doctype"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_quickly(name):
    body, code = HOSTILE[name]
    t0 = time.perf_counter()
    x = parse_xmp(XMP_IDENT + body)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    assert not x.well_formed and x.root_tag is None
    assert code in {p.code for p in x.problems}
    assert all(0 <= p.offset <= len(body) + len(XMP_IDENT) for p in x.problems)
    with pytest.raises(SchemaError):
        set_hdrgm(body, {"Version": "1.0"})


def test_depth_64_is_accepted():
    x = parse_xmp_packet(b"<a>" * 64 + b"</a>" * 64)
    assert x.well_formed and x.root_tag == "a"


def test_malformed_reports_position():
    body = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n  <a>\n  <b></a>\n</x:xmpmeta>'
    x = parse_xmp(XMP_IDENT + body)
    assert not x.well_formed
    (p,) = x.problems
    assert p.code == "xmp.malformed" and "line 3" in p.message
    line3 = len(XMP_IDENT) + body.index(b"  <b>")
    assert line3 <= p.offset <= line3 + len(b"  <b></a>")


def test_trailing_nul_xpacket_and_empty():
    body = packet('   <hdrgm:Gamma>2.0</hdrgm:Gamma>', 'hdrgm:Version="1.0"')
    wrapped = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body
               + b"\n" + b" " * 100 + b'\n<?xpacket end="w"?>\x00\x00\n')
    x = parse_xmp(XMP_IDENT + wrapped)
    assert x.well_formed and x.problems == [] and x.hdrgm_values()["Gamma"] == 2.0
    assert parse_xmp(XMP_IDENT + b"\x00 \n").problems[0].code == "xmp.empty"


# ------------------------------------------------------------------------------------------- reading forms

finite = st.floats(-16, 16, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_forms_read_to_the_same_values(data):
    """Each per-channel property in attribute, element, 1-item or 3-item Seq form reads to its value."""
    attrs, elems, expected = ['hdrgm:Version="1.0"'], [], {}
    for prop in HDRGM_PROPS:
        if prop.name == "Version":
            continue
        if prop.kind == "bool":
            value = data.draw(st.booleans())
            text = ["False", "True"][value]
            form = data.draw(st.sampled_from(["attribute", "element"]))
        else:
            value = data.draw(finite)
            text = repr(value)
            form = data.draw(st.sampled_from(["attribute", "element", "seq1", "seq3"] if prop.per_channel
                                             else ["attribute", "element"]))
        if form == "attribute":
            attrs.append(f'hdrgm:{prop.name}="{text}"')
        elif form == "element":
            elems.append(f"   <hdrgm:{prop.name}> {text} </hdrgm:{prop.name}>")
        else:
            n = 1 if form == "seq1" else 3
            vals = [value] if n == 1 else [value, data.draw(finite), data.draw(finite)]
            lis = "".join(f"<rdf:li>{v!r}</rdf:li>" for v in vals)
            elems.append(f"   <hdrgm:{prop.name}><rdf:Seq>{lis}</rdf:Seq></hdrgm:{prop.name}>")
            value = tuple(vals)
        expected[prop.name] = (value, form)
    x = parse_xmp(wrap_app1(packet("\n".join(elems), " ".join(attrs))))
    assert x.problems == []
    for name, (value, form) in expected.items():
        hv = x.hdrgm[name]
        assert hv.value == value and hv.prefix == "hdrgm" and hv.description_index == 0
        assert hv.form == ("seq" if form.startswith("seq") else form)
        assert hv.items == (int(form[-1]) if form.startswith("seq") else 0)
    md = GainMapMetadata.from_hdrgm(x.hdrgm_values())
    assert md.gamma[0] == (expected["Gamma"][0][0] if isinstance(expected["Gamma"][0], tuple)
                           else expected["Gamma"][0])


def test_value_problems_and_offsets():
    body = packet("   <hdrgm:GainMapMax><rdf:Seq><rdf:li>1</rdf:li><rdf:li>2</rdf:li></rdf:Seq></hdrgm:GainMapMax>\n"
                  "   <hdrgm:HDRCapacityMax><rdf:Seq><rdf:li>1</rdf:li></rdf:Seq></hdrgm:HDRCapacityMax>\n"
                  "   <hdrgm:Foo>1</hdrgm:Foo>",
                  'hdrgm:Version="1.0" hdrgm:Gamma="fast" hdrgm:BaseRenditionIsHDR="true" hdrgm:OffsetSDR="nan"',
                  extra_desc=f'\n  <rdf:Description {H} hdrgm:Gamma="2.0"/>')
    payload = wrap_app1(body)
    x = parse_xmp(payload)
    codes = [p.code for p in x.problems]
    for code in ("xmp.hdrgm.value", "xmp.hdrgm.bool-case", "xmp.hdrgm.seq-count", "xmp.hdrgm.form",
                 "xmp.hdrgm.unknown", "xmp.hdrgm.duplicate"):
        assert code in codes, code
    assert x.descriptions == 2
    assert x.hdrgm["Gamma"].value is None and x.hdrgm["Gamma"].description_index == 0
    assert [h.value for h in x.hdrgm_all if h.name == "Gamma"] == [None, 2.0]
    assert x.hdrgm["BaseRenditionIsHDR"].value is True
    values = x.hdrgm_values()
    assert "Gamma" not in values and "GainMapMax" not in values and "OffsetSDR" not in values
    gamma_problem = next(p for p in x.problems if p.code == "xmp.hdrgm.value" and "Gamma" in p.message)
    assert payload[gamma_problem.offset:].startswith(b"hdrgm:Gamma")
    seq_problem = next(p for p in x.problems if p.code == "xmp.hdrgm.seq-count")
    assert payload[seq_problem.offset:].startswith(b"<hdrgm:GainMapMax")


def test_namespace_declaration_places_and_prefixes():
    body = (f'<x:xmpmeta {X} xmlns:hd="{HDRGM_NS}"><rdf:RDF {R}>'
            f'<rdf:Description rdf:about="" hd:Version="1.0"/></rdf:RDF></x:xmpmeta>').encode()
    x = parse_xmp_packet(body)
    assert [(d.element, d.prefix) for d in x.declarations(HDRGM_NS)] == [("xmpmeta", "hd")]
    assert x.hdrgm["Version"].prefix == "hd" and not skia_ok(body)
    assert libultrahdr_attrs(body) == {}
    other_root = b'<rdf:RDF xmlns:rdf="' + RDF_NS.encode() + b'"><rdf:Description/></rdf:RDF>'
    x = parse_xmp_packet(other_root)
    assert x.well_formed and not x.root_is_xmpmeta and x.descriptions == 1


def test_container_forms():
    attr_li = ('<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/>'
               "</rdf:li>")
    elem_li = ('<rdf:li rdf:parseType="Resource"><Container:Item rdf:parseType="Resource">'
               "<Item:Semantic>GainMap</Item:Semantic><Item:Mime>image/jpeg</Item:Mime>"
               "<Item:Length> 1234 </Item:Length><Item:Padding>8</Item:Padding></Container:Item></rdf:li>")
    typed_li = ('<rdf:li rdf:parseType="Resource"><rdf:type rdf:resource="Item"/><rdf:value rdf:parseType="Resource">'
                "<Item:Semantic>MotionPhoto</Item:Semantic><Item:Mime>video/mp4</Item:Mime>"
                "<Item:Length>-5</Item:Length></rdf:value></rdf:li>")
    bare_li = '<rdf:li Item:Semantic="Depth" Item:Mime="image/jpeg" Item:Length="77"/>'
    body = packet(f"<Container:Directory><rdf:Seq>{attr_li}{elem_li}{typed_li}{bare_li}<rdf:li/>"
                  "</rdf:Seq></Container:Directory>",
                  f'xmlns:Container="{CONTAINER_NS}" xmlns:Item="{ITEM_NS}"')
    x = parse_xmp_packet(body)
    items = x.container_items
    assert [(i.semantic, i.mime, i.length, i.padding, i.form) for i in items] == [
        ("Primary", "image/jpeg", None, None, "item"),
        ("GainMap", "image/jpeg", 1234, 8, "item"),
        ("MotionPhoto", "video/mp4", None, None, "typed"),
        ("Depth", "image/jpeg", 77, None, "li"),
    ]
    assert items[2].raw["Length"] == "-5"
    codes = {p.code for p in x.problems}
    assert {"xmp.container.length", "xmp.container.item"} <= codes
    assert x.container_description_index == 0


def test_apple_and_extended_reading():
    apple = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF_NS + '">'
             '<rdf:Description xmlns:apdi="http://ns.apple.com/pixeldatainfo/1.0/" '
             'xmlns:HDRGainMap="http://ns.apple.com/HDRGainMap/1.0/" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
             'HDRGainMap:HDRGainMapVersion="131072" xmpNote:HasExtendedXMP="ABCDEF0123456789ABCDEF0123456789">'
             "<apdi:AuxiliaryImageType>urn:com:apple:photo:2020:aux:hdrgainmap</apdi:AuxiliaryImageType>"
             "<apdi:StoredFormat>1278226488</apdi:StoredFormat>"
             "<HDRGainMap:HDRGainMapHeadroom>x</HDRGainMap:HDRGainMapHeadroom>"
             "</rdf:Description></rdf:RDF></x:xmpmeta>").encode()
    x = parse_xmp_packet(apple)
    assert x.apple is not None
    assert (x.apple.aux_type, x.apple.stored_format, x.apple.native_format, x.apple.version, x.apple.headroom) == (
        "urn:com:apple:photo:2020:aux:hdrgainmap", 1278226488, None, 131072, None)
    assert "xmp.apple.value" in {p.code for p in x.problems}
    assert x.has_extended_xmp == "ABCDEF0123456789ABCDEF0123456789"
    assert x.hdrgm == {}


# ------------------------------------------------------------------------------------------- writers

def metadata_strategy(channels: int):
    per = st.lists(st.floats(-6, 6, allow_nan=False), min_size=channels, max_size=channels).map(tuple)
    pos = st.lists(st.floats(0.05, 8, allow_nan=False), min_size=channels, max_size=channels).map(tuple)
    off = st.lists(st.floats(0, 1, allow_nan=False), min_size=channels, max_size=channels).map(tuple)
    head = st.floats(0, 10, allow_nan=False)
    return st.builds(GainMapMetadata, gain_map_min=per, gain_map_max=per, gamma=pos, base_offset=off,
                     alternate_offset=off, base_hdr_headroom=head, alternate_hdr_headroom=head,
                     use_base_colour_space=st.just(True))


@settings(max_examples=80, deadline=None)
@given(md=st.one_of(metadata_strategy(1), metadata_strategy(3)))
def test_gainmap_xmp_round_trip(md):
    pkt = build_gainmap_xmp(md)
    x = parse_xmp(wrap_app1(pkt))
    assert x.problems == [] and x.descriptions == 1 and x.root_is_xmpmeta
    back = GainMapMetadata.from_hdrgm(x.hdrgm_values())
    assert back.approx_equal(md, tol=1e-12)
    assert set(x.hdrgm) == {p.name for p in HDRGM_PROPS}
    assert x.hdrgm["BaseRenditionIsHDR"].value == md.base_is_hdr
    assert skia_ok(pkt)
    seqs = {n for n, v in x.hdrgm.items() if v.form == "seq"}
    if md.is_multichannel:
        assert seqs and all(x.hdrgm[n].items == 3 for n in seqs)
    else:
        assert seqs == set()
        attrs = libultrahdr_attrs(pkt)
        assert attrs.keys() == {p.name for p in HDRGM_PROPS}
        assert attrs["Version"] == "1.0" and attrs["BaseRenditionIsHDR"] in ("True", "False")
        assert float(attrs["GainMapMax"]) == md.to_hdrgm()["GainMapMax"]
    assert pkt == build_gainmap_xmp(md)  # deterministic


def test_gainmap_xmp_refuses_alternate_colour_space():
    with pytest.raises(MetadataConversionError):
        build_gainmap_xmp(GainMapMetadata(use_base_colour_space=False))


def test_primary_xmp_layout():
    pkt = build_primary_xmp(4544)
    x = parse_xmp(wrap_app1(pkt))
    assert x.problems == [] and x.descriptions == 1 and x.root_is_xmpmeta and x.toolkit
    assert x.hdrgm_values() == {"Version": "1.0"} and x.hdrgm["Version"].form == "attribute"
    assert [(i.semantic, i.mime, i.length) for i in x.container_items] == [
        ("Primary", "image/jpeg", None), ("GainMap", "image/jpeg", 4544)]
    for ns in (HDRGM_NS, CONTAINER_NS, ITEM_NS):
        assert [(d.element, d.description_index) for d in x.declarations(ns)] == [("Description", 0)]
    assert libultrahdr_attrs(pkt) == {"Version": "1.0"}
    assert b'rdf:about=""' in pkt and b"Item:Length=\"4544\"" in pkt
    with pytest.raises(SchemaError):
        build_primary_xmp(0)


def test_wrap_app1_limits():
    assert wrap_app1(new_packet()).startswith(XMP_IDENT)
    with pytest.raises(SchemaError):
        wrap_app1(b" " * (MAX_APP1_PACKET + 1))
    x = parse_xmp_packet(new_packet())
    assert x.well_formed and x.descriptions == 1 and x.hdrgm == {}


RICH = (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta {X} x:xmptk="Test">\n'
        f' <rdf:RDF {R}>\n'
        f'  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:hd="{HDRGM_NS}"\n'
        f'    xmp:CreatorTool="Cam &amp; Co &lt;1&gt;" hd:Version="1.0" hd:Gamma="3">\n'
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Caf\u00e9 "quoted"</rdf:li></rdf:Alt></dc:title>\n'
        f"   <hd:GainMapMin><rdf:Seq><rdf:li>1</rdf:li><rdf:li>2</rdf:li><rdf:li>3</rdf:li></rdf:Seq></hd:GainMapMin>\n"
        f"  </rdf:Description>\n"
        f'  <rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:PixelXDimension="4032" {H}>\n'
        f"   <hdrgm:HDRCapacityMax>5</hdrgm:HDRCapacityMax>\n"
        f"  </rdf:Description>\n"
        f' </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>').encode()


def test_set_hdrgm_replaces_all_forms_and_keeps_the_rest():
    out = set_hdrgm(RICH, {"Version": "1.0", "GainMapMax": 2.5, "HDRCapacityMax": 2.5})
    x = parse_xmp_packet(out)
    assert x.problems == []
    assert x.hdrgm_values() == {"Version": "1.0", "GainMapMax": 2.5, "HDRCapacityMax": 2.5}
    assert all(v.form == "attribute" and v.prefix == "hdrgm" and v.description_index == 0 for v in x.hdrgm.values())
    assert libultrahdr_attrs(out) == {"Version": "1.0", "GainMapMax": "2.5", "HDRCapacityMax": "2.5"}
    assert skia_ok(out)
    assert non_ns_facts(out, {HDRGM_NS}) == non_ns_facts(RICH, {HDRGM_NS})
    assert out.startswith(b"<?xpacket begin=") and out.rstrip().endswith(b'<?xpacket end="w"?>')
    assert set_hdrgm(out, {"Version": "1.0", "GainMapMax": 2.5, "HDRCapacityMax": 2.5}) == out


def test_set_hdrgm_refuses_bad_input():
    with pytest.raises(SchemaError):
        set_hdrgm(b"<x:xmpmeta", {"Version": "1.0"})
    with pytest.raises(SchemaError):
        set_hdrgm(new_packet(), {"Colour": 1.0})
    with pytest.raises(SchemaError):
        set_hdrgm(new_packet(), {"Gamma": float("inf")})
    with pytest.raises(SchemaError):
        set_hdrgm(new_packet(), {"HDRCapacityMax": (1.0, 2.0, 3.0)})
    with pytest.raises(SchemaError):
        set_hdrgm(new_packet(), {"BaseRenditionIsHDR": "yes"})
    clash = f'<x:xmpmeta {X} xmlns:hdrgm="urn:other"><rdf:RDF {R}><rdf:Description/></rdf:RDF></x:xmpmeta>'
    with pytest.raises(SchemaError):
        set_hdrgm(clash.encode(), {"Version": "1.0"})
    with pytest.raises(SchemaError):
        set_hdrgm(b"<other/>", {"Version": "1.0"})


def test_set_hdrgm_creates_missing_structure():
    out = set_hdrgm(f"<x:xmpmeta {X}/>".encode(), {"Version": "1.0"})
    x = parse_xmp_packet(out)
    assert x.descriptions == 1 and x.hdrgm_values() == {"Version": "1.0"}


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@settings(max_examples=40, deadline=None)
@given(attrs=st.dictionaries(names, values, max_size=5), elems=st.dictionaries(names, values, max_size=5),
       seq=st.booleans())
def test_editors_preserve_unrelated_properties(attrs, elems, seq):
    from xml.sax.saxutils import escape, quoteattr

    a = " ".join(f"u:{k}={quoteattr(v)}" for k, v in attrs.items())
    e = "\n".join(f"   <u:{k}>{escape(v)}</u:{k}>" for k, v in elems.items())
    base = packet(e, f'xmlns:u="urn:test:unrelated" {a}')
    facts = non_ns_facts(base, {HDRGM_NS, CONTAINER_NS, ITEM_NS})
    props = {"Version": "1.0", "GainMapMax": (1.0, 2.0, 3.0) if seq else 2.0}
    for out in (set_hdrgm(base, props), set_container_directory(base, 99), ensure_primary_version(base)):
        assert non_ns_facts(out, {HDRGM_NS, CONTAINER_NS, ITEM_NS}) == facts
    x = parse_xmp_packet(set_hdrgm(base, props))
    assert x.hdrgm["GainMapMax"].value == props["GainMapMax"]
    assert x.hdrgm["GainMapMax"].form == ("seq" if seq else "attribute")


def test_set_container_directory_corrects_and_reorders():
    directory = (f'<Container:Directory xmlns:Container="{CONTAINER_NS}" xmlns:Item="{ITEM_NS}"><rdf:Bag>'
                 '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="MotionPhoto" Item:Mime="video/mp4" '
                 'Item:Length="500"/></rdf:li>'
                 '<rdf:li rdf:parseType="Resource"><Container:Item rdf:parseType="Resource">'
                 "<Item:Semantic>GainMap</Item:Semantic><Item:Length>1</Item:Length></Container:Item></rdf:li>"
                 '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Padding="0"/></rdf:li>'
                 "</rdf:Bag></Container:Directory>")
    base = packet("", 'hdrgm:Version="1.0"',
                  extra_desc=f'\n  <rdf:Description xmlns:o="urn:o" o:keep="yes">{directory}</rdf:Description>')
    out = set_container_directory(base, 31337)
    x = parse_xmp_packet(out)
    assert x.container_description_index == 0 and x.problems == []
    # the gain map follows the primary directly (gap 0), so the GainMap item moves before the MP4's
    assert [(i.semantic, i.mime, i.length, i.padding) for i in x.container_items] == [
        ("Primary", "image/jpeg", None, 0), ("GainMap", "image/jpeg", 31337, None), ("MotionPhoto", "video/mp4", 500,
                                                                                     None)]
    assert x.container_items[1].raw["Length"] == "31337"  # element form kept
    for ns in (CONTAINER_NS, ITEM_NS):
        assert any(d.element == "Description" and d.description_index == 0 for d in x.declarations(ns))
    assert ("{urn:o}keep", "yes") in {(k, v) for _, k, v in non_ns_facts(out, set())}
    assert set_container_directory(out, 31337) == out
    again = parse_xmp_packet(set_container_directory(out, 7))
    assert [i.length for i in again.container_items if i.semantic == "GainMap"] == [7]


def _placed(x) -> int:
    items = x.container_items
    k = next(i for i, it in enumerate(items) if it.semantic == "GainMap")
    return (items[0].padding or 0) + sum(it.length for it in items[1:k])


@pytest.mark.parametrize("gap", [0, 3, 500, 501, 4000])
def test_set_container_directory_places_the_gainmap_gap_bytes_after_the_primary(gap):
    directory = (f'<Container:Directory xmlns:Container="{CONTAINER_NS}" xmlns:Item="{ITEM_NS}"><rdf:Seq>'
                 '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/>'
                 '</rdf:li><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Depth" '
                 'Item:Mime="image/jpeg" Item:Length="500"/></rdf:li>'
                 '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" Item:Mime="image/jpeg" '
                 'Item:Length="9"/></rdf:li></rdf:Seq></Container:Directory>')
    base = packet(directory, 'hdrgm:Version="1.0"')
    x = parse_xmp_packet(set_container_directory(base, 1234, gap))
    assert x.problems == [] and _placed(x) == gap
    semantics = [i.semantic for i in x.container_items]
    # the Depth item's 500 bytes fit before the gain map only when the gap holds them
    assert semantics == (["Primary", "Depth", "GainMap"] if gap >= 500 else ["Primary", "GainMap", "Depth"])
    padding = x.container_items[0].padding
    assert padding == ((gap - 500 if gap >= 500 else gap) or None)  # no Padding written when it would be 0


def test_set_container_directory_resets_a_stale_padding_and_rejects_bad_gaps():
    directory = (f'<Container:Directory xmlns:Container="{CONTAINER_NS}" xmlns:Item="{ITEM_NS}"><rdf:Seq>'
                 '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Padding="77"/>'
                 '</rdf:li></rdf:Seq></Container:Directory>')
    x = parse_xmp_packet(set_container_directory(packet(directory, ""), 50))
    assert [(i.semantic, i.length, i.padding) for i in x.container_items] == [("Primary", None, 0),
                                                                              ("GainMap", 50, None)]
    for bad in (-1, 1.5, True):
        with pytest.raises(SchemaError):
            set_container_directory(packet(directory, ""), 50, bad)


def test_ensure_primary_version_moves_version_to_an_attribute():
    base = packet("", extra_desc=f"\n  <rdf:Description {H}><hdrgm:Version>1.0</hdrgm:Version>"
                                 "<hdrgm:GainMapMax>3</hdrgm:GainMapMax></rdf:Description>")
    out = ensure_primary_version(base)
    x = parse_xmp_packet(out)
    assert x.hdrgm["Version"].form == "attribute" and x.hdrgm["Version"].description_index == 0
    assert [h.name for h in x.hdrgm_all].count("Version") == 1
    assert x.hdrgm["GainMapMax"].value == 3.0  # other hdrgm properties untouched
    assert libultrahdr_attrs(out)["Version"] == "1.0"


# ------------------------------------------------------------------------------------------- corpus

corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not available")


@corpus
@pytest.mark.corpus
def test_corpus_packets_parse():
    count = 0
    for path in sorted(CORPUS.glob("*.jpg")):
        data = path.read_bytes()
        starts = [0]
        second = second_image(data)
        if second is not None:
            starts.append(second)
        for start in starts:
            for payload in xmp_payloads(data, start):
                if payload.startswith(XMP_IDENT):
                    x = parse_xmp(payload)
                    count += 1
                    if x.well_formed:
                        GainMapMetadata.from_hdrgm(x.hdrgm_values()) if x.hdrgm else None
                elif payload.startswith(EXT_XMP_IDENT):
                    parse_extended_chunk(payload)
    assert count > 50


@corpus
@pytest.mark.corpus
def test_corpus_adobe_seq_and_apple():
    adobe = sorted(CORPUS.glob("gainmapjs__0*.jpg"))
    if not adobe:
        pytest.skip("no gainmapjs__0*.jpg in the corpus")
    for path in adobe:
        data = path.read_bytes()
        second = second_image(data)
        assert second is not None, path.name
        packets = [parse_xmp(p) for p in xmp_payloads(data, second) if p.startswith(XMP_IDENT)]
        gm = next(x for x in packets if "GainMapMax" in x.hdrgm)
        assert gm.hdrgm["GainMapMax"].form == "seq" and gm.hdrgm["GainMapMax"].items == 3, path.name
        md = GainMapMetadata.from_hdrgm(gm.hdrgm_values())
        assert md.channel_count == 3
    apple = CORPUS / "libavif__apple_gainmap_new.jpg"
    if not apple.exists():
        pytest.skip("libavif__apple_gainmap_new.jpg is not in the corpus")
    data = apple.read_bytes()
    second = second_image(data)
    assert second is not None
    (x,) = [parse_xmp(p) for p in xmp_payloads(data, second) if p.startswith(XMP_IDENT)]
    assert x.apple is not None and x.apple.version == 131072
    assert x.apple.headroom == pytest.approx(4.53, abs=0.01)
    assert x.apple.aux_type == "urn:com:apple:photo:2020:aux:hdrgainmap"


def test_interpretation_limits():
    from gainmap.formats.xmp import MAX_DESCRIPTIONS, MAX_PROPERTIES

    descs = f'<rdf:Description {H} hdrgm:Gamma="2"/>' * (MAX_DESCRIPTIONS + 5)
    x = parse_xmp_packet(f"<x:xmpmeta {X}><rdf:RDF {R}>{descs}</rdf:RDF></x:xmpmeta>".encode())
    assert x.well_formed and x.descriptions == MAX_DESCRIPTIONS + 5
    assert len(x.hdrgm_all) == MAX_DESCRIPTIONS and x.hdrgm_values() == {"Gamma": 2.0}
    assert "xmp.descriptions-limit" in {p.code for p in x.problems}
    many = "".join(f"<hdrgm:X{i}>1</hdrgm:X{i}>" for i in range(MAX_PROPERTIES + 10))
    x = parse_xmp_packet(packet(many + "<hdrgm:Gamma>3</hdrgm:Gamma>"))
    assert "xmp.properties-limit" in {p.code for p in x.problems} and "Gamma" not in x.hdrgm


# ------------------------------------------------------------------------------------------- editing structure

ANCESTOR_DECLARED = (
    f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    f'<x:xmpmeta {X} {H} x:xmptk="Test">\n'
    f" <!-- kept -->\n"
    f' <rdf:RDF {R} xmlns:o="urn:o">\n'
    f'  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" o:a="1">\n'
    f'   <dc:subject><rdf:Bag><rdf:li>x &amp; y</rdf:li></rdf:Bag></dc:subject>\n'
    f"   <?pi inside?>\n"
    f"  </rdf:Description>\n"
    f'  <rdf:Description o:b="2"/>\n'
    f" </rdf:RDF>\n"
    f"</x:xmpmeta>\n"
    f'<?xpacket end="w"?>').encode()


def test_editors_declare_on_the_description_even_when_an_ancestor_declares():
    # x:xmpmeta declares hdrgm (Skia cannot see it there): the editor repeats the declaration on the first
    # rdf:Description, which lxml's API cannot do, and changes nothing else.
    out = ensure_primary_version(ANCESTOR_DECLARED)
    x = parse_xmp_packet(out)
    assert ("Description", 0) in [(d.element, d.description_index) for d in x.declarations(HDRGM_NS)]
    assert skia_ok(out) and libultrahdr_attrs(out) == {"Version": "1.0"}
    start = b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" o:a="1">'
    edited = (b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:hdrgm="' + HDRGM_NS.encode()
              + b'" rdf:about="" o:a="1" hdrgm:Version="1.0">')
    # lxml writes declarations before attributes; everything outside the start tag is byte for byte the same
    assert out == ANCESTOR_DECLARED.replace(start, edited)
    assert ensure_primary_version(out) == out


def test_set_container_directory_declares_without_touching_the_rest():
    out = set_container_directory(ANCESTOR_DECLARED, 10)
    head, _, rest = out.partition(b'<Container:Directory>')
    assert b'xmlns:Container="' + CONTAINER_NS.encode() + b'" xmlns:Item="' + ITEM_NS.encode() + b'"' in head
    assert head.startswith(ANCESTOR_DECLARED[:ANCESTOR_DECLARED.index(b"  <rdf:Description")])
    assert rest.endswith(ANCESTOR_DECLARED[ANCESTOR_DECLARED.index(b"  </rdf:Description>"):])
    assert b"<?pi inside?>" in head and b"<!-- kept -->" in head


def test_hdrgm_alias_on_the_description_yields_to_the_literal_prefix():
    # a Description that binds the hdrgm URI to another prefix first: the hdrgm declaration goes before it,
    # so the properties are written (and kept ones renamed) with the literal prefix libultrahdr matches
    alias = packet("   <hd:Gamma>3</hd:Gamma>", f'xmlns:hd="{HDRGM_NS}"').replace(f" {H} ".encode(), b" ")
    out = ensure_primary_version(alias)
    assert libultrahdr_attrs(out) == {"Version": "1.0"}
    x = parse_xmp_packet(out)
    assert x.hdrgm["Gamma"].value == 3.0 and x.hdrgm["Gamma"].prefix == "hdrgm"
    assert out.index(b"xmlns:hdrgm=") < out.index(b"xmlns:hd=")
    assert ensure_primary_version(out) == out


def test_extended_header_offsets_come_from_the_schema():
    from gainmap.formats.xmp import (
        EXT_CHUNK_OFFSET_OFFSET,
        EXT_DATA_OFFSET,
        EXT_FULL_LENGTH_OFFSET,
        EXT_GUID_OFFSET,
        PACKET_OFFSET,
        packet_of,
    )

    guid = "0123456789ABCDEF0123456789ABCDEF"
    raw = build_extended_chunk(ExtendedChunk(guid, 1000, 500, b"data"))
    # the layout of XMP Part 3, 1.1.3.1, written out independently of the schema
    assert raw == EXT_XMP_IDENT + guid.encode() + struct.pack(">II", 1000, 500) + b"data"
    assert raw[EXT_GUID_OFFSET:EXT_GUID_OFFSET + 32] == guid.encode()
    assert struct.unpack_from(">I", raw, EXT_FULL_LENGTH_OFFSET) == (1000,)
    assert struct.unpack_from(">I", raw, EXT_CHUNK_OFFSET_OFFSET) == (500,)
    assert raw[EXT_DATA_OFFSET:] == b"data" and EXT_DATA_OFFSET == len(EXT_XMP_IDENT) + 40
    assert PACKET_OFFSET == len(XMP_IDENT) and packet_of(wrap_app1(b"<p/>")) == b"<p/>"


def test_no_xmp_offset_arithmetic_outside_the_format_package():
    src = Path(__file__).resolve().parents[1] / "src" / "gainmap"
    pattern = re.compile(r"len\((?:\w+\.)?(?:EXT_)?XMP_IDENT\)|EXT_HEADER\b")
    offenders = [f"{p.relative_to(src)}:{n}" for p in src.rglob("*.py") if "formats/xmp" not in p.as_posix()
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
