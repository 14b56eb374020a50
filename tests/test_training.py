"""GMNet training code: architecture facts, export parity, and a tiny end-to-end run (skipped without torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training code needs torch (gainmap[train])")
pytest.importorskip("onnx", reason="ONNX export needs onnx (gainmap[train])")

from torch.nn import functional as F  # noqa: E402

from gainmap.predict.training import data as D  # noqa: E402
from gainmap.predict.training.model import CONFIGS, GMNet, count_parameters, depthwise3x3  # noqa: E402


@pytest.fixture
def slow_enabled(request):
    """Slow tests run only when asked for: ``pytest -m slow`` (or GAINMAP_SLOW=1)."""
    import os

    if "slow" not in (request.config.option.markexpr or "") and not os.environ.get("GAINMAP_SLOW"):
        pytest.skip("slow: run with -m slow")


def fake_pack(seed: int = 0) -> D.Pack:
    """A small random pack: two 'panoramas', one 'photo', a validation source and one real pair."""
    rng = np.random.default_rng(seed)

    def hdr(h, w):
        base = rng.lognormal(-1.5, 1.0, (h // 8, w // 8, 1)).astype(np.float32)
        img = np.kron(base, np.ones((8, 8, 1), np.float32)) * rng.uniform(0.7, 1.3, (1, 1, 3)).astype(np.float32)
        img[h // 3: h // 3 + 6, w // 2: w // 2 + 6] = 40.0  # a light source
        return img

    sdr = rng.integers(0, 256, (96, 128, 3), np.uint8)
    gain = rng.uniform(0, 2, (96, 128)).astype(np.float32)
    return D.Pack(panos=[hdr(128, 256), hdr(128, 256)], photos=[hdr(160, 120)], val_sources=[("pano", hdr(128, 256))],
                  real=[(sdr, gain)])


def test_full_config_matches_the_reference_parameter_count():
    assert count_parameters(GMNet(CONFIGS["full"])) == 1_921_827


def test_cpu_config_is_smaller_and_keeps_the_dual_branch_design():
    m = GMNet(CONFIGS["cpu"])
    assert count_parameters(m) < count_parameters(GMNet(CONFIGS["full"])) / 4
    assert hasattr(m, "global_branch") and hasattr(m, "local_branch")


def test_depthwise_taps_equal_grouped_convolution():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 9, 11, generator=g)
    k = torch.randn(2, 5, 3, 3, generator=g)
    ref = torch.cat([F.conv2d(x[i:i + 1], k[i].unsqueeze(1), padding=1, groups=5) for i in range(2)])
    assert torch.allclose(depthwise3x3(x, k), ref, atol=1e-5)


def test_pool_k22_s21_equals_adaptive_pool_on_64():
    x = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(F.avg_pool2d(x, 22, 21), F.adaptive_avg_pool2d(x, 3), atol=1e-6)


def test_output_size_equals_even_input_size():
    m = GMNet(CONFIGS["tiny"]).eval()
    with torch.no_grad():
        ngm, q = m(torch.rand(1, 3, 34, 50), torch.rand(1, 3, 256, 256))
    assert tuple(ngm.shape) == (1, 1, 34, 50) and tuple(q.shape) == (1, 1, 1, 1)


def test_loss_is_zero_at_the_target_and_positive_elsewhere():
    from gainmap.predict.training.losses import gmnet_loss

    ngm = torch.rand(2, 1, 8, 8)
    q = torch.full((2, 1, 1, 1), 0.5)
    zero, _ = gmnet_loss(ngm, q, ngm, ngm * 0.5)
    off, parts = gmnet_loss(ngm, q, ngm.flip(-1), ngm * 0.3)
    assert float(zero) == 0.0 and float(off) > 0 and parts["l_qgm"] > 0


def test_synthesis_gives_sane_pairs():
    rng = np.random.default_rng(0)
    pack = fake_pack()
    view = D.random_view(rng, pack.panos, pack.photos, 96)
    sdr, gain = D.synthesize(view, rng)
    assert sdr.dtype == np.uint8 and sdr.shape[:2] == gain.shape == view.shape[:2]
    assert gain.min() >= 0 and gain.max() <= D.LOG2_P
    batch = D.collate([D.make_sample(sdr, gain)], 32, rng)
    assert batch["sdr"].shape == (1, 3, 32, 32) and batch["thumb"].shape == (1, 3, 256, 256)
    assert 0 <= batch["ngm"].min() and batch["ngm"].max() <= 1


def test_rgbe_round_trip():
    rng = np.random.default_rng(4)
    rgb = rng.lognormal(0, 2, (7, 9, 3)).astype(np.float32)
    back = D.rgbe_decode(D.rgbe_encode(rgb))
    # shared exponent: the error is relative to each pixel's largest channel
    assert (np.abs(back - rgb) <= rgb.max(axis=-1, keepdims=True) * (2 / 256)).all()


def test_licence_rule():
    from gainmap.predict.training.splits import TRAIN_CORPUS, VAL_CORPUS, trainable_licence

    assert trainable_licence("CC0-1.0: Poly Haven asset")
    assert trainable_licence("BSD-3-Clause: repo LICENSE")
    assert trainable_licence("MIT-CMU (LICENSE)")
    assert trainable_licence("CC-BY-4.0 (LICENSE)")
    assert trainable_licence("Apache-2.0 OR MIT (LICENSE: dual MIT/Apache-2.0)")
    assert not trainable_licence("Apache-2.0 (LICENSE)")
    assert not trainable_licence("LGPL-2.1 (LICENSE)")
    assert not trainable_licence("none (no LICENSE file)")
    assert not set(TRAIN_CORPUS) & set(VAL_CORPUS)


@pytest.mark.slow
def test_tiny_training_run_exports_with_parity(tmp_path, slow_enabled):
    from gainmap.predict.gmnet import GMNetPredictor
    from gainmap.predict.training.train import preset, train

    summary = train(preset("tiny"), tmp_path, pack=fake_pack(), seed=0, log=lambda s: None)
    assert summary["steps"] == preset("tiny").steps
    assert summary["parity_max_abs_diff"] < 1e-4
    onnx_path = Path(summary["onnx"])
    assert onnx_path.is_file() and (tmp_path / "ckpt.pt").is_file()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert lines and all(np.isfinite(json.loads(line)["val_loss"]) for line in lines)
    pred = GMNetPredictor(onnx_path).predict(np.full((21, 30, 3), 200, np.uint8))
    assert pred.gainmap.shape == (6, 8) and pred.metadata.is_finite()
    assert GMNetPredictor(onnx_path).info["config"] == "tiny"


@pytest.mark.slow
def test_one_command_recipe_on_a_small_pack(tmp_path, slow_enabled):
    """``python -m gainmap.predict.training --config tiny`` with a pack in the on-disk format."""
    from gainmap.predict.training.__main__ import main

    pack = fake_pack(1)
    arrays, names = {}, []
    for i, rgb in enumerate(pack.panos):
        arrays[f"hdr/train/pano/{i:03d}"] = D.rgbe_encode(rgb)
        names.append(f"hdr/train/pano/{i:03d}\tfake")
    arrays["hdr/val/pano/009"] = D.rgbe_encode(pack.val_sources[0][1])
    names.append("hdr/val/pano/009\tfake")
    arrays["index"] = np.array(names)
    (tmp_path / "data").mkdir()
    np.savez_compressed(tmp_path / "data" / D.PACK_NAME, **arrays)
    out = tmp_path / "run"
    assert main(["--config", "tiny", "--seed", "0", "--out", str(out), "--data", str(tmp_path / "data")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parity_max_abs_diff"] < 1e-4 and (out / "gmnet.onnx").is_file()
    assert "done" in (out / "train.log").read_text()
