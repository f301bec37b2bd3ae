"""A round's set-up and arms: the campaign's periods and goals, who was treated and who held out, the 表11 table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..artifacts import CampaignDefinition
from ..campaign import arms_from_contact_list, check_period_order, pseudonymise
from ..config import resolve_path
from ..engine import parse_period, period_metrics, previous_period
from ..errors import DataError, EmptyGroupError, ParameterError
from ._groups import growth_table, split_rule, unmoved_group

def interaction_table(transactions, arms: pd.DataFrame, *, base: Any, campaign: Any, base_window: int = 0) -> pd.DataFrame:
    """The interaction table (表11): per targeted customer, base and campaign figures, arm and response.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    arms
        ``customer_id``, ``arm`` and optionally ``responded``.
    base, campaign
        Months ``'YYYY-MM'`` or ``[start, end)`` pairs. Weekly figures are
        summed to the period: visits and sales add up, the ticket is
        sales / visits of the whole period.
    base_window
        A customer with no visit in the base period gets a base from the
        periods before it (up to this many, of the base period's length): the
        mean visits and sales per period over those in which they bought. A
        round whose target was picked on an earlier month (round two on round
        one's A4) thus keeps the members the campaign month lost. 0 keeps the
        base period only. Customers with no purchase in the whole window keep
        no base (the group ``"no base"``).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: arm, (responded), visits/sales/ticket for
        both periods, ``base_source`` (``"base period"``, ``"N earlier
        period(s)"`` or ``"none"``), the base period's own figures
        (``visits_base_period``, ``sales_base_period``: what the
        difference-in-differences uses) and the growth columns of :func:`growth_table`.
    """
    if arms.empty:
        raise EmptyGroupError("no targeted customers: the contact list is empty")
    if arms["customer_id"].duplicated().any():
        raise DataError("the contact list repeats customers; one row per customer and round")
    if isinstance(base_window, bool) or not isinstance(base_window, (int, np.integer)) or base_window < 0:
        raise ParameterError(f"base_window={base_window!r}: give a whole number of periods, 0 for the base period only")
    m = period_metrics(transactions, periods={"base": base, "campaign": campaign}, customer_ids=arms["customer_id"])
    keep = [c for c in ("arm", "treatment_arm", "responded") if c in arms.columns]
    table = arms.astype({"customer_id": str}).set_index("customer_id")[keep].join(m)
    table = table.astype({"visits_base": float, "sales_base": float, "ticket_base": float})
    table["visits_base_period"], table["sales_base_period"] = table["visits_base"], table["sales_base"]
    table["base_source"] = np.where(table["visits_base"] > 0, "base period", "none")
    missing = table.index[table["visits_base"] <= 0]
    if base_window and len(missing):
        periods, current = {}, base
        for i in range(1, base_window + 1):
            current = previous_period(current, "base")
            periods[f"e{i}"] = current
        earlier = period_metrics(transactions, periods=periods, customer_ids=missing)
        visits = earlier[[f"visits_{k}" for k in periods]]
        sales = earlier[[f"sales_{k}" for k in periods]]
        observed = (visits > 0).sum(axis=1)
        found = observed[observed > 0].index
        per = observed.loc[found]
        table.loc[found, "visits_base"] = visits.loc[found].sum(axis=1).to_numpy() / per.to_numpy()
        table.loc[found, "sales_base"] = sales.loc[found].sum(axis=1).to_numpy() / per.to_numpy()
        table.loc[found, "ticket_base"] = table.loc[found, "sales_base"] / table.loc[found, "visits_base"]
        table.loc[found, "base_source"] = [f"{n} earlier period(s)" for n in per]
    return growth_table(table)


def _campaign_contacts(contacts: pd.DataFrame | None, campaign_id: Any) -> pd.DataFrame:
    """The contact rows of one campaign; clear errors for no contacts table or an unknown campaign."""
    if contacts is None or contacts.empty:
        raise DataError("the data has no contacts table; map tables.contacts in the data spec or set arms_source: contact_list")
    rows = contacts[contacts["campaign_id"].astype(str) == str(campaign_id)]
    if rows.empty:
        known = sorted(contacts["campaign_id"].astype(str).unique(), key=lambda v: (len(v), v))
        raise EmptyGroupError(f"campaign '{campaign_id}' has no contacts; campaigns in the data: {known}")
    return rows


def arms_from_contacts(contacts, campaign_id: Any, *, store=None, keep_unknown: bool = False) -> pd.DataFrame:
    """The arms of one campaign as recorded in the contacts table (treatment and a random control).

    Contacted ids that are neither a buyer nor a member of the store (a
    contact list exported from another system, test numbers) would score as
    customers who bought nothing and drag the lift down: with the store
    (``arms_from_contacts(store, campaign_id)``, or ``store=``) they are left
    out, and ``attrs["note"]`` says how many; ``keep_unknown=True`` counts
    them as customers who bought nothing. A bare contacts table cannot be
    checked, so it is refused unless ``keep_unknown=True`` says to count
    every contacted id as a customer (``attrs["note"]`` then says the ids
    were not checked): a lift computed with unknown ids as zero-spend
    treated customers is not a figure to stand.

    Raises a clear error when the campaign is not in the table or kept no
    control group (then :func:`comparison_arms` is the fallback), and for a
    bare table without ``keep_unknown=True``.
    """
    if hasattr(contacts, "transactions") and hasattr(contacts, "contacts"):  # a Store
        store, contacts = contacts, contacts.contacts
    rows = _campaign_contacts(contacts, campaign_id)
    if not (rows["arm"] == "control").any():
        raise EmptyGroupError(
            f"campaign '{campaign_id}' kept no control group in the contacts table; set control: never_contacted "
            "to compare with the customers no campaign reached (not random: read the difference-in-differences)"
        )
    keep = [c for c in ("customer_id", "arm", "treatment_arm", "responded") if c in rows.columns]
    arms = rows[keep].reset_index(drop=True)
    if store is None:
        if not keep_unknown:
            raise ParameterError(
                "arms_from_contacts got a bare contacts table: without the store, contacted ids that are no customer "
                "of it cannot be left out and would count as treated customers who bought nothing; call "
                "arms_from_contacts(store, campaign_id) (or pass store=store), or keep_unknown=True to count every "
                "contacted id as a customer")
        arms.attrs.update(unknown=None, note="contacted ids not checked against the store (no store given, "
                                             "keep_unknown=True): every one counts as a customer")
        return arms
    contacted = arms["customer_id"].astype(str)
    unknown = ~contacted.isin(_known_customers(store, contacted.unique()))
    n = int(unknown.sum())
    note = ""
    if n and not keep_unknown:
        arms = arms[~unknown.to_numpy()].reset_index(drop=True)
        note = (f"{n:,} contacted id(s) match no customer of this store (neither a buyer nor a member) and are left "
                "out — keep_unknown_contacts: true counts them as customers who bought nothing")
    elif n:
        note = f"{n:,} contacted id(s) match no customer of this store: counted as buying nothing"
    arms.attrs.update(unknown=n, note=note)
    return arms


def comparison_arms(transactions, contacts: pd.DataFrame, campaign_id: Any, *, before: Any) -> pd.DataFrame:
    """Arms for a campaign sent without a holdout: its contacts against customers no campaign reached.

    Many real campaigns (the Complete Journey's among them) keep no random
    control group. The fairest comparison the data allows is the customers
    who were never contacted by any campaign. Both arms are limited to
    customers who had bought before ``before`` (the campaign's start), so the
    comparison group is made of known, reachable customers, and so are the
    treated. The comparison is **not random**: read the difference-in-
    differences and the placebo check, not the plain difference in means.

    Parameters
    ----------
    transactions
        Ibis table of cleaned line items.
    contacts
        The canonical contacts table (``customer_id``, ``campaign_id``, ``arm``...).
    campaign_id
        The campaign to evaluate.
    before
        Date (or period, whose start is used): only customers with a purchase
        strictly before it are kept in either arm.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and ``arm`` (``"treatment"`` / ``"control"``). Its
        ``attrs`` hold ``contacted``, ``treated_without_history``,
        ``contacted_elsewhere`` and ``never_contacted`` counts.
    """
    from ..engine import _ts

    rows = _campaign_contacts(contacts, campaign_id)
    if (rows["arm"] == "control").any():
        raise ParameterError(
            f"campaign '{campaign_id}' has a random control group in the contacts table; "
            "set control: contacts to use it (a random control beats any comparison group)"
        )
    try:
        start = parse_period(before, "before")[0]
    except ParameterError:
        start = _ts(before, "before")
    t = transactions
    known = pd.Index(
        t.filter(t.ts < start).select("customer_id").distinct().to_pandas()["customer_id"].astype(str)
    )
    contacted = pd.Index(rows["customer_id"].astype(str).unique())
    treated = contacted.intersection(known)
    ever = pd.Index(contacts["customer_id"].astype(str).unique())
    never = known.difference(ever)
    if treated.empty:
        raise EmptyGroupError(f"no customer contacted by '{campaign_id}' bought before {start.date()}: nothing to compare")
    if never.empty:
        raise EmptyGroupError("every customer with a purchase was contacted by some campaign: no comparison group is left")
    arms = pd.DataFrame({
        "customer_id": np.concatenate([treated.to_numpy(str), never.to_numpy(str)]),
        "arm": ["treatment"] * len(treated) + ["control"] * len(never),
    })
    if "responded" in rows.columns:
        # the treated's responses to this campaign; the comparison group was offered nothing to respond to
        answered = rows.assign(customer_id=rows["customer_id"].astype(str)).groupby("customer_id")["responded"].any()
        arms["responded"] = arms["customer_id"].map(answered).where(arms["arm"] == "treatment").astype("boolean")
    arms = arms.sort_values("customer_id", kind="stable").reset_index(drop=True)
    arms.attrs.update(
        contacted=len(contacted), treated_without_history=len(contacted) - len(treated),
        contacted_elsewhere=len(known.intersection(ever).difference(contacted)), never_contacted=len(never),
    )
    return arms


COMPARISON_GROUP_NOTE = (
    "### The comparison group (no random control)\n\n"
    "The balance table shows how far apart the groups were in the base period (|standardised difference| above "
    "0.1 is a real gap); the placebo repeats the difference-in-differences one period earlier, where the true "
    "effect is zero."
)


@dataclass(frozen=True)
class RoundSetup:
    """What a round's analysis works from: the campaign, its periods, goals, cost, split and effect estimate."""

    round_no: int
    campaign_id: str
    periods: dict[str, str]
    goals: dict[str, float | None]
    cost: float
    gross_margin: float
    split: dict[str, Any]
    #: ``"lift"`` against a random control, ``"did"`` against a comparison group that was not random
    estimate: str
    control: str
    #: where the set-up came from: ``"definition"`` (notebook 03's export) or ``"parameters"``
    source: str
    target: dict[str, Any] | None = None
    pseudonym_salt: str | None = None
    channels: tuple[str, ...] = ()
    #: a multi-arm design's cost per treatment arm (its messages and its share of the other costs)
    arm_costs: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        """One line for the notebook: the campaign, its periods and goals, and where they came from."""
        origin = ("campaign definition found" if self.source == "definition"
                  else "no campaign definition found: using this notebook's parameters")
        goals = ", ".join(f"{k.removesuffix('_goal')} {v:+.0%}" for k, v in self.goals.items() if v is not None)
        return (f"{origin}. {self.campaign_id}: base {self.periods['base']}, campaign {self.periods['campaign']}, "
                f"goals: {goals or 'none'}")


def round_setup(definition: CampaignDefinition | None, *, round_no: int, control: str = "contacts",
                campaign_id: str, base: str, campaign: str, goals: Mapping[str, float | None], cost: float,
                gross_margin: float, band_thresholds: Sequence[float] = (0.3, 0.2, 0.1),
                band_labels: Sequence[str] = ("A41", "A42", "A43", "A44")) -> RoundSetup:
    """The round's set-up: from notebook 03's campaign definition when there is one, else from parameters.

    Parameters
    ----------
    definition
        The round's :class:`~crm_kit.artifacts.CampaignDefinition`, or ``None``
        (a campaign designed elsewhere: the parameters describe it).
    round_no
        The round being analysed.
    control
        ``"contacts"`` (the random control arm recorded in the data) or
        ``"never_contacted"`` (customers no campaign reached: not random, so the
        effect is the difference-in-differences).
    campaign_id, base, campaign, goals, cost, gross_margin
        Used only without a definition.
    band_thresholds, band_labels
        The sales bands of a round split by sales growth (see :func:`split_rule`).
    """
    if control not in ("contacts", "never_contacted"):
        raise ParameterError(f"control={control!r}: use 'contacts' or 'never_contacted'")
    estimate = "lift" if control == "contacts" else "did"
    if definition is not None:
        goals = dict(definition.goals)
        return RoundSetup(round_no=round_no, campaign_id=definition.campaign_id, periods=dict(definition.periods),
                          goals=goals, cost=definition.cost, gross_margin=definition.gross_margin,
                          split=split_rule(goals, thresholds=band_thresholds, labels=band_labels), estimate=estimate,
                          control=control, source="definition", target=definition.target,
                          pseudonym_salt=definition.pseudonym_salt, channels=tuple(definition.channels or [definition.channel]),
                          arm_costs=tuple((str(k), float(v["cost"])) for k, v in (definition.arms.get("by_arm") or {}).items()))
    check_period_order(base, campaign)  # notebook 04 names them base_month and campaign_month
    goals = dict(goals)
    return RoundSetup(round_no=round_no, campaign_id=campaign_id, periods={"base": base, "campaign": campaign},
                      goals=goals, cost=float(cost), gross_margin=float(gross_margin),
                      split=split_rule(goals, thresholds=band_thresholds, labels=band_labels), estimate=estimate,
                      control=control, source="parameters")


def round_arms(store, setup: RoundSetup, *, arms_source: str = "contacts", contact_list: pd.DataFrame | None = None,
               keep_unknown: bool = False) -> tuple[pd.DataFrame, str]:
    """Who was treated and who was held out, and one sentence saying where that came from.

    ``arms_source="contacts"`` reads the campaign's exposure recorded in the
    data: its random control arm, or with ``setup.control ==
    "never_contacted"`` the customers no campaign reached
    (:func:`comparison_arms`). ``"contact_list"`` matches the design's
    exported contact list back to customers by its pseudonymous key.
    """
    if arms_source == "contact_list":
        if contact_list is None or setup.pseudonym_salt is None:
            raise DataError("arms_source: contact_list needs notebook 03's campaign definition and contact list of "
                            "this round in the run folder; run notebook 03 first or set arms_source: contacts")
        arms = pool_arms(_contact_list_arms(store, contact_list, salt=setup.pseudonym_salt))
        return arms, f"arms from the design's contact list: {len(arms):,} customers matched by their pseudonymous key"
    if arms_source != "contacts":
        raise ParameterError(f"arms_source={arms_source!r}: use 'contacts' or 'contact_list'")
    if setup.control == "never_contacted":
        arms = pool_arms(comparison_arms(store.transactions, store.contacts, setup.campaign_id,
                                         before=setup.periods["campaign"]))
        a = arms.attrs
        return arms, (f"no random control: {a['contacted']:,} contacted, {a['treated_without_history']:,} of them "
                      f"without a purchase before the campaign (left out); comparison group: {a['never_contacted']:,} "
                      f"customers no campaign reached ({a['contacted_elsewhere']:,} reached by other campaigns left out)")
    recorded = arms_from_contacts(store, setup.campaign_id, keep_unknown=keep_unknown)
    arms = pool_arms(recorded)
    note = f"arms from the data's contacts of campaign {setup.campaign_id}"
    if "treatment_arm" in arms.columns:
        note += f" (treatment arms: {', '.join(sorted(set(arms['treatment_arm']) - {'control'}))}, pooled as 'treatment')"
    if recorded.attrs.get("note"):
        note += f"; {recorded.attrs['note']}"
    return arms, note


def _contact_list_arms(store, contact_list: pd.DataFrame, *, salt: str) -> pd.DataFrame:
    """The contact list's keys matched back to buyers (:func:`~crm_kit.campaign.arms_from_contact_list`).

    The engine hashes every buyer's id with the salt, as
    :func:`~crm_kit.campaign.pseudonymise` does, and returns only the
    buyers whose key is on the list; those few are matched in pandas. An
    engine without SHA-256 in Ibis (PostgreSQL) sends every buyer's id and
    they are hashed here, as before.
    """
    import ibis
    from ibis.common.exceptions import OperationNotDefinedError

    from ..engine import order_grain

    grain = order_grain(store.transactions)
    buyers = grain.select(customer_id=grain.customer_id.cast("string")).distinct()
    hashed = buyers.mutate(customer_key=(ibis.literal(f"{salt}:") + buyers.customer_id).hexdigest("sha256").substr(0, 16))
    keys = ibis.memtable(pd.DataFrame({"customer_key": contact_list["customer_key"].astype(str).unique()}))
    try:
        ids = store.con.execute(hashed.semi_join(keys, "customer_key").select("customer_id"))["customer_id"]
    except OperationNotDefinedError:
        ids = store.con.execute(buyers)["customer_id"]
    return arms_from_contact_list(contact_list, ids, salt=salt)


def _known_customers(store, ids) -> set[str]:
    """Which of ``ids`` are customers of the store: a buyer (asked of the engine) or a member.

    Only the ids asked about travel: a million buyers' ids brought into
    pandas and matched there took 7 s of round one's results at 1M customers.
    """
    import ibis

    from ..engine import order_grain

    probe = ibis.memtable(pd.DataFrame({"customer_id": pd.Series(ids, dtype=object).astype(str)}))
    buyers = order_grain(store.transactions)
    found = store.con.execute(probe.semi_join(buyers, probe.customer_id == buyers.customer_id.cast("string")))
    known = set(found["customer_id"].astype(str))
    if store.customers is not None:
        members = store.customers["customer_id"].astype(str)
        known |= set(members[members.isin(set(ids))])
    return known


def pool_arms(arms: pd.DataFrame) -> pd.DataFrame:
    """The arms with every treatment arm pooled as ``treatment``; the arm's own name kept in ``treatment_arm``.

    A campaign with several treatment arms (a WeChat arm and an SMS arm)
    is analysed as one campaign by the round's ratios, groups and lift, and
    arm by arm by :func:`compare_arms`, which reads ``treatment_arm``; with a
    single treatment arm there is no ``treatment_arm`` column. The arms
    come named in ``arm`` (notebook 03's contact list) or, from the data's
    contacts table, in its ``treatment_arm`` column (labels ``treatment:<name>``).
    """
    named = (arms["treatment_arm"] if "treatment_arm" in arms.columns else arms["arm"]).astype(str)
    pooled = arms.assign(arm=np.where(named == "control", "control", "treatment"))
    if named[named != "control"].nunique() < 2:  # one treatment arm: nothing to keep apart
        return pooled.drop(columns="treatment_arm", errors="ignore")
    return pooled.assign(treatment_arm=named.to_numpy())


def design_check(definition: CampaignDefinition | None, arms: pd.DataFrame) -> str:
    """Whether the arms analysed are the ones notebook 03 designed: one sentence, a mismatch said first.

    Compares the design's campaign, arm sizes and (through the contact list's
    pseudonymous keys) its customers with the arms taken from the data. A
    campaign designed elsewhere (no definition) has nothing to compare.
    """
    if definition is None:
        return "No campaign definition in this run: the arms are the data's, with no design to compare them with."
    n_t = int((arms["arm"] == "treatment").sum())
    n_c = int((arms["arm"] == "control").sum())
    d_t, d_c = int(definition.arms.get("treatment", 0)), int(definition.arms.get("control", 0))
    problems = []
    if (n_t, n_c) != (d_t, d_c):
        problems.append(f"the design has {d_t:,} treated / {d_c:,} control, the data {n_t:,} / {n_c:,}")
    if definition.contact_list is not None and definition.pseudonym_salt is not None:
        keys = pseudonymise(arms["customer_id"], salt=definition.pseudonym_salt)
        named = arms["treatment_arm"] if "treatment_arm" in arms.columns else arms["arm"]
        recorded = dict(zip(keys.to_numpy(), named.to_numpy()))
        designed = dict(zip(definition.contact_list["customer_key"], definition.contact_list["arm"]))
        missing = len(set(designed) - set(recorded))
        extra = len(set(recorded) - set(designed))
        moved = sum(1 for k, a in designed.items() if k in recorded and recorded[k] != a)
        if missing or extra or moved:
            problems.append(f"{missing:,} designed customer(s) are not in the data's contacts, {extra:,} contacted "
                            f"customer(s) were not in the design and {moved:,} sit in the other arm")
    if problems:
        return (f"MISMATCH: the contacts recorded for {definition.campaign_id} are not the campaign designed in notebook "
                f"03 — {'; '.join(problems)}. The figures below analyse the recorded contacts; check that the data "
                "and the design belong to the same campaign.")
    return (f"The recorded contacts match the design of {definition.campaign_id}: {n_t:,} treated / {n_c:,} control, "
            "the same customers in the same arms.")


def channel_suggestion(profile: pd.DataFrame, setup: RoundSetup) -> str:
    """The sentence on the unmoved group: who they are, which channels they prefer, and where to reach them next.

    Every figure in it is read from ``profile`` (:func:`profile_comparison`):
    the most common preferred channel with its share, and when that is a
    channel this round already used, the most common *other* one with its
    share. Only a goals split (A1-A4) has an unmoved group; the sentence says
    so otherwise.
    """
    group = unmoved_group(setup.split)
    if group is None:
        return "This round is split by sales growth: no group is left unmoved by definition, so no channel is suggested."
    if group not in set(profile["group"]):
        return f"No treated customer is in {group}: every one of them met at least one goal."
    row = profile.set_index("group").loc[group]
    prefs = {c.removeprefix("prefers "): float(row[c]) for c in profile.columns if c.startswith("prefers ")}
    who = []
    if "student_share" in profile.columns:
        who.append(f"{row['student_share']:.0%} students")
    if "wechat_users" in profile.columns:
        who.append(f"{row['wechat_users']:.0%} WeChat users")
    head = f"{group}: {int(row['members']):,} members" + (f", {', '.join(who)}" if who else "") + "."
    if not prefs:
        return head + " The member table records no preferred channel, so none is suggested."
    top = max(prefs, key=prefs.get)
    used = set(setup.channels)
    others = {c: v for c, v in prefs.items() if c not in used}
    if top not in used:
        return head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}): the next round should reach them there."
    if not others:
        return head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}), the one this round used; no other is recorded."
    other = max(others, key=others.get)
    return (head + f" Their most common preferred channel is {top} ({prefs[top]:.1%}) — the channel this round "
            f"already used; the most common other one is {other} ({others[other]:.1%}): the next round should reach "
            "them there.")


def read_outcome_table(path: str) -> tuple[pd.DataFrame, str]:
    """A ready per-customer outcome table (CSV or Parquet) and the resolved path it was read from.

    ``demo`` is the demo simulator's SMS campaign (:mod:`crm_kit.demo.outcomes`), written on first use.
    """
    from ..store.spec import outcome_source

    path = outcome_source(path)
    found = resolve_path(path, must_exist=True)
    frame = pd.read_parquet(found) if found.suffix == ".parquet" else pd.read_csv(found)
    return frame, str(found)
