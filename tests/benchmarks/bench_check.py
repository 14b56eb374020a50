"""Benchmark: checking multi-megapixel files (run on demand: ``python tests/benchmarks/bench_check.py``).

Times ``gainmap.analysis.validate.check_bytes`` on a generated 12 MP Ultra HDR file and on the largest corpus files, with
exiftool -validate (the nearest peer diagnostic) measured in the same run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "fixtures"))
CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> None:
    from bench_read import make_12mp, timeit

    from gainmap.analysis.validate import check_bytes, load_checks

    load_checks()
    files = [("generated 12 MP Ultra HDR", make_12mp())]
    if CORPUS.is_dir():
        big = sorted(CORPUS.glob("*.jpg"), key=lambda p: p.stat().st_size, reverse=True)[:3]
        files += [(p.name, p.read_bytes()) for p in big]
    for label, data in files:
        ours = timeit(lambda d=data: check_bytes(d))
        line = f"{label[:48]:<48} {len(data) / 1e6:5.1f} MB  gainmap check {ours * 1e3:7.2f} ms"
        if shutil.which("exiftool"):
            with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
                tmp.write(data)
                tmp.flush()
                ex = timeit(lambda n=tmp.name: subprocess.run(["exiftool", "-validate", "-warning", "-a", n],
                                                              capture_output=True), repeat=3)
            line += f"  exiftool -validate {ex * 1e3:7.1f} ms  ratio {ours / ex:.3f}"
        print(line)


if __name__ == "__main__":
    main()
