"""Checks of the ``apple`` and ``exif`` families: Apple's iOS 14-17 HDR gain map (formats.md §8) and the Exif
data that carries its maker-note headroom.

``apple.gainmap`` is an info-level fact the viewer model needs (Chrome, libultrahdr, libavif and Apple have an
Apple route).  The headroom comes from the gain map's XMP (HDRGainMapHeadroom) or the primary's maker note
(tags 33/48); see :mod:`gainmap.model.apple` for the units question that ``apple.headroom-units`` reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.analysis.checks.structure import hexoff, image_name
from gainmap.model import apple

_EXIF_IDS = ("exif.byte-order", "exif.ifd-bounds", "exif.value-bounds", "exif.ifd-loop", "exif.tag-duplicate",
             "exif.apple-header", "exif.apple-tag-type")


def _apple_info(ctx: CheckContext) -> Any:
    """The gain map's Apple XMP view when it marks an Apple HDR gain map, else None."""
    info = apple.apple_xmp(ctx.gmf)
    if info is None:
        return None
    if info.aux_type == apple.APPLE_AUX_TYPE or info.version is not None:
        return info
    return None


def _xmp_span(ctx: CheckContext) -> tuple[int, int]:
    gm = ctx.gmf.gainmap
    seg = gm.first("xmp") if gm is not None else None
    if seg is None:
        return (gm.offset if gm is not None else 0), 2
    return seg.offset, seg.size - seg.fill


@check("apple.gainmap", "apple.headroom-units", "apple.legacy-format")
def apple_gainmap(ctx: CheckContext) -> Iterator[Finding]:
    """An Apple HDR gain map (fact), the units of its XMP headroom, and whether it is the only metadata."""
    info = _apple_info(ctx)
    if info is None:
        return
    at, length = _xmp_span(ctx)
    idx = ctx.image_index(ctx.gmf.gainmap)
    aux = info.aux_type or "no apdi:AuxiliaryImageType"
    yield Finding("apple.gainmap", None, at, length, image=idx,
                  message=f"the gain map's XMP is Apple's ({aux}, HDRGainMapVersion {info.version})")
    h = info.headroom
    if h is not None and math.isfinite(h) and h > 0:
        yield Finding("apple.headroom-units", None, at, length, image=idx,
                      message=f"HDRGainMapHeadroom = {h:g}: Skia and libavif read x{h:.4g} "
                              f"({math.log2(h):.3g} stops), libultrahdr 2.x reads 2^{h:g} = x{2.0 ** min(h, 64):.4g}")
    six = ctx.six
    gm_xmp = ctx.gmf.gainmap.xmp if ctx.gmf.gainmap is not None else None
    has_hdrgm = six["hdrgm"] or (gm_xmp is not None and bool(gm_xmp.hdrgm))
    if not six["iso_gainmap"] and not has_hdrgm:
        yield Finding("apple.legacy-format", None, at, length, image=idx,
                      message="only Apple's gain-map metadata: no ISO 21496-1 block and no hdrgm XMP; non-Apple "
                              "readers must approximate Apple's curve, and libultrahdr before 2.0 cannot read it")


@check("apple.makernote-missing", "apple.headroom-missing")
def apple_headroom(ctx: CheckContext) -> Iterator[Finding]:
    """Where an Apple gain map's headroom comes from: the maker note (Skia needs tag 33) and/or the XMP."""
    info = _apple_info(ctx)
    if info is None:
        return
    primary = ctx.gmf.primary
    exif_seg = primary.first("exif")
    at, length = (exif_seg.offset, exif_seg.size - exif_seg.fill) if exif_seg is not None else (primary.offset, 2)
    stops = apple.maker_note_stops(ctx.gmf)
    if stops is None:
        exif = primary.exif
        if exif_seg is None:
            why = "the primary has no Exif APP1"
        elif exif is None or exif.apple is None:
            why = f"the primary's Exif (APP1 at {hexoff(exif_seg.offset)}) has no Apple maker note"
        else:
            why = "the Apple maker note has no readable tag 33 (HDRHeadroom)"
        yield Finding("apple.makernote-missing", None, at, length, image=0,
                      message=f"{why}; Skia (Chrome, Android) applies an Apple gain map only with it")
    if apple.apple_headroom(ctx.gmf) is None:
        gat, glen = _xmp_span(ctx)
        yield Finding("apple.headroom-missing", None, gat, glen, image=ctx.image_index(ctx.gmf.gainmap),
                      message="neither HDRGainMapHeadroom in the gain map's XMP nor maker-note tag 33 in the "
                              "primary gives the headroom")


@check("apple.xmp-value")
def apple_xmp_values(ctx: CheckContext) -> Iterator[Finding]:
    """Apple XMP properties that do not parse (the XMP parser's xmp.apple.* problems)."""
    for idx, image in enumerate(ctx.gmf.images):
        packet = image.xmp
        seg = image.first("xmp")
        if packet is None or seg is None:
            continue
        for p in packet.problems:
            if catalogue().resolve(p.code) == "apple.xmp-value":
                yield Finding(p.code, None, seg.payload_offset + p.offset, p.length or None, image=idx,
                              message=f"{p.message} (XMP of {image_name(ctx, image)} at {hexoff(seg.offset)})")


@check(*_EXIF_IDS)
def exif_problems(ctx: CheckContext) -> Iterator[Finding]:
    """The Exif parser's problems (TIFF structure, Apple maker-note header and tag types)."""
    for idx, image in enumerate(ctx.gmf.images):
        seg = image.first("exif")
        exif = image.exif
        if seg is None or exif is None:
            continue
        end = seg.payload_offset + len(seg.payload)
        for p in exif.problems:
            if p.code not in _EXIF_IDS:
                continue
            offset = min(seg.payload_offset + p.offset, max(end - 1, seg.offset))
            yield Finding(p.code, None, offset, max(0, min(p.length, end - offset)), image=idx,
                          message=f"{p.message} (Exif APP1 of {image_name(ctx, image)} at {hexoff(seg.offset)})")
