"""Writing the GContainer Directory of the primary image (formats.md section 4.3), Padding included."""

from __future__ import annotations

from lxml import etree

from gainmap.errors import SchemaError
from gainmap.formats.xmp.container import DIRECTORY_TAG, ITEM_TAG, item_node
from gainmap.formats.xmp.document import (
    bind_on_description,
    load_document,
    place_new,
    remove_element,
    serialize,
)
from gainmap.formats.xmp.nodes import (
    ALT_TAG,
    BAG_TAG,
    DESCRIPTION_TAG,
    LI_TAG,
    PARSE_TYPE,
    SEQ_TAG,
    elements,
    parse_int,
    simple_text,
    split_tag,
)
from gainmap.formats.xmp.props import CONTAINER_NS, ITEM_NS
from gainmap.formats.xmp.read import parse_xmp_packet


def _item_get(node: etree._Element, local: str) -> str | None:
    value = node.get(f"{{{ITEM_NS}}}{local}")
    if value is not None:
        return str(value)
    for k in elements(node):
        if k.tag == f"{{{ITEM_NS}}}{local}":
            return simple_text(k)
    return None


def _item_set(node: etree._Element, local: str, value: str) -> None:
    """Set an Item property where it lives; a new one follows the item's form (an rdf:parseType="Resource"
    node or one with property elements takes an element, since RDF forbids property attributes there)."""
    tag = f"{{{ITEM_NS}}}{local}"
    for k in elements(node):
        if k.tag == tag:
            for sub in list(k):
                k.remove(sub)
            k.text = value
            return
    if node.get(tag) is None and (node.get(PARSE_TYPE) == "Resource"
                                  or any(split_tag(k.tag)[0] == ITEM_NS for k in elements(node))):
        child = etree.SubElement(node, tag)
        child.text = value
        place_new(node, child)
        return
    node.set(tag, value)


def _new_item(seq: etree._Element, index: int, semantic: str) -> etree._Element:
    li = etree.SubElement(seq, LI_TAG)
    li.set(PARSE_TYPE, "Resource")
    item = etree.SubElement(li, ITEM_TAG)
    item.set(f"{{{ITEM_NS}}}Semantic", semantic)
    item.set(f"{{{ITEM_NS}}}Mime", "image/jpeg")
    place_new(seq, li, index)
    return item


def set_container_directory(packet: bytes, gainmap_length: int, gap: int = 0) -> bytes:
    """Add or correct the GContainer Directory: Primary item first, a GainMap item with ``Item:Length``.

    ``gap`` is the number of bytes between the primary's EOI and the gain map's SOI: the Primary item's
    ``Item:Padding`` is set so that Padding plus the Lengths of the items between Primary and GainMap equals
    it (when those Lengths do not fit, the GainMap item moves right after Primary).  Padding is written only
    when it is not zero or the Primary item already had one.  The Container and Item namespaces are declared
    on the first rdf:Description and the Directory is moved there (later Directories are dropped).  Other
    items keep their order; a missing GainMap item is added right after Primary.  Everything else in the
    packet is kept.
    """
    if isinstance(gainmap_length, bool) or not isinstance(gainmap_length, int) or gainmap_length <= 0:
        raise SchemaError(f"gain-map length must be a positive int, got {gainmap_length!r}")
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
        raise SchemaError(f"gap before the gain map must be a non-negative int, got {gap!r}")
    doc = load_document(packet)
    bind_on_description(doc, [("Container", CONTAINER_NS), ("Item", ITEM_NS)], exact_prefix=False)
    dir_tag = DIRECTORY_TAG
    dirs = [c for d in elements(doc.rdf) if d.tag == DESCRIPTION_TAG for c in elements(d) if c.tag == dir_tag]
    for extra in dirs[1:]:
        remove_element(extra)
    if dirs:
        directory = dirs[0]
        if directory.getparent() is not doc.desc:
            remove_element(directory)
            place_new(doc.desc, directory)
    else:
        directory = etree.SubElement(doc.desc, dir_tag)
        place_new(doc.desc, directory)
    containers = [c for c in elements(directory) if c.tag in (SEQ_TAG, BAG_TAG, ALT_TAG)]
    seq = next((c for c in containers if c.tag == SEQ_TAG), containers[0] if containers else None)
    if seq is None:
        seq = etree.SubElement(directory, SEQ_TAG)
        place_new(directory, seq)
    seq.tag = SEQ_TAG  # an rdf:Bag/Alt keeps its items but becomes the rdf:Seq readers expect
    lis = elements(seq)
    nodes = [(li, item_node(li)[0]) for li in lis]
    primary = next(((li, n) for li, n in nodes if n is not None and _item_get(n, "Semantic") == "Primary"), None)
    if primary is None:
        primary_node = _new_item(seq, 0, "Primary")
    else:
        primary_li, primary_node = primary
        if elements(seq)[0] is not primary_li:
            remove_element(primary_li)
            place_new(seq, primary_li, 0)
        if _item_get(primary_node, "Mime") is None:
            _item_set(primary_node, "Mime", "image/jpeg")
    assert primary_node is not None
    for li, n in nodes:  # at most one Primary and one GainMap item
        if n is not None and n is not primary_node and _item_get(n, "Semantic") == "Primary":
            remove_element(li)
    gains = [(li, n) for li, n in nodes if n is not None and _item_get(n, "Semantic") == "GainMap"]
    for li, _ in gains[1:]:
        remove_element(li)
    gain = gains[0][1] if gains else None
    if gain is None:
        gain = _new_item(seq, 1, "GainMap")
    elif _item_get(gain, "Mime") is None:
        _item_set(gain, "Mime", "image/jpeg")
    _item_set(gain, "Length", str(gainmap_length))
    padding = _place_gainmap_item(seq, gain, gap)
    if padding or _item_get(primary_node, "Padding") is not None:
        _item_set(primary_node, "Padding", str(padding))
    out = serialize(doc.root)
    pkt = parse_xmp_packet(out)
    items = pkt.container_items
    index = next((k for k, i in enumerate(items) if i.semantic == "GainMap"), 0)
    placed = (items[0].padding or 0) + sum(i.length or 0 for i in items[1:index]) if items else -1
    lengths = [i.length for i in items if i.semantic == "GainMap"]
    if (pkt.container_description_index != 0 or not items or items[0].semantic != "Primary"
            or lengths != [gainmap_length] or placed != gap):
        raise SchemaError("internal: the GContainer Directory did not read back as written")
    return out


def _place_gainmap_item(seq: etree._Element, gain: etree._Element, gap: int) -> int:
    """The Primary Padding that puts the GainMap item ``gap`` bytes after the primary's EOI; moves the item
    right after Primary when the Lengths of the items before it are missing or exceed ``gap``."""
    lis = elements(seq)
    gain_li = next(li for li in lis if item_node(li)[0] is gain)
    before = lis[1:lis.index(gain_li)]
    lengths = []
    for li in before:
        node = item_node(li)[0]
        text = _item_get(node, "Length") if node is not None else None
        lengths.append(parse_int(text) if text is not None else None)
    if any(n is None or n < 0 for n in lengths) or sum(n or 0 for n in lengths) > gap:
        remove_element(gain_li)
        place_new(seq, gain_li, 1)
        return gap
    return gap - sum(n or 0 for n in lengths)


