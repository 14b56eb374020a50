"""``gainmap restore FILE -o OUT``: give a flat JPEG its gain map back, predicted from its pixels or carried over
from the original photo (``--from-original``); then check the result and show each viewer's verdict."""

from __future__ import annotations

import argparse
from pathlib import Path

from gainmap.analysis.validate import check_file
from gainmap.atomic import write_bytes
from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, read_input
from gainmap.editing.restore import restore
from gainmap.model.reader import read


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-o", "--output", required=True, metavar="OUT")
    parser.add_argument("--predictor", default="gmnet", metavar="NAME")
    parser.add_argument("--from-original", metavar="ORIGINAL",
                        help="carry the gain map over from the original photo")
    parser.add_argument("--max-headroom", type=float, default=None, metavar="STOPS")
    parser.add_argument("--gainmap-scale", type=int, default=4)
    parser.add_argument("--force", action="store_true", help="replace an existing gain map")


def run(args: argparse.Namespace) -> int:
    src, out = Path(args.file), Path(args.output)
    if out.exists() and out.resolve() == src.resolve():
        raise UsageError(f"{out}: refusing to overwrite the input; choose another -o")
    data = read_input(src)
    original = read_input(args.from_original) if args.from_original else None
    gmf = restore(data, predictor=args.predictor, original=original, max_headroom=args.max_headroom,
                  gainmap_scale=args.gainmap_scale, force=args.force, name=str(src))
    result = gmf.to_bytes()
    write_bytes(out, result)
    report = check_file(read(result, name=str(out)), result)
    md = gmf.metadata()
    how = f"carried over from {args.from_original}" if original is not None else f"predicted by {args.predictor}"
    if md is not None and gmf.gainmap is not None:
        print(f"{out}: gain map {gmf.gainmap.width}x{gmf.gainmap.height} {how}; "
              f"headroom {md.alternate_hdr_headroom:.2f} stops")
    else:
        print(f"{out}: written")
    for viewer, verdict in report.viewers.items():
        print(f"  {viewer:<12} {'HDR' if verdict.hdr else 'SDR'}")
    return EXIT_FINDINGS if report.has_errors else EXIT_OK
