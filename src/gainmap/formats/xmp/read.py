"""Reading XMP: what a packet says about hdrgm, the GContainer Directory, Apple and ExtendedXMP.

:func:`parse_xmp` never raises for bad XML; it records :class:`~gainmap.errors.Problem` objects (offsets
relative to the payload passed in).  See formats.md sections 1, 4 and 8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from gainmap.errors import Problem, SchemaError
from gainmap.formats.xmp.apple import AppleXmp, apple_view
from gainmap.formats.xmp.container import DIRECTORY_TAG, ContainerItem, container_items
from gainmap.formats.xmp.nodes import (
    DESCRIPTION_TAG,
    LI_TAG,
    RDF_TAG,
    SEQ_TAG,
    XMPMETA_TAG,
    elements,
    parse_real,
    simple_text,
    split_tag,
)
from gainmap.formats.xmp.packet import PACKET_OFFSET, XMP_IDENT
from gainmap.formats.xmp.props import (
    APDI_NS,
    CONTAINER_NS,
    HDRGAINMAP_NS,
    HDRGM_BY_NAME,
    ITEM_NS,
    RDF_NS,
    X_NS,
    XMPNOTE_NS,
    HdrgmProp,
)
from gainmap.formats.xmp.secure import PacketSource, ParsedTree, parse_tree
from gainmap.metadata import HDRGM_NS

#: Only the first this many rdf:Description elements are interpreted (problem ``xmp.descriptions-limit``).
MAX_DESCRIPTIONS = 256
#: Only the first this many hdrgm/Apple/xmpNote properties of a Description are read.
MAX_PROPERTIES = 1024

Where = Literal["xmpmeta", "RDF", "Description", "other"]


@dataclass(frozen=True)
class NsDecl:
    """One ``xmlns:prefix="uri"`` declaration of a namespace gainmap cares about, and where it sits."""

    uri: str
    prefix: str | None
    element: Where
    description_index: int | None = None


@dataclass(frozen=True)
class HdrgmValue:
    """One hdrgm property as found: the raw text (list for rdf:Seq), the typed value (None if unusable)."""

    name: str
    raw: str | list[str]
    value: float | bool | str | tuple[float, ...] | None
    form: Literal["attribute", "element", "seq", "other"]
    items: int
    prefix: str
    description_index: int
    offset: int



@dataclass
class XmpPacket:
    """What :func:`parse_xmp` found in one packet.  ``well_formed`` is False also when the packet was refused
    (too large, DTD, too deep).  ``descriptions`` counts the rdf:Description children of rdf:RDF."""

    packet: bytes
    offset: int = 0
    well_formed: bool = False
    root_tag: str | None = None
    toolkit: str | None = None
    descriptions: int = 0
    namespaces: list[NsDecl] = field(default_factory=list)
    hdrgm: dict[str, HdrgmValue] = field(default_factory=dict)
    hdrgm_all: list[HdrgmValue] = field(default_factory=list)
    container_items: list[ContainerItem] = field(default_factory=list)
    container_description_index: int | None = None
    apple: AppleXmp | None = None
    has_extended_xmp: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def root_is_xmpmeta(self) -> bool:
        return self.root_tag == XMPMETA_TAG

    def declarations(self, uri: str) -> list[NsDecl]:
        """Every recorded declaration of ``uri``, outermost first."""
        return [d for d in self.namespaces if d.uri == uri]

    def hdrgm_values(self) -> dict[str, object]:
        """Usable hdrgm values (first occurrence of each), ready for :meth:`GainMapMetadata.from_hdrgm`."""
        return {name: v.value for name, v in self.hdrgm.items() if v.value is not None}


_READ_NS = frozenset({HDRGM_NS, APDI_NS, HDRGAINMAP_NS, XMPNOTE_NS})
_KNOWN_NS = frozenset({HDRGM_NS, CONTAINER_NS, ITEM_NS, XMPNOTE_NS, APDI_NS, HDRGAINMAP_NS, RDF_NS, X_NS})



@dataclass
class _Found:
    name: str
    form: Literal["attribute", "element", "seq", "other"]
    raw: str | list[str]
    prefix: str
    offset: int
    note: str = ""


def _properties(src: PacketSource, desc: etree._Element, namespaces: frozenset[str]) -> dict[str, list[_Found]]:
    """Every property of the given namespaces on ``desc`` (one pass), attributes first, in document order."""
    found: dict[str, list[_Found]] = {}
    desc_offset: int | None = None
    for qname, value in desc.attrib.items():
        ns, local = split_tag(qname)
        if ns not in namespaces:
            continue
        if desc_offset is None:
            desc_offset = src.element_offset(desc)
        candidates = sorted((p for p, u in desc.nsmap.items() if u == ns and p), key=lambda p: p != "hdrgm")
        prefix, offset = src.attribute(desc, desc_offset, candidates, local)
        found.setdefault(ns, []).append(_Found(local, "attribute", value, prefix, offset))
    count = sum(len(v) for v in found.values())
    for child in desc:
        ns, local = split_tag(child.tag)
        if ns not in namespaces:
            continue
        count += 1
        if count > MAX_PROPERTIES:
            found.setdefault("", []).append(_Found(local, "other", "", child.prefix or "", src.element_offset(child)))
            break
        offset = src.element_offset(child)
        prefix = child.prefix or ""
        text = simple_text(child)
        out = found.setdefault(ns, [])
        if text is not None:
            out.append(_Found(local, "element", text, prefix, offset))
            continue
        kids = elements(child)
        if len(kids) == 1 and kids[0].tag == SEQ_TAG:
            items = elements(kids[0])
            if all(li.tag == LI_TAG and simple_text(li) is not None for li in items):
                out.append(_Found(local, "seq", [li.text or "" for li in items], prefix, offset))
                continue
            out.append(_Found(local, "other", [], prefix, offset, "rdf:Seq items are not simple text rdf:li"))
            continue
        kind = split_tag(kids[0].tag)[1] if kids else "rdf:resource"
        out.append(_Found(local, "other", "", prefix, offset, f"unexpected structure ({kind})"))
    return found


def _hdrgm_value(prop: HdrgmProp, f: _Found, problems: list[Problem]) -> object:
    """The typed value of one found hdrgm property, recording problems; None when unusable."""
    code_form = "xmp.hdrgm.form"
    if f.form == "other":
        problems.append(Problem(code_form, f.offset, 0, f"hdrgm:{f.name}: {f.note}"))
        return None
    if f.form == "seq":
        assert isinstance(f.raw, list)
        if not prop.per_channel or prop.kind != "real":
            problems.append(Problem(code_form, f.offset, 0,
                                    f"hdrgm:{f.name} must be a single value, not an rdf:Seq"))
            return None
        values = [parse_real(t) for t in f.raw]
        if any(v is None for v in values):
            problems.append(Problem("xmp.hdrgm.value", f.offset, 0,
                                    f"hdrgm:{f.name} has a non-numeric or non-finite item in {f.raw!r}"))
            return None
        if len(values) not in (1, 3):
            problems.append(Problem("xmp.hdrgm.seq-count", f.offset, 0,
                                    f"hdrgm:{f.name} rdf:Seq has {len(values)} items; 1 or 3 expected"))
            return None
        return tuple(values)
    assert isinstance(f.raw, str)
    if prop.kind == "text":
        return f.raw.strip()
    if prop.kind == "bool":
        text = f.raw.strip()
        if text in ("True", "False"):
            return text == "True"
        if text.lower() in ("true", "false"):
            problems.append(Problem("xmp.hdrgm.bool-case", f.offset, 0,
                                    f'hdrgm:{f.name}="{text}": XMP booleans are "True"/"False" (Skia ignores '
                                    "other spellings)"))
            return text.lower() == "true"
        problems.append(Problem("xmp.hdrgm.value", f.offset, 0, f'hdrgm:{f.name}="{text}" is not a boolean'))
        return None
    value = parse_real(f.raw)
    if value is None:
        problems.append(Problem("xmp.hdrgm.value", f.offset, 0,
                                f'hdrgm:{f.name}="{f.raw.strip()}" is not a finite number'))
    return value


def _interpret(tree: ParsedTree, pkt: XmpPacket) -> None:
    root = tree.root
    assert root is not None
    src, problems = tree.source, pkt.problems
    pkt.root_tag = root.tag if isinstance(root.tag, str) else None
    pkt.toolkit = root.get(f"{{{X_NS}}}xmptk")
    rdf = root if root.tag == RDF_TAG else next((c for c in elements(root) if c.tag == RDF_TAG), None)
    if rdf is None:
        problems.append(Problem("xmp.no-rdf", src.element_offset(root), 0, "no rdf:RDF under the XMP root"))
        return
    descs = [c for c in elements(rdf) if c.tag == DESCRIPTION_TAG]
    pkt.descriptions = len(descs)
    if not descs:
        problems.append(Problem("xmp.no-description", src.element_offset(rdf), 0, "rdf:RDF has no rdf:Description"))
    index = {d: i for i, d in enumerate(descs)}
    for el, decl_list in tree.decls.items():
        if el is root and root.tag == XMPMETA_TAG:
            where: Where = "xmpmeta"
        elif el is rdf:
            where = "RDF"
        elif el in index:
            where = "Description"
        else:
            where = "other"
        for prefix, uri in decl_list:
            if uri in _KNOWN_NS:
                pkt.namespaces.append(NsDecl(uri, prefix, where, index.get(el)))
    order = {"xmpmeta": 0, "RDF": 1, "Description": 2, "other": 3}
    pkt.namespaces.sort(key=lambda d: (order[d.element], d.description_index or 0))

    apple_raw: dict[str, str] = {}
    apple_offset = src.base
    apple_index: int | None = None
    if len(descs) > MAX_DESCRIPTIONS:
        problems.append(Problem("xmp.descriptions-limit", src.element_offset(descs[MAX_DESCRIPTIONS]), 0,
                                f"{len(descs)} rdf:Description elements; only the first {MAX_DESCRIPTIONS} are read"))
    for i, desc in enumerate(descs[:MAX_DESCRIPTIONS]):
        props = _properties(src, desc, _READ_NS)
        if "" in props:
            problems.append(Problem("xmp.properties-limit", props[""][0].offset, 0,
                                    f"Description {i} has more than {MAX_PROPERTIES} hdrgm/Apple/xmpNote properties; "
                                    "the rest are not read"))
        for f in props.get(HDRGM_NS, []):
            prop = HDRGM_BY_NAME.get(f.name)
            if prop is None:
                problems.append(Problem("xmp.hdrgm.unknown", f.offset, 0, f"unknown property hdrgm:{f.name}"))
                continue
            value = _hdrgm_value(prop, f, problems)
            items = len(f.raw) if f.form == "seq" else 0
            hv = HdrgmValue(f.name, f.raw, value, f.form, items, f.prefix, i, f.offset)  # type: ignore[arg-type]
            pkt.hdrgm_all.append(hv)
            if f.name in pkt.hdrgm:
                first = pkt.hdrgm[f.name]
                problems.append(Problem("xmp.hdrgm.duplicate", f.offset, 0,
                                        f"hdrgm:{f.name} appears again (first in Description {first.description_index} "
                                        f"as {first.form}); the first one is used"))
            else:
                pkt.hdrgm[f.name] = hv
        for f in props.get(APDI_NS, []) + props.get(HDRGAINMAP_NS, []):
            if isinstance(f.raw, str) and f.name not in apple_raw:
                apple_raw[f.name] = f.raw.strip()
                if apple_index is None:
                    apple_index, apple_offset = i, f.offset
        for f in props.get(XMPNOTE_NS, []):
            if f.name == "HasExtendedXMP" and isinstance(f.raw, str) and pkt.has_extended_xmp is None:
                pkt.has_extended_xmp = f.raw.strip()
        for child in elements(desc):
            if child.tag != DIRECTORY_TAG:
                continue
            if pkt.container_description_index is not None:
                problems.append(Problem("xmp.container.duplicate", src.element_offset(child), 0,
                                        "a second Container:Directory; the first one is used"))
                continue
            pkt.container_description_index = i
            pkt.container_items = container_items(src, child, problems)
    if apple_raw:
        pkt.apple = apple_view(apple_raw, apple_index or 0, problems, apple_offset)



def parse_xmp_packet(packet: bytes, *, base: int = 0) -> XmpPacket:
    """Parse a bare XMP packet; problem offsets are ``base`` + the offset in ``packet``.  Never raises."""
    packet = bytes(packet)
    pkt = XmpPacket(packet=packet, offset=base)
    tree = parse_tree(packet, base)
    pkt.problems.extend(tree.problems)
    if tree.root is None:
        return pkt
    pkt.well_formed = True
    _interpret(tree, pkt)
    return pkt


def parse_xmp(payload: bytes) -> XmpPacket:
    """Parse a standard XMP APP1 payload (starting with :data:`XMP_IDENT`); SchemaError only if it does not."""
    payload = bytes(payload)
    if not payload.startswith(XMP_IDENT):
        raise SchemaError("not a standard XMP APP1 payload (identifier missing)", 0)
    return parse_xmp_packet(payload[PACKET_OFFSET:], base=PACKET_OFFSET)


