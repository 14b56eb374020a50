"""Checks of the ``icc`` family: ICC_PROFILE chunks (Skia's rules), the profile header and tag table, the colour
space it describes, and the gain-map profile that Apple's ImageIO is reported to choke on (formats.md §5, §6, §7).

Only header chunks count (readers stop at the first SOS).  The chunk and profile parsers
(:func:`gainmap.formats.icc.assemble_icc`, :func:`gainmap.formats.icc.parse_icc_profile`) record the problems;
here they get the absolute offset of the chunk or profile byte concerned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.analysis.checks.structure import hexoff, image_name, signals_gainmap
from gainmap.errors import SchemaError
from gainmap.formats.icc import (
    ICC_IDENT,
    IccChunk,
    IccProfile,
    assemble_icc,
    parse_icc_chunk,
    parse_icc_profile,
)
from gainmap.formats.scanner import Segment
from gainmap.hdr.color import colour_space_from_icc

_SEQ = len(ICC_IDENT)        # payload offset of the sequence number
_DATA = len(ICC_IDENT) + 2   # payload offset of the profile bytes
_CHUNK_IDS = ("icc.chunk-count", "icc.chunk-count-mismatch", "icc.chunk-index", "icc.chunk-duplicate",
              "icc.chunk-missing")
_PROFILE_IDS = ("icc.size", "icc.illuminant", "icc.tag-count", "icc.tag-bounds", "icc.tag-duplicate",
                "icc.tag-type")
#: Profile data colour spaces that fit a JPEG of n components (YCbCr JPEGs are described by RGB profiles).
_SPACES = {1: ("GRAY",), 3: ("RGB ", "YCbr", "Lab "), 4: ("CMYK",)}


def _chunks(image: Any) -> list[tuple[Segment, IccChunk | None]]:
    """The header ICC_PROFILE segments of ``image`` with their parsed chunk (None when unreadable)."""
    out: list[tuple[Segment, IccChunk | None]] = []
    for seg in image.header_segments():
        if seg.kind != "icc":
            continue
        try:
            out.append((seg, parse_icc_chunk(seg.payload)))
        except SchemaError:
            out.append((seg, None))
    return out


def _images(ctx: CheckContext) -> list[Any]:
    gm = ctx.gmf.gainmap
    return [ctx.gmf.primary] + ([gm] if gm is not None and gm is not ctx.gmf.primary else [])


def _profile_map(pairs: list[tuple[Segment, IccChunk | None]]) -> list[tuple[int, int, int]]:
    """(profile start, profile end, absolute file offset) of each chunk's data, in sequence order."""
    spans, pos = [], 0
    for seg, chunk in sorted(((s, c) for s, c in pairs if c is not None), key=lambda sc: sc[1].seq):
        spans.append((pos, pos + len(chunk.data), seg.payload_offset + _DATA))
        pos += len(chunk.data)
    return spans


def _to_file(spans: list[tuple[int, int, int]], rel: int) -> int:
    for start, end, absolute in spans:
        if start <= rel < end:
            return absolute + rel - start
    return spans[0][2] if spans else 0


@check(*_CHUNK_IDS)
def icc_chunks(ctx: CheckContext) -> Iterator[Finding]:
    """ICC_PROFILE chunk numbering (Skia rejects the whole profile on any violation)."""
    for image in _images(ctx):
        pairs = _chunks(image)
        if not pairs:
            continue
        idx = ctx.image_index(image)
        for seg, chunk in pairs:
            if chunk is None:
                yield Finding("icc.chunk-index", None, seg.offset, seg.size - seg.fill, image=idx,
                              message=f"ICC_PROFILE APP2 at {hexoff(seg.offset)} in {image_name(ctx, image)} is "
                                      f"too short ({len(seg.payload)} bytes) for its sequence number and count")
        segs = [s for s, c in pairs if c is not None]
        chunks = [c for _, c in pairs if c is not None]
        _profile, problems = assemble_icc(chunks)
        for p in problems:
            seg, field = _problem_segment(p.code, p.message, segs, chunks)
            yield Finding(p.code, None, seg.payload_offset + field if field is not None else seg.offset,
                          1 if field is not None else sum(s.size - s.fill for s in segs), image=idx,
                          message=f"{p.message} (ICC_PROFILE APP2 at {hexoff(seg.offset)} in "
                                  f"{image_name(ctx, image)})")


def _problem_segment(code: str, message: str, segs: list[Segment], chunks: list[IccChunk]
                     ) -> tuple[Segment, int | None]:
    """The segment a chunk problem is about, and the payload offset of the byte (seq or count) at fault."""
    if code == "icc.chunk-duplicate":
        m = re.search(r"number (\d+)", message)
        seq = int(m.group(1)) if m else -1
        hits = [s for s, c in zip(segs, chunks) if c.seq == seq]
        return (hits[1] if len(hits) > 1 else segs[0]), _SEQ
    if code == "icc.chunk-missing":
        return segs[0], None
    m = re.search(r"#(\d+)", message)
    i = int(m.group(1)) if m and int(m.group(1)) < len(segs) else 0
    return segs[i], (_SEQ if code == "icc.chunk-index" else _SEQ + 1)


def _profile(ctx: CheckContext, image: Any) -> tuple[bytes | None, IccProfile | None, str | None]:
    """The assembled profile of ``image``, its parse, and why it does not parse (cached per image)."""
    key = ("icc.profile", id(image))
    if key not in ctx.cache:
        data = image.icc
        parsed, error = None, None
        if data is not None:
            try:
                parsed = parse_icc_profile(data)
            except SchemaError as exc:
                error = str(exc)
        ctx.cache[key] = (data, parsed, error)
    return ctx.cache[key]


@check("icc.header", "icc.colour-space", *_PROFILE_IDS)
def icc_profile(ctx: CheckContext) -> Iterator[Finding]:
    """The reassembled profile: header sanity, tag table, and its colour space against the image's components."""
    for image in _images(ctx):
        data, parsed, error = _profile(ctx, image)
        if data is None:
            continue
        pairs = _chunks(image)
        spans = _profile_map(pairs)
        idx = ctx.image_index(image)
        first = spans[0][2]
        where = f"ICC profile of {image_name(ctx, image)} (data from {hexoff(first)})"
        if parsed is None:
            yield Finding("icc.header", None, first, min(len(data), 132), image=idx,
                          message=f"{where}, {len(data)} bytes: {error}; readers fall back to sRGB")
            continue
        for p in parsed.problems:
            if p.code in _PROFILE_IDS:
                yield Finding(p.code, None, _to_file(spans, p.offset), p.length, image=idx,
                              message=f"{where}: {p.message}")
        allowed = _SPACES.get(image.components or 0)
        space = parsed.header.colour_space
        if allowed is not None and space not in allowed:
            yield Finding("icc.colour-space", None, _to_file(spans, 16), 4, image=idx,
                          message=f"{where} describes {space.strip()!r} data but the image has "
                                  f"{image.components} component(s)")


def _use_base_colour_space(gm: Any) -> bool:
    """ISO 21496-1 flag; files without a full ISO block (hdrgm, Apple) always use the base colour space."""
    iso = gm.iso
    if iso is None or iso.layout == "version-only" or iso.flags is None:
        return True
    return iso.use_base_colour_space


def _hdr_intent(parsed: IccProfile) -> str | None:
    """Why a gain-map profile looks like libultrahdr's HDR-intent profile (cicp or LUT-based), or None."""
    if parsed.cicp is not None:
        return f"a cicp tag ({'/'.join(str(v) for v in parsed.cicp)})"
    if not parsed.is_matrix_rgb and parsed.header.colour_space == "RGB ":
        return "LUT-based (no colorant matrix)"
    return None


@check("icc.gamut", "icc.gainmap-profile")
def icc_colour(ctx: CheckContext) -> Iterator[Finding]:
    """The colour space the primary's profile describes (info), and a gain-map profile ImageIO chokes on."""
    primary = ctx.gmf.primary
    data, parsed, _ = _profile(ctx, primary)
    if parsed is not None:
        name, reason = colour_space_from_icc(data)
        desc = f" \"{parsed.description}\"" if parsed.description else ""
        seg = _chunks(primary)[0][0]
        yield Finding("icc.gamut", None, seg.offset, seg.size - seg.fill, image=0,
                      message=f"primary's ICC profile{desc}: {name} ({reason})", detail={"colour_space": name})
    gm = ctx.gmf.gainmap
    if gm is None or gm is primary:
        return
    data, parsed, _ = _profile(ctx, gm)
    if parsed is None or data is None:
        return
    pairs = _chunks(gm)
    seg = pairs[0][0]
    idx = ctx.image_index(gm)
    desc = f" \"{parsed.description}\"" if parsed.description else ""
    if not _use_base_colour_space(gm):
        name, reason = colour_space_from_icc(data)
        yield Finding("icc.gamut", None, seg.offset, seg.size - seg.fill, image=idx,
                      message=f"gain map's ICC profile{desc}, the colour space of the gain-map math "
                              f"(use_base_colour_space = 0): {name} ({reason})", detail={"colour_space": name})
        return
    intent = _hdr_intent(parsed)
    if intent is None:
        return
    yield Finding("icc.gainmap-profile", None, seg.offset, sum(s.size - s.fill for s, _ in pairs), image=idx,
                  message=f"the gain map carries an ICC profile{desc} ({len(data)} bytes, {intent}) although "
                          "the map is applied in the base colour space; reported to make ImageIO return no "
                          "image (Preview/QuickLook hang)")


@check("icc.missing")
def icc_missing(ctx: CheckContext) -> Iterator[Finding]:
    """A gain-map file whose primary has no ICC profile."""
    primary = ctx.gmf.primary
    if not signals_gainmap(ctx):
        return
    if any(s.kind == "icc" for s in primary.header_segments()):
        return
    yield Finding("icc.missing", None, primary.offset, 2, image=0,
                  message="the primary has no ICC_PROFILE APP2 before its first SOS; every reader assumes sRGB")
