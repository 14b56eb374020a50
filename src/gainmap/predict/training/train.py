"""The training loop: seeded, checkpointed, time-budgeted, ending in an ONNX export and a parity check."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from gainmap.predict.training import data as D
from gainmap.predict.training.export import export_onnx, parity
from gainmap.predict.training.losses import gain_stops, gmnet_loss
from gainmap.predict.training.model import CONFIGS, GMNet, count_parameters


@dataclass(frozen=True)
class TrainConfig:
    model: str = "cpu"
    steps: int = 4000
    batch: int = 16
    crop: int = 128
    lr: float = 2e-4
    lr_min: float = 1e-6
    warmup: int = 200
    grad_clip: float = 1.0
    view_long_side: int = 512  #: synthetic views get a random long side in [5/8, 1] of this
    pool_size: int = 96
    pool_refresh: int = 4
    p_real: float = 0.2
    val_views: int = 24
    val_every: int = 250
    ckpt_every_s: float = 300.0
    #: wall-time budget: when set, the cosine decay follows elapsed time (so the run adapts to a shared, busy
    #: CPU) and training stops at the budget or at ``steps``, whichever comes first; None = exactly ``steps``
    time_budget_s: float | None = None
    threads: int = 2


PRESETS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(model="tiny", steps=12, batch=2, crop=64, warmup=2, view_long_side=160, pool_size=4,
                        pool_refresh=1, val_views=2, val_every=6, ckpt_every_s=0.0, threads=1),
    # Reduced configuration trained on this project's 2-core CPU machine (see docs/model-card.md).
    "cpu": TrainConfig(model="cpu", steps=6000, batch=16, crop=128, time_budget_s=50 * 60),
    # The reference-width network and the GPU plan of shared/notes/gmnet.md section 7.
    "full": TrainConfig(model="full", steps=30000, batch=32, crop=160, warmup=500, view_long_side=640,
                        pool_size=512, pool_refresh=16, val_views=48, val_every=1000, ckpt_every_s=120.0,
                        threads=8),
}


def _lr(step: int, total: int, cfg: TrainConfig, progress: float | None = None) -> float:
    """Linear warm-up, then cosine decay over steps, or over ``progress`` (fraction of the time budget)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = progress if progress is not None else (step - cfg.warmup) / max(1, total - cfg.warmup)
    t = min(1.0, max(0.0, t))
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


def _tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


@torch.no_grad()
def validate(model: GMNet, samples: list[D.Sample], device: torch.device) -> dict[str, float]:
    """Loss and gain MAE (stops) on whole synthetic validation images; |Qmax error| in stops."""
    model.eval()
    losses, maes, qerr = [], [], []
    for s in samples:
        h, w = s.gain.shape
        b = _tensors(D.collate([s], max(h, w), None), device)
        b = {k: (v[..., : h - h % 2, : w - w % 2] if v.ndim == 4 and k != "thumb" else v) for k, v in b.items()}
        ngm, q = model(b["sdr"], b["thumb"])
        loss, _ = gmnet_loss(ngm, q, b["ngm"], b["qgm"])
        losses.append(float(loss))
        gt = b["qgm"] * D.LOG2_P
        maes.append(float((gain_stops(ngm, q, D.LOG2_P) - gt).abs().mean()))
        qerr.append(abs(float(q.clamp(0, 1)) - s.qmax / D.LOG2_P) * D.LOG2_P)
    model.train()
    return {"val_loss": float(np.mean(losses)), "val_gain_mae": float(np.mean(maes)),
            "val_qmax_err": float(np.mean(qerr))}


def train(cfg: TrainConfig, out: Path, *, pack: D.Pack, seed: int = 0, resume: bool = False,
          log=print) -> dict:
    """Train, checkpoint to ``out/ckpt.pt``, export ``out/gmnet.onnx``; returns the summary dict."""
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = np.random.default_rng(seed)
    model = GMNet(CONFIGS[cfg.model]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    step, total, elapsed_before = 0, cfg.steps, 0.0
    ckpt_path = out / "ckpt.pt"
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, elapsed_before = state["step"], state.get("elapsed", 0.0)
        total = max(state["total"], step + cfg.steps) if cfg.time_budget_s is not None else state["total"]
        rng = np.random.default_rng([seed, step])
        log(f"resumed at step {step}/{total}")
    pool = D.SamplePool(pack, rng, size=cfg.pool_size, refresh=cfg.pool_refresh, long_side=cfg.view_long_side,
                        p_real=cfg.p_real)
    val_samples = D.validation_samples(pack, n_views=cfg.val_views, long_side=cfg.view_long_side)
    n_params = count_parameters(model)
    log(f"model {cfg.model}: {n_params} parameters; device {device}; config {json.dumps(asdict(cfg))}")
    metrics_fh = open(out / "metrics.jsonl", "a", encoding="utf-8")
    # a resumed run with a time budget is a continuation: a new budget window (and a new cosine from cfg.lr,
    # without warm-up) starting now; wall time is reported in total
    continuation = resume and elapsed_before > 0 and cfg.time_budget_s is not None
    t_start = time.time() if continuation else time.time() - elapsed_before
    prior_s = elapsed_before if continuation else 0.0
    last_ckpt = time.time()
    running: list[float] = []
    budget = cfg.time_budget_s

    def progress() -> float | None:
        if budget is None:
            return None
        if step < cfg.warmup and not continuation:
            return 0.0
        return (time.time() - t_start - warm_s) / max(1.0, budget - warm_s)

    def save() -> None:
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "total": total,
                    "elapsed": prior_s + time.time() - t_start, "train_config": asdict(cfg),
                    "model_config": CONFIGS[cfg.model].to_dict(), "seed": seed}, ckpt_path)

    model.train()
    warm_s = 0.0
    while step < total and (budget is None or time.time() - t_start < budget):
        lr = _lr(cfg.warmup if continuation else step, total, cfg, progress())
        for g in opt.param_groups:
            g["lr"] = lr
        b = _tensors(pool.batch(cfg.batch, cfg.crop), device)
        ngm, q = model(b["sdr"], b["thumb"])
        loss, parts = gmnet_loss(ngm, q, b["ngm"], b["qgm"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        if step == cfg.warmup:
            warm_s = time.time() - t_start
        running.append(parts["loss"])
        done = step >= total or (budget is not None and time.time() - t_start >= budget)
        if step % cfg.val_every == 0 or done:
            rec = {"step": step, "lr": lr, "train_loss": float(np.mean(running)),
                   "elapsed_s": round(prior_s + time.time() - t_start, 1), **validate(model, val_samples, device)}
            running = []
            metrics_fh.write(json.dumps(rec) + "\n")
            metrics_fh.flush()
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()))
        if cfg.ckpt_every_s and time.time() - last_ckpt > cfg.ckpt_every_s:
            save()
            last_ckpt = time.time()
    save()
    metrics_fh.close()
    model = model.cpu().eval()
    wall = prior_s + time.time() - t_start
    meta = {"config": cfg.model, "model_config": CONFIGS[cfg.model].to_dict(), "log2_p": D.LOG2_P,
            "offset": D.OFFSET, "thumb": D.THUMB, "seed": seed, "steps": step, "train_wall_s": round(wall),
            "train_config": asdict(cfg), "parameters": n_params, "torch": torch.__version__}
    onnx_path = export_onnx(model, out / "gmnet.onnx", metadata=meta)
    diff = parity(model, onnx_path)
    summary = {**meta, "onnx": str(onnx_path), "onnx_bytes": onnx_path.stat().st_size, "parity_max_abs_diff": diff,
               "final": validate(model, val_samples, torch.device("cpu"))}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log(f"exported {onnx_path} ({summary['onnx_bytes']} bytes); onnxruntime vs torch max abs diff {diff:.3g}")
    return summary


def preset(name: str, **overrides) -> TrainConfig:
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
