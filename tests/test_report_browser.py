"""report.html as a reader sees it: rendered by headless Chromium, with real tables, images that load, no raw
Markdown, sortable columns, and the objective defined at the top.

A copy of the page gets a small script that, once the page has loaded, writes what the browser rendered into
the DOM (image sizes, table shapes, the visible text, the order of rows after a header click); Chromium's
--dump-dom returns that DOM. A screenshot checks that something is drawn at all.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from podgym.agents.commands import evaluate

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed here (Debian: apt-get install chromium); .ci/run installs it, "
    "so this test runs in CI",
)

PROBE = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.from(document.images).map(function (i) {
    return {complete: i.complete, width: i.naturalWidth, height: i.naturalHeight};
  });
  var tables = Array.from(document.querySelectorAll("table")).map(function (t) {
    return {headers: Array.from(t.querySelectorAll("thead th")).map(function (h) { return h.textContent; }),
            rows: t.tBodies[0] ? t.tBodies[0].rows.length : 0};
  });
  var first = document.querySelector("table.sortable");
  var names = function () {
    return Array.from(first.tBodies[0].rows).map(function (r) { return r.cells[1].textContent; });
  };
  var before = names();
  var header = Array.from(first.querySelectorAll("th")).find(function (h) { return h.textContent === "policy"; });
  header.click();
  var ascending = names();
  header.click();
  var descending = names();
  var out = {images: imgs, tables: tables, text: document.body.innerText, before: before,
             ascending: ascending, descending: descending,
             captions: Array.from(document.querySelectorAll("figcaption")).map(function (c) { return c.textContent; })};
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium(*args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "eval"
    argv = ["--policies", "random", "best-fit", "kube-default", "--scenarios", "default", "--seeds", "1", "2"]
    assert evaluate.main([*argv, "--out", str(out)]) == 0
    return out


def test_the_browser_renders_tables_images_and_no_markdown(report, tmp_path):
    page = (report / "report.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    dom = chromium("--virtual-time-budget=20000", "--dump-dom", probed.as_uri())
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, flags=re.S)
    assert found, "the page did not finish loading in the browser"
    seen = json.loads(html.unescape(found.group(1)))

    # Images: every figure decoded with a real size.
    assert len(seen["images"]) >= 5
    for img in seen["images"]:
        assert img["complete"] and img["width"] > 100 and img["height"] > 100, img
    # Tables: results, more metrics, paired comparisons; one row per policy in the first two.
    assert len(seen["tables"]) >= 3
    assert [t["rows"] for t in seen["tables"][:2]] == [3, 3]
    assert "objective" in seen["tables"][0]["headers"] and "GPU allocated (%)" in seen["tables"][0]["headers"]
    # No Markdown leaked into what a reader sees.
    text = seen["text"]
    for raw in ("###", "|---|", "| rank |", "**", "`"):
        assert raw not in text, raw
    # The objective is named and defined before the tables; the summary says who wins, with an interval.
    assert text.index("Objective") < text.index("Results")
    assert "packing: the time-mean allocated share (1·GPU + 1·cpu) / 2 over the run" in text
    assert re.search(r"\w[\w-]* ranks first: objective 0\.\d{4} \(95% CI \[0\.\d{4}, 0\.\d{4}\]", text)
    # Captions number the figures and name their files.
    assert len(seen["captions"]) == len(seen["images"])
    assert all(c.startswith(f"Figure {i}.") and ".svg" in c for i, c in enumerate(seen["captions"], 1))
    # Sorting by a header reorders the rows.
    assert seen["ascending"] == sorted(seen["before"]) and seen["descending"] == sorted(seen["before"])[::-1]


def test_a_screenshot_shows_a_drawn_page(report, tmp_path):
    shot = tmp_path / "shot.png"
    chromium("--window-size=1200,2400", f"--screenshot={shot}", (report / "report.html").as_uri())
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1100
    assert np.unique(pixels.reshape(-1, pixels.shape[2])[::97], axis=0).shape[0] > 50  # text, tables, plots


def test_figures_are_written_beside_the_report_as_png_and_svg(report):
    stems = {p.stem for p in (report / "figures").glob("*.png")}
    assert stems == {p.stem for p in (report / "figures").glob("*.svg")}
    assert {
        "default-allocation-over-time",
        "default-wait-cdf",
        "default-utilisation-cpu",
        "default-utilisation-gpu",
    } <= stems
    for stem in stems:
        assert (report / "figures" / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
