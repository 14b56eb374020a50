"""Predictor protocol, registry, built-in predictors and the evaluation helpers (no torch needed)."""

from __future__ import annotations

import math
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from gainmap.cli.main import main
from gainmap.errors import GainMapError
from gainmap.metadata import GainMapMetadata
from gainmap.predict import Prediction, Predictor, available, base, get_predictor, register, unregister
from gainmap.predict import evaluate as ev
from gainmap.predict.gmnet import GMNetPredictor, default_model_path
from gainmap.predict.heuristic import HeuristicPredictor, heuristic_gain

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A photo-like image: smooth gradients plus a bright blob."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 60 + 80 * (x / max(w - 1, 1)) + 30 * np.sin(y / max(h, 1) * 3)
    blob = 180 * np.exp(-(((x - 0.7 * w) / (0.1 * w + 1)) ** 2 + ((y - 0.3 * h) / (0.1 * h + 1)) ** 2))
    img = np.stack([base + blob, base * 0.9 + blob, base * 0.8 + blob], -1) + rng.normal(0, 2, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


class ConstantPredictor:
    name = "constant"

    def predict(self, sdr, colour_space="srgb", *, max_headroom=None, gainmap_scale=4):
        sdr = base.check_input(sdr, colour_space, max_headroom, gainmap_scale)
        h, w = base.map_shape(sdr.shape[0], sdr.shape[1], gainmap_scale)
        return base.make_prediction(np.ones((h, w), np.float32), 1.0, max_headroom, source="test")


# ------------------------------------------------------------------------------------------------ registry
def test_builtins_available_and_default_is_gmnet():
    names = available()
    assert {"gmnet", "heuristic"} <= set(names)
    assert base.DEFAULT_PREDICTOR == "gmnet"
    assert get_predictor().name == "gmnet"
    assert isinstance(get_predictor("heuristic"), Predictor)


def test_unknown_name_lists_what_exists():
    with pytest.raises(GainMapError) as info:
        get_predictor("no-such-predictor")
    msg = str(info.value)
    assert "no-such-predictor" in msg and "gmnet" in msg and "heuristic" in msg


def test_register_class_at_test_time():
    register("constant", ConstantPredictor)
    try:
        assert "constant" in available()
        pred = get_predictor("constant").predict(np.zeros((9, 9, 3), np.uint8))
        assert pred.gainmap.shape == (3, 3) and int(pred.gainmap.max()) == 255
    finally:
        unregister("constant")
    assert "constant" not in available()


def test_register_rejects_empty_name():
    with pytest.raises(GainMapError):
        register("", ConstantPredictor)


def test_broken_factory_is_reported_by_name():
    def broken():
        raise RuntimeError("boom")

    register("broken", broken)
    try:
        with pytest.raises(GainMapError, match="broken.*boom"):
            get_predictor("broken")
    finally:
        unregister("broken")


def test_entry_point_predictors_are_found(monkeypatch):
    ep = EntryPoint(name="from-plugin", value="gainmap.predict.heuristic:HeuristicPredictor",
                    group=base.ENTRY_POINT_GROUP)
    seen = {}

    def fake_entry_points(*, group):
        seen["group"] = group
        return [ep] if group == base.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(base, "entry_points", fake_entry_points)
    assert "from-plugin" in available()
    assert seen["group"] == "gainmap.predictors"
    assert isinstance(get_predictor("from-plugin"), HeuristicPredictor)


# ------------------------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("name", ["heuristic", "gmnet"])
@pytest.mark.parametrize(("h", "w", "scale"), [(1, 1, 4), (3, 5, 4), (37, 53, 4), (101, 7, 3), (16, 24, 1),
                                               (33, 17, 2)])
def test_output_shape_and_dtype(name, h, w, scale):
    pred = get_predictor(name).predict(smooth_image(h, w), gainmap_scale=scale)
    assert isinstance(pred, Prediction)
    assert pred.gainmap.dtype == np.uint8
    assert pred.gainmap.shape == (math.ceil(h / scale), math.ceil(w / scale))
    assert isinstance(pred.metadata, GainMapMetadata)


@pytest.mark.parametrize("name", ["heuristic", "gmnet"])
def test_metadata_is_sdr_base_single_channel(name):
    md = get_predictor(name).predict(smooth_image(48, 64)).metadata
    assert md.is_finite() and md.channel_count == 1
    assert md.base_hdr_headroom == 0.0
    assert md.gain_map_min == (0.0,) and md.gamma == (1.0,)
    assert md.base_offset == (1 / 64,) and md.alternate_offset == (1 / 64,)
    assert md.alternate_hdr_headroom == md.gain_map_max[0] > 0
    assert not md.base_is_hdr


@pytest.mark.parametrize("space", ["srgb", "Display P3", "display-p3", "p3", "bt2020", "rec.709"])
def test_colour_space_spellings(space):
    pred = get_predictor("heuristic").predict(smooth_image(16, 16), space)
    assert pred.gainmap.shape == (4, 4)


def test_colour_space_changes_heuristic_luminance():
    red = np.zeros((32, 32, 3), np.uint8) + np.array([255, 150, 150], np.uint8)
    assert heuristic_gain(red, "bt2020")[16, 16] > heuristic_gain(red, "srgb")[16, 16]


def test_accepts_grey_and_rgba_input():
    pred = get_predictor("heuristic")
    grey = pred.predict(np.full((10, 12), 200, np.uint8))
    rgba = pred.predict(np.full((10, 12, 4), 200, np.uint8))
    assert grey.gainmap.shape == rgba.gainmap.shape == (3, 3)
    np.testing.assert_array_equal(grey.gainmap, rgba.gainmap)


@pytest.mark.parametrize("kwargs", [{"max_headroom": 0.0}, {"max_headroom": -1.0}, {"max_headroom": math.nan},
                                    {"gainmap_scale": 0}, {"colour_space": "cmyk"}])
def test_bad_arguments_raise_gainmap_error(kwargs):
    with pytest.raises(GainMapError):
        get_predictor("heuristic").predict(smooth_image(8, 8), **kwargs)


@pytest.mark.parametrize("bad", [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 2), np.uint8),
                                 np.zeros((0, 8, 3), np.uint8)])
def test_bad_pixels_raise_gainmap_error(bad):
    with pytest.raises(GainMapError):
        get_predictor("heuristic").predict(bad)


# ------------------------------------------------------------------------------------------------ heuristic
@pytest.mark.parametrize("level", [0, 20, 64, 128])
def test_heuristic_leaves_dark_and_mid_grey_at_zero(level):
    pred = HeuristicPredictor().predict(np.full((64, 80, 3), level, np.uint8))
    assert int(pred.gainmap.max()) == 0


def test_heuristic_boosts_a_bright_highlight_only():
    img = np.full((120, 160, 3), 90, np.uint8)
    yy, xx = np.mgrid[0:120, 0:160]
    img[(yy - 60) ** 2 + (xx - 80) ** 2 < 15 ** 2] = 255
    pred = HeuristicPredictor().predict(img, gainmap_scale=4)
    gm = pred.gainmap
    assert gm[15, 20] > 200  # centre of the highlight (map coordinates)
    assert gm[2, 2] == 0 and gm[-3, -3] == 0  # the grey surround
    assert 1.0 < pred.metadata.gain_map_max[0] <= 2.5 + 1e-6


def test_heuristic_reduces_skin():
    skin = np.zeros((40, 40, 3), np.uint8) + np.array([240, 200, 170], np.uint8)
    lin = ((skin[0, 0] / 255 + 0.055) / 1.055) ** 2.4
    y_skin = float(np.array([0.2126, 0.7152, 0.0722]) @ lin)
    grey = np.full((40, 40, 3), round(255 * (1.055 * y_skin ** (1 / 2.4) - 0.055)), np.uint8)
    g_skin = heuristic_gain(skin)[20, 20]
    g_grey = heuristic_gain(grey)[20, 20]
    assert g_grey > 0
    assert g_skin < 0.6 * g_grey


def test_heuristic_cuts_large_flat_bright_areas():
    flat = np.full((100, 100, 3), 235, np.uint8)
    small = np.full((100, 100, 3), 60, np.uint8)
    small[40:60, 40:60] = 235
    assert heuristic_gain(flat)[50, 50] < 0.8 * heuristic_gain(small)[50, 50]


# ------------------------------------------------------------------------------------------------ gmnet
def test_bundled_model_exists_and_is_small():
    path = default_model_path()
    assert path.is_file()
    assert path.stat().st_size <= 8 * 1024 * 1024


def test_gmnet_runs_and_is_deterministic():
    p = GMNetPredictor()
    img = smooth_image(45, 67)
    a, b = p.predict(img), p.predict(img)
    np.testing.assert_array_equal(a.gainmap, b.gainmap)
    assert a.metadata == b.metadata
    log2_p = float(p.info.get("log2_p", 4.0))
    assert 0 < a.metadata.gain_map_max[0] <= log2_p + 1e-6
    assert a.metadata.source == "predicted:gmnet"


def test_gmnet_model_metadata_records_provenance():
    info = GMNetPredictor().info
    for key in ("config", "log2_p", "seed", "steps"):
        assert key in info


def test_gmnet_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(GainMapError, match="not found"):
        GMNetPredictor(tmp_path / "nope.onnx").predict(smooth_image(8, 8))


@pytest.mark.parametrize("name", ["heuristic", "gmnet", "constant"])
def test_max_headroom_clamps_by_scaling(name):
    register("constant", ConstantPredictor)
    try:
        pred = get_predictor(name)
        img = smooth_image(64, 96, seed=3)
        free = pred.predict(img)
        capped = pred.predict(img, max_headroom=0.03)
        assert capped.metadata.gain_map_max[0] <= 0.03 + 1e-9
        assert capped.metadata.alternate_hdr_headroom <= 0.03 + 1e-9
        np.testing.assert_array_equal(free.gainmap, capped.gainmap)  # compression: same bytes, lower max
        roomy = pred.predict(img, max_headroom=100.0)
        assert roomy.metadata == free.metadata
    finally:
        unregister("constant")


# ------------------------------------------------------------------------------------------------ helpers
def test_make_prediction_round_trips_within_quantisation():
    rng = np.random.default_rng(1)
    gain = rng.uniform(0, 2.7, (13, 17)).astype(np.float32)
    pred = base.make_prediction(gain, float(gain.max()), None, source="t")
    back = base.decode_gain(pred)
    assert np.abs(back - gain).max() <= gain.max() / 255 / 2 + 1e-6


def test_make_prediction_zero_gain():
    pred = base.make_prediction(np.zeros((4, 4), np.float32), 0.0, None, source="t")
    assert int(pred.gainmap.max()) == 0
    assert pred.metadata.gain_map_max[0] == pred.metadata.alternate_hdr_headroom == base.MIN_HEADROOM


@pytest.mark.parametrize(("h", "w", "s", "expected"), [(1, 1, 4, (1, 1)), (4, 4, 4, (1, 1)), (5, 9, 4, (2, 3)),
                                                      (3000, 4000, 4, (750, 1000)), (7, 7, 8, (1, 1))])
def test_map_shape(h, w, s, expected):
    assert base.map_shape(h, w, s) == expected


def test_oracle_recovers_an_exact_global_curve():
    rng = np.random.default_rng(2)
    sdr = rng.integers(0, 256, (40, 50, 3), np.uint8)
    luma = ev.D.linear_to_srgb(ev.D.luminance(ev.D.u8_to_linear(sdr)))
    true = (2.0 * luma ** 2).astype(np.float32)
    fit = ev.oracle_gain(sdr, true)
    assert np.abs(fit - true).mean() < 0.02


def test_scores_rank_a_perfect_prediction_first():
    rng = np.random.default_rng(3)
    sdr = rng.integers(0, 256, (30, 40, 3), np.uint8)
    sdr_lin = ev.D.u8_to_linear(sdr)
    true_gain = rng.uniform(0, 2, (30, 40)).astype(np.float32)
    hdr = ev.apply_gain(sdr_lin, true_gain)
    perfect = ev.score(true_gain, sdr_lin, hdr, ev.D.corpus_gain(sdr, hdr))
    zero = ev.score(np.zeros_like(true_gain), sdr_lin, hdr, ev.D.corpus_gain(sdr, hdr))
    assert perfect["log2_psnr"] > zero["log2_psnr"] + 10
    assert perfect["gain_mae"] < 0.05 < zero["gain_mae"]


@pytest.mark.corpus
def test_evaluate_on_one_validation_file():
    name = "hurd-gainmap__uhdr_200.jpg"
    if not (CORPUS / name).exists():
        pytest.skip("../shared/corpus not available")
    res = ev.evaluate(CORPUS, ("heuristic", "zero", "oracle"), files=(name,), score_long_side=256,
                      log=lambda s: None)
    assert set(res["means"]) == {"heuristic", "zero", "oracle"}
    assert res["means"]["oracle"]["gain_mae"] < res["means"]["zero"]["gain_mae"]
    assert "log2-PSNR" in ev.format_table(res)


def test_evaluate_main_without_corpus_exits_2(tmp_path, capsys):
    assert main(["eval", "--corpus", str(tmp_path / "absent")]) == 2
    assert "not found" in capsys.readouterr().err
