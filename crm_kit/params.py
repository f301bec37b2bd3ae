"""Notebook parameters: read them from the notebook, validate what a run passes.

The single source of truth of a notebook's parameters is its cell tagged
``parameters``: one literal per line, ``name: type = value  # help``. A parameter with a fixed set of values is
typed ``"Literal[a, b]"`` (bare words: papermill cannot read quotes there).
Papermill only warns about an unknown key; the kit makes it an error, both
before a run (:func:`validate_params`) and inside the notebook
(:func:`check_notebook_parameters`).
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from .config import notebooks_dir
from .errors import ParameterError

__all__ = [
    "Param",
    "notebook_path",
    "notebook_parameters",
    "validate_params",
    "check_notebook_parameters",
    "injected_names",
    "load_params_files",
    "describe_parameters",
    "read_yaml",
]

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
    "None": (type(None),),
}


def _type_parts(annotation: str) -> list[str]:
    """``'Optional[float]'`` -> ``['float', 'None']``; ``'Union[str, int]'`` -> ``['str', 'int']``.

    Notebooks quote such annotations (papermill reads ``Optional[...]`` but
    not ``float | None``, and an unquoted one would need an import before the
    parameters cell).
    """
    a = annotation.strip().strip("'\"")
    if a.startswith("Literal[") and a.endswith("]"):
        return [a]
    if a.startswith("Optional[") and a.endswith("]"):
        return [*_type_parts(a[9:-1]), "None"]
    if a.startswith("Union[") and a.endswith("]"):
        return [p.strip() for p in a[6:-1].split(",")]
    return [p.strip() for p in a.split("|")]


@dataclass(frozen=True)
class Param:
    """One notebook parameter: its declared type, default and help text."""

    name: str
    type: str
    default: Any
    help: str

    @property
    def choices(self) -> list[str] | None:
        """The allowed values of a ``"Literal[a, b]"`` parameter, else ``None``."""
        for part in _type_parts(self.type):
            if part.startswith("Literal["):
                return [c.strip().strip("'\"") for c in part[8:-1].split(",")]
        return None

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` fits the declared type (``bool`` is not an ``int`` here)."""
        if self.choices is not None:
            return isinstance(value, str) and value in self.choices
        allowed: tuple[type, ...] = ()
        for part in _type_parts(self.type):
            allowed += _TYPES.get(part.strip(), (object,))
        if isinstance(value, bool) and bool not in allowed:
            return False
        return isinstance(value, allowed)


def notebook_path(notebook: str | Path) -> Path:
    """Resolve a notebook name (``01_knowledge_discovery``, with or without ``.ipynb``) to its file."""
    p = Path(notebook)
    if p.suffix != ".ipynb":
        p = p.with_suffix(".ipynb")
    # the kit's own notebook first: a user's notebook of the same name in the working folder never shadows it
    candidates = [notebooks_dir() / p.name, p, Path.cwd() / p.name]
    for c in candidates:
        if c.exists():
            return c.resolve()
    known = sorted(f.stem for f in notebooks_dir().glob("*.ipynb"))
    raise ParameterError(f"no notebook '{notebook}'; notebooks are {known}")


def notebook_parameters(notebook: str | Path) -> dict[str, Param]:
    """Parse the notebook's ``parameters`` cell into :class:`Param` objects."""
    path = notebook_path(notebook)
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{path.name} must have exactly one cell tagged 'parameters'")
    source = "".join(cells[0]["source"])
    lines = source.splitlines()
    params: dict[str, Param] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = lines[node.lineno - 1]
            help_text = line.split("#", 1)[1].strip() if "#" in line else ""
            params[node.target.id] = Param(
                name=node.target.id,
                type=" | ".join(_type_parts(
                    node.annotation.value if isinstance(node.annotation, ast.Constant) else ast.unparse(node.annotation)
                )),
                default=ast.literal_eval(node.value) if node.value is not None else None,
                help=help_text,
            )
        elif isinstance(node, ast.Assign):
            raise ParameterError(f"{path.name}: parameter on line {node.lineno} needs a type: name: type = value  # help")
    return params


def validate_params(notebook: str | Path, given: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameters for a notebook: unknown names and wrong types are errors.

    Returns the full parameter set (defaults overlaid with ``given``).
    """
    declared = notebook_parameters(notebook)
    name = notebook_path(notebook).stem
    errors = []
    for key, value in given.items():
        if key not in declared:
            hint = difflib.get_close_matches(key, declared, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            errors.append(f"unknown parameter '{key}'{maybe} for notebook {name}")
        elif declared[key].choices is not None and not declared[key].accepts(value):
            choices = declared[key].choices
            hint = difflib.get_close_matches(str(value), choices, n=1)
            maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
            errors.append(f"parameter '{key}' of notebook {name} must be one of {choices}, got {value!r}{maybe}")
        elif not declared[key].accepts(value):
            errors.append(
                f"parameter '{key}' of notebook {name} must be {declared[key].type}, got {type(value).__name__} {value!r}"
            )
    if errors:
        raise ParameterError("; ".join(errors))
    return {**{k: p.default for k, p in declared.items()}, **dict(given)}


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """The names papermill injected into this kernel: the assignments of its ``# Parameters`` cell.

    Papermill runs its injected cell (source starting with ``# Parameters``)
    right after the cell tagged ``parameters``; IPython keeps every executed
    source in ``In``. The newest such cell counts. Outside IPython, or when
    nothing was injected (JupyterLab), the list is empty.
    """
    history = namespace.get("In")
    if not isinstance(history, (list, tuple)):
        return []
    injected = next((src for src in reversed(history) if isinstance(src, str) and src.startswith("# Parameters")), None)
    if injected is None:
        return []
    try:
        tree = ast.parse(injected)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


class Parameters(dict):
    """A notebook's validated parameters; ``explicit`` holds the names a run file or papermill set, ``chosen``
    those and the ones edited away from their default in the parameters cell (the analyst's own choices)."""

    explicit: frozenset = frozenset()
    chosen: frozenset = frozenset()


def check_notebook_parameters(namespace: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    """Inside a notebook: validate the parameters cell and whatever papermill injected.

    Only the declared parameters and the names papermill injected
    (:func:`injected_names`) are looked at: an injected name the notebook
    does not declare is an unknown parameter and raises
    :class:`~crm_kit.errors.ParameterError`; every declared one must have its
    type. Anything else in the kernel — tables, imports, results of an
    earlier Run All — is not a parameter, so running all cells again in the
    same kernel gives the same result as a fresh kernel.

    Parameters
    ----------
    namespace
        ``globals()`` of the notebook, right after the imports cell.
    notebook
        The notebook's name, e.g. ``"01_knowledge_discovery"``.

    Returns
    -------
    Parameters
        The validated parameters (a dict); its ``explicit`` attribute names those papermill injected, which a
        preset never replaces (:func:`crm_kit.demo.case_preset`), even when equal to the default.
    """
    declared = notebook_parameters(notebook)
    injected = injected_names(namespace)
    names = [*declared, *(n for n in injected if n not in declared)]
    given = {key: namespace[key] for key in names if key in namespace}
    params = Parameters(validate_params(notebook, given))
    params.explicit = frozenset(injected)
    params.chosen = params.explicit | {k for k, p in declared.items() if k in params and params[k] != p.default}
    return params


#: the most values a YAML file may expand to (aliases counted as often as they are used): a "billion laughs"
#: file of 500 bytes would otherwise take gigabytes to read
YAML_MAX_NODES = 100_000


def _expanded_size(root) -> int:
    """How many values a composed YAML node stands for once every alias is expanded (linear in the nodes)."""
    sizes: dict[int, int] = {}

    def size(node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a node that refers to itself counts once
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        sizes[id(node)] = min(total, YAML_MAX_NODES + 1)
        return sizes[id(node)]

    return size(root)


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; a syntax error names the line and column and what is wrong there."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path} is not UTF-8 text; save it as UTF-8") from exc
    except OSError as exc:
        raise ParameterError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return {}
        size = _expanded_size(node)
        if size > YAML_MAX_NODES:
            raise ParameterError(f"{path} expands to more than {YAML_MAX_NODES:,} values through its aliases (*name); "
                                 "a run file or data spec never needs that many: write the values out")
        return yaml.SafeLoader(text).get_single_data() or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParameterError(f"{path} is not valid YAML{where}: {problem}; fix the file there") from exc


def load_params_files(*paths: str | Path) -> dict[str, Any]:
    """Read and layer YAML params files (later files win, sections merge one level deep)."""
    merged: dict[str, Any] = {}
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise ParameterError(f"params file not found: {path}")
        loaded = read_yaml(path)
        if not isinstance(loaded, dict):
            raise ParameterError(f"{path} must hold a mapping of parameter names to values")
        for key, value in loaded.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def describe_parameters(notebook: str | Path) -> str:
    """A readable table of a notebook's parameters: name, type, default, help."""
    rows = list(notebook_parameters(notebook).values())
    types = {p.name: ("one of " + ", ".join(p.choices)) if p.choices is not None else p.type for p in rows}
    defaults = {p.name: json.dumps(p.default, default=str) for p in rows}
    width = max((len(p.name) for p in rows), default=4)
    type_width = max((len(t) for t in types.values()), default=4)
    default_width = min(max((len(d) for d in defaults.values()), default=7), 24)
    out = [f"{'name':<{width}}  {'type':<{type_width}}  {'default':<{default_width}}  help"]
    for p in rows:
        out.append(f"{p.name:<{width}}  {types[p.name]:<{type_width}}  {defaults[p.name]:<{default_width}}  {p.help}")
    return "\n".join(out)
