"""Write the intersphinx inventories the site links with, from the installed libraries (run once, by hand).

The documentation is built offline (CI has no network), so Sphinx cannot download each library's
``objects.inv``. This script writes an inventory per library from the package installed here: every
public module, class, function and method of the parts the kit uses, at the address the library's own
documentation gives it (``reference/api/pandas.DataFrame.html`` and so on). A class is also entered
under the module that defines it (``pandas.core.frame.DataFrame``), the name an annotation resolves to.

Run it again after upgrading a library, and commit the ``*.inv`` files::

    python docs/_intersphinx/make_inventories.py
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _public(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not n.startswith("_")]


class Inventory:
    def __init__(self, project: str, version: str):
        self.project, self.version = project, version
        self.entries: dict[tuple[str, str], str] = {}

    def add(self, name: str, role: str, uri: str) -> None:
        self.entries.setdefault((name, role), uri)

    def write(self, path: Path) -> int:
        lines = [f"{name} py:{role} 1 {uri} -" for (name, role), uri in sorted(self.entries.items())]
        header = (f"# Sphinx inventory version 2\n# Project: {self.project}\n# Version: {self.version}\n"
                  "# The remainder of this file is compressed using zlib.\n")
        path.write_bytes(header.encode() + zlib.compress(("\n".join(lines) + "\n").encode(), 9))
        return len(lines)


def _role(obj) -> str | None:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or type(obj).__name__ in ("ufunc", "_ArrayFunctionDispatcher"):
        return "function"
    if callable(obj) and not inspect.ismodule(obj):
        return "function"
    return None


def _library(inv: Inventory, modules: list[str], page, *, methods_of=(), module_page=None) -> None:
    """Enter the public classes and functions of ``modules``; ``page(full_name)`` is the page's address."""
    for module_name in modules:
        module = importlib.import_module(module_name)
        if module_page:
            inv.add(module_name, "module", module_page(module_name))
        for name in _public(module):
            try:
                obj = getattr(module, name, None)
            except ImportError:  # scikit-learn's experimental names
                continue
            role = _role(obj)
            if role is None:
                continue
            full = f"{module_name}.{name}"
            uri = page(full) + "#" + full
            inv.add(full, role, uri)
            defined = getattr(obj, "__module__", None)
            if role in ("class", "exception") and defined and defined != module_name:
                inv.add(f"{defined}.{obj.__qualname__}", role, uri)
            if full in methods_of:
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    kind = "attribute" if isinstance(value, property) else "method" if callable(value) else None
                    if kind:
                        inv.add(f"{full}.{member}", kind, page(f"{full}.{member}") + f"#{full}.{member}")


def pandas_inventory() -> Inventory:
    import pandas

    inv = Inventory("pandas", pandas.__version__)
    _library(inv, ["pandas"], lambda n: f"reference/api/{n}.html",
             methods_of={"pandas.DataFrame", "pandas.Series", "pandas.Index", "pandas.Timestamp",
                         "pandas.Categorical", "pandas.DatetimeIndex"},
             module_page=lambda m: "reference/index.html")
    inv.add("pandas.api.types", "module", "reference/arrays.html")
    return inv


def numpy_inventory() -> Inventory:
    import numpy

    inv = Inventory("NumPy", numpy.__version__)
    _library(inv, ["numpy"], lambda n: f"reference/generated/{n}.html", methods_of={"numpy.ndarray"},
             module_page=lambda m: "reference/index.html")
    _library(inv, ["numpy.random"], lambda n: f"reference/random/generated/{n}.html")
    inv.add("numpy.random.Generator", "class", "reference/random/generator.html#numpy.random.Generator")
    inv.add("numpy.typing.ArrayLike", "data", "reference/typing.html#numpy.typing.ArrayLike")
    return inv


def sklearn_inventory() -> Inventory:
    import sklearn

    modules = ["sklearn.base", "sklearn.cluster", "sklearn.decomposition", "sklearn.preprocessing",
               "sklearn.linear_model", "sklearn.metrics", "sklearn.model_selection", "sklearn.pipeline",
               "sklearn.utils", "sklearn.utils.validation", "sklearn.exceptions"]
    inv = Inventory("scikit-learn", sklearn.__version__)
    _library(inv, modules, lambda n: f"modules/generated/{n}.html",
             module_page=lambda m: f"api/{m}.html")
    return inv


def scipy_inventory() -> Inventory:
    import scipy

    inv = Inventory("SciPy", scipy.__version__)
    _library(inv, ["scipy.stats", "scipy.optimize", "scipy.special", "scipy.sparse"],
             lambda n: f"reference/generated/{n}.html", module_page=lambda m: f"reference/{m.split('.')[1]}.html")
    return inv


def statsmodels_inventory() -> Inventory:
    import statsmodels

    inv = Inventory("statsmodels", statsmodels.__version__)
    modules = ["statsmodels.regression.linear_model", "statsmodels.stats.multitest", "statsmodels.stats.power",
               "statsmodels.stats.proportion", "statsmodels.stats.weightstats", "statsmodels.stats.diagnostic",
               "statsmodels.formula.api"]
    _library(inv, modules, lambda n: f"generated/{n}.html")
    import statsmodels.api as sm

    for name in _public(sm):  # statsmodels.api.OLS is documented under its defining module
        obj = getattr(sm, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            full = f"{obj.__module__}.{obj.__qualname__}"
            inv.add(f"statsmodels.api.{name}", _role(obj), f"generated/{full}.html#{full}")
            inv.add(full, _role(obj), f"generated/{full}.html#{full}")
    return inv


def python_inventory() -> Inventory:
    import sys

    inv = Inventory("Python", f"{sys.version_info.major}.{sys.version_info.minor}")
    stdtypes = {"str", "dict", "list", "tuple", "set", "frozenset", "bytes", "int", "float", "complex", "bool",
                "range", "memoryview", "bytearray"}
    for name in dir(builtins):
        obj = getattr(builtins, name)
        if name.startswith("_"):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            inv.add(name, "exception", f"library/exceptions.html#{name}")
        elif name in stdtypes:
            inv.add(name, "class", f"library/stdtypes.html#{name}")
        elif callable(obj):
            inv.add(name, "function" if not inspect.isclass(obj) else "class", f"library/functions.html#{name}")
    inv.add("None", "data", "library/constants.html#None")
    for module_name in ("pathlib", "datetime", "typing", "collections.abc", "argparse", "logging", "dataclasses"):
        module = importlib.import_module(module_name)
        inv.add(module_name, "module", f"library/{module_name}.html#module-{module_name}")
        for name in _public(module):
            obj = getattr(module, name, None)
            role = _role(obj)
            if role and getattr(obj, "__module__", "").split(".")[0] in (module_name.split(".")[0], "_collections_abc",
                                                                         "typing", "_pydatetime", "datetime"):
                inv.add(f"{module_name}.{name}", role, f"library/{module_name}.html#{module_name}.{name}")
    return inv


def main() -> None:
    for name, make in [("python", python_inventory), ("pandas", pandas_inventory), ("numpy", numpy_inventory),
                       ("sklearn", sklearn_inventory), ("scipy", scipy_inventory),
                       ("statsmodels", statsmodels_inventory)]:
        n = make().write(HERE / f"{name}.inv")
        print(f"{name}.inv: {n:,} entries")


if __name__ == "__main__":
    main()
