"""Build an Ultra HDR / ISO 21496-1 file: from an SDR image and a gain map, or from an HDR image.

Inputs
------
* ``sdr``: JPEG bytes (or a path to a JPEG), kept exactly as they are (only the metadata segments the
  assembler owns are replaced); or 8-bit sRGB-encoded pixels (uint8 H x W x 3 or H x W; or a path to a PNG,
  TIFF...), encoded with Pillow at ``quality``; or float pixels, taken as *linear* SDR in [0, 1] and
  encoded with the sRGB curve.  ``None`` with ``hdr``: tone-mapped from it.
* ``gainmap`` + ``metadata``: a uint8 map (h x w or h x w x 3; encoded with Pillow at ``gainmap_quality``,
  grey or 4:4:4 colour, so the map keeps its resolution in every channel) or a gain-map JPEG (kept).
* ``hdr``: linear float H x W x 3 (1.0 = SDR white) in ``colour_space`` primaries.  Without ``gainmap`` it
  is tone-mapped (:func:`gainmap.hdr.tonemap.tonemap`, extended Reinhard on luminance) when there is no SDR,
  and the gain map and metadata are computed (:func:`gainmap.hdr.compute.compute_gainmap`, Ultra HDR v1.0
  defaults) at 1/``gainmap_scale`` size.  The map is computed against the SDR JPEG *as decoders will see it*
  (the encoded JPEG decoded again), so the base image's coding error is corrected where the map's
  resolution allows.

Colour: ``colour_space`` names the primaries of the SDR/HDR pixels (``"srgb"``, ``"display-p3"``,
``"bt2020"``; the SDR uses the sRGB curve in each).  ``None`` takes the space of an SDR JPEG's ICC profile,
else sRGB.  The primary gets the matching ICC profile unless it already has one (a conflicting one is an
error); ``icc`` replaces the generated profile for a primary that has none.

The result is laid out by :func:`gainmap.model.assemble.assemble` (the safe interop profile: hdrgm XMP plus
ISO 21496-1, GContainer, big-endian MPF before SOS, no gain-map ICC).  Call ``.to_bytes()`` to write it.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
from PIL import Image

from gainmap.errors import GainMapError
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile

#: Largest relative difference between the primary's and the gain map's aspect ratios that libultrahdr
#: accepts (``applyGainMap``: 1 %).
MAX_ASPECT_DELTA = 0.01

JPEG_SOI = b"\xff\xd8\xff"

ImageInput = bytes | bytearray | memoryview | str | os.PathLike[str] | np.ndarray


def icc_for(colour_space: str) -> bytes:
    """The ICC profile written for a colour space: matrix/TRC, the space's primaries, the sRGB curve."""
    from gainmap.hdr import color, profiles

    name = color.canonical_name(colour_space)
    if name == "srgb":
        return profiles.srgb_profile()
    if name == "display-p3":
        return profiles.display_p3_profile()
    return profiles.make_rgb_profile("BT.2020 Gamut with sRGB Transfer", color.PRIMARIES["bt2020"], color.WHITE_D65)


def icc_space(profile: bytes | None) -> str | None:
    """The named space an ICC profile identifies, or None when it has none we know (or no profile)."""
    from gainmap.hdr.color import colour_space_from_icc

    if not profile:
        return None
    name, reason = colour_space_from_icc(profile)
    return None if reason.endswith("sRGB assumed") else name


def load_image(value: ImageInput, what: str) -> bytes | np.ndarray:
    """JPEG bytes as bytes; a path to a JPEG as its bytes; any other image file as a uint8 array."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if not data.startswith(JPEG_SOI):
            raise GainMapError(f"the {what} bytes are not a JPEG (pass pixels as a numpy array)")
        return data
    path = os.fspath(value)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise GainMapError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if data.startswith(JPEG_SOI):
        return data
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode in ("L", "RGB"):
                return np.asarray(im)
            return np.asarray(im.convert("L" if im.mode in ("1", "LA", "I;16", "I", "F") else "RGB"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise GainMapError(f"{path}: the {what} is not an image Pillow can read ({exc})") from None


def _sdr_u8(pixels: np.ndarray) -> np.ndarray:
    """uint8 sRGB-coded (H, W, 3) from uint8 codes or linear float SDR."""
    from gainmap.hdr.tonemap import encode_srgb_u8

    a = np.asarray(pixels)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, np.newaxis], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise GainMapError(f"SDR pixels must be (H, W, 3) or (H, W), got shape {np.shape(pixels)}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        return encode_srgb_u8(a)
    raise GainMapError(f"SDR pixels must be uint8 sRGB codes or linear floats, got {a.dtype}")


def encode_jpeg(pixels: np.ndarray, quality: int, subsampling: str | int = "4:2:0") -> bytes:
    """Baseline JPEG of uint8 grey (H, W) or RGB (H, W, 3) pixels with Pillow (no metadata)."""
    if not 1 <= int(quality) <= 100:
        raise GainMapError(f"JPEG quality must be 1..100, got {quality!r}")
    a = np.ascontiguousarray(pixels)
    mode = "L" if a.ndim == 2 else "RGB"
    buf = io.BytesIO()
    options: dict[str, Any] = {"quality": int(quality)}
    if mode == "RGB":
        options["subsampling"] = subsampling
    Image.fromarray(a, mode).save(buf, "JPEG", **options)
    return buf.getvalue()


def _gainmap_u8(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise GainMapError(f"a gain map given as pixels must be uint8 codes, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.shape[0] < 1 or a.shape[1] < 1:
        raise GainMapError(f"a gain map must be (h, w) or (h, w, 3), got shape {np.shape(pixels)}")
    return a


def _jpeg_dims(data: bytes, what: str) -> tuple[int, int, int]:
    """(width, height, components) of the first image of JPEG bytes."""
    from gainmap.model.reader import read

    image = read(data, name=what).primary
    if image.frame is None or image.width is None or image.height is None:
        raise GainMapError(f"the {what} JPEG has no frame header (SOF), so it holds no image")
    return image.width, image.height, image.components or 0


def _check_aspect(primary: tuple[int, int], gainmap: tuple[int, int]) -> None:
    pw, ph = primary
    gw, gh = gainmap
    a, b = pw / ph, gw / gh
    if abs(a - b) / a > MAX_ASPECT_DELTA:
        raise GainMapError(f"the gain map is {gw}x{gh} but the image is {pw}x{ph}: their aspect ratios differ by "
                           f"more than {MAX_ASPECT_DELTA:.0%}, which libultrahdr rejects; resize the gain map to "
                           f"about {pw}/{ph} of a whole fraction of the image size")


def _check_channels(md: GainMapMetadata, channels: int) -> None:
    if md.channel_count == 3 and md.is_multichannel and channels != 3:
        raise GainMapError("the metadata has different values per channel but the gain map has one channel; "
                           "give a 3-channel gain map or single-channel metadata")


def build(sdr: ImageInput | None, gainmap: ImageInput | None = None, metadata: GainMapMetadata | None = None,
          *, hdr: np.ndarray | None = None, quality: int = 90, gainmap_quality: int = 85,
          gainmap_scale: int = 4, colour_space: str | None = None, multichannel: bool = False,
          gamma: float = 1.0, min_log2: float | None = None, max_log2: float | None = None,
          peak: float | None = None, subsampling: str | int = "4:2:0", icc: bytes | None = None,
          write_xmp: bool = True, write_iso: bool = True, byte_order: str = "MM",
          name: str = "<built>") -> GainMapFile:
    """A new gain-map file from SDR + gain map + metadata, or from an HDR image (see the module docstring).

    ``quality`` is the SDR JPEG quality (pixels only; JPEG bytes are kept), ``gainmap_quality`` the gain
    map's.  With ``hdr``: ``gainmap_scale`` (map = image / scale), ``multichannel``, ``gamma``,
    ``min_log2``/``max_log2`` (the gain range in stops; default the observed one) and ``peak`` (the tone
    mapper's white, linear; default the 99.9th percentile of luminance) steer the computation.
    """
    from gainmap.hdr import color
    from gainmap.model.assemble import assemble

    if gainmap is not None and hdr is not None:
        raise GainMapError("give either a gain map (with metadata) or an HDR image to compute one from, not both")
    if gainmap is None and hdr is None:
        raise GainMapError("nothing to build a gain map from: give a gain map with its metadata, or an HDR image")
    if gainmap is not None and metadata is None:
        raise GainMapError("a gain map needs its metadata (GainMapMetadata: at least gain_map_max)")
    if sdr is None and hdr is None:
        raise GainMapError("no SDR image: give one, or an HDR image to tone-map")

    space = None if colour_space is None else color.canonical_name(colour_space)
    sdr_in = None if sdr is None else load_image(sdr, "SDR image")
    if isinstance(sdr_in, bytes):
        from gainmap.model.reader import read

        found = icc_space(read(sdr_in, name="SDR image").primary.icc)
        if space is not None and found is not None and found != space:
            raise GainMapError(f"the SDR JPEG's ICC profile says {found} but colour_space is {space}; drop "
                               "colour_space to keep the profile, or re-encode the pixels")
        space = space or found or "srgb"
    space = space or "srgb"

    hdr_arr: np.ndarray | None = None
    if hdr is not None:
        hdr_arr = np.asarray(hdr)
        if hdr_arr.ndim != 3 or hdr_arr.shape[2] != 3 or not np.issubdtype(hdr_arr.dtype, np.floating):
            raise GainMapError(f"the HDR image must be linear float (H, W, 3), got {hdr_arr.dtype} {hdr_arr.shape}")

    # ---- the primary JPEG
    if sdr_in is None:
        from gainmap.hdr.tonemap import tonemap

        assert hdr_arr is not None
        primary = encode_jpeg(_sdr_u8(tonemap(hdr_arr, space, peak)), quality, subsampling)
    elif isinstance(sdr_in, bytes):
        primary = sdr_in
    else:
        primary = encode_jpeg(_sdr_u8(sdr_in), quality, subsampling)
    pw, ph, _ = _jpeg_dims(primary, "SDR")

    # ---- the gain map JPEG and metadata
    if hdr_arr is not None:
        gm_jpeg, md = _computed_gainmap(primary, hdr_arr, (pw, ph), space, gainmap_scale, gainmap_quality,
                                        multichannel=multichannel, gamma=gamma, min_log2=min_log2,
                                        max_log2=max_log2)
    else:
        assert gainmap is not None and metadata is not None
        md = metadata
        gm_in = load_image(gainmap, "gain map")
        if isinstance(gm_in, bytes):
            gm_jpeg = gm_in
        else:
            g = _gainmap_u8(gm_in)
            gm_jpeg = encode_jpeg(g, gainmap_quality, "4:4:4")
        gw, gh, comps = _jpeg_dims(gm_jpeg, "gain map")
        _check_aspect((pw, ph), (gw, gh))
        _check_channels(md, comps)
    if not md.is_finite():
        raise GainMapError(f"the gain-map metadata has non-finite values: {md}")

    profile = icc if icc is not None else icc_for(space)
    gainmap_icc = None if md.use_base_colour_space else icc_for(space)
    return assemble(primary, gm_jpeg, md, write_xmp=write_xmp, write_iso=write_iso, icc=profile,
                    gainmap_icc=gainmap_icc, byte_order=byte_order, name=name)


def _computed_gainmap(primary: bytes, hdr: np.ndarray, size: tuple[int, int], space: str, scale: int,
                      quality: int, **options: Any) -> tuple[bytes, GainMapMetadata]:
    """Gain-map JPEG and metadata from the HDR image and the primary JPEG as a decoder sees it."""
    from gainmap.hdr.color import u8_to_linear_lut
    from gainmap.hdr.compute import compute_gainmap
    from gainmap.hdr.decode import decode_pixels
    from gainmap.model.reader import read

    pw, ph = size
    if hdr.shape[:2] != (ph, pw):
        raise GainMapError(f"the HDR image is {hdr.shape[1]}x{hdr.shape[0]} but the SDR image is {pw}x{ph}")
    if int(scale) != scale or scale < 1:
        raise GainMapError(f"gainmap_scale must be a positive integer, got {scale!r}")
    seen = u8_to_linear_lut("srgb")[decode_pixels(read(primary, name="SDR").primary, "RGB", what="SDR image")]
    try:
        codes, md = compute_gainmap(seen, hdr, colour_space=space, scale=int(scale),
                                    multichannel=bool(options["multichannel"]), gamma=float(options["gamma"]),
                                    min_log2=options["min_log2"], max_log2=options["max_log2"])
    except ValueError as exc:
        raise GainMapError(f"cannot compute the gain map: {exc}") from None
    return encode_jpeg(codes, quality, "4:4:4"), md
