"""Faults in the ISO 21496-1 blocks: each value poked where the block's located record says it lies
(``span(record, path)``, encoded by :func:`~gainmap.formats.iso21496.encode_field`), the block cut short, missing or
doubled."""

from __future__ import annotations

import random

from gainmap.formats import iso21496
from gainmap.formats.located import span
from gainmap.formats.scanner import Segment
from gainmap.testing.mutators.base import NotApplicable, Target, mutator, overwrite, replace_payload


def _iso_set(data: bytes, seg: Segment, rec: iso21496.IsoRecord, path: str, value: int) -> bytes:
    """``data`` with field ``path`` of the ISO block in ``seg`` set to ``value``, in place."""
    return overwrite(data, span(rec, path).shifted(seg.payload_offset), iso21496.encode_field(rec, path, value))


@mutator("iso-reserved-flags", "iso")
def iso_reserved_flags(t: Target, rng: random.Random):
    """Reserved ISO 21496-1 flag bits set (bit 2 is the legacy backward direction)."""
    seg, rec = t.iso_full()
    bits = 0
    while not bits:
        bits = rng.randint(1, 0x3F) & ~0x08 if rng.random() < 0.5 else rng.choice((0x01, 0x02, 0x04, 0x10, 0x20))
    out = _iso_set(t.data, seg, rec, "flags", (rec.flags or 0) | bits)
    ids = set()
    if bits & 0x3B:
        ids.add("iso.reserved-flags")
    if bits & 0x04:
        ids.add("iso.legacy-backward")
    return out, ids, f"flags |= 0x{bits:02X}"


def _iso_path(name: str, channel: int = 0) -> str:
    """The field path of one ISO fraction: a headroom, or a per-channel value."""
    return name if name.endswith("_headroom") else f"channels[{channel}].{name}"


@mutator("iso-zero-denominator", "iso")
def iso_zero_denominator(t: Target, rng: random.Random):
    """An ISO 21496-1 fraction with denominator 0."""
    seg, rec = t.iso_full()
    name = rng.choice(("base_hdr_headroom", "alternate_hdr_headroom", *iso21496.CHANNEL_FIELDS))
    channel = rng.randrange(len(rec.channels))
    out = _iso_set(t.data, seg, rec, _iso_path(name, channel) + ".d", 0)
    return out, {"iso.zero-denominator"}, f"{name}[{channel}] denominator 0"


@mutator("iso-overflow", "iso")
def iso_overflow(t: Target, rng: random.Random):
    """NaN/inf-producing ISO values: a huge log2 gain or headroom whose ratio overflows."""
    seg, rec = t.iso_full()
    name = rng.choice(("gain_map_max", "alternate_hdr_headroom"))
    if name == "alternate_hdr_headroom" and rec.base_hdr_headroom and rec.base_hdr_headroom[0] > 0:
        name = "gain_map_max"
    out = t.data
    for channel in range(len(rec.channels)) if name == "gain_map_max" else (0,):
        path = _iso_path(name, channel)
        out = _iso_set(out, seg, rec, path + ".n", 0x7FFFFFFF)
        out = _iso_set(out, seg, rec, path + ".d", rng.choice((1, 2, 3)))
    return out, {"iso.non-finite"}, f"{name} = 2^31-1 / small"


@mutator("iso-min-gt-max", "iso")
def iso_min_gt_max(t: Target, rng: random.Random):
    """ISO gain_map_min above gain_map_max in one channel."""
    seg, rec = t.iso_full()
    channel = rng.randrange(len(rec.channels))
    n, d = rec.channels[channel]["gain_map_max"]
    if d == 0:
        raise NotApplicable("zero denominator")
    new = min(n + rng.randint(1, 4) * d, 0x7FFFFFFF)
    path = _iso_path("gain_map_min", channel)
    out = _iso_set(_iso_set(t.data, seg, rec, path + ".n", new), seg, rec, path + ".d", d)
    return out, {"iso.min-max"}, f"min[{channel}] > max"


@mutator("iso-gamma-zero", "iso")
def iso_gamma_zero(t: Target, rng: random.Random):
    """ISO gamma 0 in one channel."""
    seg, rec = t.iso_full()
    channel = rng.randrange(len(rec.channels))
    return _iso_set(t.data, seg, rec, _iso_path("gamma", channel) + ".n", 0), {"iso.gamma"}, f"gamma[{channel}] = 0"


@mutator("iso-headroom-equal", "iso")
def iso_headroom_equal(t: Target, rng: random.Random):
    """ISO base and alternate headrooms equal."""
    seg, rec = t.iso_full()
    base = span(rec, "base_hdr_headroom").shifted(seg.payload_offset)
    alternate = span(rec, "alternate_hdr_headroom").shifted(seg.payload_offset)
    src = t.data[base.offset:base.end] if rng.random() < 0.5 else t.data[alternate.offset:alternate.end]
    return overwrite(overwrite(t.data, base, src), alternate, src), {"iso.headroom-equal"}, "headrooms equal"


@mutator("iso-min-version", "iso")
def iso_min_version(t: Target, rng: random.Random):
    """ISO 21496-1 minimum_version not 0 (in the gain map's block)."""
    seg, rec = t.iso_full()
    v = rng.randint(1, 0xFFFF)
    return _iso_set(t.data, seg, rec, "minimum_version", v), {"iso.min-version"}, f"minimum_version {v}"


@mutator("iso-short", "iso")
def iso_short(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block cut short (segment length kept consistent)."""
    seg, rec = t.iso_full()
    body = span(rec, "metadata")
    keep = rng.randint(5, body.length - 1)
    if rec.flags is not None and rec.flags & iso21496.FLAG_LEGACY_COMMON_DENOMINATOR and keep in (37, 77):
        keep -= 1
    out = replace_payload(t, seg, seg.payload[:body.offset + keep])
    return out, {"iso.length"}, f"ISO block {body.length} -> {keep} bytes"


@mutator("iso-primary-missing", "iso")
def iso_primary_missing(t: Target, rng: random.Random):
    """The primary's ISO 21496-1 version block removed."""
    t.iso_full()
    gmf = t.fresh()
    gmf.primary.remove(t.seg("primary", "iso21496", gmf))
    return gmf.to_bytes(recompute=True), {"iso.primary-missing"}, "version block removed"


@mutator("iso-gainmap-missing", "iso")
def iso_gainmap_missing(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block removed (the primary still announces it)."""
    t.seg("primary", "iso21496")
    gmf = t.fresh()
    gm = t.image("gainmap", gmf)
    gm.remove(t.seg("gainmap", "iso21496", gmf))
    return gmf.to_bytes(recompute=True), {"iso.gainmap-missing"}, "gain-map ISO block removed"


@mutator("iso-duplicate", "iso")
def iso_duplicate(t: Target, rng: random.Random):
    """The gain map's ISO 21496-1 block written twice."""
    t.iso_full()
    gmf = t.fresh()
    seg = t.seg("gainmap", "iso21496", gmf)
    gm = t.image("gainmap", gmf)
    gm.items.insert(gm.index_of(seg) + 1, Segment(seg.marker, seg.payload))
    return gmf.to_bytes(recompute=True), {"iso.duplicate"}, "second ISO block in the gain map"
