"""Editing XMP packets as lxml trees while keeping everything gainmap does not change, formatting included.

:func:`load_document` accepts a packet for editing (creating rdf:RDF / rdf:Description when missing),
:func:`place_new` and :func:`remove_element` keep the indentation of their neighbours, and
:func:`declare_on_description` declares namespaces on the first rdf:Description, where Skia looks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from gainmap.errors import SchemaError
from gainmap.formats.xmp.nodes import DESCRIPTION_TAG, RDF_TAG, XMPMETA_TAG, elements
from gainmap.formats.xmp.props import RDF_NS, X_NS
from gainmap.formats.xmp.secure import ParsedTree, parse_tree

#: Toolkit name written in ``x:xmptk``.
XMP_TOOLKIT = "gainmap"

_EMPTY_PACKET = (
    f'<x:xmpmeta xmlns:x="{X_NS}" x:xmptk="{XMP_TOOLKIT}">\n'
    f'  <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
    f'    <rdf:Description rdf:about=""/>\n'
    f"  </rdf:RDF>\n"
    f"</x:xmpmeta>"
).encode()


def new_packet() -> bytes:
    """An empty x:xmpmeta / rdf:RDF / rdf:Description skeleton."""
    return _EMPTY_PACKET


def _esc(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;"))


@dataclass
class Document:
    """An editable, accepted packet: the tree plus the first rdf:Description."""

    tree: ParsedTree
    root: etree._Element
    rdf: etree._Element
    desc: etree._Element


def load_document(packet: bytes, *, create: bool = True) -> Document:
    tree = parse_tree(bytes(packet), 0)
    if tree.root is None:
        detail = "; ".join(str(p) for p in tree.problems) or "not well-formed"
        raise SchemaError(f"cannot edit this XMP packet: {detail}",
                          tree.problems[0].offset if tree.problems else 0)
    root = tree.root
    if root.tag == RDF_TAG:
        rdf = root
    elif root.tag == XMPMETA_TAG:
        rdf = next((c for c in elements(root) if c.tag == RDF_TAG), None)
        if rdf is None:
            if not create:
                raise SchemaError("x:xmpmeta has no rdf:RDF")
            rdf = etree.SubElement(root, RDF_TAG, nsmap={"rdf": RDF_NS})
            place_new(root, rdf)
    else:
        raise SchemaError(f"XMP root is {root.tag!r}, not x:xmpmeta or rdf:RDF")
    desc = next((c for c in elements(rdf) if c.tag == DESCRIPTION_TAG), None)
    if desc is None:
        if not create:
            raise SchemaError("rdf:RDF has no rdf:Description")
        desc = etree.SubElement(rdf, DESCRIPTION_TAG)
        desc.set(f"{{{RDF_NS}}}about", "")
        place_new(rdf, desc)
    return Document(tree, root, rdf, desc)


def serialize(root: etree._Element) -> bytes:
    """The root with the processing instructions and comments around it, one per line."""
    before = [n for n in root.itersiblings(preceding=True)][::-1]
    after = list(root.itersiblings())
    for n in before + after:
        n.tail = None
    root.tail = None
    parts = [etree.tostring(n, encoding="utf-8") for n in before]
    parts.append(etree.tostring(root, encoding="utf-8", xml_declaration=False))
    parts += [etree.tostring(n, encoding="utf-8") for n in after]
    return b"\n".join(parts)


def _ws_before(el: etree._Element) -> str:
    prev = el.getprevious()
    parent = el.getparent()
    ws = prev.tail if prev is not None else (parent.text if parent is not None else "")
    return ws or ""


def indent_of(el: etree._Element) -> str | None:
    ws = _ws_before(el)
    if ws.strip() or "\n" not in ws:
        return None
    return ws.rsplit("\n", 1)[1]


def place_new(parent: etree._Element, child: etree._Element, index: int | None = None) -> None:
    """Move ``child`` (already or newly a child of ``parent``) to ``index`` (default last) with indentation
    that matches its neighbours, and indent its subtree."""
    if child.getparent() is parent:
        parent.remove(child)
    kids = list(parent)
    index = len(kids) if index is None else index
    parent_indent = indent_of(parent)
    if parent_indent is None:
        parent_indent = ""
    step = " "
    outer = indent_of(parent.getparent()) if parent.getparent() is not None else None
    inner_indent = indent_of(kids[0]) if kids else None
    for a, b in ((parent_indent, inner_indent), (outer, parent_indent)):
        if a is not None and b is not None and b.startswith(a) and b != a:
            step = b[len(a):]
            break
    inner = "\n" + parent_indent + step
    if not kids:
        if not (parent.text or "").strip():
            parent.text = inner
        child.tail = "\n" + parent_indent
        parent.append(child)
    elif index >= len(kids):
        last = kids[-1]
        child.tail = last.tail if not (last.tail or "").strip() else "\n" + parent_indent
        last.tail = inner if not (last.tail or "").strip() else last.tail
        parent.append(child)
    else:
        ws = _ws_before(kids[index])
        child.tail = ws if not ws.strip() else inner
        kids[index].addprevious(child)
    _pretty(child, parent_indent + step, step)


def _pretty(el: etree._Element, indent: str, step: str) -> None:
    """Indent the descendants of ``el`` (placed at ``indent``) where their whitespace is blank."""
    stack = [(el, indent)]
    while stack:
        node, ind = stack.pop()
        kids = list(node)
        if not kids:
            continue
        if not (node.text or "").strip():
            node.text = "\n" + ind + step
        for i, kid in enumerate(kids):
            if not (kid.tail or "").strip():
                kid.tail = "\n" + (ind if i == len(kids) - 1 else ind + step)
            stack.append((kid, ind + step))


def remove_element(el: etree._Element) -> None:
    """Remove ``el`` keeping the surrounding whitespace tidy."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    prev = el.getprevious()
    if el.getnext() is None or tail.strip():
        if prev is not None:
            prev.tail = (tail if not (prev.tail or "").strip() else (prev.tail or "") + tail) or None
        else:
            parent.text = (tail if not (parent.text or "").strip() else (parent.text or "") + tail) or None
    parent.remove(el)


def own_declarations(doc: Document, el: etree._Element) -> dict[str | None, str]:
    return dict(doc.tree.decls.get(el, []))


_MARK_NS = "urn:gainmap:edit:"


def rewrite_first_description(doc: Document, decls: list[tuple[str, str]], attrs: list[tuple[str, str]],
                               children: Callable[[str, str], list[str]] | None = None) -> bytes:
    """Serialize with extra namespace declarations and attributes (written literally, so the prefixes are
    exactly the ones given) on the first rdf:Description, and literal child elements appended to it
    (``children(indent, step)`` gives their text for the indentation found there).

    A unique marker attribute (and child) is set with lxml; its declaration and the marker itself are then
    replaced in the serialized text, where they are known to sit in that start tag.
    """
    token = uuid.uuid4().hex
    attr_ns, child_ns = f"{_MARK_NS}a{token}", f"{_MARK_NS}c{token}"
    doc.desc.set(f"{{{attr_ns}}}m", token)
    child_text: list[str] = []
    if children is not None:
        marker = etree.SubElement(doc.desc, f"{{{child_ns}}}m")
        place_new(doc.desc, marker)
        child_indent = indent_of(marker) or ""
        desc_indent = indent_of(doc.desc) or ""
        step = child_indent[len(desc_indent):] if child_indent.startswith(desc_indent) else ""
        child_text = children(child_indent, step or " ")
    text = serialize(doc.root)
    decl_re = re.compile(rb'\s+xmlns:([A-Za-z_][\w.-]*)="' + re.escape(attr_ns.encode()) + rb'"')
    m = decl_re.search(text)
    if not m:  # pragma: no cover - lxml always declares the marker namespace where it is used
        raise SchemaError("internal: edit marker not found")
    prefix = m.group(1)
    new_decls = "".join(f' xmlns:{p}="{_esc(u)}"' for p, u in decls).encode()
    text = text[:m.start()] + new_decls + text[m.end():]
    attr_re = re.compile(rb"\s+" + re.escape(prefix) + rb':m="' + token.encode() + rb'"')
    m = attr_re.search(text)
    if not m:  # pragma: no cover
        raise SchemaError("internal: edit marker attribute not found")
    new_attrs = "".join(f' {q}="{_esc(v)}"' for q, v in attrs).encode()
    text = text[:m.start()] + new_attrs + text[m.end():]
    if children is not None:
        child_re = re.compile(rb"<([A-Za-z_][\w.-]*):m xmlns:\1=\"" + re.escape(child_ns.encode()) + rb'"/>')
        m = child_re.search(text)
        if not m:  # pragma: no cover
            raise SchemaError("internal: edit marker element not found")
        joined = ("\n" + child_indent).join(child_text).encode()
        text = text[:m.start()] + joined + text[m.end():]
    return text


def declare_on_description(doc: Document, wanted: list[tuple[str, str]], *, exact_prefix: bool) -> Document:
    """Declare namespaces on the first rdf:Description (re-parsing the result).

    With ``exact_prefix`` the given prefix must be the one bound (hdrgm); otherwise an existing declaration
    of the URI on that Description with any prefix is enough.
    """
    own = own_declarations(doc, doc.desc)
    scope = doc.desc.nsmap
    add: list[tuple[str, str]] = []
    for prefix, uri in wanted:
        if own.get(prefix) == uri:
            continue
        if not exact_prefix and uri in own.values():
            continue
        if prefix in own or (prefix in scope and scope[prefix] != uri):
            raise SchemaError(f"prefix {prefix!r} is bound to {scope.get(prefix)!r} around the first "
                              f"rdf:Description; cannot declare it as {uri}")
        add.append((prefix, uri))
    if not add:
        return doc
    return load_document(rewrite_first_description(doc, add, []), create=False)

