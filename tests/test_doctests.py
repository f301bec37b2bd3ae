"""Every ``Examples`` section in the package runs and prints what its docstring shows.

The examples are the first code a newcomer copies from the reference pages; a doctest that drifts from
the code fails here. Each builds its own few-row table, so the whole run takes seconds.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import crm_kit

MODULES = sorted(["crm_kit"] + [m.name for m in pkgutil.walk_packages(crm_kit.__path__, "crm_kit.")
                                if not m.name.endswith("__main__")])  # __main__ runs the command line
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_KIT_CACHE", str(tmp_path))  # the stores the examples load are cached here, not in data/
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out: list[str] = []
    for test in finder.find(module, name):
        runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_the_newcomers_functions_have_examples():
    """The functions a newcomer calls first (those the notebooks call) each show a run example."""
    tried = 0
    for name in MODULES:
        module = importlib.import_module(name)
        tried += sum(len(t.examples) for t in doctest.DocTestFinder().find(module, name))
    assert tried >= 100, tried
