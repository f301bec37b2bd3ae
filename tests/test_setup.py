"""Set-up promises: one dependency list, two Quick start commands, CI runs the second."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def _quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)^## ", text, re.S | re.M).group(1)
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _pip_part(name: str) -> list[str]:
    env = yaml.safe_load((ROOT / name).read_text())
    deps = env["dependencies"]
    conda_pkgs = [d for d in deps if isinstance(d, str)]
    assert all(re.match(r"^(python(=|$)|pip$)", d) for d in conda_pkgs), conda_pkgs
    return [d for d in deps if isinstance(d, dict)][0]["pip"]


def test_environment_yml_has_no_second_dependency_list():
    """A student's environment installs the package alone; the developers' adds the dev extras, no list of its own."""
    assert _pip_part("environment.yml") == ["-e ."]
    assert _pip_part("environment-dev.yml") in (['-e ".[dev]"'], ["-e .[dev]"])


def test_a_licence_file_and_no_file_naming_documents_outside_the_repository():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == {"text": "MIT"}
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    files = [ROOT / f for f in tracked] or [p for p in ROOT.rglob("*") if ".venv" not in p.parts]
    outside = ["BRIEF" + ".md", "DESIGN" + ".md"]
    for path in files:
        if path.is_file() and path.suffix in (".py", ".md", ".ipynb", ".yaml", ".yml", ".toml", ".txt", ".json", ""):
            text = path.read_text(encoding="utf-8", errors="ignore")
            assert not any(name in text for name in outside), path


def test_the_readme_is_an_entry_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for page in re.findall(r"\]\(((?:docs/|LICENSE)[^)#]*)", text):
        assert (ROOT / page).exists(), page
    assert "docs/index.md" in text and "## Quick start" in text


def test_pyproject_lists_the_core_dependencies():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in meta["dependencies"]}
    for needed in ("pandas", "scikit-learn", "seaborn", "matplotlib", "papermill", "jupyterlab", "ipykernel",
                   "ibis-framework", "duckdb", "pyarrow", "pyyaml", "statsmodels", "pymc-marketing"):
        assert needed in names, needed
    assert "dev" in meta["optional-dependencies"]


def test_readme_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "pytest" in commands[1] and "crm-kit" in commands[0]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quick_start_commands()[1] in ci.splitlines()


def test_console_script_prints_the_demo_decile_table(capsys, demo_dir):
    from crm_kit.cli import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "11,550 members" in out and "1155" in out


def test_nbval_leaves_out_only_the_notebooks_a_test_runs_as_opened():
    """nbval's run of a notebook is left out when a collected test marked ``as_opened`` runs it; others keep it, and
    with no such test (``pytest notebooks/``) every notebook keeps its nbval run."""
    from pathlib import Path
    from types import SimpleNamespace

    import pytest
    from conftest import _leave_out_nbval_runs_done_elsewhere

    def item(path, opened=()):
        marks = [pytest.mark.as_opened(name).mark for name in opened]
        return SimpleNamespace(path=Path(path), iter_markers=lambda name: [m for m in marks if m.name == name])

    left_out = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: left_out.extend(items)))
    cells = [item("notebooks/01_knowledge_discovery.ipynb"), item("notebooks/02_segmentation.ipynb")]
    twice = item("tests/test_notebooks.py", opened=["01_knowledge_discovery"])
    items = [*cells, twice]
    _leave_out_nbval_runs_done_elsewhere(config, items)
    assert items == [cells[1], twice] and left_out == [cells[0]]
    alone = list(cells)
    _leave_out_nbval_runs_done_elsewhere(config, alone)
    assert alone == cells
