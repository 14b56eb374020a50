"""The HTML report in a real browser: Debian's headless Chromium driven by Selenium (chromium-driver).

One browser session per test module.  Every page: no console error and no network request; the six checks,
viewer verdicts and findings in the DOM equal the JSON report; byte-map blocks sit where their offsets say
(compared with ``gainmap inspect``'s offsets); the HDR preview ``<img>`` has no ancestor whose computed style
creates a stacking context; each section's screenshot is not blank.  Each detector is first shown to fire on
a page made to trip it, so none of these checks can pass by not looking.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from conftest import CORPUS, FIXTURES
from gainmap.analysis.inspect import inspect_json
from gainmap.analysis.report import render_json
from gainmap.analysis.validate import check_bytes
from gainmap.cli.main import main
from gainmap.model.reader import read

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                                reason="Debian chromium / chromium-driver are not installed")

FIXTURE_FILES = ["valid/ultrahdr.jpg", "valid/apple.jpg", "valid/multichannel_iso.jpg", "broken/stale_mpf_offset.jpg",
                 "broken/truncated_gainmap.jpg", "broken/junk_between.jpg", "broken/no_mpf.jpg"]
#: Seconds to let a loaded page's console and network events arrive before reading the logs.
SETTLE_S = 0.3
CORPUS_FILES = ["android-samples__lamps.jpg", "applejpeggm__white.jpg"]

STACKING_JS = """
const reasons = [];
for (let e = arguments[0].parentElement; e; e = e.parentElement) {
  const s = getComputedStyle(e), r = [];
  if (s.overflowX !== 'visible' || s.overflowY !== 'visible') r.push('overflow');
  if (s.transform !== 'none') r.push('transform');
  if (s.filter !== 'none') r.push('filter');
  if ((s.backdropFilter || 'none') !== 'none') r.push('backdrop-filter');
  if (s.clipPath !== 'none') r.push('clip-path');
  if (parseFloat(s.opacity) < 1) r.push('opacity');
  if (s.zIndex !== 'auto') r.push('z-index');
  if (s.isolation === 'isolate') r.push('isolation');
  if (s.mixBlendMode !== 'normal') r.push('mix-blend-mode');
  if (s.position === 'fixed' || s.position === 'sticky') r.push('position');
  if (s.willChange !== 'auto') r.push('will-change');
  if (s.contain !== 'none') r.push('contain');
  if (s.perspective !== 'none') r.push('perspective');
  if ((s.maskImage || s.webkitMaskImage || 'none') !== 'none') r.push('mask');
  if (r.length) reasons.push(e.tagName + (e.id ? '#' + e.id : '') + ': ' + r.join(','));
}
return reasons;
"""

POSITIONS_JS = """
const out = [];
document.querySelectorAll('.bar').forEach(bar => {
  const start = +bar.dataset.start, end = +bar.dataset.end, r = bar.getBoundingClientRect();
  const left0 = r.left + bar.clientLeft, width = bar.clientWidth;
  bar.querySelectorAll(':scope > .blk').forEach(b => {
    const expected = left0 + (+b.dataset.offset - start) / (end - start) * width;
    out.push({bar: bar.getAttribute('aria-label'), offset: +b.dataset.offset,
              error: b.getBoundingClientRect().left - expected});
  });
});
return out;
"""

DOM_JS = """
const d = {six: {}, viewers: {}, findings: []};
document.querySelectorAll('[data-check]').forEach(li => d.six[li.dataset.check] = li.dataset.pass === 'true');
document.querySelectorAll('tr[data-viewer]').forEach(tr => d.viewers[tr.dataset.viewer] =
  [tr.dataset.hdr === 'true', tr.dataset.because ? tr.dataset.because.split(' ') : [], tr.dataset.route]);
document.querySelectorAll('table[data-table=findings] tr[data-id]').forEach(tr => d.findings.push(
  [tr.dataset.id, tr.dataset.severity, tr.dataset.offset === '' ? null : +tr.dataset.offset]));
return d;
"""


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,2000", "--hide-scrollbars", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Pages for the fixtures and (when present) two corpus files, written by the command itself."""
    inputs = [FIXTURES / f for f in FIXTURE_FILES]
    inputs += [CORPUS / f for f in CORPUS_FILES if (CORPUS / f).is_file()]
    out = tmp_path_factory.mktemp("report") / "pages"
    assert main(["report", *map(str, inputs), "-o", f"{out}/", "-j", "1"]) in (0, 1)
    repaired = out.parent / "repair.html"
    assert main(["repair", str(FIXTURES / "broken/stale_mpf_offset.jpg"), "--dry-run", "--report",
                 str(repaired)]) == 0
    return {p.name: out / f"{p.name}.html" for p in inputs} | {"index": out / "index.html", "repair": repaired}


def _load(driver, path: Path) -> tuple[list[dict], list[str]]:
    """Open ``path``; return the console messages and the URLs of network requests it made."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri())
    time.sleep(SETTLE_S)  # console and network events arrive asynchronously
    console = driver.get_log("browser")
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith("data:") and url != path.as_uri():
                requests.append(url)
    return console, requests


def test_detectors_fire_on_a_page_made_to_trip_them(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><div id="w" style="overflow:hidden;opacity:0.9">'
                   '<img id="i" src="http://127.0.0.1:9/x.png"></div><div class="bar" data-start="0" '
                   'data-end="100" style="position:relative;width:200px;height:5px"><div class="blk" '
                   'data-offset="50" style="position:absolute;left:10px"></div></div>'
                   "<script>console.error('tripped')</script></body></html>")
    console, requests = _load(browser, bad)
    assert any(e["level"] == "SEVERE" for e in console)
    assert any(u.startswith("http://127.0.0.1:9/") for u in requests)
    reasons = browser.execute_script(STACKING_JS, browser.find_element("id", "i"))
    assert reasons and "overflow" in reasons[0] and "opacity" in reasons[0]
    assert abs(browser.execute_script(POSITIONS_JS)[0]["error"]) > 50


@pytest.mark.parametrize("name", FIXTURE_FILES + CORPUS_FILES)
def test_page_matches_json_and_draws_offsets_where_they_are(browser, pages, name):
    key = Path(name).name
    if key not in pages:
        pytest.skip("../shared/corpus is absent")
    src = (FIXTURES / name) if (FIXTURES / name).is_file() else CORPUS / name
    data = src.read_bytes()
    console, requests = _load(browser, pages[key])
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert requests == []

    expected = render_json(check_bytes(data, name=key))
    dom = browser.execute_script(DOM_JS)
    assert dom["six"] == expected["checks"]
    assert dom["viewers"] == {k: [v["hdr"], v["because"], v["route"] or ""] for k, v in expected["viewers"].items()}
    assert dom["findings"] == [[f["id"], f["severity"], f["offset"]] for f in expected["findings"]]

    positions = browser.execute_script(POSITIONS_JS)
    assert positions and max(abs(p["error"]) for p in positions) < 1.0, positions[:5]
    drawn = sorted({p["offset"] for p in positions if p["bar"] == "segments of the file"})
    tree = inspect_json(read(data, name=key))
    offsets = sorted(s["offset"] - s.get("fill", 0) for part in tree["parts"] if part["type"] == "image"
                     for s in part["segments"])
    assert drawn == sorted(set(offsets))

    img = browser.find_element("css selector", "img[data-preview]")
    assert browser.execute_script(STACKING_JS, img) == []
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0


def _blank(png: bytes) -> bool:
    im = Image.open(io.BytesIO(png)).convert("L")
    lo, hi = im.getextrema()
    return hi - lo < 40 or ImageStat.Stat(im).stddev[0] < 2.0


def test_every_section_screenshot_is_not_blank(browser, pages):
    _load(browser, pages["ultrahdr.jpg"])
    sections = browser.find_elements("css selector", "section[data-section]")
    names = [s.get_attribute("data-section") for s in sections]
    assert names == ["verdict", "checks", "bytemap", "pictures", "metadata", "findings", "preview"]
    for section in sections:
        browser.execute_script("arguments[0].scrollIntoView()", section)
        assert not _blank(section.screenshot_as_png), section.get_attribute("data-section")
    assert _blank(_png_of_white())  # the blank detector does fire on a blank picture


def _png_of_white() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buf, "PNG")
    return buf.getvalue()


def test_index_sorts_filters_and_links(browser, pages):
    console, requests = _load(browser, pages["index"])
    assert [e for e in console if e["level"] == "SEVERE"] == [] and requests == []
    rows = browser.find_elements("css selector", "#files tbody tr")
    assert len(rows) == len(pages) - 2
    links = [a.get_attribute("href") for a in browser.find_elements("css selector", "#files tbody a")]
    assert all(Path(a.removeprefix("file://")).is_file() for a in links) and len(links) == len(rows)
    browser.execute_script("const s = document.getElementById('finding'); s.value = 'mpf.entry-offset';"
                           "s.dispatchEvent(new Event('input'));")
    shown = [r.get_attribute("data-file") for r in rows if r.is_displayed()]
    with_id = [Path(f).name for f in FIXTURE_FILES
               if any(x.id == "mpf.entry-offset" for x in check_bytes((FIXTURES / f).read_bytes()).findings)]
    assert "stale_mpf_offset.jpg" in with_id and sorted(shown) == sorted(with_id)
    browser.execute_script("const s = document.getElementById('finding'); s.value = '';"
                           "s.dispatchEvent(new Event('input'));"
                           "document.querySelector('#files thead th:nth-child(2)').click();"
                           "document.querySelector('#files thead th:nth-child(2)').click();")
    names = [r.get_attribute("data-file") for r in browser.find_elements("css selector", "#files tbody tr")]
    assert names == sorted(names, reverse=True)


def test_repair_report_places_both_previews_and_maps_right(browser, pages):
    console, requests = _load(browser, pages["repair"])
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == [] and requests == []
    images = browser.find_elements("css selector", "img[data-preview]")
    assert len(images) == 2
    for img in images:
        assert browser.execute_script(STACKING_JS, img) == []
    sides = browser.execute_script("return [...document.querySelectorAll('[data-viewer=apple]')]"
                                   ".map(e => e.dataset.hdr)")
    assert sides == ["false", "true"]
    positions = browser.execute_script(POSITIONS_JS)
    assert positions and max(abs(p["error"]) for p in positions) < 1.0
