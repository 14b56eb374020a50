"""Benchmark: decoding a 12-megapixel Ultra HDR file to linear HDR, ours against libultrahdr.

Run on demand: ``python tests/benchmarks/bench_decode.py [--repeat N] [--file F.jpg]``.

Builds a 4032 x 3024 file (a textured SDR at quality 90, a quarter-size gain map, Display P3), then in one
run times :func:`gainmap.decode` (float32 RGB) and ``imagecodecs.ultrahdr_decode(data, dtype="float16")``
(libultrahdr, float16 RGBA) alternately after a warm-up, and prints the medians and their ratio.  Peak memory
is measured in a fresh process per decoder (peak RSS, VmHWM, above the process after imports and reading
the file), with tracemalloc's peak for ours (numpy's allocations; the JPEG decoder's own buffers are not traced).
A breakdown of our stages follows.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


def make_12mp(width: int = 4032, height: int = 3024) -> bytes:
    from gainmap.editing.build import build
    from gainmap.metadata import GainMapMetadata

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 200 + 20, y / height * 180 + 30, (x + y) / (width + height) * 150 + 40], axis=-1)
    base += rng.normal(0.0, 10.0, (height, width, 1)).astype(np.float32)
    sdr = np.clip(base, 0, 255).astype(np.uint8)
    my, mx = np.mgrid[0:height // 4, 0:width // 4].astype(np.float32)
    gm = np.clip(128 + 120 * np.sin(mx / 40.0) * np.cos(my / 30.0), 0, 255).astype(np.uint8)
    md = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(3.0,), gamma=(1.0,), base_offset=(1 / 64,),
                         alternate_offset=(1 / 64,), base_hdr_headroom=0.0, alternate_hdr_headroom=3.0)
    return build(sdr, gm, md, quality=90, colour_space="display-p3").to_bytes()


def ours(data: bytes) -> np.ndarray:
    from gainmap.hdr.decode import decode

    return decode(data)


def libultrahdr(data: bytes) -> np.ndarray:
    import imagecodecs

    return imagecodecs.ultrahdr_decode(data, dtype="float16")


def time_both(data: bytes, repeat: int) -> dict[str, list[float]]:
    """Alternating runs after one warm-up each, so drift in machine load hits both alike."""
    fns = {"ours": ours, "libultrahdr": libultrahdr}
    for fn in fns.values():
        fn(data)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            out = fn(data)
            times[name].append(time.perf_counter() - t)
            del out
    return times


def peak_rss_kib() -> int:
    """The process's peak resident set in KiB: VmHWM (reset by exec, unlike ru_maxrss) where Linux has it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(which: str, path: str) -> None:
    """In a fresh process: peak RSS growth (and tracemalloc's peak for ours) of one decode."""
    import tracemalloc

    data = Path(path).read_bytes()
    import imagecodecs  # noqa: F401 - imports before the baseline

    import gainmap.hdr.apply  # noqa: F401
    import gainmap.hdr.decode  # noqa: F401

    tracemalloc.start()
    before = peak_rss_kib()
    out = (ours if which == "ours" else libultrahdr)(data)
    peak_rss = peak_rss_kib() - before
    _cur, peak_traced = tracemalloc.get_traced_memory()
    print(json.dumps({"rss_kib": peak_rss, "traced": peak_traced, "output": int(out.nbytes)}))


def memory(which: str, path: str) -> dict[str, int]:
    run = subprocess.run([sys.executable, __file__, "--memory-child", which, path],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def breakdown(data: bytes, repeat: int = 3) -> list[tuple[str, float]]:
    from gainmap.hdr.apply import apply_gainmap
    from gainmap.hdr.color import u8_to_linear_lut
    from gainmap.hdr.decode import decode_pixels
    from gainmap.model.reader import read

    def med(fn) -> float:
        fn()
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    gmf = read(data)
    sdr = decode_pixels(gmf.primary, "RGB")
    gm = decode_pixels(gmf.gainmap)
    base = u8_to_linear_lut("srgb")[sdr]
    md = gmf.metadata()
    return [("read (parse the file)", med(lambda: read(data))),
            ("primary JPEG decode (libjpeg-turbo)", med(lambda: decode_pixels(gmf.primary, "RGB"))),
            ("gain-map JPEG decode", med(lambda: decode_pixels(gmf.gainmap))),
            ("sRGB LUT linearisation", med(lambda: u8_to_linear_lut("srgb")[sdr])),
            ("apply (sample map, gain LUT, multiply)", med(lambda: apply_gainmap(base, gm, md, out=base.copy())))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--file", help="benchmark this file instead of the generated one")
    parser.add_argument("--memory-child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return

    import imagecodecs

    data = Path(args.file).read_bytes() if args.file else make_12mp()
    from gainmap.model.reader import read

    gmf = read(data)
    print(f"file: {gmf.primary.width}x{gmf.primary.height}, gain map {gmf.gainmap.width}x{gmf.gainmap.height}, "
          f"{len(data) / 1e6:.1f} MB; libultrahdr {imagecodecs.ultrahdr_version()}; numpy {np.__version__}")
    times = time_both(data, args.repeat)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, ts in times.items():
        print(f"{name:12s} median {med[name]:.3f} s  (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)})")
    print(f"ratio ours / libultrahdr = {med['ours'] / med['libultrahdr']:.2f}"
          f"  ({'faster' if med['ours'] < med['libultrahdr'] else 'SLOWER'})")

    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jpg") as fh:
        fh.write(data)
        fh.flush()
        for which in ("ours", "libultrahdr"):
            m = memory(which, fh.name)
            traced = f", numpy peak {m['traced'] / 2**20:.0f} MiB" if which == "ours" else ""
            print(f"memory {which:12s} peak RSS +{m['rss_kib'] / 1024:.0f} MiB for an output of "
                  f"{m['output'] / 2**20:.0f} MiB{traced}")
    print("our stages (median):")
    for label, secs in breakdown(data):
        print(f"  {label:40s} {secs:.3f} s")


if __name__ == "__main__":
    main()
