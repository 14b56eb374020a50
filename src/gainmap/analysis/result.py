"""The result of checking one file: a :class:`Report` holds everything the renderers print and nothing they would
have to recompute: the six presence checks, the findings, the viewer verdicts and a summary of the two images.

It lives apart from its renderers (:mod:`gainmap.analysis.report`) so the validator can build one without
importing them (the JSON renderer classifies the file, and classifying may run the validator).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gainmap.analysis.checks.catalogue import SIX
from gainmap.analysis.checks.registry import Finding
from gainmap.analysis.checks.viewers import Verdict, verdicts

if TYPE_CHECKING:
    from gainmap.analysis.anatomy import Anatomy
    from gainmap.analysis.pictures import Pictures


@dataclass(frozen=True)
class ImageInfo:
    """Where an image lies in the file (absolute offset, SOI..EOI length) and its frame size."""

    offset: int
    length: int
    width: int | None = None
    height: int | None = None
    components: int | None = None


@dataclass(frozen=True)
class Report:
    """Everything ``gainmap check`` says about one file."""

    file: str
    six: dict[str, bool]
    findings: list[Finding]
    viewers: dict[str, Verdict]
    primary: ImageInfo | None = None
    gainmap: ImageInfo | None = None
    #: How the gain map was located: "mpf", "container" or "scan" (None without a gain map).
    located_by: str | None = None
    #: Gain-map metadata forms found, e.g. ("iso", "hdrgm") or ("apple",).
    metadata: tuple[str, ...] = field(default=())
    #: Segments, pointers and metadata tables, for the visual report (only with ``check_file(detail=True)``).
    anatomy: Anatomy | None = field(default=None, compare=False, repr=False)
    #: Thumbnails, the gain map and its boost, for the visual report (only with ``detail=True``).
    pictures: Pictures | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, file: str, six: Mapping[str, bool], findings: Iterable[Finding], **info: object) -> Report:
        """A report whose viewer verdicts are computed from ``six`` and ``findings``; ``info`` fills the image
        fields.  Findings are sorted by offset; the six map gets every key (absent ones False)."""
        found = sorted(findings, key=lambda f: f.sort_key)
        full_six = {name: bool(six.get(name, False)) for name in SIX}
        viewers = verdicts(full_six, found)
        return cls(file=file, six=full_six, findings=found, viewers=viewers, **info)  # type: ignore[arg-type]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def has_errors(self) -> bool:
        """True when any finding is at error level (``gainmap check`` then exits 1)."""
        return any(f.severity == "error" for f in self.findings)
