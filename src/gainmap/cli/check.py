"""``gainmap check FILE...``: why Chrome / Preview / Android will or will not show each file as HDR.

Every file is checked even when an earlier one cannot be read; the exit code is the worst of them.
"""

from __future__ import annotations

import argparse
import json
import sys

from gainmap.analysis.report import render_json, render_text
from gainmap.analysis.validate import check_bytes
from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, read_input, report_error
from gainmap.errors import NotAJpegError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("-v", "--verbose", action="store_true", help="every finding with offsets and fixes")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (docs/json-output.md)")


def run(args: argparse.Namespace) -> int:
    worst = EXIT_OK
    for path in args.files:
        try:
            report = check_bytes(read_input(path), name=path)
        except (UsageError, NotAJpegError) as exc:
            worst = max(worst, report_error(exc))
            continue
        if report.has_errors and worst == EXIT_OK:
            worst = EXIT_FINDINGS
        if args.json:  # JSON Lines: one compact object per file, as each file is done
            sys.stdout.write(json.dumps(render_json(report), allow_nan=False, default=str) + "\n")
            sys.stdout.flush()
        else:
            print(render_text(report, verbose=args.verbose))
    return worst
