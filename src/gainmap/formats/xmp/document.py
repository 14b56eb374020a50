"""Editing XMP packets as lxml trees while keeping everything gainmap does not change, formatting included.

:func:`load_document` accepts a packet for editing (creating rdf:RDF / rdf:Description when missing),
:func:`place_new` and :func:`remove_element` keep the indentation of their neighbours, and
:func:`bind_on_description` declares namespaces on the first rdf:Description, where Skia looks.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gainmap.errors import SchemaError
from gainmap.formats.xmp.nodes import DESCRIPTION_TAG, RDF_TAG, XMPMETA_TAG, elements, prefixed_name
from gainmap.formats.xmp.props import RDF_NS, X_NS
from gainmap.formats.xmp.secure import ParsedTree, parse_fragment, parse_tree

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


def load_document(packet: bytes) -> Document:
    """Parse a packet for editing, adding rdf:RDF and an rdf:Description when missing; SchemaError when it
    is refused, not well-formed or not XMP."""
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
            rdf = etree.SubElement(root, RDF_TAG, nsmap={"rdf": RDF_NS})
            place_new(root, rdf)
    else:
        raise SchemaError(f"XMP root is {root.tag!r}, not x:xmpmeta or rdf:RDF")
    desc = next((c for c in elements(rdf) if c.tag == DESCRIPTION_TAG), None)
    if desc is None:
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
    """The namespaces ``el`` itself declares, as a prefix -> URI map."""
    return dict(declarations_of(doc, el))


def declarations_of(doc: Document, el: etree._Element) -> list[tuple[str | None, str]]:
    """The (prefix, URI) pairs ``el`` itself declares, in document order: as parsed, or for an element lxml
    created, those its in-scope map adds to its parent's."""
    parsed = doc.tree.decls.get(el)
    if parsed is not None:
        return list(parsed)
    parent = el.getparent()
    outer = parent.nsmap if parent is not None else {}
    return [(p, u) for p, u in el.nsmap.items() if outer.get(p) != u]


def bind_on_description(doc: Document, wanted: list[tuple[str, str]], *, exact_prefix: bool) -> None:
    """Declare namespaces on the first rdf:Description, where Skia looks for them.

    With ``exact_prefix`` the given prefix must be the one lxml uses for the URI there (hdrgm: libultrahdr
    matches the literal ``hdrgm:``), so its declaration goes before any other prefix the Description itself
    binds to the URI; otherwise a declaration of the URI on the Description with any prefix is enough.
    A new declaration follows the Description's own ones.  SchemaError if the prefix is bound to another URI.
    """
    own = declarations_of(doc, doc.desc)
    scope = doc.desc.nsmap
    changed = False
    for prefix, uri in wanted:
        first = next((i for i, (_, u) in enumerate(own) if u == uri), None)
        if first is not None and (own[first][0] == prefix or not exact_prefix):
            continue
        bound = dict(own).get(prefix, scope.get(prefix))
        if bound is not None and bound != uri:
            raise SchemaError(f"prefix {prefix!r} is bound to {bound!r} around the first rdf:Description; "
                              f"cannot declare it as {uri}")
        if (prefix, uri) in own:
            own.remove((prefix, uri))
        own.insert(len(own) if first is None else first, (prefix, uri))
        changed = True
    if changed:
        _redeclare_description(doc, own)


def _start_tag(el: etree._Element, decls: list[tuple[str | None, str]]) -> str:
    xmlns = "".join(f' xmlns:{p}="{_esc(u)}"' if p else f' xmlns="{_esc(u)}"' for p, u in decls)
    return f"<{prefixed_name(el)}{xmlns}>"


def _redeclare_description(doc: Document, desc_decls: list[tuple[str | None, str]]) -> None:
    """Give the first rdf:Description exactly the namespace declarations ``desc_decls``.

    lxml adds a declaration only where a name needs one, and drops any that repeats one in scope, so a
    declaration Skia needs on the Description when x:xmpmeta already makes it cannot be added through its
    API.  Instead the chain root -> rdf:RDF -> rdf:Description is parsed afresh from start tags that carry
    each element's own declarations (the Description's being ``desc_decls``), and every attribute, text and
    child of the old chain is moved into it.  lxml drops a declaration inside a moved subtree that repeats one
    of its new ancestors' (none occurs in the corpus).
    """
    chain = [doc.root] if doc.root is doc.rdf else [doc.root, doc.rdf]
    chain.append(doc.desc)
    decls = [declarations_of(doc, el) for el in chain[:-1]] + [desc_decls]
    text = "".join(_start_tag(el, d) for el, d in zip(chain, decls))
    text += "".join(f"</{prefixed_name(el)}>" for el in reversed(chain))
    new_chain = [parse_fragment(text.encode())]
    while len(new_chain) < len(chain):
        new_chain.append(new_chain[-1][0])
    for old, new, own in zip(chain, new_chain, decls):
        for key, value in old.attrib.items():
            new.set(key, value)
        new.text, new.tail = old.text, old.tail
        doc.tree.decls[new] = own
    inner_pairs: list[tuple[etree._Element | None, etree._Element | None]] = [*zip(chain[1:], new_chain[1:]),
                                                                              (None, None)]
    for old, new, (old_inner, new_inner) in zip(chain, new_chain, inner_pairs):
        before = True
        for child in list(old):
            if child is old_inner:
                before = False
            elif before and new_inner is not None:
                new_inner.addprevious(child)
            else:
                new.append(child)
    old_root, new_root = chain[0], new_chain[0]
    for node in reversed(list(old_root.itersiblings(preceding=True))):
        new_root.addprevious(node)
    last = new_root
    for node in list(old_root.itersiblings()):
        last.addnext(node)
        last = node
    doc.root, doc.desc = new_root, new_chain[-1]
    doc.rdf = new_root if len(new_chain) == 2 else new_chain[1]
