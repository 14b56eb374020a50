"""gainmap: inspect, validate, repair, build and restore HDR gain-map JPEGs."""

from gainmap.errors import GainMapError, NotAJpegError, Problem
from gainmap.metadata import GainMapMetadata

__all__ = ["GainMapError", "GainMapMetadata", "NotAJpegError", "Problem"]
__version__ = "0.1.0"
