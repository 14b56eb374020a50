"""Writers of rows: JSON Lines, CSV and Parquet, one schema (:data:`gainmap.library.rows.FIELDS`).

Rows are written as they come (Parquet in row groups), so memory does not grow with the number of files.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from typing import IO, Any, Protocol

from gainmap.analysis.report.rows import FIELDS, Field

#: Rows per Parquet row group.
PARQUET_BATCH = 1000


class Sink(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLinesSink:
    """One compact JSON object per row, keys in schema order."""

    def __init__(self, stream: IO[str], fields: Sequence[Field] = FIELDS) -> None:
        self.stream, self.names = stream, [f.name for f in fields]

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(json.dumps({n: row.get(n) for n in self.names}, allow_nan=False, ensure_ascii=False)
                          + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def csv_value(value: Any) -> Any:
    """A row value as a CSV cell: lists joined by ``;``, booleans as ``true``/``false``, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


class CsvSink:
    """A header line with the field names, then one line per row."""

    def __init__(self, path: str | os.PathLike[str], fields: Sequence[Field] = FIELDS) -> None:
        self.names = [f.name for f in fields]
        self._fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._writer = csv.writer(self._fh)
        self._writer.writerow(self.names)

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow([csv_value(row.get(n)) for n in self.names])

    def close(self) -> None:
        self._fh.close()


def arrow_schema(fields: Sequence[Field] = FIELDS) -> Any:
    """The pyarrow schema of the rows."""
    import pyarrow as pa  # imported only when Parquet is asked for (start-up of the other outputs stays cheap)

    types = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
             "list": pa.list_(pa.string())}
    return pa.schema([pa.field(f.name, types[f.type]) for f in fields])


class ParquetSink:
    """Rows in a Parquet file, :data:`PARQUET_BATCH` rows per row group."""

    def __init__(self, path: str | os.PathLike[str], fields: Sequence[Field] = FIELDS) -> None:
        import pyarrow.parquet as pq  # only when Parquet is asked for (see arrow_schema)

        self.schema = arrow_schema(fields)
        self.names = [f.name for f in fields]
        self._writer = pq.ParquetWriter(os.fspath(path), self.schema)
        self._batch: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        self._batch.append({n: row.get(n) for n in self.names})
        if len(self._batch) >= PARQUET_BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa  # see arrow_schema

        if self._batch:
            self._writer.write_table(pa.Table.from_pylist(self._batch, schema=self.schema))
            self._batch = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
