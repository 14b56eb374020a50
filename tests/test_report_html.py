"""The HTML report without a browser: self-contained pages, section order, the verdict in words, the anatomy the
validator hands the renderer, and the ``gainmap report`` command (one file, several, a folder, bad input).
The browser tests are in test_report_browser.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import CORPUS, FIXTURES, fixture_files, needs_corpus
from gainmap.analysis.report.html import SECTIONS, render_html, render_many
from gainmap.analysis.report.html_sections import verdict_words
from gainmap.analysis.validate import check_bytes
from gainmap.cli.main import main
from gainmap.testing.strategies import mutated_files

ROOT = Path(__file__).resolve().parents[1]
RENDERERS = sorted((ROOT / "src/gainmap/analysis/report").glob("html*.py"))
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?!data:|#|[\w.-]+\.html)[a-z]+:""", re.I)


def _page(path: Path) -> str:
    return render_html(check_bytes(path.read_bytes(), name=path.name, detail=True))


@pytest.mark.parametrize("path", fixture_files("valid") + fixture_files("broken"), ids=lambda p: p.name)
def test_pages_are_self_contained_and_in_order(path):
    html = _page(path)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "@import" not in html and "<link" not in html and "@font-face" not in html
    starts = [html.index(f'data-section="{name}"') for name in SECTIONS]
    assert starts == sorted(starts)
    assert html.count("data-preview=") == 1


def test_the_renderer_imports_no_parser_and_opens_no_file():
    """A renderer: nothing from the format parsers, the reader or the decoder, and no file access."""
    for path in RENDERERS:
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith(("gainmap.formats", "gainmap.model", "gainmap.hdr"))}
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "open" not in calls, path.name


def test_without_detail_the_page_says_what_is_missing():
    report = check_bytes((FIXTURES / "valid/ultrahdr.jpg").read_bytes(), name="ultrahdr.jpg")
    html = render_html(report)
    assert html.count("made without detail") == 3 and "made without pictures" in html


def test_verdict_in_words_names_viewers_reasons_and_the_fix():
    from gainmap.editing.repair import repair

    data = (FIXTURES / "valid/xmp_only.jpg").read_bytes()
    report = check_bytes(data, name="x.jpg")
    words = verdict_words(report)
    assert words.startswith("HDR in Chrome, Android")
    assert "SDR in Apple because there is no ISO 21496-1 version block in the primary" in words
    fixed = repair(data, name="x.jpg").after
    assert fixed.viewers["apple"].hdr
    assert "`gainmap repair` fixes it (then HDR in Apple too)" in verdict_words(report, fixed)
    flat = check_bytes(_flat_jpeg())
    assert verdict_words(flat).startswith("SDR everywhere: a plain JPEG")
    truncated = verdict_words(check_bytes((FIXTURES / "broken/truncated_gainmap.jpg").read_bytes()))
    assert "SDR in Chrome and Android because gain-map image does not decode" in truncated
    plain = check_bytes((FIXTURES / "valid/ultrahdr.jpg").read_bytes())
    assert verdict_words(plain).startswith("HDR in every modelled viewer")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_anatomy_tiles_the_file_and_renders(mutation):
    """For any damaged file: parts tile the file, each segment lies inside its part, and the page renders."""
    report = check_bytes(mutation.data, detail=True)
    anat = report.anatomy
    assert anat is not None and anat.size == len(mutation.data)
    ends = [0]
    for part in anat.parts:
        assert part.offset == ends[-1]
        ends.append(part.end)
    assert ends[-1] == len(mutation.data)
    for seg in anat.segments:
        assert any(p.offset <= seg.offset and seg.end <= p.end for p in anat.parts if p.kind == "image")
    assert "data-preview" in render_html(report)


# ------------------------------------------------------------------------------------------------ the command
def test_one_file_several_files_and_a_folder(tmp_path):
    one = tmp_path / "one.html"
    assert main(["report", str(FIXTURES / "valid/ultrahdr.jpg"), "-o", str(one)]) == 0
    assert one.read_text().count("<article") == 1
    many = tmp_path / "many.html"
    files = [str(p) for p in fixture_files("valid")[:3]]
    assert main(["report", *files, "-o", str(many)]) == 0
    assert many.read_text().count("<article") == 3
    out = tmp_path / "site"
    assert main(["report", str(FIXTURES), "-r", "-o", str(out), "-j", "2"]) == 1  # broken files have errors
    pages = sorted(p.name for p in out.iterdir())
    expected = sorted(f"{p.parent.name}__{p.name}.html" for p in fixture_files("valid") + fixture_files("broken"))
    assert pages == sorted([*expected, "index.html"])
    index = (out / "index.html").read_text()
    assert all(f'href="{name}"' in index for name in expected)


def test_bad_inputs_get_a_message_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "absent.jpg"), "-o", str(tmp_path / "x.html")]) == 2
    assert "absent.jpg: no such file or folder" in capsys.readouterr().err
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "fake.jpg").write_bytes(b"\x00\x00\x00\x1cftypavif" + bytes(40))
    (folder / "ok.jpg").write_bytes((FIXTURES / "valid/ultrahdr.jpg").read_bytes())
    assert main(["report", str(folder), "-o", str(tmp_path / "out")]) == 2
    assert "fake.jpg" in capsys.readouterr().err
    index = (tmp_path / "out/index.html").read_text()
    assert 'data-file="fake.jpg" data-kind="unreadable"' in index and 'href="ok.jpg.html"' in index
    assert main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "y")]) == 2


@needs_corpus
def test_verdict_says_when_no_gain_map_is_found():
    mpo = CORPUS / "pillow__ignore_frame_size.mpo"
    if not mpo.is_file():
        pytest.skip("pillow__ignore_frame_size.mpo is not in the corpus")
    report = check_bytes(mpo.read_bytes())
    assert report.gainmap is None
    assert verdict_words(report).startswith("No gain-map image found. SDR in Chrome and Android because first MP")


@needs_corpus
def test_corpus_folder_report_covers_every_file_and_the_index_stays_small(tmp_path):
    """Every corpus file gets a page (or an index row saying why not) and index.html stays under 20 MB.
    (Time is measured by tests/benchmarks/bench_report.py, not here.)"""
    out = tmp_path / "corpus"
    assert main(["report", str(CORPUS), "-r", "-o", str(out), "--no-repair-check", "-j", "1"]) in (1, 2)
    jpegs = [p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")]
    index = (out / "index.html").read_text()
    assert index.count("<tr data-file=") == len(jpegs)
    pages = list(out.glob("*.html"))
    assert len(pages) - 1 == len(jpegs) - index.count('data-kind="unreadable"')
    assert (out / "index.html").stat().st_size < 20 * 1024 * 1024
    assert all(p.stat().st_size > 2000 for p in pages)


def test_many_pages_keep_ids_unique():
    reports = [check_bytes(p.read_bytes(), name=p.name, detail=True) for p in fixture_files("valid")[:2]]
    html = render_many(reports)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_repair_and_restore_reports_show_before_and_after(tmp_path, capsys):
    out = tmp_path / "repair.html"
    src = FIXTURES / "broken/stale_mpf_offset.jpg"
    assert main(["report", str(src), "-o", str(tmp_path / "plain.html")]) == 1
    assert main(["repair", str(src), "-o", str(tmp_path / "fixed.jpg"), "--report", str(out)]) == 0
    html = out.read_text()
    assert html.count("data-preview=") == 2 and "recompute-mpf" in html
    assert re.findall(r'data-viewer="apple" data-hdr="(\w+)"', html) == ["false", "true"]
    flat = tmp_path / "flat.jpg"
    flat.write_bytes(_flat_jpeg())
    restored = tmp_path / "restored.html"
    assert main(["restore", str(flat), "-o", str(tmp_path / "r.jpg"), "--predictor", "heuristic",
                 "--report", str(restored)]) == 0
    html = restored.read_text()
    assert html.count("data-preview=") == 2 and "predicted by heuristic" in html
    assert 'data-section="bytemap"' in html and html.count('class="bar parts"') == 2


def _flat_jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.open(FIXTURES / "valid/ultrahdr.jpg").convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()
