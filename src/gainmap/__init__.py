"""gainmap: inspect, validate, repair, build and restore HDR gain-map JPEGs.

The public API is imported lazily so ``import gainmap`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from gainmap.errors import GainMapError, NotAJpegError, Problem
from gainmap.metadata import GainMapMetadata

__version__ = "0.1.0"

_LAZY = {
    "read": ("gainmap.model.reader", "read"),
    "GainMapFile": ("gainmap.model.container", "GainMapFile"),
    "JpegImage": ("gainmap.model.container", "JpegImage"),
    "Segment": ("gainmap.formats.scanner", "Segment"),
    "assemble": ("gainmap.model.assemble", "assemble"),
    "check": ("gainmap.analysis.validate", "check"),
    "repair": ("gainmap.editing.repair", "repair"),
    "decode": ("gainmap.hdr.decode", "decode"),
    "build": ("gainmap.editing.build", "build"),
    "measure": ("gainmap.hdr.decode", "measure"),
    "compute": ("gainmap.hdr.compute", "compute_gainmap"),
    "restore": ("gainmap.editing.restore", "restore"),
}

__all__ = ["GainMapError", "GainMapMetadata", "NotAJpegError", "Problem", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gainmap' has no attribute {name!r}")
