"""File-level decoding: a gain-map JPEG to linear HDR, and light measured in regions.

Output convention: float32 H x W x 3, linear light in the primary image's colour space (from its ICC profile,
sRGB when absent or unknown), 1.0 = SDR white.  Pixels are in stored orientation (Exif orientation is not
applied, as libultrahdr does not).  Metadata precedence: ISO 21496-1, then hdrgm, then Apple (libultrahdr's
order); Apple-format files are decoded with Apple's linear formula, not the ISO approximation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
from PIL import Image

from gainmap.container import GainMapFile, JpegImage, read
from gainmap.errors import GainMapError
from gainmap.metadata import GainMapMetadata

Source = str | PathLike[str] | bytes | GainMapFile


def as_file(source: Source) -> GainMapFile:
    return source if isinstance(source, GainMapFile) else read(source)


def decode_pixels(image: JpegImage, mode: str | None = None, *, what: str = "image") -> np.ndarray:
    """Decode one image of the file with Pillow into uint8 pixels (``RGB`` or ``L``)."""
    try:
        with Image.open(io.BytesIO(image.to_bytes())) as im:
            im.load()
            if mode is not None:
                im = im.convert(mode)
            elif im.mode not in ("L", "RGB"):
                im = im.convert("RGB")
            return np.asarray(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise GainMapError(f"the {what} at offset {image.offset} does not decode: {exc}") from None


def primary_colour_space(gmf: GainMapFile) -> tuple[str, str]:
    """(colour space name, reason) of the primary, from its ICC profile."""
    from gainmap.hdr.color import colour_space_from_icc

    return colour_space_from_icc(gmf.primary.icc)


@dataclass(frozen=True)
class DecodeInfo:
    """What :func:`decode_with_info` used."""

    colour_space: str
    colour_space_reason: str
    metadata: GainMapMetadata | None
    metadata_source: str
    weight: float


def decode_with_info(source: Source, headroom: float | None = None) -> tuple[np.ndarray, DecodeInfo]:
    """Like :func:`decode`, also returning which metadata and colour space were used."""
    from gainmap import apple
    from gainmap.hdr import apply as ap
    from gainmap.hdr.color import conversion_matrix, u8_to_linear_lut

    gmf = as_file(source)
    space, reason = primary_colour_space(gmf)
    sdr_u8 = decode_pixels(gmf.primary, "RGB", what="primary image")
    base = u8_to_linear_lut("srgb")[sdr_u8]
    if gmf.gainmap is None:
        raise GainMapError(f"{gmf.source}: no gain map found; nothing to decode beyond SDR")
    gm_u8 = decode_pixels(gmf.gainmap, what="gain-map image")
    sources = gmf.metadata_sources()
    head = apple.apple_headroom(gmf)
    if "iso" not in sources and "hdrgm" not in sources and head is not None:
        full = head.stops
        weight = 1.0 if headroom is None or full <= 0 else float(np.clip(headroom / full, 0.0, 1.0))
        eff = 2.0 ** (full * weight)
        out = ap.apply_apple(base, gm_u8, eff)
        return out, DecodeInfo(space, reason, sources.get("apple"), "apple", weight)
    md = gmf.metadata()
    if md is None:
        raise GainMapError(f"{gmf.source}: the gain map at offset {gmf.gainmap.offset} has no usable metadata "
                           "(no valid ISO 21496-1 block, hdrgm XMP or Apple headroom)")
    key = next(k for k in ("iso", "hdrgm", "apple") if k in sources)
    weight = ap.weight_for(md, headroom)
    math_space = space
    if not md.use_base_colour_space:
        from gainmap.hdr.color import colour_space_from_icc

        math_space, _ = colour_space_from_icc(gmf.gainmap.icc)
    if math_space != space:
        m = conversion_matrix(space, math_space).astype(np.float32)
        base = base @ m.T
    out = ap.apply_gainmap(base, gm_u8, md, headroom)
    if math_space != space:
        out = out @ conversion_matrix(math_space, space).astype(np.float32).T
    return out, DecodeInfo(space, reason, md, key, weight)


def decode(source: Source, headroom: float | None = None) -> np.ndarray:
    """Linear HDR (float32 H x W x 3, 1.0 = SDR white) from SDR + gain map + metadata.

    ``headroom`` is the display's headroom in stops (log2 of peak / SDR white); None renders the full
    alternate (HDR) rendition.
    """
    return decode_with_info(source, headroom)[0]


def parse_region(text: str) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` to a tuple of ints, with a clear error."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"region {text!r} is not x,y,w,h (four integers)") from None
    return x, y, w, h


def measure(source: Source, regions: list[tuple[int, int, int, int]], headroom: float | None = None
            ) -> list[dict[str, Any]]:
    """Mean linear R, G, B, luminance and chromaticity per rectangle, for the SDR and the HDR rendition."""
    from gainmap.hdr.color import u8_to_linear_lut
    from gainmap.hdr.measure import region_stats

    gmf = as_file(source)
    space, _ = primary_colour_space(gmf)
    sdr = u8_to_linear_lut("srgb")[decode_pixels(gmf.primary, "RGB", what="primary image")]
    hdr = decode(gmf, headroom) if gmf.gainmap is not None else None
    out = []
    for rect in regions:
        row: dict[str, Any] = {"region": list(rect), "colour_space": space,
                               "sdr": region_stats(sdr, rect, space)}
        row["hdr"] = region_stats(hdr, rect, space) if hdr is not None else None
        out.append(row)
    return out
