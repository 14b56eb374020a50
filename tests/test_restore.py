"""Restore: predicted or carried-over gain maps around the user's untouched primary."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import CORPUS, FIXTURES, corpus_manifest, needs_corpus
from gainmap.analysis.validate import check_bytes
from gainmap.cli.main import main
from gainmap.editing.repair import primary_fingerprint
from gainmap.editing.restore import restore
from gainmap.errors import GainMapError
from gainmap.model.reader import read

imagecodecs = pytest.importorskip("imagecodecs")
UHDR = FIXTURES / "valid" / "ultrahdr.jpg"


def _stripped(path) -> bytes:
    """What an editor leaves: the primary alone, re-saved by Pillow (no MPF, no XMP, no gain map)."""
    with Image.open(path) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
        return buf.getvalue()


def _assert_restored(src: bytes, out: bytes) -> None:
    report = check_bytes(out)
    errors = [f.id for f in report.findings if f.severity == "error"]
    if read(out).primary.components == 1:
        assert errors == ["gainmap.base-format"] and not report.viewers["libultrahdr"].hdr
    else:
        assert not errors, [(f.id, f.message) for f in report.findings if f.severity == "error"]
    assert primary_fingerprint(read(out).primary) == primary_fingerprint(read(src).primary)
    if read(out).primary.components == 1:
        # libultrahdr accepts only YCbCr bases (4:4:4, 4:2:2, 4:2:0): a grayscale primary cannot be its base
        # without re-encoding the primary, which restore never does.  Other viewers still get HDR.
        assert all(v.hdr for k, v in report.viewers.items() if k in ("chrome", "apple", "libavif"))
        return
    assert all(v.hdr for k, v in report.viewers.items() if k in ("chrome", "apple", "libultrahdr", "libavif"))
    imagecodecs.ultrahdr_decode(out, dtype="float16")


@pytest.mark.parametrize("predictor", ["heuristic", "gmnet"])
def test_restore_on_a_flat_jpeg(predictor):
    src = _stripped(UHDR)
    gmf = restore(src, predictor=predictor)
    out = gmf.to_bytes()
    _assert_restored(src, out)
    gm = read(out).gainmap
    assert (gm.width, gm.height) == (64, 48)  # quarter size of 256x192


def test_existing_gainmap_is_refused_unless_forced():
    data = UHDR.read_bytes()
    with pytest.raises(GainMapError, match="already has a gain map"):
        restore(data, predictor="heuristic")
    out = restore(data, predictor="heuristic", force=True).to_bytes()
    _assert_restored(data, out)


def test_carry_over_from_the_original_photo():
    original = UHDR
    edited = read(original).primary.to_bytes()  # the primary alone, bytes untouched
    out = restore(edited, original=original.read_bytes()).to_bytes()
    _assert_restored(edited, out)
    a = imagecodecs.ultrahdr_decode(original.read_bytes(), dtype="float16")
    b = imagecodecs.ultrahdr_decode(out, dtype="float16")
    assert np.array_equal(a, b)


def test_a_featureless_crop_is_refused_with_the_reason():
    """The fixture is a smooth gradient: nothing to register a crop against, so restoring from the original
    refuses and says why (test_restore_reference.py covers crops of textured pictures)."""
    original = UHDR.read_bytes()
    with Image.open(io.BytesIO(original)) as im:
        buf = io.BytesIO()
        im.crop((20, 10, 200, 170)).save(buf, "JPEG", quality=92)
    with pytest.raises(GainMapError, match="feature matches"):
        restore(buf.getvalue(), original=original)


def test_cli_restore(tmp_path, capsys):
    src = tmp_path / "flat.jpg"
    src.write_bytes(_stripped(UHDR))
    out = tmp_path / "hdr.jpg"
    assert main(["restore", str(src), "-o", str(out), "--predictor", "heuristic", "--max-headroom", "2"]) == 0
    assert read(out).metadata().alternate_hdr_headroom <= 2.0 + 1e-6
    assert main(["restore", str(src), "-o", str(src)]) == 2  # never overwrite the input
    assert main(["restore", str(out), "-o", str(tmp_path / "again.jpg")]) == 1  # already has one


def _sdr_plain_names() -> list[str]:
    return sorted(n for n, row in corpus_manifest().items() if row["kind"] == "sdr-plain" and (CORPUS / n).exists())


@needs_corpus
def test_corpus_has_sdr_plain_files():
    assert _sdr_plain_names()


@needs_corpus
@pytest.mark.parametrize("name", [pytest.param(n, id=n[:60]) for n in _sdr_plain_names()]
                         or [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpus is absent"))])
def test_restore_every_corpus_sdr_primary(name):
    """Every sdr-plain corpus file (whose primary is complete, grey or 3-component) restores cleanly."""
    data = (CORPUS / name).read_bytes()
    gmf = read(data)
    if not gmf.primary.complete or (gmf.primary.components or 0) not in (1, 3):
        pytest.skip("the primary is incomplete or neither grey nor 3-component: nothing to restore")
    out = restore(gmf, predictor="heuristic", force=True).to_bytes()
    _assert_restored(data, out)
