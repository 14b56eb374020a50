"""``gainmap restore FILE -o OUT``: give a flat JPEG its gain map back, predicted from its pixels or restored
from the original photo (``--reference ORIGINAL``, alias ``--from-original``: registered onto the edit, its HDR
carried over where the pixels are unchanged, its boost where only tone or colour changed, predicted where the
content changed; docs/restore.md); then check the result and show each viewer's verdict."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from gainmap.analysis.validate import check_file
from gainmap.atomic import write_bytes
from gainmap.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, print_json, read_input, same_file
from gainmap.editing.restore import restore_with_report
from gainmap.model.reader import read


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-o", "--output", required=True, metavar="OUT")
    parser.add_argument("--predictor", default="gmnet", metavar="NAME",
                        help="predictor for a flat JPEG, and for content an edit added (with --reference)")
    parser.add_argument("--reference", "--from-original", dest="reference", metavar="ORIGINAL",
                        help="the original gain-map photo the edit was made from: its HDR is registered onto "
                        "the edit and carried over (docs/restore.md)")
    parser.add_argument("--max-headroom", type=float, default=None, metavar="STOPS")
    parser.add_argument("--gainmap-scale", type=int, default=4)
    parser.add_argument("--save-masks", metavar="PNG",
                        help="with --reference: a picture of the pixel classes (green unchanged, blue "
                        "tone/colour-changed, red content-changed)")
    parser.add_argument("--json", action="store_true", help="the outcome as one JSON object")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing gain map; with --reference, also restore from an original "
                        "that does not look like the same photo")
    parser.add_argument("--report", metavar="OUT.html",
                        help="also write an HTML page with the input and the result side by side (docs/report.md)")


def run(args: argparse.Namespace) -> int:
    src, out = Path(args.file), Path(args.output)
    if same_file(out, src) or (args.reference and same_file(out, args.reference)):
        raise UsageError(f"{out}: refusing to overwrite an input; choose another -o")
    if args.save_masks and not args.reference:
        raise UsageError("--save-masks needs --reference (the classes come from comparing with the original)")
    data = read_input(src)
    original = read_input(args.reference) if args.reference else None
    gmf, report = restore_with_report(data, predictor=args.predictor, reference=original,
                                      max_headroom=args.max_headroom, gainmap_scale=args.gainmap_scale,
                                      force=args.force, name=str(src))
    result = gmf.to_bytes()
    write_bytes(out, result)
    if args.save_masks and report is not None:
        buf = io.BytesIO()
        report.masks_picture().save(buf, "PNG")
        write_bytes(Path(args.save_masks), buf.getvalue())
    check = check_file(read(result, name=str(out)), result)
    md = gmf.metadata()
    if original is None:
        how = f"predicted by {args.predictor}"
    elif report is None:
        how = f"carried over unchanged from {args.reference} (the same primary image)"
    else:
        how = f"restored from {args.reference}"
    code = EXIT_FINDINGS if check.has_errors else EXIT_OK
    if args.report:
        from gainmap.cli.report import write_comparison  # the HTML renderer only when asked for

        write_comparison(args.report, data, result, (str(src), str(out)), f"gainmap restore: {src}",
                         [f"gain map {how}", f"written to {out}"])
    if args.json:
        print_json({"output": str(out), "how": how,
                    "gainmap": [gmf.gainmap.width, gmf.gainmap.height] if gmf.gainmap is not None else None,
                    "headroom": md.alternate_hdr_headroom if md is not None else None,
                    "reference": report.as_dict() if report is not None else None,
                    "masks": args.save_masks if report is not None else None,
                    "viewers": {k: v.hdr for k, v in check.viewers.items()}, "errors": check.has_errors})
        return code
    if md is not None and gmf.gainmap is not None:
        print(f"{out}: gain map {gmf.gainmap.width}x{gmf.gainmap.height} {how}; "
              f"headroom {md.alternate_hdr_headroom:.2f} stops")
    else:
        print(f"{out}: written")
    for line in report.lines() if report is not None else []:
        print(f"  {line}")
    if args.save_masks and report is not None:
        print(f"  masks: {args.save_masks} (green unchanged, blue tone/colour-changed, red content-changed)")
    for viewer, verdict in check.viewers.items():
        print(f"  {viewer:<12} {'HDR' if verdict.hdr else 'SDR'}")
    return code
