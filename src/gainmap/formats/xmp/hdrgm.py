"""Writing hdrgm properties (formats.md section 4.1) and the primary / gain-map packets gainmap builds.

Writing is strict: every writer re-parses its own output and raises :class:`SchemaError` rather than emit
something libultrahdr (literal prefix ``hdrgm:``, first ``rdf:Description``, attributes only) or Skia (root
``x:xmpmeta``, namespaces declared on ``rdf:Description``) would not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lxml import etree

from gainmap.errors import SchemaError
from gainmap.formats.xmp.directory import set_container_directory
from gainmap.formats.xmp.document import (
    Document,
    bind_on_description,
    load_document,
    new_packet,
    place_new,
    remove_element,
    serialize,
)
from gainmap.formats.xmp.nodes import DESCRIPTION_TAG, LI_TAG, SEQ_TAG, elements, split_tag
from gainmap.formats.xmp.props import HDRGM_BY_NAME, HDRGM_PROPS, HdrgmProp, format_value
from gainmap.formats.xmp.read import parse_xmp_packet
from gainmap.metadata import HDRGM_NS, GainMapMetadata


def verify_hdrgm(out: bytes, check: Iterable[tuple[str, object]]) -> bytes:
    """Re-parse an editor's output and insist that it reads back as intended."""
    pkt = parse_xmp_packet(out)
    if not pkt.well_formed:
        raise SchemaError(f"internal: edited XMP does not parse: {pkt.problems}")
    for name, expected in check:
        hv = pkt.hdrgm.get(name)
        if hv is None or hv.description_index != 0 or hv.prefix != "hdrgm":
            raise SchemaError(f"hdrgm:{name} could not be written with prefix hdrgm on the first Description")
        if hv.value != expected:
            raise SchemaError(f"internal: hdrgm:{name} reads back as {hv.value!r}, not {expected!r}")
    return out


def _hdrgm_nodes(doc: Document, names: set[str] | None) -> None:
    """Remove hdrgm properties (all, or those in ``names``) in any form from every rdf:Description."""
    for desc in (c for c in elements(doc.rdf) if c.tag == DESCRIPTION_TAG):
        for qname in list(desc.attrib):
            ns, local = split_tag(qname)
            if ns == HDRGM_NS and (names is None or local in names):
                del desc.attrib[qname]
        for child in elements(desc):
            ns, local = split_tag(child.tag)
            if ns == HDRGM_NS and (names is None or local in names):
                remove_element(child)


def _normalise(props: Mapping[str, object]) -> list[tuple[HdrgmProp, object]]:
    """Validate hdrgm values against the table; equal per-channel tuples collapse to a scalar."""
    out: list[tuple[HdrgmProp, object]] = []
    unknown = set(props) - set(HDRGM_BY_NAME)
    if unknown:
        raise SchemaError(f"unknown hdrgm properties: {sorted(unknown)}")
    for prop in HDRGM_PROPS:
        if prop.name not in props or props[prop.name] is None:
            continue
        value = props[prop.name]
        if isinstance(value, (tuple, list)):
            if not prop.per_channel or len(value) not in (1, 3):
                raise SchemaError(f"hdrgm:{prop.name} takes {'1 or 3 values' if prop.per_channel else 'one value'}"
                                  f", got {value!r}")
            values = tuple(float(format_value(prop, v)) for v in value)
            value = values[0] if len(set(values)) == 1 else values
        else:
            format_value(prop, value)  # validates
            if prop.kind == "real":
                value = float(value)  # type: ignore[arg-type]
        out.append((prop, value))
    return out


def set_hdrgm(packet: bytes, props: Mapping[str, object]) -> bytes:
    """Replace every hdrgm property (any form, any Description) with ``props`` on the first Description.

    Scalars become attributes with the literal prefix ``hdrgm`` (what libultrahdr needs).  A per-channel value
    whose three items differ becomes an ``rdf:Seq`` element of three items (what Adobe writes); libultrahdr
    cannot read that form, so writers should prefer single-channel metadata.  Everything else in the packet
    is kept.  Raises SchemaError if the packet cannot be edited or a value is invalid.
    """
    values = _normalise(props)
    doc = load_document(packet)
    if "hdrgm" in doc.desc.nsmap and doc.desc.nsmap["hdrgm"] != HDRGM_NS:
        raise SchemaError(f"prefix 'hdrgm' is bound to {doc.desc.nsmap['hdrgm']!r} in this packet")
    _hdrgm_nodes(doc, None)
    return _write_hdrgm(doc, values)


def _write_hdrgm(doc: Document, values: list[tuple[HdrgmProp, object]]) -> bytes:
    """Write ``values`` on the first Description (scalars as attributes, differing channels as an rdf:Seq
    element placed like its siblings), serialize and check that it reads back."""
    bind_on_description(doc, [("hdrgm", HDRGM_NS)], exact_prefix=True)
    for prop, value in values:
        if isinstance(value, tuple):
            element = etree.SubElement(doc.desc, f"{{{HDRGM_NS}}}{prop.name}")
            seq = etree.SubElement(element, SEQ_TAG)
            for item in value:
                etree.SubElement(seq, LI_TAG).text = format_value(prop, item)
            place_new(doc.desc, element)
        else:
            doc.desc.set(f"{{{HDRGM_NS}}}{prop.name}", format_value(prop, value))
    return verify_hdrgm(serialize(doc.root), [(p.name, v) for p, v in values])


def ensure_primary_version(packet: bytes) -> bytes:
    """Make ``hdrgm:Version="1.0"`` an attribute of the first rdf:Description (the primary's signal),
    removing any other hdrgm:Version; other content is kept."""
    doc = load_document(packet)
    if "hdrgm" in doc.desc.nsmap and doc.desc.nsmap["hdrgm"] != HDRGM_NS:
        raise SchemaError(f"prefix 'hdrgm' is bound to {doc.desc.nsmap['hdrgm']!r} in this packet")
    _hdrgm_nodes(doc, {"Version"})
    return _write_hdrgm(doc, [(HDRGM_BY_NAME["Version"], "1.0")])



def build_primary_xmp(gainmap_length: int) -> bytes:
    """The primary image's packet as libultrahdr writes it: one Description declaring Container, Item and
    hdrgm, ``hdrgm:Version="1.0"``, and a Directory of Primary then GainMap (with ``Item:Length``)."""
    return ensure_primary_version(set_container_directory(new_packet(), gainmap_length))


def build_gainmap_xmp(md: GainMapMetadata) -> bytes:
    """The gain-map image's packet: one Description with all nine hdrgm properties.

    Single-channel metadata is written as attributes (prefix ``hdrgm``), which every reader accepts.  Only
    when ``md.is_multichannel`` are the per-channel properties whose channels differ written as ``rdf:Seq``
    of three items (Adobe's form); libultrahdr cannot read that form, so writers should prefer single
    channel.  Raises :class:`~gainmap.metadata.MetadataConversionError` when hdrgm cannot express ``md``.
    """
    return set_hdrgm(new_packet(), md.to_hdrgm())
