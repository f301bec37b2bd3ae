"""The documentation site: its generated reference equals the code, it builds with warnings as errors, links resolve."""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import ROOT
from test_browser import browser  # noqa: F401 - the Chromium fixture (skips, or fails on CI, without it)

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import crmkit_docs  # noqa: E402


def test_the_parameters_page_lists_every_parameter_of_every_notebook(tmp_path, monkeypatch):
    from crm_kit import config, params
    from crm_kit.params import notebook_parameters

    page = crmkit_docs.parameters_page()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"## {path.stem}" in page
        for p in notebook_parameters(path).values():
            assert f"| `{p.name}` |" in page and p.help.replace("|", "\\|") in page, (path.stem, p.name)
    # a parameter added to a notebook appears with no edit to the docs
    copy = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", copy)
    nb = json.loads((copy / "01_knowledge_discovery.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    cell["source"] = "".join(cell["source"]).rstrip("\n") + '\nbrand_new: int = 7  # a parameter the docs never heard of\n'
    (copy / "01_knowledge_discovery.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(config, "notebooks_dir", lambda: copy)
    monkeypatch.setattr(params, "notebooks_dir", lambda: copy)
    assert "| `brand_new` | int | `7` | a parameter the docs never heard of |" in crmkit_docs.parameters_page()


def test_the_data_spec_page_is_the_spec_check(monkeypatch):
    from crm_kit.store import spec

    page = crmkit_docs.data_spec_page()
    for table, columns in spec.CANONICAL_COLUMNS.items():
        assert f"### {table}" in page
        for column, (required, kind) in columns.items():
            assert f"| `{column}` | {'yes' if required else 'no'} | {kind} |" in page
    for key in spec.TABLE_KEYS:
        assert f"| `{key}` |" in page
    assert set(spec.CLEANING_MEANINGS) == set(spec.CLEANING_DEFAULTS)  # a new rule needs its meaning
    for rule in spec.CLEANING_DEFAULTS:
        assert f"| `{rule}` |" in page
    monkeypatch.setitem(spec.CLEANING_DEFAULTS, "brand_new_rule", "drop")
    monkeypatch.setitem(spec.CLEANING_MEANINGS, "brand_new_rule", "what the new rule does")
    assert "| `brand_new_rule` | `\"drop\"` | see meaning | what the new rule does |" in crmkit_docs.data_spec_page()


def test_the_cli_page_has_every_command():
    page = crmkit_docs.cli_page()
    commands = crmkit_docs.cli_commands()
    assert {"run", "init", "check", "params", "student"} <= set(commands)
    for command in commands:
        assert f"## crm-kit {command}" in page and f"usage: crm-kit {command}" in page


def test_the_tutorials_show_a_runs_outputs_without_check_and_solution_cells(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    source = json.loads((ROOT / "notebooks" / "02_segmentation.ipynb").read_text(encoding="utf-8"))
    executed = json.loads(json.dumps(source))
    executed["metadata"]["papermill"] = {"input_path": "/somewhere/notebooks/02_segmentation.ipynb"}
    for cell in executed["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["from the run\n"]}]
    (run / "02_segmentation.ipynb").write_text(json.dumps(executed), encoding="utf-8")
    written = {p.name: p for p in crmkit_docs.tutorial_notebooks(run, tmp_path / "out")}
    assert set(written) == {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    shown = json.loads(written["02_segmentation.ipynb"].read_text(encoding="utf-8"))
    code = [c for c in shown["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] for c in code)  # the run's outputs, not a second execution
    tags = {t for c in shown["cells"] for t in c.get("metadata", {}).get("tags", [])}
    assert not tags & {"check", "solution"}
    assert not any("teaching.check(" in "".join(c["source"]) for c in shown["cells"])
    untouched = json.loads(written["01_knowledge_discovery.ipynb"].read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in untouched["cells"] if c["cell_type"] == "code")


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once for this module's tests: offline, warnings as errors."""
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(out), "-d", str(tmp / "doctrees")],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_site_builds_offline_with_warnings_as_errors_and_every_internal_link_resolves(site):
    out = site
    pages = {}
    for page in out.rglob("*.html"):
        if "_static" in page.relative_to(out).parts:
            continue  # the theme's own templates
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page] = parser
    assert {"index.html", "glossary.html"} <= {p.name for p in pages}
    for section in ("tutorials/notebooks/01_knowledge_discovery", "how-to/own-data", "reference/parameters",
                    "reference/data-spec", "reference/cli", "reference/errors", "reference/api",
                    "explanation/methods", "explanation/bibliography", "getting-started/install",
                    "getting-started/first-run", "getting-started/your-own-data", "faq", "changelog", "citing"):
        assert (out / f"{section}.html").exists(), section
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(out)} -> {link}")
            elif url.fragment and target.suffix == ".html" and target in pages \
                    and unquote(url.fragment) not in pages[target].ids:
                broken.append(f"{page.relative_to(out)} -> {link} (no such anchor)")
    assert not broken, broken[:20]
    # the bibliography resolves the methods' citations
    methods = (out / "explanation" / "methods.html").read_text(encoding="utf-8")
    assert "Fader" in methods and "Lin" in methods and "Holm" in methods


def test_every_public_module_has_its_reference_page_with_source_and_library_links(site):
    import importlib

    from crm_kit import __version__

    modules = crmkit_docs.public_modules()
    assert {"crm_kit.discovery", "crm_kit.store.spec", "crm_kit.experiment", "crm_kit.run.plan"} <= set(modules)
    assert not any("._" in m for m in modules)
    index = (site / "reference" / "api.html").read_text(encoding="utf-8")
    for module in modules:
        page = site / "reference" / "api" / f"{module}.html"
        assert page.exists(), f"{module} has no reference page"
        assert f"api/{module}.html" in index, module
        text = page.read_text(encoding="utf-8")
        for name in importlib.import_module(module).__all__:
            assert f">{name}<" in text, (module, name)  # in its autosummary table (or described here)
    discovery = (site / "reference" / "api" / "crm_kit.discovery.html").read_text(encoding="utf-8")
    assert 'class="autosummary' in discovery and "_modules/crm_kit/discovery.html#pareto_table" in discovery
    assert "https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.html" in discovery
    assert (site / "_modules" / "crm_kit" / "discovery.html").exists()  # the highlighted source
    experiment = (site / "reference" / "api" / "crm_kit.experiment.html").read_text(encoding="utf-8")
    assert "https://www.statsmodels.org/stable/generated/statsmodels.stats.multitest.multipletests.html" in experiment
    assert "https://docs.scipy.org/doc/scipy/reference/generated/scipy.stats.ttest_ind.html" in experiment
    segmentation = (site / "reference" / "api" / "crm_kit.segmentation.html").read_text(encoding="utf-8")
    assert "https://scikit-learn.org/stable/modules/generated/sklearn." in segmentation
    assert "https://numpy.org/doc/stable/reference/generated/numpy." in (
        site / "reference" / "api" / "crm_kit.experiment.html").read_text(encoding="utf-8") + segmentation
    # the version on every page, the copy buttons' script on every page
    for page in ("index.html", "faq.html", "reference/api/crm_kit.discovery.html", "getting-started/install.html"):
        text = (site / page).read_text(encoding="utf-8")
        assert f"crm-kit {__version__}" in text and "clipboard.min.js" in text, page


def test_a_new_module_gets_its_page_without_a_docs_edit(tmp_path, monkeypatch):
    package = tmp_path / "shop_pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package."""\n__all__ = []\n')
    (package / "inner" / "__init__.py").write_text('"""Inner."""\n__all__ = []\n')
    (package / "_private.py").write_text("X = 1\n")
    (package / "inner" / "fresh.py").write_text(
        '"""A module nobody documented."""\n__all__ = ["hello"]\n\n\ndef hello():\n    """Say hello."""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert crmkit_docs.public_modules("shop_pkg") == ["shop_pkg", "shop_pkg.inner", "shop_pkg.inner.fresh"]
    homes = crmkit_docs.api_homes(["shop_pkg.inner.fresh"])
    page = crmkit_docs.api_module_page("shop_pkg.inner.fresh", homes)
    assert ".. autofunction:: shop_pkg.inner.fresh.hello" in page and "`hello <shop_pkg.inner.fresh.hello>`" in page
    assert "Say hello." in page  # its summary in the table


def test_an_object_is_described_once_and_linked_from_the_modules_that_re_export_it():
    modules = crmkit_docs.public_modules()
    homes = crmkit_docs.api_homes(modules)
    assert homes[("crm_kit.store", "load_store")] == "crm_kit.store.load.load_store"
    assert homes[("crm_kit", "load_store")] == "crm_kit.store.load.load_store"
    assert homes[("crm_kit.store.load", "load_store")] == "crm_kit.store.load.load_store"
    # a private module's objects are described on their public package's page
    assert homes[("crm_kit.experiment", "welch_difference")] == "crm_kit.experiment.welch_difference"
    store = crmkit_docs.api_module_page("crm_kit.store", homes)
    assert "`load_store <crm_kit.store.load.load_store>`" in store and ".. autofunction:: crm_kit.store.load_store" not in store
    assert ".. autofunction:: crm_kit.store.load.load_store" in crmkit_docs.api_module_page("crm_kit.store.load", homes)


def test_the_changelogs_newest_entry_is_the_version_and_the_citation_says_it_too():
    import re
    import tomllib

    import yaml

    import crm_kit

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    newest = re.search(r"^## \[?(\S+?)\]?(\s|$)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    assert newest == version == crm_kit.__version__
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(citation["version"]) == version and citation["cff-version"] == "1.2.0" and citation["title"]
    assert "{include} ../CHANGELOG.md" in (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")


def _kit_source() -> str:
    """The package's code with adjacent string literals joined, as Python joins them (a message spans lines)."""
    import re

    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "crm_kit").rglob("*.py"))
    return re.sub(r"[\"']\s*\n\s*[rbf]*[\"']", "", text)


def test_the_faq_quotes_the_kits_own_messages():
    """Every message on the FAQ is the kit's: each run of plain words in it (between the names of files, columns,
    keys and values, which vary) is in the package's code."""
    import re

    faq = (ROOT / "docs" / "faq.md").read_text(encoding="utf-8")
    messages = re.findall(r"```text\n(.*?)\n```", faq, re.S)
    assert len(messages) >= 12
    source = _kit_source()
    variable = re.compile(r"…|'[^']*'|\[[^\]]*\]|[()]|<[^>]*>|\S*[._/%\d]\S*|\b(?:transactions|exports|sales|timestamp)\b|[;:,]")
    for message in messages:
        runs = [" ".join(run.split()) for run in variable.split(message)]
        runs = [run for run in runs if len(run.split()) >= 3]
        assert runs, message
        for run in runs:
            words = run.split()
            # a message assembled from two literals ("lies " + "before the data's first day") is two runs
            halves = any(" ".join(words[:i]) in source and " ".join(words[i:]) in source
                         and max(i, len(words) - i) >= 3 for i in range(1, len(words)))
            assert run in source or halves, (message, run)


def test_the_captured_outputs_are_what_the_commands_print():
    sys.path.insert(0, str(ROOT / "docs" / "getting-started"))
    import capture

    assert capture.versions()["versions.txt"] == (ROOT / "docs" / "getting-started" / "output" / "versions.txt").read_text(
        encoding="utf-8")
    for name in ("first-run.txt", "init.txt", "check.txt", "own-run.txt"):
        text = (ROOT / "docs" / "getting-started" / "output" / name).read_text(encoding="utf-8")
        assert text.startswith("$ crm-kit "), name
        assert "/tmp" not in text and str(ROOT) not in text, name
    data_yaml = (ROOT / "docs" / "getting-started" / "output" / "data-yaml.txt").read_text(encoding="utf-8")
    assert "/tmp" not in data_yaml and str(ROOT) not in data_yaml and "exports/*.csv" in data_yaml
    # the own-data page shows the whole run file's run, not a part chosen with --steps
    own_run = (ROOT / "docs" / "getting-started" / "output" / "own-run.txt").read_text(encoding="utf-8")
    assert "--steps" not in own_run and "design_round1" in own_run
    assert "report: reports/demo/" in (ROOT / "docs" / "getting-started" / "output" / "first-run.txt").read_text()
    # a progress bar's redrawn states leave one line, at its last state
    assert capture.clean("a:  10%|#   | 1/10\ra:  100%|####| 10/10\nreport: /x/y/r.html\n", folders=("/x",)) == \
        "a:  100%|####| 10/10\nreport: y/r.html\n"


@pytest.mark.parametrize("page", ["index.md", "how-to/own-data.md", "explanation/methods.md"])
def test_pages_name_no_file_outside_the_repository(page):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert "BRIEF" not in text and "DESIGN" not in text and "../shared" not in text


#: what a reader could find cut: math, tables and code wider than their box must scroll inside it
_CUT = """() => {
  const cut = [];
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const column = el => (el.closest('article') || document.body).getBoundingClientRect();
  const shown = el => el.getClientRects().length > 0;
  const name = el => el.tagName.toLowerCase() + ': ' + (el.textContent || '').trim().slice(0, 50);
  // a box that holds a formula, a table or code: wider content must scroll inside it, and the box stays in
  // the text column
  const boxes = document.querySelectorAll('div.math, mjx-container[display="true"], .pst-scrollable-table-container, '
                                          + '.cell_output .output, div.highlight pre');
  for (const el of boxes) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect(), c = column(el);
    if ((el.scrollWidth > el.clientWidth + 1 && !scrolls(el)) || r.right > c.right + 1 || r.left < c.left - 1)
      cut.push(name(el));
  }
  // a table wider than the column sits in a box that scrolls
  for (const t of document.querySelectorAll('article table')) {
    if (!shown(t)) continue;
    const r = t.getBoundingClientRect(), c = column(t);
    if (r.right <= c.right + 1 && r.left >= c.left - 1) continue;
    let ok = false;
    for (let a = t.parentElement; a && a.tagName !== 'ARTICLE'; a = a.parentElement) if (scrolls(a)) { ok = true; break; }
    if (!ok) cut.push(name(t));
  }
  // nothing else is wider than the column: a signature, a heading, a field list or a long name in a sentence
  // that runs past the edge makes the theme's article box scroll sideways (the page itself does not), and the
  // reader sees it cut. Only what sits in a box that scrolls by itself (code, a table, a formula) may be wider.
  const article = document.querySelector('.bd-article');
  const wide = [];
  if (article) {
    const c = article.getBoundingClientRect(), vw = document.documentElement.clientWidth;
    const inBox = el => {
      for (let a = el.parentElement; a && a !== article; a = a.parentElement) if (scrolls(a)) return true;
      return false;
    };
    const right = Math.min(c.right, vw) + 1, left = Math.max(c.left, 0) - 1;
    for (const el of article.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (!r.width || (r.right <= right && r.left >= left)) continue;
      if (el.closest('mjx-assistive-mml') || inBox(el)) continue;  // MathJax's hidden copy for screen readers
      wide.push(name(el));
    }
    const box = article.closest('.bd-article-container');
    if (box && box.scrollWidth > box.clientWidth + 1) wide.push(`the article scrolls sideways: ${box.scrollWidth} px in ${box.clientWidth} px`);
  }
  const page = document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
  return {cut, wide: wide.slice(0, 10), page};
}"""


def test_pages_read_at_390_and_1280_px_with_nothing_cut_and_no_console_error(site, browser):  # noqa: F811
    """The install page, reference pages (one with the longest signatures and dotted names in its parameters) and a
    source page, the changelog, the methods and the general index in Chromium."""
    pages = ["getting-started/install.html", "reference/api/crm_kit.discovery.html",
             "reference/api/crm_kit.campaign.html", "changelog.html", "explanation/methods.html", "genindex.html"]
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        for name in pages + ["source"]:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            if name == "source":  # the reference page's [source] link, followed as a reader would
                page.goto((site / "reference/api/crm_kit.discovery.html").as_uri())
                link = page.locator("a.reference.internal:has(span.viewcode-link)").first
                href = link.get_attribute("href")
                assert "_modules/crm_kit/discovery.html" in href
                page.goto((site / "reference" / "api" / href).resolve().as_uri()
                          if "#" not in href else
                          (site / "reference" / "api" / href.split("#")[0]).resolve().as_uri() + "#" + href.split("#")[1])
                assert page.locator("div.highlight").count() >= 1
                assert page.locator("span.k, span.kn").count() > 10  # highlighted
            else:
                page.goto((site / name).as_uri())
            page.wait_for_load_state("load")
            if name == "explanation/methods.html":  # MathJax (shipped with the site) typesets every formula
                page.wait_for_function("document.querySelectorAll('mjx-container').length >= "
                                       "document.querySelectorAll('div.math').length", timeout=30_000)
                assert page.locator("div.math").count() >= 10
            result = page.evaluate(_CUT)
            if result["cut"] or result["wide"] or result["page"] or errors:  # the whole page, to look at what failed
                shot = Path(os.environ.get("TMPDIR", "/tmp")) / f"crm-kit-docs-{name.replace('/', '_')}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                result["screenshot"] = str(shot)
            assert result["cut"] == [] and result["wide"] == [] and not result["page"], (name, width, result)
            if name == "reference/api/crm_kit.campaign.html":  # a long signature shows one parameter per line
                signature = page.locator("dt.sig[id='crm_kit.campaign.check_treatment_arms']")
                assert signature.locator("dl > dd .sig-param").count() == 4
                # the summary tables fit the column: a description is never cut at the table's scroll edge
                sizes = page.evaluate("Array.from(document.querySelectorAll('table.autosummary'))"
                                      ".map(t => [t.scrollWidth, t.parentElement.clientWidth])")
                assert sizes and all(wide <= room + 1 for wide, room in sizes), (width, sizes)
            assert errors == [], (name, width, errors)
            if name == "getting-started/install.html":
                assert page.locator("button.copybtn").count() >= 3  # copy buttons on the commands
            page.close()
        context.close()


def test_the_version_command_prints_the_installed_version(capsys):
    from crm_kit import __version__
    from crm_kit.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"crm-kit {__version__}"
