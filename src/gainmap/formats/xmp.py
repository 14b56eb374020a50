"""XMP in APP1: the standard packet, ExtendedXMP chunks, hdrgm / GContainer / Apple properties.

Reading is tolerant and safe: :func:`parse_xmp` never raises for bad XML; it records :class:`Problem` objects
(offsets relative to the payload passed in) and refuses DOCTYPE/ENTITY declarations, packets over
:data:`MAX_PACKET_BYTES` and nesting deeper than :data:`MAX_DEPTH`.  Writing is strict: every builder and editor
re-parses its own output and raises :class:`SchemaError` rather than emit something libultrahdr (literal prefix
``hdrgm:``, first ``rdf:Description``, attributes only) or Skia (root ``x:xmpmeta``, namespaces declared on
``rdf:Description``) would not read.  See formats.md sections 1, 4 and 8.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from construct import Bytes, Const, ConstructError, GreedyBytes, Int32ub, Struct
from lxml import etree

from gainmap.errors import Problem, SchemaError
from gainmap.formats.xmp_props import (
    APDI_NS,
    APPLE_PROPS,
    CONTAINER_NS,
    HDRGAINMAP_NS,
    HDRGM_BY_NAME,
    HDRGM_PROPS,
    ITEM_NS,
    ITEM_PROPS,
    RDF_NS,
    X_NS,
    XMPNOTE_NS,
    HdrgmProp,
    format_value,
)
from gainmap.metadata import HDRGM_NS, GainMapMetadata

__all__ = [
    "EXT_XMP_IDENT", "MAX_APP1_PACKET", "MAX_DEPTH", "MAX_DESCRIPTIONS", "MAX_ITEMS", "MAX_EXT_CHUNK", "MAX_PACKET_BYTES", "XMP_IDENT",
    "AppleXmp", "ContainerItem", "ExtendedChunk", "ExtendedXmpChunk", "HdrgmValue", "NsDecl", "XmpApp1",
    "XmpPacket", "assemble_extended", "build_extended_chunk", "build_gainmap_xmp", "build_primary_xmp",
    "ensure_primary_version", "new_packet", "parse_extended_chunk", "parse_xmp", "parse_xmp_packet",
    "set_container_directory", "set_hdrgm", "split_extended", "wrap_app1",
]

XMP_IDENT = b"http://ns.adobe.com/xap/1.0/\x00"
EXT_XMP_IDENT = b"http://ns.adobe.com/xmp/extension/\x00"
#: Largest standard packet in one APP1 segment: 65533 - 29.
MAX_APP1_PACKET = 65533 - len(XMP_IDENT)
#: Largest ExtendedXMP chunk data in one APP1 segment: 65533 - 35 - 32 - 8.
MAX_EXT_CHUNK = 65533 - len(EXT_XMP_IDENT) - 32 - 8
#: Packets larger than this are refused unread (problem ``xmp.too-large``).
MAX_PACKET_BYTES = 16 * 1024 * 1024
#: Element nesting deeper than this is refused (problem ``xmp.depth``).
MAX_DEPTH = 64
#: Only the first this many rdf:Description elements are interpreted (problem ``xmp.descriptions-limit``).
MAX_DESCRIPTIONS = 256
#: Only the first this many GContainer Directory items are read (problem ``xmp.container.items-limit``).
MAX_ITEMS = 1024
#: Only the first this many hdrgm/Apple/xmpNote properties of a Description are read.
MAX_PROPERTIES = 1024
#: Toolkit name written in ``x:xmptk``.
XMP_TOOLKIT = "gainmap"

# ----------------------------------------------------------------------------------------------- binary schemas

#: Standard XMP APP1 payload.
XmpApp1 = Struct(
    "ident" / Const(XMP_IDENT),
    "packet" / GreedyBytes,
)

#: One ExtendedXMP APP1 payload (XMP Part 3, 1.1.3.1).
ExtendedXmpChunk = Struct(
    "ident" / Const(EXT_XMP_IDENT),
    "guid" / Bytes(32),  # MD5 of the whole extended packet, upper-case ASCII hex, no NUL
    "full_length" / Int32ub,  # length of the whole extended packet
    "chunk_offset" / Int32ub,  # where this chunk's data goes in it
    "data" / GreedyBytes,
)
_EXT_HEADER = len(EXT_XMP_IDENT) + 32 + 8


@dataclass(frozen=True)
class ExtendedChunk:
    """One ExtendedXMP chunk: GUID, full packet length, this chunk's offset and data."""

    guid: str
    full_length: int
    chunk_offset: int
    data: bytes


def parse_extended_chunk(payload: bytes) -> ExtendedChunk:
    """Parse an ExtendedXMP APP1 payload; SchemaError if it is not one (wrong ident or header cut short)."""
    if not payload.startswith(EXT_XMP_IDENT):
        raise SchemaError("not an ExtendedXMP payload (identifier missing)", 0)
    if len(payload) < _EXT_HEADER:
        raise SchemaError(f"ExtendedXMP header needs {_EXT_HEADER} bytes, got {len(payload)}", len(payload))
    try:
        c = ExtendedXmpChunk.parse(payload)
    except ConstructError as exc:  # pragma: no cover - guarded by the checks above
        raise SchemaError(f"ExtendedXMP chunk: {exc}", 0) from exc
    return ExtendedChunk(c.guid.decode("latin-1"), c.full_length, c.chunk_offset, bytes(c.data))


def build_extended_chunk(chunk: ExtendedChunk) -> bytes:
    """The APP1 payload for one ExtendedXMP chunk."""
    guid = chunk.guid.encode("ascii", "replace")
    if len(guid) != 32:
        raise SchemaError(f"ExtendedXMP GUID must be 32 ASCII characters, got {chunk.guid!r}")
    if len(chunk.data) > MAX_EXT_CHUNK:
        raise SchemaError(f"ExtendedXMP chunk data of {len(chunk.data)} bytes exceeds {MAX_EXT_CHUNK}")
    try:
        return ExtendedXmpChunk.build(dict(guid=guid, full_length=chunk.full_length,
                                           chunk_offset=chunk.chunk_offset, data=chunk.data))
    except ConstructError as exc:
        raise SchemaError(f"cannot build ExtendedXMP chunk: {exc}") from exc


def split_extended(packet: bytes, max_chunk: int = MAX_EXT_CHUNK) -> tuple[str, list[bytes]]:
    """Split an extended packet into APP1 chunk payloads; the GUID is the upper-case hex MD5 of ``packet``."""
    if not 1 <= max_chunk <= MAX_EXT_CHUNK:
        raise SchemaError(f"max_chunk must be 1..{MAX_EXT_CHUNK}, got {max_chunk}")
    if not packet:
        raise SchemaError("an empty ExtendedXMP packet cannot be stored (readers reject full_length 0)")
    if len(packet) > 0xFFFFFFFF:
        raise SchemaError("ExtendedXMP packet longer than 2**32-1 bytes")
    guid = hashlib.md5(packet).hexdigest().upper()
    chunks = [build_extended_chunk(ExtendedChunk(guid, len(packet), off, packet[off:off + max_chunk]))
              for off in range(0, len(packet), max_chunk)]
    return guid, chunks


_GUID_RE = re.compile(r"[0-9A-F]{32}")


def assemble_extended(chunks: Iterable[bytes | ExtendedChunk],
                      expected_guid: str) -> tuple[bytes | None, list[Problem]]:
    """Reassemble an ExtendedXMP packet the way Skia does; ``None`` with problems when it cannot.

    Rules: the GUID is 32 upper-case hex digits; chunks with another GUID are skipped; every chunk gives the
    same full length; sorted by offset the chunks are contiguous and cover the length exactly; the MD5 of the
    result equals the GUID.  Problem offsets are relative to the chunk payload named in the message.
    """
    problems: list[Problem] = []
    if not isinstance(expected_guid, str) or not _GUID_RE.fullmatch(expected_guid):
        problems.append(Problem("xmp.extended.guid-format", 0, 0,
                                f"HasExtendedXMP GUID {expected_guid!r} is not 32 upper-case hex digits"))
        return None, problems
    parts: list[tuple[int, int, bytes]] = []  # (offset, chunk index, data)
    full_length: int | None = None
    for index, item in enumerate(chunks):
        if isinstance(item, ExtendedChunk):
            chunk = item
        else:
            try:
                chunk = parse_extended_chunk(bytes(item))
            except SchemaError as exc:
                problems.append(Problem("xmp.extended.chunk", exc.offset, 0, f"chunk {index}: {exc}"))
                continue
        if chunk.guid != expected_guid:
            problems.append(Problem("xmp.extended.guid-mismatch", len(EXT_XMP_IDENT), 32,
                                    f"chunk {index} has GUID {chunk.guid!r}, expected {expected_guid}; skipped"))
            continue
        if full_length is None:
            full_length = chunk.full_length
        elif chunk.full_length != full_length:
            problems.append(Problem("xmp.extended.length-mismatch", len(EXT_XMP_IDENT) + 32, 4,
                                    f"chunk {index} says full length {chunk.full_length}, "
                                    f"earlier chunks {full_length}"))
            return None, problems
        parts.append((chunk.chunk_offset, index, chunk.data))
    if not parts or full_length is None:
        problems.append(Problem("xmp.extended.missing", 0, 0, f"no ExtendedXMP chunk with GUID {expected_guid}"))
        return None, problems
    if full_length == 0:
        problems.append(Problem("xmp.extended.empty", len(EXT_XMP_IDENT) + 32, 4, "ExtendedXMP full length is 0"))
        return None, problems
    parts.sort(key=lambda p: (p[0], p[1]))
    pieces: list[bytes] = []
    at = 0
    ok = True
    for offset, index, data in parts:
        where = len(EXT_XMP_IDENT) + 36
        if offset > at:
            problems.append(Problem("xmp.extended.gap", where, 4,
                                    f"chunk {index} starts at {offset}, bytes {at}..{offset} are missing"))
            ok = False
        elif offset < at:
            problems.append(Problem("xmp.extended.overlap", where, 4,
                                    f"chunk {index} starts at {offset}, overlapping bytes up to {at}"))
            ok = False
        if offset + len(data) > full_length:
            problems.append(Problem("xmp.extended.overflow", _EXT_HEADER, len(data),
                                    f"chunk {index} ends at {offset + len(data)}, past full length {full_length}"))
            ok = False
        if ok:
            pieces.append(data)
        at = max(at, offset + len(data))
    if not ok:
        return None, problems
    if at != full_length:
        problems.append(Problem("xmp.extended.short", 0, 0,
                                f"ExtendedXMP chunks cover {at} of {full_length} bytes"))
        return None, problems
    packet = b"".join(pieces)
    if hashlib.md5(packet).hexdigest().upper() != expected_guid:
        problems.append(Problem("xmp.extended.md5", len(EXT_XMP_IDENT), 32,
                                f"MD5 of the assembled ExtendedXMP is not the GUID {expected_guid}"))
        return None, problems
    return packet, problems


# ----------------------------------------------------------------------------------------------- secure parsing

_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                       dtd_validation=False, remove_blank_text=False)
_FEED = 64 * 1024
_SEARCH_WINDOW = 64 * 1024
_SEARCH_BUDGET = 1024
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_TRAILING = b"\x00 \t\r\n"

_RDF = f"{{{RDF_NS}}}RDF"
_DESC = f"{{{RDF_NS}}}Description"
_SEQ = f"{{{RDF_NS}}}Seq"
_LI = f"{{{RDF_NS}}}li"
_PARSE_TYPE = f"{{{RDF_NS}}}parseType"
_XMPMETA = f"{{{X_NS}}}xmpmeta"


class _Source:
    """The packet text, for turning lxml line numbers into byte offsets (best effort)."""

    def __init__(self, text: bytes, base: int) -> None:
        self.text = text
        self.base = base
        self._starts: np.ndarray | None = None
        self._budget = _SEARCH_BUDGET

    def line_start(self, line: int | None) -> int:
        """Offset of the start of 1-based ``line`` within the text."""
        if not line or line < 1:
            return 0
        if self._starts is None:
            newlines = np.flatnonzero(np.frombuffer(self.text, dtype=np.uint8) == 0x0A)
            self._starts = np.concatenate(([0], newlines + 1))
        return int(self._starts[min(line, len(self._starts)) - 1])

    def element_offset(self, el: etree._Element) -> int:
        """Payload offset of ``el``'s start tag (best effort): lxml reports the line where the start tag ends,
        so search back from the end of that line for ``<qname``.  Searches are bounded in size and number;
        past those bounds the start of the line is given."""
        start = self.line_start(el.sourceline)
        end = self.line_start((el.sourceline or 0) + 1) if el.sourceline else len(self.text)
        if end <= start:
            end = len(self.text)
        if end - start > _SEARCH_WINDOW or self._budget <= 0:
            return self.base + start
        self._budget -= 1
        pos = self.text.rfind(b"<" + _qname(el).encode(), max(0, start - 4096), end)
        return self.base + (pos if pos >= 0 else start)

    def attribute(self, el: etree._Element, el_offset: int, candidates: list[str],
                  local: str) -> tuple[str, int]:
        """(prefix, payload offset) of attribute ``local`` in ``el``'s start tag, choosing among the prefixes
        bound to its namespace; falls back to the first candidate and the element offset."""
        start = el_offset - self.base
        if self._budget <= 0:
            return (candidates[0] if candidates else ""), el_offset
        self._budget -= 1
        window = self.text[start:start + _SEARCH_WINDOW]
        best: tuple[int, str] | None = None
        for prefix in candidates:
            m = re.search(rb"[\s]" + re.escape(f"{prefix}:{local}".encode()) + rb"\s*=", window)
            if m and (best is None or m.start() < best[0]):
                best = (m.start() + 1, prefix)
        if best is None:
            return (candidates[0] if candidates else ""), el_offset
        return best[1], el_offset + best[0]


def _qname(el: etree._Element) -> str:
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


@dataclass
class _Tree:
    root: etree._Element | None
    decls: dict[etree._Element, list[tuple[str | None, str]]]
    problems: list[Problem]
    source: _Source


def _parse_tree(packet: bytes, base: int) -> _Tree:
    """Parse under the limits; ``root`` is None when the packet was refused or is not well-formed."""
    problems: list[Problem] = []
    wide = packet[:2] in (b"\xff\xfe", b"\xfe\xff")
    text = packet.rstrip(b" \t\r\n" if wide else _TRAILING)
    source = _Source(text, base)
    if wide:
        problems.append(Problem("xmp.encoding", base, 2, "XMP in JPEG must be UTF-8; this packet is UTF-16"))
    decls: dict[etree._Element, list[tuple[str | None, str]]] = {}
    if not text.strip():
        problems.append(Problem("xmp.empty", base, len(packet), "the XMP packet is empty"))
        return _Tree(None, decls, problems, source)
    if len(text) > MAX_PACKET_BYTES:
        problems.append(Problem("xmp.too-large", base, len(text),
                                f"XMP packet of {len(text)} bytes exceeds the {MAX_PACKET_BYTES}-byte limit; "
                                "not parsed"))
        return _Tree(None, decls, problems, source)
    m = _DTD_RE.search(text.decode("utf-16", "replace").encode() if wide else text)
    if m:
        problems.append(Problem("xmp.doctype", base + m.start(), len(m.group()),
                                "XMP packet contains a DOCTYPE/ENTITY declaration; refused (XMP forbids DTDs)"))
        return _Tree(None, decls, problems, source)
    parser = etree.XMLPullParser(events=("start-ns", "start", "end"), **_PARSER_OPTIONS)
    pending: list[tuple[str | None, str]] = []
    depth = 0
    try:
        for pos in range(0, len(text), _FEED):
            parser.feed(text[pos:pos + _FEED])
            for event, item in parser.read_events():
                if event == "start-ns":
                    pending.append((item[0] or None, item[1]))
                elif event == "start":
                    depth += 1
                    if pending:
                        decls[item] = pending
                        pending = []
                    if depth > MAX_DEPTH:
                        problems.append(Problem("xmp.depth", source.element_offset(item), 0,
                                                f"XMP elements nest deeper than {MAX_DEPTH}; refused"))
                        return _Tree(None, {}, problems, source)
                else:
                    depth -= 1
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        offset = min(len(text), source.line_start(line) + max(0, (column or 1) - 1))
        msg = str(exc.msg if getattr(exc, "msg", None) else exc)
        if "depth" in msg.lower():
            problems.append(Problem("xmp.depth", base + offset, 0, f"XMP elements nest too deep; refused ({msg})"))
        else:
            problems.append(Problem("xmp.malformed", base + offset, 0,
                                    f"XMP is not well-formed at line {line}, column {column}: {msg}"))
        return _Tree(None, {}, problems, source)
    except (etree.LxmlError, ValueError) as exc:  # pragma: no cover - defensive
        problems.append(Problem("xmp.malformed", base, 0, f"XMP could not be parsed: {exc}"))
        return _Tree(None, {}, problems, source)
    if root.getroottree().docinfo.internalDTD is not None:  # pragma: no cover - caught by the pre-scan
        problems.append(Problem("xmp.doctype", base, 0, "XMP packet has a DTD; refused"))
        return _Tree(None, {}, problems, source)
    return _Tree(root, decls, problems, source)


# ----------------------------------------------------------------------------------------------- the model

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


@dataclass(frozen=True)
class AppleXmp:
    """Apple's gain-map XMP (apdi + HDRGainMap); Apple writes elements, attributes are accepted too."""

    aux_type: str | None
    stored_format: int | None
    native_format: int | None
    version: int | None
    headroom: float | None
    description_index: int
    raw: Mapping[str, str]


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
        return self.root_tag == _XMPMETA

    def declarations(self, uri: str) -> list[NsDecl]:
        """Every recorded declaration of ``uri``, outermost first."""
        return [d for d in self.namespaces if d.uri == uri]

    def hdrgm_values(self) -> dict[str, object]:
        """Usable hdrgm values (first occurrence of each), ready for :meth:`GainMapMetadata.from_hdrgm`."""
        return {name: v.value for name, v in self.hdrgm.items() if v.value is not None}


_READ_NS = frozenset({HDRGM_NS, APDI_NS, HDRGAINMAP_NS, XMPNOTE_NS})
_KNOWN_NS = frozenset({HDRGM_NS, CONTAINER_NS, ITEM_NS, XMPNOTE_NS, APDI_NS, HDRGAINMAP_NS, RDF_NS, X_NS})
_REAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")


def _real(text: str) -> float | None:
    t = text.strip()
    if not _REAL_RE.fullmatch(t):
        return None
    value = float(t)
    return value if np.isfinite(value) else None


def _int(text: str) -> int | None:
    t = text.strip()
    return int(t) if _INT_RE.fullmatch(t) and len(t) < 40 else None


def _split(tag: object) -> tuple[str | None, str]:
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _simple_text(el: etree._Element) -> str | None:
    """Text of a simple property element (no element children, no rdf:resource), else None."""
    if _elements(el) or el.get(f"{{{RDF_NS}}}resource") is not None:
        return None
    return el.text or ""


@dataclass
class _Found:
    name: str
    form: Literal["attribute", "element", "seq", "other"]
    raw: str | list[str]
    prefix: str
    offset: int
    note: str = ""


def _properties(src: _Source, desc: etree._Element, namespaces: frozenset[str]) -> dict[str, list[_Found]]:
    """Every property of the given namespaces on ``desc`` (one pass), attributes first, in document order."""
    found: dict[str, list[_Found]] = {}
    desc_offset: int | None = None
    for qname, value in desc.attrib.items():
        ns, local = _split(qname)
        if ns not in namespaces:
            continue
        if desc_offset is None:
            desc_offset = src.element_offset(desc)
        candidates = sorted((p for p, u in desc.nsmap.items() if u == ns and p), key=lambda p: p != "hdrgm")
        prefix, offset = src.attribute(desc, desc_offset, candidates, local)
        found.setdefault(ns, []).append(_Found(local, "attribute", value, prefix, offset))  # type: ignore[arg-type]
    count = sum(len(v) for v in found.values())
    for child in desc:
        ns, local = _split(child.tag)
        if ns not in namespaces:
            continue
        count += 1
        if count > MAX_PROPERTIES:
            found.setdefault("", []).append(_Found(local, "other", "", child.prefix or "", src.element_offset(child)))
            break
        offset = src.element_offset(child)
        prefix = child.prefix or ""
        text = _simple_text(child)
        out = found.setdefault(ns, [])  # type: ignore[arg-type]
        if text is not None:
            out.append(_Found(local, "element", text, prefix, offset))
            continue
        kids = _elements(child)
        if len(kids) == 1 and kids[0].tag == _SEQ:
            items = _elements(kids[0])
            if all(li.tag == _LI and _simple_text(li) is not None for li in items):
                out.append(_Found(local, "seq", [li.text or "" for li in items], prefix, offset))
                continue
            out.append(_Found(local, "other", [], prefix, offset, "rdf:Seq items are not simple text rdf:li"))
            continue
        kind = _split(kids[0].tag)[1] if kids else "rdf:resource"
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
        values = [_real(t) for t in f.raw]
        if any(v is None for v in values):
            problems.append(Problem("xmp.hdrgm.value", f.offset, 0,
                                    f"hdrgm:{f.name} has a non-numeric or non-finite item in {f.raw!r}"))
            return None
        if len(values) not in (1, 3):
            problems.append(Problem("xmp.hdrgm.seq-count", f.offset, 0,
                                    f"hdrgm:{f.name} rdf:Seq has {len(values)} items; 1 or 3 expected"))
            return None
        return tuple(values)  # type: ignore[arg-type]
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
    value = _real(f.raw)
    if value is None:
        problems.append(Problem("xmp.hdrgm.value", f.offset, 0,
                                f'hdrgm:{f.name}="{f.raw.strip()}" is not a finite number'))
    return value


def _interpret(tree: _Tree, pkt: XmpPacket) -> None:
    root = tree.root
    assert root is not None
    src, problems = tree.source, pkt.problems
    pkt.root_tag = root.tag if isinstance(root.tag, str) else None
    pkt.toolkit = root.get(f"{{{X_NS}}}xmptk")
    rdf = root if root.tag == _RDF else next((c for c in _elements(root) if c.tag == _RDF), None)
    if rdf is None:
        problems.append(Problem("xmp.no-rdf", src.element_offset(root), 0, "no rdf:RDF under the XMP root"))
        return
    descs = [c for c in _elements(rdf) if c.tag == _DESC]
    pkt.descriptions = len(descs)
    if not descs:
        problems.append(Problem("xmp.no-description", src.element_offset(rdf), 0, "rdf:RDF has no rdf:Description"))
    index = {d: i for i, d in enumerate(descs)}
    for el, decl_list in tree.decls.items():
        if el is root and root.tag == _XMPMETA:
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
        for child in _elements(desc):
            if child.tag != f"{{{CONTAINER_NS}}}Directory":
                continue
            if pkt.container_description_index is not None:
                problems.append(Problem("xmp.container.duplicate", src.element_offset(child), 0,
                                        "a second Container:Directory; the first one is used"))
                continue
            pkt.container_description_index = i
            pkt.container_items = _container_items(src, child, problems)
    if apple_raw:
        pkt.apple = _apple(apple_raw, apple_index or 0, problems, apple_offset)


def _item_node(li: etree._Element) -> tuple[etree._Element | None, str]:
    kids = _elements(li)
    for k in kids:
        if k.tag == f"{{{CONTAINER_NS}}}Item":
            return k, "item"
    rdf_type = next((k for k in kids if k.tag == f"{{{RDF_NS}}}type"), None)
    rdf_value = next((k for k in kids if k.tag == f"{{{RDF_NS}}}value"), None)
    if rdf_type is not None and rdf_value is not None:
        resource = rdf_type.get(f"{{{RDF_NS}}}resource") or ""
        if resource == "Item" or resource.endswith("/Item") or resource == CONTAINER_NS + "Item":
            return rdf_value, "typed"
    has_item_props = any(_split(q)[0] == ITEM_NS for q in li.attrib) or any(_split(k.tag)[0] == ITEM_NS
                                                                            for k in kids)
    return (li, "li") if has_item_props else (None, "")


def _container_items(src: _Source, directory: etree._Element, problems: list[Problem]) -> list[ContainerItem]:
    kids = _elements(directory)
    seq = next((c for c in kids if c.tag == _SEQ), None)
    if seq is None:
        seq = next((c for c in kids if c.tag in (f"{{{RDF_NS}}}Bag", f"{{{RDF_NS}}}Alt")), None)
        if seq is None:
            problems.append(Problem("xmp.container.form", src.element_offset(directory), 0,
                                    "Container:Directory has no rdf:Seq"))
            return []
        problems.append(Problem("xmp.container.not-seq", src.element_offset(seq), 0,
                                f"Container:Directory uses {_qname(seq)}, not rdf:Seq (Skia ignores it)"))
    items: list[ContainerItem] = []
    lis = _elements(seq)
    if len(lis) > MAX_ITEMS:
        problems.append(Problem("xmp.container.items-limit", src.element_offset(lis[MAX_ITEMS]), 0,
                                f"{len(lis)} Directory items; only the first {MAX_ITEMS} are read"))
    for li in lis[:MAX_ITEMS]:
        offset = src.element_offset(li)
        if li.tag != _LI:
            problems.append(Problem("xmp.container.form", offset, 0, f"unexpected {_qname(li)} in the Directory"))
            continue
        node, form = _item_node(li)
        if node is None:
            problems.append(Problem("xmp.container.item", offset, 0, "rdf:li without a Container:Item"))
            continue
        raw: dict[str, str] = {}
        for qname, value in node.attrib.items():
            ns, local = _split(qname)
            if ns == ITEM_NS:
                raw.setdefault(local, value)
        for k in _elements(node):
            ns, local = _split(k.tag)
            text = _simple_text(k)
            if ns == ITEM_NS and text is not None:
                raw.setdefault(local, text)
        values: dict[str, object] = {}
        for p in ITEM_PROPS:
            text = raw.get(p.name)
            if text is None:
                values[p.name] = None
            elif p.kind == "int":
                number = _int(text)
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


def _apple(raw: dict[str, str], index: int, problems: list[Problem], offset: int) -> AppleXmp:
    values: dict[str, object] = {}
    for p in APPLE_PROPS:
        text = raw.get(p.name)
        value: object = None
        if text is not None:
            value = text if p.kind == "text" else (_int(text) if p.kind == "int" else _real(text))
            if value is None:
                problems.append(Problem("xmp.apple.value", offset, 0, f'{p.name}="{text}" is not a valid {p.kind}'))
        values[p.name] = value
    return AppleXmp(values["AuxiliaryImageType"], values["StoredFormat"], values["NativeFormat"],  # type: ignore[arg-type]
                    values["HDRGainMapVersion"], values["HDRGainMapHeadroom"], index, raw)  # type: ignore[arg-type]


def parse_xmp_packet(packet: bytes, *, base: int = 0) -> XmpPacket:
    """Parse a bare XMP packet; problem offsets are ``base`` + the offset in ``packet``.  Never raises."""
    packet = bytes(packet)
    pkt = XmpPacket(packet=packet, offset=base)
    tree = _parse_tree(packet, base)
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
    return parse_xmp_packet(payload[len(XMP_IDENT):], base=len(XMP_IDENT))


# ----------------------------------------------------------------------------------------------- writing

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


def wrap_app1(packet: bytes) -> bytes:
    """The APP1 payload for a standard packet; SchemaError if it does not fit one segment."""
    if len(packet) > MAX_APP1_PACKET:
        raise SchemaError(f"XMP packet of {len(packet)} bytes exceeds the {MAX_APP1_PACKET} bytes of one APP1 "
                          "segment (move properties to ExtendedXMP)")
    return XmpApp1.build(dict(packet=packet))


def _esc(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;"))


@dataclass
class _Doc:
    """An editable, accepted packet: the tree plus the first rdf:Description."""

    tree: _Tree
    root: etree._Element
    rdf: etree._Element
    desc: etree._Element


def _load(packet: bytes, *, create: bool = True) -> _Doc:
    tree = _parse_tree(bytes(packet), 0)
    if tree.root is None:
        detail = "; ".join(str(p) for p in tree.problems) or "not well-formed"
        raise SchemaError(f"cannot edit this XMP packet: {detail}",
                          tree.problems[0].offset if tree.problems else 0)
    root = tree.root
    if root.tag == _RDF:
        rdf = root
    elif root.tag == _XMPMETA:
        rdf = next((c for c in _elements(root) if c.tag == _RDF), None)
        if rdf is None:
            if not create:
                raise SchemaError("x:xmpmeta has no rdf:RDF")
            rdf = etree.SubElement(root, _RDF, nsmap={"rdf": RDF_NS})
            _place_new(root, rdf)
    else:
        raise SchemaError(f"XMP root is {root.tag!r}, not x:xmpmeta or rdf:RDF")
    desc = next((c for c in _elements(rdf) if c.tag == _DESC), None)
    if desc is None:
        if not create:
            raise SchemaError("rdf:RDF has no rdf:Description")
        desc = etree.SubElement(rdf, _DESC)
        desc.set(f"{{{RDF_NS}}}about", "")
        _place_new(rdf, desc)
    return _Doc(tree, root, rdf, desc)


def _serialize(root: etree._Element) -> bytes:
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


def _indent_of(el: etree._Element) -> str | None:
    ws = _ws_before(el)
    if ws.strip() or "\n" not in ws:
        return None
    return ws.rsplit("\n", 1)[1]


def _place_new(parent: etree._Element, child: etree._Element, index: int | None = None) -> None:
    """Move ``child`` (already or newly a child of ``parent``) to ``index`` (default last) with indentation
    that matches its neighbours, and indent its subtree."""
    if child.getparent() is parent:
        parent.remove(child)
    kids = list(parent)
    index = len(kids) if index is None else index
    parent_indent = _indent_of(parent)
    if parent_indent is None:
        parent_indent = ""
    step = " "
    outer = _indent_of(parent.getparent()) if parent.getparent() is not None else None
    inner_indent = _indent_of(kids[0]) if kids else None
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


def _remove(el: etree._Element) -> None:
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


def _own_decls(doc: _Doc, el: etree._Element) -> dict[str | None, str]:
    return dict(doc.tree.decls.get(el, []))


_MARK_NS = "urn:gainmap:edit:"


def _rewrite_first_description(doc: _Doc, decls: list[tuple[str, str]], attrs: list[tuple[str, str]],
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
        _place_new(doc.desc, marker)
        child_indent = _indent_of(marker) or ""
        desc_indent = _indent_of(doc.desc) or ""
        step = child_indent[len(desc_indent):] if child_indent.startswith(desc_indent) else ""
        child_text = children(child_indent, step or " ")
    text = _serialize(doc.root)
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


def _declare(doc: _Doc, wanted: list[tuple[str, str]], *, exact_prefix: bool) -> _Doc:
    """Declare namespaces on the first rdf:Description (re-parsing the result).

    With ``exact_prefix`` the given prefix must be the one bound (hdrgm); otherwise an existing declaration
    of the URI on that Description with any prefix is enough.
    """
    own = _own_decls(doc, doc.desc)
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
    return _load(_rewrite_first_description(doc, add, []), create=False)


def _verify(out: bytes, check: Iterable[tuple[str, object]]) -> bytes:
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


def _hdrgm_nodes(doc: _Doc, names: set[str] | None) -> None:
    """Remove hdrgm properties (all, or those in ``names``) in any form from every rdf:Description."""
    for desc in (c for c in _elements(doc.rdf) if c.tag == _DESC):
        for qname in list(desc.attrib):
            ns, local = _split(qname)
            if ns == HDRGM_NS and (names is None or local in names):
                del desc.attrib[qname]
        for child in _elements(desc):
            ns, local = _split(child.tag)
            if ns == HDRGM_NS and (names is None or local in names):
                _remove(child)


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


def _seq_text(prop: HdrgmProp, values: tuple[float, ...], rdf_prefix: str, indent: str, step: str) -> str:
    li = "".join(f"\n{indent}{step}{step}<{rdf_prefix}:li>{format_value(prop, v)}</{rdf_prefix}:li>" for v in values)
    return (f"<hdrgm:{prop.name}>\n{indent}{step}<{rdf_prefix}:Seq>{li}\n{indent}{step}</{rdf_prefix}:Seq>"
            f"\n{indent}</hdrgm:{prop.name}>")


def set_hdrgm(packet: bytes, props: Mapping[str, object]) -> bytes:
    """Replace every hdrgm property (any form, any Description) with ``props`` on the first Description.

    Scalars become attributes with the literal prefix ``hdrgm`` (what libultrahdr needs).  A per-channel value
    whose three items differ becomes an ``rdf:Seq`` element of three items (what Adobe writes); libultrahdr
    cannot read that form, so writers should prefer single-channel metadata.  Everything else in the packet
    is kept.  Raises SchemaError if the packet cannot be edited or a value is invalid.
    """
    values = _normalise(props)
    doc = _load(packet)
    if "hdrgm" in doc.desc.nsmap and doc.desc.nsmap["hdrgm"] != HDRGM_NS:
        raise SchemaError(f"prefix 'hdrgm' is bound to {doc.desc.nsmap['hdrgm']!r} in this packet")
    _hdrgm_nodes(doc, None)
    return _write_hdrgm(doc, values)


def _write_hdrgm(doc: _Doc, values: list[tuple[HdrgmProp, object]]) -> bytes:
    own = _own_decls(doc, doc.desc)
    decls = [] if own.get("hdrgm") == HDRGM_NS else [("hdrgm", HDRGM_NS)]
    if "hdrgm" in own and own["hdrgm"] != HDRGM_NS:
        raise SchemaError(f"prefix 'hdrgm' is bound to {own['hdrgm']!r} on the first rdf:Description")
    attrs = [(f"hdrgm:{p.name}", format_value(p, v)) for p, v in values if not isinstance(v, tuple)]
    seqs = [(p, v) for p, v in values if isinstance(v, tuple)]
    rdf_prefix = doc.desc.prefix or "rdf"

    def children(indent: str, step: str) -> list[str]:
        return [_seq_text(p, v, rdf_prefix, indent, step) for p, v in seqs]  # type: ignore[arg-type]

    out = _rewrite_first_description(doc, decls, attrs, children if seqs else None)
    return _verify(out, [(p.name, v) for p, v in values])


def ensure_primary_version(packet: bytes) -> bytes:
    """Make ``hdrgm:Version="1.0"`` an attribute of the first rdf:Description (the primary's signal),
    removing any other hdrgm:Version; other content is kept."""
    doc = _load(packet)
    if "hdrgm" in doc.desc.nsmap and doc.desc.nsmap["hdrgm"] != HDRGM_NS:
        raise SchemaError(f"prefix 'hdrgm' is bound to {doc.desc.nsmap['hdrgm']!r} in this packet")
    _hdrgm_nodes(doc, {"Version"})
    return _write_hdrgm(doc, [(HDRGM_BY_NAME["Version"], "1.0")])


def _item_get(node: etree._Element, local: str) -> str | None:
    value = node.get(f"{{{ITEM_NS}}}{local}")
    if value is not None:
        return value
    for k in _elements(node):
        if k.tag == f"{{{ITEM_NS}}}{local}":
            return _simple_text(k)
    return None


def _item_set(node: etree._Element, local: str, value: str) -> None:
    """Set an Item property where it lives; a new one follows the item's form (an rdf:parseType="Resource"
    node or one with property elements takes an element, since RDF forbids property attributes there)."""
    tag = f"{{{ITEM_NS}}}{local}"
    for k in _elements(node):
        if k.tag == tag:
            for sub in list(k):
                k.remove(sub)
            k.text = value
            return
    if node.get(tag) is None and (node.get(_PARSE_TYPE) == "Resource"
                                  or any(_split(k.tag)[0] == ITEM_NS for k in _elements(node))):
        child = etree.SubElement(node, tag)
        child.text = value
        _place_new(node, child)
        return
    node.set(tag, value)


def _new_item(seq: etree._Element, index: int, semantic: str) -> etree._Element:
    li = etree.SubElement(seq, _LI)
    li.set(_PARSE_TYPE, "Resource")
    item = etree.SubElement(li, f"{{{CONTAINER_NS}}}Item")
    item.set(f"{{{ITEM_NS}}}Semantic", semantic)
    item.set(f"{{{ITEM_NS}}}Mime", "image/jpeg")
    _place_new(seq, li, index)
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
    doc = _load(packet)
    doc = _declare(doc, [("Container", CONTAINER_NS), ("Item", ITEM_NS)], exact_prefix=False)
    dir_tag = f"{{{CONTAINER_NS}}}Directory"
    dirs = [c for d in _elements(doc.rdf) if d.tag == _DESC for c in _elements(d) if c.tag == dir_tag]
    for extra in dirs[1:]:
        _remove(extra)
    if dirs:
        directory = dirs[0]
        if directory.getparent() is not doc.desc:
            _remove(directory)
            _place_new(doc.desc, directory)
    else:
        directory = etree.SubElement(doc.desc, dir_tag)
        _place_new(doc.desc, directory)
    containers = [c for c in _elements(directory) if c.tag in (_SEQ, f"{{{RDF_NS}}}Bag", f"{{{RDF_NS}}}Alt")]
    seq = next((c for c in containers if c.tag == _SEQ), containers[0] if containers else None)
    if seq is None:
        seq = etree.SubElement(directory, _SEQ)
        _place_new(directory, seq)
    seq.tag = _SEQ  # an rdf:Bag/Alt keeps its items but becomes the rdf:Seq readers expect
    lis = _elements(seq)
    nodes = [(li, _item_node(li)[0]) for li in lis]
    primary = next(((li, n) for li, n in nodes if n is not None and _item_get(n, "Semantic") == "Primary"), None)
    if primary is None:
        primary_node = _new_item(seq, 0, "Primary")
    else:
        primary_li, primary_node = primary
        if _elements(seq)[0] is not primary_li:
            _remove(primary_li)
            _place_new(seq, primary_li, 0)
        if _item_get(primary_node, "Mime") is None:  # type: ignore[arg-type]
            _item_set(primary_node, "Mime", "image/jpeg")  # type: ignore[arg-type]
    assert primary_node is not None
    for li, n in nodes:  # at most one Primary and one GainMap item
        if n is not None and n is not primary_node and _item_get(n, "Semantic") == "Primary":
            _remove(li)
    gains = [(li, n) for li, n in nodes if n is not None and _item_get(n, "Semantic") == "GainMap"]
    for li, _ in gains[1:]:
        _remove(li)
    gain = gains[0][1] if gains else None
    if gain is None:
        gain = _new_item(seq, 1, "GainMap")
    elif _item_get(gain, "Mime") is None:
        _item_set(gain, "Mime", "image/jpeg")
    _item_set(gain, "Length", str(gainmap_length))
    padding = _place_gainmap_item(seq, gain, gap)
    if padding or _item_get(primary_node, "Padding") is not None:
        _item_set(primary_node, "Padding", str(padding))
    out = _serialize(doc.root)
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
    lis = _elements(seq)
    gain_li = next(li for li in lis if _item_node(li)[0] is gain)
    before = lis[1:lis.index(gain_li)]
    lengths = []
    for li in before:
        node = _item_node(li)[0]
        text = _item_get(node, "Length") if node is not None else None
        lengths.append(_int(text) if text is not None else None)
    if any(n is None or n < 0 for n in lengths) or sum(n or 0 for n in lengths) > gap:
        _remove(gain_li)
        _place_new(seq, gain_li, 1)
        return gap
    return gap - sum(n or 0 for n in lengths)


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
