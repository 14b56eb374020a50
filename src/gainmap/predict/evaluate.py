"""Score predictors on the held-out corpus photos against their true HDR renditions.

``gainmap eval [--corpus DIR] [--methods gmnet,heuristic,zero,oracle] [--json OUT]``

For every file of :data:`gainmap.predict.training.splits.VAL_CORPUS` found in the corpus folder:

* the true HDR is libultrahdr's decode of the file (``imagecodecs.ultrahdr_decode``, linear, 1.0 = SDR white,
  full boost); the SDR is the primary decoded with Pillow;
* each predictor gets the **full-resolution** SDR, as in real use; its map is decoded with its own metadata
  (``L = min + (max - min) * v ** (1/gamma)``) and bilinearly resampled to the scoring resolution (long side
  1024, where the true HDR is box-averaged in linear light); the predicted HDR is
  ``(SDR_lin + k_sdr) * 2 ** L - k_hdr`` with the prediction's offsets;
* **log2-PSNR** (dB): PSNR of ``log2(max(HDR, 0) + 1/64)`` over all pixels and channels, with a fixed peak-to-peak
  range of ``log2(16 + 1/64) - log2(1/64)`` (~10 stops), the same for every image and method;
* **gain MAE** (stops): mean ``|L - G|`` with ``G = log2((Y_true + 1/64) / (Y_sdr + 1/64))`` the true luminance
  gain; **Qmax err**: ``|p99.9(L) - p99.9(G)|``;
* baselines in the same run: ``zero`` (the SDR as HDR) and ``oracle``, the best per-image global curve: the true
  gain averaged in 64 bins of SDR luma and applied as a lookup table (an upper bound for any global method).
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gainmap.predict.base import Prediction, decode_gain, get_predictor, resize_float
from gainmap.predict.training import data as D
from gainmap.predict.training.splits import VAL_CORPUS

EPS = 1.0 / 64.0
LOG_RANGE = math.log2(16.0 + EPS) - math.log2(EPS)
SCORE_LONG_SIDE = 1024
DEFAULT_METHODS = ("gmnet", "heuristic", "zero", "oracle")
ORACLE_BINS = 64


def default_corpus() -> Path:
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        cand = base / ".." / "shared" / "corpus"
        if (cand / "MANIFEST.tsv").exists():
            return cand.resolve()
    return Path("..") / "shared" / "corpus"


def log2_psnr(hdr_pred: np.ndarray, hdr_true: np.ndarray) -> float:
    a = np.log2(np.maximum(hdr_pred, 0) + EPS)
    b = np.log2(np.maximum(hdr_true, 0) + EPS)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(LOG_RANGE ** 2 / mse)


def apply_gain(sdr_lin: np.ndarray, gain: np.ndarray, k_sdr: float = EPS, k_hdr: float = EPS) -> np.ndarray:
    g = gain if gain.ndim == 3 else gain[..., None]
    return (sdr_lin + k_sdr) * np.exp2(g) - k_hdr


def oracle_gain(sdr: np.ndarray, true_gain: np.ndarray, bins: int = ORACLE_BINS) -> np.ndarray:
    """Best per-image global curve: mean true gain per SDR-luma bin, interpolated (empty bins filled)."""
    luma = D.linear_to_srgb(D.luminance(D.u8_to_linear(sdr)))
    idx = np.minimum((luma * bins).astype(np.int64), bins - 1)
    counts = np.bincount(idx.ravel(), minlength=bins)
    sums = np.bincount(idx.ravel(), weights=true_gain.ravel().astype(np.float64), minlength=bins)
    centres = (np.arange(bins) + 0.5) / bins
    have = counts > 0
    curve = np.interp(centres, centres[have], sums[have] / counts[have])
    return np.interp(luma, centres, curve).astype(np.float32)


def _prediction_offsets(pred: Prediction) -> tuple[float, float]:
    md = pred.metadata
    return float(md.base_offset[0]), float(md.alternate_offset[0])


def score(gain: np.ndarray, sdr_lin: np.ndarray, hdr_true: np.ndarray, true_gain: np.ndarray,
          offsets: tuple[float, float] = (EPS, EPS)) -> dict[str, float]:
    hdr_pred = apply_gain(sdr_lin, gain, *offsets)
    g = gain if gain.ndim == 2 else gain.mean(axis=2)
    return {
        "log2_psnr": log2_psnr(hdr_pred, hdr_true),
        "gain_mae": float(np.mean(np.abs(g - true_gain))),
        "qmax_err": abs(float(np.percentile(g, 99.9)) - float(np.percentile(true_gain, 99.9))),
    }


def evaluate(corpus: Path, methods: tuple[str, ...] = DEFAULT_METHODS, *, files: tuple[str, ...] = VAL_CORPUS,
             score_long_side: int = SCORE_LONG_SIDE, predictors: dict | None = None, log=print) -> dict:
    """Per-file and mean metrics for each method; ``predictors`` maps names to instances (else the registry)."""
    import imagecodecs  # libultrahdr for the true HDR; heavy, and only scoring needs it (keeps imports cheap)

    insts = dict(predictors or {})
    for m in methods:
        if m not in ("zero", "oracle") and m not in insts:
            insts[m] = get_predictor(m)
    rows: list[dict] = []
    for name in files:
        path = corpus / name
        if not path.exists():
            log(f"missing {path}; skipped")
            continue
        blob = path.read_bytes()
        with Image.open(io.BytesIO(blob)) as im:
            sdr_full = np.asarray(im.convert("RGB"))
        hdr_full = np.asarray(imagecodecs.ultrahdr_decode(blob, dtype="float16"))[..., :3]
        h, w = D.working_size(sdr_full.shape[0], sdr_full.shape[1], score_long_side)
        sdr = D.resize_u8(sdr_full, (w, h)) if (h, w) != sdr_full.shape[:2] else sdr_full
        hdr = np.maximum(np.nan_to_num(D.resize(hdr_full.astype(np.float32), (w, h), Image.Resampling.BOX)), 0)
        del hdr_full
        sdr_lin = D.u8_to_linear(sdr)
        true_gain = D.corpus_gain(sdr, hdr)
        for m in methods:
            t0 = time.perf_counter()
            offsets = (EPS, EPS)
            if m == "zero":
                gain = np.zeros((h, w), np.float32)
            elif m == "oracle":
                gain = oracle_gain(sdr, true_gain)
            else:
                pred = insts[m].predict(sdr_full)
                dec = decode_gain(pred)
                gain = (resize_float(dec, h, w) if dec.ndim == 2
                        else np.stack([resize_float(dec[..., c], h, w) for c in range(dec.shape[2])], -1))
                offsets = _prediction_offsets(pred)
            seconds = time.perf_counter() - t0
            rows.append({"file": name, "method": m, "seconds": seconds,
                         **score(gain, sdr_lin, hdr, true_gain, offsets)})
        log(f"scored {name} ({sdr_full.shape[1]}x{sdr_full.shape[0]})")
    means = {}
    for m in methods:
        sel = [r for r in rows if r["method"] == m]
        if sel:
            means[m] = {k: float(np.mean([r[k] for r in sel])) for k in ("log2_psnr", "gain_mae", "qmax_err",
                                                                          "seconds")}
            means[m]["n"] = len(sel)
    return {"rows": rows, "means": means, "metric": "log2-PSNR over RGB with a 10-stop range; gain MAE in stops",
            "score_long_side": score_long_side}


def format_table(result: dict) -> str:
    lines = ["| method | images | log2-PSNR (dB) | gain MAE (stops) | Qmax err (stops) | s/image |",
             "|---|---|---|---|---|---|"]
    for m, v in result["means"].items():
        lines.append(f"| {m} | {v['n']} | {v['log2_psnr']:.2f} | {v['gain_mae']:.3f} | {v['qmax_err']:.3f} "
                     f"| {v['seconds']:.2f} |")
    return "\n".join(lines)


def format_rows(result: dict) -> str:
    methods = list(result["means"])
    lines = ["| file | " + " | ".join(f"{m} PSNR / MAE" for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    files = dict.fromkeys(r["file"] for r in result["rows"])
    for f in files:
        cells = []
        for m in methods:
            r = next((r for r in result["rows"] if r["file"] == f and r["method"] == m), None)
            cells.append("-" if r is None else f"{r['log2_psnr']:.2f} / {r['gain_mae']:.3f}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

