"""The documentation site: its generated reference equals the code, it builds with warnings as errors, links resolve."""

from __future__ import annotations

import html.parser
import json
import shutil
import subprocess
import sys
from urllib.parse import unquote, urlparse

import pytest

from conftest import ROOT

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


def test_the_site_builds_offline_with_warnings_as_errors_and_every_internal_link_resolves(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(out), "-d", str(tmp_path / "doctrees")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
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
                    "explanation/methods", "explanation/bibliography"):
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


@pytest.mark.parametrize("page", ["index.md", "how-to/own-data.md", "explanation/methods.md"])
def test_pages_name_no_file_outside_the_repository(page):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert "BRIEF" not in text and "DESIGN" not in text and "../shared" not in text
