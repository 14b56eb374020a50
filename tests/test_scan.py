"""``gainmap scan`` and gainmap.library: the walk, the rows, the three outputs, the cache, --jobs and --fail-on,
on small generated trees (fixtures) and once over the real-world corpus."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, FIXTURES, corpus_manifest
from gainmap.analysis.checks.catalogue import catalogue
from gainmap.cli import main
from gainmap.library.cache import RowCache
from gainmap.library.rows import FIELD_NAMES, VIEWERS, scan_file
from gainmap.library.runner import scan_rows
from gainmap.library.summary import FailOn
from gainmap.library.walk import sniff, walk

VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A small library: JPEGs under odd names, a PNG, a HEIC and an AVIF header, sidecars, hidden and NAS
    folders, an empty file and a nested folder."""
    root = tmp_path / "lib"
    (root / "2024" / "trip").mkdir(parents=True)
    shutil.copy(VALID / "ultrahdr.jpg", root / "a.jpg")
    shutil.copy(BROKEN / "stale_mpf_offset.jpg", root / "b.JPEG")
    shutil.copy(VALID / "iso_only.jpg", root / "2024" / "photo.bin")  # a JPEG by content, not by name
    shutil.copy(VALID / "apple.jpg", root / "2024" / "trip" / "c.jpg")
    (root / "2024" / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (root / "2024" / "pic.heic").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")
    (root / "2024" / "trip" / "pic.avif").write_bytes(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf")
    (root / "empty.jpg").write_bytes(b"")
    (root / "a.jpg.xmp").write_text("<x:xmpmeta/>")
    (root / "IMG_1.AAE").write_text("<plist/>")
    (root / ".DS_Store").write_bytes(b"\0" * 8)
    for hidden in ("@eaDir", ".thumbnails", ".git"):
        (root / hidden).mkdir()
        shutil.copy(VALID / "ultrahdr.jpg", root / hidden / "thumb.jpg")
    return root


def _rel(rows: list[dict], root: Path) -> list[str]:
    return [Path(r["path"]).relative_to(root).as_posix() for r in rows]


def test_walk_skips_hidden_sidecars_and_nas_folders(tree):
    assert [p.relative_to(tree).as_posix() for p in walk([tree])] == ["a.jpg", "b.JPEG", "empty.jpg"]
    assert [p.relative_to(tree).as_posix() for p in walk([tree], recursive=True)] == [
        "a.jpg", "b.JPEG", "empty.jpg", "2024/photo.bin", "2024/pic.heic", "2024/pic.png",
        "2024/trip/c.jpg", "2024/trip/pic.avif"]
    assert list(walk([tree / "a.jpg.xmp"])) == [tree / "a.jpg.xmp"]  # named explicitly: scanned


def test_walk_refuses_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(walk([tmp_path / "absent"]))


@pytest.mark.parametrize(("head", "fmt"), [
    (b"\xff\xd8\xff\xe1", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\0\0\0\x18ftypheic", "heic"),
    (b"\0\0\0\x18ftypavif", "avif"), (b"\0\0\0\x18ftypisom", "mp4"), (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
    (b"", "empty"), (b"hello", "unknown")])
def test_sniff(head, fmt):
    assert sniff(head) == fmt


def test_one_row_per_file_in_walk_order(tree):
    rows = list(scan_rows([tree], recursive=True, jobs=1))
    assert _rel(rows, tree) == [p.relative_to(tree).as_posix() for p in walk([tree], recursive=True)]
    by = dict(zip(_rel(rows, tree), rows))
    assert all(list(r) == list(FIELD_NAMES) for r in rows)
    a = by["a.jpg"]
    assert (a["status"], a["format"], a["kind"], a["errors"], a["warnings"]) == (
        "checked", "jpeg", "ultrahdr-xmp+iso", 0, 0)
    assert all(a[f"hdr_{v}"] for v in VIEWERS) and a["repairable"] is False and a["severity"] in ("none", "info")
    assert a["gainmap_width"] and a["primary_width"] and a["headroom"] > 0 and a["size"] == (tree / "a.jpg").stat().st_size
    b = by["b.JPEG"]
    assert b["severity"] == "error" and "mpf.entry-offset" in b["finding_ids"]
    assert "recompute-mpf" in b["repair_actions"] and b["repairable"] is True and b["errors"] >= 1
    assert by["2024/photo.bin"]["kind"] == "iso-only"
    assert by["2024/trip/c.jpg"]["kind"] == "apple-hdrgainmap"
    for name, fmt in (("2024/pic.png", "png"), ("2024/pic.heic", "heic"), ("2024/trip/pic.avif", "avif")):
        assert (by[name]["status"], by[name]["format"], by[name]["kind"]) == ("not-checked", fmt, "other")
        assert by[name]["hdr_chrome"] is None
    assert by["empty.jpg"]["status"] == "error" and "empty" in by["empty.jpg"]["error"]


def test_unreadable_file_gets_a_row(tmp_path):
    row = scan_file(tmp_path / "gone.jpg")
    assert row["status"] == "error" and "cannot read" in row["error"] and row["path"].endswith("gone.jpg")


def test_viewer_columns_are_the_catalogues_viewers():
    assert tuple(catalogue().viewers) == VIEWERS


def test_jobs_give_the_same_rows_in_the_same_order(tree):
    assert list(scan_rows([tree], recursive=True, jobs=2)) == list(scan_rows([tree], recursive=True, jobs=1))


def test_cache_answers_unchanged_files_and_rechecks_changed_ones(tree, tmp_path):
    db = tmp_path / "cache.sqlite"
    first = list(scan_rows([tree], recursive=True, jobs=1, cache=db))
    with RowCache(db) as cache:
        st = (tree / "a.jpg").stat()
        assert cache.get(str(tree / "a.jpg"), st.st_size, st.st_mtime_ns) == first[0]
    shutil.copy(BROKEN / "no_mpf.jpg", tree / "a.jpg")  # a changed file: new size and mtime
    os.utime(tree / "a.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = list(scan_rows([tree], recursive=True, jobs=1, cache=db))
    assert second[0] != first[0] and second[0] == scan_file(tree / "a.jpg")
    assert second[1:] == first[1:]


def test_cache_is_dropped_when_the_version_changes(tree, tmp_path):
    db = tmp_path / "cache.sqlite"
    list(scan_rows([tree], jobs=1, cache=db))
    st = (tree / "a.jpg").stat()
    with RowCache(db, stamp="gainmap 0.0.0 rows 0") as cache:
        assert cache.get(str(tree / "a.jpg"), st.st_size, st.st_mtime_ns) is None
    with RowCache(db) as cache:  # and the old stamp's rows are gone for good
        assert cache.get(str(tree / "a.jpg"), st.st_size, st.st_mtime_ns) is None


def test_a_cache_that_is_not_sqlite_is_a_usage_error(tree, tmp_path, capsys):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    assert main(["scan", str(tree), "--cache", str(bad)]) == 2
    assert "not a gainmap cache" in capsys.readouterr().err


@pytest.mark.parametrize(("words", "b_fails", "heic_fails", "empty_fails"), [
    ("error", True, False, False), ("error,unreadable", True, False, True), ("none", False, False, False),
    ("mpf.entry-offset", True, False, False), ("mpf.*", True, False, False), ("not-checked", False, True, False)])
def test_fail_on(tree, words, b_fails, heic_fails, empty_fails):
    by = dict(zip(_rel(rows := list(scan_rows([tree], recursive=True, jobs=1)), tree), rows))
    rule = FailOn.parse(words)
    assert rule.matches(by["b.JPEG"]) is b_fails
    assert rule.matches(by["2024/pic.heic"]) is heic_fails
    assert rule.matches(by["empty.jpg"]) is empty_fails
    assert rule.matches(by["a.jpg"]) is False


def test_fail_on_severity_means_that_severity_or_worse(tree):
    row = scan_file(tree / "b.JPEG")
    assert FailOn.parse("warning").matches(row) and FailOn.parse("info").matches(row)
    assert not FailOn.parse("warning").matches(scan_file(tree / "a.jpg"))


def test_cli_json_csv_and_parquet_hold_the_same_rows(tree, tmp_path, capsys):
    assert main(["scan", str(tree), "-r", "--jobs", "1", "--json", "--fail-on", "none"]) == 0
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert len(rows) == 8 and "top 10 finding ids" in out.err  # the summary goes to stderr with --json
    assert main(["scan", str(tree), "-r", "--jobs", "1", "--csv", str(tmp_path / "s.csv")]) == 1
    with open(tmp_path / "s.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["path"] for r in table] == [r["path"] for r in rows] and list(table[0]) == list(FIELD_NAMES)
    b = next(r for r in table if r["path"].endswith("b.JPEG"))
    assert b["finding_ids"] == ";".join(rows[1]["finding_ids"]) and b["hdr_apple"] == "false"
    pq = pytest.importorskip("pyarrow.parquet")
    assert main(["scan", str(tree), "-r", "--jobs", "2", "--parquet", str(tmp_path / "s.parquet")]) == 1
    assert pq.read_table(tmp_path / "s.parquet").to_pylist() == rows


def test_cli_text_lists_failing_files_and_sums_up(tree, capsys):
    assert main(["scan", str(tree), "-r", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "b.JPEG: broken, error; HDR in " in lines[0] and "mpf.entry-offset" in lines[0]
    assert lines[0].endswith("; repairable")
    assert "empty.jpg: the file is empty" in out
    assert "8 files: 4 checked, 1 error, 3 not-checked; 2 match --fail-on" in out
    assert "ultrahdr-xmp+iso" in out and "heic" in out


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err
    assert main(["scan", str(tmp_path), "--jobs", "0"]) == 2
    assert main(["scan", str(tmp_path), "--fail-on", "bogus"]) == 2
    assert "unknown 'bogus'" in capsys.readouterr().err
    assert main(["scan", str(tmp_path), "--csv", str(tmp_path / "no" / "x.csv")]) == 2


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_corpus_scan_agrees_with_the_manifest():
    """One pass over the corpus: every file gets a row, and the kinds are the MANIFEST's."""
    manifest = corpus_manifest()
    rows = {Path(r["path"]).name: r for r in scan_rows([CORPUS], recursive=True, jobs=2)}
    assert set(manifest) <= set(rows)
    wrong = {name: (rows[name]["kind"], m["kind"]) for name, m in manifest.items()
             if rows[name]["status"] == "checked" and rows[name]["kind"] != m["kind"]}
    assert not wrong
    assert all(r["status"] != "error" for r in rows.values())
