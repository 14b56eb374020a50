"""xmp.*: the XMP packets of the primary and the gain map, standard and extended (formats.md §1, §4).

Only the packets readers use are examined: the first standard XMP APP1 of the primary and of the gain map,
and the ExtendedXMP their ``xmpNote:HasExtendedXMP`` names.  Parser problems (offsets relative to the APP1
payload, the namespace string included) are reported with absolute offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gainmap.analysis.checks import _xmp_common as common
from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.errors import SchemaError
from gainmap.formats.xmp import PACKET_OFFSET, parse_xmp
from gainmap.formats.xmp.props import CONTAINER_NS, ITEM_NS
from gainmap.metadata import HDRGM_NS

_PARSER_IDS = ("xmp.malformed", "xmp.empty", "xmp.encoding", "xmp.doctype", "xmp.limit")
_NS_NAMES = {HDRGM_NS: "hdrgm", CONTAINER_NS: "Container", ITEM_NS: "Item"}
_ROOT_RE = re.compile(rb"<[A-Za-z_][\w.:-]*")
_WHERE = {"xmpmeta": "x:xmpmeta", "other": "a property element", "RDF": "rdf:RDF",
          "Description": "rdf:Description"}


@check(*_PARSER_IDS)
def parser_problems(ctx: CheckContext) -> Iterator[Finding]:
    """What the XMP parser met in each packet readers use.  A malformed packet in a file with no gain-map
    signal loses nothing HDR, so it is a warning there."""
    severity = None if ctx.is_gainmap_file else "warning"
    for ref in common.packets(ctx):
        for f in common.problem_findings(ref, ["xmp"]):
            yield Finding(f.id, severity if f.id == "xmp.malformed" else None, f.offset, f.length, f.message,
                          f.image, f.detail)


@check("xmp.root-name")
def root_name(ctx: CheckContext) -> Iterator[Finding]:
    for ref in common.packets(ctx):
        pkt = ref.packet
        if not pkt.well_formed or pkt.root_is_xmpmeta or pkt.root_tag is None:
            continue
        ns, _, local = pkt.root_tag[1:].partition("}") if pkt.root_tag.startswith("{") else ("", "", pkt.root_tag)
        name = local if not ns else f"{local} (namespace {ns})"
        m = _ROOT_RE.search(ref.text, PACKET_OFFSET if ref.where == "standard" else 0)
        offset, length = (ref.absolute(m.start()), len(m.group())) if m else (ref.start, 1)
        yield Finding("xmp.root-name", offset=offset, length=length,
                      message=f"{ref.label} has the root element <{name}>, not <x:xmpmeta>: Skia ignores the "
                              "packet", image=ref.image, detail={"root": pkt.root_tag})


@check("xmp.namespace-placement")
def namespace_placement(ctx: CheckContext) -> Iterator[Finding]:
    """hdrgm, Container or Item used in a packet but declared only where Skia does not look."""
    for ref in common.packets(ctx):
        pkt = ref.packet
        for uri, short in _NS_NAMES.items():
            decls = pkt.declarations(uri)
            if not decls or not ref.uses(uri) or any(d.element in ("RDF", "Description") for d in decls):
                continue
            d = decls[0]
            needle = f"xmlns:{d.prefix}=".encode() if d.prefix else b"xmlns="
            rel = ref.find(needle)
            offset = ref.absolute(rel) if rel is not None else ref.start
            yield Finding(
                "xmp.namespace-placement", offset=offset, length=len(needle) + len(uri) + 2,
                message=f"{ref.label} declares the {short} namespace ({uri}) on {_WHERE[d.element]}, not on "
                        "rdf:RDF or rdf:Description: Skia cannot resolve it, so Chrome and Android miss the "
                        f"{short} properties",
                image=ref.image, detail={"namespace": uri, "declared_on": d.element})


@check("xmp.duplicate")
def duplicate(ctx: CheckContext) -> Iterator[Finding]:
    """A second standard XMP APP1 in the primary or the gain map: readers ignore it."""
    for info in common.images(ctx):
        for seg in info.segments[1:]:
            try:
                later = parse_xmp(seg.payload)
            except SchemaError:
                later = None
            lost = []
            if later is not None:
                if later.hdrgm_all:
                    lost.append("hdrgm")
                if later.container_description_index is not None:
                    lost.append("GContainer")
            what = (f"; its {' and '.join(lost)} properties are lost" if lost
                    else "; it holds no hdrgm or GContainer properties")
            first = info.segments[0]
            yield Finding("xmp.duplicate", offset=seg.offset, length=seg.size,
                          message=f"a second standard XMP APP1 ({len(seg.payload) - PACKET_OFFSET}-byte packet) in "
                                  f"the {'primary' if info.role == 'primary' else 'gain map'}; readers use only "
                                  f"the first at {common.hex_at(first.offset)}{what}",
                          image=info.index, detail={"first": first.offset})


@check("xmp.extended-guid", "xmp.extended-md5", "xmp.extended-coverage")
def extended(ctx: CheckContext) -> Iterator[Finding]:
    """ExtendedXMP: the GUID of xmpNote:HasExtendedXMP, chunk headers and coverage, and the MD5."""
    for info in common.images(ctx):
        ext = info.extended
        label = "primary" if info.role == "primary" else "gain map"
        if ext.guid is None:
            if ext.segments:
                seg = ext.segments[0]
                yield Finding("xmp.extended-guid", offset=seg.offset, length=seg.size, image=info.index,
                              message=f"{len(ext.segments)} ExtendedXMP chunk(s) in the {label}, but its "
                                      "standard XMP has no xmpNote:HasExtendedXMP: Skia ignores them")
            continue
        std = info.standard
        for p in ext.problems:
            if p.code in ("xmp.extended.guid-format", "xmp.extended.missing") or not ext.segments:
                rel = std.find(ext.guid.encode("utf-8", "replace")) if std is not None else None
                offset = std.absolute(rel) if std is not None and rel is not None else None
                yield Finding(p.code, offset=offset, length=len(ext.guid) if offset is not None else None,
                              image=info.index, message=f"the {label}'s xmpNote:HasExtendedXMP: {p.message}")
                continue
            k = common.chunk_index(p)
            seg = ext.segments[k] if k is not None and k < len(ext.segments) else ext.segments[0]
            offset = seg.payload_offset + p.offset if p.length else seg.offset
            yield Finding(p.code, offset=offset, length=p.length or seg.size, image=info.index,
                          message=f"ExtendedXMP of the {label}: {p.message}")


@check("xmp.extended-properties")
def extended_properties(ctx: CheckContext) -> Iterator[Finding]:
    """hdrgm or the GContainer Directory found only in the primary's ExtendedXMP (Skia reads them there)."""
    info = common.image_xmp(ctx, "primary")
    if info is None or info.extended.ref is None:
        return
    ext, std = info.extended.ref, info.standard
    hdrgm = bool(ext.packet.hdrgm_all) and not (std is not None and std.packet.hdrgm_all)
    directory = ext.packet.container_description_index is not None and not (
        std is not None and std.packet.container_description_index is not None)
    if not (hdrgm or directory):
        return
    names = [n for n, on in (("hdrgm properties", hdrgm), ("the GContainer Directory", directory)) if on]
    where = ext.chunks[0][2] if ext.chunks else None
    yield Finding("xmp.extended-properties", offset=where.offset if where is not None else None,
                  length=where.size if where is not None else None, image=info.index,
                  message=f"{' and '.join(names)} of the primary are in its ExtendedXMP, not in the standard "
                          "packet: Skia searches both; tools that read only the standard packet miss them",
                  detail={"hdrgm": hdrgm, "container": directory})
