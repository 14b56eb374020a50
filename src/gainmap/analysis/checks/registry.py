"""Findings, the ``@check`` decorator and :func:`run_checks`.

A check is a small function ``fn(ctx) -> Iterable[Finding]`` registered under the catalogue ids it may emit::

    @check("mpf.entry-offset", "mpf.entry-beyond-eof")
    def mpf_entries(ctx):
        ...
        yield Finding("mpf.entry-offset", offset=at, length=4, message="...")

Registering an id that is not in ``specs/checks.toml`` fails at import time.  :func:`run_checks` runs every
registered check; a check that raises, or yields an id it did not declare, becomes one
``internal.check-failed`` finding instead of a crash.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gainmap.analysis.checks.catalogue import INTERNAL_FAILURE, SEVERITIES, catalogue
from gainmap.errors import Problem

if TYPE_CHECKING:
    from gainmap.analysis.checks.context import CheckContext

CheckFn = Callable[["CheckContext"], Iterable["Finding"]]


@dataclass(frozen=True)
class Finding:
    """One thing a check found.

    ``id`` is a catalogue id; ``offset`` and ``length`` say where (absolute, in the file; None for the whole
    file); ``message`` says what, specifically; ``image`` is the image concerned (0 = primary); ``detail``
    holds machine-readable specifics.  ``severity`` defaults to the catalogue's.  A reader problem code listed
    as an alias in the catalogue is accepted for ``id`` and replaced by its catalogue id (the code is kept in
    ``detail["code"]``).
    """

    id: str
    severity: str | None = None
    offset: int | None = None
    length: int | None = None
    message: str = ""
    image: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        cat = catalogue()
        cid = cat.resolve(self.id)
        if cid is None:
            raise ValueError(f"unknown check id {self.id!r}: add it (or an alias) to specs/checks.toml first")
        if cid != self.id:
            object.__setattr__(self, "detail", {**self.detail, "code": self.id})
            object.__setattr__(self, "id", cid)
        if self.severity is None:
            object.__setattr__(self, "severity", cat.severity(self.id))
        elif self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} of {self.id!r} is not one of {SEVERITIES}")

    @classmethod
    def from_problem(cls, problem: Problem, *, image: int | None = None, base: int = 0,
                     severity: str | None = None) -> Finding:
        """A finding from a reader :class:`~gainmap.errors.Problem` (its code is the id); ``base`` is added to
        the problem's offset when that offset is relative to a payload."""
        return cls(problem.code, severity, base + problem.offset, problem.length, problem.message, image)

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Offset order (file-level findings last), then severity, id and message for a stable order."""
        return (self.offset is None, self.offset or 0, SEVERITIES.index(self.severity or "info"), self.id,
                self.image if self.image is not None else -1, self.length or 0, self.message)


@dataclass(frozen=True)
class RegisteredCheck:
    """A check function and the ids it may emit."""

    fn: CheckFn
    ids: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


_REGISTRY: list[RegisteredCheck] = []


def check(*ids: str) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check that emits ``ids`` (catalogue ids, or reader codes listed
    as aliases, which stand for their ids)."""
    if not ids:
        raise ValueError("@check needs at least one catalogue id")
    cat = catalogue()
    unknown = [i for i in ids if cat.resolve(i) is None]
    if unknown:
        raise ValueError(f"@check: unknown id(s) {unknown}; add them to specs/checks.toml first")
    resolved = tuple(dict.fromkeys(cat.resolve(i) or i for i in ids))

    def register(fn: CheckFn) -> CheckFn:
        _REGISTRY.append(RegisteredCheck(fn, resolved))
        return fn

    return register


def registered() -> list[RegisteredCheck]:
    """Every registered check, in registration order."""
    return list(_REGISTRY)


def registered_ids() -> set[str]:
    """Every id some registered check may emit."""
    return {i for rc in _REGISTRY for i in rc.ids}


def _failure(rc: RegisteredCheck, what: str) -> Finding:
    return Finding(INTERNAL_FAILURE, message=f"check {rc.name} {what}", detail={"check": rc.name})


def run_checks(ctx: CheckContext, checks: Iterable[RegisteredCheck] | None = None) -> list[Finding]:
    """Run every registered check (or just ``checks``) on ``ctx``; findings sorted by offset, exact duplicates
    dropped.  Never raises because of a check."""
    found: list[Finding] = []
    for rc in _REGISTRY if checks is None else checks:
        try:
            produced = list(rc.fn(ctx) or ())
        except Exception as exc:  # a check bug must not hide the other checks' findings
            where = traceback.extract_tb(exc.__traceback__)[-1]
            found.append(_failure(rc, f"raised {type(exc).__name__}: {exc} "
                                      f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"))
            continue
        for f in produced:
            if not isinstance(f, Finding):
                found.append(_failure(rc, f"yielded {type(f).__name__}, not a Finding"))
            elif f.id not in rc.ids:
                found.append(_failure(rc, f"yielded {f.id!r}, which it did not declare in @check"))
            else:
                found.append(f)
    unique = {(f.id, f.severity, f.offset, f.length, f.message, f.image): f for f in found}
    return sorted(unique.values(), key=lambda f: f.sort_key)
