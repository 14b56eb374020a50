"""Shrink a failing input while it keeps failing: delta debugging over the file's structure, then bytes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from gainmap.model.container import JpegImage
from gainmap.model.reader import read


def minimise(data: bytes, still_fails: Callable[[bytes], bool], *, budget_s: float = 10.0,
             max_tests: int = 2000) -> bytes:
    """The smallest input found that still fails: first whole parts and segments are removed (delta
    debugging over the file's structure), then byte blocks of halving size.  Bounded by ``budget_s`` seconds
    and ``max_tests`` runs; the result always fails (it is ``data`` itself when nothing could go)."""
    deadline = time.monotonic() + budget_s
    cache: dict[bytes, bool] = {}
    tests = 0

    def fails(candidate: bytes) -> bool:
        nonlocal tests
        key = hashlib.sha1(candidate).digest()
        if key not in cache:
            if tests >= max_tests or time.monotonic() > deadline:
                return False
            tests += 1
            cache[key] = bool(candidate) and still_fails(candidate)
        return cache[key]

    def out_of_budget() -> bool:
        return tests >= max_tests or time.monotonic() > deadline

    pieces = _ddmin(_structure(data), fails, out_of_budget)
    best = b"".join(pieces)
    size = max(1, len(best) // 2)
    while size >= 1 and not out_of_budget():
        i = 0
        while i < len(best) and not out_of_budget():
            candidate = best[:i] + best[i + size:]
            if fails(candidate):
                best = candidate
            else:
                i += size
        size //= 2
    return best


def _structure(data: bytes) -> list[bytes]:
    """The file cut into parts: gaps whole, images into their segments (SOS with its scan data)."""
    try:
        gmf = read(data)
    except Exception:  # not a JPEG (or our reader failed): bytes only
        return [data]
    pieces: list[bytes] = []
    for part in gmf.parts:
        if isinstance(part, JpegImage):
            pieces.extend(item.to_bytes() for item in part.items)
        else:
            pieces.append(part.to_bytes())
    return pieces if b"".join(pieces) == data else [data]


def _ddmin(pieces: list[bytes], fails: Callable[[bytes], bool], stop: Callable[[], bool]) -> list[bytes]:
    """Delta debugging (complements only): remove chunks of ``pieces`` while the joined rest still fails."""
    n = 2
    while len(pieces) >= 2 and not stop():
        chunk = -(-len(pieces) // n)
        for start in range(0, len(pieces), chunk):
            rest = pieces[:start] + pieces[start + chunk:]
            if rest and fails(b"".join(rest)):
                pieces = rest
                n = max(n - 1, 2)
                break
        else:
            if n >= len(pieces):
                break
            n = min(len(pieces), 2 * n)
    return pieces
