"""The validator: read a file, run every registered check, and build the :class:`~gainmap.analysis.result.Report`.

The six presence checks (the quick answer) are read from the primary image's own header segments, except the
fifth, which looks in the gain-map image.  Whether each present piece is also *correct* is what the check
families in :mod:`gainmap.analysis.checks` report, with byte offsets.
"""

from __future__ import annotations

import importlib
import pkgutil
from os import PathLike

from gainmap.analysis.anatomy import anatomy
from gainmap.analysis.checks.context import CheckContext, presence
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

    skip = {"registry", "catalogue", "viewers", "gendocs", "context"}
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in skip:
            importlib.import_module(f"gainmap.analysis.checks.{mod.name}")
    _LOADED = True


def check_file(gmf: GainMapFile, data: bytes | None = None, *, detail: bool = False) -> Report:
    """Run every check on a parsed file; ``detail`` also fills the report's anatomy and pictures (what the
    HTML report draws: segments, pointers, metadata tables, thumbnails; it decodes pixels, so it is opt-in)."""
    load_checks()
    ctx = CheckContext(gmf, data if data is not None else gmf.to_bytes(recompute=False))
    findings = run_checks(ctx)
    gm = gmf.gainmap
    located = next((k for k, v in gmf.locations.items() if gm is not None and v == gm.offset), None)
    extra: dict[str, object] = {}
    if detail:
        from gainmap.analysis.pictures import pictures  # keeps Pillow out of `gainmap check`'s start-up

        extra = {"anatomy": anatomy(gmf, len(ctx.data)), "pictures": pictures(gmf, ctx.data)}
    return Report.build(gmf.source, ctx.six, findings, primary=_info(gmf.primary), gainmap=_info(gm),
                        located_by=located, metadata=tuple(gmf.metadata_sources()), **extra)


def _info(image: JpegImage | None) -> ImageInfo | None:
    if image is None:
        return None
    return ImageInfo(image.offset, image.size, image.width, image.height, image.components)


def check_bytes(data: bytes, name: str = "<bytes>", *, detail: bool = False) -> Report:
    """Read and check bytes; raises :class:`~gainmap.errors.NotAJpegError` only for non-JPEG input."""
    return check_file(read(data, name=name), data, detail=detail)


def check(source: str | PathLike[str] | bytes | GainMapFile) -> Report:
    """Check a path, bytes or a parsed :class:`GainMapFile`."""
    if isinstance(source, GainMapFile):
        return check_file(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return check_bytes(bytes(source))
    with open(source, "rb") as fh:
        return check_bytes(fh.read(), name=str(source))


__all__ = ["CheckContext", "Finding", "check", "check_bytes", "check_file", "load_checks", "presence"]
