"""gainmap.analysis.classify reproduces the corpus MANIFEST's ``kind`` column, and ``check --json`` shows it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import CORPUS, FIXTURES, corpus_manifest, corpus_params
from gainmap.analysis.checks.registry import Finding
from gainmap.analysis.classify import BROKEN_IDS, KINDS, classify, classify_report
from gainmap.analysis.report import Report, render_json
from gainmap.analysis.validate import check, check_bytes
from gainmap.formats import mpf
from gainmap.formats.scanner import Segment
from gainmap.model.reader import read

#: Files where our reading differs from the MANIFEST's first reading, with the reason found in the bytes.
#: Empty: every corpus file agrees.  (Readings checked against the bytes rather than taken on trust:
#: uhdrbluredit__result_image13.jpg is "broken" although libultrahdr decodes it, because its MPF entry points
#: inside the primary, so Chrome, Android, Apple and libavif find no gain map; the standalone gain-map image
#: uhdrsplitter__GalaxyS24_2_Original_split_2.jpg is "other", not "broken", although its primary says
#: hdrgm:Version="1.0" with no second image, because its own XMP carries the parameters: it *is* the gain map;
#: gainmapjs__qwantani_puresky_8k-gainmap.jpg is "sdr-plain": a gain map by content but with no metadata in the
#: file, so nothing makes it one; the Android platform samples are "ultrahdr-xmp-only" although their standard
#: XMP packet has neither hdrgm nor a GContainer Directory: both live in the ExtendedXMP, where Skia finds them.)
DIFFERENCES: dict[str, tuple[str, str]] = {}


def _plain(**save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 100, np.uint8)).save(buf, format="JPEG", **save)
    return buf.getvalue()


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_kind_matches_the_manifest(path: Path):
    row = corpus_manifest()[path.name]
    ours = classify(path)
    assert ours in KINDS
    expected = DIFFERENCES.get(path.name, (row["kind"], ""))[0]
    assert ours == expected, f"{path.name}: ours {ours}, MANIFEST {row['kind']}"


@pytest.mark.corpus
def test_every_manifest_row_has_a_file_and_a_known_kind():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    rows = corpus_manifest()
    assert rows and all(r["kind"] in KINDS for r in rows.values())
    assert set(DIFFERENCES) <= set(rows)


@pytest.mark.parametrize(("name", "kind"), [
    ("valid/ultrahdr.jpg", "ultrahdr-xmp+iso"), ("valid/xmp_only.jpg", "ultrahdr-xmp-only"),
    ("valid/iso_only.jpg", "iso-only"), ("valid/multichannel_iso.jpg", "iso-only"),
    ("valid/apple.jpg", "apple-hdrgainmap"), ("valid/apple_v1.jpg", "apple-hdrgainmap"),
    ("broken/truncated_gainmap.jpg", "broken"), ("broken/stale_mpf_offset.jpg", "broken"),
    ("broken/bad_byte_order.jpg", "broken"), ("broken/wrong_mpf_size.jpg", "ultrahdr-xmp+iso"),
    ("broken/seq_form_xmp.jpg", "ultrahdr-xmp-only"),
])
def test_fixtures(name: str, kind: str):
    assert classify(FIXTURES / name) == kind
    assert classify((FIXTURES / name).read_bytes()) == kind
    assert classify(read(FIXTURES / name)) == kind


def test_adobe_style_is_hdrgm_without_directory_or_iso():
    gmf = read(FIXTURES / "valid" / "xmp_only.jpg")
    seg = gmf.primary.first("xmp")
    text = seg.payload.decode()
    start, end = text.index("<Container:Directory>"), text.index("</Container:Directory>") + 22
    seg.payload = (text[:start] + text[end:]).encode()
    gmf.update_mpf()
    assert classify(gmf.to_bytes(recompute=False)) == "adobe-gainmap"


def test_plain_other_and_not_a_jpeg():
    assert classify(_plain()) == "sdr-plain"
    assert classify(b"\x89PNG\r\n\x1a\n" + bytes(16)) == "other"
    # a two-image MPF file whose second image carries no gain-map metadata (a stereo MPO, say)
    second = _plain(quality=60)
    gmf = read(_plain())
    gmf.primary.insert(Segment.app(2, mpf.make_mpf(0, [(len(second), 0)])))
    gmf.parts.append(read(second).primary)
    gmf.mpf_links = [gmf.primary, gmf.parts[-1]]
    data = gmf.to_bytes(recompute=True)
    assert read(data).gainmap is not None  # located, but nothing says it is a gain map
    assert classify(data) == "other"


def test_report_path_uses_only_the_report():
    six = {"mpf": True, "container_xmp": False, "hdrgm": True, "iso_primary": False, "iso_gainmap": False,
           "icc": True}
    from gainmap.analysis.report import ImageInfo

    gm = ImageInfo(1000, 500, 10, 10, 1)
    assert classify_report(Report.build("x", six, [], gainmap=gm, metadata=("hdrgm",))) == "adobe-gainmap"
    assert classify_report(Report.build("x", {**six, "container_xmp": True}, [], gainmap=gm,
                                        metadata=("hdrgm",))) == "ultrahdr-xmp-only"
    for fid in sorted(BROKEN_IDS):
        broken = Report.build("x", six, [Finding(fid, offset=0, length=1, message="m")], gainmap=gm)
        assert classify_report(broken) == "broken", fid
    assert classify_report(Report.build("x", {}, [])) == "sdr-plain"


def test_json_shows_the_kind():
    report = check(FIXTURES / "valid" / "iso_only.jpg")
    out = render_json(report)
    assert out["kind"] == "iso-only" and list(out)[:3] == ["schema_version", "file", "kind"]
    assert json.loads(json.dumps(out))["kind"] == "iso-only"
    assert render_json(check_bytes((FIXTURES / "broken" / "truncated_gainmap.jpg").read_bytes()))["kind"] == "broken"
