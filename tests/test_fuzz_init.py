"""The fuzz and fault harness (benchmarks/bench_fuzz.py), bounded: one export of each kind of damage, the faults once.

Each kind goes through ``crm-kit init`` and, when init wrote a draft, ``crm-kit check``; each command must end in
the kit's one line or succeed with the right figures, the input stays byte for byte as it was and the output
folder holds a whole draft or nothing. The long version (more seeds, a 12 MB line, 2,000 columns, ``crm-kit run``,
a real full disk on a tmpfs) is ``benchmarks/bench_fuzz.py``.
"""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
try:
    import bench_fuzz as fuzz
finally:
    sys.path.remove(str(ROOT / "benchmarks"))

@pytest.mark.parametrize("kind", fuzz.KINDS)
def test_each_kind_of_damaged_export_ends_in_one_line_or_the_right_figures(kind, tmp_path):
    # 40 extra columns here; the long version (benchmarks/bench_fuzz.py) tries 2,000
    case = fuzz.make_case(kind, 0, tmp_path, huge_bytes=2_000_000, wide=40)
    outcomes = fuzz.run_case(case, tmp_path)
    problems = [f"{o.command}: {p}" for o in outcomes for p in o.problems]
    assert not problems, problems


def test_the_faults_end_in_one_line_and_leave_nothing_half_written(tmp_path):
    export = fuzz.make_case("reordered_columns", 0, tmp_path).path
    good = tmp_path / "good"
    proc, _ = fuzz.cli(["init", str(export), "--output", str(good)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    outcomes = (fuzz.fault_disk_full(tmp_path, export)
                + fuzz.fault_cache(tmp_path, good / "data.yaml", fuzz.truth(fuzz.base_lines(0)))
                + fuzz.fault_signals(tmp_path, export, good / "data.yaml", seed=20261207, rounds=3)
                + fuzz.fault_two_inits(tmp_path, export, rounds=1))
    problems = [f"{o.command}: {p}" for o in outcomes for p in o.problems]
    assert not problems, problems
    assert len(outcomes) >= 6
