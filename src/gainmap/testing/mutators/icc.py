"""Faults in the primary's ICC profile chunks: chunk numbering, the profile header's signature and size."""

from __future__ import annotations

import random
from typing import Any

from gainmap.formats import icc
from gainmap.formats.located import Spans, span
from gainmap.formats.scanner import Segment
from gainmap.testing.mutators.base import (
    NotApplicable,
    Target,
    located,
    mutator,
    nonzero,
    overwrite,
    set_field,
)


def _icc_seg(t: Target) -> Segment:
    segs = [s for s in t.gmf.primary.header_segments() if s.kind == "icc"]
    if not segs:
        raise NotApplicable("no ICC profile in the primary")
    return segs[0]


def _icc_chunk(t: Target) -> tuple[Any, Spans]:
    """The primary's first ICC chunk, located."""
    seg = _icc_seg(t)
    return located(icc.IccChunkStruct, seg.payload, seg.payload_offset)


def _icc_header(t: Target) -> tuple[Any, Spans]:
    """The profile header in the first chunk, located; NotApplicable when that chunk does not hold it."""
    _, chunk = _icc_chunk(t)
    data = span(chunk, "data")
    try:
        return located(icc.IccHeaderStruct, t.data[data.offset:data.end], data.offset)
    except NotApplicable:
        raise NotApplicable("first chunk does not hold the header") from None


@mutator("icc-chunk-count", "icc")
def icc_chunk_count(t: Target, rng: random.Random):
    """ICC chunk declaring a chunk count of 0."""
    _, chunk = _icc_chunk(t)
    return set_field(t.data, chunk, icc.IccChunkStruct, "count", 0), {"icc.chunk-count"}, "chunk count 0"


@mutator("icc-chunk-index", "icc")
def icc_chunk_index(t: Target, rng: random.Random):
    """ICC chunk sequence number 0 or above the count."""
    value, chunk = _icc_chunk(t)
    count = value.count
    index = rng.choice((0, count + 1, 255)) if count < 255 else 0
    out = set_field(t.data, chunk, icc.IccChunkStruct, "seq", index)
    return out, {"icc.chunk-index"}, f"sequence number {index} of {count}"


@mutator("icc-header", "icc")
def icc_header(t: Target, rng: random.Random):
    """ICC profile whose header is damaged (the 'acsp' signature)."""
    _, header = _icc_header(t)
    return overwrite(t.data, span(header, "magic"), b"xxxx"), {"icc.header"}, "signature 'acsp' -> 'xxxx'"


@mutator("icc-size", "icc")
def icc_size(t: Target, rng: random.Random):
    """ICC header size field differs from the profile data."""
    value, header = _icc_header(t)
    size = value.size
    new = size + nonzero(rng, 1, 1000)
    out = set_field(t.data, header, icc.IccHeaderStruct, "size", max(new, 129))
    return out, {"icc.size"}, f"profile size {size} -> {new}"
