"""What kind of file this is, in the vocabulary of the corpus MANIFEST's ``kind`` column.

=====================  ==================================================================================
``ultrahdr-xmp-only``  hdrgm gain-map XMP with a GContainer Directory (Ultra HDR v1.0), no ISO 21496-1
``ultrahdr-xmp+iso``   hdrgm XMP and ISO 21496-1 metadata in the gain map (Ultra HDR v1.1, Adobe, libvips)
``iso-only``           ISO 21496-1 only (libultrahdr's default build)
``adobe-gainmap``      hdrgm XMP without a GContainer Directory and without ISO (Adobe Camera Raw 15,
                       gainmap-js): the gain map is found through MPF alone
``apple-hdrgainmap``   Apple's iOS 14-17 HDRGainMap auxiliary image
``sdr-plain``          one plain JPEG, nothing gain-map about it
``broken``             the structure is damaged: truncated, an MPF index that points nowhere or cannot be
                       read, metadata that promises a gain map the file does not have
``other``              not a JPEG, a multi-picture file without a gain map (stereo MPO), a standalone
                       gain-map image, or a second image with no gain-map metadata
=====================  ==================================================================================

The kind is read from a :class:`~gainmap.analysis.result.Report` (the six presence checks, the findings and the
metadata forms found), so it is the same whether computed here or shown by ``gainmap check --json``.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from gainmap.analysis.result import Report
from gainmap.analysis.validate import check
from gainmap.errors import NotAJpegError

if TYPE_CHECKING:
    from gainmap.model.container import GainMapFile

KINDS: tuple[str, ...] = ("ultrahdr-xmp-only", "ultrahdr-xmp+iso", "iso-only", "adobe-gainmap", "apple-hdrgainmap",
                          "sdr-plain", "broken", "other")

#: Findings (at any severity) that make a file "broken": the bytes are cut short or damaged, the MPF index
#: cannot be read or points where there is no image, or the metadata promises a gain map that is not there.
#: Rules that only Skia enforces on an otherwise readable MPF (tag order, types, primary type) are not here:
#: stereo MPOs break them without being damaged.
BROKEN_IDS: frozenset[str] = frozenset({
    "jpeg.no-soi", "jpeg.unexpected-soi", "jpeg.truncated", "jpeg.segment-length", "jpeg.missing-eoi",
    "locate.gainmap-missing",
    "mpf.truncated", "mpf.byte-order", "mpf.ifd-bounds", "mpf.entry-missing", "mpf.entry-bounds",
    "mpf.entry-offset", "mpf.entry-beyond-eof",
    "gainmap.decode",
})


def _detail_flag(report: Report, finding_id: str, key: str) -> bool:
    return any(f.id == finding_id and bool(f.detail.get(key)) for f in report.findings)


def classify_report(report: Report) -> str:
    """The kind of the file a report describes (see the module docstring for the vocabulary)."""
    ids = {f.id for f in report.findings}
    six = report.six
    has_gainmap = report.gainmap is not None
    primary_hdrgm = six.get("hdrgm", False) or _detail_flag(report, "xmp.extended-properties", "hdrgm")
    directory = six.get("container_xmp", False) or _detail_flag(report, "xmp.extended-properties", "container")
    if not has_gainmap and "hdrgm.params-in-primary" in ids and not six.get("mpf", False):
        return "other"  # a gain-map image on its own: its parameters are in the only image there is
    if ids & BROKEN_IDS:
        return "broken"
    if not has_gainmap:
        return "other" if six.get("mpf", False) else "sdr-plain"
    if "apple.gainmap" in ids or "apple" in report.metadata:
        return "apple-hdrgainmap"
    iso = six.get("iso_gainmap", False)
    hdrgm = ("hdrgm" in report.metadata or "hdrgm.primary-missing" in ids
             or (primary_hdrgm and "hdrgm.params-missing" not in ids))
    if iso and hdrgm:
        return "ultrahdr-xmp+iso"
    if iso:
        return "iso-only"
    if hdrgm:
        return "ultrahdr-xmp-only" if directory else "adobe-gainmap"
    return "other"


def classify(report_or_file: Report | GainMapFile | bytes | str | PathLike[str]) -> str:
    """The MANIFEST ``kind`` of a report, a parsed file, bytes or a path ("other" for non-JPEG input)."""
    if isinstance(report_or_file, Report):
        return classify_report(report_or_file)
    try:
        return classify_report(check(report_or_file))
    except NotAJpegError:
        return "other"


__all__ = ["BROKEN_IDS", "KINDS", "classify", "classify_report"]
