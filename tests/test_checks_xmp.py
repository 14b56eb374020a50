"""The xmp.* and container.* check families: each id tripped by an in-memory variant of a valid fixture, and
silent on the valid fixtures; offsets point at the offending bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from checkhelpers import only
from checkhelpers import report_findings as findings
from conftest import FIXTURES, corpus_params, fixture_files
from gainmap.analysis.validate import check_bytes
from gainmap.formats.scanner import Segment
from gainmap.formats.xmp import XMP_IDENT, split_extended
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read

MINE = ("xmp.", "container.")
HDRGM = "http://ns.adobe.com/hdr-gain-map/1.0/"
NS_DECLS = ('xmlns:Container="http://ns.google.com/photos/1.0/container/" '
            'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" ')


# ---------------------------------------------------------------------------------------------- helpers
def load(name: str = "ultrahdr.jpg") -> GainMapFile:
    return read((FIXTURES / "valid" / name).read_bytes(), name=name)


def save(gmf: GainMapFile) -> bytes:
    """Bytes with MPF kept right but the GContainer directory exactly as edited."""
    gmf.update_mpf()
    return gmf.to_bytes(recompute=False)


def packet(gmf: GainMapFile, role: str) -> str:
    image = gmf.primary if role == "primary" else gmf.gainmap
    return image.first("xmp").payload[len(XMP_IDENT):].decode()


def set_packet(gmf: GainMapFile, role: str, text: str | bytes) -> None:
    image = gmf.primary if role == "primary" else gmf.gainmap
    image.first("xmp").payload = XMP_IDENT + (text.encode() if isinstance(text, str) else text)


def edited(role: str, fn: Callable[[str], str | bytes], name: str = "ultrahdr.jpg") -> bytes:
    gmf = load(name)
    set_packet(gmf, role, fn(packet(gmf, role)))
    return save(gmf)






def plain_jpeg(xmp_packet: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buf, format="JPEG")
    gmf = read(buf.getvalue())
    if xmp_packet is not None:
        gmf.primary.insert(Segment.app(1, XMP_IDENT + xmp_packet), 1)
    return gmf.to_bytes(recompute=True)


def gm_offset(gmf: GainMapFile) -> tuple[int, int]:
    seg = gmf.gainmap.first("xmp")
    return seg.offset, seg.offset + seg.size


# ---------------------------------------------------------------------------------------------- valid files
@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_valid_fixtures_have_no_xmp_or_container_findings(path: Path):
    data = path.read_bytes()
    mine = [f for f in findings(data) if f.id.startswith(MINE)]
    assert mine == []


# ---------------------------------------------------------------------------------------------- xmp.*
def test_malformed_gainmap_packet_is_an_error_at_the_bad_byte():
    gmf = load()
    text = packet(gmf, "gainmap").replace("</rdf:RDF>", "</rdf:RDFX>")
    set_packet(gmf, "gainmap", text)
    data = save(gmf)
    (f,) = only(data, "xmp.malformed")
    start, end = gm_offset(read(data))
    assert f.severity == "error" and f.image == 1 and start < f.offset < end
    assert data[f.offset - 30:f.offset + 2].find(b"</rdf:RDFX") >= 0
    assert "not well-formed" in f.message
    libavif = check_bytes(data).viewers["libavif"]  # it reads only the gain map's XMP
    assert not libavif.hdr and "hdrgm.params-missing" in libavif.because


def test_no_rdf_is_reported_as_malformed_with_its_code():
    data = edited("gainmap", lambda t: '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    (f,) = only(data, "xmp.malformed")
    assert f.detail["code"] == "xmp.no-rdf"


def test_malformed_xmp_in_a_plain_file_is_only_a_warning():
    (f,) = only(plain_jpeg(b"sample xmp string"), "xmp.malformed")
    assert f.severity == "warning"


def test_root_name():
    def bare_rdf(text: str) -> str:
        start, end = text.index("<rdf:RDF"), text.index("</rdf:RDF>") + len("</rdf:RDF>")
        return text[start:end]

    data = edited("gainmap", bare_rdf)
    (f,) = only(data, "xmp.root-name")
    assert data[f.offset:f.offset + f.length] == b"<rdf:RDF"
    assert "x:xmpmeta" in f.message and check_bytes(data).viewers["chrome"].route == "iso"


def test_namespace_declared_on_xmpmeta():
    def move(text: str) -> str:
        decl = f'xmlns:hdrgm="{HDRGM}" '
        text = text.replace(decl, "")
        return text.replace('<x:xmpmeta xmlns:x="adobe:ns:meta/"', f'<x:xmpmeta {decl}xmlns:x="adobe:ns:meta/"')

    data = edited("primary", move, "xmp_only.jpg")
    (f,) = only(data, "xmp.namespace-placement")
    assert data[f.offset:f.offset + len("xmlns:hdrgm=")] == b"xmlns:hdrgm="
    assert f.image == 0 and f.detail["declared_on"] == "xmpmeta"
    assert not check_bytes(data).viewers["chrome"].hdr  # no ISO to fall back on


def test_duplicate_packet():
    gmf = load()
    extra = Segment.app(1, XMP_IDENT + packet(gmf, "gainmap").replace("2.5", "3.5").encode())
    gmf.gainmap.insert(extra, gmf.gainmap.index_of(gmf.gainmap.first("xmp")) + 1)
    data = save(gmf)
    (f,) = only(data, "xmp.duplicate")
    again = read(data)
    second = [s for s in again.gainmap.segments() if s.kind == "xmp"][1]
    assert (f.offset, f.length, f.image) == (second.offset, second.size, 1)
    assert "hdrgm properties are lost" in f.message


def _with_extended(mutate_chunks=None, guid_text=None, max_chunk=200, move=True) -> bytes:
    """Move the primary's Directory and hdrgm:Version into ExtendedXMP chunks (as Pixel files do)."""
    gmf = load()
    full = packet(gmf, "primary")
    guid, chunks = split_extended(full.encode(), max_chunk=max_chunk)
    if mutate_chunks is not None:
        chunks = mutate_chunks(chunks)
    standard = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
                f'xmpNote:HasExtendedXMP="{guid_text or guid}"/></rdf:RDF></x:xmpmeta>')
    if move:
        set_packet(gmf, "primary", standard)
    at = gmf.primary.index_of(gmf.primary.first("xmp")) + 1
    for i, chunk in enumerate(chunks):
        gmf.primary.insert(Segment.app(1, chunk), at + i)
    return save(gmf)


def test_extended_properties_are_found_and_reported_as_a_fact():
    data = _with_extended()
    (f,) = only(data, "xmp.extended-properties")
    assert f.severity == "info" and f.detail == {"hdrgm": True, "container": True}
    ids = {x.id for x in findings(data)}
    assert not ids & {"hdrgm.primary-missing", "container.missing", "xmp.extended-guid", "xmp.extended-md5",
                      "xmp.extended-coverage"}
    from gainmap.analysis.classify import classify

    assert classify(data) == "ultrahdr-xmp+iso"


def test_extended_guid_format_and_missing_chunks():
    (f,) = only(_with_extended(guid_text="not-a-guid"), "xmp.extended-guid")
    assert f.detail["code"] == "xmp.extended.guid-format"
    gone = only(_with_extended(mutate_chunks=lambda c: []), "xmp.extended-guid")
    assert gone[0].detail["code"] == "xmp.extended.missing"


def test_extended_chunks_without_has_extended_xmp():
    data = _with_extended(move=False)  # chunks added, standard packet untouched (no HasExtendedXMP)
    (f,) = only(data, "xmp.extended-guid")
    first = next(s for s in read(data).primary.segments() if s.kind == "extended_xmp")
    assert (f.offset, f.length) == (first.offset, first.size)


def test_extended_md5_and_coverage():
    def tamper(chunks):
        last = bytearray(chunks[-1])
        last[-3] ^= 0x20  # same length, other content
        return chunks[:-1] + [bytes(last)]

    (f,) = only(_with_extended(mutate_chunks=tamper), "xmp.extended-md5")
    assert f.length == 32
    gap = only(_with_extended(mutate_chunks=lambda c: c[:1] + c[2:]), "xmp.extended-coverage")
    assert gap[0].detail["code"] == "xmp.extended.gap"
    short = only(_with_extended(mutate_chunks=lambda c: c[:-1]), "xmp.extended-coverage")
    assert short[0].detail["code"] == "xmp.extended.short"


def test_empty_encoding_doctype_and_limits():
    no_desc = edited("gainmap", lambda t: '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                                          'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')
    assert only(no_desc, "xmp.empty")[0].detail["code"] == "xmp.no-description"
    wide = edited("gainmap", lambda t: t.encode("utf-16"))
    assert only(wide, "xmp.encoding")[0].severity == "warning"
    dtd = edited("gainmap", lambda t: '<!DOCTYPE x [<!ENTITY a "b">]>' + t)
    (f,) = only(dtd, "xmp.doctype")
    assert read(dtd).gainmap.first("xmp").payload_offset + len(XMP_IDENT) == f.offset
    deep = edited("gainmap", lambda t: t.replace("<rdf:RDF", "<a>" * 70 + "<rdf:RDF", 1)
                  .replace("</rdf:RDF>", "</rdf:RDF>" + "</a>" * 70, 1))
    assert only(deep, "xmp.limit")[0].detail["code"] == "xmp.depth"


# ---------------------------------------------------------------------------------------------- container.*
def test_missing_directory():
    data = edited("primary", lambda t: t[:t.index("<Container:Directory>")] + t[t.index("</Container:Directory>")
                                                                            + len("</Container:Directory>"):])
    (f,) = only(data, "container.missing")
    assert data[f.offset:f.offset + 13] == b"hdrgm:Version" and f.severity == "warning"


def test_directory_as_bag():
    data = edited("primary", lambda t: t.replace("rdf:Seq>", "rdf:Bag>"))
    (f,) = only(data, "container.form")
    assert data[f.offset:f.offset + 8] == b"<rdf:Bag" and f.detail["code"] == "xmp.container.not-seq"
    assert check_bytes(data).viewers["chrome"].hdr  # MPF is fine: the fallback is not needed


def test_second_directory():
    def twice(t: str) -> str:
        start, end = t.index("<Container:Directory>"), t.index("</Container:Directory>") + 22
        second = f'<rdf:Description rdf:about="" {NS_DECLS}>{t[start:end]}</rdf:Description>'
        return t.replace("</rdf:RDF>", second + "</rdf:RDF>")

    assert only(edited("primary", twice), "container.duplicate")[0].image == 0


def test_semantic_order_and_mime():
    swapped = edited("primary", lambda t: t.replace('"Primary"', '"@@"').replace('"GainMap"', '"Primary"')
                     .replace('"@@"', '"GainMap"'))
    order = only(swapped, "container.semantic-order")
    assert "not 'Primary'" in order[0].message
    two = edited("primary", lambda t: t.replace('"GainMap"', '"Primary"'))
    assert any("another Primary" in f.message for f in only(two, "container.semantic-order"))
    png = edited("primary", lambda t: t.replace('Item:Mime="image/jpeg" Item:Length', 'Item:Mime="image/png" '
                                                                                     'Item:Length'))
    (f,) = only(png, "container.item-mime")
    assert png[f.offset:f.offset + f.length] == b'Item:Mime="image/png"'


def test_item_length_names_the_attribute_and_both_values():
    data = (FIXTURES / "broken" / "item_length_wrong.jpg").read_bytes()
    (f,) = only(data, "container.item-length")
    gm = read(data).gainmap
    assert data[f.offset:f.offset + f.length] == f'Item:Length="{gm.size + 5}"'.encode()
    assert str(gm.size) in f.message and str(gm.size + 5) in f.message and "+5" in f.message
    bad = edited("primary", lambda t: t.replace('Item:Length="', 'Item:Length="x'))
    assert only(bad, "container.item-length")[0].detail["code"] == "xmp.container.length"
    gone = edited("primary", lambda t: t.replace(' Item:Length="1182"', ""))
    assert "no Item:Length" in only(gone, "container.item-length")[0].message


def test_item_offset_with_junk_and_bad_padding():
    data = (FIXTURES / "broken" / "junk_between.jpg").read_bytes()
    (f,) = only(data, "container.item-offset")
    gmf = read(data)
    assert f.detail == {"placed": gmf.primary.end, "actual": gmf.gainmap.offset, "padding": 0}
    assert "64 byte(s) lie between" in f.message
    padded = edited("primary", lambda t: t.replace('Item:Semantic="Primary"', 'Item:Semantic="Primary" '
                                                                              'Item:Padding="-1"'))
    assert only(padded, "container.item-offset")[0].detail["code"] == "xmp.container.padding"
    right = edited("primary", lambda t: t.replace('Item:Semantic="Primary"', 'Item:Semantic="Primary" '
                                                                             'Item:Padding="0"'))
    assert findings(right, "container.item-offset") == []


# ---------------------------------------------------------------------------------------------- corpus
@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_never_fails_and_xmp_findings_are_sane(path: Path):
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        pytest.skip("not a JPEG")
    report = check_bytes(data, path.name)
    assert not [f for f in report.findings if f.id == "internal.check-failed"]
    for f in report.findings:
        if f.id.startswith(MINE):
            assert f.offset is None or 0 <= f.offset < len(data), f
            assert f.image in (0, 1) and f.message
    ids = {f.id for f in report.findings}
    if path.name.startswith("android-samples__"):
        assert "xmp.extended-properties" in ids  # Pixel-style: hdrgm and the Directory in ExtendedXMP
    if path.name.startswith("gainmapjs__0"):
        assert "container.missing" in ids  # Adobe-style: no Directory
