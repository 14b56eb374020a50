"""Restore a gain map an editor stripped: predicted from the SDR pixels, or carried over from the original photo.

The user's primary image is kept exactly: its entropy-coded data, tables and existing segments are copied;
only the metadata a gain-map file needs (XMP, ISO 21496-1, MPF, and an ICC profile when it has none) is added,
through the same assembler as ``gainmap build`` (the safe interop profile).
"""

from __future__ import annotations

import io
from os import PathLike

import numpy as np
from PIL import Image

from gainmap.errors import GainMapError
from gainmap.formats import icc as icc_schema
from gainmap.hdr.decode import decode_pixels, primary_colour_space
from gainmap.metadata import GainMapMetadata
from gainmap.model.assemble import assemble
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read

Source = str | PathLike[str] | bytes | GainMapFile


def _as_file(source: Source, name: str | None = None) -> GainMapFile:
    if isinstance(source, GainMapFile):
        return source
    return read(source, name=name) if isinstance(source, bytes) else read(source)


def encode_gainmap(pixels: np.ndarray, quality: int = 85) -> bytes:
    """The gain-map JPEG: grayscale for 1-channel maps, RGB 4:4:4 for 3-channel ones."""
    buf = io.BytesIO()
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    mode = "L" if pixels.ndim == 2 else "RGB"
    opts = {} if mode == "L" else {"subsampling": 0}
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode=mode).save(
        buf, format="JPEG", quality=quality, **opts)
    return buf.getvalue()


def _icc_for(gmf: GainMapFile) -> bytes | None:
    """A profile to add when the primary has none (same choice as repair's add-icc)."""
    from gainmap.editing.repair import choose_icc

    if gmf.primary.icc_chunks():
        return None
    name, _why = choose_icc(gmf)
    return icc_schema.display_p3_profile() if name == "display-p3" else icc_schema.srgb_profile()


def restore(source: Source, *, predictor: str = "gmnet", original: Source | None = None,
            max_headroom: float | None = None, gainmap_scale: int = 4, force: bool = False,
            quality: int = 85, name: str | None = None) -> GainMapFile:
    """A gain-map file around the primary of ``source``.

    With ``original`` (the photo before editing) its gain map and metadata are carried over; otherwise the
    named predictor paints one.  A file that already has a gain map is refused unless ``force``.
    """
    gmf = _as_file(source, name)
    if gmf.gainmap is not None and not force:
        raise GainMapError(f"{gmf.source}: already has a gain map at offset {gmf.gainmap.offset}; "
                           "use --force to replace it")
    if not gmf.primary.complete or gmf.primary.frame is None:
        raise GainMapError(f"{gmf.source}: the primary image is incomplete; repair or re-save it first")
    primary_bytes = gmf.primary.to_bytes()
    if original is not None:
        gm_jpeg, md = carry_over(gmf, _as_file(original))
    else:
        if gainmap_scale < 1:
            raise GainMapError(f"gain-map scale must be >= 1, got {gainmap_scale}")
        from gainmap.predict.base import get_predictor

        space, _ = primary_colour_space(gmf)
        sdr = decode_pixels(gmf.primary, "RGB", what="primary image")
        pred = get_predictor(predictor).predict(sdr, space, max_headroom=max_headroom,
                                                gainmap_scale=gainmap_scale)
        md = pred.metadata
        gm_jpeg = encode_gainmap(pred.gainmap, quality)
    return assemble(primary_bytes, gm_jpeg, md, icc=_icc_for(gmf), name=gmf.source)


def carry_over(target: GainMapFile, original: GainMapFile) -> tuple[bytes, GainMapMetadata]:
    """The original photo's gain-map JPEG and metadata, if its geometry still fits the edited primary."""
    gm = original.gainmap
    md = original.metadata()
    if gm is None or md is None:
        raise GainMapError(f"{original.source}: has no usable gain map to carry over")
    ow, oh = original.primary.width or 0, original.primary.height or 0
    tw, th = target.primary.width or 0, target.primary.height or 0
    if ow * th != oh * tw and abs(ow / max(oh, 1) - tw / max(th, 1)) > 0.01:
        raise GainMapError(f"the edited image is {tw}x{th} but the original is {ow}x{oh}: the aspect ratio "
                           "changed (cropped?), so the original gain map no longer lines up; use a predictor")
    from gainmap.model.assemble import s_keep

    image = read(gm.to_bytes(), name="original gain map").primary
    for seg in [s for s in image.segments() if not s_keep(s)]:
        image.remove(seg)
    return image.to_bytes(), md

