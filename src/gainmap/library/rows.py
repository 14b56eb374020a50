"""One flat row per file: the per-file work of ``gainmap scan`` (and of anything that scans libraries).

:func:`scan_file` never raises for a bad file: an unreadable file, a non-JPEG image and a JPEG the validator
cannot make sense of each get a row whose ``status`` says so.  :data:`~gainmap.analysis.report.rows.FIELDS` is
the row schema, shared by the JSON Lines, CSV and Parquet writers (:mod:`gainmap.library.sinks`) and documented
in docs/json-output.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gainmap.analysis.checks.catalogue import SEVERITIES, SIX
from gainmap.analysis.classify import classify_report
from gainmap.analysis.report.rows import FIELD_NAMES, FIELDS, ROW_SCHEMA_VERSION, VIEWERS
from gainmap.analysis.result import Report
from gainmap.analysis.validate import check_file
from gainmap.editing.repair import plan
from gainmap.errors import GainMapError
from gainmap.library.walk import SNIFF_BYTES, sniff
from gainmap.model.container import GainMapFile
from gainmap.model.reader import identify_non_jpeg, read


def empty_row(path: str) -> dict[str, Any]:
    """A row with every field null except the version and the path."""
    row: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    row["schema_version"] = ROW_SCHEMA_VERSION
    row["path"] = path
    return row


def error_row(path: str, message: str, size: int | None = None, fmt: str | None = None) -> dict[str, Any]:
    row = empty_row(path)
    row.update(size=size, format=fmt, status="error", error=message)
    return row


def scan_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The row of one file (see :data:`FIELDS`); never raises for a bad file."""
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        return error_row(name, f"cannot read: {exc.strerror or exc}")
    return scan_bytes(data, name)


def scan_bytes(data: bytes, name: str) -> dict[str, Any]:
    """The row of a file already in memory (the Ray engine's entry point)."""
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt != "jpeg":
        row = empty_row(name)
        row.update(size=len(data), format=fmt, status="not-checked", kind="other")
        if fmt == "empty":
            row.update(status="error", error=identify_non_jpeg(data))
        return row
    try:
        gmf = read(data, name=name)
        report = check_file(gmf, data)
    except GainMapError as exc:
        return error_row(name, str(exc), len(data), fmt)
    except Exception as exc:  # a validator bug must not end a scan of 50,000 files: the row says what happened
        return error_row(name, f"internal error while checking: {type(exc).__name__}: {exc}", len(data), fmt)
    return report_row(report, gmf, len(data))


def report_row(report: Report, gmf: GainMapFile | None, size: int) -> dict[str, Any]:
    """The row of a checked file from its report (and the parsed file, for the headroom)."""
    row = empty_row(report.file)
    row.update(size=size, format="jpeg", status="checked", kind=classify_report(report))
    for name in SIX:
        row[f"check_{name}"] = bool(report.six.get(name, False))
    for viewer in VIEWERS:
        verdict = report.viewers.get(viewer)
        row[f"hdr_{viewer}"] = None if verdict is None else bool(verdict.hdr)
    present = {f.severity for f in report.findings}
    row["severity"] = next((s for s in SEVERITIES if s in present), "none")
    row["errors"] = report.count("error")
    row["warnings"] = report.count("warning")
    row["finding_ids"] = list(dict.fromkeys(f.id for f in report.findings))
    actions = [step.name for step in plan(report)]
    row["repair_actions"] = actions
    row["repairable"] = bool(actions)
    if report.primary is not None:
        row["primary_width"], row["primary_height"] = report.primary.width, report.primary.height
    if report.gainmap is not None:
        row["gainmap_width"], row["gainmap_height"] = report.gainmap.width, report.gainmap.height
        row["headroom"], row["gain_max"] = _headroom(gmf)
    return row


def _headroom(gmf: GainMapFile | None) -> tuple[float | None, float | None]:
    if gmf is None:
        return None, None
    try:
        md = gmf.metadata()
    except (GainMapError, ValueError, ArithmeticError):
        return None, None
    if md is None:
        return None, None
    return _finite(md.alternate_hdr_headroom), _finite(max(md.gain_map_max))


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if value == value and abs(value) != float("inf") else None


__all__ = ["FIELDS", "FIELD_NAMES", "ROW_SCHEMA_VERSION", "VIEWERS", "empty_row", "error_row", "report_row",
           "scan_bytes", "scan_file"]
