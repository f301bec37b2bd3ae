"""Fuzz and fault harness: malformed exports and injected faults through ``crm-kit init``, ``check`` and ``run``.

    .venv/bin/python benchmarks/bench_fuzz.py                 # every kind, 3 seeds each, faults, 2 runs
    .venv/bin/python benchmarks/bench_fuzz.py --seeds 10 --no-run
    .venv/bin/python benchmarks/bench_fuzz.py --kinds truncated,binary_noise --seeds 20

Each case writes one export made from a valid one (a few hundred line items) by one kind of damage, then
runs the commands on it as a user would. Every command must end in the kit's one line (exit code non-zero, a
single ``crm-kit:`` line on stderr, no traceback, nothing "unexpected") or succeed — and then its figures must be
right where the damage kept the data (a re-encoded or reordered file). After every command the inputs are byte
for byte as they were, and the output folder holds a whole draft (both files, valid YAML) or nothing.

Faults: a full disk under init's output and under the store cache (a small tmpfs: needs root, else the full
disk is injected at the write), an unwritable cache, SIGINT / SIGTERM / SIGHUP at random moments of init and
check, and two inits into one folder at once.

tests/test_fuzz_init.py runs a bounded version of this in the suite; the case generators live here once.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

#: the kinds of damage, in the order they are reported
KINDS = ("truncated", "reencoded", "shuffled_headers", "reordered_columns", "binary_noise", "noise_inside",
         "huge_line", "wide_table", "header_only", "empty", "xlsx_formulas", "pdf_bytes", "json_lines",
         "crlf_mixed", "nul_bytes")


def base_lines(seed: int, n: int = 400) -> pd.DataFrame:
    """A valid export: line items of a few dozen customers over three months (the truth of the figures)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in rng.integers(0, 60, n)],
        "order_id": [f"O{i // 2:05d}" for i in range(n)],
        "ts": pd.date_range("2025-01-01", periods=n, freq="5h").strftime("%Y-%m-%d %H:%M:%S"),
        "product_id": [f"P{i:03d}" for i in rng.integers(0, 40, n)],
        "quantity": rng.integers(1, 4, n),
        "amount": np.round(rng.uniform(1, 120, n), 2),
    })


def truth(lines: pd.DataFrame) -> dict:
    return {"lines": len(lines), "sales": round(float(lines["amount"].sum()), 2)}


@dataclass
class Case:
    """One generated input: its file(s), the kind of damage, and the true figures when the data survived it."""

    kind: str
    seed: int
    path: Path
    expected: dict | None = None
    note: str = ""


def make_case(kind: str, seed: int, folder: Path, *, huge_bytes: int = 2_000_000, wide: int = 300) -> Case:
    """Write the export of one kind of damage into ``folder``."""
    rng = random.Random(seed)
    lines = base_lines(seed)
    csv_text = lines.to_csv(index=False)
    path = folder / f"{kind}_{seed}.csv"
    expected = None
    if kind == "truncated":
        raw = csv_text.encode()
        path.write_bytes(raw[: rng.randint(len(raw) // 3, len(raw) - 5)])
    elif kind == "reencoded":
        encoding = rng.choice(["utf-16", "gb18030", "cp1252", "shift_jis", "utf-8-sig", "latin-1"])
        text = csv_text.replace("C00", "Cé0") if encoding in ("cp1252", "latin-1", "utf-16", "utf-8-sig") else csv_text
        path.write_bytes(text.encode(encoding))
        expected = truth(lines)
        return Case(kind, seed, path, expected, note=encoding)
    elif kind == "shuffled_headers":
        header = list(lines.columns)
        shuffled = header[:]
        while shuffled == header:
            rng.shuffle(shuffled)
        lines.set_axis(shuffled, axis=1).to_csv(path, index=False)
    elif kind == "reordered_columns":
        order = list(lines.columns)
        rng.shuffle(order)
        lines[order].to_csv(path, index=False)
        expected = truth(lines)
    elif kind == "binary_noise":
        path.write_bytes(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 20_000))))
    elif kind == "noise_inside":
        raw = bytearray(csv_text.encode())
        at = rng.randint(len(raw) // 4, len(raw) // 2)
        raw[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(10, 400)))
        path.write_bytes(bytes(raw))
    elif kind == "huge_line":
        big = lines.copy()
        big["note"] = ""
        big.loc[rng.randrange(len(big)), "note"] = "x" * huge_bytes
        big.to_csv(path, index=False)
        expected = truth(lines)
    elif kind == "wide_table":
        extra = pd.DataFrame(np.random.default_rng(seed).integers(0, 9, (len(lines), wide)),
                             columns=[f"attr_{j}" for j in range(wide)])
        pd.concat([lines, extra], axis=1).to_csv(path, index=False)
        expected = truth(lines)
    elif kind == "header_only":
        path.write_text(",".join(lines.columns) + "\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "xlsx_formulas":
        from openpyxl import Workbook

        path = path.with_suffix(".xlsx")
        wb = Workbook()
        ws = wb.active
        ws.append(list(lines.columns))
        for i, row in enumerate(lines.itertuples(index=False), start=2):
            ws.append([row.customer_id, row.order_id, row.ts, row.product_id, int(row.quantity), f"=E{i}*{row.amount}"])
        wb.save(path)  # openpyxl writes formulas without cached values, as a script-made export does
    elif kind == "pdf_bytes":
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + os.urandom(3000))
    elif kind == "json_lines":
        path.write_text(lines.to_json(orient="records", lines=True))
    elif kind == "crlf_mixed":
        rows = csv_text.splitlines()
        path.write_bytes("".join(r + ("\r\n" if rng.random() < 0.5 else "\n") for r in rows).encode())
        expected = truth(lines)
    elif kind == "nul_bytes":
        raw = bytearray(csv_text.encode())
        for _ in range(rng.randint(1, 20)):
            raw[rng.randrange(len(raw))] = 0
        path.write_bytes(bytes(raw))
    else:
        raise ValueError(f"unknown kind {kind}")
    return Case(kind, seed, path, expected)


# --------------------------------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What one command did, and what was wrong with it (empty when it ended as the kit promises)."""

    command: str
    returncode: int
    stderr: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def digest(paths) -> dict:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths if Path(p).is_file()}


def cli(args: list[str], *, cwd: Path, env: dict | None = None, timeout: int = 600, prelude: str = "") -> tuple:
    """Run ``crm-kit ARGS`` in a fresh interpreter (with ``prelude`` Python run first, to inject a fault)."""
    code = f"{prelude}\nimport sys\nfrom crm_kit.cli import main\nsys.exit(main({args!r}))"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return proc, time.perf_counter() - t0


def one_clear_line(proc_or_code, stderr: str) -> list[str]:
    """Problems of a command's ending: a traceback, an unexpected error, more than one line on failure."""
    code = proc_or_code if isinstance(proc_or_code, int) else proc_or_code.returncode
    problems = []
    if "Traceback" in stderr:
        problems.append("traceback on stderr")
    if "unexpected" in stderr:
        problems.append("an unexpected error: " + stderr.strip().splitlines()[-1][:200])
    if code not in (0, 1) or (code == 1 and "crm-kit:" in stderr):
        lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("crm-kit:")]
        others = [ln for ln in stderr.strip().splitlines() if not ln.startswith(("crm-kit:", "the store cache"))
                  and "WARNING" not in ln]
        if len(lines) != 1:
            problems.append(f"exit {code} with {len(lines)} crm-kit line(s): {stderr.strip()[-300:]!r}")
        elif others and "Traceback" not in stderr:
            pass  # a warning logged before the line (a cache note) is fine
    return problems


def draft_state(out: Path) -> list[str]:
    """Nothing half-written: the output folder holds both files as valid YAML, or neither, and no staging."""
    import yaml

    if not out.exists():
        return []
    names = sorted(p.name for p in out.iterdir())
    problems = []
    if any(n.startswith(".crm-kit-writing-") for n in names):
        problems.append("a staging folder was left behind")
    files = [n for n in names if n in ("data.yaml", "run.yaml")]
    if files and files != ["data.yaml", "run.yaml"]:
        problems.append(f"half a draft: {files}")
    for name in files:
        try:
            yaml.safe_load((out / name).read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - any failure to read back is the finding
            problems.append(f"{name} is not valid YAML: {type(exc).__name__}")
    return problems


def figures(data_yaml: Path) -> dict:
    from crm_kit import load_store

    store = load_store({**__import__("yaml").safe_load(data_yaml.read_text()), "cache": False})
    lines = store.con.to_pandas(store.all_lines)
    return {"lines": len(lines), "sales": round(float(lines["amount"].sum()), 2)}


def run_case(case: Case, work: Path, *, run: bool = False, env: dict | None = None) -> list[Outcome]:
    """``init`` on the case's file, then ``check`` (and ``run``) on the draft when init wrote one."""
    inputs = [case.path]
    before = digest(inputs)
    out = work / f"draft_{case.kind}_{case.seed}"
    outcomes = []
    proc, secs = cli(["init", str(case.path), "--output", str(out)], cwd=work, env=env)
    o = Outcome("init", proc.returncode, proc.stderr, one_clear_line(proc, proc.stderr) + draft_state(out), secs)
    outcomes.append(o)
    if (out / "data.yaml").exists():
        proc, secs = cli(["check", str(out / "data.yaml")], cwd=work, env=env)
        c = Outcome("check", proc.returncode, proc.stderr, one_clear_line(proc, proc.stderr), secs)
        if proc.returncode == 0 and case.expected is not None:
            try:
                got = figures(out / "data.yaml")
            except Exception as exc:  # noqa: BLE001 - check passed, so the figures must come
                got = {"error": str(exc)[:200]}
            if got != case.expected:
                c.problems.append(f"wrong figures: {got} where the export holds {case.expected}")
        elif case.expected is not None and proc.returncode != 0:
            c.problems.append("an intact export was not read: " + proc.stderr.strip()[-200:])
        outcomes.append(c)
        if run and proc.returncode == 0:
            proc, secs = cli(["run", str(out / "run.yaml"), "--steps", "discovery", "--output", str(work / "reports"),
                              "--quiet"], cwd=work, env=env, timeout=1800)
            outcomes.append(Outcome("run", proc.returncode, proc.stderr, one_clear_line(proc, proc.stderr), secs))
    if digest(inputs) != before:
        outcomes[-1].problems.append("an input file changed")
    return outcomes


# ---------------------------------------------------------------------------------------------------- faults


ENOSPC_AT_WRITE = """
import errno, crm_kit.files as _f
def _full(fd):
    raise OSError(errno.ENOSPC, "No space left on device")
_f.os.fsync = _full
"""


def fault_disk_full(work: Path, export: Path) -> list[Outcome]:
    """init with a full disk under its output (a 64 KB tmpfs when root, else ENOSPC injected at the write)."""
    out = work / "full"
    mounted = False
    if os.geteuid() == 0:
        out.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)],
                                 capture_output=True).returncode == 0
    try:
        if mounted:
            (out / "filler").write_bytes(b"\0" * 60_000)
            proc, secs = cli(["init", str(export), "--output", str(out / "draft")], cwd=work)
        else:
            proc, secs = cli(["init", str(export), "--output", str(out / "draft")], cwd=work, prelude=ENOSPC_AT_WRITE)
        o = Outcome("init, disk full" + (" (tmpfs)" if mounted else " (injected)"), proc.returncode, proc.stderr,
                    one_clear_line(proc, proc.stderr) + draft_state(out / "draft"), secs)
        if proc.returncode == 0:
            o.problems.append("init reported success on a full disk")
        elif "No space left" not in proc.stderr or not any(f"{name}: No space" in proc.stderr
                                                            for name in ("data.yaml", "run.yaml")):
            o.problems.append("the line does not name the file and the cause: " + proc.stderr.strip()[-200:])
        if mounted:
            (out / "filler").unlink()
            again, _ = cli(["init", str(export), "--output", str(out / "draft")], cwd=work)
            if again.returncode not in (0, 1):
                o.problems.append("the rerun after freeing space failed: " + again.stderr.strip()[-200:])
        return [o]
    finally:
        if mounted:
            subprocess.run(["umount", str(out)], capture_output=True)


def fault_cache(work: Path, data_yaml: Path, expected: dict) -> list[Outcome]:
    """check with the store cache on a full disk (tmpfs, root) and with a cache path that cannot be written."""
    results = []
    blocker = work / "cache-is-a-file"
    blocker.write_text("not a folder")
    proc, secs = cli(["check", str(data_yaml)], cwd=work, env={"CRM_KIT_CACHE": str(blocker)})
    o = Outcome("check, unwritable cache", proc.returncode, proc.stderr, one_clear_line(proc, proc.stderr), secs)
    if proc.returncode != 0:
        o.problems.append("an unwritable cache stopped check: " + proc.stderr.strip()[-200:])
    results.append(o)
    if os.geteuid() == 0:
        full = work / "fullcache"
        full.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(full)],
                          capture_output=True).returncode == 0:
            try:
                proc, secs = cli(["check", str(data_yaml)], cwd=work, env={"CRM_KIT_CACHE": str(full)})
                o = Outcome("check, cache disk full (tmpfs)", proc.returncode, proc.stderr,
                            one_clear_line(proc, proc.stderr), secs)
                if proc.returncode != 0:
                    o.problems.append("a full cache disk stopped check: " + proc.stderr.strip()[-200:])
                left = [p.name for p in (full / "stores").glob("*") if not p.name.endswith(".lock")] \
                    if (full / "stores").exists() else []
                if left:
                    o.problems.append(f"half-written cache files left: {left}")
                results.append(o)
            finally:
                subprocess.run(["umount", str(full)], capture_output=True)
    return results


def fault_signals(work: Path, export: Path, data_yaml: Path, seed: int, *, rounds: int = 4) -> list[Outcome]:
    """SIGINT / SIGTERM / SIGHUP at random moments of init and check (after the interpreter's start-up)."""
    draws = random.Random(seed)
    results = []
    for k in range(rounds):
        command = draws.choice(["init", "check"])
        sig = draws.choice(["SIGINT", "SIGTERM", "SIGHUP"])
        out = work / f"sig{seed}_{k}"
        args = ["init", str(export), "--output", str(out)] if command == "init" else ["check", str(data_yaml)]
        code = f"import sys\nfrom crm_kit.cli import main\nprint('started', flush=True)\nsys.exit(main({args!r}))"
        cache = work / f"sigcache{seed}_{k}"
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "CRM_KIT_CACHE": str(cache)})
        proc.stdout.readline()  # the kit is imported: signals from here on are the command's to handle
        delay = draws.uniform(0.0, 2.5)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(getattr(signal, sig))
        _out, err = proc.communicate(timeout=300)
        o = Outcome(f"{command}, {sig} after {delay:.2f} s", proc.returncode, err,
                    one_clear_line(proc.returncode, err) + (draft_state(out) if command == "init" else []))
        if proc.returncode not in (0, 1) and f"interrupted by {sig}" not in err:
            o.problems.append(f"the line does not say the run was interrupted: {err.strip()[-200:]!r}")
        stores = cache / "stores"
        if stores.exists() and any(p.name.endswith((".tmp", ".tmp.wal")) for p in stores.iterdir()):
            o.problems.append("a half-written cache file was left")
        results.append(o)
    return results


def fault_two_inits(work: Path, export: Path, *, rounds: int = 3) -> list[Outcome]:
    """Two ``crm-kit init`` into one folder at once: one succeeds, the other ends in one line."""
    results = []
    for k in range(rounds):
        out = work / f"both{k}"
        procs = [subprocess.Popen([sys.executable, "-m", "crm_kit", "init", str(export), "--output", str(out)],
                                  cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}) for _ in range(2)]
        ends = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in ends)
        o = Outcome(f"two inits at once #{k}", codes[-1], " | ".join(e for _, e in ends),
                    [pr for code, err in ends for pr in one_clear_line(code, err)] + draft_state(out))
        if sum(code in (0, 1) for code, _ in ends) != 1:
            o.problems.append(f"exit codes {codes}: exactly one init must succeed")
        results.append(o)
    return results


# ------------------------------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="cases per kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--no-run", action="store_true", help="skip `crm-kit run` (the slow part)")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--huge-bytes", type=int, default=12_000_000, help="the long cell of huge_line")
    parser.add_argument("--wide", type=int, default=2000, help="extra columns of wide_table")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    failed, total = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs_left = 0 if args.no_run else 2
        for kind in kinds:
            for seed in range(args.seeds):
                case = make_case(kind, seed, work, huge_bytes=args.huge_bytes, wide=args.wide)
                run = runs_left > 0 and case.expected is not None and kind in ("reordered_columns", "crlf_mixed")
                runs_left -= run
                for o in run_case(case, work, run=run):
                    total += 1
                    label = f"{kind}[{seed}{', ' + case.note if case.note else ''}] {o.command}"
                    print(f"{label:<48} exit {o.returncode:>4}  {o.seconds:6.1f} s  "
                          f"{'ok' if not o.problems else 'FAIL: ' + '; '.join(o.problems)}")
                    if o.problems:
                        failed.append(label)
        if not args.no_faults:
            export = make_case("reordered_columns", 0, work).path
            good = work / "good"
            cli(["init", str(export), "--output", str(good)], cwd=work)
            outcomes = (fault_disk_full(work, export) + fault_cache(work, good / "data.yaml", truth(base_lines(0)))
                        + fault_signals(work, export, good / "data.yaml", seed=20261207, rounds=6)
                        + fault_two_inits(work, export))
            for o in outcomes:
                total += 1
                print(f"{o.command:<48} exit {o.returncode:>4}  {'ok' if not o.problems else 'FAIL: ' + '; '.join(o.problems)}")
                if o.problems:
                    failed.append(o.command)
    print(f"\n{total - len(failed)} of {total} ended as promised")
    for label in failed:
        print(f"  not handled: {label}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
