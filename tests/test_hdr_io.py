"""HDR image files (gainmap.hdr.io): write -> read round trips, PNG cICP, atomic writes, shared samples."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from gainmap.formats.png import add_cicp as add_png_cicp
from gainmap.formats.png import chunks as png_chunks
from gainmap.hdr import color
from gainmap.hdr.io import read_hdr_image, write_hdr_image

SHARED_HDR = Path(__file__).resolve().parents[1] / ".." / "shared" / "hdr"


def sample(seed: int = 0, shape=(12, 17), top: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((*shape, 3)) * top + 0.01).astype(np.float32)


def stops(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.log2(a / b))))


@pytest.mark.parametrize("space", color.COLOUR_SPACES)
def test_exr_round_trips(tmp_path, space):
    img = sample(1)
    write_hdr_image(tmp_path / "a.exr", img, half=False, colour_space=space)
    np.testing.assert_array_equal(read_hdr_image(tmp_path / "a.exr", colour_space=space), img)
    write_hdr_image(tmp_path / "b.exr", img, colour_space=space)                  # half floats
    assert stops(read_hdr_image(tmp_path / "b.exr", colour_space=space), img) <= 2.0 ** -11 * 1.5


def test_exr_chromaticities_are_honoured(tmp_path):
    img = sample(2)
    write_hdr_image(tmp_path / "p3.exr", img, half=False, colour_space="display-p3")
    as_srgb = read_hdr_image(tmp_path / "p3.exr", colour_space="srgb")
    np.testing.assert_allclose(as_srgb, color.convert(img, "display-p3", "srgb"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ext", [".tif", ".tiff", ".npy"])
def test_float_formats_round_trip_exactly(tmp_path, ext):
    img = sample(3)
    write_hdr_image(tmp_path / f"x{ext}", img)
    back = read_hdr_image(tmp_path / f"x{ext}")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, img)


@pytest.mark.parametrize("space", color.COLOUR_SPACES)
def test_png_pq_round_trip(tmp_path, space):
    img = sample(4, top=20.0)                                    # up to about 4000 nits
    write_hdr_image(tmp_path / "pq.png", img, colour_space=space)
    back = read_hdr_image(tmp_path / "pq.png", colour_space=space)
    # 16-bit PQ steps are below 0.1 % in this range; the BT.2020 detour can turn that into a larger
    # relative error on a channel much smaller than its pixel's others, so bound by the pixel's peak.
    err = np.abs(back - img) / img.max(axis=2, keepdims=True)
    assert err.max() < 2e-3


def test_png_hlg_round_trip_for_greys_below_peak(tmp_path):
    levels = np.linspace(0.005, 4.8, 60, dtype=np.float32).reshape(6, 10, 1)
    img = np.repeat(levels, 3, axis=2)
    write_hdr_image(tmp_path / "hlg.png", img, transfer="hlg", colour_space="bt2020")
    back = read_hdr_image(tmp_path / "hlg.png", colour_space="bt2020")
    assert stops(back, img) < 0.01


def test_png_carries_cicp_before_idat(tmp_path):
    write_hdr_image(tmp_path / "pq.png", sample(5))
    write_hdr_image(tmp_path / "hlg.png", sample(5), transfer="hlg")
    for name, transfer in (("pq.png", 16), ("hlg.png", 18)):
        data = (tmp_path / name).read_bytes()
        chunks = png_chunks(data)
        types = [t for t, _o, _p in chunks]
        assert types[0] == b"IHDR" and types[1] == b"cICP" and types.index(b"cICP") < types.index(b"IDAT")
        _t, off, payload = chunks[1]
        assert payload == bytes([9, transfer, 0, 1])
        (crc,) = struct.unpack_from(">I", data, off + 8 + len(payload))
        assert crc == zlib.crc32(b"cICP" + payload)
        ihdr = chunks[0][2]
        assert ihdr[8] == 16 and ihdr[9] == 2                    # 16-bit truecolour


def test_png_without_cicp_reads_as_srgb(tmp_path):
    import imagecodecs

    codes = np.array([[[0, 128, 255]]], np.uint8)
    (tmp_path / "s.png").write_bytes(imagecodecs.png_encode(codes))
    np.testing.assert_allclose(read_hdr_image(tmp_path / "s.png")[0, 0],
                               color.srgb_to_linear(np.array([0, 128, 255]) / 255.0), rtol=1e-6)


def test_add_png_cicp_rejects_non_png():
    with pytest.raises(ValueError):
        add_png_cicp(b"GIF89a", 9, 16)


def test_reads_radiance_hdr(tmp_path):
    import imagecodecs

    img = sample(6)
    (tmp_path / "x.hdr").write_bytes(imagecodecs.rgbe_encode(img))
    back = read_hdr_image(tmp_path / "x.hdr")
    assert back.shape == img.shape and back.dtype == np.float32
    assert np.max(np.abs(back - img) / img.max(axis=2, keepdims=True)) < 1.0 / 64  # RGBE: 8-bit mantissa


def test_grey_and_alpha_inputs(tmp_path):
    grey = sample(7)[:, :, 0]
    np.save(tmp_path / "g.npy", grey)
    np.testing.assert_array_equal(read_hdr_image(tmp_path / "g.npy"), np.repeat(grey[:, :, None], 3, axis=2))
    rgba = np.concatenate([sample(8), np.ones((12, 17, 1), np.float32)], axis=2)
    np.save(tmp_path / "a.npy", rgba)
    np.testing.assert_array_equal(read_hdr_image(tmp_path / "a.npy"), rgba[:, :, :3])


def test_errors(tmp_path):
    img = sample(9)
    with pytest.raises(ValueError, match="unsupported extension"):
        write_hdr_image(tmp_path / "x.jpg", img)
    with pytest.raises(ValueError, match="unsupported extension"):
        read_hdr_image(tmp_path / "x.gif")
    with pytest.raises(ValueError):
        write_hdr_image(tmp_path / "x.exr", img, transfer="pq")
    with pytest.raises(ValueError):
        write_hdr_image(tmp_path / "x.png", img, transfer="srgb")
    with pytest.raises(ValueError):
        write_hdr_image(tmp_path / "x.exr", img[:, :, :2])
    import tifffile

    tifffile.imwrite(tmp_path / "int.tif", (img * 10).astype(np.uint16))
    with pytest.raises(ValueError, match="floating point"):
        read_hdr_image(tmp_path / "int.tif")


def test_writes_are_atomic(tmp_path, monkeypatch):
    img = sample(10)
    target = tmp_path / "x.npy"
    write_hdr_image(target, img)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        write_hdr_image(target, img * 2)
    assert target.read_bytes() == before                        # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # and no temporary is left


@pytest.mark.skipif(not SHARED_HDR.is_dir(), reason="../shared/hdr is absent")
def test_shared_samples_read():
    tree = SHARED_HDR / "openexr-images__Tree.exr"
    pano = SHARED_HDR / "drei-assets__lebombo_1k.hdr"
    if not (tree.is_file() and pano.is_file()):
        pytest.skip("sample files missing from ../shared/hdr")
    img = read_hdr_image(pano)
    assert img.shape == (512, 1024, 3) and np.isfinite(img).all() and img.max() > 1.0
    as_709 = read_hdr_image(tree, colour_space="srgb")
    as_2020 = read_hdr_image(tree, colour_space="bt2020")
    assert as_709.shape == (906, 928, 3)
    # Tree.exr has its own chromaticities: both reads are conversions of the same data.
    np.testing.assert_allclose(color.convert(as_709, "srgb", "bt2020"), as_2020, rtol=1e-4, atol=1e-4)
