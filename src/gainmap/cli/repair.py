"""``gainmap repair``: print the plan, apply it, re-check, and show the verdicts before and after."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from gainmap.atomic import write_bytes
from gainmap.editing.repair import RepairError, RepairResult, repair
from gainmap.errors import NotAJpegError

VIEWER_ORDER = ("chrome", "android", "apple", "libultrahdr", "libavif", "adobe")


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


def cmd_repair(args: argparse.Namespace) -> int:
    from gainmap.cli.main import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

    only = {s.strip() for s in args.only.split(",") if s.strip()} if args.only else None
    worst = EXIT_OK
    out_json = []
    for name in args.files:
        src = Path(name)
        try:
            data = src.read_bytes()
        except OSError as exc:
            print(f"gainmap: {name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        try:
            result = repair(data, only=only, strip_junk=args.strip_junk, name=name)
        except NotAJpegError as exc:
            print(f"gainmap: {exc}", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        except RepairError as exc:
            print(f"gainmap: {exc}", file=sys.stderr)
            worst = max(worst, EXIT_FINDINGS)
            continue
        dest = _destination(args, src)
        written = None
        if dest is not None and result.changed:
            if dest.resolve() == src.resolve():
                if not args.in_place:
                    print(f"gainmap: {name}: refusing to overwrite the input without --in-place", file=sys.stderr)
                    return EXIT_USAGE
                if not args.no_backup:
                    shutil.copy2(src, backup_path(src))
            write_bytes(dest, result.data)
            written = str(dest)
        if result.after.has_errors:
            worst = max(worst, EXIT_FINDINGS)
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
