"""PNG chunks (ISO/IEC 15948, PNG 3rd edition): what the HDR writer needs to tag a 16-bit PNG with ``cICP``.

A chunk on disk is a big-endian u32 ``length`` (of the data only), a 4-byte ``type``, ``length`` data bytes and a
CRC-32 over type and data.  ``length`` and ``crc`` are derived when building: a built chunk cannot disagree with
its data.
"""

from __future__ import annotations

import zlib

from construct import Bytes, Checksum, ConstructError, Container, Int8ub, Int32ub, Rebuild, Struct, len_, this

from gainmap.formats.located import Span, Spans, locate

SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: One chunk: derived length, type, data, CRC-32 of type + data.
Chunk = Struct(
    "length" / Rebuild(Int32ub, len_(this.data)),
    "type" / Bytes(4),
    "data" / Bytes(this.length),
    "crc" / Checksum(Int32ub, lambda b: zlib.crc32(b), lambda ctx: ctx.type + ctx.data),
)

#: The cICP payload (PNG 3rd edition 11.3.2.6): code points from ITU-T H.273.
Cicp = Struct(
    "colour_primaries" / Int8ub,
    "transfer_function" / Int8ub,
    "matrix_coefficients" / Int8ub,
    "video_full_range" / Int8ub,
)

#: A chunk as read: the stored CRC is kept, not verified (readers skip chunks they do not know).
_ChunkAsRead = Struct("length" / Int32ub, "type" / Bytes(4), "data" / Bytes(this.length), "crc" / Int32ub)
#: Bytes before a chunk's data: length and type.
_HEAD = 8


def chunks(data: bytes) -> list[tuple[bytes, int, bytes]]:
    """(type, offset, data) of a PNG's chunks up to IEND; stops quietly at a truncated chunk (CRC not checked)."""
    return [(c.type, where.offset, c.data) for c, where, _spans in located_chunks(data)]


def located_chunks(data: bytes) -> list[tuple[Container, Span, Spans]]:
    """Each chunk parsed (without CRC verification) with its span and its fields' spans, up to IEND."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    out: list[tuple[Container, Span, Spans]] = []
    pos = len(SIGNATURE)
    while pos + _HEAD <= len(data):
        try:
            value, spans = locate(_ChunkAsRead, data[pos:], base=pos)
        except ConstructError:
            break
        whole = spans["crc"].end - pos
        out.append((value, Span(pos, whole), spans))
        if value.type == b"IEND":
            break
        pos += whole
    return out


def chunk(ctype: bytes, payload: bytes) -> bytes:
    """One chunk: length, type, data, CRC-32 of type + data."""
    built: bytes = Chunk.build(dict(type=ctype, data=payload))
    return built


def add_cicp(png: bytes, primaries: int, transfer: int, matrix: int = 0, full_range: bool = True) -> bytes:
    """``png`` with a cICP chunk inserted right after IHDR (before PLTE/IDAT, as the specification requires)."""
    found = located_chunks(png)
    if not found or found[0][0].type != b"IHDR":
        raise ValueError("PNG does not start with IHDR")
    insert_at = found[0][1].end
    payload = Cicp.build(dict(colour_primaries=primaries, transfer_function=transfer,
                              matrix_coefficients=matrix, video_full_range=1 if full_range else 0))
    return png[:insert_at] + chunk(b"cICP", payload) + png[insert_at:]
