"""Gain-map computation (gainmap.hdr.compute) round-tripped through apply, and the tone mapper."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.hdr import color
from gainmap.hdr.apply import apply_gainmap, decode_sdr
from gainmap.hdr.compute import DARK_GAIN_CAP_LOG2, MIN_RANGE_LOG2, compute_gainmap
from gainmap.hdr.tonemap import encode_srgb_u8, reinhard_curve, tonemap

OFF = 1.0 / 64.0


def code_step_bound(md) -> float:
    """The largest change in log2 gain between two adjacent 8-bit codes, over every channel.

    Rounding puts a code within half a code of the exact (fractional) one, so the decoded log gain is
    within one full step of the true one, whatever the gamma.
    """
    v = np.arange(256) / 255.0
    steps = []
    for lo, hi, gamma, _bo, _ao in md.channels(md.channel_count):
        steps.append(np.max(np.diff(lo + (hi - lo) * v ** (1.0 / gamma))))
    return float(max(steps)) + 2e-5


def synthetic(seed: int, shape=(24, 32), per_channel=False, lo=-1.0, hi=3.0):
    """SDR in [0, 1] and an HDR whose (x + 1/64) ratios to the SDR are a known gain field."""
    rng = np.random.default_rng(seed)
    sdr = rng.random((*shape, 3), dtype=np.float32)
    gshape = (*shape, 3) if per_channel else (*shape, 1)
    gain = np.exp2(rng.uniform(lo, hi, gshape)).astype(np.float32)
    hdr = ((sdr + OFF) * gain - OFF).astype(np.float32)
    return sdr, hdr


@pytest.mark.parametrize("gamma", [1.0, 0.6, 1.7])
@pytest.mark.parametrize("multichannel", [False, True])
@pytest.mark.parametrize("base_is_hdr", [False, True])
def test_round_trip_reproduces_the_other_rendition(gamma, multichannel, base_is_hdr):
    sdr, hdr = synthetic(int(gamma * 10) + multichannel, per_channel=multichannel)
    gmap, md = compute_gainmap(sdr, hdr, multichannel=multichannel, gamma=gamma, base_is_hdr=base_is_hdr)
    assert gmap.dtype == np.uint8
    assert gmap.shape == ((24, 32, 3) if multichannel else (24, 32))
    assert md.base_is_hdr == base_is_hdr
    base, target = (hdr, sdr) if base_is_hdr else (sdr, hdr)
    out = apply_gainmap(base, gmap, md)  # the full alternate
    err = np.abs(np.log2((out + OFF) / (target + OFF)))
    assert err.max() <= code_step_bound(md)
    # Weight 0 (a display exactly at the base headroom) gives back the base.
    np.testing.assert_array_equal(apply_gainmap(base, gmap, md, md.base_hdr_headroom), base)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.3, 3.0), st.floats(-3.0, 1.0), st.floats(0.1, 6.0), st.integers(0, 2 ** 16))
def test_round_trip_property(gamma, lo, span, seed):
    sdr, hdr = synthetic(seed, shape=(8, 9), lo=lo, hi=lo + span)
    gmap, md = compute_gainmap(sdr, hdr, gamma=gamma)
    out = apply_gainmap(sdr, gmap, md)
    assert np.max(np.abs(np.log2((out + OFF) / (hdr + OFF)))) <= code_step_bound(md)


def test_defaults_follow_ultra_hdr_v1():
    sdr, hdr = synthetic(1, lo=-0.5, hi=2.0)
    _gmap, md = compute_gainmap(sdr, hdr)
    assert md.gamma == (1.0,) and md.base_offset == (OFF,) and md.alternate_offset == (OFF,)
    assert md.gain_map_min[0] == pytest.approx(-0.5, abs=0.01)
    assert md.gain_map_max[0] == pytest.approx(2.0, abs=0.01)
    assert md.base_hdr_headroom == 0.0                                  # max(GainMapMin, 0)
    assert md.alternate_hdr_headroom == pytest.approx(md.gain_map_max[0])  # GainMapMax
    assert md.use_base_colour_space and md.channel_count == 1 and md.source == "computed"
    # A positive minimum becomes the base headroom.
    sdr, hdr = synthetic(2, lo=0.5, hi=2.0)
    _gmap, md = compute_gainmap(sdr, hdr)
    assert md.base_hdr_headroom == pytest.approx(md.gain_map_min[0])


def test_hdr_base_swaps_headrooms_and_offsets():
    sdr, hdr = synthetic(3)
    _g, fwd = compute_gainmap(sdr, hdr, offset_sdr=0.01, offset_hdr=0.02)
    _g, bwd = compute_gainmap(sdr, hdr, offset_sdr=0.01, offset_hdr=0.02, base_is_hdr=True)
    assert (bwd.base_hdr_headroom, bwd.alternate_hdr_headroom) == (fwd.alternate_hdr_headroom,
                                                                  fwd.base_hdr_headroom)
    assert fwd.base_offset == (0.01,) and fwd.alternate_offset == (0.02,)
    assert bwd.base_offset == (0.02,) and bwd.alternate_offset == (0.01,)
    assert bwd.gain_map_min == fwd.gain_map_min and bwd.gain_map_max == fwd.gain_map_max


def test_luminance_map_uses_the_colour_space_coefficients():
    rng = np.random.default_rng(4)
    sdr = rng.random((6, 6, 3), dtype=np.float32)
    hdr = sdr * np.array([4.0, 1.0, 1.0], np.float32)         # only red brightens
    _g709, md709 = compute_gainmap(sdr, hdr, offset_sdr=0, offset_hdr=0, colour_space="srgb")
    _g2020, md2020 = compute_gainmap(sdr, hdr, offset_sdr=0, offset_hdr=0, colour_space="bt2020")
    k709, k2020 = color.luminance_coefficients("srgb"), color.luminance_coefficients("bt2020")
    y = lambda img, k: img.astype(np.float64) @ k  # noqa: E731
    assert md709.gain_map_max[0] == pytest.approx(np.log2(y(hdr, k709) / y(sdr, k709)).max(), abs=1e-5)
    assert md2020.gain_map_max[0] == pytest.approx(np.log2(y(hdr, k2020) / y(sdr, k2020)).max(), abs=1e-5)
    assert md2020.gain_map_max[0] > md709.gain_map_max[0]


def test_given_range_clips_and_per_channel_ranges():
    sdr, hdr = synthetic(5, per_channel=True, lo=-1.0, hi=3.0)
    gmap, md = compute_gainmap(sdr, hdr, multichannel=True, min_log2=(0.0, -0.5, -1.0), max_log2=2.0)
    assert md.gain_map_min == (0.0, -0.5, -1.0) and md.gain_map_max == (2.0, 2.0, 2.0)
    ratio = np.log2((hdr + OFF) / (sdr + OFF))
    assert np.all(gmap[..., 0][ratio[..., 0] <= 0.0] == 0)
    assert np.all(gmap[..., 2][ratio[..., 2] >= 2.0] == 255)
    with pytest.raises(ValueError):
        compute_gainmap(sdr, hdr, min_log2=2.0, max_log2=1.0)


def test_clip_percentile_ignores_outliers():
    sdr, hdr = synthetic(6, shape=(40, 50), lo=0.0, hi=1.0)
    hdr[0, 0] = (sdr[0, 0] + OFF) * 2.0 ** 8 - OFF            # one specular outlier
    _g, plain = compute_gainmap(sdr, hdr)
    _g, robust = compute_gainmap(sdr, hdr, clip_percentile=0.1)
    assert plain.gain_map_max[0] == pytest.approx(8.0, abs=1e-4)
    assert robust.gain_map_max[0] < 1.01


def test_dark_clamp_follows_libultrahdr():
    sdr = np.full((4, 4, 3), 0.001, np.float32)
    sdr[0] = 0.5
    hdr = np.full((4, 4, 3), 0.5, np.float32)
    hdr[0] = 0.5 * 2 ** 3
    _g, free = compute_gainmap(sdr, hdr, offset_sdr=1e-7, offset_hdr=1e-7)
    _g, clamped = compute_gainmap(sdr, hdr, offset_sdr=1e-7, offset_hdr=1e-7, dark_clamp=True)
    assert free.gain_map_max[0] == pytest.approx(np.log2(0.5 / 0.001), abs=1e-3)
    assert clamped.gain_map_max[0] == pytest.approx(max(DARK_GAIN_CAP_LOG2, 3.0), abs=1e-4)


def test_degenerate_range_stays_valid():
    sdr, _ = synthetic(7)
    gmap, md = compute_gainmap(sdr, sdr.copy())
    assert md.gain_map_max[0] - md.gain_map_min[0] == pytest.approx(MIN_RANGE_LOG2)
    assert md.alternate_hdr_headroom > md.base_hdr_headroom and not md.base_is_hdr
    np.testing.assert_allclose(apply_gainmap(sdr, gmap, md), sdr, rtol=1e-3, atol=1e-5)
    # An HDR darker than the SDR everywhere still yields an SDR-base record (direction from headrooms).
    _g, dark = compute_gainmap(sdr, sdr * 0.5)
    assert dark.gain_map_max[0] < 0 and dark.alternate_hdr_headroom > dark.base_hdr_headroom


def test_scale_averages_log_gain_per_block():
    rng = np.random.default_rng(8)
    sdr = rng.random((10, 13, 3), dtype=np.float32) + 0.1
    gain = np.exp2(rng.uniform(0, 2, (10, 13, 1))).astype(np.float32)
    hdr = (sdr + OFF) * gain - OFF
    gmap, md = compute_gainmap(sdr, hdr, scale=4)
    assert gmap.shape == (3, 4)                                # ceil(10/4), ceil(13/4)
    logg = np.log2(gain[..., 0].astype(np.float64))
    block = logg[8:10, 12:13].mean()                           # the partial corner block
    lo, hi = md.gain_map_min[0], md.gain_map_max[0]
    assert gmap[2, 3] == round((block - lo) / (hi - lo) * 255)
    assert gmap[0, 0] == round((logg[0:4, 0:4].mean() - lo) / (hi - lo) * 255)


def test_constant_gain_survives_downscaling():
    rng = np.random.default_rng(9)
    sdr = rng.random((17, 21, 3), dtype=np.float32)
    hdr = (sdr + OFF) * np.float32(3.0) - OFF
    gmap, md = compute_gainmap(sdr, hdr, scale=4)
    out = apply_gainmap(sdr, gmap, md)
    assert np.max(np.abs(np.log2((out + OFF) / (hdr + OFF)))) <= code_step_bound(md)


def test_bad_arguments():
    sdr, hdr = synthetic(10)
    for kwargs in (dict(scale=0), dict(scale=1.5), dict(gamma=0.0), dict(offset_sdr=-1.0),
                   dict(clip_percentile=60.0), dict(hdr_capacity_min=2.0, hdr_capacity_max=1.0)):
        with pytest.raises(ValueError):
            compute_gainmap(sdr, hdr, **kwargs)
    with pytest.raises(ValueError):
        compute_gainmap(sdr, hdr[:-1])


# ------------------------------------------------------------------------------------ tonemap
def test_reinhard_white_point_and_monotonicity():
    y = np.linspace(0, 8, 1001, dtype=np.float32)
    out = reinhard_curve(y, 4.0)
    assert np.all(np.diff(out) > 0)
    assert float(reinhard_curve(np.float32(4.0), 4.0)) == pytest.approx(1.0)
    assert float(reinhard_curve(np.float32(0.18), 4.0)) == pytest.approx(0.18 * (1 + 0.18 / 16) / 1.18)


def test_tonemap_range_hue_and_luminance():
    rng = np.random.default_rng(11)
    hdr = (rng.random((20, 20, 3), dtype=np.float32) * 6.0).astype(np.float32)
    hdr[0, 0] = (0.3, 0.2, 0.1)                                # a dim colour keeps its chromaticity
    sdr = tonemap(hdr, peak=8.0)
    assert sdr.dtype == np.float32 and sdr.min() >= 0.0 and sdr.max() <= 1.0
    assert sdr[0, 0] / sdr[0, 0].sum() == pytest.approx(hdr[0, 0] / hdr[0, 0].sum(), rel=1e-5)
    y_in = color.luminance(hdr)
    y_out = color.luminance(sdr)
    expected = np.minimum(reinhard_curve(y_in, 8.0), 1.0)
    np.testing.assert_allclose(y_out, expected, rtol=1e-4, atol=1e-6)   # luminance kept by desaturation
    order = np.argsort(y_in.ravel())
    assert np.all(np.diff(y_out.ravel()[order]) >= -1e-6)


def test_tonemap_default_peak_and_bad_values():
    hdr = np.full((10, 10, 3), 0.5, np.float32)
    hdr[0, 0] = (np.nan, np.inf, -1.0)
    sdr = tonemap(hdr)
    assert np.all(np.isfinite(sdr)) and sdr.max() <= 1.0
    with pytest.raises(ValueError):
        tonemap(hdr, peak=0.0)


def test_encode_srgb_u8_round_trips_with_decode():
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)[:, :, None].repeat(3, axis=2)
    np.testing.assert_array_equal(encode_srgb_u8(decode_sdr(codes, "srgb")), codes)
    assert encode_srgb_u8(np.array([0.0, 0.5, 1.0, 2.0, -1.0])).tolist() == [0, 188, 255, 255, 0]
