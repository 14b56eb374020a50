"""iso.*: ISO 21496-1 metadata, the version block in the primary and the full block in the gain map (§3).

Parser problems (offsets relative to the APP2 payload, URN included) are reported with absolute offsets;
the value checks follow what libultrahdr rejects after converting the fractions to numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.formats.iso21496 import IsoRecord, after_urn
from gainmap.formats.located import Span, span
from gainmap.formats.scanner import Segment
from gainmap.model.container import JpegImage

_ROLES = ("primary", "gainmap")
#: Parser problems that matter in the primary's block: Skia reads only its version fields there.
_PRIMARY_CODES = ("iso.min-version", "iso.writer-version")


def _images(ctx: CheckContext) -> Iterator[tuple[str, JpegImage, int | None]]:
    for role in _ROLES:
        image = ctx.primary if role == "primary" else ctx.gainmap
        if image is None or (role == "gainmap" and image is ctx.primary):
            continue
        yield role, image, ctx.image_index(image)


def _full(ctx: CheckContext) -> tuple[Segment, IsoRecord, int | None] | None:
    """The gain map's ISO segment and record when it carries a full (or compact) block."""
    gm = ctx.gainmap
    if gm is None or gm is ctx.primary:
        return None
    seg = gm.first("iso21496")
    record = gm.iso
    if seg is None or record is None or record.layout == "version-only" or record.flags is None:
        return None
    return seg, record, ctx.image_index(gm)


def field_span(record: IsoRecord, name: str, channel: int | None = None) -> Span:
    """Where a value lies in the record's layout (payload-relative, as the model's record is): the whole
    N/D pair in the full layout, the numerator in the legacy compact one."""
    return span(record, name if channel is None else f"channels[{channel}].{name}")


def _fraction(value: tuple[int, int] | None) -> Fraction | None:
    if value is None or value[1] == 0:
        return None
    return Fraction(value[0], value[1])


def _show(value: tuple[int, int]) -> str:
    n, d = value
    return f"{n}/{d} = {n / d:.6g}" if d else f"{n}/{d}"


@check("iso.min-version", "iso.writer-version", "iso.reserved-flags", "iso.legacy-compact", "iso.legacy-backward",
       "iso.zero-denominator", "iso.length", "iso.trailing-bytes")
def parser_problems(ctx: CheckContext) -> Iterator[Finding]:
    """What the ISO 21496-1 parser met in the primary's and the gain map's first ISO segment, and bytes after a
    complete block written by a newer writer (allowed; a fact)."""
    for role, image, index in _images(ctx):
        seg = image.first("iso21496")
        record = image.iso
        where = "primary" if role == "primary" else "gain map"
        if seg is not None and record is None:  # the parser refused it: not even the version fields
            body = after_urn(seg.payload, seg.payload_offset)
            yield Finding("iso.length", offset=body.offset if body.length else seg.offset,
                          length=body.length or seg.size, image=index,
                          message=f"ISO 21496-1 block of the {where}: {body.length} byte(s) after the URN, too "
                                  "short for the 4-byte version fields")
            continue
        if seg is None or record is None:
            continue
        for p in record.problems:
            if role == "primary" and p.code not in _PRIMARY_CODES:
                continue  # readers take only the version fields from the primary's block
            yield Finding(p.code, offset=seg.payload_offset + p.offset, length=p.length or 1, image=index,
                          message=f"ISO 21496-1 block of the {where}: {p.message}")
        if record.trailing and record.writer_version > 0 and role == "gainmap":
            trailing = span(record, "trailing").shifted(seg.payload_offset)
            yield Finding("iso.trailing-bytes", "info", trailing.offset, trailing.length, image=index,
                          message=f"ISO 21496-1 block of the {where}: {len(record.trailing)} byte(s) after the "
                                  f"block; writer_version {record.writer_version} may add fields, readers of "
                                  "version 0 ignore them")


@check("iso.primary-missing", "iso.gainmap-missing")
def version_block(ctx: CheckContext) -> Iterator[Finding]:
    """The primary's version block and the gain map's full block belong together (Skia needs both)."""
    primary_seg = ctx.primary.first("iso21496")
    full = _full(ctx)
    if full is not None and primary_seg is None:
        seg, _record, index = full
        yield Finding("iso.primary-missing", offset=seg.offset, length=seg.size, image=index,
                      message=f"the gain map carries ISO 21496-1 metadata at {seg.offset:#x}, but the primary has no "
                              "ISO version block: Chrome and Android ignore the ISO metadata")
    gm = ctx.gainmap
    if primary_seg is not None and full is None and gm is not None and gm is not ctx.primary:
        yield Finding("iso.gainmap-missing", offset=primary_seg.offset, length=primary_seg.size, image=0,
                      message=f"the primary's ISO 21496-1 version block promises ISO metadata, but the gain map at "
                              f"{gm.offset:#x} has {'only a version block' if gm.iso is not None else 'none'}")


@check("iso.duplicate")
def duplicate(ctx: CheckContext) -> Iterator[Finding]:
    for role, image, index in _images(ctx):
        segs = [s for s in image.header_segments() if s.kind == "iso21496"]
        for seg in segs[1:]:
            same = seg.payload == segs[0].payload
            yield Finding("iso.duplicate", offset=seg.offset, length=seg.size, image=index,
                          message=f"a second ISO 21496-1 APP2 in the {'primary' if role == 'primary' else 'gain map'}"
                                  f" ({'identical to' if same else 'different from'} the first at "
                                  f"{segs[0].offset:#x}); readers use the first",
                          detail={"first": segs[0].offset, "identical": same})


def _pow2_unusable(value: Fraction) -> str | None:
    """Why 2**value is unusable as a float32 ratio (libultrahdr stores boosts as float), or None."""
    with np.errstate(over="ignore", under="ignore"):
        ratio = np.exp2(np.float32(float(value)))
    if not np.isfinite(ratio):
        return "overflows"
    if ratio == 0:
        return "underflows to 0"
    return None


@check("iso.non-finite", "iso.min-max", "iso.gamma", "iso.offset", "iso.headroom-direction",
       "iso.headroom-equal")
def values(ctx: CheckContext) -> Iterator[Finding]:
    """Ranges and direction of the gain map's full block; values with a zero denominator are skipped
    (iso.zero-denominator reports them)."""
    full = _full(ctx)
    if full is None:
        return
    seg, record, index = full
    base = seg.payload_offset

    def at(name: str, channel: int | None = None) -> tuple[int, int]:
        where = field_span(record, name, channel).shifted(base)
        return where.offset, where.length

    logs: list[tuple[str, int | None, tuple[int, int] | None]] = [
        ("base_hdr_headroom", None, record.base_hdr_headroom),
        ("alternate_hdr_headroom", None, record.alternate_hdr_headroom)]
    for i, ch in enumerate(record.channels):
        logs += [("gain_map_min", i, ch["gain_map_min"]), ("gain_map_max", i, ch["gain_map_max"])]
    for name, channel, frac in logs:
        value = _fraction(frac)
        why = _pow2_unusable(value) if value is not None else None
        if why and frac is not None:
            offset, length = at(name, channel)
            label = name if channel is None else f"channel {channel} {name}"
            yield Finding("iso.non-finite", offset=offset, length=length, image=index,
                          message=f"{label} {_show(frac)}: 2^value {why} as a float, which libultrahdr rejects",
                          detail={"field": name, "channel": channel})
    for c, ch in enumerate(record.channels):
        lo, hi = _fraction(ch["gain_map_min"]), _fraction(ch["gain_map_max"])
        if lo is not None and hi is not None and lo > hi:
            offset, length = at("gain_map_min", c)
            yield Finding("iso.min-max", offset=offset, length=length, image=index,
                          message=f"channel {c} gain_map_min {_show(ch['gain_map_min'])} > gain_map_max "
                                  f"{_show(ch['gain_map_max'])}", detail={"channel": c})
        gamma = ch["gamma"]
        if gamma[1] != 0 and gamma[0] == 0:
            offset, length = at("gamma", c)
            yield Finding("iso.gamma", offset=offset, length=length, image=index,
                          message=f"channel {c} gamma is {gamma[0]}/{gamma[1]} = 0", detail={"channel": c})
        for name in ("base_offset", "alternate_offset"):
            value = _fraction(ch[name])
            if value is not None and value < 0:
                offset, length = at(name, c)
                yield Finding("iso.offset", offset=offset, length=length, image=index,
                              message=f"channel {c} {name} {_show(ch[name])} is negative; libultrahdr rejects it",
                              detail={"channel": c, "field": name})
    b, a = _fraction(record.base_hdr_headroom), _fraction(record.alternate_hdr_headroom)
    if b is None or a is None:
        return
    offset, length = at("base_hdr_headroom")
    shown = (f"base_hdr_headroom {_show(record.base_hdr_headroom)}, "  # type: ignore[arg-type]
             f"alternate_hdr_headroom {_show(record.alternate_hdr_headroom)}")  # type: ignore[arg-type]
    if b > a:
        yield Finding("iso.headroom-direction", offset=offset, length=2 * length, image=index,
                      message=f"{shown}: the base is the HDR rendition; libultrahdr rejects it",
                      detail={"base": float(b), "alternate": float(a)})
    elif b == a:
        yield Finding("iso.headroom-equal", offset=offset, length=2 * length, image=index,
                      message=f"{shown}: equal headrooms give no direction and a weight of 0/0",
                      detail={"base": float(b), "alternate": float(a)})
