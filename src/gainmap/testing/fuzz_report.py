"""What a fuzz run found: the distinct failures, the run's totals, the progress line, and the files written
(a minimised reproducer and the original per failure, and ``failures.json``)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass
class FuzzFailure:
    """One distinct failure: its kind and detail, the input that first showed it, and the reproducer."""

    kind: str
    detail: str
    origin: str
    index: int
    data: bytes
    note: str = ""
    expected: frozenset[str] = frozenset()
    output: str = ""
    minimised: bytes | None = None
    path: Path | None = None
    hits: int = 1
    #: Other origins whose inputs minimised to the same reproducer.
    also: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, str, str]:
        return (self.kind, self.detail, self.origin)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "origin": self.origin, "input": self.index,
                "also": self.also, "note": self.note, "expected_ids": sorted(self.expected), "hits": self.hits,
                "size": len(self.data), "minimised_size": None if self.minimised is None else len(self.minimised),
                "file": None if self.path is None else self.path.name, "output": self.output[-1000:]}


@dataclass
class FuzzResult:
    """A fuzz run: inputs tried, time taken, target statuses, and the distinct failures."""

    runs: int = 0
    elapsed: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[FuzzFailure] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.elapsed if self.elapsed > 0 else 0.0

    def by_kind(self) -> Counter[str]:
        return Counter(f.kind for f in self.failures)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind().items())) or "none"
        accepted, rejected = self.statuses.get("accepted", 0), self.statuses.get("rejected", 0)
        return (f"{self.runs} inputs in {self.elapsed:.1f} s ({self.rate:.1f}/s); target accepted {accepted}, "
                f"rejected {rejected}; distinct failures: {kinds}")


class Progress:
    """A one-line progress display on a stream, redrawn with a carriage return at most 5 times a second."""

    def __init__(self, stream: TextIO | None, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.width = 0

    def update(self, done: int, failures: Counter[str], *, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not force and now - self.last < 0.2):
            return
        self.last = now
        rate = done / (now - self.start) if now > self.start else 0.0
        total = f"/{self.total}" if self.total else ""
        kinds = " ".join(f"{k} {n}" for k, n in sorted(failures.items()))
        line = f"fuzz: {done}{total} inputs  {rate:.1f}/s  failures {sum(failures.values())}" + \
            (f" ({kinds})" if kinds else "")
        self.stream.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None and self.width:
            self.stream.write("\n")
            self.stream.flush()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "x"


def write_failure(out_dir: Path, failure: FuzzFailure, number: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{number:03d}-{failure.kind}-{slug(failure.detail)}-{slug(failure.origin)}"
    path = out_dir / f"{stem}.jpg"
    path.write_bytes(failure.minimised if failure.minimised is not None else failure.data)
    (out_dir / f"{stem}.orig.jpg").write_bytes(failure.data)
    failure.path = path


def write_index(out_dir: Path, result: FuzzResult, target: str, seed: int, viewer: str | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    index = {"target": target, "seed": seed, "viewer": viewer, "runs": result.runs,
             "elapsed_s": round(result.elapsed, 3), "rate_per_s": round(result.rate, 2),
             "statuses": dict(result.statuses), "failures": [f.to_json() for f in result.failures]}
    (out_dir / "failures.json").write_text(json.dumps(index, indent=2) + "\n")
