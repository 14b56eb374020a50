"""Restore a gain map an editor stripped: predicted from the SDR pixels, or carried over from the original photo.

With the original photo (``reference``), :mod:`gainmap.editing.reference` registers it onto the edit and
carries its HDR over where the pixels are unchanged, transfers its boost where only tone or colour changed,
and predicts where the content changed (docs/restore.md).

The user's primary image is kept exactly: its entropy-coded data, tables and existing segments are copied;
only the metadata a gain-map file needs (XMP, ISO 21496-1, MPF, and an ICC profile when it has none) is added,
through the same assembler as ``gainmap build`` (the safe interop profile).
"""

from __future__ import annotations

import io
from os import PathLike

import numpy as np
from PIL import Image

from gainmap.editing.reference import ReferenceReport, gain_from_reference
from gainmap.editing.repair import primary_fingerprint
from gainmap.errors import GainMapError
from gainmap.hdr import profiles
from gainmap.hdr.decode import decode_pixels, primary_colour_space
from gainmap.metadata import GainMapMetadata
from gainmap.model.assemble import assemble, s_keep
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read
from gainmap.predict.base import get_predictor

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
    return profiles.display_p3_profile() if name == "display-p3" else profiles.srgb_profile()


def restore(source: Source, *, predictor: str = "gmnet", reference: Source | None = None,
            original: Source | None = None, max_headroom: float | None = None, gainmap_scale: int = 4,
            force: bool = False, quality: int = 85, name: str | None = None) -> GainMapFile:
    """A gain-map file around the primary of ``source``.

    With ``reference`` (the photo before editing; ``original`` is an alias) the original's HDR is registered
    onto the edit and carried over, rebased or predicted per pixel (:mod:`gainmap.editing.reference`);
    otherwise the named predictor paints the map.  A file that already has a gain map is refused unless
    ``force``; with a reference, ``force`` also restores from a reference that does not look like the same
    photo.
    """
    return restore_with_report(source, predictor=predictor, reference=reference, original=original,
                               max_headroom=max_headroom, gainmap_scale=gainmap_scale, force=force,
                               quality=quality, name=name)[0]


def restore_with_report(source: Source, *, predictor: str = "gmnet", reference: Source | None = None,
                        original: Source | None = None, max_headroom: float | None = None,
                        gainmap_scale: int = 4, force: bool = False, quality: int = 85,
                        name: str | None = None) -> tuple[GainMapFile, ReferenceReport | None]:
    """:func:`restore`, with the report of a restore from the original (None when predicted, or when the
    edited primary is the original's own, byte for byte, and its gain map is carried over unchanged)."""
    if reference is not None and original is not None:
        raise GainMapError("give the original photo once: reference and original are the same argument")
    reference = reference if reference is not None else original
    gmf = _as_file(source, name)
    if gmf.gainmap is not None and not force:
        raise GainMapError(f"{gmf.source}: already has a gain map at offset {gmf.gainmap.offset}; "
                           "use --force to replace it")
    if not gmf.primary.complete or gmf.primary.frame is None:
        raise GainMapError(f"{gmf.source}: the primary image is incomplete; repair or re-save it first")
    if gainmap_scale < 1:
        raise GainMapError(f"gain-map scale must be >= 1, got {gainmap_scale}")
    primary_bytes = gmf.primary.to_bytes()
    report = None
    if reference is not None:
        ref = _as_file(reference)
        if ref.gainmap is not None and primary_fingerprint(ref.primary) == primary_fingerprint(gmf.primary):
            gm_jpeg, md = carry_over(gmf, ref)
        else:
            codes, md, report = gain_from_reference(gmf, ref, predictor=predictor, gainmap_scale=gainmap_scale,
                                                    max_headroom=max_headroom, force=force)
            gm_jpeg = encode_gainmap(codes, quality)
    else:
        space, _ = primary_colour_space(gmf)
        sdr = decode_pixels(gmf.primary, "RGB", what="primary image")
        pred = get_predictor(predictor).predict(sdr, space, max_headroom=max_headroom,
                                                gainmap_scale=gainmap_scale)
        md = pred.metadata
        gm_jpeg = encode_gainmap(pred.gainmap, quality)
    return assemble(primary_bytes, gm_jpeg, md, icc=_icc_for(gmf), name=gmf.source), report


def carry_over(target: GainMapFile, original: GainMapFile) -> tuple[bytes, GainMapMetadata]:
    """The original photo's gain-map JPEG and metadata unchanged, for a primary that is the original's own."""
    gm = original.gainmap
    md = original.metadata()
    if gm is None or md is None:
        raise GainMapError(f"{original.source}: has no usable gain map to carry over")

    image = read(gm.to_bytes(), name="original gain map").primary
    for seg in [s for s in image.segments() if not s_keep(s)]:
        image.remove(seg)
    return image.to_bytes(), md

