"""``gainmap decode FILE -o OUT``: linear HDR from the SDR image and its gain map (EXR, PQ/HLG PNG, TIFF, NPY).

Exit codes: 0 done, 1 the operation failed (e.g. the file has no usable gain map), 2 a usage problem or an
unreadable input.  The output is written to a temporary file next to the destination and renamed into place;
the input file is never overwritten.
"""

from __future__ import annotations

import argparse

from gainmap.cli.common import COLOUR_SPACES, EXIT_OK, UsageError, check_output, read_input, require_finite
from gainmap.hdr.decode import decode_with_info
from gainmap.hdr.io import WRITE_EXTENSIONS, write_hdr_image
from gainmap.model.reader import read


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output by extension: .exr (half; --float), .png (16-bit BT.2020 PQ/HLG), .tif, .npy")
    parser.add_argument("--headroom", type=float, default=None, help="display headroom in stops (default: full)")
    parser.add_argument("--float", dest="half", action="store_false", help="EXR: 32-bit float instead of half")
    parser.add_argument("--transfer", choices=("pq", "hlg"), default=None, help="PNG transfer (default pq)")
    parser.add_argument("--colour-space", choices=COLOUR_SPACES, default=None,
                        help="output primaries (default: the primary image's, from its ICC profile)")


def run(args: argparse.Namespace) -> int:
    out = check_output(args.output, [args.file], WRITE_EXTENSIONS)
    if args.transfer is not None and out.suffix.lower() != ".png":
        raise UsageError(f"--transfer {args.transfer} applies to .png output only; {out.suffix} stores linear "
                         "light")
    require_finite("--headroom", args.headroom, "a finite number of stops")
    data = read_input(args.file)
    gmf = read(data, name=args.file)
    pixels, info = decode_with_info(gmf, args.headroom, colour_space=args.colour_space)
    try:
        write_hdr_image(out, pixels, half=args.half, transfer=args.transfer if out.suffix.lower() == ".png"
                        else None, colour_space=info.colour_space)
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    return EXIT_OK
