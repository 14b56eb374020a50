"""``python -m gainmap.predict.training --config tiny|cpu|full --seed 0 --out DIR``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from gainmap.predict.training import data as D


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gainmap.predict.training", description=__doc__)
    p.add_argument("--config", choices=("tiny", "cpu", "full"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder: log, checkpoints, gmnet.onnx")
    p.add_argument("--data", type=Path, default=Path("data"), help="packed training data folder (built if absent)")
    p.add_argument("--shared", type=Path, default=Path("..") / "shared", help="shared/ with hdr/ and corpus/")
    p.add_argument("--steps", type=int, help="override the preset's step count (alone: exactly this many steps)")
    p.add_argument("--time-budget-min", type=float, help="override the preset's wall-time budget (0: none)")
    p.add_argument("--threads", type=int, help="torch intra-op threads")
    p.add_argument("--lr", type=float, help="override the preset's peak learning rate")
    p.add_argument("--resume", action="store_true",
                   help="continue from DIR/ckpt.pt (with a time budget: a new cosine cycle over that budget)")
    p.add_argument("--pack-only", action="store_true", help="build the data pack and stop")
    args = p.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    log_fh = open(args.out / "train.log", "a", encoding="utf-8")

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_fh.write(msg + "\n")
        log_fh.flush()

    pack_path = args.data / D.PACK_NAME
    if not pack_path.exists():
        if not (args.shared / "hdr" / "MANIFEST.tsv").exists():
            log(f"no data pack at {pack_path} and no {args.shared}/hdr to build it from")
            return 2
        D.build_pack(args.shared, args.data, log=log)
    if args.pack_only:
        return 0
    from gainmap.predict.training.train import preset, train

    cfg = preset(args.config, steps=args.steps, threads=args.threads, lr=args.lr)
    if args.time_budget_min is not None:
        cfg = replace(cfg, time_budget_s=args.time_budget_min * 60 if args.time_budget_min > 0 else None)
    elif args.steps is not None:  # an explicit step count reproduces a run exactly: no wall-time budget
        cfg = replace(cfg, time_budget_s=None)
    summary = train(cfg, args.out, pack=D.Pack.load(pack_path), seed=args.seed, resume=args.resume, log=log)
    log(f"done: {summary['steps']} steps in {summary['train_wall_s']} s, final {summary['final']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
