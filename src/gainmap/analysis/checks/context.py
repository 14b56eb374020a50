"""What a check reads (:class:`CheckContext`) and the six presence checks it computes once (:func:`presence`).

Apart from :mod:`gainmap.analysis.validate` so check modules can import the type without importing the validator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gainmap.analysis.checks._xmp_common import image_packets
from gainmap.model.container import GainMapFile, JpegImage


@dataclass
class CheckContext:
    """What a check reads: the model, the original bytes, and a few derived facts computed once."""

    gmf: GainMapFile
    data: bytes
    cache: dict[object, Any] = field(default_factory=dict)  # keyed by a name, or (name, id(image))

    @property
    def primary(self) -> JpegImage:
        return self.gmf.primary

    @property
    def gainmap(self) -> JpegImage | None:
        return self.gmf.gainmap

    def image_index(self, image: JpegImage | None) -> int | None:
        if image is None:
            return None
        return next((i for i, im in enumerate(self.gmf.images) if im is image), None)

    @cached_property
    def six(self) -> dict[str, bool]:
        return presence(self.gmf)

    @cached_property
    def is_gainmap_file(self) -> bool:
        """The file claims a gain map somewhere (any metadata form, or a located gain-map image)."""
        s = self.six
        return (self.gmf.gainmap is not None or s["hdrgm"] or s["iso_primary"] or s["container_xmp"]
                or _apple_primary(self.gmf))


def _apple_primary(gmf: GainMapFile) -> bool:
    exif = gmf.primary.exif
    return exif is not None and exif.apple is not None and exif.apple.headroom is not None


def presence(gmf: GainMapFile) -> dict[str, bool]:
    """The six quick checks, from the primary's header segments (and the gain map's for ``iso_gainmap``)."""
    primary = gmf.primary
    packets = image_packets(primary)  # the standard packet, then ExtendedXMP (Skia searches both; Pixel files)
    gm = gmf.gainmap
    gm_iso = gm.iso if gm is not None else None
    return {
        "mpf": primary.first("mpf") is not None,
        "container_xmp": any(p.container_items for p in packets),
        "hdrgm": any(p.declarations("http://ns.adobe.com/hdr-gain-map/1.0/") for p in packets),
        "iso_primary": primary.first("iso21496") is not None,
        "iso_gainmap": gm_iso is not None and gm_iso.layout != "version-only",
        "icc": primary.first("icc") is not None,
    }
