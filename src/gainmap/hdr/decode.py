"""File-level decoding: a gain-map JPEG to linear HDR, and light measured in regions.

Output convention: float32 H x W x 3, linear light, 1.0 = SDR white, in the primary image's colour space
(from its ICC profile, sRGB when absent or unknown) unless ``colour_space`` names another.  Pixels are in
stored orientation (Exif orientation is not applied, as libultrahdr does not).  Values are not clipped:
colours outside the output gamut come out with negative components.

Metadata precedence: ISO 21496-1, then hdrgm, then Apple (libultrahdr's order).  Apple-format files (no ISO
or hdrgm record) are decoded with Apple's linear formula, not the ISO approximation.  ``headroom=None``
gives the full HDR rendition: the alternate for an SDR base, the base itself for an HDR base.

Speed and memory: the primary is decoded once to uint8, linearised through a 256-entry table into the
float32 output array, and the gain map is applied to that array in place, in row chunks
(:mod:`gainmap.hdr.apply`); the peak is about 1.3 times the output.  ``tests/benchmarks/bench_decode.py``
times it against libultrahdr.

How this differs from libultrahdr (measured in ``tests/test_decode.py`` on the corpus):

* JPEG decoding: libjpeg-turbo to 8-bit RGB (through imagecodecs; the same pixels Pillow gives), with its
  "fancy" triangular chroma upsampling, against libultrahdr's raw YCbCr decode with nearest-neighbour
  chroma and a float BT.601 conversion.  Identical in flat areas; at sharp colour edges the two disagree
  by up to the edge's contrast for a pixel or two.
* Gain-map sampling: bilinear, pixel-centre aligned (:mod:`gainmap.hdr.apply`), which is where a
  block-averaged map's samples lie; libultrahdr samples corner aligned (``x / scale``), 1.5 pixels off for
  a quarter-size map.  Again only gain edges differ.
* libultrahdr clips its linear output at the PQ peak (10000 / 203 of SDR white); this module does not.
* With ``use_base_colour_space = 0`` libultrahdr returns the alternate (gain-map ICC) primaries; this module
  converts back to the requested output space.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

from gainmap.errors import GainMapError
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.reader import read

Source = str | PathLike[str] | bytes | GainMapFile


def as_file(source: Source) -> GainMapFile:
    """``source`` as a parsed :class:`GainMapFile` (a path, the bytes, or a file already read)."""
    return source if isinstance(source, GainMapFile) else read(source)


def decode_pixels(image: JpegImage, mode: str | None = None, *, what: str = "image") -> np.ndarray:
    """Decode one image of the file into uint8 pixels: ``RGB`` (H, W, 3) or ``L`` (H, W).

    ``mode`` None keeps grey as ``L`` and turns anything else into ``RGB``.  libjpeg-turbo through
    imagecodecs does the work (twice as fast as Pillow here, and bit-identical to it on every corpus image:
    the same library with the same islow IDCT and fancy upsampling); Pillow takes over for what imagecodecs
    will not decode to grey or RGB (CMYK/YCCK).  A truncated image (no EOI) is an error rather than
    half a picture.
    """
    if not image.complete:
        raise GainMapError(f"the {what} at offset {image.offset} is truncated (it ends at offset {image.end} "
                           "without an EOI marker), so part of its pixels are missing")
    if image.width is not None and image.height is not None and \
            image.width * image.height > 2 * (Image.MAX_IMAGE_PIXELS or 1 << 62):
        raise GainMapError(f"the {what} at offset {image.offset} is {image.width}x{image.height}, too large to "
                           "decode safely; raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted")
    data = image.to_bytes()
    try:
        import imagecodecs

        arr = np.asarray(imagecodecs.jpeg8_decode(data))
    except Exception:  # any codec failure: Pillow tries, and reports in words
        arr = None
    if arr is not None and arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        if mode == "RGB" and arr.ndim == 2:
            return np.repeat(arr[:, :, np.newaxis], 3, axis=2)
        if mode == "L" and arr.ndim == 3:
            return _pillow_pixels(data, image, mode, what)
        return arr
    return _pillow_pixels(data, image, mode, what)


def _pillow_pixels(data: bytes, image: JpegImage, mode: str | None, what: str) -> np.ndarray:
    try:
        # The JPEG plugin itself, not Image.open: its factory would turn an MPF primary into an MPO and go
        # looking for the other frames in bytes that hold only this image.
        with JpegImagePlugin.JpegImageFile(io.BytesIO(data)) as im:
            im.load()
            wanted = mode if mode is not None else (im.mode if im.mode in ("L", "RGB") else "RGB")
            return np.asarray(im.convert(wanted) if im.mode != wanted else im)
    except Image.DecompressionBombError as exc:
        raise GainMapError(f"the {what} at offset {image.offset} is too large to decode safely ({exc}); "
                           "raise PIL.Image.MAX_IMAGE_PIXELS if the file is trusted") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise GainMapError(f"the {what} at offset {image.offset} does not decode: {exc}") from None


def primary_colour_space(gmf: GainMapFile) -> tuple[str, str]:
    """(colour space name, reason) of the primary, from its ICC profile."""
    from gainmap.hdr.color import colour_space_from_icc

    return colour_space_from_icc(gmf.primary.icc)


@dataclass(frozen=True)
class DecodeInfo:
    """What :func:`decode_with_info` used.

    ``colour_space`` is the output's primaries; ``colour_space_reason`` says how the primary's space was
    found.  ``metadata_source`` is ``"iso"``, ``"hdrgm"`` or ``"apple"``.  ``weight`` is the fraction of the
    map applied (negative when the base is the HDR rendition).  ``math_colour_space`` is where the gain was
    applied (the gain map's own space when ``use_base_colour_space`` is false).
    """

    colour_space: str
    colour_space_reason: str
    metadata: GainMapMetadata | None
    metadata_source: str
    weight: float
    math_colour_space: str = "srgb"
    primary_colour_space: str = "srgb"


@dataclass(frozen=True)
class _Plan:
    """How a file's gain map is to be applied (decided before any pixel is decoded)."""

    source: str                       # "iso" | "hdrgm" | "apple"
    metadata: GainMapMetadata | None  # None only for Apple without a usable record
    weight: float
    display_headroom: float | None    # passed to apply_gainmap (ISO/hdrgm)
    apple_linear: float = 1.0         # Apple: the effective linear headroom


def _check_headroom(headroom: float | None) -> float | None:
    if headroom is None:
        return None
    try:
        h = float(headroom)
    except (TypeError, ValueError):
        raise ValueError(f"headroom must be a number of stops, got {headroom!r}") from None
    if math.isnan(h):
        raise ValueError("headroom must not be NaN")
    return h


def _plan(gmf: GainMapFile, headroom: float | None) -> _Plan:
    from gainmap.hdr import apply as ap
    from gainmap.model import apple

    if gmf.gainmap is None:
        raise GainMapError(f"{gmf.source}: no gain map found, so there is no HDR rendition to decode; "
                           "`gainmap check` says why, `gainmap restore` can add one")
    sources = gmf.metadata_sources()
    if "iso" not in sources and "hdrgm" not in sources:
        head = apple.apple_headroom(gmf)
        if head is not None and head.linear >= 1.0 and math.isfinite(head.linear):
            full = head.stops
            weight = 1.0 if headroom is None or full <= 0 else min(max(headroom / full, 0.0), 1.0)
            return _Plan("apple", sources.get("apple"), weight, None, 2.0 ** (full * weight))
        raise GainMapError(f"{gmf.source}: the gain map at offset {gmf.gainmap.offset} has no usable metadata "
                           "(no valid ISO 21496-1 block, hdrgm XMP or Apple headroom); `gainmap check` "
                           "lists what is wrong and `gainmap repair` can rewrite it")
    key = "iso" if "iso" in sources else "hdrgm"
    md = sources[key]
    if not md.is_finite() or not all(g > 0 for g in md.gamma):
        raise GainMapError(f"{gmf.source}: the {key} gain-map metadata is not usable (non-finite values or "
                           f"gamma <= 0: {md}); `gainmap check` gives details")
    display = headroom
    if display is None and md.base_is_hdr:
        display = md.base_hdr_headroom      # the HDR rendition of an HDR base is the base itself
    return _Plan(key, md, ap.weight_for(md, display), display)


def _linear_base(gmf: GainMapFile) -> np.ndarray:
    """The primary decoded and linearised (float32, its own primaries): the sRGB curve for every space."""
    from gainmap.hdr.color import u8_to_linear_lut

    sdr_u8 = decode_pixels(gmf.primary, "RGB", what="primary image")
    return u8_to_linear_lut("srgb")[sdr_u8]     # fancy indexing: faster here than np.take


def _convert_in_place(arr: np.ndarray, src: str, dst: str, chunk_rows: int = 256) -> None:
    from gainmap.hdr.color import conversion_matrix

    if src == dst:
        return
    m = conversion_matrix(src, dst).T.astype(np.float32)
    for r0 in range(0, arr.shape[0], chunk_rows):
        block = arr[r0:r0 + chunk_rows]
        block[...] = block @ m


def decode_with_info(source: Source, headroom: float | None = None, *, colour_space: str | None = None
                     ) -> tuple[np.ndarray, DecodeInfo]:
    """Like :func:`decode`, also returning which metadata and colour spaces were used."""
    from gainmap.hdr import apply as ap
    from gainmap.hdr.color import canonical_name, colour_space_from_icc

    gmf = as_file(source)
    plan = _plan(gmf, _check_headroom(headroom))
    gm = gmf.gainmap
    assert gm is not None  # _plan refuses a file without one
    space, reason = primary_colour_space(gmf)
    out_space = space if colour_space is None else canonical_name(colour_space)
    gm_u8 = decode_pixels(gm, what="gain-map image")   # small: fail here before the big decode
    base = _linear_base(gmf)
    if plan.source == "apple":
        ap.apply_apple(base, gm_u8, plan.apple_linear, out=base)
        _convert_in_place(base, space, out_space)
        return base, DecodeInfo(out_space, reason, plan.metadata, "apple", plan.weight, space, space)
    md = plan.metadata
    assert md is not None
    math_space = space
    if not md.use_base_colour_space:
        math_space, _ = colour_space_from_icc(gm.icc)
    _convert_in_place(base, space, math_space)
    ap.apply_gainmap(base, gm_u8, md, plan.display_headroom, out=base)
    _convert_in_place(base, math_space, out_space)
    return base, DecodeInfo(out_space, reason, md, plan.source, plan.weight, math_space, space)


def decode_pixels_reduced(image: JpegImage, reduce: int, *, what: str = "image") -> np.ndarray:
    """uint8 RGB pixels at about 1/``reduce`` size (1, 2, 4 or 8) through libjpeg's DCT scaling (Pillow's
    ``draft``): several times faster than a full decode followed by a resize.  The size is
    ceil(size / reduce) per axis, as libjpeg scales."""
    if reduce == 1:
        return decode_pixels(image, "RGB", what=what)
    if not image.complete:
        return decode_pixels(image, "RGB", what=what)   # raises the truncation error
    try:
        with JpegImagePlugin.JpegImageFile(io.BytesIO(image.to_bytes())) as im:
            im.draft("RGB", (-(-im.width // reduce), -(-im.height // reduce)))
            im.load()
            return np.asarray(im.convert("RGB") if im.mode != "RGB" else im)
    except Image.DecompressionBombError as exc:
        raise GainMapError(f"the {what} at offset {image.offset} is too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise GainMapError(f"the {what} at offset {image.offset} does not decode: {exc}") from None


def decode_reduced(source: Source, reduce: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, DecodeInfo]:
    """(SDR uint8, SDR linear, full HDR linear, info) with the primary decoded at 1/``reduce`` size
    (:func:`decode_pixels_reduced`); both linear arrays are in the primary's colour space.  For an HDR base the
    SDR linear array is the SDR rendition (the map applied towards it), the uint8 array the base as stored."""
    from gainmap.hdr import apply as ap
    from gainmap.hdr.color import colour_space_from_icc, u8_to_linear_lut

    gmf = as_file(source)
    plan = _plan(gmf, None)
    gm = gmf.gainmap
    assert gm is not None  # _plan refuses a file without one
    space, reason = primary_colour_space(gmf)
    gm_u8 = decode_pixels(gm, what="gain-map image")
    sdr_u8 = decode_pixels_reduced(gmf.primary, reduce, what="primary image")
    sdr = u8_to_linear_lut("srgb")[sdr_u8]
    hdr = sdr.copy()
    if plan.source == "apple":
        ap.apply_apple(hdr, gm_u8, plan.apple_linear, out=hdr)
        return sdr_u8, sdr, hdr, DecodeInfo(space, reason, plan.metadata, "apple", plan.weight, space, space)
    md = plan.metadata
    assert md is not None
    math_space = space if md.use_base_colour_space else colour_space_from_icc(gm.icc)[0]
    target = sdr if md.base_is_hdr else hdr
    _convert_in_place(target, space, math_space)
    ap.apply_gainmap(target, gm_u8, md, md.alternate_hdr_headroom if md.base_is_hdr else None, out=target)
    _convert_in_place(target, math_space, space)
    return sdr_u8, sdr, hdr, DecodeInfo(space, reason, md, plan.source, plan.weight, math_space, space)


def decode(source: Source, headroom: float | None = None, *, colour_space: str | None = None) -> np.ndarray:
    """Linear HDR (float32 H x W x 3, 1.0 = SDR white) from SDR + gain map + metadata.

    ``headroom`` is the display's headroom in stops (log2 of peak / SDR white); None renders the full HDR
    rendition.  ``colour_space`` picks the output primaries (``"srgb"``, ``"display-p3"``, ``"bt2020"``);
    None keeps the primary image's.  Raises :class:`GainMapError` when the file has no usable gain map.
    """
    return decode_with_info(source, headroom, colour_space=colour_space)[0]


def parse_region(text: str) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` to a tuple of ints, with a clear error."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"region {text!r} is not x,y,w,h (four integers, e.g. 100,200,50,50)") from None
    return x, y, w, h


def measure(source: Source, regions: list[tuple[int, int, int, int]], headroom: float | None = None, *,
            colour_space: str | None = None) -> list[dict[str, Any]]:
    """Mean linear R, G, B, luminance and chromaticity per rectangle, for the SDR and the HDR rendition.

    Each entry: ``region`` [x, y, w, h], ``colour_space`` (of the numbers), ``sdr`` and ``hdr``
    (:func:`gainmap.hdr.measure.region_stats` dicts; ``hdr`` is None for a file without a gain map).
    Regions are checked against the image size before anything is decoded.
    """
    from gainmap.hdr.color import canonical_name
    from gainmap.hdr.measure import region_stats, validate_rect

    gmf = as_file(source)
    width, height = gmf.primary.width, gmf.primary.height
    if width is None or height is None:
        raise GainMapError(f"{gmf.source}: the primary image has no frame header, so it has no size")
    rects = [validate_rect(r, width, height) for r in regions]
    space, _ = primary_colour_space(gmf)
    out_space = space if colour_space is None else canonical_name(colour_space)
    hdr: np.ndarray | None = None
    sdr_full: np.ndarray | None = None
    if gmf.gainmap is not None:
        plan = _plan(gmf, _check_headroom(headroom))
        hdr = decode(gmf, headroom, colour_space=out_space)
        if plan.source != "apple" and plan.metadata is not None and plan.metadata.base_is_hdr:
            sdr_full = decode(gmf, plan.metadata.alternate_hdr_headroom, colour_space=out_space)
    sdr_u8 = decode_pixels(gmf.primary, "RGB", what="primary image") if sdr_full is None else None
    out = []
    for rect in rects:
        x, y, w, h = rect
        if sdr_full is not None:
            sdr_stats = region_stats(sdr_full, rect, out_space)
        else:
            assert sdr_u8 is not None  # decoded above exactly when sdr_full is None
            crop = _linear_crop(sdr_u8[y:y + h, x:x + w], space, out_space)
            sdr_stats = region_stats(crop, (0, 0, w, h), out_space)
        out.append({"region": list(rect), "colour_space": out_space, "sdr": sdr_stats,
                    "hdr": region_stats(hdr, rect, out_space) if hdr is not None else None})
    return out


def _linear_crop(u8: np.ndarray, space: str, out_space: str) -> np.ndarray:
    from gainmap.hdr.color import u8_to_linear_lut

    lin = u8_to_linear_lut("srgb")[u8]
    _convert_in_place(lin, space, out_space)
    return lin
