"""Gain-map application (gainmap.hdr.apply) against a straightforward float64 reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.hdr import apply as ap
from gainmap.hdr import color
from gainmap.metadata import GainMapMetadata


# ------------------------------------------------------------------------------- the reference
def ref_upsample(codes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear, pixel-centre aligned, edge-clamped resampling of (h, w, C) codes, float64, loops per axis."""
    h, w, c = codes.shape
    out = np.zeros((height, width, c))
    for yy in range(height):
        sy = min(max((yy + 0.5) * h / height - 0.5, 0.0), h - 1)
        y0 = int(math.floor(sy))
        y1 = min(y0 + 1, h - 1)
        fy = sy - y0
        for xx in range(width):
            sx = min(max((xx + 0.5) * w / width - 0.5, 0.0), w - 1)
            x0 = int(math.floor(sx))
            x1 = min(x0 + 1, w - 1)
            fx = sx - x0
            out[yy, xx] = ((1 - fy) * ((1 - fx) * codes[y0, x0] + fx * codes[y0, x1])
                           + fy * ((1 - fx) * codes[y1, x0] + fx * codes[y1, x1]))
    return out


def ref_apply(base: np.ndarray, gmap: np.ndarray, md: GainMapMetadata, weight: float) -> np.ndarray:
    """ISO 21496-1 apply in float64, written out per channel as formats.md section 5 states it."""
    g = gmap[:, :, None] if gmap.ndim == 2 else gmap
    codes = ref_upsample(g.astype(np.float64), base.shape[0], base.shape[1])
    out = np.zeros(base.shape)
    for c, (lo, hi, gamma, bo, ao) in enumerate(md.channels(3)):
        r = codes[:, :, c if codes.shape[2] == 3 else 0] / 255.0
        log_gain = lo + (hi - lo) * r ** (1.0 / gamma)
        out[:, :, c] = (base[:, :, c].astype(np.float64) + bo) * 2.0 ** (log_gain * weight) - ao
    return out


def make_md(lo=(-0.5,), hi=(2.5,), gamma=(1.0,), bo=(1 / 64,), ao=(1 / 64,), base_h=0.0, alt_h=2.5):
    return GainMapMetadata(gain_map_min=lo, gain_map_max=hi, gamma=gamma, base_offset=bo, alternate_offset=ao,
                           base_hdr_headroom=base_h, alternate_hdr_headroom=alt_h)


def images(seed: int, shape=(9, 11), map_shape=(3, 4), map_channels=1):
    rng = np.random.default_rng(seed)
    base = rng.random((*shape, 3), dtype=np.float32)
    ms = map_shape if map_channels == 1 else (*map_shape, map_channels)
    return base, rng.integers(0, 256, ms, dtype=np.uint8)


def log_error(a: np.ndarray, b: np.ndarray, offset: float) -> float:
    return float(np.max(np.abs(np.log2((a + offset) / (b + offset)))))


# ------------------------------------------------------------------------------------ the LUT
@settings(max_examples=60, deadline=None)
@given(st.floats(-4, 2), st.floats(0, 6), st.floats(0.2, 5), st.floats(-1, 1))
def test_gain_lut_matches_formula(lo, span, gamma, weight):
    md = make_md(lo=(lo,), hi=(lo + span,), gamma=(gamma,))
    lut = ap.gain_lut(md, weight)
    assert lut.shape == (256, 1) and lut.dtype == np.float32
    v = np.arange(256) / 255.0
    expected = 2.0 ** ((lo + span * v ** (1.0 / gamma)) * weight)
    np.testing.assert_allclose(lut[:, 0], expected, rtol=2e-7 * 8)


def test_gain_lut_per_channel():
    md = make_md(lo=(0.0, -1.0, 0.5), hi=(1.0, 2.0, 3.0), gamma=(1.0, 2.0, 0.5), bo=(0.0,) * 3, ao=(0.0,) * 3)
    lut = ap.gain_lut(md, 1.0)
    assert lut.shape == (256, 3)
    assert lut[0] == pytest.approx([1.0, 0.5, 2 ** 0.5])
    assert lut[255] == pytest.approx([2.0, 4.0, 8.0])
    assert lut[51, 1] == pytest.approx(2 ** (-1 + 3 * 0.2 ** 0.5), rel=1e-6)


# ---------------------------------------------------------------------------------- the weight
def test_weight_sdr_base():
    md = make_md(base_h=0.5, alt_h=2.5)
    assert ap.weight_for(md, None) == 1.0
    assert ap.weight_for(md, 0.0) == 0.0
    assert ap.weight_for(md, 0.5) == 0.0
    assert ap.weight_for(md, 1.5) == pytest.approx(0.5)
    assert ap.weight_for(md, 2.5) == 1.0
    assert ap.weight_for(md, 10.0) == 1.0


def test_weight_hdr_base_is_negative():
    md = make_md(base_h=3.0, alt_h=0.0)
    assert md.base_is_hdr
    assert ap.weight_for(md, None) == -1.0
    assert ap.weight_for(md, 3.0) == 0.0          # a display as capable as the base shows the base
    assert ap.weight_for(md, 5.0) == 0.0
    assert ap.weight_for(md, 1.5) == pytest.approx(-0.5)
    assert ap.weight_for(md, 0.0) == -1.0         # an SDR display gets the full SDR alternate


def test_weight_equal_headrooms_and_nan():
    assert ap.weight_for(make_md(base_h=1.0, alt_h=1.0), 3.0) == 0.0
    with pytest.raises(ValueError):
        ap.weight_for(make_md(), float("nan"))


# ------------------------------------------------------------------------------- apply vs ref
@pytest.mark.parametrize("gamma", [1.0, 0.4, 2.2])
@pytest.mark.parametrize("map_channels", [1, 3])
def test_same_size_map_equals_reference_exactly(gamma, map_channels):
    base, gmap = images(1, shape=(6, 7), map_shape=(6, 7), map_channels=map_channels)
    md = make_md(gamma=(gamma,))
    for headroom in (None, 1.0, 2.0):
        w = ap.weight_for(md, headroom)
        got = ap.apply_gainmap(base, gmap, md, headroom)
        np.testing.assert_allclose(got, ref_apply(base, gmap, md, w), rtol=3e-6, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 13), st.integers(1, 13), st.sampled_from([1, 3]),
       st.floats(0.5, 1.0), st.floats(-2, 0), st.floats(0.5, 5), st.booleans(), st.integers(0, 2 ** 16))
def test_upsampled_map_equals_reference(mh, mw, h, w, map_channels, gamma, lo, span, per_channel, seed):
    """Any size ratio.  The fine table is at most 1/32 code from the exact code; with gamma <= 1 the log gain
    is Lipschitz in the code (constant span / (255 gamma)), which bounds the difference."""
    base, gmap = images(seed, shape=(h, w), map_shape=(mh, mw), map_channels=map_channels)
    if per_channel:
        md = make_md(lo=(lo, lo + 0.3, lo - 0.2), hi=(lo + span,) * 3, gamma=(gamma, 1.0, gamma),
                     bo=(0.01, 0.02, 0.0), ao=(0.0, 0.01, 0.03))
    else:
        md = make_md(lo=(lo,), hi=(lo + span,), gamma=(gamma,))
    got = ap.apply_gainmap(base, gmap, md, None, chunk_rows=4)
    expected = ref_apply(base, gmap, md, 1.0)
    bound = (span + 0.3) / (255.0 * gamma) / (2 * ap.FINE_STEPS) + 1e-5
    offsets = np.array([c[4] for c in md.channels(3)]) + 1e-3
    err = np.abs(np.log2((got + offsets) / (expected + offsets)))
    assert err.max() <= bound


def test_gamma_above_one_within_one_fine_step():
    base, gmap = images(7, shape=(20, 24), map_shape=(5, 6))
    md = make_md(gamma=(2.5,))
    got = ap.apply_gainmap(base, gmap, md)
    exp = ref_apply(base, gmap, md, 1.0)
    # Bound: the largest change of the log gain over 1/32 of a code, anywhere on [0, 255].
    r = np.arange(255 * 32 + 1) / (255 * 32)
    log_gain = -0.5 + 3.0 * r ** (1 / 2.5)
    bound = np.max(np.diff(log_gain)) + 1e-5
    assert log_error(got, exp, 1 / 64) <= bound


def test_weight_zero_gives_back_the_base():
    base, gmap = images(3)
    md = make_md(base_h=0.0, alt_h=2.5)
    np.testing.assert_array_equal(ap.apply_gainmap(base, gmap, md, display_headroom=0.0), base)
    np.testing.assert_array_equal(ap.apply_gainmap(base, gmap, md, display_headroom=-1.0), base)


def test_partial_weight_interpolates_in_log_space():
    base = np.full((4, 4, 3), 0.5, np.float32)
    gmap = np.full((2, 2), 255, np.uint8)
    md = make_md(lo=(0.0,), hi=(2.0,), bo=(0.0,), ao=(0.0,), base_h=0.0, alt_h=2.0)
    np.testing.assert_allclose(ap.apply_gainmap(base, gmap, md, 1.0), 0.5 * 2.0, rtol=1e-6)
    np.testing.assert_allclose(ap.apply_gainmap(base, gmap, md, None), 0.5 * 4.0, rtol=1e-6)


def test_hdr_base_goes_down_to_sdr():
    base = np.full((3, 3, 3), 2.0, np.float32)
    gmap = np.full((3, 3), 255, np.uint8)
    md = make_md(lo=(0.0,), hi=(2.0,), bo=(1 / 64,), ao=(1 / 64,), base_h=2.0, alt_h=0.0)
    sdr = ap.apply_gainmap(base, gmap, md, None)
    np.testing.assert_allclose(sdr, (2.0 + 1 / 64) / 4.0 - 1 / 64, rtol=1e-6)
    np.testing.assert_array_equal(ap.apply_gainmap(base, gmap, md, 2.0), base)


def test_chunking_and_in_place_do_not_change_the_result():
    base, gmap = images(5, shape=(37, 23), map_shape=(10, 6), map_channels=3)
    md = make_md(lo=(0.0, -1.0, 0.5), hi=(1.0, 2.0, 3.0), gamma=(1.0, 0.7, 1.3))
    ref = ap.apply_gainmap(base, gmap, md, chunk_rows=1000)
    for rows in (1, 3, 16):
        np.testing.assert_array_equal(ap.apply_gainmap(base, gmap, md, chunk_rows=rows), ref)
    work = base.copy()
    assert ap.apply_gainmap(work, gmap, md, out=work, chunk_rows=5) is work
    np.testing.assert_array_equal(work, ref)


def test_constant_map_is_constant_after_upsampling():
    base = np.ones((13, 17, 3), np.float32)
    md = make_md(bo=(0.0,), ao=(0.0,))
    out = ap.apply_gainmap(base, np.full((4, 5), 77, np.uint8), md)
    np.testing.assert_allclose(out, ap.gain_lut(md, 1.0)[77, 0], rtol=1e-6)


def test_bad_inputs():
    base, gmap = images(0)
    md = make_md()
    with pytest.raises(TypeError):
        ap.apply_gainmap(base, gmap.astype(np.float32), md)
    with pytest.raises(ValueError):
        ap.apply_gainmap(base, np.zeros((3, 4, 2), np.uint8), md)
    with pytest.raises(ValueError):
        ap.apply_gainmap(base[:, :, :2], gmap, md)
    with pytest.raises(ValueError):
        ap.apply_gainmap(base, gmap, md, out=np.empty((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        ap.gain_lut(make_md(gamma=(0.0,)), 1.0)


# -------------------------------------------------------------------------------------- Apple
@pytest.mark.parametrize("linearize", ap.APPLE_LINEARIZE)
def test_apple_matches_formula(linearize):
    base, gmap = images(11, shape=(5, 6), map_shape=(5, 6))
    h = 4.53
    got = ap.apply_apple(base, gmap, h, linearize)
    v = gmap.astype(np.float64) / 255.0
    lin = {"rec709": color.bt709_to_linear, "srgb": color.srgb_to_linear,
           "gamma2.2": lambda x: x ** 2.2}[linearize](v)
    expected = base * (1.0 + (h - 1.0) * np.asarray(lin, np.float64))[:, :, None]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_apple_end_points_and_upsampling():
    base = np.full((8, 8, 3), 0.25, np.float32)
    np.testing.assert_allclose(ap.apply_apple(base, np.zeros((2, 2), np.uint8), 8.0), base)
    np.testing.assert_allclose(ap.apply_apple(base, np.full((2, 2), 255, np.uint8), 8.0), base * 8.0, rtol=1e-6)
    with pytest.raises(ValueError):
        ap.apply_apple(base, np.zeros((2, 2), np.uint8), 0.5)
    with pytest.raises(ValueError):
        ap.apply_apple(base, np.zeros((2, 2), np.uint8), 2.0, linearize="pq")


def test_decode_sdr_uses_the_srgb_curve():
    rgb = np.arange(256, dtype=np.uint8).reshape(16, 16)[:, :, None].repeat(3, axis=2)
    lin = ap.decode_sdr(rgb, "display-p3")
    assert lin.dtype == np.float32 and lin.shape == (16, 16, 3)
    np.testing.assert_allclose(lin[..., 0].ravel(), color.srgb_to_linear(np.arange(256) / 255.0), rtol=1e-6)
    with pytest.raises(ValueError):
        ap.decode_sdr(rgb, "adobe")
    with pytest.raises(TypeError):
        ap.decode_sdr(rgb.astype(np.float32), "srgb")
