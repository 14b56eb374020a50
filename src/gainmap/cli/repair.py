"""``gainmap repair FILE...``: print the plan, apply it, re-check, and show the verdicts before and after.

The SDR image stays bit-identical; the input is replaced only with ``--in-place`` (keeping a ``.bak`` copy unless
``--no-backup``).  Every file is tried even when an earlier one fails; the exit code is the worst of them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from gainmap.atomic import write_bytes
from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, read_input, report_error
from gainmap.editing.repair import RepairError, RepairResult, repair
from gainmap.errors import NotAJpegError

VIEWER_ORDER = ("chrome", "android", "apple", "libultrahdr", "libavif", "adobe")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE")
    dest = parser.add_mutually_exclusive_group()
    dest.add_argument("-o", "--output", metavar="OUT", help="output file (one input) or folder")
    dest.add_argument("--in-place", action="store_true", help="replace the input (a .bak copy is kept)")
    parser.add_argument("--no-backup", action="store_true", help="with --in-place: keep no backup")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    parser.add_argument("--only", metavar="ID,...", help="apply only repairs for these check ids or action names")
    parser.add_argument("--strip-junk", action="store_true", help="also drop bytes between or after images")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--report", metavar="OUT.html",
                        help="also write an HTML page with before and after side by side (docs/report.md)")


def backup_path(path: Path) -> Path:
    """``FILE.bak``, or ``FILE.bak.N`` when that exists (an existing backup is never overwritten)."""
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return candidate


def _verdict_line(result: RepairResult) -> list[str]:
    lines = []
    for v in VIEWER_ORDER:
        a, b = result.before.viewers.get(v), result.after.viewers.get(v)
        if a is None or b is None:
            continue
        fmt = "HDR" if a.hdr else "SDR"
        to = "HDR" if b.hdr else "SDR"
        why = "" if b.hdr else f"  ({', '.join(b.because[:3])})"
        lines.append(f"    {v:<12} {fmt} -> {to}{why}")
    return lines


def _result_json(result: RepairResult, written: str | None) -> dict:
    return {
        "file": result.source,
        "output": written,
        "changed": result.changed,
        "plan": [{"action": p.name, "fixes": list(p.fixes)} for p in result.plan],
        "notes": [{"action": a, "note": n} for a, n in result.notes],
        "before": {"errors": result.before.count("error"),
                   "viewers": {k: v.hdr for k, v in result.before.viewers.items()}},
        "after": {"errors": result.after.count("error"),
                  "viewers": {k: v.hdr for k, v in result.after.viewers.items()},
                  "findings": [{"id": f.id, "severity": f.severity, "offset": f.offset, "message": f.message}
                               for f in result.after.findings if f.severity != "info"]},
    }


def _destination(args: argparse.Namespace, src: Path) -> Path | None:
    if args.dry_run:
        return None
    if args.in_place:
        return src
    if args.output:
        out = Path(args.output)
        if len(args.files) > 1 or out.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            return out / src.name
        return out
    return src.with_name(f"{src.stem}.repaired{src.suffix}")


def run(args: argparse.Namespace) -> int:
    only = {s.strip() for s in args.only.split(",") if s.strip()} if args.only else None
    worst = EXIT_OK
    out_json = []
    for name in args.files:
        src = Path(name)
        try:
            data = read_input(name)
            result = repair(data, only=only, strip_junk=args.strip_junk, name=name)
        except (UsageError, NotAJpegError, RepairError) as exc:
            worst = max(worst, report_error(exc))
            continue
        dest = _destination(args, src)
        written = None
        if dest is not None and result.changed:
            if dest.resolve() == src.resolve():
                if not args.in_place:
                    raise UsageError(f"{name}: refusing to overwrite the input without --in-place")
                if not args.no_backup:
                    shutil.copy2(src, backup_path(src))
            write_bytes(dest, result.data)
            written = str(dest)
        if result.after.has_errors:
            worst = max(worst, EXIT_FINDINGS)
        if args.report:
            from gainmap.cli.report import (  # the HTML renderer only when asked for
                report_path,
                write_comparison,
            )

            steps = [step.describe() for step in result.plan] + [f"{a}: {n}" for a, n in result.notes]
            write_comparison(report_path(args.report, src, len(args.files) > 1), data, result.data,
                             (name, written or f"{name} (repaired in memory)"), f"gainmap repair: {name}",
                             steps or ["nothing to repair"])
        if args.json:
            out_json.append(_result_json(result, written))
            continue
        print(f"{name}:")
        if not result.plan:
            print("  nothing to repair" + ("" if not result.before.has_errors else
                                           " automatically (errors remain: see `gainmap check -v`)"))
            continue
        print("  plan:")
        for step in result.plan:
            print(f"    - {step.describe()}")
        for action, note in result.notes:
            print(f"  {action}: {note}")
        print("  verdicts (before -> after):")
        print("\n".join(_verdict_line(result)))
        left = [f for f in result.after.findings if f.severity == "error"]
        for f in left:
            print(f"  remaining error {f.id} @{f.offset}: {f.message}")
        if args.dry_run:
            print("  (dry run: nothing written)")
        elif written:
            print(f"  written: {written}")
    if args.json:
        json.dump(out_json if len(out_json) != 1 else out_json[0], sys.stdout, indent=2)
        sys.stdout.write("\n")
    return worst
