"""The ``gainmap`` command line.

Exit codes (a stable interface): 0 clean, 1 error-level findings or a failed operation, 2 usage errors or an
unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from gainmap import __version__
from gainmap.errors import GainMapError, NotAJpegError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with how the command was called (exit 2)."""


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _print_json(obj: object) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, allow_nan=False, default=str)
    sys.stdout.write("\n")


# ---------------------------------------------------------------------- inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    from gainmap.analysis.inspect import hex_view, inspect_json, render_tree
    from gainmap.model.reader import read

    data = _read_bytes(args.file)
    gmf = read(data, name=args.file)
    if args.hex is not None:
        print(hex_view(gmf, data, _parse_offset(args.hex)))
        return EXIT_OK
    if args.json:
        _print_json(inspect_json(gmf))
    else:
        print(render_tree(gmf))
    return EXIT_OK


def _parse_offset(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"--hex: {text!r} is not an offset (decimal or 0x hex)") from None


# ---------------------------------------------------------------------- check
def cmd_check(args: argparse.Namespace) -> int:
    from gainmap.analysis.report import render_json, render_text
    from gainmap.analysis.validate import check_bytes

    worst = EXIT_OK
    for path in args.files:
        try:
            data = _read_bytes(path)
            report = check_bytes(data, name=path)
        except UsageError as exc:
            print(f"gainmap: {exc}", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        except NotAJpegError as exc:
            print(f"gainmap: {exc}", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        if report.has_errors and worst == EXIT_OK:
            worst = EXIT_FINDINGS
        if args.json:  # JSON Lines: one compact object per file, as each file is done
            sys.stdout.write(json.dumps(render_json(report), allow_nan=False, default=str) + "\n")
            sys.stdout.flush()
        else:
            print(render_text(report, verbose=args.verbose))
    return worst


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), func)(args)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gainmap", description="Inspect, validate, repair, build and restore "
                                     "HDR gain-map JPEGs (Ultra HDR, ISO 21496-1, Apple HDR).")
    parser.add_argument("--version", action="version", version=f"gainmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="why Chrome / Preview / Android will or will not show HDR")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-v", "--verbose", action="store_true", help="every finding with offsets and fixes")
    p.add_argument("--json", action="store_true", help="one JSON object per file (docs/json-output.md)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("inspect", help="the structure with absolute offsets")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--hex", metavar="OFFSET", help="bytes around OFFSET, with the owning structure named")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("repair", help="fix what check finds, keeping the SDR image bit-identical")
    p.add_argument("files", nargs="+", metavar="FILE")
    dest = p.add_mutually_exclusive_group()
    dest.add_argument("-o", "--output", metavar="OUT", help="output file (one input) or folder")
    dest.add_argument("--in-place", action="store_true", help="replace the input (a .bak copy is kept)")
    p.add_argument("--no-backup", action="store_true", help="with --in-place: keep no backup")
    p.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    p.add_argument("--only", metavar="ID,...", help="apply only repairs for these check ids or action names")
    p.add_argument("--strip-junk", action="store_true", help="also drop bytes between or after images")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_lazy("gainmap.cli.repair", "cmd_repair"))

    spaces = ("srgb", "display-p3", "bt2020")
    p = sub.add_parser("decode", help="linear HDR from SDR + gain map (EXR, PQ/HLG PNG, TIFF, NPY)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output by extension: .exr (half; --float), .png (16-bit BT.2020 PQ/HLG), .tif, .npy")
    p.add_argument("--headroom", type=float, default=None, help="display headroom in stops (default: full)")
    p.add_argument("--float", dest="half", action="store_false", help="EXR: 32-bit float instead of half")
    p.add_argument("--transfer", choices=("pq", "hlg"), default=None, help="PNG transfer (default pq)")
    p.add_argument("--colour-space", choices=spaces, default=None,
                   help="output primaries (default: the primary image's, from its ICC profile)")
    p.set_defaults(func=_lazy("gainmap.cli.decode", "cmd_decode"))

    p = sub.add_parser("build", help="build an Ultra HDR file from SDR + gain map, or from an HDR image")
    p.add_argument("sdr", nargs="?", metavar="SDR", help="SDR JPEG (kept as is) or 8-bit image (encoded)")
    p.add_argument("gainmap", nargs="?", metavar="GAINMAP", help="gain-map JPEG (kept) or 8-bit image")
    p.add_argument("--from-hdr", metavar="HDR", help="EXR / HDR / TIFF / NPY / PNG linear image")
    p.add_argument("--max", type=float, default=None,
                   help="GainMapMax in stops (required with GAINMAP; with --from-hdr default from the data)")
    p.add_argument("--min", type=float, default=None,
                   help="GainMapMin in stops (default 0 with GAINMAP, from the data with --from-hdr)")
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--offset-sdr", type=float, default=1 / 64, help="OffsetSDR (default 1/64)")
    p.add_argument("--offset-hdr", type=float, default=1 / 64, help="OffsetHDR (default 1/64)")
    p.add_argument("--capacity-min", type=float, default=None, help="HDRCapacityMin (default max(--min, 0))")
    p.add_argument("--capacity-max", type=float, default=None, help="HDRCapacityMax (default --max)")
    p.add_argument("--quality", type=int, default=90, help="SDR JPEG quality when encoding pixels")
    p.add_argument("--gainmap-quality", type=int, default=85, help="gain-map JPEG quality when encoding")
    p.add_argument("--gainmap-scale", type=int, default=4, help="--from-hdr: map size = image size / N")
    p.add_argument("--multichannel", action="store_true", help="--from-hdr: one gain per colour channel")
    p.add_argument("--exposure", type=float, default=0.0, help="--from-hdr: scale the HDR by 2**STOPS first")
    p.add_argument("--colour-space", choices=spaces, default=None,
                   help="primaries of the pixels (default: the SDR JPEG's ICC, else srgb)")
    p.add_argument("--no-xmp", action="store_true", help="write ISO 21496-1 metadata only")
    p.add_argument("--no-iso", action="store_true", help="write hdrgm XMP metadata only")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.set_defaults(func=_lazy("gainmap.cli.build", "cmd_build"))

    p = sub.add_parser("measure", help="mean linear RGB, luminance and chromaticity in regions")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--region", action="append", required=True, metavar="X,Y,W,H")
    p.add_argument("--headroom", type=float, default=None, help="display headroom in stops (default: full)")
    p.add_argument("--colour-space", choices=spaces, default=None, help="primaries of the numbers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_lazy("gainmap.cli.decode", "cmd_measure"))

    p = sub.add_parser("restore", help="give a flat JPEG its gain map back (predicted or from the original)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--predictor", default="gmnet", metavar="NAME")
    p.add_argument("--from-original", metavar="ORIGINAL", help="carry the gain map over from the original photo")
    p.add_argument("--max-headroom", type=float, default=None, metavar="STOPS")
    p.add_argument("--gainmap-scale", type=int, default=4)
    p.add_argument("--force", action="store_true", help="replace an existing gain map")
    p.set_defaults(func=_lazy("gainmap.editing.restore", "cmd_restore"))

    p = sub.add_parser("eval", help="evaluate gain-map predictors on the validation split", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: _lazy("gainmap.predict.evaluate", "main")(args.rest))

    p = sub.add_parser("fuzz", help="fuzz an external decoder with valid and broken gain-map files",
                       add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_lazy("gainmap.testing.fuzz", "cmd_fuzz"))
    return parser


#: Subcommands with their own argument parsers: everything after the name is passed through untouched.
_PASS_THROUGH = {"eval": ("gainmap.predict.evaluate", "main"), "fuzz": ("gainmap.testing.fuzz", "main")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in _PASS_THROUGH:
        import importlib

        module, func = _PASS_THROUGH[argv[0]]
        return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"gainmap: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotAJpegError as exc:
        print(f"gainmap: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GainMapError as exc:
        print(f"gainmap: {exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
