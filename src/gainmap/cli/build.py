"""``gainmap build``: an Ultra HDR file from SDR + gain map (+ the metadata on the command line), or from HDR.

    gainmap build SDR GAINMAP --max STOPS [--min STOPS] [--gamma G] -o OUT.jpg
    gainmap build --from-hdr HDR.exr [SDR] -o OUT.jpg

The output is written to a temporary file next to OUT and renamed into place; an input is never overwritten.
Exit codes: 0 written, 1 the build failed, 2 usage problems or unreadable inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gainmap.atomic import write_bytes
from gainmap.cli.common import COLOUR_SPACES, EXIT_OK, UsageError, check_output, require_finite
from gainmap.editing.build import build, icc_space, load_image
from gainmap.errors import GainMapError
from gainmap.hdr.io import READ_EXTENSIONS, read_hdr_image
from gainmap.metadata import GainMapMetadata
from gainmap.model.reader import read

OUTPUT_EXTENSIONS = (".jpg", ".jpeg")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sdr", nargs="?", metavar="SDR", help="SDR JPEG (kept as is) or 8-bit image (encoded)")
    parser.add_argument("gainmap", nargs="?", metavar="GAINMAP", help="gain-map JPEG (kept) or 8-bit image")
    parser.add_argument("--from-hdr", metavar="HDR", help="EXR / HDR / TIFF / NPY / PNG linear image")
    parser.add_argument("--max", type=float, default=None,
                        help="GainMapMax in stops (required with GAINMAP; with --from-hdr default from the data)")
    parser.add_argument("--min", type=float, default=None,
                        help="GainMapMin in stops (default 0 with GAINMAP, from the data with --from-hdr)")
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--offset-sdr", type=float, default=1 / 64, help="OffsetSDR (default 1/64)")
    parser.add_argument("--offset-hdr", type=float, default=1 / 64, help="OffsetHDR (default 1/64)")
    parser.add_argument("--capacity-min", type=float, default=None, help="HDRCapacityMin (default max(--min, 0))")
    parser.add_argument("--capacity-max", type=float, default=None, help="HDRCapacityMax (default --max)")
    parser.add_argument("--quality", type=int, default=90, help="SDR JPEG quality when encoding pixels")
    parser.add_argument("--gainmap-quality", type=int, default=85, help="gain-map JPEG quality when encoding")
    parser.add_argument("--gainmap-scale", type=int, default=4, help="--from-hdr: map size = image size / N")
    parser.add_argument("--multichannel", action="store_true", help="--from-hdr: one gain per colour channel")
    parser.add_argument("--exposure", type=float, default=0.0, help="--from-hdr: scale the HDR by 2**STOPS first")
    parser.add_argument("--colour-space", choices=COLOUR_SPACES, default=None,
                        help="primaries of the pixels (default: the SDR JPEG's ICC, else srgb)")
    parser.add_argument("--no-xmp", action="store_true", help="write ISO 21496-1 metadata only")
    parser.add_argument("--no-iso", action="store_true", help="write hdrgm XMP metadata only")
    parser.add_argument("-o", "--output", required=True, metavar="OUT")


def _metadata(args: argparse.Namespace) -> GainMapMetadata:
    if args.max is None:
        raise UsageError("SDR + GAINMAP needs --max (GainMapMax, the largest gain in stops)")
    for name in ("max", "min", "gamma", "offset_sdr", "offset_hdr", "capacity_min", "capacity_max"):
        require_finite(f"--{name.replace('_', '-')}", getattr(args, name, None))
    low = 0.0 if args.min is None else args.min
    if args.max < low:
        raise UsageError(f"--max {args.max} is below --min {low}")
    if args.gamma <= 0:
        raise UsageError(f"--gamma must be > 0, got {args.gamma}")
    if args.offset_sdr < 0 or args.offset_hdr < 0:
        raise UsageError("--offset-sdr and --offset-hdr must be >= 0")
    cap_min = args.capacity_min if args.capacity_min is not None else max(low, 0.0)
    cap_max = args.capacity_max if args.capacity_max is not None else args.max
    if cap_max <= cap_min:
        raise UsageError(f"HDR capacity max {cap_max} must exceed capacity min {cap_min} "
                         "(set --capacity-min/--capacity-max)")
    return GainMapMetadata(gain_map_min=(low,), gain_map_max=(args.max,), gamma=(args.gamma,),
                           base_offset=(args.offset_sdr,), alternate_offset=(args.offset_hdr,),
                           base_hdr_headroom=cap_min, alternate_hdr_headroom=cap_max)


def _load(path: str, what: str) -> bytes | np.ndarray:
    """A JPEG's bytes (kept as they are) or another image's pixels; an unreadable input is a usage error."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such {what} file" if not p.exists() else f"{path}: the {what} is not a file")
    try:
        return load_image(p, what)
    except GainMapError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    inputs = [p for p in (args.sdr, args.gainmap, args.from_hdr) if p]
    out = check_output(args.output, inputs, OUTPUT_EXTENSIONS)
    for flag, value in (("--quality", args.quality), ("--gainmap-quality", args.gainmap_quality)):
        if not 1 <= value <= 100:
            raise UsageError(f"{flag} must be 1..100, got {value}")
    if args.gainmap_scale < 1:
        raise UsageError(f"--gainmap-scale must be >= 1, got {args.gainmap_scale}")
    common = dict(quality=args.quality, gainmap_quality=args.gainmap_quality, colour_space=args.colour_space,
                  write_xmp=not args.no_xmp, write_iso=not args.no_iso)
    if args.no_xmp and args.no_iso:
        raise UsageError("--no-xmp and --no-iso together leave no metadata; drop one")
    if args.from_hdr:
        if args.gainmap:
            raise UsageError("--from-hdr computes the gain map; give SDR at most, not GAINMAP")
        require_finite("--exposure", args.exposure)
        sdr = _load(args.sdr, "SDR image") if args.sdr else None
        space = args.colour_space or _jpeg_space(sdr) or "srgb"
        common["colour_space"] = space
        hdr = _read_hdr(args.from_hdr, space, args.exposure)
        for name in ("max", "min", "gamma"):
            require_finite(f"--{name}", getattr(args, name))
        if args.gamma <= 0:
            raise UsageError(f"--gamma must be > 0, got {args.gamma}")
        gmf = build(sdr, hdr=hdr, gainmap_scale=args.gainmap_scale, multichannel=args.multichannel,
                    gamma=args.gamma, min_log2=args.min, max_log2=args.max, **common)
    else:
        if not args.sdr or not args.gainmap:
            raise UsageError("give SDR and GAINMAP (with --max), or --from-hdr HDR")
        md = _metadata(args)
        gmf = build(_load(args.sdr, "SDR image"), _load(args.gainmap, "gain map"), md, **common)
    try:
        write_bytes(out, gmf.to_bytes())
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    return EXIT_OK


def _jpeg_space(sdr: object) -> str | None:
    """The colour space an SDR JPEG's ICC profile names (None for pixels or no known profile)."""
    return icc_space(read(sdr).primary.icc) if isinstance(sdr, bytes) else None


def _read_hdr(path: str, colour_space: str, exposure: float) -> np.ndarray:
    if Path(path).suffix.lower() not in READ_EXTENSIONS:
        raise UsageError(f"{path}: unknown HDR image type; use one of {', '.join(READ_EXTENSIONS)}")
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such HDR image file")
    try:
        hdr = read_hdr_image(path, colour_space=colour_space)
    except Exception as exc:  # each reader library has its own exceptions: all mean "unreadable input"
        raise UsageError(f"{path}: cannot read the HDR image ({exc}); expected linear float RGB") from None
    if exposure:
        hdr *= 2.0 ** exposure
    return hdr
