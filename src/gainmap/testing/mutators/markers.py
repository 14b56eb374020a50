"""Faults in the JPEG structure: segment lengths, truncations, fill bytes, stray SOI, frame and scan order,
and bytes between the images."""

from __future__ import annotations

import random

from gainmap.formats import jpeg
from gainmap.formats.jpeg import SOI
from gainmap.formats.scanner import Segment
from gainmap.model.container import Gap
from gainmap.testing.mutators.base import NotApplicable, Target, app_segments, located, mutator, set_field


def _pick_app(t: Target, rng: random.Random, which: str | None = None) -> tuple[str, Segment]:
    which = which or rng.choice(("primary", "gainmap"))
    segs = app_segments(t.image(which))
    if not segs:
        raise NotApplicable(f"no APPn/COM segment in the {which}")
    return which, rng.choice(segs)


def _with_length(t: Target, seg: Segment, length: int) -> bytes:
    """The file with ``seg``'s length field set to ``length``, where the segment schema locates it."""
    _, spans = located(jpeg.Segment, t.data[seg.offset:seg.payload_offset + len(seg.payload)], seg.offset)
    return set_field(t.data, spans, jpeg.Segment, "length", length)


@mutator("segment-length-short", "jpeg")
def segment_length_short(t: Target, rng: random.Random):
    """An APPn segment's length field N bytes too small: its tail is left where a marker should be."""
    which, seg = _pick_app(t, rng)
    plen = len(seg.payload)
    if plen < 2:
        raise NotApplicable("payload too short")
    for _ in range(8):
        n = rng.randint(1, min(plen - 1, 64))
        new_end = seg.payload_offset + plen - n
        if t.data[new_end] != 0xFF:
            out = _with_length(t, seg, plen + 2 - n)
            return out, {"jpeg.garbage"}, f"{which} {seg.name} length -{n}"
    raise NotApplicable("no cut point that is not FF")


@mutator("segment-length-long", "jpeg")
def segment_length_long(t: Target, rng: random.Random):
    """An APPn segment's length field N bytes too large: the next marker is swallowed."""
    which, seg = _pick_app(t, rng)
    plen = len(seg.payload)
    for _ in range(8):
        n = rng.randint(1, 64)
        new_end = seg.payload_offset + plen + n
        if plen + n + 2 <= 0xFFFF and new_end < len(t.data) and t.data[new_end] != 0xFF:
            out = _with_length(t, seg, plen + 2 + n)
            return out, {"jpeg.garbage"}, f"{which} {seg.name} length +{n}"
    raise NotApplicable("no lengthening that lands on a non-FF byte")


@mutator("segment-length-oversized", "jpeg")
def segment_length_oversized(t: Target, rng: random.Random):
    """A segment length past the end of the file, or below 2."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    left = len(t.data) - seg.offset - 2
    new = rng.choice((0, 1) if left >= 0xFFFF else (0, 1, 0xFFFF, max(left + 1, 2)))
    if 2 <= new <= left:
        new = 0
    return _with_length(t, seg, new), {"jpeg.segment-length"}, f"gain map {seg.name} length {new}"


@mutator("truncate-gainmap", "jpeg")
def truncate_gainmap(t: Target, rng: random.Random):
    """The file cut inside the gain map's entropy-coded data (its EOI lost)."""
    gm = t.image("gainmap")
    scans = gm.scans()
    if not scans or not scans[-1].ecs:
        raise NotApplicable("gain map without entropy-coded data")
    first = scans[0]
    lo = first.offset + 4 + len(first.payload) + 1
    hi = gm.end - 2
    if hi <= lo:
        raise NotApplicable("gain-map data too short")
    cut = rng.randint(lo, hi - 1)
    return t.data[:cut], {"jpeg.missing-eoi"}, f"cut at {cut} of {len(t.data)}"


@mutator("truncate-header", "jpeg")
def truncate_header(t: Target, rng: random.Random):
    """The file cut inside one of the gain map's header segments."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length and len(s.payload) > 1]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    cut = rng.randint(seg.payload_offset + 1, seg.payload_offset + len(seg.payload) - 1)
    return t.data[:cut], {"jpeg.segment-length"}, f"cut inside {seg.name} at {cut}"


@mutator("truncate-marker", "jpeg")
def truncate_marker(t: Target, rng: random.Random):
    """The file cut right after the FF of a gain-map marker, or inside a length field."""
    gm = t.image("gainmap")
    segs = [s for s in gm.header_segments() if s.has_length]
    if not segs:
        raise NotApplicable("gain map without header segments")
    seg = rng.choice(segs)
    cut = seg.offset + rng.choice((1, 3))
    return t.data[:cut], {"jpeg.truncated"}, f"cut at {cut} in the {seg.name} marker"


@mutator("truncate-primary", "jpeg")
def truncate_primary(t: Target, rng: random.Random):
    """The file cut inside one of the primary's scans: the gain map and EOI are gone."""
    scans = [s for s in t.gmf.primary.scans() if s.ecs and len(s.ecs) > 2]
    if not scans:
        raise NotApplicable("primary without entropy-coded data")
    scan = rng.choice(scans)
    start = scan.offset + 4 + len(scan.payload)
    cut = rng.randint(start + 1, start + len(scan.ecs or b"") - 1)
    return t.data[:cut], {"jpeg.missing-eoi"}, f"cut at {cut} of {len(t.data)}"


@mutator("fill-after-soi", "jpeg")
def fill_after_soi(t: Target, rng: random.Random):
    """FF fill bytes between the primary's SOI and its first marker (offsets recomputed)."""
    gmf = t.fresh()
    first = next((i for i in gmf.primary.items[1:] if isinstance(i, Segment)), None)
    if first is None:
        raise NotApplicable("primary without segments")
    first.fill = rng.randint(1, 4)
    return gmf.to_bytes(recompute=True), {"jpeg.fill-after-soi"}, f"{first.fill} fill byte(s) after SOI"


@mutator("duplicate-soi", "jpeg")
def duplicate_soi(t: Target, rng: random.Random):
    """A second SOI marker inside the gain map (offsets recomputed)."""
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    at = rng.randint(1, max(1, len(gm.header_segments()) - 1))
    gm.items.insert(at, Segment(SOI))
    return gmf.to_bytes(recompute=True), {"jpeg.unexpected-soi"}, f"SOI inserted as item {at} of the gain map"


@mutator("swap-sof-sos", "jpeg")
def swap_sof_sos(t: Target, rng: random.Random):
    """The gain map's frame header moved after its first scan: it no longer decodes."""
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    sof = gm.frame_segment
    scans = gm.scans()
    if sof is None or not scans:
        raise NotApplicable("gain map without frame or scan")
    gm.remove(sof)
    gm.items.insert(gm.index_of(scans[0]) + 1, sof)
    return gmf.to_bytes(recompute=True), {"gainmap.decode"}, "SOF moved after the first SOS"


@mutator("junk-between", "layout")
def junk_between(t: Target, rng: random.Random):
    """Bytes between the primary's EOI and the gain map's SOI (MPF recomputed to match)."""
    gmf = t.fresh()
    n = rng.randint(1, 256)
    junk = bytes(rng.choice(b"\x00 abcdefgh") for _ in range(n))
    gmf.parts.insert(1, Gap(junk, kind="junk"))
    return gmf.to_bytes(recompute=True), {"layout.junk-between-images"}, f"{n} junk bytes after the primary"


@mutator("junk-between-stale", "layout")
def junk_between_stale(t: Target, rng: random.Random):
    """Bytes inserted between the images without updating MPF (its offset now misses)."""
    t.mpf()
    end = t.gmf.primary.end
    n = rng.randint(1, 256)
    junk = b"\x00" * n
    return (t.data[:end] + junk + t.data[end:], {"layout.junk-between-images", "mpf.entry-offset"},
            f"{n} zero bytes at {end}")
