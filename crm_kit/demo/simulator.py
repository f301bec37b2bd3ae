"""The campaign simulator: any design's contact list, run on the demo store's planted response model.

A campaign designed in notebook 03 — any target, any control share, any
channel — is played out on the demo store: each treated member responds or
not as their latent traits say (:data:`~crm_kit.demo.model.RESPONSE_MODEL`),
a responder's campaign month is drawn again from the same random numbers
with more visits, a larger ticket or extra phone orders, and everyone else's
month stays exactly as it was. The result is a new variant of the store
(``variants/<key>/`` beside ``natural/``: its own transactions, contacts and
ground truth), seeded and cached by the design's key, with the true effect
of *that* design written beside it.

Round two works the same way on the variant of round one, so a chain of
designs (round one, then round two on round one's A4) gives one variant.
Campaign visits do not count towards a member's dropout (their remaining
visits are those of the months without campaigns).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import DataError, ParameterError
from .generator import (
    DEMO_VERSION,
    SEASON,
    TICKET_SEASON,
    TRANSACTIONS_SCHEMA,
    VISIT_SEASON,
    arrow_table,
    expected_capped_visits,
    lines_frame,
    month_spend,
    month_starts,
    month_visits,
    sort_lines,
    split_spend,
    visit_lines,
    write_parquet,
)
from .model import RESPONSE_MODEL, SHAPES

__all__ = ["Design", "read_truth", "simulate_campaign", "simulate_case_rounds"]

#: bumped when the simulator's output changes for the same design (a new key: cached variants are not reused)
SIMULATOR_VERSION = 2


@dataclass
class Design:
    """What the simulator needs of a campaign design: who is in which arm, on which channel, in which month.

    Parameters
    ----------
    campaign_id, round
        The campaign's name and round number (they go to the contacts table).
    month
        The campaign month, ``YYYY-MM``: one of the demo calendar's months after its first.
    arms
        ``customer_id``, ``arm`` (``control``, and ``treatment`` or the names of several treatment arms) and
        ``channel`` (the treated's channel; control ``none``).
    channels
        The plan's channels; ``phone`` among them adds phone ordering for every treated member.
    default_channel
        The channel a member gets when their preferred one is not among ``channels`` (for the planted effect
        of control members had they been treated).
    """

    campaign_id: str
    round: int
    month: str
    arms: pd.DataFrame
    channels: list[str] = field(default_factory=list)
    default_channel: str = ""

    @classmethod
    def from_definition(cls, definition, customer_ids: Sequence[str]) -> "Design":
        """The design of notebook 03's :class:`~crm_kit.artifacts.CampaignDefinition` (its contact list matched back to ids)."""
        from ..campaign import arms_from_contact_list

        if definition.contact_list is None:
            raise DataError(f"campaign {definition.campaign_id} (round {definition.round}) has no contact list beside its "
                            "definition; run notebook 03 again to write it")
        contacts = definition.contact_list
        arms = arms_from_contact_list(contacts, customer_ids, salt=definition.pseudonym_salt)
        arms = arms.assign(channel=contacts["channel"].to_numpy())
        channels = list(definition.channels or [definition.channel])
        return cls(campaign_id=str(definition.campaign_id), round=int(definition.round),
                   month=str(definition.periods["campaign"]), arms=arms, channels=channels,
                   default_channel=str(definition.channel))

    def key(self) -> str:
        """A short hash of everything that changes the simulation."""
        arms = self.arms.sort_values("customer_id")
        doc = {"version": DEMO_VERSION, "simulator": SIMULATOR_VERSION, "campaign_id": self.campaign_id, "round": self.round, "month": self.month,
               "channels": sorted(self.channels), "default": self.default_channel,
               "arms": arms[["customer_id", "arm", "channel"]].astype(str).to_numpy().tolist()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def read_truth(folder: Path) -> dict[str, Any]:
    """The ``ground_truth.json`` of a demo folder (the store, ``natural/`` or a variant)."""
    return json.loads((folder / "ground_truth.json").read_text())


def _top_of(folder: Path) -> Path:
    """The demo store folder a natural or variant folder belongs to."""
    folder = Path(folder)
    if folder.name == "natural":
        return folder.parent
    if folder.parent.name == "variants":
        return folder.parent.parent
    return folder


def _chain_key(chain: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(chain)).encode()).hexdigest()[:16]


def simulate_campaign(store: str | os.PathLike, design: Design) -> Path:
    """Run ``design`` on a demo store folder (its ``natural/`` months or a variant) and return the variant folder.

    Parameters
    ----------
    store
        A demo store folder: the store itself (its campaigns are replaced: the design runs on the months without
        campaigns), its ``natural/`` folder, or a variant returned by an earlier call (round two on round one).
    design
        The campaign: :class:`Design` (e.g. ``Design.from_definition(definition, ids)``).

    Returns
    -------
    pathlib.Path
        ``<store>/variants/<key>/`` with ``transactions.parquet``, ``contacts.parquet``, ``ground_truth.json``
        (the design's planted effect under ``rounds``) and ``ground_truth_customers.parquet``. The same design
        on the same store gives the same folder, simulated once.
    """
    parent = Path(store)
    top = _top_of(parent)
    if parent == top:
        parent = top / "natural"
    if not (parent / "ground_truth.json").exists():
        raise DataError(f"{parent} is not a demo store folder (no ground_truth.json); generate one with crm-kit demo")
    parent_truth = read_truth(parent)
    chain = [*parent_truth.get("chain", []), design.key()]
    out = top / "variants" / _chain_key(chain)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "ground_truth.json").exists():
            return out
        lines, contacts, truth, truth_customers = _simulate(top, parent, parent_truth, design)
        truth["chain"] = chain
        tmp = out.with_name(out.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _write_events(tmp, parent, lines, contacts, truth, truth_customers)
        tmp.rename(out)
    return out


def _write_events(folder: Path, parent: Path, lines: "_NewLines", contacts, truth, truth_customers) -> None:
    """Write the variant: the parent's line items streamed without the replaced ones, then the new ones."""
    replaced_ids = pa.array(lines.replaced_ids, type=pa.string())
    start = pa.scalar(lines.start.to_pydatetime(), type=pa.timestamp("us"))
    end = pa.scalar(lines.end.to_pydatetime(), type=pa.timestamp("us"))
    source = pq.ParquetFile(parent / "transactions.parquet")
    with pq.ParquetWriter(folder / "transactions.parquet", TRANSACTIONS_SCHEMA, compression="zstd") as writer:
        for batch in source.iter_batches(batch_size=1_000_000):
            table = pa.Table.from_batches([batch]).cast(TRANSACTIONS_SCHEMA)
            drop = pc.and_(pc.and_(pc.is_in(table["customer_id"], value_set=replaced_ids),
                                   pc.equal(table["channel"], "store")),
                           pc.and_(pc.greater_equal(table["ts"], start), pc.less(table["ts"], end)))
            writer.write_table(table.filter(pc.invert(drop)), row_group_size=1_000_000)
        if len(lines.frame):
            writer.write_table(arrow_table(sort_lines(lines.frame), TRANSACTIONS_SCHEMA), row_group_size=1_000_000)
    write_parquet(contacts, folder / "contacts.parquet")
    write_parquet(truth_customers, folder / "ground_truth_customers.parquet")
    (folder / "ground_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=str) + "\n")


@dataclass
class _NewLines:
    """A design's line items: the store lines of ``replaced_ids`` in [start, end) give way to ``frame``."""

    frame: pd.DataFrame
    replaced_ids: list[str]
    start: pd.Timestamp
    end: pd.Timestamp


def _month_index(calendar: list[str], month: str) -> int:
    if not re.fullmatch(r"\d{4}-\d{2}", str(month)) or month not in calendar[1:]:
        raise ParameterError(f"campaign month {month!r}: the demo store simulates a campaign over one whole month of its "
                             f"calendar after the first, {calendar[1]} to {calendar[-1]} (YYYY-MM)")
    return calendar.index(month)


def _contact_arms(arm_names: np.ndarray) -> np.ndarray:
    """The contacts table's arm labels: ``treatment`` / ``control``, or ``treatment:<name>`` for a named arm."""
    plain = np.isin(arm_names, ["treatment", "control"])
    return np.where(plain, arm_names, np.char.add("treatment:", arm_names.astype(str)))


def _arm_channels(arm_names: np.ndarray, channel: np.ndarray, treated: np.ndarray) -> dict[str, str]:
    """Each treatment arm's channel: the one all its members share, or ``"by preference"`` when they differ."""
    out = {}
    for name in sorted(set(arm_names[treated].tolist())):
        used = set(channel[arm_names == name].tolist())
        out[name] = used.pop() if len(used) == 1 else "by preference"
    return out


def _effects(state: pd.DataFrame, channel: np.ndarray, phone_offer: np.ndarray):
    """Per member: visit and ticket multipliers, extra phone orders and their ticket share, responder flag.

    ``phone_offer`` marks the members who are offered phone ordering whatever their channel.
    """
    n = len(state)
    visit_mult, ticket_mult = np.ones(n), np.ones(n)
    extra, order_ticket = np.zeros(n), np.zeros(n)
    responder = np.zeros(n, dtype=bool)
    for name, model in RESPONSE_MODEL.items():
        gets = channel == name
        if name == "phone":
            gets = gets | phone_offer
        hit = gets & state[f"responds_{name}"].to_numpy()
        responder |= hit
        visit_mult = np.where(hit, visit_mult * model["visit_mult"], visit_mult)
        ticket_mult = np.where(hit, ticket_mult * model["ticket_mult"], ticket_mult)
        extra = np.where(hit, extra + model["extra_orders"], extra)
        order_ticket = np.where(hit & (model["extra_orders"] > 0), model["order_ticket"], order_ticket)
    return visit_mult, ticket_mult, extra, order_ticket, responder


def _numbered(prefix: str, n: int) -> np.ndarray:
    """``prefix0000000``, ``prefix0000001``, ... (n ids; none for n = 0)."""
    if n == 0:
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 7))


def _simulate(top: Path, parent: Path, parent_truth: dict[str, Any], design: Design):
    nat = top / "natural"
    calendar = parent_truth["calendar"]
    m = _month_index(calendar, design.month)
    arms = design.arms
    if arms.empty:
        raise ParameterError(f"campaign {design.campaign_id}: the design has nobody in it; nothing to simulate")
    if arms["customer_id"].duplicated().any():
        raise ParameterError(f"campaign {design.campaign_id}: the design lists a customer twice")
    if arms["arm"].isna().any() or (arms["arm"].astype(str).str.strip() == "").any():
        raise ParameterError(f"campaign {design.campaign_id}: every customer of the design needs an arm "
                             "(control, or a treatment arm's name)")
    state_all = pd.read_parquet(nat / "simulation_state.parquet")
    ids = state_all["customer_id"].to_numpy()
    pos = np.searchsorted(ids, arms["customer_id"].to_numpy())
    pos = np.minimum(pos, len(ids) - 1)
    unknown = ids[pos] != arms["customer_id"].to_numpy()
    if unknown.any():
        raise DataError(f"campaign {design.campaign_id}: {int(unknown.sum())} customer(s) of the design are not members of "
                        f"this demo store (e.g. {arms['customer_id'][unknown].iloc[0]!r})")
    state = state_all.iloc[pos].reset_index(drop=True)
    customers = pd.read_parquet(top / "customers.parquet", columns=["customer_id", "preferred_channel"]).set_index("customer_id")
    arm_names = arms["arm"].astype(str).to_numpy()
    treated = arm_names != "control"
    preferred = customers["preferred_channel"].reindex(arms["customer_id"]).to_numpy()
    allowed = list(design.channels) or [design.default_channel]
    would_be = np.where(np.isin(preferred, allowed), preferred, design.default_channel or allowed[0])
    channel = np.where(treated, arms["channel"].astype(str).to_numpy(), would_be)
    # one arm: the plan's phone ordering goes to every treated member; several arms: to the phone arm's only
    arm_channel = _arm_channels(arm_names, channel, treated)
    several = len(arm_channel) > 1
    phone_offer = (channel == "phone") if several else np.full(len(arms), "phone" in allowed)
    vm, tm, extra, order_ticket, responder = _effects(state, channel, phone_offer)

    months = month_starts()
    season = SEASON[months[m].month]
    mu0 = state["visit_rate"].to_numpy() * season**VISIT_SEASON * state[f"exposure_{m}"].to_numpy()
    left = state[f"left_{m}"].to_numpy()
    u_visits, u_spend = state[f"u_visits_{m}"].to_numpy(), state[f"u_spend_{m}"].to_numpy()
    ticket = state["mean_ticket"].to_numpy() * season**TICKET_SEASON * state[f"mood_{m}"].to_numpy()
    alive = left > 0
    ev0 = expected_capped_visits(mu0, left)
    es0 = ticket * ev0

    def expected_effect(vm, tm, extra, order_ticket):
        ev1 = expected_capped_visits(mu0 * vm, left) + extra * alive
        es1 = ticket * tm * expected_capped_visits(mu0 * vm, left) + extra * alive * order_ticket * ticket
        return es1 - es0, ev1 - ev0

    effect_sales, effect_visits = expected_effect(vm, tm, extra, order_ticket)
    by_arm = {}
    for name, ch_a in arm_channel.items():
        if several:  # everyone of the target had they been in this arm
            every = np.full(len(arms), ch_a)
            a_vm, a_tm, a_extra, a_ticket, a_resp = _effects(state, every, every == "phone")
            a_sales, a_visits = expected_effect(a_vm, a_tm, a_extra, a_ticket)
        else:
            a_sales, a_visits, a_resp = effect_sales, effect_visits, responder
        mine = arm_names == name
        by_arm[name] = {"channel": ch_a, "treated": int(mine.sum()), "responder_share": float(a_resp.mean()),
                        "planted_effect_sales_per_member": float(a_sales.mean()),
                        "planted_effect_visits_per_member": float(a_visits.mean()),
                        "responders_in_arm": int((responder & mine).sum())}

    key = design.key()
    rng = np.random.default_rng([int(parent_truth["seed"]), int(key[:12], 16)])
    changed = treated & ((vm != 1.0) | (tm != 1.0))
    v1 = month_visits(mu0 * vm, u_visits, left)
    s1 = month_spend(ticket * tm, v1, u_spend)
    prods = pd.read_parquet(nat / "products_state.parquet")
    habits = {
        "cat_mix": state[[c for c in state.columns if c.startswith("mix_")]].to_numpy(),
        "fav_brand": state[[c for c in state.columns if c.startswith("brand_")]].to_numpy(),
        "loyalty": state["loyalty"].to_numpy(),
        "promo_sens": state["promo_sens"].to_numpy(),
    }
    target_ids = arms["customer_id"].to_numpy()
    prefix = f"R{design.round}{key[:6].upper()}-"
    new_frames = []
    ch = np.flatnonzero(changed)
    if len(ch):
        cust_idx, _mi, tick = split_spend(rng, v1[ch, None], s1[ch, None])
        month_idx = np.full(len(cust_idx), m)
        lines = visit_lines(rng, prods, {k: v[ch] for k, v in habits.items()}, cust_idx, tick, month_idx, months)
        new_frames.append(lines_frame(lines, cust_idx, target_ids[ch], prods,
                                      order_ids=_numbered(prefix + "S", len(cust_idx)),
                                      channel="store"))
    orders = np.where(treated & alive & (extra > 0), rng.poisson(extra), 0)
    ph = np.repeat(np.arange(len(arms)), orders)
    if len(ph):
        p = SHAPES["spend_per_visit"]
        tick = ticket[ph] * order_ticket[ph] * rng.gamma(p, 1 / p, len(ph))
        lines = visit_lines(rng, prods, habits, ph, tick, np.full(len(ph), m), months)
        new_frames.append(lines_frame(lines, ph, target_ids, prods,
                                      order_ids=_numbered(prefix + "P", len(ph)),
                                      channel="phone"))
    start, end = months[m], months[m] + pd.offsets.MonthBegin(1)
    lines = _NewLines(frame=pd.concat(new_frames, ignore_index=True) if new_frames else pd.DataFrame(),
                      replaced_ids=[str(i) for i in target_ids[changed]], start=start, end=end)

    contacted_at = np.where(treated, np.datetime64(months[m], "ns"), np.datetime64("NaT", "ns"))
    new_contacts = pd.DataFrame({
        "customer_id": target_ids, "campaign_id": design.campaign_id, "round": int(design.round),
        "arm": _contact_arms(arm_names), "channel": np.where(treated, channel, "none"),
        "contacted_at": pd.to_datetime(contacted_at), "responded": treated & responder,
    })
    old = pd.read_parquet(parent / "contacts.parquet")
    contacts = pd.concat([old, new_contacts], ignore_index=True) if len(old) else new_contacts

    r = design.round
    truth_customers = pd.read_parquet(parent / "ground_truth_customers.parquet")
    for col in [c for c in truth_customers.columns if c.startswith(f"r{r}_")]:
        truth_customers = truth_customers.drop(columns=col)  # a round designed again replaces its truth
    add = pd.DataFrame({"customer_id": target_ids, f"r{r}_arm": arms["arm"].to_numpy(), f"r{r}_channel": channel,
                        f"r{r}_responder_type": responder, f"r{r}_expected_sales_effect": effect_sales,
                        f"r{r}_expected_visits_effect": effect_visits})
    truth_customers = truth_customers.merge(add, on="customer_id", how="left")
    used = sorted({*channel[treated].tolist(), *(["phone"] if "phone" in allowed else [])})
    truth = {k: v for k, v in parent_truth.items() if k not in ("rounds", "chain")}
    rounds = {k: v for k, v in parent_truth.get("rounds", {}).items() if k != str(r)}
    rounds[str(r)] = {
        "campaign_id": design.campaign_id,
        "month": design.month,
        "design_key": key,
        "channels": allowed,
        "target_size": int(len(arms)),
        "treated": int(treated.sum()),
        "control": int((~treated).sum()),
        "responder_share": float(responder.mean()),
        "planted_effect_sales_per_member": float(effect_sales.mean()),
        "planted_effect_visits_per_member": float(effect_visits.mean()),
        "planted_effect_sales_per_treated": float(effect_sales[treated].mean()) if treated.any() else None,
        "arms": by_arm,
        "expected_sales_without_campaign_per_member": float(es0.mean()),
        "response_rules": {c: RESPONSE_MODEL[c]["about"] for c in used if c in RESPONSE_MODEL},
        "channels_without_planted_response": [c for c in used if c not in RESPONSE_MODEL],
    }
    truth["rounds"] = rounds
    # the keys of earlier versions of the demo, kept for readers of round1 / round2
    truth[f"round{r}"] = {**rounds[str(r)], "expected_effect_sales_per_customer": rounds[str(r)]["planted_effect_sales_per_member"]}
    return lines, contacts, truth, truth_customers


# ------------------------------------------------------------------ the worked case's two rounds


def simulate_case_rounds(folder: Path, truth: dict[str, Any]) -> None:
    """Design the worked case's two rounds as the kit does and write their simulated store into ``folder``."""
    import ibis

    from ..campaign import assign_arms
    from ..results import classify_round, interaction_table, split_rule
    from .plan import DEMO_MONTHS, DEMO_ROUNDS, ROUND_PLANS

    gt = pd.read_parquet(folder / "natural" / "ground_truth_customers.parquet")
    customers = pd.read_parquet(folder / "customers.parquet")
    r1, r2 = DEMO_ROUNDS["round1"], DEMO_ROUNDS["round2"]
    target = customers[customers["customer_id"].isin(gt.loc[gt["base_month_group"] == r1["target_group"], "customer_id"])]
    arms1 = assign_arms(target, control_share=r1["control_share"], stratify_by=r1["stratify_by"], seed=r1["seed"])
    plan1 = ROUND_PLANS[r1["plan"]]
    first = _design(r1, 1, DEMO_MONTHS["round1"], arms1, customers, plan1)
    v1 = simulate_campaign(folder, first)
    treated = arms1[arms1["arm"] == "treatment"]
    tx = pd.read_parquet(v1 / "transactions.parquet", filters=[("customer_id", "in", treated["customer_id"].tolist())])
    table = interaction_table(ibis.memtable(tx), treated, base=DEMO_MONTHS["base"], campaign=DEMO_MONTHS["round1"],
                              base_window=3)
    groups = classify_round(table, split=split_rule({k: r1[k] for k in ("freq_goal", "ticket_goal", "sales_goal")}))
    a4 = customers[customers["customer_id"].isin(groups.index[groups == "A4"])]
    arms2 = assign_arms(a4, control_share=r2["control_share"], stratify_by=r2["stratify_by"], seed=r2["seed"])
    second = _design(r2, 2, DEMO_MONTHS["round2"], arms2, customers, ROUND_PLANS[r2["plan"]])
    v2 = simulate_campaign(v1, second)
    for name in ("transactions.parquet", "contacts.parquet", "ground_truth_customers.parquet", "ground_truth.json"):
        shutil.copyfile(v2 / name, folder / name)


def _design(rnd: Mapping[str, Any], round_no: int, month: str, arms: pd.DataFrame, customers: pd.DataFrame,
            plan: Mapping[str, Any]) -> Design:
    """A round of the worked case as notebook 03 designs it: each treated member's channel by the plan."""
    from ..campaign import contact_channels

    treated = customers.set_index("customer_id").loc[arms.loc[arms["arm"] == "treatment", "customer_id"]].reset_index()
    channel = contact_channels(treated, plan=plan).set_axis(treated["customer_id"])
    arms = arms.assign(channel=arms["customer_id"].map(channel).fillna("none"))
    return Design(campaign_id=rnd["campaign_id"], round=round_no, month=month, arms=arms,
                  channels=list(plan["channels"]), default_channel=plan["default_channel"])
