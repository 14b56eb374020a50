"""ISO 21496-1 gain-map metadata in APP2 (payload = URN + GainMapMetadata, big-endian).

Three layouts, told apart by the payload LENGTH after the URN (formats.md §3):

* version-only, 4 bytes: u16 minimum_version, u16 writer_version (the primary's "gain map present" signal);
* full, 61 / 141 bytes (1 / 3 channels by flag bit 7): N/D pairs, whatever flag bit 3 says;
* legacy compact (libultrahdr <= 2.0.2), 37 / 77 bytes with flag bit 3: one common denominator.

:func:`read` returns an :class:`IsoRecord` whose ``spans`` locate every field (``span(record,
"channels[1].gain_map_max")``); :func:`build` writes one back.  Problems (at the spans of their fields):
``iso.min-version`` ``iso.writer-version`` ``iso.reserved-flags`` ``iso.legacy-compact`` ``iso.legacy-backward``
``iso.zero-denominator`` ``iso.length`` (too short for its layout) ``iso.trailing-bytes`` (bytes after a complete
block while writer_version is 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from construct import (
    Array,
    Const,
    ConstructError,
    Container,
    Int8ub,
    Int16ub,
    Int32sb,
    Int32ub,
    Rebuild,
    Struct,
)

from gainmap.errors import Problem, SchemaError
from gainmap.formats.located import Span, Spans, field_construct, locate, span
from gainmap.metadata import GainMapMetadata, MetadataConversionError, to_fraction

ISO_URN = b"urn:iso:std:iso:ts:21496:-1\x00"
URN_LEN = len(ISO_URN)

FLAG_MULTICHANNEL = 0x80
FLAG_USE_BASE_COLOUR_SPACE = 0x40
FLAG_LEGACY_COMMON_DENOMINATOR = 0x08
FLAG_LEGACY_BACKWARD = 0x04
RESERVED_MASK = 0x3F

CHANNEL_FIELDS = ("gain_map_min", "gain_map_max", "gamma", "base_offset", "alternate_offset")
SIGNED = {"gain_map_min": True, "gain_map_max": True, "gamma": False, "base_offset": True,
          "alternate_offset": True}

# ----------------------------------------------------------------------------------------------- schemas
SignedFraction = Struct("n" / Int32sb, "d" / Int32ub)
UnsignedFraction = Struct("n" / Int32ub, "d" / Int32ub)

VersionBlock = Struct("minimum_version" / Int16ub, "writer_version" / Int16ub)
#: The version fields and the flags byte: what a block too short for its layout still says.
FlagsPrefix = Struct("minimum_version" / Int16ub, "writer_version" / Int16ub, "flags" / Int8ub)

FullChannel = Struct(*(name / (SignedFraction if SIGNED[name] else UnsignedFraction) for name in CHANNEL_FIELDS))
FullHeader = Struct(
    "minimum_version" / Int16ub,
    "writer_version" / Int16ub,
    "flags" / Int8ub,
    "base_hdr_headroom" / UnsignedFraction,
    "alternate_hdr_headroom" / UnsignedFraction,
)


def _channel_count(ctx: Container) -> int:
    return 3 if ctx.flags & FLAG_MULTICHANNEL else 1


def _full_flags(ctx: Container) -> int:
    """Flags as written: bit 7 from the channel count, legacy bit 3 cleared."""
    multi = FLAG_MULTICHANNEL if len(ctx.channels) == 3 else 0
    return (int(ctx.flags) & ~(FLAG_MULTICHANNEL | FLAG_LEGACY_COMMON_DENOMINATOR) & 0xFF) | multi


#: The full layout (ISO 21496-1 C.2.2): 61 bytes (1 channel) or 141 (3 channels).
FullMetadata = Struct(
    "minimum_version" / Int16ub,
    "writer_version" / Int16ub,
    "flags" / Rebuild(Int8ub, _full_flags),
    "base_hdr_headroom" / UnsignedFraction,
    "alternate_hdr_headroom" / UnsignedFraction,
    "channels" / Array(_channel_count, FullChannel),
)

CompactChannel = Struct("gain_map_min" / Int32sb, "gain_map_max" / Int32sb, "gamma" / Int32ub,
                        "base_offset" / Int32sb, "alternate_offset" / Int32sb)
CompactHeader = Struct(
    "minimum_version" / Int16ub,
    "writer_version" / Int16ub,
    "flags" / Int8ub,
    "denominator" / Int32ub,
    "base_hdr_headroom" / Int32ub,
    "alternate_hdr_headroom" / Int32ub,
)
#: The legacy compact layout (flag bit 3, libultrahdr <= 2.0.2): 37 or 77 bytes.  Repair never writes it.
CompactMetadata = Struct(*CompactHeader.subcons, "channels" / Array(_channel_count, CompactChannel))

#: The whole version-only payload, URN included.
VersionPayload = Struct("urn" / Const(ISO_URN), "version" / VersionBlock)

FULL_HEADER_LEN, FULL_CHANNEL_LEN = int(FullHeader.sizeof()), int(FullChannel.sizeof())  # 21, 40
COMPACT_HEADER_LEN, COMPACT_CHANNEL_LEN = int(CompactHeader.sizeof()), int(CompactChannel.sizeof())  # 17, 20


def full_length(channels: int) -> int:
    """Bytes after the URN of the full layout (61 or 141)."""
    return FULL_HEADER_LEN + FULL_CHANNEL_LEN * channels


def compact_length(channels: int) -> int:
    """Bytes after the URN of the legacy compact layout (37 or 77)."""
    return COMPACT_HEADER_LEN + COMPACT_CHANNEL_LEN * channels


# ----------------------------------------------------------------------------------------------- record
Fraction = tuple[int, int]


@dataclass
class IsoRecord:
    """One ISO 21496-1 block; fractions are (numerator, denominator) as stored.

    ``spans`` locates every field read (``urn``, ``minimum_version``, ``flags``, ``base_hdr_headroom.d``,
    ``channels[1].gain_map_max``, ``metadata`` for all bytes after the URN, ``trailing``), taken from the
    schema by :func:`~gainmap.formats.located.locate`; absolute when :func:`read` was given the payload's
    offset, payload-relative otherwise.  In the legacy compact layout a value's span is its 4-byte numerator
    and ``denominator`` is the common one.  Spans say where values came from; they take no part in equality.
    """

    minimum_version: int = 0
    writer_version: int = 0
    flags: int | None = None
    base_hdr_headroom: Fraction | None = None
    alternate_hdr_headroom: Fraction | None = None
    channels: list[dict[str, Fraction]] = field(default_factory=list)
    layout: str = "version-only"
    trailing: bytes = b""
    problems: list[Problem] = field(default_factory=list)
    spans: Spans = field(default_factory=Spans, compare=False, repr=False)

    @property
    def is_multichannel(self) -> bool:
        return bool((self.flags or 0) & FLAG_MULTICHANNEL)

    @property
    def use_base_colour_space(self) -> bool:
        return bool((self.flags or 0) & FLAG_USE_BASE_COLOUR_SPACE)

    @property
    def reserved_bits(self) -> int:
        return (self.flags or 0) & RESERVED_MASK

    @property
    def legacy_backward_direction(self) -> bool:
        return bool((self.flags or 0) & FLAG_LEGACY_BACKWARD)

    def problem(self, code: str, path: str, message: str) -> None:
        """Record a problem at the bytes of field ``path``."""
        where = span(self.spans, path)
        self.problems.append(Problem(code, where.offset, where.length, message))


# ----------------------------------------------------------------------------------------------- parse
def _full_prefix(channels: int) -> Struct:
    """The full layout's header and its first ``channels`` complete channels (a block cut short)."""
    return Struct(*FullHeader.subcons, "channels" / Array(channels, FullChannel))


def _fraction(value: Container) -> Fraction:
    return (value.n, value.d)


def read(payload: bytes, base_offset: int = 0) -> IsoRecord:
    """Parse an ISO 21496-1 APP2 payload (starting with the URN) tolerantly.

    ``base_offset`` is the payload's absolute offset in the file: the record's spans and its problems'
    offsets are absolute then (payload-relative with the default 0).  SchemaError when the payload is not an
    ISO block or too short for its version fields; every other fault is a :class:`Problem` on the record.
    """
    payload = bytes(payload)
    if not payload.startswith(ISO_URN):
        raise SchemaError("payload does not start with the ISO 21496-1 URN", base_offset)
    body = payload[URN_LEN:]
    if len(body) < 4:
        raise SchemaError(f"ISO 21496-1 block too short for its version fields ({len(body)} bytes)",
                          base_offset + URN_LEN)
    at = base_offset + URN_LEN
    versions, located = locate(VersionBlock, body[:4], base=at)
    spans = Spans(urn=Span(base_offset, URN_LEN), metadata=after_urn(payload, base_offset))
    spans.update(located)
    record = IsoRecord(versions.minimum_version, versions.writer_version, spans=spans)
    if record.minimum_version != 0:
        record.problem("iso.min-version", "minimum_version",
                       f"minimum_version {record.minimum_version} is not 0: readers must skip it")
    if record.writer_version < record.minimum_version:
        record.problem("iso.writer-version", "writer_version",
                       f"writer_version {record.writer_version} < minimum_version {record.minimum_version}")
    if len(body) == 4:
        return record
    head, located = locate(FlagsPrefix, body[:5], base=at)
    spans.update(located)
    flags = record.flags = head.flags
    channels = 3 if flags & FLAG_MULTICHANNEL else 1
    if flags & FLAG_LEGACY_COMMON_DENOMINATOR and len(body) == compact_length(channels):
        record.layout = "compact"
        record.problem("iso.legacy-compact", "flags",
                       "legacy compact layout (flag bit 3, one common denominator) written by libultrahdr <= "
                       "2.0.2; Skia, libavif and MediaInfo misread it")
        _read_compact(record, body, at)
    else:
        record.layout = "full"
        _read_full(record, body, at, channels)
    reserved = flags & RESERVED_MASK & ~FLAG_LEGACY_BACKWARD
    if record.layout == "compact":
        reserved &= ~FLAG_LEGACY_COMMON_DENOMINATOR
    if reserved:
        record.problem("iso.reserved-flags", "flags", f"reserved flag bits 0x{reserved:02X} set (bits 5..0 must be 0)")
    if flags & FLAG_LEGACY_BACKWARD:
        record.problem("iso.legacy-backward", "flags",
                       "flag bit 2 (legacy backward_direction) set: libultrahdr rejects the block")
    return record


def _read_full(record: IsoRecord, body: bytes, at: int, channels: int) -> None:
    expected = full_length(channels)
    if len(body) >= expected:
        parsed, located = locate(FullMetadata, body[:expected], base=at)
    else:
        record.problem("iso.length", "metadata", f"{len(body)} bytes after the URN: too short for the "
                                                 f"{channels}-channel full layout ({expected})")
        if len(body) < FULL_HEADER_LEN:
            return
        complete = min((len(body) - FULL_HEADER_LEN) // FULL_CHANNEL_LEN, channels)
        parsed, located = locate(_full_prefix(complete), body, base=at)
    record.spans.update(located)
    record.base_hdr_headroom = _fraction(parsed.base_hdr_headroom)
    record.alternate_hdr_headroom = _fraction(parsed.alternate_hdr_headroom)
    record.channels = [{name: _fraction(c[name]) for name in CHANNEL_FIELDS} for c in parsed.channels]
    if len(body) > expected:
        record.trailing = body[expected:]
        record.spans.add("trailing", at + expected, len(record.trailing))
        if record.writer_version == 0:
            record.problem("iso.trailing-bytes", "trailing", f"{len(record.trailing)} bytes after the "
                                                             f"{channels}-channel block (writer_version 0 allows none)")
    _check_denominators(record)


def _read_compact(record: IsoRecord, body: bytes, at: int) -> None:
    parsed, located = locate(CompactMetadata, body, base=at)
    record.spans.update(located)
    d = parsed.denominator
    record.base_hdr_headroom = (parsed.base_hdr_headroom, d)
    record.alternate_hdr_headroom = (parsed.alternate_hdr_headroom, d)
    record.channels = [{name: (c[name], d) for name in CHANNEL_FIELDS} for c in parsed.channels]
    if d == 0:
        record.problem("iso.zero-denominator", "denominator", "common denominator is 0")


def _check_denominators(record: IsoRecord) -> None:
    for name in ("base_hdr_headroom", "alternate_hdr_headroom"):
        value = getattr(record, name)
        if value is not None and value[1] == 0:
            record.problem("iso.zero-denominator", f"{name}.d", f"{name} denominator is 0")
    for i, channel in enumerate(record.channels):
        for name in CHANNEL_FIELDS:
            if channel[name][1] == 0:
                record.problem("iso.zero-denominator", f"channels[{i}].{name}.d",
                               f"channel {i} {name} denominator is 0")


def after_urn(payload: bytes, base_offset: int = 0) -> Span:
    """Where the bytes after the URN lie (the GainMapMetadata, however short)."""
    return Span(base_offset + URN_LEN, max(len(payload) - URN_LEN, 0))


#: The names the model, repair and assembler call (the model caches one payload-relative record per payload).
parse_iso = read


# ----------------------------------------------------------------------------------------------- build
def version_block(minimum_version: int = 0, writer_version: int = 0) -> bytes:
    """The primary's version-only payload: URN + u16 minimum_version + u16 writer_version."""
    return bytes(VersionPayload.build(dict(version=dict(minimum_version=minimum_version,
                                                  writer_version=writer_version))))


def build(record: IsoRecord) -> bytes:
    """Version-only or FULL payload (a compact record is written as full N/D pairs, bit 3 cleared)."""
    if record.layout == "version-only" or record.flags is None:
        try:
            return version_block(record.minimum_version, record.writer_version)
        except ConstructError as exc:
            raise SchemaError(f"cannot build ISO 21496-1 version block: {exc}") from exc
    if len(record.channels) not in (1, 3):
        raise SchemaError(f"ISO 21496-1 needs 1 or 3 channels, got {len(record.channels)}")
    if record.base_hdr_headroom is None or record.alternate_hdr_headroom is None:
        raise SchemaError("ISO 21496-1 record lacks its headrooms")

    def frac(value: Fraction) -> dict[str, int]:
        return dict(n=value[0], d=value[1])

    obj = dict(
        minimum_version=record.minimum_version,
        writer_version=record.writer_version,
        flags=record.flags,
        base_hdr_headroom=frac(record.base_hdr_headroom),
        alternate_hdr_headroom=frac(record.alternate_hdr_headroom),
        channels=[{name: frac(c[name]) for name in CHANNEL_FIELDS} for c in record.channels],
    )
    try:
        return ISO_URN + bytes(FullMetadata.build(obj)) + record.trailing
    except (ConstructError, KeyError, TypeError) as exc:
        raise SchemaError(f"cannot build ISO 21496-1 block: {exc}") from exc


build_iso = build


def build_compact(record: IsoRecord) -> bytes:
    """The legacy compact payload (libultrahdr <= 2.0.2; flag bit 3 set, the fractions' one common
    denominator written once).  For fixtures and tests; repair never writes it."""
    if record.flags is None or record.base_hdr_headroom is None or record.alternate_hdr_headroom is None:
        raise SchemaError("a compact ISO 21496-1 block needs flags and headrooms")
    fractions = [record.base_hdr_headroom, record.alternate_hdr_headroom,
                 *(c[name] for c in record.channels for name in CHANNEL_FIELDS)]
    denominators = {d for _, d in fractions}
    if len(denominators) != 1:
        raise SchemaError(f"the compact layout has one common denominator; the record has {sorted(denominators)}")
    (d,) = denominators
    obj = dict(minimum_version=record.minimum_version, writer_version=record.writer_version,
               flags=record.flags | FLAG_LEGACY_COMMON_DENOMINATOR, denominator=d,
               base_hdr_headroom=record.base_hdr_headroom[0], alternate_hdr_headroom=record.alternate_hdr_headroom[0],
               channels=[{name: c[name][0] for name in CHANNEL_FIELDS} for c in record.channels])
    try:
        return ISO_URN + bytes(CompactMetadata.build(obj))
    except (ConstructError, KeyError, TypeError) as exc:
        raise SchemaError(f"cannot build compact ISO 21496-1 block: {exc}") from exc


def encode_field(record: IsoRecord, path: str, value: int) -> bytes:
    """The bytes that store ``value`` in field ``path`` of ``record``'s layout (for in-place edits at
    ``span(record, path)``): ``"flags"``, ``"base_hdr_headroom.d"``, ``"channels[2].gamma.n"``..."""
    schema = {"compact": CompactMetadata, "full": FullMetadata}.get(record.layout, VersionBlock)
    try:
        return bytes(field_construct(schema, path).build(value))
    except ConstructError as exc:
        raise SchemaError(f"ISO 21496-1 {path} cannot hold {value}: {exc}") from exc


# ----------------------------------------------------------------------------------------------- conversion
def _value(fraction: Fraction | None, name: str) -> float:
    if fraction is None:
        raise MetadataConversionError(f"ISO 21496-1 record lacks {name}")
    n, d = fraction
    if d == 0:
        raise MetadataConversionError(f"ISO 21496-1 {name} has denominator 0")
    return n / d


def iso_to_metadata(record: IsoRecord) -> GainMapMetadata:
    """The canonical metadata of a full (or compact) record."""
    if record.layout == "version-only" or record.flags is None:
        raise MetadataConversionError("a version-only ISO 21496-1 block carries no gain-map parameters")
    if len(record.channels) not in (1, 3):
        raise MetadataConversionError(f"ISO 21496-1 record has {len(record.channels)} complete channels")
    values = {name: tuple(_value(c[name], f"channel {i} {name}") for i, c in enumerate(record.channels))
              for name in CHANNEL_FIELDS}
    return GainMapMetadata(
        **values,
        base_hdr_headroom=_value(record.base_hdr_headroom, "base_hdr_headroom"),
        alternate_hdr_headroom=_value(record.alternate_hdr_headroom, "alternate_hdr_headroom"),
        use_base_colour_space=record.use_base_colour_space,
        source="iso",
    )


def metadata_to_iso(md: GainMapMetadata, writer_version: int = 0) -> IsoRecord:
    """A full-layout record: 3 channels when ``md.is_multichannel`` else 1; headrooms and gamma unsigned."""
    n = 3 if md.is_multichannel else 1
    channels = [{name: to_fraction(v, signed=SIGNED[name]) for name, v in zip(CHANNEL_FIELDS, values, strict=True)}
                for values in md.channels(n)]
    flags = (FLAG_USE_BASE_COLOUR_SPACE if md.use_base_colour_space else 0) | (FLAG_MULTICHANNEL if n == 3 else 0)
    return IsoRecord(
        minimum_version=0,
        writer_version=writer_version,
        flags=flags,
        base_hdr_headroom=to_fraction(md.base_hdr_headroom, signed=False),
        alternate_hdr_headroom=to_fraction(md.alternate_hdr_headroom, signed=False),
        channels=channels,
        layout="full",
    )


__all__ = [
    "ISO_URN", "IsoRecord", "read", "after_urn", "build", "build_compact", "encode_field", "parse_iso", "build_iso", "version_block", "iso_to_metadata", "metadata_to_iso",
    "FullMetadata", "CompactMetadata", "VersionBlock", "VersionPayload", "full_length", "compact_length",
]
