"""The run plan: run files read, layered, overridden and validated before anything runs.

A run file (YAML) names the run, parameters common to all steps, and the
steps in order::

    run_name: demo
    common: {data: demo}
    steps:
      - {name: discovery, notebook: 01_knowledge_discovery, params: {month: "2025-09"}}
      - ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from ..config import check_run_name
from ..errors import ParameterError
from ..params import load_params_files, notebook_parameters, notebook_path, validate_params

__all__ = ["Step", "RunPlan", "load_run_plan"]


@dataclass
class Step:
    """One notebook execution of a run."""

    name: str
    notebook: str
    params: dict[str, Any] = field(default_factory=dict)
    #: steps that must finish first; None means the step before it in the run file
    after: list[str] | None = None


@dataclass
class RunPlan:
    """A validated run: its name and steps with their full parameters."""

    run_name: str
    steps: list[Step]
    #: only some of the run file's steps (``--steps``): the run completes as "partial"
    partial: bool = False
    #: the month every step derived its periods from (``common.month``, ``--month``), or None
    month: str | None = None
    #: per step, the periods it runs on (derived from the month, or as the run file set them)
    periods: dict[str, dict[str, Any]] = field(default_factory=dict)


def _parse_override(text: str) -> tuple[str | None, str, Any]:
    if "=" not in text:
        raise ParameterError(f"override '{text}' must look like key=value or step.key=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw else ""
    step, _, name = key.rpartition(".")
    return (step or None), name, value


def _merge_run_files(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Layer run files: ``common`` merges one level deep; a step's ``params`` merge by step name."""
    merged: dict[str, Any] = {}
    for path in paths:
        loaded = load_params_files(path)
        unknown = set(loaded) - {"run_name", "common", "steps", "description"}
        if unknown:
            raise ParameterError(f"{path}: unknown top-level key(s) {sorted(unknown)}; use run_name, common, steps")
        if "steps" in loaded and "steps" in merged:
            by_name = {s["name"]: s for s in merged["steps"]}
            for s in loaded["steps"]:
                if s.get("name") in by_name:
                    by_name[s["name"]]["params"] = {**by_name[s["name"]].get("params", {}), **(s.get("params") or {})}
                else:
                    merged["steps"].append(s)
            loaded = {k: v for k, v in loaded.items() if k != "steps"}
        for k, v in loaded.items():
            merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def _split_overrides(overrides: Sequence[str], names: Sequence[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``key=value`` overrides into common ones and per-step ones (``step.key=value``)."""
    common: dict[str, Any] = {}
    per_step: dict[str, dict[str, Any]] = {}
    for text in overrides:
        step, key, value = _parse_override(text)
        if key == "output_dir":
            raise ParameterError("output_dir is the run folder crm-kit makes for every run; choose where run folders "
                                 "go with --output instead of -p output_dir=...")
        if step is None:
            common[key] = value
        else:
            per_step.setdefault(step, {})[key] = value
    for s in per_step:
        if s not in names:
            raise ParameterError(f"override names step '{s}', which the run does not have; steps: {list(names)}")
    return common, per_step


def _handoff_collisions(steps: Sequence[Step]) -> list[str]:
    """Two steps that would write the same hand-off (two discoveries, two designs of one round...): the second
    would overwrite nothing — a run never overwrites — and fail after every cell ran; said before anything runs."""
    writes: dict[tuple, str] = {}
    errors = []
    for st in steps:
        kind = {"01_knowledge_discovery": "discovery", "02_segmentation": "segmentation",
                "03_campaign_design": "campaign definition", "04_campaign_results": "round result",
                "06_outcome_table": "round result", "05_cycle_summary": "cycle summary"}.get(st.notebook)
        if kind is None:
            continue
        key = (kind, st.params.get("round_no", 1)) if kind in ("campaign definition", "round result") else (kind,)
        if key in writes:
            what = f"the {kind} of round {key[1]}" if len(key) > 1 else f"the {kind}"
            errors.append(f"steps '{writes[key]}' and '{st.name}' would both write {what}; give one of them another "
                          "round_no, or run them in separate run files")
        else:
            writes[key] = st.name
    return errors


def _data_of(common: Mapping[str, Any], steps_raw: Sequence[Any]) -> Any:
    """The data a run analyses: ``common.data``, else the first step's, else the notebooks' default (the demo)."""
    if "data" in common:
        return common["data"]
    for raw in steps_raw:
        if isinstance(raw, Mapping) and "data" in (raw.get("params") or {}):
            return raw["params"]["data"]
    return "demo"


def _check_data_specs(steps: Sequence[Step]) -> None:
    """Check every data spec the steps name completely, before any kernel starts (a named source such as the demo
    is the kit's own and needs no check)."""
    seen = []
    for st in steps:
        data = st.params.get("data")
        if data is None or data in seen:
            continue
        seen.append(data)
        _check_data(data, f"step '{st.name}': ")


def _check_data(data: Any, where: str = "") -> None:
    """One data spec checked completely (a path to a YAML spec or a mapping; a named source needs none)."""
    from ..store.spec import check_spec, load_data_spec, resolve_source

    if isinstance(data, str) and not data.endswith((".yaml", ".yml")):
        return
    try:
        check_spec(resolve_source(load_data_spec(data)))
    except ParameterError as exc:
        raise ParameterError(f"{where}data spec {data if isinstance(data, str) else '(inline)'}: {exc}") from exc


def _resolve_month(month: Any, data: Any) -> tuple[str, Any]:
    """The run's month (``last``: the data's last complete month) and the data's first timestamp."""
    from ..periods import check_month, last_complete_month
    from ..store import store_calendar_of

    if str(month).strip().lower() != "last":
        month = check_month(month)
    _check_data(data)
    try:
        # the cleaned store's first and last line time, without loading it on the run's engine (a Spark session
        # started here would stay for the whole run): the cache's store, cleaned once for every step
        first, last = store_calendar_of(data)
    except Exception as exc:  # noqa: BLE001 - any reading error is the data's: say it in one line
        if str(month).strip().lower() == "last":
            raise ParameterError(f"month: last needs the data's last day, and the data could not be read: {exc}") from exc
        return month, None
    if str(month).strip().lower() == "last":
        month = last_complete_month(last=last)
    return month, first


def _build_steps(steps_raw: Sequence[Any], common: Mapping[str, Any],
                 step_overrides: Mapping[str, Mapping[str, Any]], *, month: str | None = None,
                 first: Any = None) -> tuple[list[Step], list[str]]:
    """Every step with its full, validated parameters; the errors of all steps at once.

    With ``month``, each step's date parameters that neither ``common``, the step nor an override set are
    derived from it (:func:`crm_kit.periods.step_periods`).
    """
    from ..periods import step_periods

    from ..config import notebooks_dir

    errors, steps, declared_anywhere = [], [], set()
    kit_notebooks = sorted(f.stem for f in notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    names = [raw.get("name") for raw in steps_raw if isinstance(raw, Mapping)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        errors.append(f"step name(s) {twice} are used more than once; give every step its own name")
    for raw in steps_raw:
        if not isinstance(raw, Mapping) or "notebook" not in raw or "name" not in raw:
            raise ParameterError(f"each step needs a name and a notebook; got {raw!r}")
        if Path(str(raw["notebook"])).stem not in kit_notebooks:
            errors.append(f"step '{raw['name']}': notebook '{raw['notebook']}' is not one of the kit's; "
                          f"use one of {kit_notebooks}")
            continue
        try:
            declared = notebook_parameters(raw["notebook"])
        except ParameterError as exc:
            errors.append(f"step '{raw['name']}': {exc}")
            continue
        declared_anywhere |= set(declared)
        params = {k: v for k, v in common.items() if k in declared}
        params.update(raw.get("params") or {})
        params.update(step_overrides.get(raw["name"], {}))
        params.pop("output_dir", None)
        if month is not None:
            round_no = params.get("round_no", declared["round_no"].default if "round_no" in declared else 1)
            try:
                derived = step_periods(notebook_path(raw["notebook"]).stem, month, round_no=round_no, first=first)
            except ParameterError as exc:
                errors.append(f"step '{raw['name']}': {exc}")
                derived = {}
            params.update({k: v for k, v in derived.items() if k in declared and k not in params})
        try:
            validate_params(raw["notebook"], params)
        except ParameterError as exc:
            errors.append(f"step '{raw['name']}': {exc}")
        after = raw.get("after")
        if after is not None and not isinstance(after, list):
            errors.append(f"step '{raw['name']}': after must be a list of step names")
            after = None
        steps.append(Step(raw["name"], notebook_path(raw["notebook"]).stem, params, after))
    errors += _handoff_collisions(steps)
    stray = set(common) - declared_anywhere
    if stray:
        errors.append(f"common key(s) {sorted(stray)} are parameters of no notebook in this run")
    names_seen: set[str] = set()
    for st in steps:
        unknown_after = set(st.after or []) - names_seen
        if unknown_after:
            errors.append(f"step '{st.name}': after names {sorted(unknown_after)}, which are not earlier steps")
        names_seen.add(st.name)
    return steps, errors


def load_run_plan(*paths: str | Path, overrides: Sequence[str] = (), only: Sequence[str] | None = None,
                  month: str | None = None) -> RunPlan:
    """Read run file(s), apply ``key=value`` overrides, and validate every step's parameters.

    Later files override earlier ones (``common`` merges; a step's
    ``params`` merge by step name). Errors name the key and the notebook;
    all of them are reported at once.

    ``common.month`` (or ``month``, as ``--month`` passes it; ``last`` = the data's last complete month) is the
    one date every step derives its periods from (:mod:`crm_kit.periods`): a date parameter set in the run file
    still wins.
    """
    merged = _merge_run_files(paths)
    steps_raw = merged.get("steps") or []
    if not steps_raw:
        raise ParameterError("the run file has no steps")
    common_overrides, step_overrides = _split_overrides(overrides, [s.get("name") for s in steps_raw])
    common = {**(merged.get("common") or {}), **common_overrides}
    if month is not None:
        common["month"] = month
    # the run's month: every step derives its own periods from it (notebooks 01 and 02 get it as their month)
    run_month = common.pop("month", None)
    first = None
    if run_month is not None:
        run_month, first = _resolve_month(run_month, _data_of(common, steps_raw))
    steps, errors = _build_steps(steps_raw, common, step_overrides, month=run_month, first=first)
    if errors:
        raise ParameterError("; ".join(errors))
    _check_data_specs(steps)
    if only:
        missing = set(only) - {s.name for s in steps}
        if missing:
            raise ParameterError(f"--steps names unknown step(s) {sorted(missing)}; steps: {[s.name for s in steps]}")
        partial = len(set(only)) < len(steps)
        steps = [s for s in steps if s.name in set(only)]
    else:
        partial = False
    from ..periods import PERIOD_KEYS

    periods = {st.name: {k: st.params[k] for k in PERIOD_KEYS.get(st.notebook, ()) if k in st.params} for st in steps}
    return RunPlan(run_name=check_run_name(str(merged.get("run_name") or "run")), steps=steps, partial=partial,
                   month=run_month, periods=periods)
