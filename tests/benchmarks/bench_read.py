"""Benchmark: reading a 12-megapixel Ultra HDR file (run on demand: ``python tests/benchmarks/bench_read.py``).

Prints our read time (Python time beyond reading the bytes), the full rewrite time, and peers measured in the
same run: Pillow opening the file and reading its MPF, and exiftool -MPF:all (a process start included).
"""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures"))


def make_12mp() -> bytes:
    from gainmap.hdr import profiles
    from gainmap.model.assemble import assemble
    from make_fixtures import DEFAULT_MD

    rng = np.random.default_rng(0)
    w, h = 4032, 3024
    y, x = np.mgrid[0:h, 0:w]
    base = ((x / w * 200 + y / h * 40)[..., None] + rng.normal(0, 12, (h, w, 3))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(base).save(buf, "JPEG", quality=92)
    gm = io.BytesIO()
    Image.fromarray((x[::4, ::4] % 256).astype(np.uint8)).save(gm, "JPEG", quality=85)
    return assemble(buf.getvalue(), gm.getvalue(), DEFAULT_MD, icc=profiles.display_p3_profile()).to_bytes()


def timeit(fn, repeat: int = 15) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    from gainmap.model.reader import read

    data = make_12mp()
    print(f"12 MP Ultra HDR file: {len(data) / 1e6:.2f} MB")
    ours = timeit(lambda: read(data))
    views = timeit(lambda: (lambda g: (g.metadata_sources(), g.primary.icc))(read(data)))
    rewrite_gmf = read(data)
    rewrite = timeit(lambda: rewrite_gmf.to_bytes())
    print(f"gainmap.read (bytes in memory):       {ours * 1e3:8.2f} ms")
    print(f"read + metadata + ICC views:          {views * 1e3:8.2f} ms")
    print(f"to_bytes (unmodified, byte-exact):    {rewrite * 1e3:8.2f} ms")

    def pillow() -> None:
        with Image.open(io.BytesIO(data)) as im:
            getattr(im, "mpinfo", None)
            im.info.get("mp")

    pil = timeit(pillow)
    print(f"Pillow open + MPF info:               {pil * 1e3:8.2f} ms   (ours / Pillow = {ours / pil:.2f})")
    if shutil.which("exiftool"):
        with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
            tmp.write(data)
            tmp.flush()
            ex = timeit(lambda: subprocess.run(["exiftool", "-j", "-MPF:all", tmp.name], capture_output=True),
                        repeat=5)
        print(f"exiftool -MPF:all (process):          {ex * 1e3:8.2f} ms   (ours / exiftool = {ours / ex:.4f})")


if __name__ == "__main__":
    main()
