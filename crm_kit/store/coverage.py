"""How well the tables of a store match each other, and why when they do not.

Every cross-table join is counted: members with transactions, buyers with a
member record, sold products with a catalogue entry, contacts that match a
known customer. A join that matches less than ``cleaning.min_coverage`` of
its smaller side stops the load, naming the likely cause — ids that lost
their leading zeros in one export, ids read as numbers in one and as text in
the other, stray spaces or letter case — and the fix.
"""

from __future__ import annotations

import re

import pandas as pd

from ..errors import DataError

__all__: list[str] = []  # used through crm_kit.store.load

#: arm labels, matched trimmed and in any case
ARM_SYNONYMS = {
    "treatment": {"treatment", "treated", "treat", "test", "target", "targeted", "campaign", "exposed", "contacted",
                  "1", "true", "yes", "t", "实验组", "处理组", "目标组"},
    "control": {"control", "control group", "controls", "holdout", "hold-out", "hold out", "held out", "ctrl",
                "c", "0", "false", "no", "对照组", "控制组", "保留组"},
}


#: a treatment arm of a campaign with several: ``treatment:<name>`` (``treatment: SMS``, ``treatment-WeChat``)
NAMED_ARM = re.compile(r"^\s*(?:treatment|treated|test)\s*[:\-/]\s*(\S.*?)\s*$", re.IGNORECASE)


def normalise_arms(contacts: pd.DataFrame) -> pd.DataFrame:
    """``arm`` as ``treatment`` / ``control``, whatever the export called them; any other label is an error.

    A campaign with several treatment arms labels them ``treatment:<name>``
    (``treatment:WeChat``, ``treatment:SMS``): ``arm`` becomes ``treatment``
    and ``treatment_arm`` keeps the name (``treatment`` and ``control`` for the others).
    """
    raw = contacts["arm"].astype("string")
    named = raw.str.extract(NAMED_ARM, expand=False)
    labels = raw.str.strip().str.lower()
    mapped = pd.Series(pd.NA, index=contacts.index, dtype="string")
    for arm, names in ARM_SYNONYMS.items():
        mapped = mapped.mask(labels.isin(names), arm)
    mapped = mapped.mask(named.notna(), "treatment")
    unknown = sorted(set(contacts.loc[mapped.isna(), "arm"].astype(str)))
    if unknown:
        found = sorted(set(contacts["arm"].astype(str)))
        raise DataError(f"contacts.arm holds label(s) {unknown[:5]} the kit cannot tell as treatment or control "
                        f"(labels found: {found[:10]}); map them at the source, or use treatment/control "
                        "(holdout, control group, test... are understood; treatment:<name> for one of several arms)")
    out = contacts.copy()
    out["arm"] = mapped.astype(str)
    if named.notna().any():
        out["treatment_arm"] = named.fillna(out["arm"]).astype(str)
    return out


def _shape(ids: pd.Series) -> dict[str, float]:
    s = ids.dropna().astype(str)
    if s.empty:
        return {"digits": 0.0, "leading_zero": 0.0, "spaces": 0.0, "mixed_case": 0.0}
    return {"digits": s.str.fullmatch(r"\d+").mean(), "leading_zero": s.str.match(r"0\d").mean(),
            "spaces": (s != s.str.strip()).mean(), "mixed_case": (s != s.str.lower()).mean()}


def likely_cause(left: pd.Series, right: pd.Series, left_name: str, right_name: str) -> str:
    """Why two id columns hardly match: the normalisation under which they would, and the fix."""
    a, b = set(left.dropna().astype(str)), set(right.dropna().astype(str))
    tries = [
        ("leading zeros", lambda v: v.lstrip("0") or "0",
         f"one export dropped the leading zeros of the ids (e.g. {next(iter(a), '')!r} vs {next(iter(b), '')!r}); "
         "export both with the ids as text, or pad them to the same width at the source"),
        ("spaces", lambda v: v.strip(), "ids carry stray spaces in one table; trim them at the source"),
        ("letter case", lambda v: v.lower(), "ids differ in letter case between the tables; export them in one case"),
        ("a decimal part", lambda v: re.sub(r"\.0+$", "", v),
         "one table wrote the ids as decimals (17850.0); read that column as text"),
    ]
    for what, norm, fix in tries:
        na, nb = {norm(v) for v in a}, {norm(v) for v in b}
        if na & nb and len(na & nb) > 2 * len(a & b):
            return f"likely cause: {what} — {fix}"
    return (f"no simple difference explains it ({left_name} ids look like {sorted(a)[:3]}, {right_name} ids like "
            f"{sorted(b)[:3]}); check that both columns hold the same kind of id")


def coverage_table(con, all_lines, customers, products, contacts, *, products_given: bool,
                   min_coverage: float) -> pd.DataFrame:
    """One row per cross-table join: matched and total on each side; stops on a join below ``min_coverage``."""
    buyers = con.to_pandas(all_lines.select("customer_id").filter(all_lines.customer_id.notnull()).distinct())["customer_id"]
    sold = con.to_pandas(all_lines.select("product_id").distinct())["product_id"]
    rows = []

    def add(join, matched, total, left, right, left_name, right_name):
        share = matched / total if total else 1.0
        rows.append({"join": join, "matched": int(matched), "of": int(total), "coverage": share})
        if total and share < min_coverage:
            raise DataError(f"{join}: only {matched:,} of {total:,} ({share:.0%}) match; "
                            f"{likely_cause(left, right, left_name, right_name)}. (Set cleaning.min_coverage lower "
                            "only if the tables really cover different customers or products.)")

    if customers is not None:
        members = customers["customer_id"].astype(str)
        known = set(buyers.astype(str))
        with_lines = members.isin(known).sum()
        add("members with transactions", with_lines, len(members), members, buyers, "customers", "transactions")
        buyers_with = buyers.astype(str).isin(set(members)).sum()
        rows.append({"join": "buyers with a member record", "matched": int(buyers_with), "of": len(buyers),
                     "coverage": buyers_with / len(buyers) if len(buyers) else 1.0})
    if products is not None and products_given:
        catalogue = products["product_id"].astype(str)
        in_catalogue = sold.astype(str).isin(set(catalogue)).sum()
        add("sold products with a catalogue entry", in_catalogue, len(sold), sold, catalogue, "transactions",
            "products")
    if contacts is not None:
        known = set(buyers.astype(str)) | (set(customers["customer_id"].astype(str)) if customers is not None else set())
        contacted = contacts["customer_id"].astype(str).drop_duplicates()
        add("contacted customers known to the store", contacted.isin(known).sum(), len(contacted), contacted,
            pd.Series(sorted(known)), "contacts", "transactions/customers")
    return pd.DataFrame(rows, columns=["join", "matched", "of", "coverage"])
