"""The demo store as the notebooks see it: generated once, its worked case simulated, a run's designs played out.

``generate_demo_store`` writes the months without campaigns
(:mod:`~crm_kit.demo.generator`) and the worked case's two rounds
(:mod:`~crm_kit.demo.simulator`); ``campaign_data`` tells a campaign
notebook which variant of the store to load.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from .generator import DEMO_VERSION, default_demo_dir, store_spec, write_natural_store
from .plan import DEMO_SEED
from .simulator import Design, read_truth, simulate_campaign, simulate_case_rounds

__all__ = ["CampaignData", "campaign_data", "demo_data_spec", "ensure_demo_store", "generate_demo_store"]


def generate_demo_store(
    out_dir: str | os.PathLike | None = None,
    *,
    n_members: int = 11550,
    seed: int = DEMO_SEED,
    overwrite: bool = False,
) -> Path:
    """Generate the demo membership store as Parquet files: the months without campaigns and the worked case's rounds.

    Parameters
    ----------
    out_dir
        Target folder (default :func:`default_demo_dir`). Files written:
        ``transactions``, ``customers``, ``customers_personal``, ``products``,
        ``contacts`` (``.parquet``), ``ground_truth.json`` and
        ``ground_truth_customers.parquet`` — the worked case with both rounds
        simulated — and ``natural/``: the same months without any campaign and
        the state :func:`~crm_kit.demo.simulator.simulate_campaign` needs.
    n_members
        Members paying in the base month (the case: 11,550); scales everything.
    seed
        Random seed: the same seed and size give byte-identical files.
    overwrite
        Replace an existing store in ``out_dir``.

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    if not isinstance(n_members, (int, np.integer)) or isinstance(n_members, bool) or n_members < 100:
        raise ParameterError(f"n_members={n_members!r}: the demo store needs at least 100 members")
    out = Path(out_dir) if out_dir is not None else default_demo_dir()
    if (out / "transactions.parquet").exists() and not overwrite:
        raise DataError(f"a demo store already exists in {out}; pass overwrite=True to replace it")
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "natural").mkdir(parents=True)
    truth = write_natural_store(tmp, n_members=int(n_members), seed=int(seed))
    simulate_case_rounds(tmp, truth)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def ensure_demo_store(out_dir: str | os.PathLike | None = None, *, n_members: int = 11550, seed: int = DEMO_SEED) -> Path:
    """Return the demo store folder, generating it first if it is missing or of another size/seed."""
    out = Path(out_dir) if out_dir is not None else default_demo_dir()
    if n_members != 11550 or seed != DEMO_SEED:
        if out_dir is None:
            out = out.with_name(f"demo_n{n_members}_s{seed}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # parallel test workers and notebooks may ask at once: one generates, the others wait
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        truth = out / "ground_truth.json"
        if truth.exists():
            meta = json.loads(truth.read_text())
            if meta.get("n_members") == n_members and meta.get("seed") == seed and meta.get("generator_version") == DEMO_VERSION:
                return out
        return generate_demo_store(out, n_members=n_members, seed=seed, overwrite=True)


def demo_data_spec(*, n_members: int | None = None, seed: int | None = None, folder: str | os.PathLike | None = None,
                   plant: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data spec of the demo store (generated on first use): the worked case with both rounds.

    ``plant`` (e.g. ``{"month": "2025-09", "tier": "A", "keep_share": 0.5}``) gives instead the months
    without campaigns with a known change planted in one month (:func:`crm_kit.demo.planted.plant_change`).
    """
    top = ensure_demo_store(folder, n_members=n_members or 11550, seed=seed or DEMO_SEED)
    if plant:
        from .planted import plant_change

        if not isinstance(plant, dict) or "month" not in plant:
            raise ParameterError(f"plant={plant!r}: give a mapping with at least 'month' (and 'tier', 'keep_share')")
        return plant_change(top, **plant)
    return store_spec(top)


# ------------------------------------------------------------------ what a notebook loads


@dataclass
class CampaignData:
    """What a campaign notebook loads, and where the planted truth is when the data is the demo.

    Attributes
    ----------
    data
        The data to load (``crm_kit.load_store(campaign.data)``): the user's own data unchanged, or the spec of
        the demo variant that plays out this run's designs.
    folder
        The demo folder simulated (``None`` off the demo).
    note
        One sentence saying which store this is.
    """

    data: Any
    folder: Path | None = None
    note: str = ""

    def planted(self, round_no: int) -> dict[str, Any] | None:
        """The planted truth of round ``round_no`` in this demo variant (``None`` off the demo or without that round)."""
        if self.folder is None:
            return None
        return read_truth(self.folder).get("rounds", {}).get(str(round_no))

    def beside(self, lift: pd.DataFrame, round_no: int, *, adjusted: pd.DataFrame | str | None = None) -> pd.DataFrame | str:
        """The lift's visits and sales estimates (and the adjusted ones, if given) beside the planted effect."""
        planted = self.planted(round_no)
        if planted is None:
            return ("No planted effect to compare with: " +
                    ("this is not the demo store." if self.folder is None else f"round {round_no} was not simulated."))
        rows = []
        estimates = [("", lift.set_index("metric"), "lift", "ci_low", "ci_high")]
        if isinstance(adjusted, pd.DataFrame):
            estimates.append((" (adjusted)", adjusted.set_index("metric"), "adjusted", "adjusted_ci_low", "adjusted_ci_high"))
        for metric in ("visits", "sales"):
            truth = planted[f"planted_effect_{metric}_per_member"]
            for suffix, table, est, lo, hi in estimates:
                row = table.loc[metric]
                rows.append({"metric": metric + suffix, "estimate": row[est], "ci_low": row[lo], "ci_high": row[hi],
                             "planted effect": truth, "interval covers it": bool(row[lo] <= truth <= row[hi])})
        return pd.DataFrame(rows)

    def beside_arms(self, comparisons: pd.DataFrame | str, round_no: int) -> pd.DataFrame | str:
        """Each arm-against-control row of :func:`~crm_kit.results.compare_arms` beside that arm's planted effect."""
        planted = self.planted(round_no)
        if planted is None or not planted.get("arms"):
            return ("No planted effect per arm to compare with: " +
                    ("this is not the demo store." if self.folder is None else f"round {round_no} was not simulated."))
        if isinstance(comparisons, str):
            return comparisons
        arms = planted["arms"]
        rows = []
        for row in comparisons[comparisons["against"] == "control"].to_dict("records"):
            truth = arms.get(row["arm"], {}).get(f"planted_effect_{row['metric']}_per_member")
            if truth is None:
                continue
            rows.append({"metric": row["metric"], "arm": row["arm"], "channel": arms[row["arm"]]["channel"],
                         "estimate": row["difference"], "joint_ci_low": row["joint_ci_low"],
                         "joint_ci_high": row["joint_ci_high"], "planted effect": truth,
                         "interval covers it": bool(row["joint_ci_low"] <= truth <= row["joint_ci_high"])})
        return pd.DataFrame(rows)


    def uplift_truth(self, scores: pd.DataFrame | None, round_no: int) -> pd.DataFrame | str:
        """How well the uplift scores recover the planted responders of round ``round_no`` (demo only).

        ``scores`` is :attr:`crm_kit.uplift.UpliftReport.scores`. Returns the ROC AUC of the predicted uplift
        for telling the planted responders from the others (0.5 = random), its correlation with each
        member's planted effect, and the mean planted effect of the selected customers against everyone's.
        """
        from sklearn.metrics import roc_auc_score

        if scores is None:
            return "No uplift scores to compare with the planted responders."
        if self.folder is None or self.planted(round_no) is None:
            return ("No planted responders to compare with: " +
                    ("this is not the demo store." if self.folder is None else f"round {round_no} was not simulated."))
        truth = pd.read_parquet(self.folder / "ground_truth_customers.parquet").set_index("customer_id")
        truth = truth.reindex(scores["customer_id"])
        responder = truth[f"r{round_no}_responder_type"].astype(bool).to_numpy()
        effect = truth[f"r{round_no}_expected_sales_effect"].to_numpy(float)
        predicted = scores["predicted_uplift"].to_numpy(float)
        selected = scores["selected"].to_numpy(bool)
        rows = [
            {"figure": "uplift AUC: predicted uplift telling planted responders from the others (0.5 = random)",
             "value": float(roc_auc_score(responder, predicted)) if 0 < responder.sum() < len(responder) else np.nan},
            {"figure": "correlation of predicted uplift with each member's planted effect",
             "value": float(np.corrcoef(predicted, effect)[0, 1])},
            {"figure": "planted effect per member, selected customers", "value": float(effect[selected].mean())
             if selected.any() else np.nan},
            {"figure": "planted effect per member, whole target", "value": float(effect.mean())},
        ]
        return pd.DataFrame(rows)


def campaign_data(data: Any, *, folder: str | os.PathLike | None, through_round: int) -> CampaignData:
    """The store a campaign step works on: on the demo, the variant that plays out this run's designs.

    Parameters
    ----------
    data
        The notebook's ``data`` parameter.
    folder
        The run folder, where notebook 03 wrote each round's campaign definition.
    through_round
        Play out the designs of rounds 1 .. ``through_round`` (notebook 03 of round *r* passes *r - 1*: it designs
        on the months earlier rounds shaped; notebook 04 passes *r*).

    Off the demo the data is returned unchanged. On the demo, the definitions
    found (this run, then earlier runs of the same name) are simulated in
    order; with none at all, round 0 gets the months without campaigns and a
    later round the worked case's store (its recorded campaigns).
    """
    from ..artifacts import CampaignDefinition
    from ..store.spec import load_data_spec, source_overrides

    spec = load_data_spec(data)
    kept = source_overrides(spec)  # the engine, window or month the user named beside `source: demo`
    if spec.get("source") != "demo":
        return CampaignData(data=data, note="The data as given (the campaign simulator plays designs out on the demo store only).")
    top = ensure_demo_store(spec.get("folder"), n_members=spec.get("n_members") or 11550,
                            seed=spec.get("seed") or DEMO_SEED)
    designs = [d for r in range(1, through_round + 1) if (d := CampaignDefinition.read(folder, r)) is not None]
    if not designs:
        if through_round < 1:
            return CampaignData({**store_spec(top, top / "natural"), **kept}, top / "natural",
                                "The demo store without any campaign: this round is designed on months no campaign touched.")
        return CampaignData({**store_spec(top), **kept}, top, "No campaign definition in this run: the demo store's worked case "
                                                  "(its two recorded rounds) is analysed.")
    ids = pd.read_parquet(top / "customers.parquet", columns=["customer_id"])["customer_id"].tolist()
    variant = top / "natural"
    for definition in designs:
        variant = simulate_campaign(variant, Design.from_definition(definition, ids))
    shown = ", ".join(f"round {d.round} ({d.campaign_id}: {int(d.arms.get('treatment', 0)):,} treated"
                      + (f" in {len(d.arms['by_arm'])} arms" if d.arms.get("by_arm") else "")
                      + f" / {int(d.arms.get('control', 0)):,} control)" for d in designs)
    return CampaignData({**store_spec(top, variant), **kept}, variant,
                        f"The demo store with this run's design(s) played out by the campaign simulator: {shown}.")
