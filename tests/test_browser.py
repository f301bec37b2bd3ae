"""Browser checks in headless Debian Chromium (driven by Playwright, no browser download):
a notebook runs in JupyterLab, and the HTML report shows every chart with no network request.

.ci/run installs Chromium and sets CRM_KIT_REQUIRE_BROWSER=1, so there these tests fail
instead of skipping when the browser is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


#: a fontconfig file: the machine's fonts without those that write Chinese (Debian's fonts-noto-cjk and the like)
NO_CJK_FONTS = """<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>
<include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<selectfont><rejectfont><pattern><patelt name="lang"><string>zh</string></patelt></pattern></rejectfont></selectfont>
</fontconfig>
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium seeing the machine's fonts less any CJK one: what a reader without a CJK font sees, on any machine.

    A browser loads a page's web font only for glyphs no local font covers; on a machine with a CJK font
    installed the report's embedded one would never load, and the checks below could not tell a report that
    embeds its glyphs from one that does not.
    """
    if not Path(CHROMIUM).exists():
        if os.environ.get("CRM_KIT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (CRM_KIT_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian chromium is not installed; .ci/run installs it")
    from playwright.sync_api import sync_playwright

    conf = tmp_path_factory.mktemp("fonts") / "fonts.conf"
    conf.write_text(NO_CJK_FONTS, encoding="utf-8")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "FONTCONFIG_FILE": str(conf)})
        yield b
        b.close()


def _embedded_cjk_font_shows(page) -> bool:
    """Whether the page's Chinese terms are drawn with the glyphs it embeds (the family "crm-kit CJK")."""
    page.evaluate("document.fonts.ready")
    return page.evaluate("document.fonts.check('16px \"crm-kit CJK\"', '客户价值')")


def test_the_reports_chinese_terms_show_with_no_cjk_font_on_the_machine(browser, tmp_path):
    """The page embeds the glyphs it uses, and the browser here sees no CJK font whatever the machine has."""
    from crm_kit.run.html import build_html_report

    if shutil.which("fc-list"):  # the restriction holds: fontconfig lists no font for Chinese under it
        conf = tmp_path / "fonts.conf"
        conf.write_text(NO_CJK_FONTS, encoding="utf-8")
        listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True,
                                env={**os.environ, "FONTCONFIG_FILE": str(conf)}).stdout
        assert listed.strip() == "", listed
    notebook = tmp_path / "01_terms.ipynb"
    report = build_html_report([notebook], tmp_path / "report.html", title="terms",
                               bodies={notebook: "<h1 id='t'>客户价值 · 流失率</h1><p>Latin text</p>"})
    page = browser.new_page()
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert _embedded_cjk_font_shows(page)
    page.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _lab_server(tmp_path: Path):
    """JupyterLab on loopback serving a copy of the notebooks (so autosave cannot touch the repo)."""
    root = tmp_path / "lab"
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = tmp_path / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    # render every cell (no windowing), so outputs below the fold are in the page
    tracker = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), "crmkit-test-token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}", "--ServerApp.port_retries=0", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start within 90 s")
    try:
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def jupyterlab(tmp_path, demo_dir):
    with _lab_server(tmp_path) as server:
        yield server


@pytest.mark.notebook
def test_notebook_runs_in_jupyterlab(browser, jupyterlab, tmp_path):
    """Run All in JupyterLab reaches the target-group cell with every table and chart and no error.

    Under a loaded CI machine a queued Run All has been seen to vanish again and again in one JupyterLab
    (prompts back to [ ], the kernel idle) while a fresh server ran the same notebook at once: a second,
    fresh JupyterLab gets one more try before the test fails.
    """
    try:
        _run_all_in_lab(browser, *jupyterlab)
    except Exception:  # noqa: BLE001 - a vanished run or a timeout alike: the fresh server decides
        with _lab_server(tmp_path / "again") as server:
            _run_all_in_lab(browser, *server)


def _run_all_in_lab(browser, base: str, token: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/notebooks/01_knowledge_discovery.ipynb?token={token}", timeout=90_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    # a fresh JupyterLab may ask which kernel to start: take the preferred one (Python 3)
    deadline = time.time() + 120
    while time.time() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        if page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            break
        page.wait_for_timeout(500)
    # wait until the kernel has started and is idle before running anything
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    started = False
    for _attempt in range(4):
        # focus the notebook, then Run > Run All Cells; under load the first click can land
        # before the panel is active, so check that execution began and retry if not
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            # evidence that cells were queued or ran: an input prompt showing [*] or [n]. A busy
            # indicator alone is not enough: it also flashes while the kernel starts, and a run
            # that saw only that waited 400 s on a notebook nothing had executed
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.jp-InputPrompt'))"
                ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=30_000)
            started = True
            break
        except Exception:
            page.keyboard.press("Escape")
    assert started, "Run All Cells did not start the notebook"
    try:
        # the target-recommendation cell prints the chosen group near the end. Under heavy load a queued
        # Run All has been seen to vanish (every prompt back to [ ], kernel idle, nothing executed), twice
        # in a row in one CI rehearsal: it is asked again twice, then twice more through Kernel > Restart
        # Kernel and Run All Cells (a fresh kernel connection), instead of waiting out the whole timeout
        deadline, reruns = time.time() + 400, 0
        while not page.evaluate("document.body.innerText.includes('Target group: 8')"):
            assert time.time() < deadline, "the notebook did not reach the target-group cell in 400 s"
            page.wait_for_timeout(5000)
            nothing_ran = page.evaluate(
                "Array.from(document.querySelectorAll('.jp-InputPrompt'))"
                ".every(e => !/\\[(\\*|\\d+)\\]/.test(e.textContent))")
            idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
            if nothing_ran and idle and reruns < 4:
                reruns += 1
                page.locator(".jp-Notebook .jp-Cell").first.click()
                if reruns <= 2:
                    page.get_by_role("menuitem", name="Run", exact=True).click()
                    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                else:
                    page.get_by_role("menuitem", name="Kernel", exact=True).click()
                    page.get_by_role("menuitem", name=re.compile("^Restart Kernel and Run All Cells")).click()
                    page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=30_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    except Exception:
        page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "crm-kit-jupyterlab-failure.png"), full_page=True)
        raise
    assert page.locator(".jp-OutputArea-output table").count() >= 5
    assert page.locator(".jp-OutputArea-output img").count() >= 8
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()
    assert errors == 0
    page.close()


@pytest.mark.notebook
def test_html_report_shows_every_chart_offline(browser, demo_cycle):
    """The demo cycle's report (conftest.demo_cycle: the session's one run of it) loads nothing from the network."""
    folder = demo_cycle["folder"]
    requests = []
    page = browser.new_page()
    page.on("request", lambda req: requests.append(req.url))
    page.goto((folder / "report.html").as_uri())
    page.wait_for_load_state("load")
    # the Chinese terms have glyphs on any machine: the page embeds those it uses (the browser sees no CJK font)
    assert _embedded_cjk_font_shows(page)
    n_images = page.evaluate("document.images.length")
    shown = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
    assert n_images >= 8 and shown == n_images
    assert page.locator("table").count() >= 5
    assert all(url.startswith(("file:", "data:")) for url in requests), [u for u in requests if not u.startswith(("file:", "data:"))]
    page.close()


@pytest.mark.notebook
def test_the_report_reads_on_a_screen_and_on_paper(browser, demo_cycle):
    """The main job's report: the summary first, no sideways scrolling at 1,280 px, nothing a manager should not
    see, every chart loaded, and a PDF beside it whose tables fit an A4 page. The report is the session's one run
    of the demo cycle (conftest.demo_cycle)."""
    import re

    folder = demo_cycle["folder"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((folder / "report.html").as_uri())
    page.wait_for_load_state("load")
    first_heading = page.evaluate("document.querySelector('h2').innerText")
    assert first_heading == "Summary"
    assert page.evaluate("document.querySelector('section.summary').compareDocumentPosition("
                         "document.querySelector('section.notebook')) & Node.DOCUMENT_POSITION_FOLLOWING")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # no figure is broken across two lines of its cell ("36,232,55" / "7" reads as another number)
    broken = page.evaluate("""Array.from(document.querySelectorAll('td')).filter(td => {
        const s = td.innerText.trim();
        if (!/^[-+¥$€£]?[0-9][0-9,.]*%?$/.test(s) || s.length < 4) return false;
        const r = document.createRange(); r.selectNodeContents(td);
        return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size > 1;
    }).map(td => td.innerText.trim())""")
    assert broken == [], broken[:5]
    text = page.evaluate("document.body.innerText")
    for banned in ("NaN", "Traceback", "Warning", str(ROOT), str(folder.parent.parent), "{'"):
        assert banned not in text, banned
    assert re.search(r"Chosen for uplift: group 8", text) and "return on spend" in text
    # the Chinese terms have glyphs on any machine: the page embeds those it uses (the browser sees no CJK font)
    assert _embedded_cjk_font_shows(page)
    n_images = page.evaluate("document.images.length")
    assert n_images >= 20 and page.evaluate(
        "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length") == n_images
    # every link of the summary and the contents lands on a section of the page
    dead = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                         ".filter(a => !document.getElementById(a.getAttribute('href').slice(1))).length")
    assert dead == 0
    # printed on A4 (186 mm of text width at 96 dpi): no table wider than the page
    page.set_viewport_size({"width": 703, "height": 1000})
    page.emulate_media(media="print")
    cut = page.evaluate("Array.from(document.querySelectorAll('table'))"
                        ".filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length")
    assert cut == 0
    page.close()
    pdf = folder / "report.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 25 <= pages <= 70, pages  # measured 42 on the demo
    # the Chinese terms (客户价值 · 流失率...) are printed in a CJK font, the kit's own where the machine has none
    assert "客户价值" in (folder / "report.html").read_text()
    assert any(b"CJK" in name for name in _pdf_font_names(pdf.read_bytes()))


def _pdf_font_names(data: bytes) -> set[bytes]:
    """The fonts a PDF embeds, read from its plain and its deflated objects."""
    import re
    import zlib

    texts = [data]
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            texts.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    return {name for text in texts for name in re.findall(rb"/(?:BaseFont|FontName)\s*/([A-Za-z0-9+_-]+)", text)}


def test_the_pdf_prints_chinese_with_the_kits_font_on_a_machine_without_one(browser, tmp_path):
    """A machine with no CJK font (fc-list :lang=zh empty, as on CI) still prints Chinese text, not boxes."""
    from crm_kit.run.html import print_pdf

    page = tmp_path / "zh.html"
    page.write_text("<html><body><p>客户价值分层 · 流失率</p><p>Latin text</p></body></html>", encoding="utf-8")
    pdf = print_pdf(page)
    fonts = _pdf_font_names(pdf.read_bytes())
    assert any(b"CJK" in name for name in fonts), fonts
