"""``gainmap eval --reference``: restore-from-the-original on edited copies of real gain-map photos, scored.

For every held-out corpus photo (:data:`gainmap.predict.training.splits.VAL_CORPUS`: never one the bundled
model trained on) each edit of :data:`gainmap.testing.edits.EDITS` is made (:mod:`gainmap.testing.edits`) and
restored four ways:

* ``reference``: ``gainmap.restore(edited, reference=original)``, decoded with :func:`gainmap.hdr.decode.decode`;
* ``oracle``: the geometry oracle, the original's true per-pixel gain resampled with the exact edit geometry
  and applied to the edited SDR, per pixel;
* ``oracle_map``: the same gain written the way any restore must write it, a quarter-size 8-bit gain map
  (4x4 block means of the log gain, quantised and JPEG-coded at the restore's quality) decoded by our
  decoder: the best any method can do on unchanged pixels in a gain-map file of that size, and the bound
  the targets compare with;
* ``blind``: ``gainmap.restore(edited, predictor="gmnet")``, no original;
* ``paste``: the old behaviour, the original's gain map and metadata pasted around the edited primary as they
  are (stretched to the new size by the decoder).

**Metric**: log2-luminance PSNR on 4x4 block means, luminance floored at 1/64 of SDR white, peak-to-peak 10
stops (``10 log10(10^2 / MSE)``), capped at 60 dB.  ``unchanged`` scores the blocks no content edit touched
(for a graded edit the truth there is the edited SDR lifted by the original's boost, so the oracle is exact);
``content`` scores the blocks inside the replaced rectangle (one block in from its border); removed
(inpainted) regions have no truth and are left out.  A different photo, resized to the original's size, must
be refused for every original.

By default each photo is first reduced to a long side of ``--long-side`` (2048) and rebuilt as an Ultra HDR
file (its HDR reduced in linear light, the gain map recomputed), so a full run takes minutes; ``--long-side 0``
uses the corpus files as they are.
"""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gainmap.editing.register import NotSamePhotoError
from gainmap.editing.restore import encode_gainmap, restore
from gainmap.editing.transfer import quantise
from gainmap.errors import GainMapError
from gainmap.hdr import warp
from gainmap.hdr.color import linear_to_srgb, luminance_coefficients, u8_to_linear_lut
from gainmap.hdr.compute import compute_gainmap
from gainmap.hdr.decode import decode, decode_pixels, primary_colour_space
from gainmap.model.assemble import assemble, s_keep
from gainmap.model.reader import read
from gainmap.predict.training.splits import VAL_CORPUS
from gainmap.testing.edits import EDITS, EditedPair, Original, lift_luma, make_edit

FLOOR = 1.0 / 64.0
RANGE_STOPS = 10.0
CAP_DB = 60.0
BLOCK = 4
METHODS = ("reference", "oracle", "oracle_map", "blind", "paste")


def block_log_luma(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape
    means = warp.area_reduce(luma.astype(np.float32), (-(-h // BLOCK), -(-w // BLOCK)))
    return np.log2(np.maximum(means, FLOOR))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float | None:
    if not mask.any():
        return None
    mse = float(np.mean((a[mask] - b[mask]) ** 2))
    return CAP_DB if mse == 0 else min(CAP_DB, 10.0 * math.log10(RANGE_STOPS ** 2 / mse))


def load_original(data: bytes, long_side: int) -> tuple[bytes, Original]:
    """The original file (rebuilt at ``long_side`` when smaller than the photo) and its renditions."""
    gmf = read(data)
    space, _ = primary_colour_space(gmf)
    sdr_u8 = decode_pixels(gmf.primary, "RGB")
    hdr = decode(gmf)
    h, w = sdr_u8.shape[:2]
    if long_side and max(h, w) > long_side:
        f = max(h, w) / long_side
        shape = (round(h / f), round(w / f))
        lut = u8_to_linear_lut("srgb")
        sdr_lin = warp.area_reduce(lut[sdr_u8], shape)
        hdr = warp.area_reduce(hdr, shape)
        sdr_u8 = np.round(linear_to_srgb(np.clip(sdr_lin, 0, 1)) * 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(sdr_u8, "RGB").save(buf, "JPEG", quality=95, icc_profile=gmf.primary.icc or None)
        codes, md = compute_gainmap(lut[sdr_u8], np.maximum(hdr, 0), scale=4, colour_space=space)
        data = assemble(buf.getvalue(), encode_gainmap(codes, 90), md, name="reduced original").to_bytes()
        hdr = decode(data)
    gm = read(data).gainmap
    return data, Original(sdr_u8, hdr, space, 3 if gm is not None and gm.components == 3 else 1)


def _luma(rgb: np.ndarray, space: str) -> np.ndarray:
    return rgb @ luminance_coefficients(space).astype(np.float32)


def _paste(edited: bytes, original: bytes) -> bytes:
    ref = read(original)
    assert ref.gainmap is not None
    image = read(ref.gainmap.to_bytes(), name="original gain map").primary
    for seg in [s for s in image.segments() if not s_keep(s)]:
        image.remove(seg)
    md = ref.metadata()
    assert md is not None
    return assemble(read(edited).primary.to_bytes(), image.to_bytes(), md, name="pasted").to_bytes()


def _oracle_file(pair: EditedPair, original: bytes) -> bytes:
    h, w = pair.true_gain.shape[:2]
    gain = warp.area_reduce(pair.true_gain, (-(-h // BLOCK), -(-w // BLOCK))).reshape(-(-h // BLOCK), -(-w // BLOCK), -1)
    md = read(original).metadata()
    headroom = md.alternate_hdr_headroom if md is not None and not md.base_is_hdr else float(gain.max())
    codes, omd = quantise(gain, headroom)
    return assemble(read(pair.jpeg).primary.to_bytes(), encode_gainmap(codes), omd, name="oracle").to_bytes()


def score_pair(pair: EditedPair, original_file: bytes, space: str, outputs: dict[str, bytes] | None = None
               ) -> dict[str, Any]:
    """PSNRs of every method on one edited pair (see the module docstring); ``outputs`` receives the restored
    file under ``"reference"``."""
    truth = block_log_luma(pair.truth_luma)
    bh, bw = truth.shape
    touched = warp.area_reduce((pair.replaced | pair.removed).astype(np.float32), (bh, bw))
    unchanged = touched == 0
    inside = warp.area_reduce(pair.replaced.astype(np.float32), (bh, bw)) >= 1.0 - 1e-6
    inside = np.pad(inside[1:-1, 1:-1] & inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2]
                    & inside[1:-1, 2:], 1)
    lut = u8_to_linear_lut("srgb")
    edited_lin = lut[np.asarray(Image.open(io.BytesIO(pair.jpeg)).convert("RGB"))]
    lumas: dict[str, np.ndarray] = {"oracle": lift_luma(edited_lin, pair.true_gain, space)}
    row: dict[str, Any] = {"edit": pair.spec.name}
    t0 = time.perf_counter()
    restored = restore(pair.jpeg, reference=original_file).to_bytes()
    row["seconds"] = round(time.perf_counter() - t0, 3)
    if outputs is not None:
        outputs["reference"] = restored
    lumas["reference"] = _luma(decode(restored, colour_space=space), space)
    lumas["blind"] = _luma(decode(restore(pair.jpeg, predictor="gmnet").to_bytes(), colour_space=space), space)
    lumas["oracle_map"] = _luma(decode(_oracle_file(pair, original_file), colour_space=space), space)
    lumas["paste"] = _luma(decode(_paste(pair.jpeg, original_file), colour_space=space), space)
    for method in METHODS:
        pred = block_log_luma(lumas[method])
        row[f"{method}_unchanged"] = psnr(pred, truth, unchanged)
        row[f"{method}_content"] = psnr(pred, truth, inside) if not method.startswith("oracle") else None
    return row


def _refuses(original_file: bytes, other: Original, shape: tuple[int, int]) -> bool:
    buf = io.BytesIO()
    Image.fromarray(other.sdr_u8, "RGB").resize((shape[1], shape[0]), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=90)
    try:
        restore(buf.getvalue(), reference=original_file)
    except NotSamePhotoError:
        return True
    return False


def evaluate(corpus: Path, names: tuple[str, ...] = VAL_CORPUS, long_side: int = 2048,
             log: Any = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    loaded: list[tuple[str, bytes, Original]] = []
    for name in names:
        path = corpus / name
        if not path.exists():
            continue
        try:
            loaded.append((name, *load_original(path.read_bytes(), long_side)))
        except GainMapError as exc:
            if log:
                log(f"{name}: skipped ({exc})")
    for i, (name, data, original) in enumerate(loaded):
        for spec in EDITS:
            pair = make_edit(original, spec)
            try:
                row = score_pair(pair, data, original.colour_space)
            except NotSamePhotoError as exc:
                row = {"edit": spec.name, "refused": str(exc)}
            row["file"] = name
            rows.append(row)
            if log:
                log(json.dumps(row))
        if len(loaded) > 1:
            other = loaded[(i + 1) % len(loaded)][2]
            refusals.append({"file": name, "refused": _refuses(data, other, original.sdr_u8.shape[:2])})
    return {"rows": rows, "different_photo": refusals, "summary": summarise(rows, refusals),
            "long_side": long_side}


def summarise(rows: list[dict[str, Any]], refusals: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in EDITS:
        sel = [r for r in rows if r["edit"] == spec.name]
        entry: dict[str, Any] = {"pairs": len(sel), "accepted": sum("refused" not in r for r in sel)}
        for key in [f"{m}_{part}" for m in METHODS for part in ("unchanged", "content")]:
            vals = [r[key] for r in sel if r.get(key) is not None]
            if vals:
                entry[key] = round(float(np.mean(vals)), 2)
        secs = [r["seconds"] for r in sel if "seconds" in r]
        if secs:
            entry["seconds_mean"] = round(float(np.mean(secs)), 3)
        out[spec.name] = entry
    out["different_photo_refused"] = f"{sum(r['refused'] for r in refusals)}/{len(refusals)}"
    return out


def format_summary(summary: dict[str, Any]) -> str:
    head = f"{'edit':<15}{'ok':>6}" + "".join(f"{m[:10] + ' unch':>16}" for m in METHODS) + \
        "".join(f"{m[:9] + ' cont':>15}" for m in ("reference", "blind", "paste")) + f"{'s':>7}"
    lines = [head]
    for name, e in summary.items():
        if not isinstance(e, dict):
            continue
        cells = "".join(f"{e.get(f'{m}_unchanged', float('nan')):>16.2f}" for m in METHODS)
        cells += "".join(f"{e.get(f'{m}_content', float('nan')):>15.2f}" for m in ("reference", "blind", "paste"))
        lines.append(f"{name:<15}{e['accepted']:>3}/{e['pairs']:<2}{cells}{e.get('seconds_mean', float('nan')):>7.2f}")
    lines.append(f"different photo refused: {summary['different_photo_refused']}")
    return "\n".join(lines)
