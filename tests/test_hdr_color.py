"""Colour spaces, transfer functions, ICC-based detection and region statistics (gainmap.hdr.color/measure)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gainmap.formats.icc import IccColorants, IccProfile, build_matrix_profile, parse_icc_profile
from gainmap.hdr import color, profiles
from gainmap.hdr.measure import region_stats, validate_rect

SPACES = list(color.COLOUR_SPACES)
floats32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


def arrays(lo: float, hi: float, max_side: int = 16):
    return hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=max_side),
                      elements=st.floats(lo, hi, width=32))


# ------------------------------------------------------------------------------------- matrices
@pytest.mark.parametrize(("name", "expected", "tol"), [
    ("srgb", (0.212639, 0.715169, 0.072192), 1e-6),          # formats.md section 5 table
    ("display-p3", (0.2289746, 0.6917385, 0.0792869), 1e-6),
    ("bt2020", (0.2627, 0.677998, 0.059302), 5e-5),
])
def test_luminance_row_matches_table(name, expected, tol):
    np.testing.assert_allclose(color.rgb_to_xyz(name)[1], expected, atol=tol)
    np.testing.assert_allclose(color.luminance_coefficients(name), expected, atol=tol)
    assert color.luminance_coefficients(name).sum() == pytest.approx(1.0, abs=1e-12)


def test_srgb_matrix_matches_iec_61966():
    # IEC 61966-2-1 prints the matrix to four decimals.
    published = [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    np.testing.assert_allclose(color.rgb_to_xyz("srgb"), published, atol=1.5e-4)


@pytest.mark.parametrize("name", SPACES)
def test_matrix_maps_primaries_and_white(name):
    m = color.rgb_to_xyz(name)
    for i, xy in enumerate(color.PRIMARIES[name]):
        unit = np.zeros(3)
        unit[i] = 1.0
        assert color.xyz_to_xy(m @ unit) == pytest.approx(xy, abs=1e-12)
    white = m @ np.ones(3)
    assert white[1] == pytest.approx(1.0)
    assert color.xyz_to_xy(white) == pytest.approx(color.WHITE_D65, abs=1e-12)


@pytest.mark.parametrize("src", SPACES)
@pytest.mark.parametrize("dst", SPACES)
def test_conversion_round_trip_is_identity(src, dst):
    there = color.conversion_matrix(src, dst)
    back = color.conversion_matrix(dst, src)
    np.testing.assert_allclose(back @ there, np.eye(3), atol=1e-12)
    # White stays white (shared D65).
    np.testing.assert_allclose(there @ np.ones(3), np.ones(3), atol=1e-12)


def test_conversion_matches_libultrahdr_table():
    # libultrahdr gainmapmath.cpp bt709ToBt2100, printed to 5 decimals.
    published = [[0.62740, 0.32930, 0.04332], [0.06904, 0.91958, 0.01138], [0.01636, 0.08799, 0.89555]]
    np.testing.assert_allclose(color.conversion_matrix("srgb", "bt2020"), published, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, (5, 7, 3), elements=st.floats(0, 50, width=32)),
       st.sampled_from(SPACES), st.sampled_from(SPACES))
def test_convert_preserves_luminance(rgb, src, dst):
    converted = color.convert(rgb, src, dst, chunk_rows=2)
    assert converted.dtype == np.float32
    np.testing.assert_allclose(color.luminance(converted, dst), color.luminance(rgb, src), rtol=1e-5, atol=1e-5)
    back = color.convert(converted, dst, src)
    np.testing.assert_allclose(back, rgb, rtol=1e-5, atol=1e-4)


def test_aliases_and_unknown_names():
    assert color.canonical_name("Rec709") == "srgb"
    assert color.canonical_name("Display P3") == "display-p3"
    assert color.canonical_name("BT.2100") == "bt2020"
    with pytest.raises(ValueError, match="unknown colour space"):
        color.canonical_name("adobe-rgb")


# ---------------------------------------------------------------------------- transfer functions
@settings(max_examples=60, deadline=None)
@given(arrays(-2.0, 4.0))
def test_srgb_round_trip(v):
    lin = color.srgb_to_linear(v)
    assert lin.dtype == np.float32
    np.testing.assert_allclose(color.linear_to_srgb(lin), v, rtol=2e-6, atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(arrays(0.0, 1.0))
def test_bt709_round_trip(v):
    np.testing.assert_allclose(color.linear_to_bt709(color.bt709_to_linear(v)), v, rtol=2e-6, atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(arrays(0.0, 10000.0))
def test_pq_round_trip_in_nits(nits):
    signal = color.nits_to_pq(nits)
    assert signal.dtype == np.float32 and signal.min() >= 0 and signal.max() <= 1
    np.testing.assert_allclose(color.pq_to_nits(signal), nits, rtol=2e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(arrays(0.0, 1.0))
def test_pq_round_trip_in_signal(signal):
    np.testing.assert_allclose(color.nits_to_pq(color.pq_to_nits(signal)), signal, atol=2e-6)


def test_pq_reference_points():
    # ST 2084: 10000 nits -> 1.0; BT.2408: 203 nits is 58 % PQ; 100 nits is about 0.508.
    assert float(color.nits_to_pq(10000.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(color.linear_to_pq(1.0)) == pytest.approx(0.58, abs=0.002)
    assert float(color.nits_to_pq(100.0)) == pytest.approx(0.5081, abs=0.0005)
    assert float(color.pq_to_linear(color.linear_to_pq(3.0))) == pytest.approx(3.0, rel=1e-5)


@settings(max_examples=60, deadline=None)
@given(arrays(0.0, 1.0))
def test_hlg_oetf_round_trip(e):
    np.testing.assert_allclose(color.hlg_inverse_oetf(color.hlg_oetf(e)), e, rtol=2e-6, atol=1e-7)


def test_hlg_reference_points():
    # BT.2100: E = 1 -> 1.0, E = 1/12 -> 0.5; BT.2408: 203 nits (linear 1.0) is 75 % HLG at 1000 nits.
    assert float(color.hlg_oetf(1.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(color.hlg_oetf(1.0 / 12.0)) == pytest.approx(0.5, abs=1e-7)
    assert color.linear_to_hlg(np.ones(3)) == pytest.approx([0.75] * 3, abs=0.002)
    assert color.hlg_system_gamma(1000.0) == pytest.approx(1.2)
    # Peak: scene white 1.0 displays at the nominal peak.
    assert color.hlg_ootf(np.ones(3)) == pytest.approx([1000.0] * 3, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, (4, 3), elements=st.floats(0.0, 1.0, width=32)),
       st.sampled_from([400.0, 1000.0, 2000.0]))
def test_hlg_ootf_round_trip(scene, peak):
    display = color.hlg_ootf(scene, peak)
    back = color.hlg_inverse_ootf(display, peak)
    # Where the scene luminance is 0 the OOTF maps everything to 0 (no chroma to recover).
    ys = scene @ color.luminance_coefficients("bt2020")
    mask = ys > 1e-6
    np.testing.assert_allclose(back[mask], scene[mask], rtol=1e-4, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, (6, 3), elements=st.floats(0.0, 4.875, width=32)))
def test_linear_hlg_round_trip_for_greys(levels):
    grey = np.repeat(levels[:, :1], 3, axis=1)  # greys up to just below the 1000-nit peak (4.93)
    back = color.hlg_to_linear(color.linear_to_hlg(grey))
    np.testing.assert_allclose(back, grey, rtol=1e-4, atol=1e-6)


def test_u8_luts():
    lut = color.srgb_u8_lut()
    assert lut.shape == (256,) and lut.dtype == np.float32
    assert lut[0] == 0.0 and lut[255] == pytest.approx(1.0)
    assert np.all(np.diff(lut) > 0)
    np.testing.assert_allclose(lut, color.srgb_to_linear(np.arange(256) / 255.0), rtol=1e-6)
    assert not lut.flags.writeable
    np.testing.assert_allclose(color.u8_to_linear_lut("rec709"), color.bt709_to_linear(np.arange(256) / 255.0),
                               rtol=1e-6)
    np.testing.assert_allclose(color.u8_to_linear_lut("gamma2.2"), (np.arange(256) / 255.0) ** 2.2, rtol=1e-6)
    with pytest.raises(ValueError):
        color.u8_to_linear_lut("pq")


# ------------------------------------------------------------------------------------- detection
# Colorants of real profiles (D50 PCS, s15Fixed16 values as published).
SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
APPLE_P3 = ((0.51512, 0.24119, -0.00105), (0.29198, 0.69225, 0.04189), (0.15710, 0.06657, 0.78407))
APPLE_P3_CHAD = ((1.04788, 0.02292, -0.05022), (0.02959, 0.99048, -0.01707), (-0.00925, 0.01508, 0.75168))
D65_XYZ = (0.9505, 1.0, 1.0891)


def detect(red, green, blue, white, chad=None):
    return color.detect_colour_space(IccColorants(red, green, blue, white, chad))


def native(red, green, blue, white, chad=None):
    return color.native_primaries(IccColorants(red, green, blue, white, chad))


def test_detects_published_srgb_v2_and_v4_forms():
    assert detect(*SRGB_D50, color.PCS_D50_XYZ) == "srgb"        # v4, no chad
    assert detect(*SRGB_D50, D65_XYZ) == "srgb"                    # v2: wtpt is D65
    assert detect(*SRGB_D50, None) == "srgb"


def test_detects_apple_display_p3_with_chad():
    assert detect(*APPLE_P3, color.PCS_D50_XYZ, APPLE_P3_CHAD) == "display-p3"
    prim, white = native(*APPLE_P3, color.PCS_D50_XYZ, APPLE_P3_CHAD)
    assert white == pytest.approx(color.WHITE_D65, abs=2e-4)


def test_chad_wins_over_a_d65_wtpt():
    # Apple's Display P3 and libavif's sRGB v4 profiles store the D65 media white in wtpt next to chad.
    assert detect(*APPLE_P3, D65_XYZ, APPLE_P3_CHAD) == "display-p3"


def _adapted_colorants(name: str, cat: np.ndarray) -> tuple[list[tuple[float, ...]], np.ndarray]:
    """Colorants of ``name`` adapted to D50 with the von Kries transform in cone space ``cat``."""
    d65 = color.xy_to_xyz(*color.WHITE_D65)
    d50 = np.array(color.PCS_D50_XYZ)
    chad = np.linalg.inv(cat) @ np.diag((cat @ d50) / (cat @ d65)) @ cat
    cols = chad @ color.rgb_to_xyz(name)
    return [tuple(cols[:, i]) for i in range(3)], chad


CAT02 = np.array([[0.7328, 0.4296, -0.1624], [-0.7036, 1.6975, 0.0061], [0.0030, 0.0136, 0.9834]])
XYZ_SCALING = np.eye(3)


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("cat", [CAT02, XYZ_SCALING], ids=["cat02", "xyz-scaling"])
def test_uses_the_chad_tag_not_a_guess(name, cat):
    colorants, chad = _adapted_colorants(name, cat)
    assert detect(*colorants, color.PCS_D50_XYZ, chad) == name
    prim, _white = native(*colorants, color.PCS_D50_XYZ, chad)
    np.testing.assert_allclose(prim, color.PRIMARIES[name], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SPACES), st.lists(st.floats(-0.002, 0.002), min_size=6, max_size=6))
def test_detection_tolerates_small_errors(name, jitter):
    prim = [(x + jitter[2 * i], y + jitter[2 * i + 1]) for i, (x, y) in enumerate(color.PRIMARIES[name])]
    m = color.bradford_matrix(color.xy_to_xyz(*color.WHITE_D65), color.PCS_D50_XYZ) @ \
        color.rgb_to_xyz_matrix(prim, color.WHITE_D65)
    assert detect(*(tuple(m[:, i]) for i in range(3)), color.PCS_D50_XYZ) == name


def test_unknown_primaries_and_whites_are_not_guessed():
    adobe = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
    m = color.bradford_matrix(color.xy_to_xyz(*color.WHITE_D65), color.PCS_D50_XYZ) @ \
        color.rgb_to_xyz_matrix(adobe, color.WHITE_D65)
    assert detect(*(tuple(m[:, i]) for i in range(3)), color.PCS_D50_XYZ) is None
    # DCI-P3: P3 primaries with the DCI white (0.314, 0.351).
    dci_white = (0.314, 0.351)
    m = color.bradford_matrix(color.xy_to_xyz(*dci_white), color.PCS_D50_XYZ) @ \
        color.rgb_to_xyz_matrix(color.PRIMARIES["display-p3"], dci_white)
    assert detect(*(tuple(m[:, i]) for i in range(3)), color.xy_to_xyz(*dci_white)) is None
    # A singular chad or degenerate colorants give None, not an exception.
    assert detect(*SRGB_D50, color.PCS_D50_XYZ, np.zeros((3, 3))) is None
    assert detect((0, 0, 0), (0, 0, 0), (0, 0, 0), None) is None


def test_colour_space_from_icc_fallbacks():
    assert color.colour_space_from_icc(None)[0] == "srgb"
    assert color.colour_space_from_icc(b"")[0] == "srgb"
    name, reason = color.colour_space_from_icc(b"not an icc profile" * 10)
    assert name == "srgb" and "unreadable" in reason


def _record(**tags) -> IccProfile:
    """A parsed-profile record as :func:`parse_icc_profile` produces it, with just ``tags`` decoded."""
    return IccProfile(header=parse_icc_profile(profiles.srgb_profile()).header, **tags)


def test_cicp_tag_wins():
    info = _record(red_xyz=SRGB_D50[0], green_xyz=SRGB_D50[1], blue_xyz=SRGB_D50[2],
                   white_xyz=color.PCS_D50_XYZ, cicp=(12, 18, 0, 1))
    name, reason = color.colour_space_of(info)
    assert name == "display-p3" and "cicp" in reason


def test_unknown_cicp_falls_back_to_colorants():
    info = _record(red_xyz=SRGB_D50[0], green_xyz=SRGB_D50[1], blue_xyz=SRGB_D50[2],
                   white_xyz=color.PCS_D50_XYZ, cicp=(22, 13, 0, 1))
    name, reason = color.colour_space_of(info)
    assert name == "srgb" and "22" in reason and "match srgb" in reason


def test_lut_profile_falls_back_to_srgb():
    name, reason = color.colour_space_of(_record(white_xyz=color.PCS_D50_XYZ))
    assert name == "srgb" and "LUT" in reason


def test_chad_of_a_parsed_record_is_used():
    info = _record(red_xyz=APPLE_P3[0], green_xyz=APPLE_P3[1], blue_xyz=APPLE_P3[2],
                   white_xyz=color.PCS_D50_XYZ, chad=APPLE_P3_CHAD)
    assert color.colour_space_of(info)[0] == "display-p3"


# A D50 wtpt and no chad: the one case the two implementations before issue 11 disagreed on (see
# color.native_primaries).  Colorant tags are PCS-relative, so they are un-adapted from an assumed D65.
@pytest.mark.parametrize("name", SPACES)
def test_d50_white_without_chad_is_an_adapted_d65_space(name):
    adapted = color.icc_colorants(color.PRIMARIES[name])
    no_chad = IccColorants(adapted.red, adapted.green, adapted.blue, color.PCS_D50_XYZ, None)
    profile = build_matrix_profile("no chad", no_chad, (3, color.SRGB_PARAMETRIC))
    parsed = parse_icc_profile(profile)
    assert parsed.chad is None and parsed.white_xyz == pytest.approx(color.PCS_D50_XYZ, abs=1e-4)
    prim, white = color.native_primaries(parsed.colorants)
    np.testing.assert_allclose(prim, color.PRIMARIES[name], atol=5e-4)
    assert white == pytest.approx(color.WHITE_D65, abs=1e-9)
    assert color.colour_space_from_icc(profile)[0] == name


def test_libultrahdr_profiles_without_chad_are_named_by_their_gamut():
    """libultrahdr writes wtpt = D50 and no chad for its D65 gamuts; we name them as it reads them back."""
    imagecodecs = pytest.importorskip("imagecodecs", reason="imagecodecs (libultrahdr) not installed")
    if not getattr(imagecodecs.ULTRAHDR, "available", False):
        pytest.skip("imagecodecs built without libultrahdr")
    from gainmap.model.reader import read

    hdr = np.full((32, 32, 4), 0.5, np.float16)
    hdr[..., 3] = 1.0
    hdr[:16, :, :3] = 3.0
    for gamut, name in ((imagecodecs.ULTRAHDR.CG.BT_709, "srgb"), (imagecodecs.ULTRAHDR.CG.DISPLAY_P3, "display-p3"),
                        (imagecodecs.ULTRAHDR.CG.BT_2100, "bt2020")):
        gmf = read(imagecodecs.ultrahdr_encode(hdr, gamut=gamut, transfer=imagecodecs.ULTRAHDR.CT.LINEAR))
        # its SDR primary is always Display P3; the gain map's profile names the HDR gamut
        for image, want in ((gmf.primary, "display-p3"), (gmf.gainmap, name)):
            parsed = parse_icc_profile(image.icc)
            assert parsed.chad is None and parsed.white_xyz == pytest.approx(color.PCS_D50_XYZ, abs=1e-4)
            assert color.detect_colour_space(parsed.colorants) == want  # the colorants alone (no cicp)
            assert color.colour_space_from_icc(image.icc)[0] == want


@pytest.mark.parametrize(("name", "description"), [
    ("srgb", "Misleading name: Display P3"), ("display-p3", "sRGB IEC61966-2.1"), ("bt2020", "Rec. 2020"),
])
def test_generated_profiles_are_identified_by_primaries(name, description):
    profile = profiles.make_rgb_profile(description, color.PRIMARIES[name], color.WHITE_D65, trc="srgb")
    detected, reason = color.colour_space_from_icc(profile)
    assert detected == name, reason


def test_generated_unknown_profile_falls_back():
    profile = profiles.make_rgb_profile("Adobe RGB (1998)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)),
                                   color.WHITE_D65, trc="srgb")
    name, reason = color.colour_space_from_icc(profile)
    assert name == "srgb" and "match no named space" in reason


CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
def test_corpus_profiles_named_by_their_primaries():
    from PIL import Image

    expected = {"Display P3": "display-p3", "sRGB IEC61966-2.1": "srgb", "Adobe RGB (1998)": None}
    checked = 0
    for path in sorted(CORPUS.glob("*.jpg")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                profile = Image.open(path).info.get("icc_profile")
        except Exception:  # noqa: BLE001 - a broken corpus file is not this test's subject
            continue
        if not profile:
            continue
        want = expected.get(parse_icc_profile(profile).description or "", "?")
        if want == "?":
            continue
        name, reason = color.colour_space_from_icc(profile)
        assert name == (want or "srgb"), f"{path.name}: {reason}"
        assert (want is None) == ("match no named space" in reason), f"{path.name}: {reason}"
        checked += 1
    if not checked:
        pytest.skip("no profile with a known description in the corpus")


# --------------------------------------------------------------------------------- region stats
def test_region_stats_values():
    img = np.zeros((6, 8, 3), dtype=np.float32)
    img[1:3, 2:6] = (0.2, 0.5, 0.3)
    img[0, 0] = (9.0, 9.0, 9.0)                                 # outside the region
    stats = region_stats(img, (2, 1, 4, 2), "srgb")
    assert stats["pixels"] == 8
    assert (stats["mean_r"], stats["mean_g"], stats["mean_b"]) == pytest.approx((0.2, 0.5, 0.3))
    k = color.luminance_coefficients("srgb")
    assert stats["luminance"] == pytest.approx(0.2 * k[0] + 0.5 * k[1] + 0.3 * k[2])
    assert (stats["r"], stats["g"], stats["b"]) == pytest.approx((0.2, 0.5, 0.3))
    assert region_stats(img, (2, 1, 4, 2), "bt2020")["luminance"] != pytest.approx(stats["luminance"])


def test_region_stats_black_has_no_chromaticity():
    stats = region_stats(np.zeros((2, 2, 3), np.float32), (0, 0, 2, 2))
    assert stats["r"] is None and stats["luminance"] == 0.0


@pytest.mark.parametrize("rect", [(0, 0, 0, 1), (-1, 0, 2, 2), (7, 0, 2, 1), (0, 5, 1, 2), (0, 0, 1.5, 1),
                                  (0, 0, 1)])
def test_region_rect_validation(rect):
    with pytest.raises(ValueError):
        validate_rect(rect, 8, 6)
    with pytest.raises(ValueError):
        region_stats(np.zeros((6, 8, 3), np.float32), rect)
