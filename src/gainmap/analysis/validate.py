"""The validator: read a file, run every registered check, and build the :class:`~gainmap.analysis.result.Report`.

The six presence checks (the quick answer) are read from the primary image's own header segments, except the
fifth, which looks in the gain-map image.  Whether each present piece is also *correct* is what the check
families in :mod:`gainmap.analysis.checks` report, with byte offsets.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import Any

from gainmap.analysis.checks.registry import Finding, run_checks
from gainmap.analysis.result import ImageInfo, Report
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.reader import read

_LOADED = False


def load_checks() -> None:
    """Import every module of :mod:`gainmap.analysis.checks` so their ``@check`` functions register (once)."""
    global _LOADED
    if _LOADED:
        return
    import gainmap.analysis.checks as pkg

    skip = {"registry", "catalogue", "viewers", "gendocs"}
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in skip:
            importlib.import_module(f"gainmap.analysis.checks.{mod.name}")
    _LOADED = True


@dataclass
class CheckContext:
    """What a check reads: the model, the original bytes, and a few derived facts computed once."""

    gmf: GainMapFile
    data: bytes
    cache: dict[str, Any] = field(default_factory=dict)

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
    from gainmap.analysis.checks._xmp_common import image_packets

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


def check_file(gmf: GainMapFile, data: bytes | None = None) -> Report:
    """Run every check on a parsed file."""
    load_checks()
    ctx = CheckContext(gmf, data if data is not None else gmf.to_bytes(recompute=False))
    findings = run_checks(ctx)
    gm = gmf.gainmap
    located = next((k for k, v in gmf.locations.items() if gm is not None and v == gm.offset), None)
    return Report.build(gmf.source, ctx.six, findings, primary=_info(gmf.primary), gainmap=_info(gm),
                        located_by=located, metadata=tuple(gmf.metadata_sources()))


def _info(image: JpegImage | None) -> ImageInfo | None:
    if image is None:
        return None
    return ImageInfo(image.offset, image.size, image.width, image.height, image.components)


def check_bytes(data: bytes, name: str = "<bytes>") -> Report:
    """Read and check bytes; raises :class:`~gainmap.errors.NotAJpegError` only for non-JPEG input."""
    return check_file(read(data, name=name), data)


def check(source: str | PathLike[str] | bytes | GainMapFile) -> Report:
    """Check a path, bytes or a parsed :class:`GainMapFile`."""
    if isinstance(source, GainMapFile):
        return check_file(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return check_bytes(bytes(source))
    with open(source, "rb") as fh:
        return check_bytes(fh.read(), name=str(source))


__all__ = ["CheckContext", "Finding", "check", "check_bytes", "check_file", "load_checks", "presence"]
