"""``gainmap measure FILE --region X,Y,W,H``: mean linear RGB, luminance and chromaticity of the SDR and HDR
renditions in regions (a text table, or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gainmap.cli.common import COLOUR_SPACES, EXIT_OK, UsageError, read_input, require_finite
from gainmap.hdr.decode import measure, parse_region
from gainmap.model.reader import read


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--region", action="append", required=True, metavar="X,Y,W,H")
    parser.add_argument("--headroom", type=float, default=None, help="display headroom in stops (default: full)")
    parser.add_argument("--colour-space", choices=COLOUR_SPACES, default=None, help="primaries of the numbers")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    regions = _regions(args.region)
    require_finite("--headroom", args.headroom, "a finite number of stops")
    data = read_input(args.file)
    gmf = read(data, name=args.file)
    try:
        rows = measure(gmf, regions, args.headroom, colour_space=args.colour_space)
    except ValueError as exc:  # a region outside the image, an unknown colour space
        raise UsageError(f"{args.file}: {exc}") from None
    if args.json:
        json.dump({"file": args.file, "regions": rows}, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_measure(args.file, rows) + "\n")
    return EXIT_OK


def _regions(texts: list[str]) -> list[tuple[int, int, int, int]]:
    out = []
    for text in texts:
        try:
            out.append(parse_region(text))
        except ValueError as exc:
            raise UsageError(f"--region: {exc}") from None
    return out


def _fmt(value: float | None, digits: int = 5) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_measure(path: str, rows: list[dict[str, Any]]) -> str:
    """The text table of ``gainmap measure``."""
    head = ("region", "rendition", "R", "G", "B", "Y", "r", "g", "b")
    lines: list[tuple[str, ...]] = [head]
    for row in rows:
        label = ",".join(str(v) for v in row["region"])
        for rendition in ("sdr", "hdr"):
            s = row[rendition]
            if s is None:
                lines.append((label, rendition, "-", "-", "-", "-", "-", "-", "-"))
                continue
            lines.append((label, rendition, _fmt(s["mean_r"]), _fmt(s["mean_g"]), _fmt(s["mean_b"]),
                          _fmt(s["luminance"]), _fmt(s["r"], 4), _fmt(s["g"], 4), _fmt(s["b"], 4)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"{path}: mean linear light (1.0 = SDR white), {rows[0]['colour_space'] if rows else 'srgb'} primaries"]
    for line in lines:
        text.append("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in
                              enumerate(zip(line, widths))).rstrip())
    if rows and rows[0]["hdr"] is None:
        text.append("(no gain map in this file: there is no HDR rendition)")
    return "\n".join(text)
