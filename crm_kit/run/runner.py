"""Execute a run plan's notebooks with papermill into a new run folder; write metrics and the report.

Each run writes to a new ``reports/<run-name>/<timestamp>/`` (``latest``
points at the newest): the executed notebooks, ``report.html`` (code hidden,
every figure embedded, no network needed), the hand-offs of each step,
``metrics.json`` and ``run.log``. A failed run keeps what it produced, writes
``FAILED`` with a one-line reason, and the command exits non-zero.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Sequence

from ..artifacts import collect_metrics, plain
from ..config import notebooks_dir, reports_root, run_folder
from ..errors import CRMKitError, ParameterError
from .html import build_html_report
from .plan import RunPlan, Step

__all__ = ["RunFailed", "run_cycle"]


class RunFailed(CRMKitError, RuntimeError):
    """A notebook of the run failed; the message names the notebook, the cell and the error."""


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
    folder = run_folder(run_name=plan.run_name, root=output_root or reports_root(), link_latest=True)
    log = logging.getLogger(f"crm_kit.run.{folder.name}")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.info("run %s into %s: %d steps, %d worker(s)", plan.run_name, folder, len(plan.steps), workers)
    nb_dir = notebooks_dir()
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
    (folder / "metrics.json").write_text(json.dumps(plain(metrics), indent=2, allow_nan=False) + "\n",
                                          encoding="utf-8")
    log.info("run finished in %.1f s: %s", elapsed, "FAILED" if failure else "ok")
    log.removeHandler(handler)
    handler.close()
    if failure:
        (folder / "FAILED").write_text(failure + "\n", encoding="utf-8")
        raise RunFailed(failure)
    return folder
