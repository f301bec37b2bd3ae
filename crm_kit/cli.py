"""Command line: ``crm-kit init FILES --output DIR`` (draft a data spec and a run file from your exports),
``crm-kit check DATA.yaml`` (check and load it), ``crm-kit run PARAMS.yaml [--month YYYY-MM|last]`` (the
cycle), ``crm-kit demo`` (generate the demo store, print its decile table), ``crm-kit params NOTEBOOK`` and
``crm-kit fetch [DATASET ...]`` (verify or download the public datasets)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import threading

import pandas as pd

from .errors import CRMKitError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .demo import DEMO_MONTHS, ensure_demo_store
    from .store import load_store
    from .engine import decile_table, monthly_customer_list

    folder = ensure_demo_store(n_members=args.n_members, seed=args.seed)
    store = load_store({"source": "demo", "n_members": args.n_members, "seed": args.seed})
    month = args.month or DEMO_MONTHS["base"]
    table = decile_table(monthly_customer_list(store.transactions, month=month, groups=args.groups))
    shown = table[["group", "customers", "sales_per_customer", "sales_share", "cum_sales_share", "visits_per_customer", "ticket"]]
    print(f"Demo store in {folder}")
    print(f"Decile table of {month}: {int(table['customers'].sum()):,} members, total sales {table['sales'].sum():,.0f}")
    with pd.option_context("display.width", 120, "display.float_format", "{:,.2f}".format):
        print(shown.to_string(index=False))
    return 0


@contextlib.contextmanager
def _quiet_stderr(quiet: bool):
    """With ``--quiet``, what the notebooks' kernels write to the terminal (start-up warnings) goes nowhere."""
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _run(args: argparse.Namespace) -> int:
    from .run import RunFailed, load_run_plan, run_cycle

    plan = load_run_plan(args.params, *args.file, overrides=args.set, only=args.steps.split(",") if args.steps else None,
                         month=args.month)
    if plan.month:
        print(f"month {plan.month}: " + "; ".join(f"{name} " + ", ".join(f"{k} {v}" for k, v in p.items())
                                                  for name, p in plan.periods.items() if p))
    if args.run_name:
        from .config import check_run_name

        plan.run_name = check_run_name(args.run_name)
    try:
        with _quiet_stderr(args.quiet):
            folder = run_cycle(plan, output_root=args.output, timeout=args.timeout, progress=not args.quiet,
                               workers=args.workers)
    except RunFailed as exc:
        print(f"crm-kit: run failed: {exc}", file=sys.stderr)
        return 1
    print(f"report: {folder / 'report.html'}")
    print(f"metrics: {folder / 'metrics.json'}")
    return 0


def _params(args: argparse.Namespace) -> int:
    from .params import describe_parameters

    print(describe_parameters(args.notebook))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .store.public import PUBLIC_DATASETS, fetch_public_dataset

    names = args.datasets or sorted(PUBLIC_DATASETS)
    for name in names:
        folder = fetch_public_dataset(name, cache=args.cache, download=args.download, url=args.url)
        print(f"{name}: {folder} (checksums verified; licence: {PUBLIC_DATASETS[name]['licence']})")
    return 0


def _student(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import notebooks_dir
    from .run import student_copy

    names = args.notebooks or sorted(p.stem for p in notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    for name in names:
        print(student_copy(name, Path(args.output) / f"{name}.ipynb"))
    if args.instructor:
        from .teaching import instructor_copy

        if Path(args.instructor).resolve() == Path(args.output).resolve():
            from .errors import ParameterError

            raise ParameterError("--instructor must be another folder than --output: the key must not reach the "
                                 "students")
        for name in names:
            print(instructor_copy(name, Path(args.instructor) / f"{name}.ipynb"))
    return 0


def _init(args: argparse.Namespace) -> int:
    from .draft import draft, summary_text, write_draft

    found = draft(args.files, month=args.month)
    data_path, run_path = write_draft(found, args.output)
    print(summary_text(found, data_path, run_path))
    # what could not be decided is written as a commented choice: a scheduler sees a non-zero exit
    return 1 if found.undecided else 0


def _check(args: argparse.Namespace) -> int:
    from .draft import notebook_needs
    from .store import load_store
    from .store.spec import check_spec, load_data_spec, resolve_source

    spec = resolve_source(load_data_spec(args.data))
    check_spec(spec)
    store = load_store(args.data)
    with pd.option_context("display.width", 160, "display.max_colwidth", 110):
        print("data health:")
        print(store.health().to_string(index=False))
        print("\ncleaning:")
        print(store.cleaning_report[["rule", "action", "rows_found", "rows_removed", "sales_removed",
                                     "customers_removed"]].to_string(index=False))
        if store.coverage is not None and len(store.coverage):
            print("\nhow the tables match:")
            print(store.coverage.to_string(index=False))
    roles = ["transactions"] + [name for name in ("customers", "products", "contacts")
                                if getattr(store, name, None) is not None]
    print("\nnotebooks:")
    for name, state in notebook_needs(roles):
        print(f"  {name:<46} {state}")
    from .periods import data_calendar, last_complete_month

    first, last = data_calendar(store)
    print(f"\nlines from {first.date()} to {last.date()}; last complete month {last_complete_month(last=last)}")
    return 0


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: the command stops as on Ctrl-C (what it was writing is removed, one line)."""


def _stop_on_signals() -> dict:
    """SIGTERM and SIGHUP (a scheduler stopping the job, a closed terminal) stop a command as Ctrl-C does.

    Python's default for them ends the process on the spot, before a half-built cache or draft is removed;
    raised as an exception, they unwind through the code that removes it. ``crm-kit run`` sets its own
    handlers while its notebooks run (the runner marks the run) and puts these back after.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, _frame):
        raise _Stopped(signal.Signals(signum).name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            previous[sig] = signal.signal(sig, stop)
    return previous


def _ignore_signals_at_exit() -> None:
    """A signal that arrives once the interpreter tears down is ignored: the command has ended.

    Python puts the default handlers back as it finalizes (about half a second with DuckDB and pandas
    loaded), and the default ends the process with no line and the signal's status although the
    command's work is whole and its output printed. Registered once, on the main thread only.
    """
    global _EXIT_GUARD
    if _EXIT_GUARD or threading.current_thread() is not threading.main_thread():
        return

    def ignore() -> None:
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None:
                signal.signal(sig, signal.SIG_IGN)

    atexit.register(ignore)
    _EXIT_GUARD = True


_EXIT_GUARD = False


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C, or SIGTERM/SIGHUP as :class:`_Stopped`) an exception was raised from, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crm-kit`` console script."""
    parser = argparse.ArgumentParser(prog="crm-kit", description=__doc__)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"crm-kit {__version__}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the demo store (if needed) and print its base-month decile table")
    demo.add_argument("--n-members", type=int, default=11550)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--month", default=None, help="YYYY-MM (default: the demo base month)")
    demo.add_argument("--groups", type=int, default=10)
    run = sub.add_parser("run", help="run the CRM cycle's notebooks from a run file into reports/<run-name>/<timestamp>/")
    run.add_argument("params", help="run file (YAML), e.g. params/demo.yaml")
    run.add_argument("-f", "--file", action="append", default=[], help="more run files layered on top")
    run.add_argument("-p", "--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a parameter: key=value (common) or step.key=value")
    run.add_argument("--steps", help="comma-separated step names to run (default: all)")
    run.add_argument("--run-name", help="name of the run folder under the output root (default: the run file's run_name)")
    run.add_argument("--output", help="root folder of run folders (default: reports/)")
    run.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--workers", type=int, default=2, help="notebooks run side by side when their steps allow (default 2)")
    run.add_argument("--month", default=None, metavar="YYYY-MM|last",
                     help="the month every step derives its periods from (last: the data's last complete month); "
                          "a date set in the run file still wins")
    par = sub.add_parser("params", help="list a notebook's parameters: name, type, default, help")
    par.add_argument("notebook")
    fetch = sub.add_parser("fetch", help="check public datasets in the cache; --download fetches and converts missing ones")
    fetch.add_argument("datasets", nargs="*", help="online_retail, online_retail_ii, completejourney, lenta_sample (default: all)")
    fetch.add_argument("--cache", default=None, help="cache folder (default: $CRM_KIT_CACHE, else data/cache)")
    fetch.add_argument("--download", action="store_true", help="fetch a missing dataset from its publisher and convert it")
    fetch.add_argument("--url", default=None, help="the archive's address instead of the publisher's (a mirror, file://)")
    ini = sub.add_parser("init", help="draft a data spec and a run file from your exports (every row read, the draft loaded to check it)")
    ini.add_argument("files", nargs="+", help="exports: CSV/TSV/text, Excel, Parquet; a folder or glob of monthly parts")
    ini.add_argument("-o", "--output", required=True, help="folder for data.yaml and run.yaml (never overwritten)")
    ini.add_argument("--month", default=None, help="YYYY-MM to analyse (default: the last complete month found)")
    chk = sub.add_parser("check", help="check a data spec completely, load the data, print health and coverage")
    chk.add_argument("data", help="a data spec (YAML)")
    stu = sub.add_parser("student", help="write student copies of notebooks (outputs and solution cells removed)")
    stu.add_argument("notebooks", nargs="*")
    stu.add_argument("--output", default="student", help="folder for the student copies (no solutions)")
    stu.add_argument("--instructor", default=None,
                     help="folder for the answer key: the full notebooks with nbgrader cell metadata")
    args = parser.parse_args(argv)
    previous = _stop_on_signals()
    _ignore_signals_at_exit()
    try:
        return _main(args)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(args: argparse.Namespace) -> int:
    if getattr(args, "seed", 0) is None:
        from .demo import DEMO_SEED

        args.seed = DEMO_SEED
    try:
        try:
            return {"demo": _demo, "run": _run, "params": _params, "fetch": _fetch, "student": _student,
                    "init": _init, "check": _check}[args.command](args)
        except Exception as exc:
            # DuckDB turns a signal that arrives inside a query into RuntimeError('Query interrupted') raised
            # from the KeyboardInterrupt; that, and any error wrapped around it, is the interrupt
            interrupt = _interrupt_behind(exc)
            if interrupt is not None:
                raise interrupt from None
            raise
    except CRMKitError as exc:
        print(f"crm-kit: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        name = exc.args[0] if isinstance(exc, _Stopped) else "SIGINT"
        print(f"crm-kit: interrupted by {name}; nothing was left half written (run the command again)",
              file=sys.stderr)
        return 128 + int(getattr(signal, name, signal.SIGINT))
    except BrokenPipeError:
        # the reader went away (`crm-kit params NB | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"crm-kit: error: cannot use{where}: {exc.strerror or exc}; check the path and its permissions",
              file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user of the command line
        print(f"crm-kit: error: {type(exc).__name__}: {_one_line(exc)} (unexpected: please report it with the command "
              "you ran; CRM_KIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        if os.environ.get("CRM_KIT_DEBUG"):
            raise
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
