"""``gainmap fuzz``: feed an external decoder valid, targeted-broken and randomly damaged gain-map files; report
crashes, declared-abnormal exits, hangs and verdicts that disagree with our viewer model; write a minimised
reproducer per distinct failure.

Exit codes: 0 no failures, 1 failures found, 2 usage errors.  The fuzzing itself is
:func:`gainmap.testing.fuzz.fuzz`.
"""

from __future__ import annotations

import argparse
import sys

from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, read_input
from gainmap.testing.fuzz import fuzz


def parse_codes(text: str) -> frozenset[int]:
    """Exit codes from "1,3,128-255" (an empty string: none)."""
    codes: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad exit code range {part!r}") from None
        if not 0 <= a <= b <= 255:
            raise argparse.ArgumentTypeError(f"exit codes must lie in 0..255: {part!r}")
        codes.update(range(a, b + 1))
    return frozenset(codes)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (__doc__ or "").split("\n\n")[0]
    parser.add_argument("--cmd", required=True, metavar="TEMPLATE",
                        help='command to run per input, e.g. "decoder {file}" ({file}: the input path)')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000, help="inputs to run (default 1000)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per input (default 10)")
    parser.add_argument("--from", dest="base", metavar="FILE", help="mutate this file instead of generated ones")
    parser.add_argument("--out", default="fuzz-out", metavar="DIR", help="where reproducers go (default fuzz-out)")
    parser.add_argument("--abnormal-exit", type=parse_codes, default=frozenset(range(128, 256)), metavar="CODES",
                        help='exit codes that count as failures, e.g. "1,3,128-255" (default 128-255)')
    parser.add_argument("--viewer", default="libultrahdr", metavar="NAME",
                        help='our viewer model to compare verdicts with (default libultrahdr; "none" to skip)')
    parser.add_argument("--mutators", default=None, metavar="NAMES", help="comma-separated mutator names")
    parser.add_argument("--minimise-time", type=float, default=10.0, metavar="SECONDS",
                        help="per distinct failure (default 10; 0 keeps the original)")
    parser.add_argument("--shell", action="store_true", help="run the command through the shell")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def run(args: argparse.Namespace) -> int:
    base = read_input(args.base) if args.base else None
    if args.count is not None and args.count < 0:
        raise UsageError("--count must be >= 0")
    viewer = None if args.viewer.lower() == "none" else args.viewer
    mutators = [m.strip() for m in args.mutators.split(",") if m.strip()] if args.mutators else None
    try:
        result = fuzz(args.cmd, seed=args.seed, count=args.count, duration=args.duration, timeout=args.timeout,
                      base=base, out=args.out, viewer=viewer, abnormal_exit=args.abnormal_exit, shell=args.shell,
                      mutators=mutators, minimise_time=args.minimise_time,
                      progress=None if args.quiet else sys.stderr)
    except ValueError as exc:  # an unknown viewer or mutator, a command that cannot be run
        raise UsageError(str(exc)) from None
    print(result.summary())
    for f in result.failures:
        size = f"{len(f.data)} -> {len(f.minimised)} bytes" if f.minimised is not None else f"{len(f.data)} bytes"
        where = f" {f.path}" if f.path else ""
        print(f"  {f.kind}: {f.detail} [{f.origin}, x{f.hits}, {size}]{where}")
    return EXIT_FINDINGS if result.failures else EXIT_OK
