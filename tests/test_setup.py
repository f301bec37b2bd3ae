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


def test_environment_yml_has_no_second_dependency_list():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda_pkgs = [d for d in deps if isinstance(d, str)]
    assert all(re.match(r"^(python(=|$)|pip$)", d) for d in conda_pkgs), conda_pkgs
    pip_part = [d for d in deps if isinstance(d, dict)][0]["pip"]
    assert pip_part == ['-e ".[dev]"'] or pip_part == ["-e .[dev]"]


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
