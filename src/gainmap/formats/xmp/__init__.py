"""XMP in APP1: the standard packet, ExtendedXMP chunks, hdrgm / GContainer / Apple properties.

One module per concern:

- :mod:`.packet`: the APP1 payloads' byte layout (construct schemas and the offsets derived from them),
  ExtendedXMP chunking, reassembly by GUID and the MD5 check;
- :mod:`.secure`: bounded lxml parsing (no entities, no network, DOCTYPE pre-scan, depth and size limits);
- :mod:`.props`: namespaces and the hdrgm / GContainer Item / Apple property tables;
- :mod:`.read`: :func:`parse_xmp` and the :class:`XmpPacket` model, with :mod:`.container` (the Directory's
  items) and :mod:`.apple` (Apple's HDRGainMap / apdi view);
- :mod:`.document`, :mod:`.hdrgm`, :mod:`.directory`: editors that keep everything they do not change.
"""

from gainmap.formats.xmp.apple import AppleXmp
from gainmap.formats.xmp.container import MAX_ITEMS, ContainerItem
from gainmap.formats.xmp.directory import set_container_directory
from gainmap.formats.xmp.document import XMP_TOOLKIT, new_packet
from gainmap.formats.xmp.hdrgm import build_gainmap_xmp, build_primary_xmp, ensure_primary_version, set_hdrgm
from gainmap.formats.xmp.packet import (
    EXT_CHUNK_OFFSET_OFFSET,
    EXT_DATA_OFFSET,
    EXT_FULL_LENGTH_OFFSET,
    EXT_GUID_OFFSET,
    EXT_XMP_IDENT,
    MAX_APP1_PACKET,
    MAX_EXT_CHUNK,
    PACKET_OFFSET,
    XMP_IDENT,
    ExtendedChunk,
    ExtendedXmpChunk,
    ExtendedXmpHeader,
    XmpApp1,
    assemble_extended,
    build_extended_chunk,
    packet_of,
    parse_extended_chunk,
    split_extended,
    wrap_app1,
)
from gainmap.formats.xmp.read import (
    MAX_DESCRIPTIONS,
    MAX_PROPERTIES,
    HdrgmValue,
    NsDecl,
    XmpPacket,
    parse_xmp,
    parse_xmp_packet,
)
from gainmap.formats.xmp.secure import MAX_DEPTH, MAX_PACKET_BYTES

__all__ = [
    "EXT_CHUNK_OFFSET_OFFSET", "EXT_DATA_OFFSET", "EXT_FULL_LENGTH_OFFSET", "EXT_GUID_OFFSET", "EXT_XMP_IDENT",
    "MAX_APP1_PACKET", "MAX_DEPTH", "MAX_DESCRIPTIONS", "MAX_EXT_CHUNK", "MAX_ITEMS", "MAX_PACKET_BYTES",
    "MAX_PROPERTIES", "PACKET_OFFSET", "XMP_IDENT", "XMP_TOOLKIT",
    "AppleXmp", "ContainerItem", "ExtendedChunk", "ExtendedXmpChunk", "ExtendedXmpHeader", "HdrgmValue", "NsDecl",
    "XmpApp1", "XmpPacket", "assemble_extended", "build_extended_chunk", "build_gainmap_xmp", "build_primary_xmp",
    "ensure_primary_version", "new_packet", "packet_of", "parse_extended_chunk", "parse_xmp", "parse_xmp_packet",
    "set_container_directory", "set_hdrgm", "split_extended", "wrap_app1",
]
