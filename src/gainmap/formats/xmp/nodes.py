"""Small helpers over lxml elements shared by the XMP reader and editors: tag names, children, simple values."""

from __future__ import annotations

import re

import numpy as np
from lxml import etree

from gainmap.formats.xmp.props import RDF_NS, X_NS

RDF_TAG = f"{{{RDF_NS}}}RDF"
DESCRIPTION_TAG = f"{{{RDF_NS}}}Description"
SEQ_TAG = f"{{{RDF_NS}}}Seq"
BAG_TAG = f"{{{RDF_NS}}}Bag"
ALT_TAG = f"{{{RDF_NS}}}Alt"
LI_TAG = f"{{{RDF_NS}}}li"
PARSE_TYPE = f"{{{RDF_NS}}}parseType"
XMPMETA_TAG = f"{{{X_NS}}}xmpmeta"

_REAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")


def parse_real(text: str) -> float | None:
    """A finite XMP Real, or None."""
    t = text.strip()
    if not _REAL_RE.fullmatch(t):
        return None
    value = float(t)
    return value if np.isfinite(value) else None


def parse_int(text: str) -> int | None:
    """An XMP Integer (under 40 digits), or None."""
    t = text.strip()
    return int(t) if _INT_RE.fullmatch(t) and len(t) < 40 else None


def split_tag(tag: object) -> tuple[str | None, str]:
    """(namespace URI or None, local name) of a Clark-notation tag; ("", None) shapes for non-element nodes."""
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def prefixed_name(el: etree._Element) -> str:
    """``prefix:local`` as the element is written."""
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


def elements(el: etree._Element) -> list[etree._Element]:
    """The element children (no comments or processing instructions)."""
    return [c for c in el if isinstance(c.tag, str)]


def simple_text(el: etree._Element) -> str | None:
    """Text of a simple property element (no element children, no rdf:resource), else None."""
    if elements(el) or el.get(f"{{{RDF_NS}}}resource") is not None:
        return None
    return el.text or ""
