"""``gainmap inspect FILE``: the file's structure with absolute offsets (a tree, JSON, or a hex view)."""

from __future__ import annotations

import argparse

from gainmap.analysis.inspect import hex_view, inspect_json, render_tree
from gainmap.cli.common import EXIT_OK, UsageError, print_json, read_input
from gainmap.model.reader import read


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hex", metavar="OFFSET", help="bytes around OFFSET, with the owning structure named")


def run(args: argparse.Namespace) -> int:
    data = read_input(args.file)
    gmf = read(data, name=args.file)
    if args.hex is not None:
        print(hex_view(gmf, data, parse_offset(args.hex)))
    elif args.json:
        print_json(inspect_json(gmf))
    else:
        print(render_tree(gmf))
    return EXIT_OK


def parse_offset(text: str) -> int:
    """An offset in decimal or 0x hex."""
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"--hex: {text!r} is not an offset (decimal or 0x hex)") from None
