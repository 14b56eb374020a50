"""``gainmap report FILE... -o OUT.html`` and ``gainmap report DIR -r -o OUTDIR/``: the visual HTML report
(docs/report.md).

One file gives one page; several files and ``-o OUT.html`` give one page with every file; a folder (or ``-o``
naming a folder) gives ``index.html`` plus one page per file.  Each file is checked with detail (anatomy and
pictures) and repaired in memory, so its verdict can say whether ``gainmap repair`` fixes it.  Exit codes as
``gainmap check``: 0 clean, 1 error-level findings in some file, 2 usage errors or an unreadable input.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from gainmap.analysis.report.html import render_comparison, render_html, render_many
from gainmap.analysis.report.html_index import IndexEntry, render_index
from gainmap.analysis.result import Report
from gainmap.analysis.validate import check_bytes
from gainmap.atomic import write_bytes
from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError
from gainmap.editing.repair import RepairError, repair
from gainmap.errors import GainMapError, NotAJpegError

#: File name endings taken from a folder (case-insensitive).
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE|DIR")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="an .html file, or a folder (ending in /) for index.html plus a page per file")
    parser.add_argument("-r", "--recursive", action="store_true", help="take JPEGs from sub-folders too")
    parser.add_argument("--no-repair-check", dest="repair_check", action="store_false",
                        help="do not try `gainmap repair` in memory to say whether it fixes the file")
    parser.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                        help="worker processes for a folder (default: one per core)")


def _collect(inputs: list[str], recursive: bool) -> tuple[list[tuple[Path, str]], bool]:
    """(path, name shown) for every input file, and whether any input was a folder."""
    files: list[tuple[Path, str]] = []
    any_dir = False
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            any_dir = True
            found = path.rglob("*") if recursive else path.glob("*")
            for p in sorted(f for f in found if f.is_file() and f.suffix.lower() in JPEG_SUFFIXES):
                files.append((p, p.relative_to(path).as_posix()))
        elif path.exists():
            files.append((path, path.name))
        else:
            raise UsageError(f"{name}: no such file or folder")
    if not files:
        raise UsageError("no JPEG files found in " + ", ".join(inputs))
    return files, any_dir


def _page_name(shown: str, taken: set[str]) -> str:
    base = "".join(c if c.isalnum() or c in "._-" else "_" for c in shown.replace("/", "__"))
    name, n = f"{base}.html", 1
    while name in taken or name == "index.html":
        name, n = f"{base}.{n}.html", n + 1
    taken.add(name)
    return name


def build_report(data: bytes, name: str, repair_check: bool = True) -> tuple[Report, Report | None]:
    """The detailed report of ``data`` and, when asked, the report after an in-memory repair (None when
    repair has no plan or gives up)."""
    report = check_bytes(data, name=name, detail=True)
    if not repair_check:
        return report, None
    try:
        result = repair(data, name=name)
    except (RepairError, GainMapError):
        return report, None
    return report, (result.after if result.plan else None)


def _one(path: Path, shown: str, repair_check: bool, out: Path | None, href: str | None
         ) -> tuple[IndexEntry, Report | None, Report | None]:
    """Check one file; with ``out`` write its page there as ``href`` and keep only what the index needs.
    Runs in a worker process for folders, so it reports errors as data, not by printing."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return IndexEntry(shown, None, error=f"{path}: cannot read: {exc.strerror or exc}"), None, None
    try:
        report, repaired = build_report(data, shown, repair_check)
    except NotAJpegError as exc:
        return IndexEntry(shown, None, error=str(exc), size=len(data)), None, None
    if out is None or href is None:
        return IndexEntry(shown, None, report, size=len(data)), report, repaired
    write_bytes(out / href, render_html(report, repaired, back_link="index.html").encode("utf-8"))
    return IndexEntry(shown, href, _without_preview(report), size=len(data)), None, None


def _run_all(jobs: list[tuple[Path, str, bool, Path | None, str | None]], workers: int
             ) -> list[tuple[IndexEntry, Report | None, Report | None]]:
    if workers <= 1 or len(jobs) < 4:
        return [_one(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_one, *zip(*jobs), chunksize=2))


def run(args: argparse.Namespace) -> int:
    files, any_dir = _collect(args.inputs, args.recursive)
    out = Path(args.output)
    as_folder = any_dir or args.output.endswith(("/", os.sep)) or out.is_dir()
    if as_folder:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{out}: cannot create the folder: {exc.strerror or exc}") from None
    taken: set[str] = set()
    jobs = [(path, shown, args.repair_check, out if as_folder else None,
             _page_name(shown, taken) if as_folder else None) for path, shown in files]
    workers = args.jobs if args.jobs else (os.cpu_count() or 1)
    results = _run_all(jobs, workers if as_folder else 1)
    worst = EXIT_OK
    for entry, _report, _repaired in results:
        if entry.report is None:
            print(f"gainmap: {entry.error}", file=sys.stderr)
            worst = EXIT_USAGE
        elif entry.report.has_errors and worst == EXIT_OK:
            worst = EXIT_FINDINGS
    entries = [entry for entry, _, _ in results]
    if as_folder:
        write_bytes(out / "index.html", render_index(entries, f"gainmap report: {', '.join(args.inputs)}")
                    .encode("utf-8"))
        print(f"wrote {out / 'index.html'} and {sum(1 for e in entries if e.href)} page(s)")
        return worst
    reports = [(r, x) for _, r, x in results if r is not None]
    if reports:
        text = render_html(*reports[0]) if len(reports) == 1 else render_many(
            [r for r, _ in reports], [x for _, x in reports])
        write_bytes(out, text.encode("utf-8"))
        print(f"wrote {out}")
    return worst


def _without_preview(report: Report) -> Report:
    """The report as the index needs it: the pictures' copy of the file's bytes let go (the page is written)."""
    if report.pictures is None:
        return report
    return replace(report, pictures=replace(report.pictures, file_bytes=b""))


def write_comparison(out: str | Path, before: bytes, after: bytes, names: tuple[str, str], title: str,
                     steps: list[str]) -> None:
    """Write the before/after page of ``gainmap repair --report`` and ``gainmap restore --report``: both
    versions checked with detail, side by side, after the list of ``steps`` taken."""
    first = check_bytes(before, name=names[0], detail=True)
    second = check_bytes(after, name=names[1], detail=True)
    write_bytes(Path(out), render_comparison(first, second, title, steps).encode("utf-8"))


def report_path(out: str, src: Path, many: bool) -> Path:
    """Where ``--report OUT.html`` goes for ``src``: OUT itself, or ``OUT-stem.NAME.html`` beside it when a
    command handles several files."""
    path = Path(out)
    return path.with_name(f"{path.stem}.{src.name}.html") if many else path
