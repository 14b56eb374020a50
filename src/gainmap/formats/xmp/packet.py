"""XMP packet I/O in APP1: the standard payload and ExtendedXMP chunks (XMP Part 3, 1.1.3).

This module owns the byte layout of both payloads: :data:`XmpApp1` and :data:`ExtendedXmpHeader` are the
construct schemas, and every offset other code needs into them (:data:`PACKET_OFFSET`,
:data:`EXT_GUID_OFFSET`, :data:`EXT_FULL_LENGTH_OFFSET`, :data:`EXT_CHUNK_OFFSET_OFFSET`,
:data:`EXT_DATA_OFFSET`) is derived from those schemas, never written out by hand elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from construct import Bytes, Const, Construct, ConstructError, GreedyBytes, Int32ub, Struct

from gainmap.errors import Problem, SchemaError

XMP_IDENT = b"http://ns.adobe.com/xap/1.0/\x00"
EXT_XMP_IDENT = b"http://ns.adobe.com/xmp/extension/\x00"

#: Standard XMP APP1 payload.
XmpApp1 = Struct(
    "ident" / Const(XMP_IDENT),
    "packet" / GreedyBytes,
)

#: The fixed header of one ExtendedXMP APP1 payload (XMP Part 3, 1.1.3.1).
ExtendedXmpHeader = Struct(
    "ident" / Const(EXT_XMP_IDENT),
    "guid" / Bytes(32),  # MD5 of the whole extended packet, upper-case ASCII hex, no NUL
    "full_length" / Int32ub,  # length of the whole extended packet
    "chunk_offset" / Int32ub,  # where this chunk's data goes in it
)

#: One ExtendedXMP APP1 payload: the header, then this chunk's data.
ExtendedXmpChunk = Struct(
    *ExtendedXmpHeader.subcons,
    "data" / GreedyBytes,
)


def _field_offset(schema: Struct, name: str) -> int:
    """Offset of field ``name`` in a fixed-size Struct, from the sizes of the fields before it."""
    offset = 0
    for sub in schema.subcons:
        if sub.name == name:
            return offset
        offset += sub.sizeof()
    raise KeyError(name)


def _field_size(schema: Struct, name: str) -> int:
    sub: Construct = next(s for s in schema.subcons if s.name == name)
    return int(sub.sizeof())


#: Where the packet starts in a standard XMP APP1 payload.
PACKET_OFFSET = _field_offset(XmpApp1, "packet")
#: Offsets and sizes of the ExtendedXMP header fields within the APP1 payload.
EXT_GUID_OFFSET = _field_offset(ExtendedXmpHeader, "guid")
EXT_GUID_SIZE = _field_size(ExtendedXmpHeader, "guid")
EXT_FULL_LENGTH_OFFSET = _field_offset(ExtendedXmpHeader, "full_length")
EXT_FULL_LENGTH_SIZE = _field_size(ExtendedXmpHeader, "full_length")
EXT_CHUNK_OFFSET_OFFSET = _field_offset(ExtendedXmpHeader, "chunk_offset")
EXT_CHUNK_OFFSET_SIZE = _field_size(ExtendedXmpHeader, "chunk_offset")
#: Bytes of an ExtendedXMP payload before its chunk data (signature, GUID, full length, chunk offset).
EXT_DATA_OFFSET = int(ExtendedXmpHeader.sizeof())

#: Largest standard packet in one APP1 segment: 65533 - 29.
MAX_APP1_PACKET = 65533 - PACKET_OFFSET
#: Largest ExtendedXMP chunk data in one APP1 segment: 65533 - 35 - 32 - 8.
MAX_EXT_CHUNK = 65533 - EXT_DATA_OFFSET


@dataclass(frozen=True)
class ExtendedChunk:
    """One ExtendedXMP chunk: GUID, full packet length, this chunk's offset and data."""

    guid: str
    full_length: int
    chunk_offset: int
    data: bytes


def packet_of(payload: bytes) -> bytes:
    """The packet of a standard XMP APP1 payload (the bytes after :data:`XMP_IDENT`)."""
    return bytes(payload[PACKET_OFFSET:])


def wrap_app1(packet: bytes) -> bytes:
    """The APP1 payload for a standard packet; SchemaError if it does not fit one segment."""
    if len(packet) > MAX_APP1_PACKET:
        raise SchemaError(f"XMP packet of {len(packet)} bytes exceeds the {MAX_APP1_PACKET} bytes of one APP1 "
                          "segment (move properties to ExtendedXMP)")
    return bytes(XmpApp1.build(dict(packet=packet)))


def parse_extended_chunk(payload: bytes) -> ExtendedChunk:
    """Parse an ExtendedXMP APP1 payload; SchemaError if it is not one (wrong ident or header cut short)."""
    if not payload.startswith(EXT_XMP_IDENT):
        raise SchemaError("not an ExtendedXMP payload (identifier missing)", 0)
    if len(payload) < EXT_DATA_OFFSET:
        raise SchemaError(f"ExtendedXMP header needs {EXT_DATA_OFFSET} bytes, got {len(payload)}", len(payload))
    try:
        c = ExtendedXmpChunk.parse(payload)
    except ConstructError as exc:  # pragma: no cover - guarded by the checks above
        raise SchemaError(f"ExtendedXMP chunk: {exc}", 0) from exc
    return ExtendedChunk(c.guid.decode("latin-1"), c.full_length, c.chunk_offset, bytes(c.data))


def build_extended_chunk(chunk: ExtendedChunk) -> bytes:
    """The APP1 payload for one ExtendedXMP chunk."""
    guid = chunk.guid.encode("ascii", "replace")
    if len(guid) != EXT_GUID_SIZE:
        raise SchemaError(f"ExtendedXMP GUID must be {EXT_GUID_SIZE} ASCII characters, got {chunk.guid!r}")
    if len(chunk.data) > MAX_EXT_CHUNK:
        raise SchemaError(f"ExtendedXMP chunk data of {len(chunk.data)} bytes exceeds {MAX_EXT_CHUNK}")
    fields = dict(guid=guid, full_length=chunk.full_length, chunk_offset=chunk.chunk_offset, data=chunk.data)
    try:
        return bytes(ExtendedXmpChunk.build(fields))
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
            problems.append(Problem("xmp.extended.guid-mismatch", EXT_GUID_OFFSET, EXT_GUID_SIZE,
                                    f"chunk {index} has GUID {chunk.guid!r}, expected {expected_guid}; skipped"))
            continue
        if full_length is None:
            full_length = chunk.full_length
        elif chunk.full_length != full_length:
            problems.append(Problem("xmp.extended.length-mismatch", EXT_FULL_LENGTH_OFFSET, EXT_FULL_LENGTH_SIZE,
                                    f"chunk {index} says full length {chunk.full_length}, "
                                    f"earlier chunks {full_length}"))
            return None, problems
        parts.append((chunk.chunk_offset, index, chunk.data))
    if not parts or full_length is None:
        problems.append(Problem("xmp.extended.missing", 0, 0, f"no ExtendedXMP chunk with GUID {expected_guid}"))
        return None, problems
    if full_length == 0:
        problems.append(Problem("xmp.extended.empty", EXT_FULL_LENGTH_OFFSET, EXT_FULL_LENGTH_SIZE,
                                "ExtendedXMP full length is 0"))
        return None, problems
    parts.sort(key=lambda p: (p[0], p[1]))
    pieces: list[bytes] = []
    at = 0
    ok = True
    for offset, index, data in parts:
        where = EXT_CHUNK_OFFSET_OFFSET
        if offset > at:
            problems.append(Problem("xmp.extended.gap", where, EXT_CHUNK_OFFSET_SIZE,
                                    f"chunk {index} starts at {offset}, bytes {at}..{offset} are missing"))
            ok = False
        elif offset < at:
            problems.append(Problem("xmp.extended.overlap", where, EXT_CHUNK_OFFSET_SIZE,
                                    f"chunk {index} starts at {offset}, overlapping bytes up to {at}"))
            ok = False
        if offset + len(data) > full_length:
            problems.append(Problem("xmp.extended.overflow", EXT_DATA_OFFSET, len(data),
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
        problems.append(Problem("xmp.extended.md5", EXT_GUID_OFFSET, EXT_GUID_SIZE,
                                f"MD5 of the assembled ExtendedXMP is not the GUID {expected_guid}"))
        return None, problems
    return packet, problems
