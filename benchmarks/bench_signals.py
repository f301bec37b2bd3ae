"""Signals and a killed kernel at random moments of a real ``crm-kit run``: the run ends complete or FAILED.

    .venv/bin/python benchmarks/bench_signals.py                      # the demo store, 6 faults
    .venv/bin/python benchmarks/bench_signals.py --data demo:3000 --faults 12 --seed 7

A run of the segmentation notebook is run once to the end (its figures and its duration are the truth), then
again and again with one fault each: SIGTERM, SIGINT or SIGHUP to ``crm-kit run``, or SIGKILL to a notebook's
kernel, at a seeded random moment of the run (a share of the good run's duration, so the moments fall inside the
run on a fast or a slow machine). Each faulted run must end either complete, with ``latest`` moved to it and the
same figures, or FAILED with the cause in the ``FAILED`` marker and in the one line on stderr, and ``latest``
still on the last good run. A last run after all of them must give the first run's figures.

tests/test_faults.py runs a bounded version of this (the 3,000-member demo store, two faults); the harness lives
here once.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the faults drawn from: a signal to ``crm-kit run``, or SIGKILL to a kernel
SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")


def _kernels_of(pid: int) -> list:
    import psutil

    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
    except psutil.Error:
        return []


def segment_figures(folder: Path) -> dict:
    """The segmentation's figures; the CLV total to the cent (a parallel engine may add floats in another order)."""
    metrics = json.loads((folder / "metrics.json").read_text())
    return {"k": metrics["segmentation"]["k"], "tiers": metrics["segmentation"]["tiers"],
            "clv_total": round(metrics["segmentation"]["clv_total"], 2)}


def _run(run_file: Path, out: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_kit", "run", str(run_file), "--output", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=timeout, check=False)


def draw_faults(seed: int, n: int) -> list[tuple[str, float]]:
    """``n`` faults: a signal (or ``KILL_KERNEL``) and the moment as a share of a good run's duration.

    The last fault is always a killed kernel, inside the notebook's work (30 % to 60 % of the run; the first run,
    whose duration is the yardstick, also builds the store's cache)."""
    draws = random.Random(seed)
    faults = [(draws.choice(SIGNALS), draws.uniform(0.05, 0.8)) for _ in range(max(0, n - 1))]
    return faults + [("KILL_KERNEL", draws.uniform(0.3, 0.6))] if n else []


def run_with_faults(folder: Path, data: str, faults: list[tuple[str, float]]) -> tuple[list[str], list[str]]:
    """Run the segmentation step on ``data`` once to the end, then once per fault, then once more.

    Returns the problems found as sentences (none: every run held) and each faulted run's outcome
    (``"failed"``: the fault stopped it, ``"complete"``: it ended first); prints one line per run."""
    run_file = folder / "seg.yaml"
    run_file.write_text(f"run_name: seg\ncommon: {{data: '{data}'}}\n"
                        "steps:\n  - {name: segmentation, notebook: 02_segmentation}\n")
    out = folder / "r"
    t0 = time.monotonic()
    first = _run(run_file, out)
    duration = time.monotonic() - t0
    if first.returncode != 0:
        return [f"the first run failed: {first.stderr[-2000:]}"], []
    good = (out / "seg" / "latest").resolve()
    figures = segment_figures(good)
    print(f"good run: {duration:.1f} s, {figures}", flush=True)
    problems, outcomes = [], []
    for fault, share in faults:
        delay = share * duration
        proc = subprocess.Popen([sys.executable, "-m", "crm_kit", "run", str(run_file), "--output", str(out),
                                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        if fault == "KILL_KERNEL":
            kernels = _kernels_of(proc.pid)
            while not kernels and proc.poll() is None:
                time.sleep(0.2)
                kernels = _kernels_of(proc.pid)
            for kernel in kernels:
                kernel.kill()
        elif proc.poll() is None:
            proc.send_signal(getattr(signal, fault))
        _out, err = proc.communicate(timeout=900)
        newest = max((p for p in (out / "seg").iterdir() if not p.is_symlink()), key=lambda p: p.name)
        latest = (out / "seg" / "latest").resolve()
        print(f"{fault} at {delay:.1f} s: exit {proc.returncode}", flush=True)
        outcomes.append("complete" if proc.returncode == 0 else "failed")
        if proc.returncode == 0:  # the run ended before the fault arrived: a good run, and latest on it
            good = newest
            if latest != newest or (newest / "FAILED").exists():
                problems.append(f"{fault} at {delay:.1f} s: a complete run but latest is {latest}")
            elif segment_figures(newest) != figures:
                problems.append(f"{fault} at {delay:.1f} s: other figures {segment_figures(newest)} than {figures}")
            continue
        marker = (newest / "FAILED").read_text() if (newest / "FAILED").exists() else "(no FAILED marker)"
        cause = "killed (SIGKILL)" if fault == "KILL_KERNEL" else f"interrupted by {fault}"
        if cause not in marker or cause not in err:
            problems.append(f"{fault} at {delay:.1f} s: exit {proc.returncode}, FAILED {marker[:300]!r}, "
                            f"stderr {err[-500:]!r}")
        if latest != good:
            problems.append(f"{fault} at {delay:.1f} s: latest moved to {latest}, not the last good run {good}")
    last = _run(run_file, out)
    if last.returncode != 0:
        problems.append(f"the run after the faults failed: {last.stderr[-2000:]}")
    elif segment_figures((out / "seg" / "latest").resolve()) != figures:
        problems.append("the run after the faults gave other figures than the first")
    return problems, outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="demo", help="the data of the run (default: the demo store)")
    parser.add_argument("--faults", type=int, default=6, help="faulted runs (the last one kills a kernel)")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-signals-") as folder:
        problems, outcomes = run_with_faults(Path(folder), args.data, draw_faults(args.seed, args.faults))
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"{args.faults} faulted run(s), {outcomes.count('failed')} stopped by the fault: "
          f"{'all held' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
