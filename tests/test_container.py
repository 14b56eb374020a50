"""The reader and writer: byte-exact rewrites, gain-map location, derived values after edits, peers agree."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from PIL import Image

import gainmap
from conftest import (
    CORPUS,
    corpus_files,
    corpus_manifest,
    corpus_params,
    fixture_files,
    needs_corpus,
    needs_exiftool,
)
from gainmap.errors import NotAJpegError
from gainmap.formats.scanner import Segment
from gainmap.model.reader import read


def _read_or_none(path):
    try:
        return read(path)
    except NotAJpegError:
        return None


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_reads_and_rewrites_byte_for_byte(path):
    data = path.read_bytes()
    try:
        gmf = read(data, name=path.name)
    except NotAJpegError as exc:
        assert path.name in str(exc)
        return
    assert gmf.to_bytes() == data
    for problem in gmf.problems:
        assert 0 <= problem.offset <= len(data)


@needs_corpus
def test_corpus_gainmap_dims_agree_with_manifest():
    manifest = corpus_manifest()
    mismatches = []
    for path in corpus_files():
        row = manifest.get(path.name)
        gmf = _read_or_none(path)
        if row is None or gmf is None:
            continue
        expected = row["gainmap_dims"]
        # MANIFEST's gainmap_dims is "the second image's size"; for stereo MPOs (MP type disparity) that image
        # is a second view, not a gain map, so compare with the second image there.
        second = gmf.gainmap or (gmf.images[1] if len(gmf.images) > 1 else None)
        found = f"{second.width}x{second.height}" if second is not None else ""
        if expected and expected != found:
            mismatches.append((path.name, expected, found))
        if not expected and row["kind"] == "sdr-plain" and gmf.gainmap is not None:
            mismatches.append((path.name, "no gain map", found))
    assert not mismatches, mismatches


@needs_corpus
@needs_exiftool
def test_corpus_mpf_entries_agree_with_exiftool():
    files = [p for p in corpus_files() if (g := _read_or_none(p)) is not None and g.primary.mpf is not None]
    out = subprocess.run(["exiftool", "-j", "-a", "-G1", "-n", "-MPF:all", *map(str, files)],
                         capture_output=True, text=True, timeout=300)
    by_file = {r["SourceFile"]: r for r in json.loads(out.stdout)}
    checked = 0
    for path in files:
        gmf = read(path)
        ours = gmf.primary.mpf
        base = gmf.primary.first("mpf", header_only=False).offset + 8
        theirs = by_file[str(path)]
        for i, entry in enumerate(ours.entries, start=1):
            start = theirs.get(f"MPImage{i}:MPImageStart")
            if start is None:
                continue
            # exiftool converts MPImageStart to an absolute file offset (TIFF-header base + offset; 0 stays 0)
            expected = base + entry.offset if entry.offset else 0
            assert (start, theirs[f"MPImage{i}:MPImageLength"]) == (expected, entry.size), (path.name, i)
            checked += 1
    assert checked >= 20


@needs_corpus
def test_pillow_agrees_on_primary_size():
    for path in corpus_files():
        gmf = _read_or_none(path)
        if gmf is None or gmf.primary.frame is None:
            continue
        try:
            with Image.open(path) as im:
                size = im.size
        except Exception:  # Pillow refuses some broken files outright; ours reads them
            continue
        assert size == (gmf.primary.width, gmf.primary.height), path.name


def test_not_a_jpeg_is_identified():
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
    with pytest.raises(NotAJpegError, match="AVIF"):
        read(avif, name="photo.jpg")
    with pytest.raises(NotAJpegError, match="empty"):
        read(b"")
    with pytest.raises(NotAJpegError, match="PNG"):
        read(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)


def test_public_read_prints_a_summary():
    path = fixture_files("valid")[0]
    text = str(gainmap.read(path))
    assert "GainMapFile" in text and "gainmap=@" in text


def _grow_primary(gmf: gainmap.GainMapFile, extra: int = 3000) -> None:
    gmf.primary.insert(Segment.app(15, b"gainmap-test\x00" + bytes(extra)))


@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_adding_a_segment_keeps_mpf_and_item_length_right(path):
    data = path.read_bytes()
    before = read(data)
    gm_before = before.gainmap.to_bytes()
    gmf = read(data)
    _grow_primary(gmf)
    out = gmf.to_bytes()
    after = read(out)
    assert after.gainmap is not None and after.gainmap.to_bytes() == gm_before
    assert after.locations["mpf"] == after.gainmap.offset
    assert set(v for v in after.locations.values() if v is not None) == {after.gainmap.offset}
    info = after.primary.mpf
    assert info.entries[0].size == after.primary.size and info.entries[0].offset == 0
    items = after.primary.xmp.container_items if after.primary.xmp is not None else []
    for item in items:
        if item.semantic == "GainMap":
            assert item.length == after.gainmap.size


@needs_exiftool
@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_exiftool_and_pillow_find_the_gainmap_after_an_edit(path, tmp_path):
    gmf = read(path)
    _grow_primary(gmf)
    out = tmp_path / "edited.jpg"
    out.write_bytes(gmf.to_bytes())
    after = read(out)
    res = subprocess.run(["exiftool", "-j", "-a", "-G1", "-n", "-MPF:all", str(out)],
                         capture_output=True, text=True, timeout=60)
    row = json.loads(res.stdout)[0]
    assert row["MPImage2:MPImageStart"] == after.gainmap.offset  # exiftool reports absolute offsets
    assert row["MPImage2:MPImageLength"] == after.gainmap.size
    with Image.open(path) as a, Image.open(out) as b:
        assert (a.format, getattr(a, "n_frames", 1), a.size) == (b.format, getattr(b, "n_frames", 1), b.size)
        if getattr(b, "n_frames", 1) > 1:
            b.seek(1)
            assert b.size == (after.gainmap.width, after.gainmap.height)


@pytest.mark.parametrize("path", fixture_files("valid"), ids=lambda p: p.name)
def test_libultrahdr_decodes_after_an_edit(path):
    imagecodecs = pytest.importorskip("imagecodecs")
    data = path.read_bytes()
    try:
        ref = imagecodecs.ultrahdr_decode(data, dtype="float16")
    except Exception:
        pytest.skip("libultrahdr 1.4 does not decode this fixture kind (e.g. Apple or multichannel)")
    gmf = read(data)
    _grow_primary(gmf)
    got = imagecodecs.ultrahdr_decode(gmf.to_bytes(), dtype="float16")
    assert (got == ref).all()


@needs_corpus
def test_corpus_edit_moves_the_gainmap_correctly():
    """On real files: grow the primary, and every viewer-path still lands on the same gain-map bytes."""
    imagecodecs = pytest.importorskip("imagecodecs")
    for name in ("vearutop__small_uhdr.jpg", "libavif__apple_gainmap_new.jpg",
                 "awesomegm__gain_mapped-test_chart-color_01.jpg"):
        data = (CORPUS / name).read_bytes()
        gmf = read(data)
        gm_bytes = gmf.gainmap.to_bytes()
        _grow_primary(gmf)
        out = gmf.to_bytes()
        after = read(out)
        assert after.gainmap.to_bytes() == gm_bytes
        assert after.locations["mpf"] == after.gainmap.offset
        if imagecodecs.ultrahdr_check(data):
            a = imagecodecs.ultrahdr_decode(data, dtype="float16")
            b = imagecodecs.ultrahdr_decode(out, dtype="float16")
            assert (a == b).all()
        with Image.open(io.BytesIO(out)) as im:
            im.load()



def test_a_resized_gainmap_keeps_the_primary_padding_over_kept_junk():
    """After an edit, Item:Length follows the map's size and Item:Padding still spans the junk before it."""
    from gainmap.editing.repair import repair

    data = (fixture_files("valid")[0].parent / "iso_only.jpg").read_bytes()
    end = read(data).primary.end
    fixed = repair(data[:end] + b"\x00\xff\xd8junk" + data[end:]).data  # kept: not provably padding
    gmf = read(fixed)
    assert gmf.primary.xmp.container_items[0].padding == 7
    gmf.gainmap.insert(Segment.app(11, b"grown" * 40))
    after = read(gmf.to_bytes())
    items = after.primary.xmp.container_items
    assert (items[0].padding, items[1].length) == (7, after.gainmap.size)
    assert set(after.locations.values()) == {after.gainmap.offset}
