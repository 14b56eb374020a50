"""``gainmap eval``: score gain-map predictors on the held-out corpus photos (log2-PSNR against the true HDR, gain
MAE in stops); the method is described in :mod:`gainmap.predict.evaluate` and docs/model-card.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gainmap.cli.common import EXIT_OK, UsageError
from gainmap.errors import GainMapError
from gainmap.predict.base import Predictor
from gainmap.predict.evaluate import (
    DEFAULT_METHODS,
    SCORE_LONG_SIDE,
    default_corpus,
    evaluate,
    format_rows,
    format_table,
)
from gainmap.predict.gmnet import GMNetPredictor


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Score gain-map predictors on the held-out corpus photos (log2-PSNR against the true "
                          "HDR, gain MAE in stops).")
    parser.add_argument("--corpus", type=Path, default=None, help="folder with the corpus files and MANIFEST.tsv")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated predictor names plus the baselines 'zero' and 'oracle'")
    parser.add_argument("--model", type=Path, help="an ONNX file to score as 'gmnet' instead of the bundled one")
    parser.add_argument("--score-long-side", type=int, default=SCORE_LONG_SIDE)
    parser.add_argument("--per-image", action="store_true", help="also print one row per image")
    parser.add_argument("--json", type=Path, help="write all numbers to this JSON file")
    parser.add_argument("--reference", action="store_true",
                        help="evaluate restoring from the original after edits instead (gainmap.testing."
                        "restore_eval, docs/restore.md); --methods and --model do not apply")
    parser.add_argument("--long-side", type=int, default=2048,
                        help="--reference: rebuild each photo at this long side first (0: as it is)")
    parser.add_argument("--files", default=None,
                        help="--reference: comma-separated corpus names (default: the validation split)")


def _run_reference(args: argparse.Namespace, corpus: Path) -> int:
    # Imported here: the restore evaluation pulls in OpenCV and the editing layer, which plain eval does not need.
    from gainmap.predict.training.splits import VAL_CORPUS
    from gainmap.testing import restore_eval

    names = tuple(n.strip() for n in args.files.split(",") if n.strip()) if args.files else VAL_CORPUS
    result = restore_eval.evaluate(corpus, names, args.long_side, log=lambda s: print(s, file=sys.stderr))
    if not result["rows"]:
        raise UsageError(f"none of the photos is in {corpus}")
    print(f"log2-luminance PSNR (dB) on 4x4 block means, {len(result['rows'])} edited pairs, photos at long side "
          f"{args.long_side or 'as they are'}")
    print(restore_eval.format_summary(result["summary"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        raise UsageError(f"corpus folder {corpus} not found (pass --corpus)")
    if args.reference:
        return _run_reference(args, corpus)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    predictors: dict[str, Predictor] = {}
    try:
        if args.model is not None:
            predictors["gmnet"] = GMNetPredictor(args.model)
        result = evaluate(corpus, methods, score_long_side=args.score_long_side, predictors=predictors,
                          log=lambda s: print(s, file=sys.stderr))
    except GainMapError as exc:  # an unknown method, a bad model or corpus file: the inputs, not the run
        raise UsageError(str(exc)) from None
    if not result["rows"]:
        raise UsageError(f"none of the validation files is in {corpus}")
    print(f"Validation split: {len(result['rows']) // max(1, len(methods))} corpus photos; {result['metric']}; "
          f"scored at long side {result['score_long_side']}")
    print(format_table(result))
    if args.per_image:
        print()
        print(format_rows(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return EXIT_OK
