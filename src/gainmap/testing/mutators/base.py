"""The mutator registry and what every family shares: :class:`Target` (a valid file to break), the
:class:`Mutation` a mutator returns, :func:`mutator` to register one, and small byte-editing helpers that take
their positions from located records (:class:`~gainmap.formats.located.Span`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from construct import Construct, ConstructError

from gainmap.formats import iso21496, mpf
from gainmap.formats.located import Span, Spans, field_construct, locate, span
from gainmap.formats.scanner import Segment
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.reader import read


class NotApplicable(Exception):
    """The file lacks the structure this mutator breaks."""


@dataclass(frozen=True)
class Mutation:
    """A mutated file, the mutator that made it, and the finding ids our validator reports for it."""

    name: str
    data: bytes
    expected: frozenset[str] = field(default_factory=frozenset)
    note: str = ""


MutatorFn = Callable[["Target", random.Random], tuple[bytes, Iterable[str], str]]


@dataclass(frozen=True)
class Mutator:
    """A registered mutator: ``name``, the function, the family of structure it hits, and its doc line."""

    name: str
    fn: MutatorFn
    family: str
    doc: str

    def __call__(self, data: bytes, rng: random.Random | int | None = None) -> Mutation:
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        out, ids, note = self.fn(Target(data), rng)
        return Mutation(self.name, bytes(out), frozenset(ids), note)


#: Every registered mutator by name, in registration order (the family modules' import order).
MUTATORS: dict[str, Mutator] = {}


def mutator(name: str, family: str) -> Callable[[MutatorFn], MutatorFn]:
    def register(fn: MutatorFn) -> MutatorFn:
        MUTATORS[name] = Mutator(name, fn, family, (fn.__doc__ or "").strip().splitlines()[0])
        return fn
    return register


# ---------------------------------------------------------------------------------------------- target
class Target:
    """A valid file to break: its bytes and a parsed model (re-read on demand for model edits)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.gmf = read(self.data)

    def fresh(self) -> GainMapFile:
        """A new model of the same bytes, safe to edit."""
        return read(self.data)

    def image(self, which: str, gmf: GainMapFile | None = None) -> JpegImage:
        gmf = gmf or self.gmf
        im = gmf.primary if which == "primary" else gmf.gainmap
        if im is None:
            raise NotApplicable("no gain-map image")
        return im

    def seg(self, which: str, kind: str, gmf: GainMapFile | None = None, *, header_only: bool = True) -> Segment:
        seg = self.image(which, gmf).first(kind, header_only=header_only)
        if seg is None:
            raise NotApplicable(f"no {kind} segment in the {which}")
        return seg

    def mpf(self) -> tuple[Segment, mpf.MpfInfo]:
        """The primary's MPF segment and record, when it lists at least two images."""
        seg = self.seg("primary", "mpf")
        info = self.gmf.primary.mpf
        if info is None or info.entries_offset is None or len(info.entries) < 2:
            raise NotApplicable("no readable MPF with two entries")
        return seg, info

    def iso_full(self) -> tuple[Segment, iso21496.IsoRecord]:
        seg = self.seg("gainmap", "iso21496")
        rec = self.image("gainmap").iso
        if rec is None or rec.layout != "full" or not rec.channels:
            raise NotApplicable("no full ISO 21496-1 block in the gain map")
        return seg, rec

    def hdrgm_packet(self) -> tuple[Segment, bytes]:
        seg = self.seg("gainmap", "xmp")
        pkt = self.image("gainmap").xmp
        if pkt is None or not pkt.well_formed or "GainMapMax" not in pkt.hdrgm:
            raise NotApplicable("no hdrgm parameters in the gain map")
        return seg, pkt.packet

    def hdrgm_values(self) -> dict[str, object]:
        """The gain map's hdrgm values (NotApplicable as :meth:`hdrgm_packet`)."""
        self.hdrgm_packet()
        pkt = self.image("gainmap").xmp
        assert pkt is not None  # hdrgm_packet() checked it
        return pkt.hdrgm_values()


# ---------------------------------------------------------------------------------------------- helpers
def segment_bounds(seg: Segment) -> tuple[int, int]:
    """(start, end) of a segment on disk, fill bytes included."""
    start = seg.offset - seg.fill
    return start, start + seg.size


def overwrite(data: bytes, where: Span, new: bytes) -> bytes:
    """``data`` with the bytes at ``where`` replaced by ``new`` (of the same length)."""
    if len(new) != where.length:
        raise ValueError(f"{len(new)} bytes cannot replace the {where.length} at {where.offset}")
    return data[:where.offset] + new + data[where.end:]


def located(schema: Construct, data: bytes, base: int) -> tuple[Any, Spans]:
    """``data`` (at absolute ``base``) parsed by a format's ``schema`` with every field's span; NotApplicable when
    it does not parse."""
    try:
        return locate(schema, data, base=base)
    except ConstructError as exc:
        raise NotApplicable(f"does not parse: {exc}") from None


def set_field(data: bytes, spans: Spans, schema: Construct, path: str, value: int) -> bytes:
    """``data`` with field ``path`` (located in ``spans``) set to ``value`` in the field's own encoding."""
    return overwrite(data, span(spans, path), field_construct(schema, path).build(value))


def nonzero(rng: random.Random, lo: int, hi: int) -> int:
    """A random magnitude in [lo, hi] with a random sign."""
    n = rng.randint(lo, hi)
    return n if rng.random() < 0.5 else -n


def app_segments(im: JpegImage) -> list[Segment]:
    """The APPn and COM segments of an image's header."""
    return [s for s in im.header_segments() if 0xE0 <= s.marker <= 0xEF or s.marker == 0xFE]


def replace_payload(t: Target, seg: Segment, payload: bytes) -> bytes:
    """``seg`` (a segment of ``t.gmf``) with a new payload; MPF sizes and offsets recomputed (one fault only)."""
    if len(payload) > 65533:
        raise NotApplicable("payload too large for one segment")
    gmf = t.fresh()
    twin = next(item for _, item in gmf.walk() if isinstance(item, Segment) and item.offset == seg.offset)
    twin.payload = payload
    return gmf.to_bytes(recompute=True)
