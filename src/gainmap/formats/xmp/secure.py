"""Secure, bounded XML parsing of XMP packets.

The parser never resolves entities or touches the network (``resolve_entities=False``, ``no_network=True``,
no DTD loading); a pre-scan refuses any DOCTYPE/ENTITY declaration before lxml sees the text; packets over
:data:`MAX_PACKET_BYTES` and nesting deeper than :data:`MAX_DEPTH` are refused.  Problems carry payload
offsets (``base`` + the offset in the packet); :class:`PacketSource` turns lxml's line numbers into them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from lxml import etree

from gainmap.errors import Problem
from gainmap.formats.xmp.nodes import prefixed_name

#: Packets larger than this are refused unread (problem ``xmp.too-large``).
MAX_PACKET_BYTES = 16 * 1024 * 1024
#: Element nesting deeper than this is refused (problem ``xmp.depth``).
MAX_DEPTH = 64

#: lxml settings for every XMP parse: no entities, no network, no DTD, bounded trees, whitespace kept.
PARSER_OPTIONS: dict[str, Any] = dict(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                                      dtd_validation=False, remove_blank_text=False)
_FEED = 64 * 1024
_SEARCH_WINDOW = 64 * 1024
_SEARCH_BUDGET = 1024
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_TRAILING = b"\x00 \t\r\n"


def find_dtd(text: bytes) -> re.Match[bytes] | None:
    """The first DOCTYPE/ENTITY declaration in ``text`` (the pre-scan that refuses DTDs), or None."""
    return _DTD_RE.search(text)


def parse_fragment(text: bytes) -> etree._Element:
    """Parse XML that gainmap generated itself (no DTD by construction) with the secure settings."""
    if find_dtd(text):  # pragma: no cover - generated text never holds one
        raise ValueError("refusing to parse a DOCTYPE/ENTITY declaration")
    return etree.fromstring(text, etree.XMLParser(**PARSER_OPTIONS))



class PacketSource:
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
        pos = self.text.rfind(b"<" + prefixed_name(el).encode(), max(0, start - 4096), end)
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


@dataclass
class ParsedTree:
    """A parsed packet: the root (None when refused), each element's own namespace declarations in document
    order, the problems found and the text for offsets."""

    root: etree._Element | None
    decls: dict[etree._Element, list[tuple[str | None, str]]]
    problems: list[Problem]
    source: PacketSource


def parse_tree(packet: bytes, base: int) -> ParsedTree:
    """Parse under the limits; ``root`` is None when the packet was refused or is not well-formed."""
    problems: list[Problem] = []
    wide = packet[:2] in (b"\xff\xfe", b"\xfe\xff")
    text = packet.rstrip(b" \t\r\n" if wide else _TRAILING)
    source = PacketSource(text, base)
    if wide:
        problems.append(Problem("xmp.encoding", base, 2, "XMP in JPEG must be UTF-8; this packet is UTF-16"))
    decls: dict[etree._Element, list[tuple[str | None, str]]] = {}
    if not text.strip():
        problems.append(Problem("xmp.empty", base, len(packet), "the XMP packet is empty"))
        return ParsedTree(None, decls, problems, source)
    if len(text) > MAX_PACKET_BYTES:
        problems.append(Problem("xmp.too-large", base, len(text),
                                f"XMP packet of {len(text)} bytes exceeds the {MAX_PACKET_BYTES}-byte limit; "
                                "not parsed"))
        return ParsedTree(None, decls, problems, source)
    m = find_dtd(text.decode("utf-16", "replace").encode() if wide else text)
    if m:
        problems.append(Problem("xmp.doctype", base + m.start(), len(m.group()),
                                "XMP packet contains a DOCTYPE/ENTITY declaration; refused (XMP forbids DTDs)"))
        return ParsedTree(None, decls, problems, source)
    parser = etree.XMLPullParser(events=("start-ns", "start", "end"), **PARSER_OPTIONS)
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
                        return ParsedTree(None, {}, problems, source)
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
        return ParsedTree(None, {}, problems, source)
    except (etree.LxmlError, ValueError) as exc:  # pragma: no cover - defensive
        problems.append(Problem("xmp.malformed", base, 0, f"XMP could not be parsed: {exc}"))
        return ParsedTree(None, {}, problems, source)
    if root.getroottree().docinfo.internalDTD is not None:  # pragma: no cover - caught by the pre-scan
        problems.append(Problem("xmp.doctype", base, 0, "XMP packet has a DTD; refused"))
        return ParsedTree(None, {}, problems, source)
    return ParsedTree(root, decls, problems, source)


