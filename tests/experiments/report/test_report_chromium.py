"""Open a written report in headless Chromium (Debian's ``chromium``): the page's own
load script must find every figure decoded, the DOM must hold every table, and a
screenshot must not be blank.  A report with a corrupt image must be caught, so the
check can fail.  Skips with a reason where no Chromium is installed (.ci/run installs it)."""
import base64
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="reports need matplotlib (pip install 'uesim[plots]')")

from uesim.experiments.report import plots, write_report  # noqa: E402

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH (apt-get install chromium)")
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
         "--hide-scrollbars", "--mute-audio"]


def chromium(*args, tmp_path):
    # a private profile so parallel runs do not share a lock
    out = subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *map(str, args)],
                         capture_output=True, text=True, timeout=90)
    return out


def dump_dom(path, tmp_path):
    # virtual time lets the load event (and its script) run before the DOM is dumped
    out = chromium("--virtual-time-budget=3000", "--dump-dom", path.as_uri(), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def report(tmp_path, name="r.html"):
    rng = np.random.default_rng(3)
    flows = pd.DataFrame({"point": np.repeat(["a", "b"], 30), "fct_us": rng.uniform(1, 9, 60)})
    bars = pd.DataFrame({"topology": ["ft", "ft", "rail"], "transport": ["uet", "roce", "uet"],
                         "stall": [1.0, 2.0, 0.5]})
    tables = {"Flows <a>": flows.head(5), "Stalls": bars}
    figures = {"FCT": plots.fct_cdf(flows, group="point"), "Stall": plots.stall_bars(bars)}
    return write_report(tmp_path / name, "Chromium check", tables, figures), tables, figures


def test_every_table_and_image_in_the_browser(tmp_path):
    path, tables, figures = report(tmp_path)
    dom = dump_dom(path, tmp_path)
    assert 'data-figures-checked="2/2"' in dom, dom[-3000:]
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == len(figures) and all(w > 300 for w in widths)
    assert "all 2 figures loaded" in dom
    for name, df in tables.items():
        section = dom.split(f'data-table="{name.replace("<", "&lt;").replace(">", "&gt;")}"')[1].split("</section>")[0]
        assert section.count("<tr") == len(df) + 1            # header + every row, parsed as a table
    assert dom.count("<table") == len(tables)


def test_a_broken_image_is_reported(tmp_path):
    path, _, _ = report(tmp_path)
    text = path.read_text()
    first = re.search(r'base64,([^"]+)"', text).group(1)
    broken = text.replace(first, base64.b64encode(b"\x89PNG\r\n\x1a\n not an image").decode(), 1)
    bad = tmp_path / "bad.html"
    bad.write_text(broken)
    dom = dump_dom(bad, tmp_path)
    assert 'data-figures-checked="1/2"' in dom and "1 of 2 figures failed to load" in dom
    assert 'data-natural-width="0"' in dom


def test_screenshot_is_not_blank(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    path, _, _ = report(tmp_path)
    shot = tmp_path / "shot.png"
    out = chromium(f"--screenshot={shot}", "--window-size=1000,1600", path.as_uri(), tmp_path=tmp_path)
    assert out.returncode == 0 and shot.exists(), out.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[0] == 1600 and img.shape[1] == 1000
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05                                   # text, tables and plots, not one colour
    # plot lines are coloured: some pixels far from grey
    sat = img[..., :3].max(axis=2) - img[..., :3].min(axis=2)
    assert (sat > 0.3).sum() > 500
