"""Checks of the families ``jpeg``, ``layout`` and ``locate``: the marker grammar, the bytes between and after the
images, and where each viewer finds the gain map.

The reader (:mod:`gainmap.formats.scanner`, :mod:`gainmap.model.container`) records most grammar and layout problems with
absolute offsets; they are converted here (one finding each, with the image they belong to).  The checks the
reader does not make are ``jpeg.fill-bytes``, ``layout.image-before-gainmap`` and ``locate.gainmap-missing``.

The small helpers at the top (:func:`hexoff`, :func:`describe_offset`, :func:`signals_gainmap`...) are shared by
the other check modules of this package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.formats.jpeg import SOI
from gainmap.formats.scanner import Raw, Segment
from gainmap.model.container import Gap, JpegImage, classify_trailing
from gainmap.model.policy import has_gainmap_metadata

HDRGM_NS = "http://ns.adobe.com/hdr-gain-map/1.0/"


# ------------------------------------------------------------------------------------------------ helpers
def hexoff(offset: int) -> str:
    """``0x1797 (6039)``: an absolute offset the way messages show it."""
    return f"0x{offset:X} ({offset})"


def image_index(ctx: CheckContext, offset: int | None) -> int | None:
    """Index in ``gmf.images`` of the image holding ``offset`` (an offset equal to an image's end, such as the
    end of a truncated file, belongs to that image); None for gaps or no offset."""
    if offset is None:
        return None
    images = ctx.gmf.images
    for i, im in enumerate(images):
        if im.offset <= offset < im.end:
            return i
    for i, im in enumerate(images):
        if offset == im.end and not isinstance(ctx.gmf.part_at(offset), Gap):
            return i
    return None


def image_name(ctx: CheckContext, image: JpegImage) -> str:
    """"the primary", "the gain map" or "image 2 (large-thumbnail-vga)"."""
    if image is ctx.gmf.primary:
        return "the primary"
    if image is ctx.gmf.gainmap:
        return "the gain map"
    idx = ctx.image_index(image)
    return f"image {idx} ({image.role})" if image.role not in ("other", "") else f"image {idx}"


def segment_label(seg: Segment) -> str:
    kind = seg.kind
    name = seg.name
    return f"{name} [{kind}]" if kind not in (name.lower(), "app", "sof") else name


def _item_start(item: Segment | Raw) -> int:
    return item.offset - item.fill if isinstance(item, Segment) else item.offset


def item_at(image: JpegImage, offset: int) -> Segment | Raw | None:
    """The segment or raw run of ``image`` whose bytes (fill, marker, payload, entropy-coded data) hold ``offset``."""
    for item in image.items:
        start = _item_start(item)
        if start <= offset < start + item.size:
            return item
    return None


def describe_offset(ctx: CheckContext, offset: int) -> str:
    """Where an absolute offset lands, in words: which image and segment, a gap, or past the end of the file."""
    n = len(ctx.data)
    if offset >= n:
        return f"past the end of the file ({n} bytes), {offset - n + 1} byte(s) too far"
    part = ctx.gmf.part_at(offset)
    if part is None:
        return "outside every image"
    if isinstance(part, Gap):
        where = "between two images" if part.kind == "junk" else "after the last image"
        return f"in {part.size} byte(s) of {classify_trailing(part.data)} {where} (from {hexoff(part.offset)})"
    name = image_name(ctx, part)
    rel = offset - part.offset
    if rel == 0:
        return f"on the SOI of {name}"
    item = item_at(part, offset)
    inside = ""
    if isinstance(item, Segment):
        header_end = item.offset + 2 + (2 + len(item.payload) if item.has_length else 0)
        if item.ecs is not None and offset >= header_end:
            inside = f", in the entropy-coded data after its {item.name} at {hexoff(item.offset)}"
        else:
            inside = f", in its {segment_label(item)} segment at {hexoff(item.offset)}"
    elif isinstance(item, Raw):
        inside = f", in {item.size} stray byte(s) at {hexoff(item.offset)}"
    return f"inside {name}, {rel} byte(s) after its SOI at {hexoff(part.offset)}{inside}"


def nearest_soi(ctx: CheckContext, offset: int) -> JpegImage | None:
    """The image (other than the primary) whose SOI is closest to ``offset``."""
    others = ctx.gmf.images[1:]
    if not others:
        return None
    return min(others, key=lambda im: abs(im.offset - offset))


def primary_signals(ctx: CheckContext) -> list[tuple[str, Segment | None]]:
    """What in the primary promises a gain map: hdrgm declaration, GContainer GainMap item, ISO version block."""
    primary = ctx.gmf.primary
    out: list[tuple[str, Segment | None]] = []
    packet = primary.xmp
    xmp_seg = primary.first("xmp")
    if packet is not None and packet.declarations(HDRGM_NS):
        out.append(("hdrgm namespace in the primary's XMP", xmp_seg))
    items = packet.container_items if packet is not None else []
    if any(i.semantic == "GainMap" for i in items):
        out.append(("a GContainer GainMap item", xmp_seg))
    iso_seg = primary.first("iso21496")
    if iso_seg is not None:
        out.append(("the ISO 21496-1 version block", iso_seg))
    return out


def signals_gainmap(ctx: CheckContext) -> bool:
    """The file says, somewhere, that it is a gain-map file (as opposed to a plain JPEG or a stereo MPO).

    Used to lower the severity of rules that matter only for gain maps.  Cached in ``ctx.cache``.
    """
    key = "structure.signals_gainmap"
    if key not in ctx.cache:
        exif = ctx.gmf.primary.exif
        apple_note = exif is not None and exif.apple is not None and exif.apple.headroom is not None
        ctx.cache[key] = bool(primary_signals(ctx) or apple_note
                              or any(has_gainmap_metadata(im) for im in ctx.gmf.images))
    return ctx.cache[key]


# ------------------------------------------------------------------------------------------------ trailing bytes
_SIGNATURES = (
    (b"AXS!", "an AFCP trailer (IPTC data appended by AXS-aware tools)"),
    (b"AXS*", "an AFCP trailer (IPTC data appended by AXS-aware tools)"),
    (b"cbipcbbl", "a Photo Mechanic trailer"),
    (b"SEFH", "a Samsung SEF trailer"),
    (b"MotionPhoto_Data", "a Samsung Motion Photo video"),
)
_SCAN_WINDOW = 1 << 16


def describe_bytes(data: bytes) -> str:
    """What bytes outside any image look like, for a message (zeros, padding, MP4, another JPEG, trailers)."""
    kind = classify_trailing(data)
    if kind == "zeros":
        return "zeros (padding)"
    if kind == "ff-padding":
        return "FF padding"
    if kind == "mp4":
        brand = data[8:12].decode("latin-1", "replace")
        return f"an MP4 video (ftyp brand {brand!r}), as Motion Photos append"
    if kind == "jpeg":
        return "a JPEG SOI (FF D8) that does not start a complete image"
    window = data[:_SCAN_WINDOW] + data[-_SCAN_WINDOW:] if len(data) > 2 * _SCAN_WINDOW else data
    found = list(dict.fromkeys(what for sig, what in _SIGNATURES if sig in window))
    if kind == "samsung-sef" and "a Samsung SEF trailer" not in found:
        found.append("a Samsung SEF trailer")
    if data.endswith(b"\xff\xd9"):
        found.append("ends with an EOI marker (FF D9), like the tail of an image whose data ended early")
    return "; ".join(found) if found else f"unrecognised data (starts {data[:8].hex(' ')})"


# ------------------------------------------------------------------------------------------------ reader problems
_READER_IDS = ("jpeg.no-soi", "jpeg.fill-after-soi", "jpeg.garbage", "jpeg.unexpected-soi", "jpeg.truncated",
               "jpeg.segment-length", "jpeg.missing-eoi", "layout.trailing-data", "layout.junk-between-images",
               "locate.disagree")
_LOCATION_USERS = {"mpf": "MPF (Chrome, Android, libavif, Apple)", "container": "GContainer (Chrome's fallback)",
                   "scan": "the next complete JPEG (libultrahdr)"}


@check(*_READER_IDS)
def reader_problems(ctx: CheckContext) -> Iterator[Finding]:
    """The reader's grammar, layout and location problems, with the image they belong to and clearer messages."""
    gaps = {g.offset: g for g in ctx.gmf.gaps}
    for p in ctx.gmf.problems:
        if p.code not in _READER_IDS:
            continue
        message = p.message
        detail: dict[str, Any] = {}
        if p.code in ("layout.trailing-data", "layout.junk-between-images") and p.offset in gaps:
            gap = gaps[p.offset]
            detail = {"looks_like": gap.looks_like}
            where = "after the last image" if gap.kind == "trailing" else "between two images"
            message = f"{gap.size} byte(s) {where}, {hexoff(gap.offset)}..{hexoff(gap.end - 1)}: " \
                      f"{describe_bytes(gap.data)}"
        elif p.code == "locate.disagree":
            found = [(k, v) for k, v in ctx.gmf.locations.items() if v is not None]
            message = "viewers look for the gain map in different places: " + "; ".join(
                f"{_LOCATION_USERS.get(k, k)} at {hexoff(v)}" for k, v in found)
        yield Finding(p.code, offset=p.offset, length=p.length, message=message,
                      image=image_index(ctx, p.offset), detail=detail)


# ------------------------------------------------------------------------------------------------ own checks
@check("jpeg.fill-bytes")
def fill_bytes(ctx: CheckContext) -> Iterator[Finding]:
    """FF fill bytes before markers (legal): one finding per image, at the first occurrence."""
    for idx, image in enumerate(ctx.gmf.images):
        filled = [s for s in image.segments() if s.fill > 0]
        # Right after SOI, fill is jpeg.fill-after-soi (the reader reports it); leave that segment out.
        items = image.items
        first, second = (items[0], items[1]) if len(items) > 1 else (None, None)
        if isinstance(first, Segment) and isinstance(second, Segment) and first.marker == SOI and second.fill:
            filled = [s for s in filled if s is not items[1]]
        if not filled:
            continue
        first = filled[0]
        total = sum(s.fill for s in filled)
        more = f"; {len(filled) - 1} more marker(s) in this image, {total} fill byte(s) in all" \
            if len(filled) > 1 else ""
        yield Finding("jpeg.fill-bytes", offset=first.offset - first.fill, length=first.fill, image=idx,
                      message=f"{first.fill} FF fill byte(s) before the {first.name} marker at "
                              f"{hexoff(first.offset)} in {image_name(ctx, image)}{more}")


@check("jpeg.primary-no-image")
def primary_no_image(ctx: CheckContext) -> Iterator[Finding]:
    """The primary must have a frame header and at least one scan, or nothing decodes."""
    primary = ctx.gmf.primary
    frame = primary.frame_segment
    scans = primary.scans()
    if frame is not None and scans:
        return
    missing = "no frame header (SOFn)" if frame is None else "a frame header but no scan (SOS)"
    if frame is None and scans:
        missing = "scans but no frame header (SOFn) before them"
    yield Finding("jpeg.primary-no-image", offset=primary.offset, length=primary.size, image=0,
                  message=f"the primary ({primary.size} bytes at {hexoff(primary.offset)}) has {missing}: "
                          "no viewer can decode the picture")


@check("layout.image-before-gainmap")
def image_before_gainmap(ctx: CheckContext) -> Iterator[Finding]:
    """libultrahdr takes the first complete JPEG after the primary: is it the gain map?"""
    gm = ctx.gmf.gainmap
    scan = ctx.gmf.locations.get("scan")
    if gm is None or scan is None or scan >= gm.offset:
        return
    first = ctx.gmf.image_at(scan)
    if first is None or first is gm:
        return
    yield Finding("layout.image-before-gainmap", offset=first.offset, length=first.size,
                  image=ctx.image_index(first),
                  message=f"{image_name(ctx, first)} ({first.size} bytes at {hexoff(first.offset)}) comes before "
                          f"the gain map at {hexoff(gm.offset)}; libultrahdr takes it as the gain map")


@check("locate.gainmap-missing")
def gainmap_missing(ctx: CheckContext) -> Iterator[Finding]:
    """The primary promises a gain map, but no gain-map image is where any viewer looks."""
    gmf = ctx.gmf
    if gmf.gainmap is not None:
        return
    signals = primary_signals(ctx)
    if not signals:
        return
    looked = []
    for key, loc in gmf.locations.items():
        if key == "scan":
            continue
        if loc is not None:
            looked.append(f"{_LOCATION_USERS[key]} points at {hexoff(loc)}, {describe_offset(ctx, loc)}")
    later = gmf.images[1:]
    looked.append("no complete JPEG follows the primary" if not later else
                  f"the {len(later)} other image(s) carry no gain-map metadata")
    packet = gmf.primary.xmp
    if packet is not None and "GainMapMax" in packet.hdrgm:
        looked.append("the primary's own XMP holds hdrgm gain-map parameters: it may be a gain-map image saved "
                      "on its own")
    seg = next((s for _, s in signals if s is not None), None)
    what = ", ".join(dict.fromkeys(w for w, _ in signals))
    yield Finding("locate.gainmap-missing", offset=seg.offset if seg is not None else 0,
                  length=seg.size - seg.fill if seg is not None else None, image=0,
                  message=f"the primary signals a gain map ({what}) but the file has none: " + "; ".join(looked))
