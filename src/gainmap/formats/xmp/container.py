"""The GContainer Directory as read (formats.md section 4.3): the item list and the forms writers use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from gainmap.errors import Problem
from gainmap.formats.xmp.nodes import (
    ALT_TAG,
    BAG_TAG,
    LI_TAG,
    SEQ_TAG,
    elements,
    parse_int,
    prefixed_name,
    simple_text,
    split_tag,
)
from gainmap.formats.xmp.props import CONTAINER_NS, ITEM_NS, ITEM_PROPS, RDF_NS
from gainmap.formats.xmp.secure import PacketSource

#: Only the first this many GContainer Directory items are read (problem ``xmp.container.items-limit``).
MAX_ITEMS = 1024
DIRECTORY_TAG = f"{{{CONTAINER_NS}}}Directory"
ITEM_TAG = f"{{{CONTAINER_NS}}}Item"

@dataclass(frozen=True)
class ContainerItem:
    """One GContainer ``Container:Item``; ``form`` is "item" (Container:Item child of rdf:li), "typed"
    (rdf:type/rdf:value) or "li" (Item properties directly on rdf:li)."""

    semantic: str | None
    mime: str | None
    length: int | None
    padding: int | None
    label: str | None
    uri: str | None
    raw: Mapping[str, str]
    form: str
    offset: int



def item_node(li: etree._Element) -> tuple[etree._Element | None, str]:
    """The node holding an rdf:li's Item properties and its form ("item", "typed", "li"), or (None, "")."""
    kids = elements(li)
    for k in kids:
        if k.tag == ITEM_TAG:
            return k, "item"
    rdf_type = next((k for k in kids if k.tag == f"{{{RDF_NS}}}type"), None)
    rdf_value = next((k for k in kids if k.tag == f"{{{RDF_NS}}}value"), None)
    if rdf_type is not None and rdf_value is not None:
        resource = rdf_type.get(f"{{{RDF_NS}}}resource") or ""
        if resource == "Item" or resource.endswith("/Item") or resource == CONTAINER_NS + "Item":
            return rdf_value, "typed"
    has_item_props = any(split_tag(q)[0] == ITEM_NS for q in li.attrib) or any(split_tag(k.tag)[0] == ITEM_NS
                                                                            for k in kids)
    return (li, "li") if has_item_props else (None, "")


def container_items(src: PacketSource, directory: etree._Element, problems: list[Problem]) -> list[ContainerItem]:
    """The items of a Container:Directory, recording form and value problems."""
    kids = elements(directory)
    seq = next((c for c in kids if c.tag == SEQ_TAG), None)
    if seq is None:
        seq = next((c for c in kids if c.tag in (BAG_TAG, ALT_TAG)), None)
        if seq is None:
            problems.append(Problem("xmp.container.form", src.element_offset(directory), 0,
                                    "Container:Directory has no rdf:Seq"))
            return []
        problems.append(Problem("xmp.container.not-seq", src.element_offset(seq), 0,
                                f"Container:Directory uses {prefixed_name(seq)}, not rdf:Seq (Skia ignores it)"))
    items: list[ContainerItem] = []
    lis = elements(seq)
    if len(lis) > MAX_ITEMS:
        problems.append(Problem("xmp.container.items-limit", src.element_offset(lis[MAX_ITEMS]), 0,
                                f"{len(lis)} Directory items; only the first {MAX_ITEMS} are read"))
    for li in lis[:MAX_ITEMS]:
        offset = src.element_offset(li)
        if li.tag != LI_TAG:
            problems.append(Problem("xmp.container.form", offset, 0, f"unexpected {prefixed_name(li)} in the Directory"))
            continue
        node, form = item_node(li)
        if node is None:
            problems.append(Problem("xmp.container.item", offset, 0, "rdf:li without a Container:Item"))
            continue
        raw: dict[str, str] = {}
        for qname, value in node.attrib.items():
            ns, local = split_tag(qname)
            if ns == ITEM_NS:
                raw.setdefault(local, value)
        for k in elements(node):
            ns, local = split_tag(k.tag)
            text = simple_text(k)
            if ns == ITEM_NS and text is not None:
                raw.setdefault(local, text)
        values: dict[str, object] = {}
        for p in ITEM_PROPS:
            text = raw.get(p.name)
            if text is None:
                values[p.name] = None
            elif p.kind == "int":
                number = parse_int(text)
                if number is None or number < 0:
                    problems.append(Problem(f"xmp.container.{p.name.lower()}", offset, 0,
                                            f'Item:{p.name}="{text}" is not a non-negative integer'))
                    number = None
                values[p.name] = number
            else:
                values[p.name] = text.strip()
        items.append(ContainerItem(values["Semantic"], values["Mime"], values["Length"],  # type: ignore[arg-type]
                                   values["Padding"], values["Label"], values["URI"], raw, form,  # type: ignore[arg-type]
                                   offset))
    return items

