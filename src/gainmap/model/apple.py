"""Apple HDR (iOS 14 to 17): where the headroom comes from, and the units question.

Two sources give the headroom H (a linear ratio of HDR to SDR white):

* the gain-map image's XMP ``HDRGainMap:HDRGainMapHeadroom`` (HDRGainMapVersion 131072 and later);
* the primary's Exif maker note, tags 33 (HDRHeadroom) and 48 (HDRGain), through Apple's documented formula
  (:func:`gainmap.metadata.apple_stops_from_maker_note`), giving stops; H = 2 ** max(stops, 0).

Units: Skia (m156) and libavif read ``HDRGainMapHeadroom`` as a linear ratio; libultrahdr 2.x reads it as log2
stops (4.53 -> x23.15).  We follow Skia and libavif (linear): it agrees with the <= 3-stop range of the maker-note
formula and Apple's use of "headroom" elsewhere.  The validator reports the ambiguity (``apple.headroom-units``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gainmap.formats.exif import AppleMakerNote
from gainmap.metadata import apple_stops_from_maker_note

if TYPE_CHECKING:
    from gainmap.formats.xmp import AppleXmp
    from gainmap.model.container import GainMapFile

APPLE_AUX_TYPE = "urn:com:apple:photo:2020:aux:hdrgainmap"


@dataclass(frozen=True)
class AppleHeadroom:
    """Apple headroom as a linear ratio, with where it came from."""

    linear: float
    source: str  # "xmp" or "maker-note"
    maker_note_stops: float | None = None

    @property
    def stops(self) -> float:
        return math.log2(self.linear) if self.linear > 0 else float("-inf")


def maker_note_stops(source: GainMapFile | AppleMakerNote | None) -> float | None:
    """Stops from an Apple maker note (tags 33/48; of the primary's Exif for a file), or None when tag 33 is
    absent or has a zero denominator (Skia requires it).  A missing or unusable tag 48 counts as 0."""
    note = _maker_note(source) if not isinstance(source, AppleMakerNote) else source
    if note is None:
        return None
    headroom = note.headroom_value
    if headroom is None:
        return None
    return apple_stops_from_maker_note(headroom, note.gain_value)


def _maker_note(gmf: GainMapFile | None) -> AppleMakerNote | None:
    exif = gmf.primary.exif if gmf is not None else None
    return exif.apple if exif is not None else None


def apple_xmp(gmf: GainMapFile) -> AppleXmp | None:
    """The gain-map image's Apple XMP view (apdi / HDRGainMap), or None."""
    gm = gmf.gainmap
    packet = gm.xmp if gm is not None else None
    return packet.apple if packet is not None else None


def apple_headroom(gmf: GainMapFile) -> AppleHeadroom | None:
    """The headroom of an Apple-style gain map, or None when the file is not one."""
    info = apple_xmp(gmf)
    if info is None:
        return None
    stops = maker_note_stops(gmf)
    xmp_headroom = info.headroom
    if xmp_headroom is not None and math.isfinite(xmp_headroom) and xmp_headroom > 0:
        return AppleHeadroom(float(xmp_headroom), "xmp", stops)
    if stops is not None and math.isfinite(stops):
        return AppleHeadroom(2.0 ** max(stops, 0.0), "maker-note", stops)
    return None
