"""The ``gainmap`` command line: assembles the parser from the command modules and dispatches.

Each command lives in its own module ``gainmap.cli.NAME`` with ``configure(parser)`` (its arguments) and
``run(args) -> int`` (its exit code).  Only the module of the command being run is imported, so ``gainmap check``
does not pay for numpy-heavy commands.  Exit codes: see :mod:`gainmap.cli.common`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from gainmap import __version__
from gainmap.cli.common import EXIT_USAGE, run_guarded


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help (shown by ``gainmap --help`` without importing the module) and how its
    error messages begin."""

    help: str
    prog: str = "gainmap"

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"gainmap.cli.{name}")


COMMANDS: dict[str, Command] = {
    "check": Command("why Chrome / Preview / Android will or will not show HDR"),
    "inspect": Command("the structure with absolute offsets"),
    "repair": Command("fix what check finds, keeping the SDR image bit-identical"),
    "report": Command("a self-contained HTML report: verdicts, byte map, gain map, HDR preview"),
    "scan": Command("check a photo library: one row per file (JSON Lines, CSV, Parquet) and a summary"),
    "decode": Command("linear HDR from SDR + gain map (EXR, PQ/HLG PNG, TIFF, NPY)"),
    "build": Command("build an Ultra HDR file from SDR + gain map, or from an HDR image"),
    "measure": Command("mean linear RGB, luminance and chromaticity in regions"),
    "restore": Command("give a flat JPEG its gain map back (predicted or from the original)"),
    "eval": Command("evaluate gain-map predictors on the validation split", prog="gainmap eval"),
    "fuzz": Command("fuzz an external decoder with valid and broken gain-map files", prog="gainmap fuzz"),
    "selffuzz": Command("fuzz gainmap's own reader, validator and repairer (for developers)",
                        prog="gainmap selffuzz"),
}


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand listed, and the arguments of ``commands`` (default: all of them; each
    one named imports its module)."""
    configured = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(prog="gainmap", description="Inspect, validate, repair, build and restore "
                                     "HDR gain-map JPEGs (Ultra HDR, ISO 21496-1, Apple HDR).")
    parser.add_argument("--version", action="version", version=f"gainmap {__version__}")
    parser.set_defaults(command=None, takes_extra_args=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help)
        if name in configured:
            command.module(name).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    name = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser([name] if name else [])
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not args.takes_extra_args:  # only a command that passes options on (selffuzz --atheris)
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if name is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.extra_args = extra
    command = COMMANDS[name]
    return run_guarded(command.module(name).run, args, command.prog)
