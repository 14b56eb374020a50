"""``gmnet``: the bundled GMNet-architecture model, run with onnxruntime on the CPU (no torch at run time).

Pipeline: the SDR is reduced to a working size (long side 512, even dimensions) for the local branch and to a
256x256 bicubic thumbnail (aspect ratio ignored) for the global branch; the network returns the normalised map
``ngm`` at working size and ``q``; the gain in stops is ``clip(q, 0, 1) * clip(ngm, 0, 1) * log2 P`` (``log2 P``
read from the model's own metadata), resampled to ``ceil(H / gainmap_scale) x ceil(W / gainmap_scale)``.
``clip(q, 0, 1) * log2 P`` becomes GainMapMax and the alternate headroom, capped by ``max_headroom``.

The network was trained on sRGB-encoded pixels; ``colour_space`` is validated but the pixel values are fed as
they are (a Display P3 primary is read as if sRGB, which shifts saturated colours only slightly in luminance).
The onnxruntime session is created once per model file and shared (thread-safe creation; 2 intra-op threads).
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gainmap.errors import GainMapError
from gainmap.predict.base import Prediction, check_input, make_prediction, map_shape, resize_float

MODEL_FILE = "gmnet.onnx"
WORK_LONG_SIDE = 512
THUMB = 256
THREADS = 2

_lock = threading.Lock()
_sessions: dict[str, tuple[Any, dict[str, Any]]] = {}


def default_model_path() -> Path:
    return Path(str(resources.files("gainmap.predict").joinpath("models", MODEL_FILE)))


def _session(path: Path) -> tuple[Any, dict[str, Any]]:  # (onnxruntime.InferenceSession, metadata)
    """A cached onnxruntime session (CPU, 2 intra-op threads) and the model's ``gainmap`` metadata."""
    key = str(path)
    with _lock:
        if key not in _sessions:
            try:
                import onnxruntime as ort
            except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
                raise GainMapError("the gmnet predictor needs onnxruntime (pip install onnxruntime)") from exc
            if not path.is_file():
                raise GainMapError(f"GMNet model not found at {path}; reinstall gainmap or pass model_path")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = THREADS
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            raw = sess.get_modelmeta().custom_metadata_map.get("gainmap", "{}")
            _sessions[key] = (sess, json.loads(raw))
        return _sessions[key]


def _even_size(h: int, w: int, long_side: int) -> tuple[int, int]:
    s = min(1.0, long_side / max(h, w))
    return max(2, 2 * round(h * s / 2)), max(2, 2 * round(w * s / 2))


class GMNetPredictor:
    """The default predictor.  ``model_path`` overrides the bundled ONNX file (same inputs and outputs)."""

    name = "gmnet"

    def __init__(self, model_path: str | Path | None = None, work_long_side: int = WORK_LONG_SIDE) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.work_long_side = work_long_side

    @property
    def info(self) -> dict:
        """The provenance stored in the model (config, seed, steps, log2_p, ...)."""
        return dict(_session(self.model_path)[1])

    def run(self, sdr: np.ndarray) -> tuple[np.ndarray, float]:
        """(gain in stops at working resolution, Qmax in stops) for an H x W x 3 uint8 image."""
        sess, meta = _session(self.model_path)
        log2_p = float(meta.get("log2_p", 4.0))
        h, w = sdr.shape[:2]
        wh, ww = _even_size(h, w, self.work_long_side)
        pil = Image.fromarray(sdr)
        work = pil if (wh, ww) == (h, w) else pil.resize((ww, wh), Image.Resampling.BICUBIC, reducing_gap=3.0)
        thumb = work.resize((THUMB, THUMB), Image.Resampling.BICUBIC)
        x = np.asarray(work, np.float32).transpose(2, 0, 1)[None] / np.float32(255.0)
        t = np.asarray(thumb, np.float32).transpose(2, 0, 1)[None] / np.float32(255.0)
        ngm, q = sess.run(["ngm", "q"], {"sdr": np.ascontiguousarray(x), "thumb": np.ascontiguousarray(t)})
        qmax = float(np.clip(np.nan_to_num(q.reshape(-1)[0]), 0.0, 1.0)) * log2_p
        gain = np.clip(np.nan_to_num(ngm[0, 0]), 0.0, 1.0) * np.float32(qmax)
        return gain.astype(np.float32), qmax

    def predict(self, sdr: np.ndarray, colour_space: str = "srgb", *, max_headroom: float | None = None,
                gainmap_scale: int = 4) -> Prediction:
        sdr = check_input(sdr, colour_space, max_headroom, gainmap_scale)
        gain, qmax = self.run(sdr)
        mh, mw = map_shape(sdr.shape[0], sdr.shape[1], gainmap_scale)
        gain = np.clip(resize_float(gain, mh, mw), 0.0, qmax)
        return make_prediction(gain, qmax, max_headroom, source=f"predicted:{self.name}")
