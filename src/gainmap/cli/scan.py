"""``gainmap scan PATH... [-r]``: check a photo library, one row per file (docs/json-output.md), and sum it up.

Rows go to stdout as JSON Lines (``--json``), or to a CSV or Parquet file; without those, each file that matches
``--fail-on`` gets a line.  The summary table ends the run (on stderr with ``--json``).  Exit codes as ``check``:
0 clean, 1 when any row matches ``--fail-on`` (default: error-level findings and unreadable files), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, Progress, UsageError
from gainmap.library.runner import default_jobs, scan_files
from gainmap.library.sinks import CsvSink, JsonLinesSink, ParquetSink, Sink
from gainmap.library.summary import FailOn, Summary
from gainmap.library.walk import walk


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files and folders")
    add_library_options(parser)


def add_library_options(parser: argparse.ArgumentParser) -> None:
    """The options ``scan`` and ``diff`` share: walking, jobs, outputs, --fail-on."""
    parser.add_argument("-r", "--recursive", action="store_true", help="walk sub-folders too")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help=f"processes that check files (default: the number of cores, {default_jobs()})")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per file on stdout (JSON Lines)")
    out.add_argument("--csv", metavar="FILE", help="write the rows as CSV")
    out.add_argument("--parquet", metavar="FILE", help="write the rows as Parquet (needs pyarrow)")
    parser.add_argument("--fail-on", default="error,unreadable", metavar="LIST",
                        help="exit 1 when a row matches: error, warning, info, finding ids, id prefixes (mpf.*), "
                             "unreadable, not-checked, sdr, repairable, none (default: error,unreadable)")
    parser.add_argument("--cache", metavar="FILE", help="SQLite cache of rows (keyed by path, size, mtime)")


def open_sink(args: argparse.Namespace, fields: Any = None) -> Sink | None:
    """The writer the options ask for (None: text)."""
    extra = {} if fields is None else {"fields": fields}
    try:
        if args.json:
            return JsonLinesSink(sys.stdout, **extra)
        if args.csv:
            return CsvSink(args.csv, **extra)
        if args.parquet:
            try:
                return ParquetSink(args.parquet, **extra)
            except ImportError:
                raise UsageError("--parquet needs pyarrow: pip install 'gainmap[library]'") from None
    except OSError as exc:
        raise UsageError(f"{exc.filename or args.csv or args.parquet}: cannot write: {exc.strerror or exc}"
                         ) from None
    return None


def parse_common(args: argparse.Namespace) -> FailOn:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    try:
        return FailOn.parse(args.fail_on)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def describe(row: dict[str, Any]) -> str:
    """The text line of one row."""
    if row["status"] == "error":
        return f"{row['path']}: {row['error']}"
    if row["status"] == "not-checked":
        return f"{row['path']}: {row['format']}, not checked (not a JPEG)"
    hdr = [v for v in ("chrome", "android", "apple", "libultrahdr", "libavif", "adobe") if row.get(f"hdr_{v}")]
    ids = ", ".join(row["finding_ids"][:6]) + (" ..." if len(row["finding_ids"]) > 6 else "")
    return (f"{row['path']}: {row['kind']}, {row['severity']}; HDR in {', '.join(hdr) or 'no viewer'}"
            + (f"; {ids}" if ids else "") + ("; repairable" if row.get("repairable") else ""))


def run(args: argparse.Namespace) -> int:
    fail_on = parse_common(args)
    files = list(walk(args.paths, args.recursive))  # refuses a missing path before any output
    sink = open_sink(args)
    summary = Summary()
    progress = Progress(len(files))
    try:
        for row in scan_files(files, jobs=args.jobs, cache=args.cache):
            failed = fail_on.matches(row)
            summary.add(row, failed)
            progress.update(row["severity"] if row["status"] == "checked" else row["status"])
            if sink is not None:
                sink.write(row)
            elif failed:
                progress.write(describe(row))
    finally:
        progress.close()
        if sink is not None:
            sink.close()
    print(summary.table(), file=sys.stderr if args.json else sys.stdout)
    return EXIT_FINDINGS if summary.failed else EXIT_OK
