"""``gainmap.measure`` and ``gainmap measure``: mean linear light per region, SDR and HDR renditions."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import gainmap.hdr.decode as decode_module
from gainmap.cli.main import main
from gainmap.errors import GainMapError
from gainmap.hdr import color, profiles
from gainmap.hdr.decode import decode, decode_pixels, measure
from gainmap.metadata import GainMapMetadata
from gainmap.model.assemble import assemble
from gainmap.model.reader import read

MD = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(2.0,), gamma=(1.0,), base_offset=(0.0,),
                     alternate_offset=(0.0,), base_hdr_headroom=0.0, alternate_hdr_headroom=2.0)


def jpeg(pixels: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def flat_file(rgb: tuple[int, int, int], code: int, profile: bytes | None = None) -> bytes:
    sdr = np.empty((64, 96, 3), np.uint8)
    sdr[...] = rgb
    gm = np.full((16, 24), code, np.uint8)
    return assemble(jpeg(sdr, 100), jpeg(gm, 100), MD, icc=profile or profiles.srgb_profile()).to_bytes()


@pytest.fixture(scope="module")
def textured() -> bytes:
    y, x = np.mgrid[0:120, 0:160]
    sdr = np.stack([x * 255 // 160, y * 255 // 120, (x ^ y) % 256], axis=-1).astype(np.uint8)
    gm = ((np.mgrid[0:30, 0:40][1] * 6) % 256).astype(np.uint8)
    return assemble(jpeg(sdr), jpeg(gm), MD, icc=profiles.srgb_profile()).to_bytes()


def test_flat_patch_is_exact() -> None:
    """A flat colour and a flat map: HDR = SDR * 2**max exactly, the chromaticity unchanged."""
    data = flat_file((200, 120, 60), 255)
    (row,) = measure(data, [(10, 10, 40, 30)])
    lin = color.srgb_u8_lut()[decode_pixels(read(data).primary, "RGB")[20, 20]].astype(np.float64)
    sdr, hdr = row["sdr"], row["hdr"]
    assert row["region"] == [10, 10, 40, 30] and row["colour_space"] == "srgb" and sdr["pixels"] == 1200
    np.testing.assert_allclose([sdr["mean_r"], sdr["mean_g"], sdr["mean_b"]], lin, rtol=1e-6)
    np.testing.assert_allclose([hdr["mean_r"], hdr["mean_g"], hdr["mean_b"]], 4.0 * lin, rtol=1e-5)
    assert sdr["r"] == pytest.approx(lin[0] / lin.sum()) and hdr["r"] == pytest.approx(sdr["r"], abs=1e-6)
    k = color.luminance_coefficients("srgb")
    assert sdr["luminance"] == pytest.approx(float(lin @ k))
    half = measure(data, [(10, 10, 40, 30)], headroom=1.0)[0]["hdr"]
    assert half["mean_g"] == pytest.approx(2.0 * lin[1], rel=1e-5)


def test_means_match_decode(textured: bytes) -> None:
    rects = [(0, 0, 160, 120), (5, 7, 33, 21), (159, 119, 1, 1)]
    rows = measure(textured, rects)
    hdr = decode(textured).astype(np.float64)
    sdr = color.srgb_u8_lut()[decode_pixels(read(textured).primary, "RGB")].astype(np.float64)
    for (x, y, w, h), row in zip(rects, rows):
        np.testing.assert_allclose([row["hdr"][k] for k in ("mean_r", "mean_g", "mean_b")],
                                   hdr[y:y + h, x:x + w].reshape(-1, 3).mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose([row["sdr"][k] for k in ("mean_r", "mean_g", "mean_b")],
                                   sdr[y:y + h, x:x + w].reshape(-1, 3).mean(axis=0), rtol=1e-6)


def test_colour_space_of_the_numbers() -> None:
    data = flat_file((180, 90, 40), 128, profiles.display_p3_profile())
    native = measure(data, [(0, 0, 96, 64)])[0]
    assert native["colour_space"] == "display-p3"
    in_srgb = measure(data, [(0, 0, 96, 64)], colour_space="srgb")[0]
    m = color.conversion_matrix("display-p3", "srgb")
    for rendition in ("sdr", "hdr"):
        a = np.array([native[rendition][k] for k in ("mean_r", "mean_g", "mean_b")])
        b = np.array([in_srgb[rendition][k] for k in ("mean_r", "mean_g", "mean_b")])
        np.testing.assert_allclose(b, m @ a, rtol=1e-5, atol=1e-7)
    k = color.luminance_coefficients("display-p3")
    assert native["hdr"]["luminance"] == pytest.approx(float(k @ [native["hdr"][c] for c in
                                                                  ("mean_r", "mean_g", "mean_b")]))


def test_regions_are_checked_before_decoding(textured: bytes, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("decoded before checking the regions")

    monkeypatch.setattr(decode_module, "decode", boom)
    for bad in [(150, 0, 20, 10), (0, 0, 0, 5), (-1, 0, 5, 5)]:
        with pytest.raises(ValueError, match="region"):
            measure(textured, [(0, 0, 10, 10), bad])


def test_file_without_gain_map() -> None:
    plain = jpeg(np.full((20, 30, 3), 128, np.uint8))
    (row,) = measure(plain, [(0, 0, 30, 20)])
    assert row["hdr"] is None and row["sdr"]["mean_g"] == pytest.approx(color.srgb_u8_lut()[128], rel=1e-3)


def test_unusable_gain_map_is_an_error() -> None:
    data = bytearray(assemble(jpeg(np.full((16, 16, 3), 90, np.uint8)), jpeg(np.zeros((4, 4), np.uint8)), MD,
                              write_xmp=False).to_bytes())
    iso = read(bytes(data)).gainmap.first("iso21496")
    data[iso.payload_offset:iso.payload_offset + 4] = b"XXXX"
    with pytest.raises(GainMapError, match="no usable metadata"):
        measure(bytes(data), [(0, 0, 4, 4)])


# --------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def textured_path(tmp_path, textured: bytes):
    path = tmp_path / "t.jpg"
    path.write_bytes(textured)
    return path


def test_cli_text_table(textured_path, capsys) -> None:
    assert main(["measure", str(textured_path), "--region", "0,0,10,10", "--region", "20,30,40,50"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "mean linear light" in lines[0] and "srgb" in lines[0]
    assert lines[1].split() == ["region", "rendition", "R", "G", "B", "Y", "r", "g", "b"]
    assert len(lines) == 6 and lines[2].startswith("0,0,10,10") and lines[4].split()[1] == "sdr"
    row = measure(textured_path, [(20, 30, 40, 50)])[0]
    assert f"{row['hdr']['mean_g']:.5f}" in lines[5]


def test_cli_json(textured_path, capsys) -> None:
    assert main(["measure", str(textured_path), "--region", "1,2,3,4", "--json", "--headroom", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["file"] == str(textured_path)
    assert doc["regions"] == json.loads(json.dumps(measure(textured_path, [(1, 2, 3, 4)], headroom=1.0)))


def test_cli_errors(tmp_path, textured_path, capsys) -> None:
    assert main(["measure", str(textured_path), "--region", "1,2,3"]) == 2
    assert main(["measure", str(textured_path), "--region", "150,0,20,10"]) == 2
    assert main(["measure", str(textured_path)]) == 2                           # --region is required
    assert main(["measure", str(tmp_path / "none.jpg"), "--region", "0,0,1,1"]) == 2
    assert main(["measure", str(textured_path), "--region", "0,0,1,1", "--headroom", "inf"]) == 2
    err = capsys.readouterr().err
    assert "x,y,w,h" in err and "160x120" in err and "none.jpg" in err
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(jpeg(np.full((20, 30, 3), 128, np.uint8)))
    assert main(["measure", str(plain), "--region", "0,0,5,5"]) == 0
    assert "no gain map" in capsys.readouterr().out
