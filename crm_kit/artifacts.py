"""Typed hand-offs between the steps of the cycle: what one notebook leaves for the next.

Every result that passes from one step to another is a dataclass declared
here, with ``to_json``/``from_json``, one file name, and (where it carries
one) its customer-level table. Notebooks, ``cycle``, ``metrics.json`` and the
report read these objects; no other module knows a hand-off's file name.
This is kedro's data catalog made small:

=====================  ===============================  =====================================
hand-off               files in the run folder          written by -> read by
=====================  ===============================  =====================================
DiscoverySummary       discovery_summary.json,          01 -> 03 (target group), metrics
                       customer_groups.parquet/.csv
MonthlyChanges         monthly_changes.json,            01 -> metrics (what changed, and why)
                       customer_migration.parquet/.csv
SegmentTable           segmentation_summary.json,       02 -> 03 (cluster/segment targets),
                       customer_segments.parquet/.csv   metrics
CampaignDefinition     campaign_round{n}.json/.yaml,    03 -> 04 (periods, goals, costs), 05,
                       contact_list_round{n}.*          metrics
RoundResult            results_round{n}.json,           04 -> 03 of the next round (group
                       round{n}_groups.parquet/.csv     list), 05, metrics
CycleSummary           cycle_summary.json               05 -> metrics
=====================  ===============================  =====================================

A run folder is never written twice: writing a file that exists is an
error. Reading looks in the run's own folder first, then in the newest
earlier run of the same run name (``reports/<run>/<timestamp>/`` siblings),
never in another run's folders.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from .config import reports_root, resolve_path
from .errors import DataError
from .store.spec import PERSONAL_FIELDS

__all__ = [
    "Artifact",
    "DiscoverySummary",
    "SegmentTable",
    "CampaignDefinition",
    "RoundResult",
    "CycleSummary",
    "MonthlyChanges",
    "HANDOFFS",
    "write_action_lists",
    "collect_metrics",
    "metrics_schema",
    "check_metrics",
    "write_contact_details",
    "write_interaction_table",
    "plain",
    "rounds_in",
    "for_spreadsheets",
]


# ------------------------------------------------------------------ plain JSON


def plain(value: Any) -> Any:
    """``value`` with numpy scalars, timestamps, periods and frames made JSON-plain (NaN -> None)."""
    if isinstance(value, pd.DataFrame):
        return plain(value.to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return plain(value.to_dict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if value is pd.NaT:
        return None
    return str(value)


def _refuse_personal(df: pd.DataFrame, allow_personal: bool) -> None:
    leaked = PERSONAL_FIELDS & set(df.columns)
    if leaked and not allow_personal:
        raise DataError(f"refusing to export personal field(s) {sorted(leaked)}; drop them or ask explicitly")


def _new_file(path: Path) -> Path:
    if path.exists():
        raise DataError(f"{path} exists already; a run never overwrites its outputs — use a new output_dir")
    return path


def for_spreadsheets(df: pd.DataFrame) -> pd.DataFrame:
    """The table with text cells that a spreadsheet would run as a formula (``= + - @``, tab, CR) made inert.

    OWASP's CSV-injection rule: such a cell gets a leading apostrophe. Numbers
    are left alone (a negative number is a number); only text cells change.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            text = out[col]
            risky = text.map(lambda v: isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"))
            if risky.any():
                out[col] = text.where(~risky, "'" + text.astype(str))
    return out


def _write_table(df: pd.DataFrame, folder: Path, stem: str, *, allow_personal: bool = False) -> Path:
    """A table as Parquet, and CSV beside it for spreadsheet users (formula-safe); never over an existing file."""
    _refuse_personal(df, allow_personal)
    path = _new_file(Path(folder) / f"{stem}.parquet")
    _new_file(path.with_suffix(".csv"))
    df.to_parquet(path, index=False)
    for_spreadsheets(df).to_csv(path.with_suffix(".csv"), index=False)
    return path


def _find(filename: str, folder: Path | None) -> Path | None:
    """The newest ``filename`` in ``folder``, else in earlier runs of the same run name.

    ``reports/<run>/<timestamp>/``: a run looks in its own folder, then in its
    siblings (earlier runs of ``<run>``, e.g. the design run a month before
    the results run) — never in another run's folders, which may hold another
    store's campaign. Without a folder, anywhere under ``reports/``.
    """
    if folder is not None and (Path(folder) / filename).exists():
        return Path(folder) / filename
    root = Path(folder).parent if folder is not None else reports_root()
    if not root.exists():
        return None
    pattern = f"*/{filename}" if folder is not None else f"**/{filename}"
    found = sorted((p for p in root.glob(pattern) if not p.parent.is_symlink()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


# ------------------------------------------------------------------ the base class


@dataclass
class Artifact:
    """A hand-off: a JSON document (the dataclass fields) and optionally one table beside it.

    Subclasses set ``STEM`` (the file stem; ``{round}`` is filled from the
    ``round`` field), ``TABLE_STEM`` and ``TABLE_FIELD`` for the table, and
    ``METRICS`` for the keys that go to ``metrics.json`` (``None``: all).
    """

    STEM: ClassVar[str] = ""
    TABLE_STEM: ClassVar[str | None] = None
    TABLE_FIELD: ClassVar[str | None] = None
    METRICS: ClassVar[tuple[str, ...] | None] = None
    YAML: ClassVar[bool] = False
    #: field name -> JSON key where the JSON key is a Python keyword
    JSON_NAMES: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        # result tables handed over as frames are kept as records, the form they have once read back
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != self.TABLE_FIELD and isinstance(value, (pd.DataFrame, pd.Series)):
                setattr(self, f.name, plain(value))

    # -- names
    @classmethod
    def stem(cls, round_no: int | None = None) -> str:
        """The file stem of this hand-off (of round ``round_no`` where it is per round)."""
        return cls.STEM.format(round=round_no)

    @classmethod
    def table_stem(cls, round_no: int | None = None) -> str | None:
        """The file stem of the table this hand-off carries, if any."""
        return cls.TABLE_STEM.format(round=round_no) if cls.TABLE_STEM else None

    def _round(self) -> int | None:
        return getattr(self, "round", None)

    # -- JSON
    def to_json(self) -> dict[str, Any]:
        """The JSON document: every field but the table, plain types, ``null`` for undefined numbers."""
        doc = {}
        for f in dataclasses.fields(self):
            if f.name == self.TABLE_FIELD:
                continue
            doc[self.JSON_NAMES.get(f.name, f.name)] = plain(getattr(self, f.name))
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], table: pd.DataFrame | None = None):
        """The hand-off from its JSON document (keys it does not know are ignored)."""
        names = {cls.JSON_NAMES.get(f.name, f.name): f.name for f in dataclasses.fields(cls)}
        kwargs = {names[k]: v for k, v in doc.items() if k in names and names[k] != cls.TABLE_FIELD}
        if cls.TABLE_FIELD:
            kwargs[cls.TABLE_FIELD] = table
        return cls(**kwargs)

    def metrics(self) -> dict[str, Any]:
        """The part of the document that goes to ``metrics.json``."""
        doc = self.to_json()
        return doc if self.METRICS is None else {k: doc[k] for k in self.METRICS if k in doc}

    # -- files
    def write(self, folder: str | Path) -> Path:
        """Write the JSON (and YAML, and the table) into ``folder``; never over an existing file."""
        folder = Path(folder)
        stem = self.stem(self._round())
        doc = self.to_json()
        path = _new_file(folder / f"{stem}.json")
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        if self.YAML:
            import yaml

            _new_file(folder / f"{stem}.yaml").write_text(
                yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        table = getattr(self, self.TABLE_FIELD) if self.TABLE_FIELD else None
        if table is not None:
            _write_table(table, folder, self.table_stem(self._round()))
        return path

    @classmethod
    def read(cls, folder: str | Path | None, round_no: int | None = None, *, path: str | Path = ""):
        """The hand-off from this run's folder or an earlier run of the same name, or ``None``.

        ``path`` names a file to read instead (a definition kept elsewhere);
        it must exist.
        """
        if path:
            return cls.read_file(resolve_path(path, must_exist=True))
        path = _find(f"{cls.stem(round_no)}.json", Path(folder) if folder is not None else None)
        if path is None:
            return None
        return cls.read_file(path)

    @classmethod
    def read_file(cls, path: str | Path):
        """The hand-off from a given JSON file (its table, if any, from beside it)."""
        path = Path(path)
        doc = json.loads(path.read_text(encoding="utf-8"))
        table = None
        if cls.TABLE_STEM:
            table_path = path.parent / f"{cls.table_stem(doc.get('round'))}.parquet"
            table = pd.read_parquet(table_path) if table_path.exists() else None
        return cls.from_json(doc, table)

    @classmethod
    def read_table(cls, folder: str | Path | None, round_no: int | None = None) -> pd.DataFrame | None:
        """Only the table of this hand-off (this run or an earlier one of the same name), or ``None``."""
        if not cls.TABLE_STEM:
            return None
        path = _find(f"{cls.table_stem(round_no)}.parquet", Path(folder) if folder is not None else None)
        return pd.read_parquet(path) if path else None


# ------------------------------------------------------------------ the hand-offs


@dataclass
class DiscoverySummary(Artifact):
    """Notebook 01's result: the month's decile table, the behaviour table and the recommended group."""

    STEM: ClassVar[str] = "discovery_summary"
    TABLE_STEM: ClassVar[str] = "customer_groups"
    TABLE_FIELD: ClassVar[str] = "customer_groups"
    METRICS: ClassVar[tuple[str, ...]] = ("month", "customers", "total_sales", "pareto_share_of_customers",
                                          "decile_table", "target_group")

    month: str
    groups: int
    customers: int
    total_sales: float
    pareto_share_of_customers: float
    decile_table: list[dict[str, Any]]
    behaviour: list[dict[str, Any]] = field(default_factory=list)
    recommendation: list[dict[str, Any]] = field(default_factory=list)
    target_group: int | None = None
    #: customer_id, rank, group, sales, visits, ticket
    customer_groups: pd.DataFrame | None = field(default=None, repr=False)


@dataclass
class SegmentTable(Artifact):
    """Notebook 02's result: one row per customer with every segment, and the figures behind them."""

    STEM: ClassVar[str] = "segmentation_summary"
    TABLE_STEM: ClassVar[str] = "customer_segments"
    TABLE_FIELD: ClassVar[str] = "segments"

    as_of: str
    k: int
    k_scores: list[dict[str, Any]]
    cluster_sizes: dict[str, int]
    rfm_segments: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    churn: list[dict[str, Any]]
    clv_params: dict[str, Any]
    clv_total: float
    clv_by_tier: dict[str, Any]
    #: the calibration fit (learned before the holdout) beside the full fit's ``clv_params``
    clv_calibration_params: dict[str, Any] = field(default_factory=dict)
    #: holdout accuracy of the calibration fit: customers, MAE, RMSE, predicted and actual totals
    clv_holdout: dict[str, Any] = field(default_factory=dict)
    #: sentences naming degenerate parts of either fit (empty when both are regular)
    clv_problems: list[str] = field(default_factory=list)
    clv_time_unit: str = "D"
    #: customer_id, RFM segment, cluster, tier, CLV, rule flags, age group
    segments: pd.DataFrame | None = field(default=None, repr=False)


@dataclass
class CampaignDefinition(Artifact):
    """Notebook 03's result: who is targeted, the arms, the goals, the periods, the plan and its cost."""

    STEM: ClassVar[str] = "campaign_round{round}"
    TABLE_STEM: ClassVar[str] = "contact_list_round{round}"
    TABLE_FIELD: ClassVar[str] = "contact_list"
    METRICS: ClassVar[tuple[str, ...]] = ("campaign_id", "periods", "target", "goals", "group_targets", "arms",
                                          "power", "costs", "break_even_sales", "preset")
    YAML: ClassVar[bool] = True

    campaign_id: str
    round: int
    target: dict[str, Any]
    periods: dict[str, str]
    goals: dict[str, float | None]
    group_targets: list[dict[str, Any]]
    arms: dict[str, Any]
    channel: str
    costs: dict[str, Any]
    gross_margin: float
    break_even_sales: float
    power: dict[str, Any]
    pseudonym_salt: str
    #: the channels of the plan (a round's notebook 04 suggests another one for who did not move)
    channels: list[str] = field(default_factory=list)
    #: the parameters the worked case's preset filled in (``preset: auto`` on the demo store, or ``case``)
    preset: dict[str, Any] = field(default_factory=dict)
    #: customer_key (pseudonymous), arm, channel
    contact_list: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def cost(self) -> float:
        """The campaign's total cost."""
        return float(self.costs["total"])


@dataclass
class RoundResult(Artifact):
    """Notebook 04's result for one round: ratios, groups, lift against control, return on spend.

    From a ready outcome table (notebook 06) only ``round``, ``outcome_table``
    and ``lift`` are filled.
    """

    STEM: ClassVar[str] = "results_round{round}"
    TABLE_STEM: ClassVar[str] = "round{round}_groups"
    TABLE_FIELD: ClassVar[str] = "group_list"
    JSON_NAMES: ClassVar[dict[str, str]] = {"returns": "return"}

    round: int
    campaign_id: str | None = None
    periods: dict[str, str] | None = None
    goals: dict[str, float | None] | None = None
    control: str | None = None
    split: dict[str, Any] | None = None
    ratios: list[dict[str, Any]] | None = None
    goal_attainment: list[dict[str, Any]] | None = None
    groups: list[dict[str, Any]] | None = None
    group_counts: dict[str, int] | None = None
    arms: dict[str, int] | None = None
    lift: list[dict[str, Any]] | None = None
    #: the lift adjusted for each customer's past (CUPED / Lin), per metric; with a comparison group that was
    #: not random, the sentence saying why there is none
    adjusted_lift: list[dict[str, Any]] | str | None = None
    #: the best valid estimate of the sales effect (:func:`crm_kit.results.headline_effect`), the plain one beside
    headline: dict[str, Any] | None = None
    naive_vs_controlled: list[dict[str, Any]] | None = None
    returns: dict[str, Any] | None = None
    placebo: list[dict[str, Any]] | None = None
    #: several treatment arms: each against control and against the others (Holm), and each arm's return
    arm_comparisons: list[dict[str, Any]] | None = None
    arm_returns: list[dict[str, Any]] | None = None
    #: uplift model of a randomised round: out-of-fold quality and the targeting it suggests for the next round
    uplift: dict[str, Any] | None = None
    #: the targeted group the round's campaign was run on (e.g. round one's A4), for the flow diagram
    target: dict[str, Any] | None = None
    outcome_table: str | None = None
    #: the currency sign of the store's money figures
    currency: str = ""
    #: the parameters the worked case's preset filled in (``preset: auto`` on the demo store, or ``case``)
    preset: dict[str, Any] | None = None
    #: customer_id, group (A1-A4, or the sales bands)
    group_list: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def analysed(self) -> bool:
        """Whether this round was analysed from transactions (groups and lift), not only an outcome table."""
        return self.lift is not None and self.groups is not None

    def naive(self, key: str) -> float | None:
        """A figure of the naive-vs-controlled table by its stable key."""
        return next((r["value"] for r in self.naive_vs_controlled or [] if r.get("key") == key), None)

    def lift_row(self, metric: str) -> dict[str, Any]:
        """The lift table's row of ``metric`` (visits, sales, ticket)."""
        return next(r for r in self.lift or [] if r.get("metric") == metric)


@dataclass
class CycleSummary(Artifact):
    """Notebook 05's result: every round side by side and the totals."""

    STEM: ClassVar[str] = "cycle_summary"

    rounds: list[dict[str, Any]]
    totals: dict[str, Any]


@dataclass
class MonthlyChanges(Artifact):
    """Notebook 01's "what changed" section: the revenue tree, migration, cohorts and what is unusual.

    The table is every customer's value tier and RFM segment last month and
    this month (ids and labels only).
    """

    STEM: ClassVar[str] = "monthly_changes"
    TABLE_STEM: ClassVar[str] = "customer_migration"
    TABLE_FIELD: ClassVar[str] = "migration"
    METRICS: ClassVar[tuple[str, ...]] = ("month", "previous_month", "year_earlier_month", "summary", "unusual",
                                          "tree", "tree_by_tier", "tree_by_type", "tree_year_earlier",
                                          "migration_customers", "migration_sales", "action_list_sizes",
                                          "cohort_comparison")

    month: str
    previous_month: str
    year_earlier_month: str | None
    summary: list[str]
    unusual: list[dict[str, Any]]
    tree: list[dict[str, Any]]
    tree_by_tier: list[dict[str, Any]] = field(default_factory=list)
    tree_by_type: list[dict[str, Any]] = field(default_factory=list)
    tree_year_earlier: list[dict[str, Any]] = field(default_factory=list)
    migration_customers: list[dict[str, Any]] = field(default_factory=list)
    migration_sales: list[dict[str, Any]] = field(default_factory=list)
    action_list_sizes: dict[str, int] = field(default_factory=dict)
    cohort_comparison: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: customer_id, tier_before, tier_after, segment_before, segment_after
    migration: pd.DataFrame | None = field(default=None, repr=False)


def write_action_lists(lists: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """The monthly report's action lists (``action_<name>.parquet/.csv``): customer ids and labels, never personal fields."""
    return [_write_table(table, Path(folder), f"action_{name}") for name, table in lists.items()]


#: every hand-off, keyed by its name in ``metrics.json``; per-round ones are listed per round there
HANDOFFS: dict[str, type[Artifact]] = {
    "discovery": DiscoverySummary,
    "changes": MonthlyChanges,
    "segmentation": SegmentTable,
    "campaign": CampaignDefinition,
    "results": RoundResult,
    "cycle": CycleSummary,
}


def write_interaction_table(table: pd.DataFrame, folder: str | Path, round_no: int) -> Path:
    """The round's full interaction table (表11), one row per targeted customer, under pseudonymous keys."""
    if "customer_id" in table.columns or table.index.name == "customer_id":
        raise DataError("the interaction table export carries pseudonymous keys, not customer ids "
                        "(use results.interaction_export)")
    return _write_table(table, Path(folder), f"round{round_no}_interaction")


def write_uplift_scores(scores: pd.DataFrame, folder: str | Path, round_no: int) -> Path:
    """A randomised round's out-of-fold predicted uplift per targeted customer (``customer_id``,
    ``predicted_uplift``, ``selected``): what notebook 03 of the next round targets with ``target_kind: uplift``."""
    return _write_table(scores, Path(folder), f"round{round_no}_uplift")


def read_uplift_scores(folder: str | Path | None, round_no: int) -> pd.DataFrame | None:
    """The uplift scores :func:`write_uplift_scores` wrote for ``round_no`` (this run or an earlier one), or ``None``."""
    path = _find(f"round{round_no}_uplift.parquet", Path(folder) if folder is not None else None)
    return pd.read_parquet(path) if path else None


def write_contact_details(details: pd.DataFrame, folder: str | Path, round_no: int) -> Path:
    """The treated members' contact details — personal data, written only when a step asks for it."""
    return _write_table(details, Path(folder), f"contact_details_round{round_no}", allow_personal=True)


def _rounds_in(folder: Path, cls: type[Artifact]) -> list[int]:
    pattern = cls.STEM.replace("{round}", "*") + ".json"
    found = []
    for path in folder.glob(pattern):
        number = path.stem[len(cls.STEM.split("{round}")[0]):]
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def metrics_schema() -> dict[str, Any]:
    """The JSON Schema of ``metrics.json`` (``crm_kit/metrics.schema.json``)."""
    return json.loads((Path(__file__).parent / "metrics.schema.json").read_text(encoding="utf-8"))


def check_metrics(metrics: dict[str, Any]) -> None:
    """Raise :class:`~crm_kit.errors.DataError` when ``metrics`` does not follow its schema (a kit bug, named)."""
    import jsonschema

    try:
        jsonschema.validate(plain(metrics), metrics_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise DataError(f"metrics.json breaks its schema at {where}: {exc.message}") from exc


def collect_metrics(folder: str | Path) -> dict[str, Any]:
    """The key figures of every step of a run, from the hand-offs its notebooks wrote.

    Keys (each present when its step ran): ``discovery``, ``changes``, ``segmentation``,
    ``campaign_round<n>`` and ``results_round<n>`` for every round found, and
    ``cycle``. Strict JSON: an undefined number is ``null``.
    """
    folder = Path(folder)
    out: dict[str, Any] = {}
    for key, cls in (("discovery", DiscoverySummary), ("changes", MonthlyChanges), ("segmentation", SegmentTable)):
        if (folder / f"{cls.stem()}.json").exists():
            out[key] = cls.read_file(folder / f"{cls.stem()}.json").metrics()
    for prefix, cls in (("campaign", CampaignDefinition), ("results", RoundResult)):
        for n in _rounds_in(folder, cls):
            out[f"{prefix}_round{n}"] = cls.read_file(folder / f"{cls.stem(n)}.json").metrics()
    if (folder / f"{CycleSummary.stem()}.json").exists():
        out["cycle"] = CycleSummary.read_file(folder / f"{CycleSummary.stem()}.json").metrics()
    return out


def rounds_in(folder: str | Path | None) -> dict[int, tuple[CampaignDefinition | None, RoundResult]]:
    """Every round analysed in this run (or the newest earlier run of its name): definition and result.

    Rounds whose results are missing, or came from an outcome table, are left out.
    """
    found: dict[int, tuple[CampaignDefinition | None, RoundResult]] = {}
    base = Path(folder) if folder is not None else None
    candidates = set(_rounds_in(base, RoundResult)) if base is not None and base.exists() else set()
    if base is not None and base.parent.exists():
        for sibling in base.parent.iterdir():
            if sibling.is_dir() and not sibling.is_symlink():
                candidates |= set(_rounds_in(sibling, RoundResult))
    for n in sorted(candidates):
        result = RoundResult.read(base, n)
        if result is None or not result.analysed:
            continue
        found[n] = (CampaignDefinition.read(base, n), result)
    return found

