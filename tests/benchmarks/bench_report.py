"""Benchmark: ``gainmap report`` on the whole corpus folder (run on demand: ``python tests/benchmarks/bench_report.py``).

Target (issue 13): the index of ../shared/corpus renders in under 10 s and stays under 20 MB.  Prints the wall
time of ``gainmap report CORPUS -r -o OUT/`` (index plus a page per file, with and without the in-memory repair
check), the sizes written, and peers measured in the same run: ``gainmap check`` on the same files, and
exiftool's ``-htmldump`` (the closest existing visual dump) run once per file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main() -> None:
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} is absent")
    files = sorted(str(p) for p in CORPUS.rglob("*") if p.suffix.lower() in SUFFIXES)
    gainmap = [sys.executable, "-c", "import sys; from gainmap.cli import main; sys.exit(main())"]
    print(f"corpus: {len(files)} files, {sum(Path(f).stat().st_size for f in files) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        full = wall([*gainmap, "report", str(CORPUS), "-r", "-o", f"{out}/"])
        index = (out / "index.html").stat().st_size
        total = sum(p.stat().st_size for p in out.iterdir())
        shutil.rmtree(out)
        quick = wall([*gainmap, "report", str(CORPUS), "-r", "--no-repair-check", "-o", f"{out}/"])
        serial = wall([*gainmap, "report", str(CORPUS), "-r", "-j", "1", "-o", f"{Path(tmp) / 'serial'}/"])
        check = wall([*gainmap, "check", *files])
        print(f"gainmap report DIR -r (all cores):        {full:7.2f} s   (target < 10 s)")
        print(f"  ... --no-repair-check:                   {quick:7.2f} s")
        print(f"  ... -j 1 (one process):                  {serial:7.2f} s")
        print(f"index.html: {index / 1e6:.2f} MB (target < 20 MB); all pages: {total / 1e6:.1f} MB")
        print(f"peer: gainmap check on the same files:     {check:7.2f} s   report / check = {full / check:.1f}x")
        if shutil.which("exiftool"):
            t = time.perf_counter()
            for f in files:
                subprocess.run(["exiftool", "-htmldump", f], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
            dump = time.perf_counter() - t
            print(f"peer: exiftool -htmldump, once per file:   {dump:7.2f} s   report / exiftool = {full / dump:.2f}x")
        else:
            print("peer: exiftool is not installed")


if __name__ == "__main__":
    main()
