"""The viewer-verdict engine: the shipped model on hand-made findings, and the rule language on tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.analysis.checks.catalogue import SIX, VIEWERS, catalogue, load_catalogue
from gainmap.analysis.checks.registry import Finding
from gainmap.analysis.checks.viewers import Verdict, verdicts

REPO = Path(__file__).resolve().parents[1]
CHECKS = (REPO / "specs" / "checks.toml").read_text(encoding="utf-8")

ALL_SIX = dict.fromkeys(SIX, True)
ULTRA_HDR_V1 = {"mpf": True, "container_xmp": True, "hdrgm": True, "icc": True}  # hdrgm + GContainer, no ISO
ISO_ONLY = {"mpf": True, "iso_primary": True, "iso_gainmap": True, "icc": True}


def F(cid: str, **kw) -> Finding:  # noqa: N802 - reads like a constructor in the tables below
    return Finding(cid, **kw)


def hdr(six, findings) -> dict[str, bool]:
    return {k: v.hdr for k, v in verdicts(six, findings).items()}


# ---------------------------------------------------------------------------------------------- shipped model
def test_everything_present_and_no_findings_means_hdr_everywhere():
    result = verdicts(ALL_SIX, [])
    assert list(result) == list(VIEWERS)
    assert all(v.hdr for v in result.values())
    assert result["chrome"].route == "iso" and result["libavif"].route == "hdrgm"
    assert result["chrome"].because == ["six.mpf", "six.iso_primary", "six.iso_gainmap"]


def test_nothing_present_means_sdr_everywhere():
    result = verdicts({}, [])
    assert not any(v.hdr for v in result.values())
    assert result["chrome"].because == ["six.mpf"]
    assert "six.iso_gainmap" in result["libultrahdr"].because


def test_stale_mpf_offset_breaks_chrome_and_android_but_not_libultrahdr():
    result = verdicts(ISO_ONLY, [F("mpf.entry-offset", offset=76, length=4, message="points inside the primary")])
    assert not result["chrome"].hdr and not result["android"].hdr
    assert result["chrome"].because == ["mpf.entry-offset"]
    assert result["libultrahdr"].hdr and result["libultrahdr"].route == "iso"
    assert not result["libavif"].hdr


def test_gcontainer_rescues_chrome_when_mpf_is_stale():
    """Skia falls back to the GContainer item (hdrgm only) when no MPF image yields a gain map."""
    stale = F("mpf.entry-offset", offset=76, length=4)
    result = verdicts(ULTRA_HDR_V1, [stale])
    assert result["chrome"].hdr and result["chrome"].route == "gcontainer"
    assert not result["libavif"].hdr and result["libultrahdr"].hdr
    # ... but not when the directory is wrong too.
    broken = verdicts(ULTRA_HDR_V1, [stale, F("container.item-length")])
    assert not broken["chrome"].hdr
    assert set(broken["chrome"].because) == {"mpf.entry-offset", "container.item-length"}


def test_structural_mpf_error_blocks_skia_whatever_the_metadata():
    result = verdicts(ALL_SIX, [F("mpf.unknown-tag", offset=30, length=12)])
    assert not result["chrome"].hdr and result["chrome"].because == ["mpf.unknown-tag"]
    assert result["libultrahdr"].hdr and result["libavif"].hdr


def test_adobe_seq_form_fails_libultrahdr_only():
    six = {"mpf": True, "hdrgm": True, "icc": True}
    result = verdicts(six, [F("hdrgm.seq-form", offset=900, length=0)])
    assert hdr(six, [F("hdrgm.seq-form")]) == {"chrome": True, "android": True, "apple": False,
                                                "libultrahdr": False, "libavif": True, "adobe": True}
    assert result["libultrahdr"].because == ["hdrgm.seq-form"]


def test_adobe_seq_form_with_iso_is_fine_for_libultrahdr():
    result = verdicts(ALL_SIX, [F("hdrgm.seq-form")])
    assert result["libultrahdr"].hdr and result["libultrahdr"].route == "iso"


def test_libultrahdr_does_not_fall_back_from_invalid_iso():
    findings = [F("iso.min-version", offset=2000, length=2, image=1)]
    result = verdicts(ALL_SIX, findings)
    assert not result["libultrahdr"].hdr and result["libultrahdr"].because == ["iso.min-version"]
    # Skia does fall back to hdrgm, and libavif never read ISO.
    assert result["chrome"].hdr and result["chrome"].route == "hdrgm"
    assert result["libavif"].hdr


def test_libultrahdr_reads_only_the_gainmaps_iso_block():
    """The primary's version block is Skia's business; libultrahdr parses only the gain map's ISO payload."""
    on_primary = verdicts(ALL_SIX, [F("iso.min-version", offset=40, length=2, image=0)])
    assert on_primary["libultrahdr"].hdr and on_primary["libultrahdr"].route == "iso"
    assert on_primary["chrome"].route == "hdrgm"  # Skia's ISO route needs a good version block in the primary
    on_gainmap = verdicts(ALL_SIX, [F("iso.length", offset=4000, length=2, image=1)])
    assert not on_gainmap["libultrahdr"].hdr and on_gainmap["libultrahdr"].because == ["iso.length"]


def test_a_frameless_primary_shows_nothing_anywhere():
    result = verdicts(ALL_SIX, [F("jpeg.primary-no-image", offset=0, length=4, image=0)])
    assert all(not v.hdr and v.because == ["jpeg.primary-no-image"] for v in result.values())


def test_iso_only_file_fails_libavif_for_lack_of_hdrgm():
    result = verdicts(ISO_ONLY, [F("sync.xmp-missing")])
    assert not result["libavif"].hdr and result["libavif"].because == ["six.hdrgm", "apple.gainmap"]
    assert result["chrome"].hdr and result["libultrahdr"].hdr and result["apple"].hdr


def test_gainmap_icc_breaks_apple_and_says_it_is_reported():
    result = verdicts(ISO_ONLY, [F("icc.gainmap-profile", offset=3000, length=932)])
    apple = result["apple"]
    assert not apple.hdr and apple.because == ["icc.gainmap-profile"]
    assert apple.evidence == "reported" and "Reported" in apple.note
    assert result["chrome"].evidence == "code"


def test_apple_gain_map_needs_the_maker_note_in_chrome_only():
    six = {"mpf": True, "icc": True}
    ok = verdicts(six, [F("apple.gainmap")])
    assert all(ok[k].hdr for k in ("chrome", "android", "apple", "libultrahdr", "libavif"))
    assert ok["chrome"].route == "apple" and not ok["adobe"].hdr
    lost = verdicts(six, [F("apple.gainmap"), F("apple.makernote-missing")])
    assert not lost["chrome"].hdr and lost["chrome"].because == ["apple.makernote-missing"]
    assert lost["libultrahdr"].hdr and lost["libavif"].hdr


def test_gainmap_without_primary_hdrgm_reaches_libavif_and_libultrahdr():
    six = {"mpf": True, "icc": True}
    result = verdicts(six, [F("hdrgm.primary-missing")])
    assert result["libavif"].hdr and result["libultrahdr"].hdr
    assert result["libavif"].because == ["six.mpf", "hdrgm.primary-missing"]
    assert not result["chrome"].hdr


def test_blocking_is_independent_of_severity():
    result = verdicts(ALL_SIX, [F("gainmap.dimension-limit", severity="info")])
    assert not result["libultrahdr"].hdr and result["chrome"].hdr


def test_unknown_presence_check_is_refused():
    with pytest.raises(ValueError, match="presence"):
        verdicts({"mpf": True, "exif": True}, [])


# ---------------------------------------------------------------------------------------------- properties
_IDS = sorted(catalogue().checks)
_findings = st.lists(st.sampled_from(_IDS).map(F), max_size=8)
_six = st.fixed_dictionaries({name: st.booleans() for name in SIX})


@settings(max_examples=300, deadline=None)
@given(six=_six, findings=_findings)
def test_verdicts_are_explained_and_deterministic(six, findings):
    first = verdicts(six, findings)
    assert first == verdicts(six, list(reversed(findings)))
    present = {f.id for f in findings}
    cat = catalogue()
    for key, v in first.items():
        assert isinstance(v, Verdict) and v.because, (key, v)
        assert len(v.because) == len(set(v.because))
        spec = cat.viewers[key]
        assert (v.route is not None) == v.hdr
        if v.hdr:
            assert not present & set(spec.blocked_by)
            assert all(six[i[4:]] if i.startswith("six.") else i in present for i in v.because)
        for cid in v.because:
            assert cid in cat.checks


@settings(max_examples=200, deadline=None)
@given(six=_six, findings=_findings, data=st.data())
def test_a_blocking_finding_always_blocks(six, findings, data):
    key = data.draw(st.sampled_from(VIEWERS))
    blockers = catalogue().viewers[key].blocked_by
    blocker = data.draw(st.sampled_from(blockers))
    cid, _, scope = blocker.partition("@")
    v = verdicts(six, [*findings, F(cid, image=1 if scope == "secondary" else 0)])[key]
    assert not v.hdr and cid in v.because


# ---------------------------------------------------------------------------------------------- the rule language
def _checks(*ids: str) -> str:
    """checks.toml with ``ids`` breaking every viewer, so a test model may use them anywhere."""
    text = CHECKS
    everyone = "breaks = [" + ", ".join(f'"{v}"' for v in VIEWERS) + "]"
    for cid in ids:
        start = text.index(f'id = "{cid}"\n')
        line = text.index("breaks = ", start)
        end = text.index("\n", line)
        text = text[:line] + everyone + text[end:]
    return text


TEST_CHECKS = _checks("six.icc", "six.mpf", "jpeg.garbage", "jpeg.fill-bytes")


def _model(routes: str, requires: str = "[]", blocked: str = "[]") -> str:
    """A viewers.toml whose every viewer has the given rules (ids chosen so that `breaks` allows them)."""
    out = ["schema_version = 1"]
    for key in VIEWERS:
        out.append(f'[viewer.{key}]\nlabel = "{key}"\nname = "{key}"\ncovers = "test"\nevidence = "spec"\n'
                   f'note = "test model"\nsources = []\nrequires = {requires}\nblocked_by = {blocked}\n'
                   + routes.replace("VIEWER", key))
    return "\n".join(out)


def test_final_route_stops_and_non_final_falls_through():
    routes = ('[[viewer.VIEWER.route]]\nname = "a"\nwhen = ["jpeg.garbage"]\nunless = ["gainmap.decode"]\n'
              'FINAL\n[[viewer.VIEWER.route]]\nname = "b"\nwhen = ["jpeg.fill-bytes"]\nunless = []\n')
    findings = [F("jpeg.garbage"), F("gainmap.decode"), F("jpeg.fill-bytes")]
    falls = load_catalogue(TEST_CHECKS, _model(routes.replace("FINAL", "")))
    stops = load_catalogue(TEST_CHECKS, _model(routes.replace("FINAL", "final = true")))
    assert verdicts({}, findings, falls)["chrome"] == Verdict(True, ["jpeg.fill-bytes"], "spec", "test model", "b")
    assert verdicts({}, findings, stops)["chrome"] == Verdict(False, ["gainmap.decode"], "spec", "test model")


def test_scoped_ids_count_only_on_their_image():
    routes = ('[[viewer.VIEWER.route]]\nname = "a"\nwhen = ["six.mpf"]\n'
              'unless = ["jpeg.garbage@secondary"]\n')
    cat = load_catalogue(TEST_CHECKS, _model(routes, blocked='["jpeg.fill-bytes@primary"]'))
    six = {"mpf": True}

    def shows(*findings):
        return verdicts(six, list(findings), cat)["chrome"].hdr

    assert shows(F("jpeg.garbage", image=0)) and shows(F("jpeg.garbage"))  # file-level: neither scope
    assert not shows(F("jpeg.garbage", image=2))
    assert shows(F("jpeg.fill-bytes", image=1)) and not shows(F("jpeg.fill-bytes", image=0))
    assert verdicts(six, [F("jpeg.fill-bytes", image=0)], cat)["chrome"].because == ["jpeg.fill-bytes"]
    with pytest.raises(Exception, match="id@primary"):
        load_catalogue(TEST_CHECKS, _model(routes.replace("@secondary", "@gainmap")))


def test_negation_and_alternation():
    routes = ('[[viewer.VIEWER.route]]\nname = "r"\nwhen = ["six.icc|jpeg.garbage", "!gainmap.decode"]\n'
              'unless = []\n')
    cat = load_catalogue(TEST_CHECKS, _model(routes))
    assert verdicts({"icc": True}, [], cat)["adobe"].because == ["six.icc"]
    assert verdicts({}, [F("jpeg.garbage")], cat)["adobe"].because == ["jpeg.garbage"]
    assert verdicts({}, [], cat)["adobe"].because == ["six.icc"]  # unmet A|B explained by A
    refused = verdicts({"icc": True}, [F("gainmap.decode")], cat)["adobe"]
    assert not refused.hdr and refused.because == ["gainmap.decode"]


def test_requirements_and_blocks_are_reported_before_routes():
    routes = '[[viewer.VIEWER.route]]\nname = "r"\nwhen = ["six.icc"]\nunless = []\n'
    cat = load_catalogue(TEST_CHECKS, _model(routes, requires='["six.mpf"]', blocked='["gainmap.decode"]'))
    v = verdicts({"icc": True}, [F("gainmap.decode")], cat)["chrome"]
    assert not v.hdr and v.because == ["gainmap.decode", "six.mpf"]
    assert verdicts({"icc": True, "mpf": True}, [], cat)["chrome"].because == ["six.mpf", "six.icc"]
