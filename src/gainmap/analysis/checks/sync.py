"""sync.*: do the hdrgm XMP and the ISO 21496-1 block of the gain map say the same thing?

Chrome and libultrahdr prefer ISO, libavif reads only the XMP, so two forms that disagree render differently.
Values are compared in ISO semantics (hdrgm converted with its defaults and BaseRenditionIsHDR swap, as
readers do) within :data:`TOLERANCE` relative to the larger magnitude, and never closer than
:data:`ABS_TOLERANCE`: ISO fractions and decimal XMP text both round, and Skia's writer uses a denominator of
only 2^12 for values above 1 (formats.md §3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gainmap.analysis.checks import _xmp_common as common
from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.formats.iso21496 import iso_to_metadata
from gainmap.metadata import GainMapMetadata, MetadataConversionError

#: Relative tolerance when comparing hdrgm and ISO values.
TOLERANCE = 1e-4
#: Absolute tolerance: one step of Skia's coarsest ISO denominator (2^12), about 2.4e-4 (0.017 % as a ratio).
ABS_TOLERANCE = 2.0 ** -12

#: ISO field -> the hdrgm property it corresponds to (for an SDR base; swapped pairs when the base is HDR).
_FIELDS = (
    ("gain_map_min", "GainMapMin"), ("gain_map_max", "GainMapMax"), ("gamma", "Gamma"),
    ("base_offset", "OffsetSDR"), ("alternate_offset", "OffsetHDR"),
)
_SWAPPED = {"OffsetSDR": "OffsetHDR", "OffsetHDR": "OffsetSDR", "HDRCapacityMin": "HDRCapacityMax",
            "HDRCapacityMax": "HDRCapacityMin"}


def close(a: float, b: float, tol: float = TOLERANCE) -> bool:
    """Equal within ``tol`` relative to the larger magnitude, or within :data:`ABS_TOLERANCE`."""
    return abs(a - b) <= max(tol * max(abs(a), abs(b)), ABS_TOLERANCE)


def differences(xmp: GainMapMetadata, iso: GainMapMetadata, tol: float = TOLERANCE) -> list[dict[str, Any]]:
    """Each field where the two records differ beyond ``tol``: names in both vocabularies, channel, values."""
    out: list[dict[str, Any]] = []
    swap = xmp.base_is_hdr

    def name(prop: str) -> str:
        return _SWAPPED.get(prop, prop) if swap else prop

    n = 3 if 3 in (xmp.channel_count, iso.channel_count) else 1
    cx, ci = xmp.channels(n), iso.channels(n)
    for k, (iso_name, prop) in enumerate(_FIELDS):
        values = [(c, cx[c][k], ci[c][k]) for c in range(n)]
        bad = [(c, a, b) for c, a, b in values if not close(a, b, tol)]
        if not bad:
            continue
        same = n == 1 or len({a for _, a, _ in values}) == 1 and len({b for _, _, b in values}) == 1
        for c, a, b in bad[:1] if same else bad:
            out.append({"iso": iso_name, "hdrgm": name(prop), "channel": None if same else c, "xmp": a, "iso_value": b})
    for iso_name, prop, a, b in (
        ("base_hdr_headroom", "HDRCapacityMin", xmp.base_hdr_headroom, iso.base_hdr_headroom),
        ("alternate_hdr_headroom", "HDRCapacityMax", xmp.alternate_hdr_headroom, iso.alternate_hdr_headroom),
    ):
        if not close(a, b, tol):
            out.append({"iso": iso_name, "hdrgm": name(prop), "channel": None, "xmp": a, "iso_value": b})
    if xmp.use_base_colour_space != iso.use_base_colour_space:
        out.append({"iso": "use_base_colour_space", "hdrgm": "(not expressible)", "channel": None,
                    "xmp": xmp.use_base_colour_space, "iso_value": iso.use_base_colour_space})
    return out


def _describe(d: dict[str, Any]) -> str:
    if d["iso"] == "use_base_colour_space":
        return ("use_base_colour_space: ISO says 0 (apply in the alternate colour space), hdrgm can only mean the "
                "base colour space")
    chan = f" channel {d['channel']}" if d["channel"] is not None else ""
    return f"{d['hdrgm']}/{d['iso']}{chan}: hdrgm {d['xmp']:.6g}, ISO {d['iso_value']:.6g}"


def _forms(ctx: CheckContext) -> tuple[Any, Any, Any]:
    """(gain-map XMP ref with hdrgm, gain map's ISO segment with a full block, the gain map) or Nones."""
    gm = ctx.gainmap
    if gm is None or gm is ctx.primary:
        return None, None, None
    ref = common.gainmap_packet(ctx)
    ref = ref if ref is not None and ref.packet.hdrgm_all else None
    seg = gm.first("iso21496")
    full = seg if seg is not None and gm.iso is not None and gm.iso.layout != "version-only" else None
    return ref, full, gm


@check("sync.mismatch")
def mismatch(ctx: CheckContext) -> Iterator[Finding]:
    ref, seg, gm = _forms(ctx)
    if ref is None or seg is None:
        return
    try:
        xmp = GainMapMetadata.from_hdrgm(ref.packet.hdrgm_values())
        iso = iso_to_metadata(gm.iso)
    except (MetadataConversionError, ValueError, TypeError):
        return  # unusable values are reported by the hdrgm and iso families
    diffs = differences(xmp, iso)
    if not diffs:
        return
    yield Finding("sync.mismatch", offset=seg.offset, length=seg.size, image=ctx.image_index(gm),
                  message=f"the gain map's hdrgm XMP and ISO 21496-1 block disagree on {len(diffs)} value(s): "
                          + "; ".join(_describe(d) for d in diffs)
                          + ". Chrome and libultrahdr use ISO, libavif the XMP",
                  detail={"fields": diffs, "xmp_segment": ref.segment.offset if ref.segment else None})


@check("sync.xmp-missing", "sync.iso-missing")
def one_form(ctx: CheckContext) -> Iterator[Finding]:
    """Only one of the two parameter forms: which viewers that leaves out."""
    ref, seg, gm = _forms(ctx)
    if seg is not None and ref is None:
        yield Finding("sync.xmp-missing", offset=seg.offset, length=seg.size, image=ctx.image_index(gm),
                      message="the gain map has ISO 21496-1 metadata but no hdrgm XMP: libavif (avifenc) does not "
                              "read ISO in JPEG, nor do Apple systems before iOS 18 / macOS 15")
    if ref is not None and seg is None:
        offset = ref.segment.offset if ref.segment is not None else ref.start
        length = ref.segment.size if ref.segment is not None else 1
        yield Finding("sync.iso-missing", offset=offset, length=length, image=ref.image,
                      message="the gain map has hdrgm XMP but no ISO 21496-1 metadata: Apple systems read ISO "
                              "21496-1 (iOS 18 / macOS 15) or their own format, not hdrgm, as far as is reported")
