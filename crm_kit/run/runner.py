"""Execute a run plan's notebooks with papermill into a new run folder; write metrics and the report.

Each run writes to a new ``reports/<run-name>/<timestamp>/`` (``latest``
points at the newest): the executed notebooks, ``report.html`` (code hidden,
every figure embedded, no network needed), the hand-offs of each step,
``metrics.json`` and ``run.log``. A failed run keeps what it produced, writes
``FAILED`` with a one-line reason, and the command exits non-zero.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Sequence

from ..artifacts import check_metrics, collect_metrics, plain
from ..config import latest_problem, notebooks_dir, point_latest, reports_root, run_folder
from ..errors import CRMKitError, DataError, ParameterError
from ..store.connect import SIDE_BY_SIDE_VARIABLE
from .html import build_html_report, notebook_body, print_pdf
from .kernels import KERNEL_ARGUMENTS, WarmKernels
from .plan import RunPlan, Step

__all__ = ["RunFailed", "run_cycle"]


#: the thread-pool sizes numeric libraries read when a kernel starts (OpenMP, OpenBLAS, MKL, numexpr)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _share_machine(workers: int) -> list[str]:
    """Give each of ``workers`` side-by-side kernels its share of the cores and memory; return the variables set.

    Every kernel's OpenMP and BLAS pools would otherwise take every core, and
    OpenMP threads spin while they wait: two kernels on two cores each
    running two such threads slowed the demo cycle from 49 s to 86 s (the
    round's uplift model alone from 3 s to 23 s). Each kernel's DuckDB would
    likewise take 40 % of the memory; two of them and their pandas frames
    overran a 12 GB limit on a 200M-line store, so the runner tells each how
    many kernels run beside it. Variables the user has set are left as they
    are; the caller removes the ones set here.
    """
    if workers < 2:
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = {name: str(max(1, cores // workers)) for name in THREAD_VARIABLES}
    share[SIDE_BY_SIDE_VARIABLE] = str(workers)  # and each engine its part of the memory (store.connect.memory_share)
    added = [name for name in share if name not in os.environ]
    for name in added:
        os.environ[name] = share[name]
    return added


class RunFailed(CRMKitError, RuntimeError):
    """A notebook of the run failed; the message names the notebook, the cell and the error."""


class KernelDied(CRMKitError, RuntimeError):
    """A step's kernel process ended while its notebook ran; the message says how and what to do."""


def _kernel_death(km) -> str:
    """How a step's kernel ended, from its process's exit status, and the likely fix."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = None
    if process is not None:
        with contextlib.suppress(Exception):
            code = process.wait(timeout=5)
    if code is None:
        return ("the notebook's kernel died (its exit status is unknown); if the machine ran out of memory, set "
                "engine.memory_limit in the data spec lower or run with --workers 1")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        if name == "SIGKILL":
            return ("the notebook's kernel was killed (SIGKILL), most often by the system when memory ran out; set "
                    "engine.memory_limit in the data spec lower, run with --workers 1, or use a machine with more "
                    "memory")
        return f"the notebook's kernel was stopped by {name} from outside the run; run again"
    return f"the notebook's kernel exited with status {code} while a cell ran (a library may have crashed); run again"


def _failure_line(step: Step, exc: Exception) -> str:
    if isinstance(exc, KernelDied):
        return f"{step.notebook} ({step.name}): {exc}"
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


def _longest_chain(steps: Sequence[Step], deps: dict[str, set[str]]) -> set[str]:
    """The steps of one longest chain of dependencies (by number of steps): the run cannot end before it does."""
    depth: dict[str, int] = {}
    before: dict[str, str | None] = {}
    for st in steps:  # dependencies always name earlier steps
        previous = max(deps[st.name], key=lambda name: depth[name], default=None)
        depth[st.name] = 1 + (depth[previous] if previous else 0)
        before[st.name] = previous
    name: str | None = max(depth, key=lambda n: depth[n], default=None)
    chain = set()
    while name is not None:
        chain.add(name)
        name = before[name]
    return chain


#: the nice value of kernels off the longest chain: they yield the cores to the steps the run waits for
OFF_CHAIN_NICENESS = 10


def _lower_priority(pid: int) -> None:
    """Nice every thread of process ``pid`` (Linux nices threads one by one; new ones inherit it)."""
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, OFF_CHAIN_NICENESS)


class _Interrupted(Exception):
    """SIGTERM or SIGINT arrived while the run was going."""


def _children() -> list[int]:
    """The process ids of this process's children (the notebooks' kernels), read from /proc."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(stat.parent.name))
    return found


def _stop_kernels() -> None:
    for pid in _children():
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _stop_steps(running, kernels, pool, stopping: threading.Event, *, patience: float = 60.0) -> None:
    """Stop an interrupted run's steps: no kernel is warmed or started any more, those running are stopped.

    A step may be between taking a kernel and starting its notebook when the signal comes, and start a kernel
    of its own after the first ones were stopped; so the kernels are stopped again until every running step
    has ended (a notebook whose kernel died ends at once), at most ``patience`` seconds.
    """
    from concurrent.futures import wait

    stopping.set()
    kernels.close(wait=False)
    deadline = time.monotonic() + patience
    _stop_kernels()
    while running and time.monotonic() <= deadline and wait(list(running), timeout=0.5)[1]:
        _stop_kernels()  # a step still starting may have started a kernel since
    pool.shutdown(wait=False, cancel_futures=True)


def _step_kinds(plan: RunPlan, targets: dict[str, Path]) -> dict[str, str]:
    """Which executed notebook holds discovery, each round's results and the cycle (for the summary's links)."""
    kinds: dict[str, str] = {}
    for st in plan.steps:
        nb = targets[st.name].stem
        if st.notebook.startswith("01_"):
            kinds.setdefault("discovery", nb)
        elif st.notebook.startswith(("04_", "06_")):
            kinds[f"round{st.params.get('round_no', 1)}"] = nb
        elif st.notebook.startswith("05_"):
            kinds["cycle"] = nb
    return kinds


def run_cycle(plan: RunPlan, *, output_root: str | Path | None = None, timeout: int | None = None,
              progress: bool = True, report: bool = True, workers: int = 2, pdf_report: bool = True) -> Path:
    """Execute the plan's notebooks into a new run folder, independent steps side by side.

    A step waits for the steps named in its ``after`` (by default: the step
    before it), so a run file that names no ``after`` runs strictly in order.
    With ``workers`` > 1, steps whose dependencies are done run at the same
    time (the demo runs segmentation beside discovery and the campaign steps),
    each kernel's OpenMP and BLAS thread pools sized to its share of the
    cores (unless ``OMP_NUM_THREADS`` and the like are set) and its engine
    to its part of the memory.
    The progress display shows one bar of steps and one bar of cells per
    running notebook. Relative paths in the parameters resolve against the
    directory the run was started in (the kernels are told it).

    ``<run-name>/latest`` moves to the new folder only when the run
    completes; a run of some steps only (``--steps``) completes as
    ``partial`` in ``metrics.json``. SIGTERM or Ctrl-C stops the notebooks,
    writes ``FAILED`` naming the steps that were running, and leaves
    ``latest`` where it was.

    Returns
    -------
    pathlib.Path
        The run folder. Raises :class:`RunFailed` (after writing the partial
        report and ``FAILED``) when a notebook fails or the run is
        interrupted; steps already running finish (or, interrupted, stop), no
        new step starts.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from tqdm.auto import tqdm

    if workers < 1:
        raise ParameterError("workers must be at least 1")
    # a relative root is the user's current folder's (papermill runs each notebook in notebooks/)
    root = Path(os.path.expanduser(str(output_root))).absolute() if output_root else reports_root().absolute()
    if root.exists() and not root.is_dir():
        raise DataError(f"--output {output_root} is a file, not a folder: run folders are made below a folder; name "
                        "a new or existing folder (e.g. --output reports)")
    problem = latest_problem(root / plan.run_name)
    if problem:
        raise DataError(problem)
    folder = run_folder(run_name=plan.run_name, root=root)
    os.environ.setdefault("CRM_KIT_CWD", os.getcwd())
    log = logging.getLogger(f"crm_kit.run.{folder.name}")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.info("run %s into %s: %d steps, %d worker(s)", plan.run_name, folder, len(plan.steps), workers)
    nb_dir = notebooks_dir()
    targets = {st.name: folder / f"{i:02d}_{st.name}.ipynb" for i, st in enumerate(plan.steps, start=1)}
    deps = _dependencies(plan.steps)
    chain = _longest_chain(plan.steps, deps)
    started = time.perf_counter()
    bar = tqdm(total=len(plan.steps), desc="crm-kit steps", unit="step", disable=not progress, position=0)
    free_slots = list(range(1, workers + 1))

    def execute(step: Step, slot: int) -> float:
        t0 = time.perf_counter()
        import papermill as pm  # imported here, while the first kernels start (nbformat's imports take ~1 s)

        cell_bar: bool | dict = {"desc": f"{step.name} (cells)", "position": slot, "leave": False} if progress else False
        km = kernels.take()
        if stopping.is_set():  # the run was interrupted while this step waited for its kernel
            kernels.release(km)
            raise _Interrupted("the run's stop")
        if km is not None and step.name not in chain:
            with contextlib.suppress(AttributeError, TypeError):
                _lower_priority(km.provisioner.pid)
        try:
            pm.execute_notebook(
                str(nb_dir / f"{step.notebook}.ipynb"), str(targets[step.name]),
                parameters={**step.params, "output_dir": str(folder)},
                cwd=str(nb_dir), kernel_name="python3", progress_bar=cell_bar, execution_timeout=timeout, km=km,
                extra_arguments=list(KERNEL_ARGUMENTS),
            )
        except Exception as exc:
            if type(exc).__name__ != "DeadKernelError":
                raise
            raise KernelDied(_kernel_death(km)) from exc
        finally:
            kernels.release(km)
        return time.perf_counter() - t0

    # the first signal stops the run where it is; a signal after it (a second Ctrl-C), or while the run's outcome
    # is written (metrics.json, FAILED, latest), is only noted: the outcome is never written half
    signals: dict[str, object] = {"first": None, "hold": False, "later": []}

    def on_signal(signum, _frame):
        name = signal.Signals(signum).name
        if signals["first"] is not None or signals["hold"]:
            signals["later"].append(name)
            return
        signals["first"] = name
        raise _Interrupted(name)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        # SIGHUP: the terminal the run was started from was closed
        for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, on_signal)
    pending, running, done, failure, interrupted = list(plan.steps), {}, set(), None, None
    stopping = threading.Event()  # set when the run is interrupted: a step still starting starts no notebook
    pool = ThreadPoolExecutor(max_workers=workers)

    def interrupt(exc: BaseException, where: str) -> str:
        """Stop the steps of a run a signal interrupted; the line ``FAILED`` and the log say."""
        name = str(exc) if isinstance(exc, _Interrupted) else "SIGINT"
        message = f"interrupted by {name} {where}; {len(done)} of {len(plan.steps)} step(s) had finished"
        log.error("INTERRUPTED %s", message)
        _stop_steps(running, kernels, pool, stopping)
        return message

    # each finished notebook is rendered for the report while later steps run
    render_pool, renders = ThreadPoolExecutor(max_workers=1), {}
    shared = _share_machine(workers)  # read by each kernel as it starts
    # kernels started and warmed ahead of the steps (crm_kit.run.kernels), in this environment
    kernels = WarmKernels(nb_dir, needed=len(plan.steps), first=min(workers, len(plan.steps)), spares=1)
    try:
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
                if report:
                    renders[targets[st.name]] = render_pool.submit(notebook_body, targets[st.name], log=log)
                bar.update(1)
                bar.set_postfix_str(st.name)
                log.info("step %s (%s) done in %.1f s", st.name, st.notebook, secs)
    except (_Interrupted, KeyboardInterrupt) as exc:
        steps = ", ".join(f"{st.notebook} ({st.name})" for st, _slot in running.values()) or "no step"
        interrupted = failure = interrupt(exc, f"while running {steps}")
    finally:
        try:
            kernels.close(wait=interrupted is None)
            if interrupted is None:
                pool.shutdown(wait=True)
        except (_Interrupted, KeyboardInterrupt) as exc:  # while the last steps' kernels were closing
            interrupted = failure = interrupt(exc, "while the steps ended")
        finally:
            for name in shared:
                os.environ.pop(name, None)
    try:
        return _finish_run(plan, folder, targets, report, pdf_report, renders, render_pool, bar, started, failure,
                           interrupted, handler, done, signals)
    finally:
        signals["hold"] = True
        # the run's own handlers stay until its folder is marked: a signal while the report is built marks it too
        for sig, old in previous.items():
            signal.signal(sig, old)


def _write_whole(path: Path, text: str) -> None:
    """Write ``path`` whole: into a temporary file beside it, then renamed over it (a reader never sees half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _finish_run(plan, folder, targets, report, pdf_report, renders, render_pool, bar, started, failure, interrupted,
                handler, done, signals=None):
    """The report, metrics.json and the run's marker (FAILED, or ``latest``), after the steps ended.

    A signal while the report is built ends the run as interrupted (``FAILED`` says so); from the moment the
    outcome is written, signals are held (``signals["hold"]``) so metrics.json and the marker are written whole.
    """
    log = logging.getLogger(f"crm_kit.run.{folder.name}")
    bar.close()
    elapsed = time.perf_counter() - started
    executed = [targets[st.name] for st in plan.steps if targets[st.name].exists()]
    try:
        render_pool.shutdown(wait=True)  # the notebooks rendered for the report
        if report and executed:
            try:
                build_html_report(executed, folder / "report.html",
                                  title=f"crm-kit report · {plan.run_name} · {folder.name}", failure=failure,
                                  steps=_step_kinds(plan, targets),
                                  bodies={path: f.result() for path, f in renders.items()
                                          if f.done() and not f.cancelled() and f.exception() is None}, log=log)
                pdf = print_pdf(folder / "report.html") if pdf_report else None
                log.info("report.pdf %s", "written" if pdf else "skipped (no Chromium on this machine, or it failed)")
            except (_Interrupted, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - an interrupted notebook may be half written; the run's end is what matters
                log.error("report not built: %s", exc)
    except (_Interrupted, KeyboardInterrupt) as exc:
        name = str(exc) if isinstance(exc, _Interrupted) else "SIGINT"
        interrupted = failure = (f"interrupted by {name} while the report was built; {len(done)} of "
                                 f"{len(plan.steps)} step(s) had finished")
        log.error("INTERRUPTED %s", failure)
        render_pool.shutdown(wait=False, cancel_futures=True)
    if signals is not None:
        signals["hold"] = True  # from here the outcome is written whole; a signal now is only noted
    status = "interrupted" if interrupted else "failed" if failure else "partial" if plan.partial else "ok"
    metrics = collect_metrics(folder)
    metrics["run"] = {"name": plan.run_name, "folder": str(folder), "steps": [s.name for s in plan.steps],
                      "seconds": round(elapsed, 1), "status": status, "month": plan.month,
                      "periods": {name: p for name, p in plan.periods.items() if p}}
    try:
        check_metrics(metrics)
    except DataError as exc:
        log.error("%s", exc)
    _write_whole(folder / "metrics.json", json.dumps(plain(metrics), indent=2, allow_nan=False) + "\n")
    log.info("run finished in %.1f s: %s", elapsed, status)
    log.removeHandler(handler)
    handler.close()
    if failure:
        _write_whole(folder / "FAILED", failure + "\n")
        raise RunFailed(failure)
    try:
        point_latest(folder)
    except DataError as exc:
        log.error("%s", exc)
        raise
    return folder
