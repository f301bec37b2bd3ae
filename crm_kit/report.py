"""Run the cycle's notebooks with papermill and build the HTML report and metrics.

A run file (YAML) names the run, parameters common to all steps, and the
steps in order::

    run_name: demo
    common: {data: demo}
    steps:
      - {name: discovery, notebook: 01_knowledge_discovery, params: {month: "2025-09"}}
      - ...

Each run writes to a new ``reports/<run-name>/<timestamp>/`` (``latest``
points at the newest): the executed notebooks, ``report.html`` (code hidden,
every figure embedded, no network needed), the exports of each step,
``metrics.json`` and ``run.log``. A failed run keeps what it produced, writes
``FAILED`` with a one-line reason, and the command exits non-zero.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from .data import project_root
from .errors import CRMKitError, ParameterError
from .params import load_params_files, notebook_parameters, notebook_path, validate_params

__all__ = ["Step", "RunPlan", "load_run_plan", "run_cycle", "build_html_report", "collect_metrics", "RunFailed",
           "student_copy"]


class RunFailed(CRMKitError, RuntimeError):
    """A notebook of the run failed; the message names the notebook, the cell and the error."""


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


def _parse_override(text: str) -> tuple[str | None, str, Any]:
    if "=" not in text:
        raise ParameterError(f"override '{text}' must look like key=value or step.key=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw else ""
    step, _, name = key.rpartition(".")
    return (step or None), name, value


def load_run_plan(*paths: str | Path, overrides: Sequence[str] = (), only: Sequence[str] | None = None) -> RunPlan:
    """Read run file(s), apply ``key=value`` overrides, and validate every step's parameters.

    Later files override earlier ones (``common`` merges; a step's
    ``params`` merge by step name). Errors name the key and the notebook;
    all of them are reported at once.
    """
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
    steps_raw = merged.get("steps") or []
    if not steps_raw:
        raise ParameterError("the run file has no steps")
    common = dict(merged.get("common") or {})
    step_overrides: dict[str, dict[str, Any]] = {}
    for text in overrides:
        step, key, value = _parse_override(text)
        if step is None:
            common[key] = value
        else:
            step_overrides.setdefault(step, {})[key] = value
    names = [s.get("name") for s in steps_raw]
    for s in step_overrides:
        if s not in names:
            raise ParameterError(f"override names step '{s}', which the run does not have; steps: {names}")
    errors, steps, declared_anywhere = [], [], set()
    for raw in steps_raw:
        if not isinstance(raw, Mapping) or "notebook" not in raw or "name" not in raw:
            raise ParameterError(f"each step needs a name and a notebook; got {raw!r}")
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
        try:
            validate_params(raw["notebook"], params)
        except ParameterError as exc:
            errors.append(f"step '{raw['name']}': {exc}")
        after = raw.get("after")
        if after is not None and not isinstance(after, list):
            errors.append(f"step '{raw['name']}': after must be a list of step names")
            after = None
        steps.append(Step(raw["name"], notebook_path(raw["notebook"]).stem, params, after))
    stray = set(common) - declared_anywhere
    if stray:
        errors.append(f"common key(s) {sorted(stray)} are parameters of no notebook in this run")
    names_seen = set()
    for st in steps:
        unknown_after = set(st.after or []) - names_seen
        if unknown_after:
            errors.append(f"step '{st.name}': after names {sorted(unknown_after)}, which are not earlier steps")
        names_seen.add(st.name)
    if errors:
        raise ParameterError("; ".join(errors))
    if only:
        missing = set(only) - {s.name for s in steps}
        if missing:
            raise ParameterError(f"--steps names unknown step(s) {sorted(missing)}; steps: {[s.name for s in steps]}")
        steps = [s for s in steps if s.name in set(only)]
    return RunPlan(run_name=str(merged.get("run_name") or "run"), steps=steps)


def _new_run_folder(root: Path, run_name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / run_name / stamp
    folder, i = base, 1
    while folder.exists():
        folder = base.with_name(f"{stamp}-{i}")
        i += 1
    folder.mkdir(parents=True)
    latest = root / run_name / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(folder.name)
    except OSError:
        pass
    return folder


def _failure_line(step: Step, exc: Exception) -> str:
    text = str(exc)
    cell = re.search(r'Exception encountered at "In \[(\d+)\]"', text)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", text.strip().splitlines()[-1] if text.strip() else "")
    where = f"cell {cell.group(1)}" if cell else "before the first cell"
    return f"{step.notebook} ({step.name}), {where}: {ename}: {evalue}".replace("\n", " ")


def _dependencies(steps: Sequence[Step]) -> dict[str, set[str]]:
    names = {s.name for s in steps}
    deps, previous = {}, None
    for st in steps:
        deps[st.name] = ({previous} if previous else set()) if st.after is None else set(st.after) & names
        previous = st.name
    return deps


def run_cycle(plan: RunPlan, *, output_root: str | Path | None = None, timeout: int | None = None,
              progress: bool = True, report: bool = True, workers: int = 2) -> Path:
    """Execute the plan's notebooks into a new run folder, independent steps side by side.

    A step waits for the steps named in its ``after`` (by default: the step
    before it), so a run file that names no ``after`` runs strictly in order.
    With ``workers`` > 1, steps whose dependencies are done run at the same
    time (the demo runs segmentation beside discovery and the campaign steps).
    The progress display shows one bar of steps and one bar of cells per
    running notebook.

    Returns
    -------
    pathlib.Path
        The run folder. Raises :class:`RunFailed` (after writing the partial
        report and ``FAILED``) when a notebook fails; steps already running
        finish, no new step starts.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    import papermill as pm
    from tqdm.auto import tqdm

    if workers < 1:
        raise ParameterError("workers must be at least 1")
    root = Path(output_root) if output_root else project_root() / "reports"
    folder = _new_run_folder(root, plan.run_name)
    log = logging.getLogger(f"crm_kit.run.{folder.name}")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.info("run %s into %s: %d steps, %d worker(s)", plan.run_name, folder, len(plan.steps), workers)
    nb_dir = project_root() / "notebooks"
    targets = {st.name: folder / f"{i:02d}_{st.name}.ipynb" for i, st in enumerate(plan.steps, start=1)}
    deps = _dependencies(plan.steps)
    started = time.perf_counter()
    bar = tqdm(total=len(plan.steps), desc="crm-kit steps", unit="step", disable=not progress, position=0)
    free_slots = list(range(1, workers + 1))

    def execute(step: Step, slot: int) -> float:
        t0 = time.perf_counter()
        cell_bar: bool | dict = {"desc": f"{step.name} (cells)", "position": slot, "leave": False} if progress else False
        pm.execute_notebook(
            str(nb_dir / f"{step.notebook}.ipynb"), str(targets[step.name]),
            parameters={**step.params, "output_dir": str(folder)},
            cwd=str(nb_dir), kernel_name="python3", progress_bar=cell_bar, execution_timeout=timeout,
        )
        return time.perf_counter() - t0

    pending, running, done, failure = list(plan.steps), {}, set(), None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while pending or running:
            if failure is None:
                for st in list(pending):
                    if free_slots and deps[st.name] <= done:
                        slot = free_slots.pop(0)
                        running[pool.submit(execute, st, slot)] = (st, slot)
                        pending.remove(st)
                        log.info("step %s (%s) started", st.name, st.notebook)
            elif not running:
                break
            if not running:
                if pending:  # nothing can start: a dependency failed or never ran
                    break
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                st, slot = running.pop(fut)
                free_slots.append(slot)
                free_slots.sort()
                try:
                    secs = fut.result()
                except Exception as exc:  # noqa: BLE001 - any failure of a notebook ends the run the same way
                    if failure is None:
                        failure = _failure_line(st, exc)
                    log.error("FAILED %s", _failure_line(st, exc))
                    continue
                done.add(st.name)
                bar.update(1)
                bar.set_postfix_str(st.name)
                log.info("step %s (%s) done in %.1f s", st.name, st.notebook, secs)
    bar.close()
    elapsed = time.perf_counter() - started
    executed = [targets[st.name] for st in plan.steps if targets[st.name].exists()]
    if report and executed:
        build_html_report(executed, folder / "report.html", title=f"crm-kit report · {plan.run_name} · {folder.name}",
                          failure=failure)
    metrics = collect_metrics(folder)
    metrics["run"] = {"name": plan.run_name, "folder": str(folder), "steps": [s.name for s in plan.steps],
                      "seconds": round(elapsed, 1), "status": "failed" if failure else "ok"}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    log.info("run finished in %.1f s: %s", elapsed, "FAILED" if failure else "ok")
    log.removeHandler(handler)
    handler.close()
    if failure:
        (folder / "FAILED").write_text(failure + "\n", encoding="utf-8")
        raise RunFailed(failure)
    return folder


# ------------------------------------------------------------------ HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
nav{background:#f5f7fa;padding:.5em 1em;border-radius:6px} nav a{margin-right:1em}
section.notebook{border-top:3px solid #4C72B0;margin-top:2.5em;padding-top:.5em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f0f0f0} img{max-width:100%} pre{background:#f8f8f8;padding:.5em;overflow-x:auto;font-size:.85em}
.failed{background:#fde2e2;border:1px solid #c44;padding:.5em 1em;border-radius:6px}
"""


def _notebook_body(path: Path) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    # the parameters cells are inputs: hidden with all code
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _resources = exporter.from_notebook_node(nb)
    return body


def build_html_report(notebooks: Sequence[Path], target: Path, *, title: str, failure: str | None = None) -> Path:
    """One self-contained HTML page from executed notebooks: code hidden, charts and tables shown.

    Figures are embedded as data URIs and no script or style is loaded from
    the network, so the report opens offline.
    """
    parts, nav = [], []
    for i, path in enumerate(notebooks):
        anchor = f"nb{i}"
        nav.append(f'<a href="#{anchor}">{html.escape(path.stem)}</a>')
        parts.append(f'<section class="notebook" id="{anchor}">{_notebook_body(path)}</section>')
    fail = f'<p class="failed"><b>This run failed:</b> {html.escape(failure)}</p>' if failure else ""
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{fail}<nav>{' '.join(nav)}</nav>"
            + "".join(parts) + "</body></html>")
    # belt and braces: nothing may point at the network
    page = re.sub(r'<(script|link)[^>]+(src|href)="https?://[^"]*"[^>]*>(</script>)?', "", page)
    target.write_text(page, encoding="utf-8")
    return target


# ------------------------------------------------------------------ metrics


def collect_metrics(folder: Path) -> dict[str, Any]:
    """The key figures of every step, from the JSON documents the notebooks wrote.

    Keys (each present when its step ran): ``discovery`` (decile table,
    pareto share, target group), ``segmentation`` (k, cluster sizes, RFM
    segments, tiers, churn, CLV parameters and totals), ``campaign_round1`` /
    ``campaign_round2`` (target, goals, arms, power, costs), ``results_round1``
    / ``results_round2`` (ratios, group counts, lift with intervals, return),
    ``cycle`` (per-round table and totals).
    """
    out: dict[str, Any] = {}
    sources = {
        "discovery": "discovery_summary.json",
        "segmentation": "segmentation_summary.json",
        "campaign_round1": "campaign_round1.json",
        "campaign_round2": "campaign_round2.json",
        "results_round1": "results_round1.json",
        "results_round2": "results_round2.json",
        "cycle": "cycle_summary.json",
    }
    for key, name in sources.items():
        path = folder / name
        if path.exists():
            doc = json.loads(path.read_text(encoding="utf-8"))
            if key == "discovery":
                doc = {k: doc[k] for k in ("month", "customers", "total_sales", "pareto_share_of_customers",
                                           "decile_table", "target_group") if k in doc}
            if key.startswith("campaign"):
                doc = {k: doc[k] for k in ("campaign_id", "target", "goals", "group_targets", "arms", "power",
                                           "costs", "break_even_sales") if k in doc}
            out[key] = doc
    return out


# ------------------------------------------------------------------ teaching


def student_copy(notebook: str | Path, target: str | Path) -> Path:
    """A student copy: outputs removed, and the code of cells tagged ``solution`` replaced by a prompt."""
    import nbformat

    nb = nbformat.read(str(notebook_path(notebook)), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "solution" in cell.metadata.get("tags", []):
                cell.source = "# YOUR CODE HERE: see the narration above for what this cell computes\n"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target
