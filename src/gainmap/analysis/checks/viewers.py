"""Viewer verdicts: will Chrome, Android, Apple, libultrahdr, libavif and Adobe show a file as HDR, and why?

Driven entirely by ``specs/viewers.toml`` (its header documents the rules); nothing here knows any viewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gainmap.analysis.checks.catalogue import SIX, Catalogue, ViewerSpec, catalogue
from gainmap.analysis.checks.registry import Finding


@dataclass(frozen=True)
class Verdict:
    """Whether a viewer shows HDR, the ids that decided it, and how sure we are (``evidence``, ``note``)."""

    hdr: bool
    because: list[str] = field(default_factory=list)
    evidence: str = "code"
    note: str = ""
    #: Name of the route (metadata form) the viewer uses when ``hdr`` is True.
    route: str | None = None


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class _Facts:
    def __init__(self, six: Mapping[str, bool], findings: Iterable[Finding]) -> None:
        unknown = set(six) - set(SIX)
        if unknown:
            raise ValueError(f"unknown presence check(s) {sorted(unknown)}; expected keys of {SIX}")
        self.six = {f"six.{k}": bool(v) for k, v in six.items()}
        found = list(findings)
        self.present = {f.id for f in found}
        # where each id was found: "primary" (image 0) or "secondary" (another image); file-level ones count
        # for neither scope
        self.scoped = {f"{f.id}@{'primary' if f.image == 0 else 'secondary'}" for f in found
                       if f.image is not None}

    def holds(self, term: str) -> bool:
        if term.startswith("!"):
            return not self.holds(term[1:])
        if "|" in term:
            return any(self.holds(t) for t in term.split("|"))
        if term in self.six:
            return self.six[term]
        if term.startswith("six."):
            return False  # a presence check not reported counts as absent
        return term in self.present

    def failing(self, terms: Iterable[str]) -> list[str]:
        """The ids behind the terms that do not hold: X for a failed "!X", A for a failed "A|B"."""
        return [t.lstrip("!").split("|")[0] for t in terms if not self.holds(t)]

    def holding(self, terms: Iterable[str]) -> list[str]:
        """The ids behind positive terms that hold (for "A|B", the alternatives that hold)."""
        return [a for t in terms if not t.startswith("!") for a in t.split("|") if self.holds(a)]

    def hits(self, ids: Iterable[str]) -> list[str]:
        """The ids (scope dropped) of the findings present; ``id@scope`` counts only in that scope."""
        return [i.split("@", 1)[0] for i in ids if i in (self.scoped if "@" in i else self.present)]


def verdict(spec: ViewerSpec, facts: _Facts) -> Verdict:
    """One viewer's verdict (see :func:`verdicts`)."""

    def result(hdr: bool, because: Iterable[str], route: str | None = None) -> Verdict:
        return Verdict(hdr, _dedupe(because), spec.evidence, spec.note, route)

    blocked = facts.hits(spec.blocked_by)
    missing = facts.failing(spec.requires)
    if blocked or missing:
        return result(False, blocked + missing)
    spoiled: list[str] = []
    unmet: list[str] = []
    for route in spec.routes:
        lacking = facts.failing(route.when)
        if lacking:
            unmet += lacking
            continue
        hits = facts.hits(route.unless)
        if not hits:
            return result(True, facts.holding((*spec.requires, *route.when)), route.name)
        spoiled += hits
        if route.final:
            break
    return result(False, spoiled or unmet)


def verdicts(six: Mapping[str, bool], findings: Iterable[Finding],
             cat: Catalogue | None = None) -> dict[str, Verdict]:
    """A :class:`Verdict` per viewer, in the catalogue's viewer order.

    ``six`` maps the presence-check names (``mpf``, ``container_xmp``, ``hdrgm``, ``iso_primary``,
    ``iso_gainmap``, ``icc``) to booleans; a name left out counts as absent.
    """
    cat = cat or catalogue()
    facts = _Facts(six, findings)
    return {key: verdict(spec, facts) for key, spec in cat.viewers.items()}
