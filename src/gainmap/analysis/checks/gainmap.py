"""Checks of the ``gainmap`` family: the gain-map image itself (formats.md §5, §7).

This is the only family that decodes pixels, and only those of the gain-map image: Pillow decodes it in draft
mode (libjpeg's 1/8 DCT scaling), which reads every entropy-coded byte, so truncation and broken Huffman data
are caught, at a small fraction of the cost of a full decode.  Everything else comes from the frame headers.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

from PIL import Image

from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.analysis.checks.structure import hexoff, image_name, signals_gainmap

#: libultrahdr's default UHDR_MAX_DIMENSION: wider or taller images are refused (8192 itself is accepted).
UHDR_MAX_DIMENSION = 8192


def _decode_error(data: bytes) -> str | None:
    """Why Pillow cannot decode the JPEG ``data``, or None when it decodes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... for bad data
        return f"{type(exc).__name__}: {exc}"
    return None


@check("gainmap.decode", "gainmap.channels")
def gainmap_image(ctx: CheckContext) -> Iterator[Finding]:
    """The gain-map JPEG decodes, and has 1 or 3 components."""
    gm = ctx.gmf.gainmap
    if gm is None:
        return
    idx = ctx.image_index(gm)
    error = _decode_error(gm.to_bytes())
    if error is not None:
        why = "" if gm.complete else " (the image has no EOI: it was cut short)"
        yield Finding("gainmap.decode", None, gm.offset, gm.size, image=idx,
                      message=f"the gain map at {hexoff(gm.offset)} ({gm.size} bytes) does not decode{why}: {error}")
    if gm.components is not None and gm.components not in (1, 3):
        seg = gm.frame_segment
        yield Finding("gainmap.channels", None, seg.offset if seg is not None else gm.offset,
                      seg.size - seg.fill if seg is not None else 2, image=idx,
                      message=f"the gain map has {gm.components} components; a gain map is grayscale (1) or RGB (3)")


@check("gainmap.size-ratio", "gainmap.integer-ratio")
def gainmap_size(ctx: CheckContext) -> Iterator[Finding]:
    """The gain map's size against the primary's: not larger, same aspect ratio, integer scale or not."""
    gm, primary = ctx.gmf.gainmap, ctx.gmf.primary
    if gm is None:
        return
    gw, gh, pw, ph = gm.width, gm.height, primary.width, primary.height
    if gw is None or gh is None or pw is None or ph is None or min(gw, gh, pw, ph) <= 0:
        return
    seg = gm.frame_segment
    at, length = (seg.offset, seg.size - seg.fill) if seg is not None else (gm.offset, 2)
    idx = ctx.image_index(gm)
    sizes = f"gain map {gw}x{gh}, primary {pw}x{ph}"
    problems = []
    if gw > pw or gh > ph:
        problems.append(f"the gain map is larger than the primary (x{gw / pw:.3g} by x{gh / ph:.3g})")
    # Same aspect ratio, allowing each side of the map to be rounded either way.
    expected_h = gw * ph / pw
    if abs(gh - expected_h) > 1.0 + 0.005 * gh:
        problems.append(f"the aspect ratios differ ({pw / ph:.4g} against {gw / gh:.4g}): the map is stretched "
                        f"x{pw / gw:.3g} across and x{ph / gh:.3g} down")
    if problems:
        yield Finding("gainmap.size-ratio", None, at, length, image=idx, message=f"{sizes}: " + "; ".join(problems))
        return
    if pw % gw or ph % gh:
        yield Finding("gainmap.integer-ratio", None, at, length, image=idx,
                      message=f"{sizes}: scale x{pw / gw:.4g} by x{ph / gh:.4g}, not an integer; readers resample "
                              "with a fractional scale")


@check("gainmap.dimension-limit")
def dimension_limit(ctx: CheckContext) -> Iterator[Finding]:
    """Primary or gain map wider or taller than libultrahdr's 8192 pixels."""
    if ctx.gmf.gainmap is None and not signals_gainmap(ctx):
        return
    for image in (ctx.gmf.primary, ctx.gmf.gainmap):
        if image is None or image.width is None or image.height is None:
            continue
        seg = image.frame_segment
        if seg is not None and max(image.width, image.height) > UHDR_MAX_DIMENSION:
            yield Finding("gainmap.dimension-limit", None, seg.offset, seg.size - seg.fill,
                          image=ctx.image_index(image),
                          message=f"{image_name(ctx, image)} is {image.width}x{image.height}; libultrahdr "
                                  f"refuses images wider or taller than {UHDR_MAX_DIMENSION} pixels")


@check("gainmap.base-format")
def base_format(ctx: CheckContext) -> Iterator[Finding]:
    """libultrahdr needs a 3-component (YCbCr) primary as the base."""
    primary = ctx.gmf.primary
    if (ctx.gmf.gainmap is None and not signals_gainmap(ctx)) or primary.components in (None, 3):
        return
    seg = primary.frame_segment
    if seg is None:
        return
    kind = {1: "grayscale", 4: "CMYK/YCCK"}.get(primary.components, f"{primary.components}-component")
    yield Finding("gainmap.base-format", None, seg.offset, seg.size - seg.fill, image=0,
                  message=f"the primary is {kind} ({primary.components} component(s) in {seg.name} at "
                          f"{hexoff(seg.offset)}); libultrahdr accepts only a YCbCr base")
