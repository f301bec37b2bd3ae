"""Benchmark: how the experiment core's intervals and designs hold up on simulated experiments.

    python benchmarks/bench_experiment.py                 # the long runs (a few minutes on 2 cores)
    python benchmarks/bench_experiment.py --reps 400      # quicker, rougher

Measures, with the kit's own functions on data drawn with known truth:

* **joint coverage** of :func:`crm_kit.experiment.compare_arms`'s joint (Bonferroni) intervals — the share
  of experiments in which every comparison's interval covers its true difference — with two and three arms,
  beside the step-level Holm intervals the kit used to report (:func:`crm_kit.experiment.holm_levels`);
* **realised power** of each arm-against-control comparison (its joint interval excludes zero) beside
  :func:`crm_kit.experiment.arm_power`'s planned power;
* **type-I rates** of the 95 % intervals on a small, zero-heavy, skewed control arm (40 controls, 75 % zeros,
  lognormal spend): Welch's, and :func:`crm_kit.experiment.permutation_difference`'s, and how often
  :func:`crm_kit.experiment.interval_check` flags the data;
* **each unit's chance of control** under :func:`crm_kit.experiment.assign_arms` for strata of 1 to 10
  units, beside round-half-to-even rounding.

tests/test_experiment.py runs small versions of each (``reps`` of a few hundred). Not a test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def _draws(rng, reps: int, sizes, means, sd: float) -> list[np.ndarray]:
    """``reps`` experiments at once: per arm (control first) a ``reps x n`` array of gamma spend with mean and ``sd``."""
    out = []
    for n, mu in zip(sizes, means):
        shape = (mu / sd) ** 2
        out.append(rng.gamma(shape, mu / shape, (reps, n)))
    return out


def welch_rows(ya: np.ndarray, yb: np.ndarray, level) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's difference and interval for each row of ``ya`` against the same row of ``yb``, as
    :func:`crm_kit.experiment.welch_difference` computes it for one pair (the test checks they agree)."""
    from scipy import stats

    va, vb = ya.var(axis=1, ddof=1) / ya.shape[1], yb.var(axis=1, ddof=1) / yb.shape[1]
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (ya.shape[1] - 1) + vb**2 / (yb.shape[1] - 1))
    diff = ya.mean(axis=1) - yb.mean(axis=1)
    half = stats.t.ppf(1 - (1 - np.asarray(level)) / 2, df) * se
    return diff, diff - half, diff + half


def experiments(reps: int, *, sizes, means, sd: float, seed: int) -> dict:
    """Simulated multi-arm experiments and, per comparison of :func:`crm_kit.experiment.compare_arms`'s family,
    the truth, the unadjusted p-values and the joint (level ``1 - 0.05/m``) intervals."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    names = ["control"] + [f"arm{i}" for i in range(1, len(sizes))]
    data = dict(zip(names, _draws(rng, reps, sizes, means, sd)))
    truth = dict(zip(names, means))
    arms = names[1:]
    pairs = [(a, "control") for a in arms] + [(a, b) for i, a in enumerate(arms) for b in arms[i + 1:]]
    joint_level = 1 - 0.05 / len(pairs)
    out = {"pairs": pairs, "data": data, "truth": np.array([truth[a] - truth[b] for a, b in pairs])}
    diffs, lows, highs, pvalues = [], [], [], []
    for a, b in pairs:
        d, lo, hi = welch_rows(data[a], data[b], joint_level)
        va, vb = data[a].var(axis=1, ddof=1) / data[a].shape[1], data[b].var(axis=1, ddof=1) / data[b].shape[1]
        df = (va + vb) ** 2 / (va**2 / (data[a].shape[1] - 1) + vb**2 / (data[b].shape[1] - 1))
        pvalues.append(2 * stats.t.sf(np.abs(d) / np.sqrt(va + vb), df))
        diffs.append(d)
        lows.append(lo)
        highs.append(hi)
    out.update(difference=np.array(diffs).T, joint_low=np.array(lows).T, joint_high=np.array(highs).T,
               p_value=np.array(pvalues).T)
    return out


def joint_coverage(reps: int = 4000, *, sizes=(120, 100, 100), means=(100.0, 110.0, 100.0), sd: float = 40.0,
                   seed: int = 0) -> dict[str, float]:
    """Share of experiments whose joint intervals all cover the true differences; also the step-level Holm ones."""
    from crm_kit import experiment as ex

    sim = experiments(reps, sizes=sizes, means=means, sd=sd, seed=seed)
    truth = sim["truth"]
    joint = ((sim["joint_low"] <= truth) & (truth <= sim["joint_high"])).all(axis=1).mean()
    step_covered = np.ones(reps, bool)
    levels = np.array([ex.holm_levels(p, 0.05) for p in sim["p_value"]])
    for j, (a, b) in enumerate(sim["pairs"]):
        _d, lo, hi = welch_rows(sim["data"][a], sim["data"][b], levels[:, j])
        step_covered &= (lo <= truth[j]) & (truth[j] <= hi)
    return {"joint": float(joint), "holm_step": float(step_covered.mean()), "reps": reps}


def realised_power(reps: int = 4000, *, sizes=(150, 150, 150), sd: float = 40.0, seed: int = 1) -> dict[str, float]:
    """Planned power of arm1 against control (:func:`~crm_kit.experiment.arm_power` at the effect it plans to find
    80 % of the time) and the share of simulated experiments whose joint interval excludes zero."""
    from crm_kit import experiment as ex

    rng = np.random.default_rng(seed)
    design = pd.DataFrame({"arm": np.repeat(["control"] + [f"arm{i}" for i in range(1, len(sizes))], sizes)})
    reference = pd.Series(rng.normal(100.0, sd, 20_000))
    plan = ex.arm_power(reference, effect=1.0, arms=design).set_index("comparison")
    effect = float(plan.loc["arm1 vs control", "mde"])
    planned = ex.arm_power(reference, effect=effect, arms=design).set_index("comparison")
    means = (100.0, 100.0 + effect) + (100.0,) * (len(sizes) - 2)
    sim = experiments(reps, sizes=sizes, means=means, sd=float(reference.std(ddof=1)), seed=seed + 1)
    first = sim["pairs"].index(("arm1", "control"))
    hits = (sim["joint_low"][:, first] > 0) | (sim["joint_high"][:, first] < 0)
    return {"planned": float(planned.loc["arm1 vs control", "power_at_plan"]), "realised": float(hits.mean()),
            "effect": effect, "reps": reps}


def skewed_draw(rng, n: int, *, zeros: float = 0.75) -> np.ndarray:
    """Spend with a share ``zeros`` of zeros and a lognormal(5, 1) tail."""
    return np.where(rng.random(n) < zeros, 0.0, rng.lognormal(5.0, 1.0, n))


def type_one_rates(reps: int = 400, *, n_treated: int = 360, n_control: int = 40, seed: int = 2,
                   n_perm: int = 2000) -> dict[str, float]:
    """Under no effect: how often Welch's and the permutation 95 % intervals exclude zero, and how often flagged."""
    from crm_kit import experiment as ex

    rng = np.random.default_rng(seed)
    welch = perm = flagged = 0
    for i in range(reps):
        a, b = skewed_draw(rng, n_treated), skewed_draw(rng, n_control)
        _d, lo, hi, _p = ex.welch_difference(a, b)
        welch += not lo <= 0 <= hi
        _d, lo, hi, _p = ex.permutation_difference(a, b, n_perm=n_perm, seed=i)
        perm += not lo <= 0 <= hi
        flagged += not ex.interval_check(a, b)["trusted"]
    return {"welch": welch / reps, "permutation": perm / reps, "flagged": flagged / reps, "reps": reps}


def control_chances(seeds: int = 2000, *, share: float = 0.1, sizes=range(1, 11)) -> pd.DataFrame:
    """Per stratum size, the share of its units assign_arms puts in control over ``seeds`` seeds."""
    from crm_kit import experiment as ex

    sizes = list(sizes)
    strata = np.repeat([f"s{n:02d}" for n in sizes], sizes)
    units = pd.DataFrame({"customer_id": [f"u{i:03d}" for i in range(len(strata))], "stratum": strata})
    control = np.zeros(len(units))
    for seed in range(seeds):
        arms = ex.assign_arms(units, control_share=share, stratify_by="stratum", seed=seed)
        control += (arms.set_index("customer_id").loc[units["customer_id"], "arm"] == "control").to_numpy()
    out = units.assign(chance=control / seeds).groupby("stratum", sort=True)["chance"].mean()
    return pd.DataFrame({"size": sizes, "chance_of_control": out.to_numpy(),
                         "half_to_even": [round(share * n) / n for n in sizes]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=4000, help="simulated experiments per check")
    args = parser.parse_args()
    start = time.perf_counter()
    for k, sizes, means in [(2, (120, 100, 100), (100.0, 110.0, 100.0)),
                            (3, (120, 100, 100, 100), (100.0, 110.0, 100.0, 95.0))]:
        cov = joint_coverage(args.reps, sizes=sizes, means=means)
        print(f"joint coverage at 95 %, {k} arms: joint (Bonferroni) {cov['joint']:.1%}, "
              f"step-level Holm {cov['holm_step']:.1%} ({args.reps} experiments)")
    for sizes in [(150, 150, 150), (200, 150, 150, 150)]:
        pw = realised_power(args.reps, sizes=sizes)
        print(f"power, {len(sizes) - 1} arms: planned {pw['planned']:.1%}, realised {pw['realised']:.1%} "
              f"(effect {pw['effect']:.2f}, {args.reps} experiments)")
    t1 = type_one_rates(max(args.reps // 4, 100))
    print(f"type-I at 95 %, 40 controls, 75 % zeros, lognormal: Welch {t1['welch']:.1%}, permutation "
          f"{t1['permutation']:.1%}; flagged by interval_check {t1['flagged']:.0%} ({t1['reps']} experiments)")
    chances = control_chances(max(args.reps // 2, 200))
    print("chance of control at a 10 % share, by stratum size (assign_arms / half-to-even rounding):")
    print(chances.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
