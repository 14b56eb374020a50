"""The exceptions gainmap raises, and the problem record the tolerant reader collects."""

from __future__ import annotations

from dataclasses import dataclass


class GainMapError(Exception):
    """Base class of every exception raised on purpose by gainmap."""


class NotAJpegError(GainMapError):
    """The input is not a JPEG at all (the only error :func:`gainmap.read` raises for bad bytes)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


class SchemaError(GainMapError):
    """A structure could not be parsed or built; ``offset`` is relative to the structure's start."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Problem:
    """Something wrong met while reading: a stable ``code``, an absolute ``offset`` and ``length``."""

    code: str
    offset: int
    length: int
    message: str

    def __str__(self) -> str:
        return f"@{self.offset}: {self.message} [{self.code}]"
