"""JPEG marker segments (ITU T.81 B.1) as construct schemas, plus marker names and APPn identification.

A *segment* on disk is ``FF`` fill bytes, ``FF xx`` marker, then for length-bearing markers a big-endian ``Lp``
(counting itself) and ``Lp - 2`` payload bytes.  ``Lp`` is derived (``Rebuild``): a built segment cannot disagree
with its payload.
"""

from __future__ import annotations

from construct import (
    Array,
    BitsInteger,
    BitStruct,
    Bytes,
    Const,
    GreedyBytes,
    GreedyRange,
    IfThenElse,
    Int8ub,
    Int16ub,
    Rebuild,
    Struct,
    len_,
    this,
)

SOI, EOI, SOS, DQT, DHT, DRI, DNL, COM, TEM = 0xD8, 0xD9, 0xDA, 0xDB, 0xC4, 0xDD, 0xDC, 0xFE, 0x01
APP0 = 0xE0
RST_MARKERS = frozenset(range(0xD0, 0xD8))
#: Markers that stand alone (no length field).
STANDALONE = frozenset({SOI, EOI, TEM, *RST_MARKERS})
#: Start-of-frame markers (C4 DHT, C8 JPG and CC DAC are not frames).
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})

_NAMES = {SOI: "SOI", EOI: "EOI", SOS: "SOS", DQT: "DQT", DHT: "DHT", DRI: "DRI", DNL: "DNL", COM: "COM",
          TEM: "TEM", 0xC8: "JPG", 0xCC: "DAC"}


def marker_name(marker: int) -> str:
    """Short name of a marker byte (``0xE1`` -> ``APP1``)."""
    if marker in _NAMES:
        return _NAMES[marker]
    if 0xE0 <= marker <= 0xEF:
        return f"APP{marker - 0xE0}"
    if marker in RST_MARKERS:
        return f"RST{marker - 0xD0}"
    if marker in SOF_MARKERS:
        return f"SOF{marker - 0xC0}"
    return f"0x{marker:02X}"


#: A length-bearing segment: marker, derived length, payload.
Segment = Struct(
    "ff" / Const(b"\xff"),
    "marker" / Int8ub,
    "length" / Rebuild(Int16ub, len_(this.payload) + 2),
    "payload" / Bytes(this.length - 2),
)

#: A standalone marker (SOI, EOI, RSTn, TEM).
StandaloneMarker = Struct("ff" / Const(b"\xff"), "marker" / Int8ub)

FrameComponent = Struct(
    "id" / Int8ub,
    "sampling" / BitStruct("h" / BitsInteger(4), "v" / BitsInteger(4)),
    "quant_table" / Int8ub,
)

#: SOFn payload.
FrameHeader = Struct(
    "precision" / Int8ub,
    "height" / Int16ub,
    "width" / Int16ub,
    "component_count" / Rebuild(Int8ub, len_(this.components)),
    "components" / Array(this.component_count, FrameComponent),
)

ScanComponent = Struct(
    "selector" / Int8ub,
    "tables" / BitStruct("dc" / BitsInteger(4), "ac" / BitsInteger(4)),
)

#: SOS payload (the entropy-coded segment follows it on disk).
ScanHeader = Struct(
    "component_count" / Rebuild(Int8ub, len_(this.components)),
    "components" / Array(this.component_count, ScanComponent),
    "spectral_start" / Int8ub,
    "spectral_end" / Int8ub,
    "approximation" / BitStruct("high" / BitsInteger(4), "low" / BitsInteger(4)),
)

QuantTable = Struct(
    "spec" / BitStruct("precision" / BitsInteger(4), "table_id" / BitsInteger(4)),
    "values" / Array(64, IfThenElse(this.spec.precision == 0, Int8ub, Int16ub)),
)
#: DQT payload: one or more tables.
QuantTables = GreedyRange(QuantTable)

HuffmanTable = Struct(
    "spec" / BitStruct("table_class" / BitsInteger(4), "table_id" / BitsInteger(4)),
    "counts" / Array(16, Int8ub),
    "symbols" / Bytes(lambda ctx: sum(ctx.counts)),
)
#: DHT payload: one or more tables.
HuffmanTables = GreedyRange(HuffmanTable)

#: DRI payload.
RestartInterval = Struct("interval" / Int16ub)
#: DNL payload.
NumberOfLines = Struct("lines" / Int16ub)

#: JFIF APP0 payload (thumbnail bytes and any extension kept in ``rest``).
Jfif = Struct(
    "ident" / Const(b"JFIF\x00"),
    "version" / Int16ub,
    "units" / Int8ub,
    "x_density" / Int16ub,
    "y_density" / Int16ub,
    "thumb_width" / Int8ub,
    "thumb_height" / Int8ub,
    "rest" / GreedyBytes,
)

_APP_IDENTS: tuple[tuple[int, bytes, str], ...] = (
    (0xE0, b"JFIF\x00", "jfif"),
    (0xE0, b"JFXX\x00", "jfxx"),
    (0xE1, b"Exif\x00", "exif"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/\x00", "xmp"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/\x00", "extended_xmp"),
    (0xE2, b"ICC_PROFILE\x00", "icc"),
    (0xE2, b"MPF\x00", "mpf"),
    (0xE2, b"urn:iso:std:iso:ts:21496:-1\x00", "iso21496"),
    (0xEB, b"JP", "jumbf"),
    (0xEE, b"Adobe", "adobe"),
    (0xED, b"Photoshop 3.0\x00", "photoshop"),
)


def classify_segment(marker: int, payload: bytes) -> str:
    """A short kind for a segment: ``xmp``, ``mpf``, ``iso21496``, ``icc``, ``exif``, ``sos``, ``sof``, ..."""
    for app, ident, kind in _APP_IDENTS:
        if marker == app and payload.startswith(ident):
            return kind
    if 0xE0 <= marker <= 0xEF:
        return "app"
    if marker in SOF_MARKERS:
        return "sof"
    return marker_name(marker).lower().rstrip("0123456789") if marker in RST_MARKERS else marker_name(marker).lower()
