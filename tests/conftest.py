"""Shared fixtures: the demo store (generated once), real data paths, tiny tables."""

from __future__ import annotations

import os
from pathlib import Path

# Under pytest-xdist each worker (and every kernel it starts) gets its share of the cores for its OpenMP and BLAS
# pools, as the runner gives its side-by-side kernels (crm_kit.run.runner._share_machine). OpenMP threads spin while
# they wait: on a busy two-core machine the X-learner uplift test took 29 s with one thread each and had not ended
# after 11 minutes with two (196 s on CI with two workers). Set before numpy, scikit-learn or a kernel starts; the
# user's own settings stay.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1) > 1:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    _share = str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(_name, _share)

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

# cleaned-store caches of the many small test tables go to a scratch folder (kernels inherit it)
if "CRM_KIT_CACHE" not in os.environ:
    import tempfile

    os.environ["CRM_KIT_CACHE"] = tempfile.mkdtemp(prefix="crm-kit-test-cache-")
SHARED_DATA = Path(os.environ.get("CRM_KIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_file(*parts: str) -> Path:
    """Path of a real dataset file under ../shared/data; skip the test when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset not present: {path}")
    return path


def pytest_collection_modifyitems(config, items):
    """The files that run the most notebooks first, each file's tests in their own order.

    Under ``pytest -n 2 --dist loadfile`` a worker takes whole files, the next in collection order whenever it has
    fewer than two waiting. In alphabetical order the long notebook files came late, and the suite ended on one
    worker running them while the other had nothing left; longest first, the short files fill the end. The weight
    of a file is its number of tests marked ``notebook`` (each runs at least one notebook in a kernel of its own);
    a notebook nbval runs with its defaults counts as one. ``--ff`` and ``--nf`` keep their own order.
    """
    _leave_out_nbval_runs_done_elsewhere(config, items)
    if config.getoption("failedfirst", False) or config.getoption("newfirst", False):
        return
    weight: dict = {}
    for item in items:
        if item.path.suffix == ".ipynb":
            weight[item.path] = 1
        elif item.get_closest_marker("notebook"):
            weight[item.path] = weight.get(item.path, 0) + 1
    position: dict = {}
    for i, item in enumerate(items):
        position.setdefault(item.path, i)
    items.sort(key=lambda item: (-weight.get(item.path, 0), position[item.path]))


def _leave_out_nbval_runs_done_elsewhere(config, items) -> None:
    """Leave out nbval's run of a notebook that a collected test marked ``as_opened`` runs with its defaults.

    nbval (lax) only checks that a notebook runs top to bottom with its defaults; the Run-All-twice test does
    exactly that run first, then a second in the same kernel, so nbval's run of the same notebook was the same
    work done twice (a whole notebook on the full demo store each). A notebook no such test runs, or a run of
    ``notebooks/`` alone, keeps its nbval run.
    """
    opened = {marker.args[0] for item in items for marker in item.iter_markers("as_opened")}
    if not opened:
        return
    left_out = [item for item in items if item.path.suffix == ".ipynb" and item.path.stem in opened]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not (item.path.suffix == ".ipynb" and item.path.stem in opened)]


@pytest.fixture(autouse=True)
def _signal_handlers_put_back():
    """Each test starts with the signal handlers the one before it found: a test that leaves SIGINT ignored (a run
    interrupted at a moment the test chose) must not decide what Ctrl-C does in the next test of the worker."""
    import signal
    import threading

    names = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    saved = {sig: signal.getsignal(sig) for sig in names}
    yield
    if threading.current_thread() is threading.main_thread():
        for sig, handler in saved.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    from crm_kit.demo import ensure_demo_store

    return ensure_demo_store()


@pytest.fixture(scope="session")
def demo_cycle(demo_dir, tmp_path_factory) -> dict:
    """The whole demo cycle (``params/demo.yaml``) run once per test session, shared by the xdist workers.

    Its run folder (``folder``), how many kernels the runner lowered in priority (``niced``) and the kernels still
    alive just after the run (``kernels_left``). The report tests of tests/test_run.py and tests/test_browser.py
    read it: one run of the cycle instead of one per test (each took 160-170 s on CI). A test may add runs beside
    it in ``folder.parent`` but never changes the folder.
    """
    import fcntl
    import json

    import psutil

    from crm_kit.run import load_run_plan, run_cycle, runner

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above every worker's own
    with open(root / "demo-cycle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker runs the cycle, the other waits for it
        done = root / "demo-cycle.json"
        if not done.exists():
            niced, lower = [], runner._lower_priority
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(runner, "_lower_priority", lambda pid: niced.append(pid) or lower(pid))
                folder = run_cycle(load_run_plan(ROOT / "params" / "demo.yaml"), output_root=root / "demo-cycle",
                                   progress=False)
            left = [p.pid for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
            done.write_text(json.dumps({"folder": str(folder), "niced": len(niced), "kernels_left": left}))
    info = json.loads(done.read_text())
    return {**info, "folder": Path(info["folder"])}


@pytest.fixture(scope="session")
def demo_store(demo_dir):
    from crm_kit import load_store

    return load_store("demo")


@pytest.fixture
def tiny_lines() -> pd.DataFrame:
    """Eight line items of three customers, computed by hand in the tests."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "ts": pd.to_datetime(
                [
                    "2025-01-05 10:00", "2025-01-05 10:00", "2025-01-20 18:00", "2025-01-10 09:00",
                    "2025-02-03 12:00", "2025-02-01 11:00", "2025-02-01 17:00", "2025-02-25 10:00",
                ]
            ),
            "product_id": ["p1", "p2", "p1", "p3", "p1", "p2", "p3", "p1"],
            "quantity": [1, 2, 1, 3, 1, 1, 2, 1],
            "amount": [10.0, 20.0, 15.0, 30.0, 12.0, 8.0, 16.0, 40.0],
        }
    )


def write_spec(tmp_path: Path, frame: pd.DataFrame, *, name: str = "transactions", fmt: str = "parquet", **extra):
    """Write a frame to a file and return a data spec that reads it."""
    path = tmp_path / f"{name}.{fmt if fmt != 'csv' else 'csv'}"
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    tables = {name: {"path": str(path), **extra.pop("table_extra", {})}}
    return {"tables": tables, **extra}


class StraightLineModel:
    """A stand-in purchase model: a new customer expects ``rate`` repeat purchases per unit of age (arithmetic by hand)."""

    def __init__(self, rate: float):
        self.rate = rate

    def expected_purchases_new_customer(self, data, *, t):
        import numpy as np
        import xarray

        return xarray.DataArray(self.rate * np.asarray(t, float), dims=["customer_id"])
