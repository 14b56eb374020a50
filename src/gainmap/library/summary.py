"""What a scan adds up to: counts per kind, status and viewer verdict, the most common finding ids, and which
rows match ``--fail-on``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gainmap.analysis.checks.catalogue import SEVERITIES
from gainmap.library.rows import VIEWERS

#: ``--fail-on`` words besides severities and finding ids.
FAIL_WORDS: dict[str, str] = {
    "unreadable": "a file that could not be read or checked (status error)",
    "not-checked": "a file that is not a JPEG",
    "sdr": "a checked file that no viewer shows as HDR",
    "repairable": "a file `gainmap repair` would change",
    "none": "nothing (always exit 0)",
}


@dataclass(frozen=True)
class FailOn:
    """Which rows fail a scan: ``error``/``warning``/``info`` (a finding at that severity or worse), a finding
    id (``mpf.entry-offset``), an id prefix (``mpf.*``), or one of :data:`FAIL_WORDS`."""

    words: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> FailOn:
        words = frozenset(w.strip() for w in text.split(",") if w.strip())
        for w in words:
            if w not in SEVERITIES and w not in FAIL_WORDS and "." not in w:
                raise ValueError(f"--fail-on: unknown {w!r}; use error, warning, info, a finding id "
                                 f"(mpf.entry-offset), an id prefix (mpf.*) or one of {', '.join(FAIL_WORDS)}")
        return cls(words)

    def matches(self, row: dict[str, Any]) -> bool:
        w = self.words
        if "none" in w:
            return False
        status, severity = row.get("status"), row.get("severity")
        if status == "error":
            return "unreadable" in w
        if status == "not-checked":
            return "not-checked" in w
        if severity in SEVERITIES and any(s in w for s in SEVERITIES[SEVERITIES.index(severity):]):
            return True
        if "sdr" in w and not any(row.get(f"hdr_{v}") for v in VIEWERS):
            return True
        if "repairable" in w and row.get("repairable"):
            return True
        ids = row.get("finding_ids") or []
        prefixes = tuple(p[:-1] for p in w if p.endswith(".*"))
        return any(i in w or (prefixes and i.startswith(prefixes)) for i in ids)


@dataclass
class Summary:
    """Counts over the rows seen so far (:meth:`add` one at a time)."""

    files: int = 0
    failed: int = 0
    status: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    hdr: Counter[str] = field(default_factory=Counter)
    sdr: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)

    def add(self, row: dict[str, Any], failed: bool = False) -> None:
        self.files += 1
        self.failed += failed
        self.status[row.get("status") or "?"] += 1
        self.formats[row.get("format") or "unreadable"] += 1
        if row.get("kind"):
            self.kinds[row["kind"]] += 1
        for v in VIEWERS:
            verdict = row.get(f"hdr_{v}")
            if verdict is not None:
                (self.hdr if verdict else self.sdr)[v] += 1
        self.findings.update(row.get("finding_ids") or [])

    def table(self, top: int = 10) -> str:
        """The end-of-scan summary as aligned plain text."""
        lines = [f"{self.files} files: " + ", ".join(f"{n} {s}" for s, n in sorted(self.status.items()))
                 + (f"; {self.failed} match --fail-on" if self.failed else "")]
        lines += _block("kind", self.kinds.most_common())
        others = [(f, n) for f, n in self.formats.most_common() if f != "jpeg"]
        lines += _block("not JPEG", others)
        if self.hdr or self.sdr:
            lines += ["", f"  {'viewer':<14}{'HDR':>8}{'SDR':>8}"]
            lines += [f"  {v:<14}{self.hdr[v]:>8}{self.sdr[v]:>8}" for v in VIEWERS]
        lines += _block(f"top {top} finding ids", self.findings.most_common(top))
        return "\n".join(lines)


def _block(title: str, counts: Iterable[tuple[str, int]]) -> list[str]:
    counts = list(counts)
    if not counts:
        return []
    return ["", f"  {title}"] + [f"  {n:>8}  {name}" for name, n in counts]
