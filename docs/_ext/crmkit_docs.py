"""Pages of the documentation generated from the code, and the tutorials taken from an executed run.

Every page here is written when Sphinx starts (``builder-inited``), so a new
notebook parameter, data-spec key, cleaning rule or command appears on the
site without an edit to the docs (``tests/test_docs.py`` holds the pages equal
to what the code defines):

- ``reference/parameters.md``: every notebook's parameters, as ``crm-kit params`` prints them;
- ``reference/data-spec.md``: the canonical columns per table, the table keys and the cleaning rules;
- ``reference/cli.md``: each command's ``--help``;
- ``reference/api.md`` and ``reference/api/<module>.md``: one page per public module or package of
  ``crm_kit`` (found by walking the package, so a new module gets its page with no edit here), each with
  summary tables of its ``__all__`` and every object documented once, on the page of the module that
  defines it (a re-export links there);
- ``tutorials/notebooks/*.ipynb``: the six notebooks, with the outputs of executed demo runs
  (``$CRM_KIT_DOCS_RUN``: run folders of ``crm-kit run params/demo.yaml`` and ``params/outcome_demo.yaml``,
  separated by ``:``), the check, solution and prediction cells and the injected parameters removed;
  without a run folder, the notebooks as they are in the repository (no outputs).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import pkgutil
import json
import os
import re
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent

#: the tags of cells a reader of the tutorials does not need (kept in the notebooks for students)
HIDDEN_TAGS = {"check", "solution", "prediction", "injected-parameters"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def parameters_page() -> str:
    """Every notebook's parameters: name, type, default and help, from the notebooks' parameters cells."""
    from crm_kit.config import notebooks_dir
    from crm_kit.params import notebook_parameters

    out = ["# Notebook parameters", "",
           "Generated from each notebook's `parameters` cell (the same table `crm-kit params NOTEBOOK` prints). "
           "Set them in a run file (`common:` for every step, `params:` for one), with `-p name=value` on "
           "`crm-kit run`, or by editing the cell in JupyterLab; an unknown or mistyped name is refused with the "
           "closest one.", ""]
    for path in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb")):
        params = notebook_parameters(path)
        out += [f"## {path.stem}", ""]
        rows = [[f"`{p.name}`", ("one of " + ", ".join(p.choices)) if p.choices is not None else p.type,
                 f"`{json.dumps(p.default, default=str, ensure_ascii=False)}`", p.help] for p in params.values()]
        out += [_table(["name", "type", "default", "meaning"], rows), ""]
    return "\n".join(out)


def data_spec_page() -> str:
    """The data spec: canonical columns per table, the table keys, the cleaning rules with defaults and choices."""
    from crm_kit.store.spec import (CANONICAL_COLUMNS, CLEANING_CHOICES, CLEANING_DEFAULTS, CLEANING_MEANINGS,
                                    ENGINE_ALIASES, PERSONAL_FIELDS, SOURCE_SPEC_KEYS, TABLE_KEYS, engine_choices)

    out = ["# Data spec", "",
           "Generated from the code that checks a data spec (`crm_kit.store.spec`). A data spec is a YAML file "
           "(or a mapping) with `tables` (each canonical table's source and column mapping), `cleaning`, "
           "`window`, `engine`, and optionally `month` and `currency`. `crm-kit init` drafts one from your "
           "exports and `crm-kit check` reads it all; see {doc}`../how-to/own-data`.", "",
           "## Canonical columns", "",
           "Each table's columns under the kit's names; map yours in `tables.<table>.columns`. A required "
           "column must be mapped (or given as a constant).", ""]
    for table, columns in CANONICAL_COLUMNS.items():
        out += [f"### {table}", "",
                _table(["column", "required", "kind"],
                       [[f"`{c}`", "yes" if req else "no", kind] for c, (req, kind) in columns.items()]), ""]
    out += ["Personal fields (read only when a step asks for them, never in a report, log or export): " +
            ", ".join(f"`{f}`" for f in sorted(PERSONAL_FIELDS)) + ".", "",
            "## Table keys", "", "`tables.<table>.<key>`:", "",
            _table(["key", "meaning"], [[f"`{k}`", v] for k, v in TABLE_KEYS.items()]), "",
            "## Cleaning rules", "",
            "`cleaning.<rule>`; every rule's count of lines, sales and customers removed is in the cleaning "
            "report of each run.", "",
            _table(["rule", "default", "choices", "meaning"],
                   [[f"`{k}`", f"`{json.dumps(CLEANING_DEFAULTS[k], ensure_ascii=False)}`",
                     ", ".join(sorted(CLEANING_CHOICES[k])) if k in CLEANING_CHOICES else "see meaning",
                     CLEANING_MEANINGS[k]] for k in CLEANING_DEFAULTS]), ""]
    out += ["## Engine", "",
            "`engine: {backend: NAME, ...}`, or the backend's name alone (`engine: spark`). Known: " +
            ", ".join(f"`{c}`" for c in engine_choices()) + "; " +
            ", ".join(f"`{a}` is `{b}`" for a, b in ENGINE_ALIASES.items()) +
            ". Anything else is refused before the data is read.", "",
            "## Named sources", "",
            "`data: demo` (or `data: {source: demo, n_members: 3000}`) is the demo store. A spec's own keys stand "
            "beside `source` and override the source's: " + ", ".join(f"`{k}`" for k in SOURCE_SPEC_KEYS) +
            " (`data: {source: demo, engine: spark}` is the demo on Spark).", ""]
    return "\n".join(out)


def _help(*argv: str) -> str:
    from crm_kit.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return re.sub(r"usage: \S+", "usage: crm-kit", buffer.getvalue(), count=1).rstrip()


def cli_commands() -> list[str]:
    """The subcommands of ``crm-kit``, as its parser lists them."""
    first = _help()
    return re.search(r"\{([\w,-]+)\}", first).group(1).split(",")


def cli_page() -> str:
    """``crm-kit --help`` and each command's ``--help``."""
    out = ["# Command line", "", "Generated from the `crm-kit` parser.", "", "```text", _help(), "```", ""]
    for command in cli_commands():
        out += [f"## crm-kit {command}", "", "```text", _help(command), "```", ""]
    return "\n".join(out)


def public_modules(package: str = "crm_kit") -> list[str]:
    """The public modules and packages of ``package`` (itself included): no part of the dotted name starts with ``_``."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def _exports(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module_name]
    return list(names)


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, "__wrapped__")):
        return "function"
    return "data"


def _defines(module_name: str, name: str) -> bool:
    """Whether the source of ``module_name`` (or of a private module of its package) assigns ``name``."""
    module = importlib.import_module(module_name)
    files = [getattr(module, "__file__", None)]
    if hasattr(module, "__path__"):
        files += [str(f) for f in Path(module.__file__).parent.glob("_*.py") if not f.name.startswith("__")]
    pattern = re.compile(rf"^{re.escape(name)}\s*[:=]", re.M)
    return any(f and pattern.search(Path(f).read_text(encoding="utf-8")) for f in files)


def _attr_doc(module_name: str, name: str) -> str:
    """The ``#:`` comment (or the string after the assignment) that documents a constant, from its source."""
    from sphinx.pycode import ModuleAnalyzer

    module = importlib.import_module(module_name)
    candidates = [module_name]
    if hasattr(module, "__path__"):
        candidates += [f"{module_name}.{f.stem}" for f in sorted(Path(module.__file__).parent.glob("_*.py"))
                       if not f.name.startswith("__")]
    for candidate in candidates:
        try:
            docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module Sphinx cannot parse: no comment
            continue
        if ("", name) in docs:
            return " ".join(line.strip() for line in docs[("", name)] if line.strip())
    return ""


def api_homes(modules: list[str]) -> dict[tuple[str, str], str]:
    """Where each exported object is described: ``(module, name)`` -> the full name of its one description.

    A function, class or constant is described on the page of the public module that defines it (a private
    module's on its public package's page); a module that re-exports it links there.
    """
    exported = {m: _exports(m) for m in modules}
    first_exporter: dict[int, str] = {}
    for module in modules:
        for name in exported[module]:
            first_exporter.setdefault(id(getattr(importlib.import_module(module), name, None)), f"{module}.{name}")
    homes: dict[tuple[str, str], str] = {}
    for module in modules:
        mod = importlib.import_module(module)
        for name in exported[module]:
            obj = getattr(mod, name, None)
            home = None
            if _kind(obj) == "data":
                for candidate in modules:
                    if name in exported[candidate] and getattr(importlib.import_module(candidate), name, None) is obj \
                            and _defines(candidate, name):
                        home = f"{candidate}.{name}"
                        break
            else:
                parts = (getattr(obj, "__module__", None) or "").split(".")
                own = getattr(obj, "__name__", name)
                while parts:
                    candidate = ".".join(parts)
                    if candidate in exported and own in exported[candidate] \
                            and getattr(importlib.import_module(candidate), own, None) is obj:
                        home = f"{candidate}.{own}"
                        break
                    parts.pop()
            homes[(module, name)] = home or first_exporter[id(obj)]
    return homes


def _summary_line(module_name: str) -> str:
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").strip()


def _first_sentence(text: str) -> str:
    """The first sentence of a docstring's first paragraph, never cut inside a ````literal```` or a role."""
    text = " ".join(text.strip().split("\n\n")[0].split())
    inside = False
    i = 0
    while i < len(text):
        if text.startswith("``", i):
            inside = not inside
            i += 2
            continue
        if not inside and text[i] == "." and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
        i += 1
    return text


def _summary(obj: object) -> str:
    return _first_sentence(inspect.getdoc(obj) or "") or "(no description)"


_KIND_TITLES = {"class": "Classes", "exception": "Exceptions", "function": "Functions"}
_DIRECTIVES = {"class": "autoclass", "exception": "autoexception", "function": "autofunction"}


def api_module_page(module_name: str, homes: dict[tuple[str, str], str]) -> str:
    """One module's reference page: its docstring, autosummary tables by kind, then each object it is home to."""
    module = importlib.import_module(module_name)
    by_kind: dict[str, list[tuple[str, str, object]]] = {k: [] for k in [*_KIND_TITLES, "data"]}
    described = []
    for name in _exports(module_name):
        obj = getattr(module, name, None)
        kind = _kind(obj)
        home = homes[(module_name, name)]
        by_kind[kind].append((name, home, obj))
        if home == f"{module_name}.{name}":
            described.append((kind, name))
    out = [f"# {module_name}", "", "```{eval-rst}", f".. automodule:: {module_name}", "   :no-members:", ""]
    if not any(by_kind.values()):
        out += [".. rubric:: No public names", "",
                "Nothing here is called directly: the module is used through its package.", ""]
    # the summary tables (autosummary's look, written here: each summary is the docstring's first sentence,
    # never cut inside a literal, and a constant's is its ``#:`` comment, not its type's docstring)
    roles = {"class": "py:class", "exception": "py:exc", "function": "py:func", "data": "py:data"}
    for kind in [*_KIND_TITLES, "data"]:
        names = by_kind[kind]
        if not names:
            continue
        out += [f".. rubric:: {_KIND_TITLES.get(kind, 'Constants')}", "", ".. list-table::",
                "   :class: autosummary longtable", "   :widths: 35 65", ""]
        for name, full, obj in names:
            home_module = full.rsplit(".", 1)[0]
            doc = (_first_sentence(_attr_doc(home_module, name)) or type(obj).__name__) if kind == "data" \
                else _summary(obj)
            out += [f"   * - :{roles[kind]}:`{name} <{full}>`", f"     - {doc}"]
        out += [""]
    if described:
        out += [".. rubric:: Reference", ""]
    for kind, name in described:
        if kind == "data":
            value = getattr(module, name)
            out += [f".. py:data:: {module_name}.{name}", f"   :type: {type(value).__name__}", ""]
            doc = _attr_doc(module_name, name)
            out += ["   " + (doc or f"A constant ({type(value).__name__})."), ""]
            continue
        out += [f".. {_DIRECTIVES[kind]}:: {module_name}.{name}"]
        if kind in ("class", "exception"):
            out += ["   :members:"]
        out += [""]
    out += ["```", ""]
    return "\n".join(out)


def api_pages() -> dict[str, str]:
    """``reference/api.md`` (the module index) and one page per public module: path under ``docs/`` -> Markdown."""
    modules = public_modules()
    homes = api_homes(modules)
    index = ["# Python API", "",
             "One page per public module or package of `crm_kit`, generated from the package itself: each page "
             "opens with the module's own description, then tables of its classes, functions and constants, then "
             "each of them in full with a link to its source. The layers follow the data flow "
             "({doc}`../explanation/architecture`): the store and the engine at the bottom; discovery, "
             "segmentation and CLV; the experiment core; campaign design and results; the cycle, the runner and "
             "the command line on top. Types link to the pandas, NumPy, scikit-learn, statsmodels and SciPy "
             "documentation.", "",
             _table(["module", "what it holds"], [[f"{{doc}}`{m} <api/{m}>`", _summary_line(m)] for m in modules]),
             "", "```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    index += [f"api/{m}" for m in modules] + ["```", ""]
    pages = {"reference/api.md": "\n".join(index)}
    for module in modules:
        pages[f"reference/api/{module}.md"] = api_module_page(module, homes)
    return pages


def reference_pages() -> dict[str, str]:
    """The generated reference pages: path under ``docs/`` -> Markdown."""
    return {"reference/parameters.md": parameters_page(), "reference/data-spec.md": data_spec_page(),
            "reference/cli.md": cli_page(), **api_pages()}


def tutorial_notebooks(run_folder: Path | str | None, target: Path) -> list[Path]:
    """The six notebooks for the tutorials, with runs' outputs when given (folders joined by ``os.pathsep``)."""
    from crm_kit.config import notebooks_dir

    executed: dict[str, Path] = {}
    folders = [] if run_folder is None else [Path(p) for p in str(run_folder).split(os.pathsep) if p]
    for folder in folders:
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            notebook = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
            name = Path(notebook.get("input_path", "")).stem
            executed.setdefault(name, path)  # round one's design and results come before round two's
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = []
    for source in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(executed.get(source.stem, source).read_text(encoding="utf-8"))
        nb["cells"] = [c for c in nb["cells"] if not HIDDEN_TAGS & set(c.get("metadata", {}).get("tags", []))
                       and "teaching.check(" not in "".join(c.get("source", []))
                       and "teaching.exercises(" not in "".join(c.get("source", []))]
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("papermill", None)
            if cell["cell_type"] == "markdown":
                # a lesson's references cite as [@key]; on the site they resolve to the bibliography
                text = "".join(cell["source"])
                cell["source"] = re.sub(r"\[@([\w-]+)\]", r"{cite:p}`\1`", text)
        nb.get("metadata", {}).pop("papermill", None)
        path = target / source.name
        path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(path)
    return written


def _write_pages(app) -> None:
    pages = reference_pages()
    api = DOCS / "reference" / "api"
    if api.exists():  # a module removed from the package loses its page
        for old in api.glob("*.md"):
            if f"reference/api/{old.name}" not in pages:
                old.unlink()
    api.mkdir(parents=True, exist_ok=True)
    for relative, text in pages.items():
        path = DOCS / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    run = os.environ.get("CRM_KIT_DOCS_RUN")
    notebooks = tutorial_notebooks(run or None, DOCS / "tutorials" / "notebooks")
    text = "".join(p.read_text(encoding="utf-8") for p in [*DOCS.rglob("*.md"), *notebooks])
    (DOCS / "_static").mkdir(exist_ok=True)
    (DOCS / "_static" / "cjk.css").write_text(cjk_css(text), encoding="utf-8")


def cjk_css(text: str) -> str:
    """CSS embedding the CJK glyphs the site uses (the kit's Noto Sans CJK subset), after the reader's fonts.

    The same subset the HTML report embeds (:func:`crm_kit.run.html._cjk_font_face`): the glossary's and the
    notebooks' Chinese terms read on a machine with no CJK font, not as empty boxes.
    """
    from crm_kit.run.html import _cjk_font_face

    face = _cjk_font_face(text)
    if not face:
        return "/* no CJK glyphs to embed */\n"
    # first in every list but bound to the CJK ranges, so Latin text keeps the theme's fonts; last in the list,
    # Chromium on Linux took the system's sans-serif for Chinese in some elements and drew empty boxes
    face = face.replace('format("woff")}', 'format("woff");unicode-range:U+2E80-9FFF,U+F900-FAFF,U+FE30-FE4F,'
                                          'U+FF00-FFEF,U+3000-303F}')
    fallback = ('"crm-kit CJK", system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
                '"Liberation Sans", sans-serif')
    mono = '"crm-kit CJK", SFMono-Regular, Menlo, Consolas, Monaco, "Liberation Mono", "Lucida Console", monospace'
    return (face + "\nhtml:root { --pst-font-family-base: " + fallback + "; --pst-font-family-heading: " + fallback +
            "; --bs-font-sans-serif: " + fallback + "; --bs-body-font-family: " + fallback +
            "; --pst-font-family-monospace: " + mono + "; --bs-font-monospace: " + mono + "; }\n")


def _skip_inherited_library_members(app, what, name, obj, skip, options):
    """Leave out what a class inherits from a library (scikit-learn's ``set_*_request``): its docs are there."""
    module = getattr(obj, "__module__", "") or ""
    if module.split(".")[0] in ("sklearn", "pydantic"):
        return True
    return None


def setup(app):
    app.connect("builder-inited", _write_pages)
    app.add_css_file("cjk.css")
    app.add_css_file("custom.css")
    app.connect("autodoc-skip-member", _skip_inherited_library_members)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
