"""``gainmap selffuzz``: throw damaged gain-map files at our own reader, validator, repairer and writer (for
developers; the harness and what counts as a failure are described in :mod:`gainmap.testing.selffuzz`).

    gainmap selffuzz --count 1000000 --seed 0 [--jobs 4] [--out selffuzz-out]
    gainmap selffuzz --atheris [libFuzzer options]     (coverage-guided, needs atheris)

Exit codes: 0 no failures, 1 failures found, 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError
from gainmap.testing.selffuzz import DEFAULT_CORPORA, limit_memory, run_atheris, run_jobs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Self-fuzzing: throw damaged gain-map files at our own reader, validator, repairer and " \
        "writer."
    parser.add_argument("--count", type=int, default=10000, help="inputs to run (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--time-limit", type=float, default=5.0, metavar="SECONDS", help="per input (default 5)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="address space allowed beyond the start, in MiB (default 2048; 0: no limit)")
    parser.add_argument("--out", type=Path, default=Path("selffuzz-out"), help="where failures go")
    parser.add_argument("--corpus", type=Path, action="append", default=None, metavar="DIR",
                        help="base files (default: fixtures/ and tests/fuzz_regressions/ of the source tree)")
    parser.add_argument("--idempotence-every", type=int, default=8, metavar="N",
                        help="repair twice on every Nth input (0: never)")
    parser.add_argument("--minimise-time", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--ignore", action="append", default=[], metavar="TEXT",
                        help='skip failures whose "kind: detail" contains TEXT (known open bugs); repeatable')
    parser.add_argument("--atheris", action="store_true",
                        help="coverage-guided fuzzing with atheris/libFuzzer (other options go to libFuzzer)")
    parser.set_defaults(takes_extra_args=True)  # libFuzzer's own options, with --atheris


def run(args: argparse.Namespace) -> int:
    if args.atheris:
        return run_atheris(args.extra_args, args.time_limit, args.ignore)
    if args.extra_args:
        raise UsageError(f"unrecognized arguments: {' '.join(args.extra_args)} (only --atheris passes options on)")
    if args.memory_mb > 0:
        limit_memory(args.memory_mb)
    jobs = max(1, args.jobs)
    stats = run_jobs(args.seed, args.count, jobs=jobs, duration=args.duration, time_limit=args.time_limit,
                     out=args.out, corpus_dirs=tuple(args.corpus) if args.corpus else DEFAULT_CORPORA,
                     idempotence_every=args.idempotence_every, minimise_time=args.minimise_time,
                     ignore=tuple(args.ignore))
    sys.stderr.write("\n")
    rate = stats.runs / stats.elapsed if stats.elapsed else 0.0
    print(f"{stats.runs} inputs in {stats.elapsed:.1f} s ({rate:.1f}/s) with {jobs} job(s); slowest input "
          f"{stats.slowest * 1000:.0f} ms (#{stats.slowest_index}); peak RSS {stats.peak_rss_mb:.0f} MiB")
    print("inputs by origin: " + ", ".join(f"{k} {v}" for k, v in stats.origins.most_common()))
    if not stats.failures:
        print("no failures")
        return EXIT_OK
    print(f"{len(stats.failures)} distinct failure(s), written to {args.out}:")
    for (kind, detail), n in sorted(stats.failures.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {kind}: {detail}")
    return EXIT_FINDINGS
