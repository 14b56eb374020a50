"""``gainmap decode`` and ``gainmap measure``: the command-line side of :mod:`gainmap.decode`.

Exit codes follow :mod:`gainmap.cli`: 0 done, 1 the operation failed (e.g. the file has no usable gain map),
2 a usage problem or an unreadable input.  Output files are written to a temporary file next to the
destination and renamed into place; the input file is never overwritten.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from gainmap.cli.main import EXIT_OK, UsageError, _read_bytes


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name one file (existing or not)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def check_output(output: str, inputs: list[str], extensions: tuple[str, ...]) -> Path:
    """The output path after checking its extension, its folder, and that it is none of the inputs."""
    out = Path(output)
    for src in inputs:
        if same_file(out, src):
            raise UsageError(f"{output}: this is the input file; choose another output name "
                             "(gainmap never overwrites its input)")
    if out.suffix.lower() not in extensions:
        raise UsageError(f"{output}: unknown output type {out.suffix or '(no extension)'!r}; use one of "
                         f"{', '.join(extensions)}")
    if out.is_dir():
        raise UsageError(f"{output}: is a folder; give a file name")
    if not out.parent.is_dir():
        raise UsageError(f"{output}: folder {out.parent} does not exist")
    return out


def _headroom(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise UsageError(f"--headroom must be a finite number of stops, got {value}")
    return value


# ---------------------------------------------------------------------- decode
def cmd_decode(args: argparse.Namespace) -> int:
    from gainmap.hdr.decode import decode_with_info
    from gainmap.hdr.io import WRITE_EXTENSIONS, write_hdr_image
    from gainmap.model.reader import read

    out = check_output(args.output, [args.file], WRITE_EXTENSIONS)
    transfer = getattr(args, "transfer", None)
    if transfer is not None and out.suffix.lower() != ".png":
        raise UsageError(f"--transfer {transfer} applies to .png output only; {out.suffix} stores linear light")
    headroom = _headroom(args.headroom)
    data = _read_bytes(args.file)
    gmf = read(data, name=args.file)
    pixels, info = decode_with_info(gmf, headroom, colour_space=getattr(args, "colour_space", None))
    try:
        write_hdr_image(out, pixels, half=args.half, transfer=transfer if out.suffix.lower() == ".png" else None,
                        colour_space=info.colour_space)
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    return EXIT_OK


# ---------------------------------------------------------------------- measure
def _regions(texts: list[str]) -> list[tuple[int, int, int, int]]:
    from gainmap.hdr.decode import parse_region

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
    """The text table of :func:`cmd_measure`."""
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


def cmd_measure(args: argparse.Namespace) -> int:
    from gainmap.hdr.decode import measure
    from gainmap.model.reader import read

    regions = _regions(args.region)
    headroom = _headroom(args.headroom)
    data = _read_bytes(args.file)
    gmf = read(data, name=args.file)
    try:
        rows = measure(gmf, regions, headroom, colour_space=getattr(args, "colour_space", None))
    except ValueError as exc:  # a region outside the image, an unknown colour space
        raise UsageError(f"{args.file}: {exc}") from None
    if args.json:
        json.dump({"file": args.file, "regions": rows}, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_measure(args.file, rows) + "\n")
    return EXIT_OK
