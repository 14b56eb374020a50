"""The scan cache: rows in SQLite keyed by path, size and modification time.

A second scan of an unchanged library then costs only the walk and one ``stat`` per file.  The cache records
the gainmap version and the row schema version; when either differs, every cached row is dropped.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from gainmap import __version__
from gainmap.library.rows import ROW_SCHEMA_VERSION

#: What a cached row must have been made by; any change empties the cache.
CACHE_STAMP = f"gainmap {__version__} rows {ROW_SCHEMA_VERSION}"


class RowCache:
    """Rows of earlier scans.  Use as a context manager, or call :meth:`close`; writes are committed in batches
    and on close."""

    def __init__(self, path: str | os.PathLike[str], stamp: str = CACHE_STAMP) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS rows (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                             "mtime_ns INTEGER NOT NULL, row TEXT NOT NULL)")
            found = self._db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            if found is None or found[0] != stamp:
                self._db.execute("DELETE FROM rows")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (stamp,))
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise OSError(0, f"not a gainmap cache ({exc})", str(self.path)) from None
        self._pending = 0
        self.hits = 0

    @staticmethod
    def key(path: str | os.PathLike[str]) -> str:
        return os.path.abspath(path)

    def get(self, path: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
        """The cached row when the file still has this size and modification time (its ``path`` is ``path``)."""
        found = self._db.execute("SELECT row FROM rows WHERE path = ? AND size = ? AND mtime_ns = ?",
                                 (self.key(path), size, mtime_ns)).fetchone()
        if found is None:
            return None
        self.hits += 1
        row: dict[str, Any] = json.loads(found[0])
        row["path"] = path
        return row

    def put(self, path: str, size: int, mtime_ns: int, row: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)",
                         (self.key(path), size, mtime_ns, json.dumps(row, allow_nan=False)))
        self._pending += 1
        if self._pending >= 500:
            self._db.commit()
            self._pending = 0

    def close(self) -> None:
        self._db.commit()
        self._db.close()

    def __enter__(self) -> RowCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
