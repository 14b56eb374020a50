"""Run the per-file function over many files: a process pool, rows streamed in file order, the cache consulted
first.  Memory stays flat: the walk is listed (paths only) and rows are handed on as they arrive."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from gainmap.library.cache import RowCache
from gainmap.library.rows import error_row, scan_file
from gainmap.library.walk import walk

Row = dict[str, Any]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def map_rows(work: Callable[[Any], Row], items: Iterable[Any], jobs: int) -> Iterator[Row]:
    """``work`` applied to every item, in order; on ``jobs`` processes when more than one."""
    if jobs <= 1:
        for item in items:
            yield work(item)
        return
    if "forkserver" in multiprocessing.get_all_start_methods():
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload([work.__module__])  # workers fork from a server that imported it once
        ctx: multiprocessing.context.BaseContext = server
    else:
        ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(work, items, chunksize=2)


def scan_rows(paths: Iterable[str | os.PathLike[str]], *, recursive: bool = False, jobs: int | None = None,
              cache: str | os.PathLike[str] | None = None) -> Iterator[Row]:
    """The row of every file under ``paths`` (see :func:`gainmap.library.walk.walk`), in walk order.

    ``jobs`` processes check files (default: the number of cores); with ``cache`` (a SQLite file) unchanged
    files are answered from it and new rows are stored in it.  A path that does not exist raises
    :class:`FileNotFoundError` before any row.
    """
    return scan_files(list(walk(paths, recursive)), jobs=jobs, cache=cache)


def scan_files(files: list[Path], *, jobs: int | None = None, cache: str | os.PathLike[str] | None = None
               ) -> Iterator[Row]:
    """The row of each file, in order (see :func:`scan_rows`)."""
    with ExitStack() as stack:
        store = stack.enter_context(RowCache(cache)) if cache is not None else None
        stats = [_stat(p) for p in files] if store is not None else [None] * len(files)
        cached: list[Row | None] = [
            store.get(str(p), *st) if store is not None and st is not None else None
            for p, st in zip(files, stats)]
        todo = [str(p) for p, row in zip(files, cached) if row is None]
        fresh = map_rows(scan_file, todo, min(jobs or default_jobs(), max(1, len(todo))))
        for path, st, row in zip(files, stats, cached):
            if row is None:
                row = next(fresh, None) or error_row(str(path), "internal error: no row came back")
                if store is not None and st is not None and row.get("size") is not None:
                    store.put(str(path), *st, row)
            yield row
