"""The XMP vocabulary gainmap reads and writes: namespaces and the declarative hdrgm property table.

Both :func:`gainmap.formats.xmp.read.parse_xmp` and the XMP writers go through :data:`HDRGM_PROPS`, so the names,
types, defaults and allowed forms live in one place (see formats.md section 4.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from gainmap.errors import SchemaError
from gainmap.metadata import HDRGM_DEFAULTS, HDRGM_NS

X_NS = "adobe:ns:meta/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
CONTAINER_NS = "http://ns.google.com/photos/1.0/container/"
ITEM_NS = "http://ns.google.com/photos/1.0/container/item/"
XMPNOTE_NS = "http://ns.adobe.com/xmp/note/"
APDI_NS = "http://ns.apple.com/pixeldatainfo/1.0/"
HDRGAINMAP_NS = "http://ns.apple.com/HDRGainMap/1.0/"

#: The prefixes gainmap writes for each namespace (libultrahdr requires the literal ``hdrgm:``).
PREFERRED_PREFIXES: dict[str, str] = {
    HDRGM_NS: "hdrgm",
    CONTAINER_NS: "Container",
    ITEM_NS: "Item",
    XMPNOTE_NS: "xmpNote",
    APDI_NS: "apdi",
    HDRGAINMAP_NS: "HDRGainMap",
    RDF_NS: "rdf",
    X_NS: "x",
}

Kind = Literal["text", "real", "bool"]
Form = Literal["attribute", "element", "seq"]

#: Which hdrgm property forms each reader accepts (formats.md section 4.1, "Forms accepted").
#: "seq3" means an rdf:Seq of exactly three items, "seq1" one item.
READER_FORMS: dict[str, frozenset[str]] = {
    "skia": frozenset({"attribute", "element", "seq3"}),
    "libavif": frozenset({"attribute", "element", "seq1", "seq3"}),
    "libultrahdr": frozenset({"attribute"}),
}


@dataclass(frozen=True)
class HdrgmProp:
    """One hdrgm property: its XMP type, default when absent, whether an rdf:Seq per channel is allowed,
    and which readers refuse a file without it."""

    name: str
    kind: Kind
    default: object
    per_channel: bool
    required_by: frozenset[str]
    doc: str


_ALL = frozenset({"skia", "libavif", "libultrahdr"})
_ANDROID = frozenset({"libultrahdr"})

#: The hdrgm properties in the order libultrahdr writes them.
HDRGM_PROPS: tuple[HdrgmProp, ...] = (
    HdrgmProp("Version", "text", None, False, _ALL, 'must be "1.0"; libavif needs it as an attribute'),
    HdrgmProp("GainMapMin", "real", HDRGM_DEFAULTS["GainMapMin"], True, frozenset(), "log2 of the smallest gain"),
    HdrgmProp("GainMapMax", "real", HDRGM_DEFAULTS["GainMapMax"], True, _ANDROID, "log2 of the largest gain"),
    HdrgmProp("Gamma", "real", HDRGM_DEFAULTS["Gamma"], True, frozenset(), "encode exponent, > 0"),
    HdrgmProp("OffsetSDR", "real", HDRGM_DEFAULTS["OffsetSDR"], True, frozenset(), "linear offset, SDR side"),
    HdrgmProp("OffsetHDR", "real", HDRGM_DEFAULTS["OffsetHDR"], True, frozenset(), "linear offset, HDR side"),
    HdrgmProp("HDRCapacityMin", "real", HDRGM_DEFAULTS["HDRCapacityMin"], False, frozenset(),
              "log2 headroom where the map starts to apply, >= 0"),
    HdrgmProp("HDRCapacityMax", "real", HDRGM_DEFAULTS["HDRCapacityMax"], False, _ANDROID,
              "log2 headroom where the map applies fully"),
    HdrgmProp("BaseRenditionIsHDR", "bool", HDRGM_DEFAULTS["BaseRenditionIsHDR"], False, frozenset(),
              '"True"/"False"; libultrahdr rejects True'),
)

HDRGM_BY_NAME: dict[str, HdrgmProp] = {p.name: p for p in HDRGM_PROPS}


@dataclass(frozen=True)
class SimpleProp:
    """A simple (non-hdrgm) property gainmap reads: namespace, local name and type."""

    ns: str
    name: str
    kind: Literal["text", "int", "real"]


#: Apple's gain-map XMP (formats.md section 8); Apple writes these as elements.
APPLE_PROPS: tuple[SimpleProp, ...] = (
    SimpleProp(APDI_NS, "AuxiliaryImageType", "text"),
    SimpleProp(APDI_NS, "StoredFormat", "int"),
    SimpleProp(APDI_NS, "NativeFormat", "int"),
    SimpleProp(HDRGAINMAP_NS, "HDRGainMapVersion", "int"),
    SimpleProp(HDRGAINMAP_NS, "HDRGainMapHeadroom", "real"),
)

#: GContainer Item properties (formats.md section 4.3).
ITEM_PROPS: tuple[SimpleProp, ...] = (
    SimpleProp(ITEM_NS, "Semantic", "text"),
    SimpleProp(ITEM_NS, "Mime", "text"),
    SimpleProp(ITEM_NS, "Length", "int"),
    SimpleProp(ITEM_NS, "Padding", "int"),
    SimpleProp(ITEM_NS, "Label", "text"),
    SimpleProp(ITEM_NS, "URI", "text"),
)

APPLE_AUX_TYPE = "urn:com:apple:photo:2020:aux:hdrgainmap"


def format_value(prop: HdrgmProp, value: object) -> str:
    """The XMP text for one scalar hdrgm value: shortest round-tripping float repr, "True"/"False"."""
    if prop.kind == "bool":
        if not isinstance(value, bool):
            raise SchemaError(f"hdrgm:{prop.name} needs a bool, got {value!r}")
        return "True" if value else "False"
    if prop.kind == "text":
        if not isinstance(value, str):
            raise SchemaError(f"hdrgm:{prop.name} needs a string, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(f"hdrgm:{prop.name} needs a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise SchemaError(f"hdrgm:{prop.name} cannot be written as {number!r}")
    return repr(number)
