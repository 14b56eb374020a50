"""Restore-from-the-original speed and memory at 12 MP: ``python tests/benchmarks/bench_restore.py [--original F]``.

Target (issue 16): a 12 MP edited photo with a 12 MP original restores in at most 4 s on the 2-core machine,
peak memory under 1.5 GB.  The original is ``android-samples__lamps.jpg`` from the corpus (4080x3072, an
Ultra HDR photo; a synthetic 4000x3000 gain-map file when the corpus is absent).  The edit keeps the full size
(a quarter turn, a mirror, a colour grade and a replaced rectangle: every class of pixel, the prior and the
registration's mirror search all run) and is saved as a plain SDR JPEG (quality 90).

Each run is a fresh child process (``python -c``), so its peak resident set (``ru_maxrss`` of the child: the
interpreter, numpy, OpenCV and onnxruntime included) is the whole cost of one ``gainmap.restore`` call; the
time is measured inside the child around the call alone.  Peers in the same run, for scale: libultrahdr's
decode of the original (``imagecodecs.ultrahdr_decode``) and our blind restore (``--predictor gmnet``, no
original).  Not a test: it never fails on a number.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CORPUS_12MP = ROOT / ".." / "shared" / "corpus" / "android-samples__lamps.jpg"

CHILD = """
import json, resource, sys, time
from gainmap.editing.restore import restore
edited, original, mode = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), sys.argv[3]
t0 = time.perf_counter()
if mode == 'reference':
    out = restore(edited, reference=original)
elif mode == 'blind':
    out = restore(edited, predictor='gmnet')
else:
    import imagecodecs
    imagecodecs.ultrahdr_decode(original, dtype='float16')
seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'peak_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def original_bytes(path: Path | None) -> tuple[bytes, str]:
    path = path or (CORPUS_12MP if CORPUS_12MP.exists() else None)
    if path is not None:
        return path.read_bytes(), path.name
    from gainmap.editing.restore import encode_gainmap
    from gainmap.hdr.color import u8_to_linear_lut
    from gainmap.hdr.compute import compute_gainmap
    from gainmap.model.assemble import assemble

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    base = 110 + 70 * np.sin(x / 97) * np.cos(y / 61) + rng.normal(0, 12, (3000, 4000))
    img = np.clip(np.stack([base, base * 0.9 + 20, base * 0.7], -1), 0, 255).astype(np.uint8)
    sdr = u8_to_linear_lut("srgb")[img]
    hdr = sdr * np.exp2(2.0 * np.clip(sdr.mean(-1, keepdims=True) - 0.3, 0, 1))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=95)
    codes, md = compute_gainmap(sdr, hdr, scale=4)
    return assemble(buf.getvalue(), encode_gainmap(codes), md).to_bytes(), "synthetic 4000x3000"


def edited_bytes(original: bytes) -> bytes:
    from gainmap.model.reader import read

    with Image.open(io.BytesIO(read(original).primary.to_bytes())) as im:
        img = np.asarray(im.convert("RGB"))
    h, w = img.shape[:2]
    img = img.copy()
    img[h // 3:h // 3 + h // 5, w // 3:w // 3 + w // 5] = img[h // 10:h // 10 + h // 5, w // 10:w // 10 + w // 5]
    img = np.ascontiguousarray(np.rot90(img)[:, ::-1])
    graded = np.clip((img.astype(np.float32) - 128) * 1.2 + 140, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(graded).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def run_child(edited: Path, original: Path, mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(edited), str(original), mode], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--original", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    original, label = original_bytes(args.original)
    edited = edited_bytes(original)
    with tempfile.TemporaryDirectory() as tmp:
        e, o = Path(tmp) / "edited.jpg", Path(tmp) / "original.jpg"
        e.write_bytes(edited)
        o.write_bytes(original)
        with Image.open(e) as im:
            print(f"original: {label}; edited: {im.size[0]}x{im.size[1]} "
                  f"({im.size[0] * im.size[1] / 1e6:.1f} MP, turned, mirrored, graded, a rectangle replaced)")
        results: dict[str, list[dict[str, float]]] = {}
        for mode in ("reference", "blind", "libultrahdr-decode"):
            t0 = time.perf_counter()
            results[mode] = [run_child(e, o, mode) for _ in range(args.repeat)]
            print(f"  {mode:<20} median {statistics.median(r['seconds'] for r in results[mode]):6.2f} s   best "
                  f"{min(r['seconds'] for r in results[mode]):6.2f} s   peak RSS "
                  f"{max(r['peak_mib'] for r in results[mode]):7.0f} MiB   ({time.perf_counter() - t0:.0f} s wall)")
    ref = statistics.median(r["seconds"] for r in results["reference"])
    for mode in ("blind", "libultrahdr-decode"):
        print(f"  restore --reference / {mode}: {ref / statistics.median(r['seconds'] for r in results[mode]):.2f}x")
    print(f"  target: <= 4 s and < 1536 MiB -> {'met' if ref <= 4.0 else 'NOT met'} (time), "
          f"{'met' if max(r['peak_mib'] for r in results['reference']) < 1536 else 'NOT met'} (memory)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
