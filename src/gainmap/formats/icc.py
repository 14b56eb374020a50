"""ICC profiles: the ICC_PROFILE APP2 chunks, profile inspection, and small matrix/TRC profile generation.

APP2 payload = ``b"ICC_PROFILE\\0"`` + u8 sequence number (1-based) + u8 chunk count + up to 65519 bytes.
A profile = 128-byte header + u32 tag count + 12-byte tag entries (signature, offset, size) + tag data.

Problem codes: ``icc.chunk-count`` ``icc.chunk-index`` ``icc.chunk-count-mismatch`` ``icc.chunk-duplicate``
``icc.chunk-missing`` (assembly; offsets 0, the caller maps them), ``icc.size`` ``icc.tag-count``
``icc.tag-bounds`` ``icc.tag-duplicate`` ``icc.tag-type`` ``icc.illuminant`` (profile-relative offsets).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from construct import (
    Array,
    Bytes,
    Const,
    ConstructError,
    GreedyBytes,
    Int8ub,
    Int16ub,
    Int32sb,
    Int32ub,
    Int64ub,
    Padding,
    Rebuild,
    Struct,
    len_,
    this,
)

from gainmap.errors import Problem, SchemaError

ICC_IDENT = b"ICC_PROFILE\x00"
ICC_HEADER_LEN = 128
MAX_CHUNK_DATA = 65519  # 65533 - 12 - 2

#: The PCS illuminant D50 as XYZ (ICC.1:2010 section 7.2.16) and its s15Fixed16 encoding, which ICC requires.
D50 = (0.9642, 1.0, 0.8249)
D50_RAW = (0x0000F6D6, 0x00010000, 0x0000D32D)
PARA_PARAM_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}

# ----------------------------------------------------------------------------------------------- schemas
IccChunkStruct = Struct("ident" / Const(ICC_IDENT), "seq" / Int8ub, "count" / Int8ub, "data" / GreedyBytes)

S15Fixed16 = Int32sb  # raw; value = raw / 65536

IccHeaderStruct = Struct(
    "size" / Int32ub,
    "cmm" / Bytes(4),
    "version_major" / Int8ub,
    "version_minor" / Int8ub,  # high nibble minor, low nibble bug-fix
    Padding(2),
    "device_class" / Bytes(4),
    "colour_space" / Bytes(4),
    "pcs" / Bytes(4),
    "date" / Array(6, Int16ub),
    "magic" / Const(b"acsp"),
    "platform" / Bytes(4),
    "flags" / Int32ub,
    "manufacturer" / Bytes(4),
    "model" / Int32ub,
    "attributes" / Int64ub,
    "intent" / Int32ub,
    "illuminant" / Array(3, S15Fixed16),
    "creator" / Bytes(4),
    "profile_id" / Bytes(16),
    Padding(28),
)

TagEntry = Struct("signature" / Bytes(4), "offset" / Int32ub, "size" / Int32ub)
TagTable = Struct("count" / Rebuild(Int32ub, len_(this.entries)), "entries" / Array(this.count, TagEntry))

XYZType = Struct("type" / Const(b"XYZ "), Padding(4), "xyz" / Array(3, S15Fixed16))
Sf32Type = Struct("type" / Const(b"sf32"), Padding(4), "numbers" / Array(9, S15Fixed16))
ParaType = Struct("type" / Const(b"para"), Padding(4), "function" / Int16ub, Padding(2),
                  "params" / Array(lambda ctx: PARA_PARAM_COUNTS.get(ctx.function, 0), S15Fixed16))
CurvType = Struct("type" / Const(b"curv"), Padding(4), "count" / Rebuild(Int32ub, len_(this.entries)),
                  "entries" / Array(this.count, Int16ub))
CicpType = Struct("type" / Const(b"cicp"), Padding(4), "primaries" / Int8ub, "transfer" / Int8ub,
                  "matrix" / Int8ub, "full_range" / Int8ub)
MlucRecord = Struct("language" / Bytes(2), "country" / Bytes(2), "length" / Int32ub, "offset" / Int32ub)
MlucHead = Struct("type" / Const(b"mluc"), Padding(4), "count" / Rebuild(Int32ub, len_(this.records)),
                  "record_size" / Const(12, Int32ub), "records" / Array(this.count, MlucRecord))
TextDescHead = Struct("type" / Const(b"desc"), Padding(4), "length" / Int32ub)


def _fixed(value: float) -> int:
    return int(round(value * 65536.0))


# ----------------------------------------------------------------------------------------------- APP2 chunks
@dataclass(frozen=True)
class IccChunk:
    seq: int
    count: int
    data: bytes


def parse_icc_chunk(payload: bytes) -> IccChunk:
    """One ICC_PROFILE APP2 payload; SchemaError when it is not one."""
    if bytes(payload[:len(ICC_IDENT)]) != ICC_IDENT:
        raise SchemaError("payload does not start with 'ICC_PROFILE\\0'", 0)
    if len(payload) < len(ICC_IDENT) + 2:
        raise SchemaError("ICC_PROFILE payload too short for its sequence fields", len(ICC_IDENT))
    c = IccChunkStruct.parse(bytes(payload))
    return IccChunk(c.seq, c.count, c.data)


def build_icc_chunk(chunk: IccChunk) -> bytes:
    try:
        built: bytes = IccChunkStruct.build(dict(seq=chunk.seq, count=chunk.count, data=chunk.data))
        return built
    except ConstructError as exc:
        raise SchemaError(f"cannot build ICC chunk: {exc}") from exc


def split_profile(profile: bytes, max_data: int = MAX_CHUNK_DATA) -> list[bytes]:
    """The APP2 payloads carrying ``profile`` (at most 255 chunks of ``max_data`` bytes)."""
    if not profile:
        raise SchemaError("cannot embed an empty ICC profile")
    if not 1 <= max_data <= MAX_CHUNK_DATA:
        raise SchemaError(f"chunk data size must be 1..{MAX_CHUNK_DATA}")
    pieces = [profile[i:i + max_data] for i in range(0, len(profile), max_data)]
    if len(pieces) > 255:
        raise SchemaError(f"ICC profile of {len(profile)} bytes needs more than 255 chunks")
    return [build_icc_chunk(IccChunk(i + 1, len(pieces), p)) for i, p in enumerate(pieces)]


def assemble_icc(chunks: list[IccChunk]) -> tuple[bytes | None, list[Problem]]:
    """Reassemble in sequence order with Skia's rules; any violation gives no profile (as in Skia)."""
    problems: list[Problem] = []
    if not chunks:
        return None, problems
    expected = chunks[0].count
    by_seq: dict[int, bytes] = {}
    for i, c in enumerate(chunks):
        if c.count == 0:
            problems.append(Problem("icc.chunk-count", 0, 0, f"ICC chunk #{i} declares a chunk count of 0"))
        elif c.count != expected:
            problems.append(Problem("icc.chunk-count-mismatch", 0, 0,
                                    f"ICC chunk #{i} declares {c.count} chunks, the first said {expected}"))
        if c.seq == 0 or c.seq > c.count:
            problems.append(Problem("icc.chunk-index", 0, 0,
                                    f"ICC chunk #{i} has sequence number {c.seq} outside 1..{c.count}"))
        elif c.seq in by_seq:
            problems.append(Problem("icc.chunk-duplicate", 0, 0, f"ICC chunk number {c.seq} appears twice"))
        else:
            by_seq[c.seq] = c.data
    missing = [n for n in range(1, expected + 1) if n not in by_seq]
    if missing and expected:
        problems.append(Problem("icc.chunk-missing", 0, 0,
                                f"ICC chunks {missing[:10]} of {expected} are missing"))
    if problems:
        return None, problems
    return b"".join(by_seq[n] for n in range(1, expected + 1)), problems


# ----------------------------------------------------------------------------------------------- inspection
def _sig(raw: bytes) -> str:
    return raw.decode("latin-1")


@dataclass(frozen=True)
class IccHeader:
    size: int
    cmm: str
    version: tuple[int, int]
    device_class: str
    colour_space: str
    pcs: str
    date: tuple[int, ...]
    platform: str
    flags: int
    manufacturer: str
    model: int
    attributes: int
    intent: int
    illuminant: tuple[float, float, float]
    creator: str
    profile_id: bytes


XYZ = tuple[float, float, float]


@dataclass(frozen=True)
class IccColorants:
    """The rXYZ, gXYZ, bXYZ, wtpt and chad tags of a matrix/TRC profile, as stored: colorants relative to the
    D50 PCS, the media white, and the chromatic adaptation matrix (rows) when the profile has one."""

    red: XYZ
    green: XYZ
    blue: XYZ
    white: XYZ | None = None
    chad: tuple[XYZ, XYZ, XYZ] | None = None


@dataclass
class IccProfile:
    header: IccHeader
    tags: dict[str, bytes] = field(default_factory=dict)
    description: str | None = None
    red_xyz: XYZ | None = None
    green_xyz: XYZ | None = None
    blue_xyz: XYZ | None = None
    white_xyz: XYZ | None = None
    chad: tuple[XYZ, XYZ, XYZ] | None = None
    cicp: tuple[int, int, int, int] | None = None
    #: rTRC/gTRC/bTRC: ("para", (function, params...)) | ("curv", (gamma,)) | ("curv-table", (n,)) | (type, ()).
    curves: dict[str, tuple[str, tuple[float, ...]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_matrix_rgb(self) -> bool:
        return None not in (self.red_xyz, self.green_xyz, self.blue_xyz)

    @property
    def colorants(self) -> IccColorants | None:
        """The colorant tags as stored (matrix/TRC profiles only); :func:`gainmap.hdr.color.native_primaries`
        interprets them."""
        if self.red_xyz is None or self.green_xyz is None or self.blue_xyz is None:
            return None
        return IccColorants(self.red_xyz, self.green_xyz, self.blue_xyz, self.white_xyz, self.chad)


def parse_icc_profile(profile: bytes) -> IccProfile:
    """Inspect a profile tolerantly; SchemaError only without a complete header and 'acsp' signature."""
    profile = bytes(profile)
    if len(profile) < ICC_HEADER_LEN + 4:
        raise SchemaError(f"ICC profile too short ({len(profile)} bytes) for its header and tag count", 0)
    try:
        h = IccHeaderStruct.parse(profile[:ICC_HEADER_LEN])
    except ConstructError as exc:
        raise SchemaError("not an ICC profile (no 'acsp' signature at offset 36)", 36) from exc
    header = IccHeader(
        size=h.size, cmm=_sig(h.cmm), version=(h.version_major, h.version_minor >> 4),
        device_class=_sig(h.device_class), colour_space=_sig(h.colour_space), pcs=_sig(h.pcs),
        date=tuple(h.date), platform=_sig(h.platform), flags=h.flags, manufacturer=_sig(h.manufacturer),
        model=h.model, attributes=h.attributes, intent=h.intent,
        illuminant=tuple(v / 65536.0 for v in h.illuminant), creator=_sig(h.creator), profile_id=h.profile_id)
    result = IccProfile(header=header)
    problems = result.problems
    if header.size != len(profile):
        problems.append(Problem("icc.size", 0, 4, f"header size {header.size} != {len(profile)} bytes present"))
    if tuple(h.illuminant) != D50_RAW:
        problems.append(Problem("icc.illuminant", 68, 12,
                                f"PCS illuminant {' '.join(f'{v:08X}' for v in h.illuminant)} is not the D50 "
                                f"encoding {' '.join(f'{v:08X}' for v in D50_RAW)}"))
    limit = min(header.size, len(profile)) if header.size >= ICC_HEADER_LEN else len(profile)
    count = Int32ub.parse(profile[ICC_HEADER_LEN:ICC_HEADER_LEN + 4])
    fits = (len(profile) - ICC_HEADER_LEN - 4) // 12
    if count > fits:
        problems.append(Problem("icc.tag-count", ICC_HEADER_LEN, 4,
                                f"tag table declares {count} tags but only {fits} fit"))
    for i in range(min(count, fits)):
        pos = ICC_HEADER_LEN + 4 + 12 * i
        e = TagEntry.parse(profile[pos:pos + 12])
        sig = _sig(e.signature)
        if e.offset + e.size > limit or e.offset < ICC_HEADER_LEN:
            problems.append(Problem("icc.tag-bounds", pos, 12,
                                    f"tag '{sig}' ({e.size} bytes at {e.offset}) lies outside the profile"))
            continue
        if sig in result.tags:
            problems.append(Problem("icc.tag-duplicate", pos, 12, f"tag '{sig}' appears twice"))
            continue
        result.tags[sig] = profile[e.offset:e.offset + e.size]
    _decode_tags(result)
    return result


def _decode_tags(result: IccProfile) -> None:
    tags = result.tags

    def bad(sig: str, what: str) -> None:
        result.problems.append(Problem("icc.tag-type", 0, 0, f"tag '{sig}': {what}"))

    for sig, attr in (("rXYZ", "red_xyz"), ("gXYZ", "green_xyz"), ("bXYZ", "blue_xyz"), ("wtpt", "white_xyz")):
        if sig in tags:
            try:
                values = XYZType.parse(tags[sig]).xyz
                setattr(result, attr, tuple(v / 65536.0 for v in values))
            except ConstructError:
                bad(sig, "not an XYZType")
    if "chad" in tags:
        try:
            m = [v / 65536.0 for v in Sf32Type.parse(tags["chad"]).numbers]
            result.chad = (tuple(m[0:3]), tuple(m[3:6]), tuple(m[6:9]))
        except ConstructError:
            bad("chad", "not an s15Fixed16ArrayType of 9 values")
    if "cicp" in tags:
        try:
            c = CicpType.parse(tags["cicp"])
            result.cicp = (c.primaries, c.transfer, c.matrix, c.full_range)
        except ConstructError:
            bad("cicp", "not a cicpType")
    for sig in ("rTRC", "gTRC", "bTRC"):
        if sig in tags:
            result.curves[sig] = _decode_curve(tags[sig])
    if "desc" in tags:
        result.description = _decode_text(tags["desc"])
        if result.description is None:
            bad("desc", "neither textDescriptionType nor multiLocalizedUnicodeType")


def _decode_curve(data: bytes) -> tuple[str, tuple[float, ...]]:
    kind = data[:4].decode("latin-1")
    try:
        if kind == "para":
            p = ParaType.parse(data)
            if p.function in PARA_PARAM_COUNTS:
                return "para", (float(p.function), *(v / 65536.0 for v in p.params))
        elif kind == "curv":
            count = Int32ub.parse(data[8:12])
            if count == 0:
                return "curv", (1.0,)
            if count == 1:
                return "curv", (Int16ub.parse(data[12:14]) / 256.0,)
            if 12 + 2 * count <= len(data):
                return "curv-table", (float(count),)
    except ConstructError:
        pass
    return kind, ()


def _decode_text(data: bytes) -> str | None:
    kind = data[:4]
    try:
        if kind == b"desc":
            n = TextDescHead.parse(data).length
            return data[12:12 + n].split(b"\x00", 1)[0].decode("latin-1")
        if kind == b"mluc":
            head = MlucHead.parse(data)
            if not head.records:
                return ""
            rec = next((r for r in head.records if r.language == b"en" and r.country == b"US"), head.records[0])
            if rec.offset + rec.length > len(data):
                return None
            return data[rec.offset:rec.offset + rec.length].decode("utf-16-be", "replace").rstrip("\x00")
    except (ConstructError, ValueError):
        return None
    return None


# ----------------------------------------------------------------------------------------------- building
def _xyz_tag(xyz: XYZ) -> bytes:
    built: bytes = XYZType.build(dict(xyz=[_fixed(v) for v in xyz]))
    return built


def _mluc_tag(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    head: bytes = MlucHead.build(dict(records=[dict(language=b"en", country=b"US", length=len(encoded), offset=28)]))
    return head + encoded


def build_matrix_profile(description: str, colorants: IccColorants, curve: tuple[int, tuple[float, ...]],
                         copyright_text: str = "No copyright, use freely") -> bytes:
    """A small ICC v4.3 matrix/TRC display profile: ``colorants`` (PCS-relative XYZ, ``white`` and ``chad``
    as they should be stored), one ``para`` curve ``(function, params)`` shared by rTRC/gTRC/bTRC, mluc text.

    The colour science (which colorants and chad a colour space has) is :func:`gainmap.hdr.color.icc_colorants`.
    """
    if "\x00" in description or "\x00" in copyright_text:
        raise ValueError("ICC text tags cannot contain NUL characters (readers stop at the first one)")
    function, params = curve
    if PARA_PARAM_COUNTS.get(function) != len(params):
        raise ValueError(f"para curve function {function} takes {PARA_PARAM_COUNTS.get(function)} parameters")
    para = ParaType.build(dict(function=function, params=[_fixed(v) for v in params]))
    elements: list[tuple[str, bytes]] = [("desc", _mluc_tag(description)), ("cprt", _mluc_tag(copyright_text))]
    if colorants.white is not None:
        elements.append(("wtpt", _xyz_tag(colorants.white)))
    if colorants.chad is not None:
        elements.append(("chad", Sf32Type.build(dict(numbers=[_fixed(v) for row in colorants.chad for v in row]))))
    elements += [("rXYZ", _xyz_tag(colorants.red)), ("gXYZ", _xyz_tag(colorants.green)),
                 ("bXYZ", _xyz_tag(colorants.blue)), ("rTRC", para), ("gTRC", para), ("bTRC", para)]
    data = bytearray()
    entries = []
    placed: dict[bytes, int] = {}
    start = ICC_HEADER_LEN + 4 + 12 * len(elements)
    for sig, blob in elements:
        if blob not in placed:  # r/g/bTRC share one curve, as Apple's profiles do
            placed[blob] = start + len(data)
            data += blob + b"\x00" * (-len(blob) % 4)
        entries.append(dict(signature=sig.encode("latin-1"), offset=placed[blob], size=len(blob)))
    table = TagTable.build(dict(entries=entries))
    size = ICC_HEADER_LEN + len(table) + len(data)
    header = IccHeaderStruct.build(dict(
        size=size, cmm=b"\x00" * 4, version_major=4, version_minor=0x30, device_class=b"mntr",
        colour_space=b"RGB ", pcs=b"XYZ ", date=[2024, 1, 1, 0, 0, 0], platform=b"\x00" * 4, flags=0,
        manufacturer=b"\x00" * 4, model=0, attributes=0, intent=0, illuminant=list(D50_RAW),
        creator=b"\x00" * 4, profile_id=b"\x00" * 16))
    profile = bytearray(header + table + data)
    profile[84:100] = hashlib.md5(bytes(profile)).digest()  # flags, intent and id are already 0
    return bytes(profile)
