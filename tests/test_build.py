"""Building files: inputs kept or encoded, metadata and ICC, round trips through decode, and peers.

Round-trip tolerances (stops, ``|log2((a + eps) / (b + eps))``, eps = 2**-8 of SDR white):

* Exactness (gain map at full size, both JPEGs at quality 100, one gain per channel): per channel median
  <= 1 and 99th percentile <= 4 steps of the 8-bit map (a step is (max - min) / 255 stops: 0.01 to 0.03
  here).  What is left is that quantisation (half a step at most) and quality-100 JPEG rounding of a map
  with per-pixel detail (a code or two).
* Defaults (quarter-size single-channel map at quality 85, SDR at quality 90): on luminance, median
  <= 0.1 and 99th percentile <= 0.5 per pixel; on 4 x 4 block means (the detail a quarter-size map can
  carry) median <= 0.05 and 99th percentile <= 0.25.  A quarter-size map cannot follow per-pixel detail
  in the gain, which a global tone curve creates wherever texture crosses its knee; a luminance map
  cannot restore colour the tone mapper desaturated, so these bounds are on luminance.
* libultrahdr against our decode of the same built file: the corpus bounds of ``test_decode.py``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import SHARED
from gainmap.cli.main import main
from gainmap.editing.build import build, encode_jpeg, icc_for
from gainmap.errors import GainMapError
from gainmap.hdr import color, profiles
from gainmap.hdr.decode import decode, decode_pixels, decode_with_info
from gainmap.metadata import GainMapMetadata
from gainmap.model.reader import read

EPS = 2.0 ** -8
EXR = SHARED / "hdr" / "openexr-images__Bonita.exr"
MD = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(2.0,), gamma=(1.0,), base_offset=(1 / 64,),
                     alternate_offset=(1 / 64,), base_hdr_headroom=0.0, alternate_hdr_headroom=2.0)


def map_step(data: bytes) -> float:
    """One 8-bit code of the gain map, in stops (the widest channel)."""
    md = read(data).metadata()
    return max(hi - lo for lo, hi in zip(md.gain_map_min, md.gain_map_max)) / 255.0


def stops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.log2((np.maximum(a, 0) + EPS) / (np.maximum(b, 0) + EPS)))


def block_mean(a: np.ndarray, n: int) -> np.ndarray:
    h, w = a.shape[0] // n * n, a.shape[1] // n * n
    return a[:h, :w].reshape(h // n, n, w // n, n, -1).mean(axis=(1, 3))


def synthetic_hdr(h: int = 240, w: int = 320) -> np.ndarray:
    """Smooth colour ramps with two highlights (up to ~9x SDR white) and a fine texture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([0.15 + 0.5 * x / w, 0.2 + 0.45 * y / h, 0.45 - 0.25 * x / w], axis=-1)
    blob = 6.0 * np.exp(-(((x - 0.7 * w) / (0.12 * w)) ** 2 + ((y - 0.3 * h) / (0.15 * h)) ** 2))
    blob += 2.0 * np.exp(-(((x - 0.25 * w) / (0.06 * w)) ** 2 + ((y - 0.7 * h) / (0.06 * h)) ** 2))
    texture = 1.0 + 0.05 * np.sin(x / 3.0) * np.sin(y / 5.0)
    return (base * ((1.0 + blob) * texture)[..., None]).astype(np.float32)


def uint8_sdr(h: int = 96, w: int = 128) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=-1).astype(np.uint8)


def ramp_map(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 8 + y * 2) % 256).astype(np.uint8)


def smooth_map(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.clip(128 + 110 * np.sin(x / 5.0) * np.cos(y / 4.0), 0, 255).astype(np.uint8)


def load_exr() -> np.ndarray:
    from gainmap.hdr.io import read_hdr_image

    if not EXR.is_file():
        pytest.skip(f"{EXR} is absent")
    return np.maximum(block_mean(read_hdr_image(EXR), 2), 0.0).astype(np.float32)


@pytest.fixture(scope="module")
def exr_hdr() -> np.ndarray:
    return load_exr()


@pytest.fixture(scope="module")
def exr_built(exr_hdr: np.ndarray) -> bytes:
    return build(None, hdr=exr_hdr).to_bytes()


# ------------------------------------------------------------------------------------------ inputs kept
def _coding_segments(image) -> list[bytes]:
    """Everything that defines the pixels: tables, frame, scans (not APPn metadata)."""
    return [s.to_bytes() for s in image.segments() if not 0xE0 <= s.marker <= 0xEF]


def test_sdr_jpeg_bytes_are_kept() -> None:
    sdr = encode_jpeg(uint8_sdr(), 80)
    gm = encode_jpeg(ramp_map(), 70)
    gmf = build(sdr, gm, MD)
    out = read(gmf.to_bytes())
    assert _coding_segments(out.primary) == _coding_segments(read(sdr).primary)
    assert _coding_segments(out.gainmap) == _coding_segments(read(gm).gainmap if read(gm).gainmap else
                                                             read(gm).primary)
    assert out.metadata_sources()["iso"].approx_equal(MD)
    assert out.metadata_sources()["hdrgm"].approx_equal(MD)
    assert color.colour_space_from_icc(out.primary.icc)[0] == "srgb"
    assert out.gainmap.icc is None


def test_pixels_are_encoded() -> None:
    sdr, gm = uint8_sdr(), ramp_map()
    out = read(build(sdr, gm, MD, quality=95, gainmap_quality=100).to_bytes())
    assert (out.primary.width, out.primary.height) == (128, 96)
    assert (out.gainmap.width, out.gainmap.height, out.gainmap.components) == (32, 24, 1)
    assert np.abs(decode_pixels(out.gainmap).astype(int) - gm).max() <= 2
    assert np.abs(decode_pixels(out.primary, "RGB").astype(int) - sdr).mean() < 2
    rgb_map = np.stack([ramp_map(), ramp_map()[::-1], ramp_map()[:, ::-1]], axis=-1)
    md3 = GainMapMetadata(gain_map_min=(0.0, 0.1, 0.2), gain_map_max=(2.0, 1.5, 1.0), gamma=(1.0,) * 3,
                          base_offset=(1 / 64,) * 3, alternate_offset=(1 / 64,) * 3, base_hdr_headroom=0.0,
                          alternate_hdr_headroom=2.0)
    out3 = read(build(sdr, rgb_map, md3, gainmap_quality=100).to_bytes())
    sampling = {(c.sampling.h, c.sampling.v) for c in out3.gainmap.frame.components}
    assert out3.gainmap.components == 3 and sampling == {(1, 1)}     # 4:4:4: no chroma loss in the map
    assert out3.metadata().approx_equal(md3)


def test_float_sdr_is_linear(tmp_path) -> None:
    lin = color.srgb_u8_lut()[uint8_sdr()]
    a = decode_pixels(read(build(lin, ramp_map(), MD, quality=100).to_bytes()).primary, "RGB")
    b = decode_pixels(read(build(uint8_sdr(), ramp_map(), MD, quality=100).to_bytes()).primary, "RGB")
    assert np.abs(a.astype(int) - b).max() <= 1
    png = tmp_path / "sdr.png"
    Image.fromarray(uint8_sdr()).save(png)
    c = decode_pixels(read(build(str(png), ramp_map(), MD, quality=100).to_bytes()).primary, "RGB")
    np.testing.assert_array_equal(b, c)


@pytest.mark.parametrize("space", ["srgb", "display-p3", "bt2020"])
def test_colour_space_icc(space: str) -> None:
    gmf = read(build(uint8_sdr(), ramp_map(), MD, colour_space=space).to_bytes())
    assert color.colour_space_from_icc(gmf.primary.icc)[0] == space
    assert decode_with_info(gmf)[1].colour_space == space


def test_jpeg_icc_is_respected() -> None:
    p3_jpeg = read(build(uint8_sdr(), ramp_map(), MD, colour_space="display-p3").to_bytes()).primary.to_bytes()
    kept = read(build(p3_jpeg, ramp_map(), MD).to_bytes())
    assert color.colour_space_from_icc(kept.primary.icc)[0] == "display-p3"
    with pytest.raises(GainMapError, match="display-p3"):
        build(p3_jpeg, ramp_map(), MD, colour_space="srgb")


def test_build_errors() -> None:
    sdr, gm = uint8_sdr(), ramp_map()
    with pytest.raises(GainMapError, match="nothing to build"):
        build(sdr)
    with pytest.raises(GainMapError, match="metadata"):
        build(sdr, gm)
    with pytest.raises(GainMapError, match="not both"):
        build(sdr, gm, MD, hdr=synthetic_hdr(96, 128))
    with pytest.raises(GainMapError, match="aspect"):
        build(sdr, ramp_map(24, 48), MD)
    md3 = GainMapMetadata(gain_map_min=(0.0, 0.0, 0.0), gain_map_max=(2.0, 1.0, 1.0), gamma=(1.0,) * 3,
                          base_offset=(0.0,) * 3, alternate_offset=(0.0,) * 3, base_hdr_headroom=0.0,
                          alternate_hdr_headroom=2.0)
    with pytest.raises(GainMapError, match="one channel"):
        build(sdr, gm, md3)
    with pytest.raises(GainMapError, match="uint8"):
        build(sdr, gm.astype(np.float32), MD)
    with pytest.raises(GainMapError, match="not a JPEG"):
        build(b"GIF89a....", gm, MD)
    with pytest.raises(GainMapError, match="is 128x96"):
        build(sdr, hdr=synthetic_hdr(100, 100))
    with pytest.raises(GainMapError, match="quality"):
        build(sdr, gm, MD, quality=0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lo=st.floats(-2.0, 1.0), span=st.floats(0.05, 6.0), gamma=st.floats(0.3, 3.0),
       off_sdr=st.floats(0.0, 0.1), off_hdr=st.floats(0.0, 0.1), seed=st.integers(0, 2**16))
def test_metadata_round_trips(lo: float, span: float, gamma: float, off_sdr: float, off_hdr: float,
                              seed: int) -> None:
    md = GainMapMetadata(gain_map_min=(lo,), gain_map_max=(lo + span,), gamma=(gamma,), base_offset=(off_sdr,),
                         alternate_offset=(off_hdr,), base_hdr_headroom=max(lo, 0.0),
                         alternate_hdr_headroom=max(lo + span, max(lo, 0.0) + 0.01))
    rng = np.random.default_rng(seed)
    sdr = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    gm = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    data = build(sdr, gm, md).to_bytes()
    gmf = read(data)
    sources = gmf.metadata_sources()
    assert sources["iso"].approx_equal(md) and sources["hdrgm"].approx_equal(md)
    out = decode(data)
    assert out.shape == (16, 24, 3) and np.all(np.isfinite(out))


# -------------------------------------------------------------------------------------- HDR round trips
def test_synthetic_hdr_round_trip_exact() -> None:
    hdr = synthetic_hdr()
    data = build(None, hdr=hdr, gainmap_scale=1, quality=100, gainmap_quality=100, multichannel=True).to_bytes()
    d, step = stops(hdr, decode(data)), map_step(data)
    print(f"\nsynthetic exact: median {np.median(d):.4f} p99 {np.percentile(d, 99):.4f} stops (step {step:.4f})")
    assert np.median(d) <= step and np.percentile(d, 99) <= 4 * step


def test_synthetic_hdr_round_trip_defaults() -> None:
    hdr = synthetic_hdr()
    gmf = build(None, hdr=hdr)
    assert (gmf.gainmap.width, gmf.gainmap.height) == (80, 60)
    out = decode(gmf.to_bytes())
    y_in, y_out = color.luminance(hdr), color.luminance(out)
    d = stops(y_in, y_out)
    db = stops(block_mean(y_in[..., None], 4), block_mean(y_out[..., None], 4))
    print(f"\nsynthetic defaults: Y median {np.median(d):.4f} p99 {np.percentile(d, 99):.4f}; "
          f"4x4 median {np.median(db):.4f} p99 {np.percentile(db, 99):.4f} stops")
    assert np.median(d) <= 0.1 and np.percentile(d, 99) <= 0.5
    assert np.median(db) <= 0.05 and np.percentile(db, 99) <= 0.25


def test_exr_round_trip(exr_hdr: np.ndarray, exr_built: bytes) -> None:
    out, info = decode_with_info(exr_built)
    assert info.metadata_source == "iso" and out.shape == exr_hdr.shape
    y_in, y_out = color.luminance(exr_hdr), color.luminance(out)
    d = stops(y_in, y_out)
    db = stops(block_mean(y_in[..., None], 4), block_mean(y_out[..., None], 4))
    print(f"\n{EXR.name} (downscaled 2x) defaults: Y median {np.median(d):.4f} p99 {np.percentile(d, 99):.4f}; "
          f"4x4 median {np.median(db):.4f} p99 {np.percentile(db, 99):.4f} stops; "
          f"map {info.metadata.gain_map_min[0]:.2f}..{info.metadata.gain_map_max[0]:.2f} stops")
    assert np.median(d) <= 0.1 and np.percentile(d, 99) <= 0.5
    assert np.median(db) <= 0.05 and np.percentile(db, 99) <= 0.25
    exact = build(None, hdr=exr_hdr, gainmap_scale=1, quality=100, gainmap_quality=100, multichannel=True)
    data = exact.to_bytes()
    de, step = stops(exr_hdr, decode(data)), map_step(data)
    print(f"{EXR.name} exact: median {np.median(de):.4f} p99 {np.percentile(de, 99):.4f} stops (step {step:.4f})")
    assert np.median(de) <= step and np.percentile(de, 99) <= 4 * step


# ------------------------------------------------------------------------------------------------ peers
def _uhdr_agrees(data: bytes) -> dict[str, float]:
    imagecodecs = pytest.importorskip("imagecodecs")
    from test_decode import MEDIAN_TOL, P99_TOL, compare

    ours, info = decode_with_info(data)
    m = compare(imagecodecs.ultrahdr_decode(data, dtype="float16"), ours, info)
    assert m["median"] <= MEDIAN_TOL and m["p99"] <= P99_TOL, m
    return m


def test_libultrahdr_decodes_what_we_build(exr_built: bytes) -> None:
    m = _uhdr_agrees(exr_built)
    print(f"\nlibultrahdr vs ours, built from {EXR.name}: median {m['median']:.4f} p99 {m['p99']:.4f} stops")
    m = _uhdr_agrees(build(None, hdr=synthetic_hdr()).to_bytes())
    print(f"libultrahdr vs ours, built from synthetic HDR: median {m['median']:.4f} p99 {m['p99']:.4f} stops")
    # a full-size map: libultrahdr samples a smaller one corner-aligned, which shifts a map that varies
    # everywhere (see test_decode.py); at full size only the colour handling is compared
    m = _uhdr_agrees(build(uint8_sdr(), smooth_map(96, 128), MD, colour_space="display-p3").to_bytes())
    print(f"libultrahdr vs ours, SDR + map (Display P3): median {m['median']:.4f} p99 {m['p99']:.4f} stops")


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_reads_mpf(tmp_path, exr_built: bytes) -> None:
    path = tmp_path / "built.jpg"
    path.write_bytes(exr_built)
    run = subprocess.run(["exiftool", "-j", "-MPF:all", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)[0]
    gmf = read(exr_built)
    assert info["NumberOfImages"] == 2
    assert info["MPImageStart"] == gmf.gainmap.offset          # exiftool reports an absolute offset
    assert info["MPImageLength"] == gmf.gainmap.size
    assert exr_built[info["MPImageStart"]:info["MPImageStart"] + 3] == b"\xff\xd8\xff"
    assert info["MPImageStart"] + info["MPImageLength"] == len(exr_built)


def test_pillow_reads_both_images(exr_built: bytes, exr_hdr: np.ndarray) -> None:
    """Pillow opens an Ultra HDR file as a plain JPEG on purpose (its jpeg_factory: "Ultra HDR images are
    not yet supported"); its MPF reader must still find the gain map where we put it."""
    from PIL import JpegImagePlugin, MpoImagePlugin

    gmf = read(exr_built)
    with Image.open(io.BytesIO(exr_built)) as im:
        assert im.format == "JPEG"
        im.load()
        assert im.size == (exr_hdr.shape[1], exr_hdr.shape[0])
        np.testing.assert_array_equal(np.asarray(im), decode_pixels(gmf.primary, "RGB"))
    jpeg_im = JpegImagePlugin.JpegImageFile(io.BytesIO(exr_built))
    mp = jpeg_im._getmp()
    assert mp[0xB001] == 2 and mp[0xB002][1]["Size"] == gmf.gainmap.size
    mpo = MpoImagePlugin.MpoImageFile.adopt(jpeg_im, mp)
    mpo.seek(1)
    mpo.load()
    assert mpo.size == (gmf.gainmap.width, gmf.gainmap.height)
    np.testing.assert_array_equal(np.asarray(mpo), decode_pixels(gmf.gainmap))


def test_validator_finds_nothing_wrong(exr_built: bytes) -> None:
    try:
        from gainmap.analysis.validate import check_bytes
    except ImportError as exc:
        pytest.skip(f"gainmap.validate is not available yet ({exc})")
    report = check_bytes(exr_built, name="built-from-exr.jpg")
    errors = [f for f in report.findings if getattr(f, "severity", "error") == "error"]
    assert not report.has_errors, errors


# --------------------------------------------------------------------------------------------------- CLI
def test_cli_build_sdr_and_gainmap(tmp_path) -> None:
    sdr_path, gm_path, out = tmp_path / "sdr.jpg", tmp_path / "gm.png", tmp_path / "out.jpg"
    sdr_path.write_bytes(encode_jpeg(uint8_sdr(), 85))
    Image.fromarray(ramp_map()).save(gm_path)
    argv = ["build", str(sdr_path), str(gm_path), "--max", "2.5", "--min", "-0.5", "--gamma", "1.2",
            "-o", str(out)]
    assert main(argv) == 0
    gmf = read(out.read_bytes())
    md = gmf.metadata()
    assert md.gain_map_max == pytest.approx((2.5,)) and md.gain_map_min == pytest.approx((-0.5,))
    assert md.gamma == pytest.approx((1.2,)) and md.base_hdr_headroom == 0.0
    assert md.alternate_hdr_headroom == pytest.approx(2.5)
    assert _coding_segments(gmf.primary) == _coding_segments(read(sdr_path.read_bytes()).primary)
    mode = stat.S_IMODE(out.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_build_from_hdr(tmp_path) -> None:
    if not EXR.is_file():
        pytest.skip(f"{EXR} is absent")
    out = tmp_path / "out.jpg"
    assert main(["build", "--from-hdr", str(EXR), "--colour-space", "display-p3", "-o", str(out)]) == 0
    out_hdr, info = decode_with_info(out.read_bytes())
    assert info.colour_space == "display-p3" and out_hdr.shape[:2] == (832, 550)
    npy = tmp_path / "hdr.npy"
    np.save(npy, synthetic_hdr())
    out2 = tmp_path / "out2.jpg"
    assert main(["build", "--from-hdr", str(npy), "--gainmap-scale", "2", "--multichannel", "-o", str(out2)]) == 0
    gmf = read(out2.read_bytes())
    assert (gmf.gainmap.width, gmf.gainmap.components) == (160, 3)
    # an SDR JPEG of our own: kept, and its Display P3 profile decides how the HDR is read
    sdr = read(build(uint8_sdr(240, 320), ramp_map(60, 80), MD, colour_space="display-p3").to_bytes())
    sdr_path = tmp_path / "sdr.jpg"
    sdr_path.write_bytes(sdr.primary.to_bytes())
    out3 = tmp_path / "out3.jpg"
    assert main(["build", "--from-hdr", str(npy), str(sdr_path), "-o", str(out3)]) == 0
    out_hdr, info = decode_with_info(out3.read_bytes())
    assert info.colour_space == "display-p3"
    assert _coding_segments(read(out3.read_bytes()).primary) == _coding_segments(sdr.primary)


def test_cli_build_usage_errors(tmp_path, capsys) -> None:
    sdr_path, gm_path = tmp_path / "sdr.jpg", tmp_path / "gm.jpg"
    sdr_path.write_bytes(encode_jpeg(uint8_sdr(), 85))
    gm_path.write_bytes(encode_jpeg(ramp_map(), 85))
    before = sdr_path.read_bytes()
    out = str(tmp_path / "o.jpg")
    assert main(["build", str(sdr_path), str(gm_path), "--max", "2", "-o", str(sdr_path)]) == 2
    assert sdr_path.read_bytes() == before
    assert main(["build", str(sdr_path), str(gm_path), "-o", out]) == 2                # no --max
    assert main(["build", str(sdr_path), "-o", out]) == 2                              # no gain map
    assert main(["build", "-o", out]) == 2
    assert main(["build", str(sdr_path), str(gm_path), "--max", "2", "-o", str(tmp_path / "o.png")]) == 2
    assert main(["build", str(tmp_path / "none.jpg"), str(gm_path), "--max", "2", "-o", out]) == 2
    assert main(["build", "--from-hdr", str(tmp_path / "none.exr"), "-o", out]) == 2
    (tmp_path / "bad.exr").write_bytes(b"not an exr")
    assert main(["build", "--from-hdr", str(tmp_path / "bad.exr"), "-o", out]) == 2
    assert main(["build", "--from-hdr", str(tmp_path / "bad.exr"), str(sdr_path), str(gm_path), "-o", out]) == 2
    assert main(["build", str(sdr_path), str(gm_path), "--max", "1", "--min", "2", "-o", out]) == 2
    assert main(["build", str(sdr_path), str(gm_path), "--max", "2", "--quality", "0", "-o", out]) == 2
    err = capsys.readouterr().err
    assert "--max" in err and "input file" in err and "none.exr" in err
    assert not (tmp_path / "o.jpg").exists()
    # a failed build (aspect ratio) is exit 1, with the reason
    wide = tmp_path / "wide.jpg"
    wide.write_bytes(encode_jpeg(ramp_map(24, 64), 85))
    assert main(["build", str(sdr_path), str(wide), "--max", "2", "-o", out]) == 1
    assert "aspect" in capsys.readouterr().err


def test_icc_for_names_its_space() -> None:
    for space in ("srgb", "display-p3", "bt2020"):
        assert color.colour_space_from_icc(icc_for(space))[0] == space
    assert icc_for("p3") == profiles.display_p3_profile()
