"""Predictor speed and memory on a 12 MP photo: ``python tests/benchmarks/bench_predict.py [--image FILE]``.

Target (issue 6): ``gmnet`` <= 2 s end to end for 12 MP on the 2-core CPU machine, memory bounded.  Prints the
best and median of ``--repeat`` warm runs (the first, cold run, which loads the ONNX session, is printed apart)
and the growth of the process's peak resident set over the runs.  Not a test: it never fails on a number.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gainmap.predict import get_predictor

CORPUS_12MP = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "android-samples__lamps.jpg"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_image(path: Path | None) -> tuple[np.ndarray, str]:
    if path is None and CORPUS_12MP.exists():
        path = CORPUS_12MP
    if path is not None:
        t0 = time.perf_counter()
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
        return img, f"{path.name} (JPEG decode with Pillow {time.perf_counter() - t0:.3f} s, not counted below)"
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    img = 100 + 80 * np.sin(x / 300) * np.cos(y / 200)
    img = np.stack([img, img * 0.9, img * 0.8], -1) + rng.normal(0, 3, (3000, 4000, 3))
    return np.clip(img, 0, 255).astype(np.uint8), "synthetic 4000x3000"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--image", type=Path)
    p.add_argument("--predictors", default="gmnet,heuristic")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--scale", type=int, default=4, help="gain-map scale")
    args = p.parse_args(argv)
    sdr, label = load_image(args.image)
    print(f"image: {label}, {sdr.shape[1]}x{sdr.shape[0]} ({sdr.shape[0] * sdr.shape[1] / 1e6:.1f} MP)")
    for name in (n.strip() for n in args.predictors.split(",") if n.strip()):
        pred = get_predictor(name)
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        out = pred.predict(sdr, gainmap_scale=args.scale)
        cold = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = pred.predict(sdr, gainmap_scale=args.scale)
            times.append(time.perf_counter() - t0)
        print(f"{name:>10}: cold {cold:.3f} s, warm best {min(times):.3f} s, median {statistics.median(times):.3f} s;"
              f" map {out.gainmap.shape[1]}x{out.gainmap.shape[0]}, GainMapMax {out.metadata.gain_map_max[0]:.2f};"
              f" peak RSS +{_rss_mib() - rss0:.0f} MiB (total {_rss_mib():.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
