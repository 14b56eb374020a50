"""Checks of the ``mpf`` family: the Multi-Picture Format index in the primary (CIPA DC-007, formats.md §2).

The MPF parser (:func:`gainmap.formats.mpf.parse_mpf`) records the TIFF/IFD problems with payload-relative
offsets; they are converted here.  The checks below compare the index with the file: presence, placement before
the first SOS, duplicates, and every MP entry against the images actually present (does its offset land exactly
on an SOI, does its size match the image, is its type a CIPA code).

Outside gain-map files (a stereo or panorama MPO, a camera's MPF thumbnail) no viewer's HDR is at stake: errors
are reported as warnings there, and Skia's "entry 0 and only entry 0 is a Baseline MP Primary" rule as info.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.analysis.checks.structure import (
    describe_offset,
    hexoff,
    image_name,
    nearest_soi,
    signals_gainmap,
)
from gainmap.formats.mpf import TIFF_BASE
from gainmap.formats.scanner import Segment
from gainmap.model.container import MP_TYPES

_PARSER_IDS = ("mpf.byte-order", "mpf.ifd-bounds", "mpf.value-bounds", "mpf.attribute-bounds", "mpf.tag-order",
               "mpf.unknown-tag", "mpf.version", "mpf.tag-type", "mpf.number-of-images", "mpf.entry-count",
               "mpf.entry-missing", "mpf.entry-bounds", "mpf.primary-type", "mpf.entry-format",
               "mpf.primary-offset")


def _severity(ctx: CheckContext, fid: str) -> str | None:
    """The catalogue severity in gain-map files; outside them, errors become warnings (primary-type: info)."""
    if signals_gainmap(ctx):
        return None
    if fid == "mpf.primary-type":
        return "info"
    from gainmap.analysis.checks.catalogue import catalogue

    return "warning" if catalogue().severity(fid) == "error" else None


def _mpf_segment(ctx: CheckContext) -> Segment | None:
    return ctx.gmf.primary.first("mpf", header_only=False)


def _span(seg: Segment, rel: int, length: int) -> tuple[int, int]:
    """Absolute (offset, length) of payload bytes ``rel``..``rel+length``, clamped into the segment."""
    end = seg.payload_offset + len(seg.payload)
    start = min(max(seg.payload_offset + rel, seg.offset), max(end - 1, seg.offset))
    return start, max(0, min(length, end - start))


@check(*_PARSER_IDS)
def mpf_parser_problems(ctx: CheckContext) -> Iterator[Finding]:
    """The MPF parser's problems (byte order, IFD bounds, tag order and types, the Skia rules on entries)."""
    seg = _mpf_segment(ctx)
    info = ctx.gmf.primary.mpf
    if seg is None or info is None:
        return
    payload_len = len(seg.payload)
    for p in info.problems:
        if p.code not in _PARSER_IDS:
            continue
        rel, length = p.offset, p.length
        if rel >= payload_len and p.code == "mpf.ifd-bounds" and not info.index_tags:
            rel, length = TIFF_BASE + 4, 4  # the first-IFD offset field that points outside
        elif rel >= payload_len and p.code == "mpf.attribute-bounds":
            rel, length = TIFF_BASE + info.first_ifd_offset + 2 + 12 * len(info.index_tags), 4
        offset, length = _span(seg, rel, length)
        yield Finding(p.code, _severity(ctx, p.code), offset, length, f"{p.message} (MPF APP2 at "
                      f"{hexoff(seg.offset)})", 0)
    if info.kind == "attribute-only":
        yield Finding("mpf.entry-missing", _severity(ctx, "mpf.entry-missing"), seg.offset,
                      seg.size - seg.fill, "the primary's MPF holds only an MP Attribute IFD (as written into "
                      "non-first images), no MP Index IFD listing the images", 0)


@check("mpf.missing", "mpf.truncated", "mpf.after-sos", "mpf.duplicate")
def mpf_presence(ctx: CheckContext) -> Iterator[Finding]:
    """An MPF index exists when a gain map does, is readable, sits before the first SOS, and is alone."""
    primary = ctx.gmf.primary
    segs = primary.segments("mpf")
    gm = ctx.gmf.gainmap
    if not segs:
        if gm is not None:
            claimed = signals_gainmap(ctx)
            what = "the gain map" if claimed else "the JPEG after the primary (no gain-map metadata anywhere)"
            yield Finding("mpf.missing", None if claimed else "warning", primary.offset, 2,
                          f"{what} at {hexoff(gm.offset)} is listed by no MPF index: the primary has no MPF "
                          "APP2, so only libultrahdr (which scans for images) will find it", 0)
        return
    first = segs[0]
    if primary.mpf is None:
        yield Finding("mpf.truncated", _severity(ctx, "mpf.truncated"), first.offset, first.size - first.fill,
                      f"MPF APP2 at {hexoff(first.offset)} has a {len(first.payload)}-byte payload; "
                      f"'MPF\\0' and the TIFF header need {TIFF_BASE + 8}", 0)
    if primary.first("mpf") is None:
        sos = primary.scans()[0]
        yield Finding("mpf.after-sos", _severity(ctx, "mpf.after-sos"), first.offset, first.size - first.fill,
                      f"the MPF APP2 at {hexoff(first.offset)} comes after the first SOS at {hexoff(sos.offset)}; "
                      "readers stop collecting metadata at the first scan", 0)
    for extra in segs[1:]:
        yield Finding("mpf.duplicate", None, extra.offset, extra.size - extra.fill,
                      f"another MPF APP2 at {hexoff(extra.offset)} (the first is at {hexoff(first.offset)}); "
                      "Skia and libavif use the first", 0)


@check("mpf.entry-type", "mpf.entry-offset", "mpf.entry-beyond-eof", "mpf.entry-size")
def mpf_entries(ctx: CheckContext) -> Iterator[Finding]:
    """Each MP entry against the file: type code, offset landing on an SOI, size equal to the image's length."""
    gmf = ctx.gmf
    seg = _mpf_segment(ctx)
    info = gmf.primary.mpf
    if seg is None or info is None or info.entries_offset is None:
        return
    base = seg.offset + 8  # the MP Endian field: every entry offset counts from here
    n = len(ctx.data)
    gm = gmf.gainmap
    gm_linked = any(im is gm for im in gmf.mpf_links[1:]) if gm is not None else False
    for i, e in enumerate(info.entries):
        rel = info.entry_offset(i)
        assert rel is not None  # entries_offset was checked above
        at = seg.payload_offset + rel
        if i == 0:
            if e.size != gmf.primary.size:
                yield Finding("mpf.entry-size", None, at + 4, 4, image=0,
                              message=f"MP entry 0 (primary) size {e.size} != the primary's real length "
                                      f"{gmf.primary.size} ({e.size - gmf.primary.size:+d}); Skia, libavif and "
                                      "libultrahdr never use the primary's size, so this is harmless")
            continue
        if e.type_code not in MP_TYPES:
            yield Finding("mpf.entry-type", None, at, 4, image=0,
                          message=f"MP entry {i} type 0x{e.type_code:06X} is not a CIPA DC-007 type code "
                                  "(gain maps normally use 0x000000 Undefined)")
        target_at = base + e.offset
        target = gmf.image_at(target_at) if e.offset else None
        if target is None or target is gmf.primary:
            yield _bad_offset(ctx, i, e, at, base, target_at, gm_linked)
            continue
        if target_at + e.size > n:
            yield Finding("mpf.entry-beyond-eof", _severity(ctx, "mpf.entry-beyond-eof"), at + 4, 4, image=0,
                          message=f"MP entry {i} ({image_name(ctx, target)} at {hexoff(target_at)}) declares "
                                  f"{e.size} bytes, which end at {hexoff(target_at + e.size)}, "
                                  f"{target_at + e.size - n} byte(s) past the end of the file ({n} bytes)")
        elif e.size != target.size:
            short = " (short: Chrome decodes a cut-off gain map)" if target is gm and e.size < target.size else ""
            yield Finding("mpf.entry-size", None, at + 4, 4, image=0,
                          message=f"MP entry {i} size {e.size} != the real length {target.size} of "
                                  f"{image_name(ctx, target)} at {hexoff(target_at)} "
                                  f"({e.size - target.size:+d}){short}")


def _bad_offset(ctx: CheckContext, i: int, e: Any, at: int, base: int, target_at: int, gm_linked: bool) -> Finding:
    """mpf.entry-offset for entry ``i``, saying where the offset lands and where it should point."""
    if e.offset == 0:
        where = "0, which is the MPF header itself (only the primary's entry may be 0)"
    else:
        where = f"{e.offset}, i.e. {hexoff(target_at)}, {describe_offset(ctx, target_at)}"
        if ctx.data[target_at:target_at + 2] == b"\xff\xd8" and target_at < ctx.gmf.primary.end:
            where += " (an SOI, but of a JPEG embedded in a segment, such as an Exif thumbnail)"
    near = nearest_soi(ctx, target_at)
    hint = ""
    if near is not None:
        hint = (f"; the nearest image, {image_name(ctx, near)}, starts at {hexoff(near.offset)} "
                f"({near.offset - target_at:+d} bytes): its offset would be {near.offset - base}")
    sev = _severity(ctx, "mpf.entry-offset")
    if gm_linked and sev is None:
        sev = "warning"  # the gain map itself is listed correctly by another entry
    return Finding("mpf.entry-offset", sev, at + 8, 4, image=0,
                   message=f"MP entry {i} offset points at {where}{hint}",
                   detail={"entry": i, "target": target_at})
