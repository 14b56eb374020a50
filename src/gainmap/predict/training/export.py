"""ONNX export (legacy TorchScript exporter, opset 17) and the onnxruntime-vs-torch parity check."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from gainmap.predict.training.model import THUMB, GMNet

OPSET = 17
INPUTS = ("sdr", "thumb")
OUTPUTS = ("ngm", "q")


def export_onnx(model: GMNet, path: str | Path, *, metadata: dict | None = None) -> Path:
    """Write ``model`` as one self-contained .onnx file with dynamic H/W on ``sdr`` and ``ngm``.

    ``metadata`` (JSON-serialisable) is stored in the model's ``metadata_props`` under ``gainmap``.
    """
    import onnx

    path = Path(path)
    model = model.eval().float()
    sdr = torch.rand(1, 3, 64, 96)
    thumb = torch.rand(1, 3, THUMB, THUMB)
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Constant folding", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            model, (sdr, thumb), buf, dynamo=False, opset_version=OPSET, input_names=list(INPUTS),
            output_names=list(OUTPUTS), dynamic_axes={"sdr": {2: "height", 3: "width"},
                                                      "ngm": {2: "height", 3: "width"}},
            do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    if metadata:
        entry = proto.metadata_props.add()
        entry.key, entry.value = "gainmap", json.dumps(metadata, sort_keys=True)
    proto.producer_name = "gainmap.predict.training"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(path))
    return path


def parity(model: GMNet, path: str | Path, *, sizes: tuple[tuple[int, int], ...] = ((64, 96), (130, 78)),
           seed: int = 0) -> float:
    """Max abs difference between onnxruntime and torch outputs (ngm and q) on random inputs."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    model = model.eval().float()
    for h, w in sizes:
        sdr = torch.rand(1, 3, h, w, generator=gen)
        thumb = torch.rand(1, 3, THUMB, THUMB, generator=gen)
        with torch.no_grad():
            ngm_t, q_t = model(sdr, thumb)
        ngm_o, q_o = sess.run(list(OUTPUTS), {"sdr": sdr.numpy(), "thumb": thumb.numpy()})
        if ngm_o.shape != tuple(ngm_t.shape):
            raise AssertionError(f"shape mismatch {ngm_o.shape} vs {tuple(ngm_t.shape)}")
        worst = max(worst, float(np.abs(ngm_o - ngm_t.numpy()).max()), float(np.abs(q_o - q_t.numpy()).max()))
    return worst


def export_checkpoint(ckpt: str | Path, out: str | Path) -> tuple[Path, float]:
    """Export a training checkpoint (``ckpt.pt``) to ONNX; returns the path and the parity max abs diff."""
    from gainmap.predict.training.data import LOG2_P, OFFSET
    from gainmap.predict.training.model import GMNetConfig

    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    cfg = state["model_config"]
    cfg["n_local_res"] = tuple(cfg["n_local_res"])
    model = GMNet(GMNetConfig(**cfg))
    model.load_state_dict(state["model"])
    meta = {"config": state["train_config"]["model"], "model_config": cfg, "log2_p": LOG2_P, "offset": OFFSET,
            "thumb": THUMB, "seed": state.get("seed"), "steps": state["step"], "train_config": state["train_config"]}
    path = export_onnx(model, out, metadata=meta)
    return path, parity(model, path)


if __name__ == "__main__":
    import sys

    p, d = export_checkpoint(sys.argv[1], sys.argv[2])
    print(f"{p}: onnxruntime vs torch max abs diff {d:.3g}")
