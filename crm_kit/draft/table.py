"""One file drafted: sniffed, profiled over all rows, its kind and columns decided, and how its line items are
written (an order's fields on its first line only, a price that is the line's total, an order's money repeated).

The path's **decide** room for one table (:func:`draft_table`); :mod:`crm_kit.draft.shapes` then looks at the
tables together.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import DataError
from ..store.profile import order_blanks
from ..store.sniff import sniff
from ..store.source import source_files
from ..store.spec import CANONICAL_COLUMNS
from .profiles import Profile, Sample, TableDraft, _as_profile, _profile_source
from .roles import (
    _category_keys,
    _contact_as_key,
    _describe,
    _guest_ids,
    _header_score,
    _map_table,
    _number_options,
    _outcome_table,
    _person_names,
    _personal_header,
    _personal_kind,
)
from .times import _join_time, _time_choices

__all__ = ["draft_table"]


def _group_files(files: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """The inputs as tables: a folder or glob of parts with one header is one table (its path a glob)."""
    tables = []
    for f in files:
        if Path(f).is_dir():
            # the whole ending of a compressed part (.csv.gz), so the glob names its format
            exts = pd.Series(["".join(p.suffixes[-2:]) if p.suffix.lower() in (".gz", ".zst") else p.suffix
                              for p in Path(f).iterdir() if p.is_file()]).value_counts()
            deep = ""
            if exts.empty:
                # a Hive-partitioned folder (year=2024/month=1/part-0.parquet): the parts are in its subfolders
                exts = pd.Series([p.suffix for p in Path(f).rglob("*")
                                  if p.is_file() and not p.name.startswith(".")]).value_counts()
                deep = "**"
            if exts.empty:
                raise DataError(f"{f} holds no file to read")
            pattern = str(Path(f) / deep / f"*{exts.index[0]}")
            tables.append((pattern, list(source_files(pattern))))
        elif any(ch in str(f) for ch in "*?["):
            tables.append((str(f), list(source_files(f))))
        else:
            if Path(f).is_symlink() and not Path(f).exists():
                raise DataError(f"{f} is a link to {os.readlink(f)}, which does not exist; restore the file it points "
                                "to or remove the link")
            if not Path(f).exists():
                raise DataError(f"{f}: no such file")
            tables.append((str(f), [Path(f)]))
    return tables


def draft_table(location: str, files: list[Path], *, con=None) -> TableDraft:
    """The draft of one table: sniffed, profiled over all rows, its role and columns decided, with evidence."""
    from ..store.connect import _connect
    from ..store.read import _header_key

    con = con or _connect({})
    # every part's header is compared (a few dozen monthly files); of many parts, the first and the last
    sniffs = [sniff(f) for f in (files if len(files) <= 60 else [files[0], files[-1]])]
    first = sniffs[0]
    evidence = list(first.evidence)
    undecided = list(first.undecided)
    if len(files) > 1:
        evidence.append(f"{len(files)} files matched by {location} (read as one table, every row profiled)")
        heads = [[_header_key(h) for h in s.header] for s in sniffs]
        other = next((i for i, h in enumerate(heads) if sorted(h) != sorted(heads[0])), None)
        moved = next((i for i, h in enumerate(heads) if h != heads[0]), None)
        if other is not None:
            undecided.append(f"the parts' headers differ ({sniffs[0].path.name} and {sniffs[other].path.name}): the "
                             "kit reads parts with the same columns; read them as separate tables")
        elif moved is not None:
            evidence.append(f"the parts' columns come in another order ({sniffs[0].path.name}, "
                            f"{sniffs[moved].path.name}): matched by name, one table")
    options, tprof, head, more, relation = _profile_source(location, first, con)
    evidence += more
    samples = [Sample(files[0], first.kind, head, None, dict(options), list(first.evidence), [])]
    profiles = {c: _as_profile(p) for c, p in tprof.columns.items()}
    repeats = tprof.header_repeats()
    if repeats:
        undecided.append(f"{Path(location).name}: the header row appears {repeats:,} more time(s) inside the file "
                         "(an export concatenated twice, or a second header row): remove the repeated header lines "
                         "(and any repeated rows), then run init again")
    best = None
    lines_mapping = _map_table("transactions", profiles)[0]
    for role in ("transactions", "contacts", "customers", "products"):
        mapping, ev, explained = _map_table(role, profiles) if role != "transactions" else \
            (lines_mapping, *_map_table(role, profiles)[1:])
        required = [c for c, (req, _k) in CANONICAL_COLUMNS[role].items() if req]
        have = [c for c in required if c in mapping]
        if role == "transactions":
            have += ["order_id"] if "order_id" not in mapping and {"customer_id", "ts"} <= set(mapping) else []
            if "amount" not in mapping and "unit_price" in mapping:
                have.append("amount")
            if "amount" not in have:  # no money on a line: a contact list or a member file, not line items
                have = [c for c in have if c != "order_id"]
        score = len(have) / len(required) + 0.3 * explained
        if role == "customers" and len(mapping) < 3:
            score -= 0.5
        if role == "products" and ("customer_id" in lines_mapping or
                                   ("ts" in lines_mapping and {"amount", "unit_price"} & set(lines_mapping))):
            score -= 0.5  # a catalogue has no buyer and no time of sale on its rows
        if best is None or score > best[0]:
            best = (score, role, mapping, ev)
    _score, role, mapping, ev = best
    outcome = _outcome_table(profiles)
    contact_list = role == "contacts" and ({"campaign_id", "contacted_at"} & set(mapping))
    if outcome and not contact_list and (role != "transactions" or "ts" not in mapping):
        d = TableDraft("outcomes", location, samples, {}, {}, options, reading=evidence, undecided=undecided,
                       outcome=outcome, profile=tprof, rows=tprof.rows, relation=relation)
        return d
    draft = TableDraft(role, location, samples, dict(mapping), ev, options, reading=evidence, undecided=undecided,
                       profile=tprof, rows=tprof.rows, relation=relation)
    number_cols = [mapping[c] for c, (_r, kind) in CANONICAL_COLUMNS[role].items() if kind == "number" and c in mapping]
    _number_options(tprof, number_cols, draft.options, draft.reading)
    for c in number_cols:  # the evidence of number columns under the one layout chosen for the table
        locale = (draft.options.get("thousands", ""), draft.options.get("decimal", "."))
        col = next(k for k, v in mapping.items() if v == c)
        profiles[c] = _as_profile(tprof[c], locale)
        draft.evidence[col] = f"{c} — {draft.evidence[col].split(' — ', 1)[1].split(';')[0]}; " \
                              f"{_describe('number', profiles[c])}"
    if role == "transactions":
        _category_keys(draft, profiles)
    if role == "transactions" and "customer_id" not in draft.columns:
        _contact_as_key(draft, profiles)
    elif role == "transactions":
        _guest_ids(draft, profiles)
    draft.personal = [c for c in tprof.columns if (_personal_header(c) or _person_names(c, profiles[c]))
                      and c not in draft.columns.values()]
    required = [c for c, (req, _k) in CANONICAL_COLUMNS[role].items() if req]
    if role == "contacts":
        # a list of whom a campaign reached, without arms: every listed customer was treated, in one round
        constants = {}
        if "arm" not in draft.columns:
            constants["arm"] = "treatment"
            draft.notes.append("contacts: no arm column — every listed customer was contacted (treated); with no "
                               "holdout, notebook 04 compares them with the customers no campaign reached "
                               "(control: never_contacted)")
        if "round" not in draft.columns:
            constants["round"] = 1
        if constants:
            draft.options["constants"] = constants
    for col in ("ts", "signup_date", "contacted_at"):
        if col in draft.columns:
            _time_choices(draft, col, profiles[draft.columns[col]], profiles)
    if role == "transactions":
        _fill_down_choice(draft, con)
        _transactions_choices(draft, profiles)
        required = [c for c in required if c != "order_id"]
        if "amount" not in draft.columns and "unit_price" in draft.columns:
            required.remove("amount")
    for col in ("ts", "signup_date", "contacted_at"):
        c = profiles[draft.columns[col]].column if isinstance(draft.columns.get(col), str) else None
        if c is not None and c.ts_counts and not any("%H" in f or "%I" in f for f in c.ts_counts):
            _join_time(draft, col, profiles[draft.columns[col]], profiles)  # last: the mapping then holds a list
    for col in required:
        if col not in draft.columns and col not in draft.options.get("constants", {}):
            names = list(map(str, tprof.columns))
            shown = ", ".join(names[:12]) + (f", … ({len(names):,} columns)" if len(names) > 12 else "")
            draft.undecided.append(f"{role}.{col}: no column fits (columns: {shown}); "
                                   f"map it: tables.{role}.columns.{col}: <your column>")
    return draft


#: canonical columns an export may write once per order (on its first row); never money or quantities, which
#: belong to the line (an order total carried down would count once per line)
ORDER_FIELDS = ("customer_id", "ts", "status", "store", "channel")
#: canonical columns of the line itself: filled on every row of an order
LINE_FIELDS = ("product_id", "quantity", "amount", "unit_price", "description")


def _fill_down_choice(draft: TableDraft, con) -> None:
    """``fill_down``: the order's fields an export writes only on the order's first row, found over all rows.

    Two shapes, told apart by the order key, in file order (:func:`crm_kit.store.profile.order_blanks`):

    * the key is blank on the order's other rows (Odoo's sale-order lines): the rows whose key is blank must
      have the order's fields blank *together* with it (each such field blank on every key-blank row and filled
      on every leading row) while the line's own columns are filled; the key is then carried down too;
    * the key repeats on the order's other rows (Shopify): a field is carried down when it is blank on (nearly)
      every row repeating the key above and filled on every row that leads an order.

    A column blank at random (a customer missing on 2 % of rows) is blank on leading rows too, so it is never
    carried down: its blanks stay blanks.
    """
    m = draft.columns
    key = m.get("order_id")
    prof = draft.profile
    if not key or prof is None or draft.relation is None:
        return
    order = [c for c in ORDER_FIELDS if m.get(c) and m[c] != key]
    line = [c for c in LINE_FIELDS if m.get(c)]
    partly = [c for c in [key, *(m[o] for o in order), m.get("amount")]
              if c and c in prof.columns and 0 < prof[c].values < prof.rows]
    if not partly or not line or not order:
        return
    ob = order_blanks(con, draft.relation, key, [m[c] for c in order + line])
    if ob.first_blank:
        return
    filled: list[str] = []
    why: list[str] = []
    if ob.key_blank:
        together = [c for c in order if ob.blanks[m[c]][1] == ob.key_blank and ob.blanks[m[c]][0] == 0]
        own = [c for c in line if c != "amount"] or line  # the amount may be the order's total, written once
        lines_kept = all(ob.blanks[m[c]][1] <= 0.01 * ob.key_blank for c in own)
        if together and lines_kept:
            filled = ["order_id", *together]
            why.append(f"{key} and {', '.join(m[c] for c in together)} are blank together on {ob.key_blank:,} of "
                       f"{ob.rows:,} rows (the line's {', '.join(m[c] for c in own)} filled there) and filled on all "
                       f"{ob.leads:,} rows that start an order: each blank row is a line of the order above")
    if ob.repeats:
        carried = [c for c in order if c not in filled and ob.blanks[m[c]][0] == 0
                   and ob.blanks[m[c]][2] >= max(1, 0.9 * ob.repeats)]
        if carried:
            filled += [c for c in carried]
            why.append(f"{', '.join(m[c] for c in carried)} blank on "
                       f"{min(ob.blanks[m[c]][2] for c in carried):,} of the {ob.repeats:,} rows that repeat the "
                       f"order {key} of the row above, filled on all {ob.leads:,} rows that start an order: "
                       "written once per order")
    if filled:
        draft.options["fill_down"] = filled
        draft.reading.append("fill_down: " + "; ".join(why) + " — carried down in file order")
    money = m.get("amount")
    continuation = ob.key_blank + ob.repeats
    if money and m.get("unit_price") and m.get("quantity") and continuation and ob.blanks[money][0] == 0 \
            and ob.blanks[money][1] + ob.blanks[money][2] >= 0.9 * continuation:
        # the money column is the order's total, written on its first row (eBay's summary row, Shopify's Total):
        # summed per line it would count once per order at best; the line's own money is quantity x price
        m.pop("amount")
        draft.evidence.pop("amount", None)
        draft.notes.append(f"amount: {money} is the order's total (filled on all {ob.leads:,} rows that start an "
                           f"order, blank on {ob.blanks[money][1] + ob.blanks[money][2]:,} of its {continuation:,} "
                           f"other rows): each line's amount is {m['quantity']} × {m['unit_price']}; a row without a "
                           "price (an order's summary row) has no line amount")


def _transactions_choices(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """Order id or a customer's day; how returns are written; zero-value lines (all rows counted)."""
    m = draft.columns
    if m.get("order_id") and profiles[m["order_id"]].distinct_count == profiles[m["order_id"]].values:
        # an id on every line once is the line's own; an order-id column whose values repeat holds the orders
        shared = [(_header_score("transactions", "order_id", h), -p.distinct_count, h) for h, p in profiles.items()
                  if h not in m.values() and p.values == profiles[m["order_id"]].values and
                  1 < p.distinct_count < p.values and _personal_kind(h) is None]
        shared = [x for x in shared if x[0] >= 3.0 and -x[1] * 20 >= profiles[m["order_id"]].values]
        if shared:
            own, order = m["order_id"], max(shared)[2]
            m["order_id"] = order
            draft.evidence["order_id"] = (f"{order} — by its header; {profiles[order].distinct_count:,} orders over "
                                          f"{profiles[order].values:,} lines ({own} is each line's own id)")
    if "order_id" not in m:
        m["order_id"] = None
        draft.evidence["order_id"] = ("none — no column reads as an order or receipt id: a purchase is a customer's day "
                                      "(BG/NBD), identical lines of a day are separate items")
    else:
        c = profiles[m["order_id"]].column
        prefixed = {s: v for s, v in c.shapes.items() if re.fullmatch(r"a9+", s.strip())}
        digits = sum(v[0] for s, v in c.shapes.items() if re.fullmatch(r"9+", s.strip()))
        count = sum(v[0] for v in prefixed.values())
        if count and digits > 0.5 * c.values and c.prefixes:
            prefix = max(c.prefixes, key=c.prefixes.get)
            if c.prefixes[prefix] >= 0.9 * sum(c.prefixes.values()):
                draft.cleaning["cancellation_prefix"] = prefix
                draft.notes.append(f"cancellation_prefix: {prefix} — {count:,} order ids are '{prefix}' + digits "
                                   f"among {digits:,} plain numbers: cancelled orders")
    _price_is_line_total(draft)
    _order_money_repeated(draft)
    negatives = []
    for col in ("quantity", "amount"):
        if m.get(col):
            c = profiles[m[col]].column
            if c.negative:
                negatives.append(f"{c.negative:,} negative {col}")
    if negatives or "cancellation_prefix" in draft.cleaning:
        draft.cleaning["returns"] = "net"
        draft.notes.append("returns: net — " + (", ".join(negatives) or "cancelled orders") +
                           " over all lines: returns subtract from sales (drop leaves them out)")
    if m.get("amount"):
        zero = profiles[m["amount"]].column.zero
        if zero:
            draft.notes.append(f"{zero:,} lines have a zero amount: counted as purchases with no revenue "
                               "(cleaning.nonpositive_price: drop leaves them out)")


def _price_is_line_total(draft: TableDraft) -> bool:
    """Whether a column mapped as the unit price holds each line's total (price × quantity), decided over all rows.

    On lines of more than one unit, a unit price is the same for a product on every line while price / quantity
    varies with the quantity; a line total is the other way round. Counted per product in the engine: the column is
    a line total when price / quantity takes fewer distinct values per product than the price itself.
    """
    from ..store.cast import _number

    m = draft.columns
    if draft.relation is None or not all(m.get(c) for c in ("unit_price", "quantity", "product_id")) or m.get("amount"):
        return False
    rel = draft.relation
    price, _ = _number(rel[m["unit_price"]], draft.options, [])
    qty, _ = _number(rel[m["quantity"]], draft.options, [])
    lines = rel.select(p=rel[m["product_id"]].cast("string"), price=price.round(2), qty=qty)
    lines = lines.filter(lines.qty.notnull() & (lines.qty > 1) & lines.price.notnull())
    per = lines.group_by("p").aggregate(n_price=lines.price.nunique(), n_each=(lines.price / lines.qty).round(2).nunique())
    counts = per.aggregate(price=per.n_price.sum(), each=per.n_each.sum()).execute()
    if counts.empty or pd.isna(counts["price"].iloc[0]):
        return False
    n_price, n_each = int(counts["price"].iloc[0]), int(counts["each"].iloc[0])
    if n_each >= n_price:
        return False
    column = m.pop("unit_price")
    m["amount"], draft.evidence["amount"] = column, (
        f"{column} — the line's total: on lines of more than one unit it takes {n_price:,} values per product "
        f"summed, price / quantity only {n_each:,} (a unit price would be the same for a product)")
    draft.evidence.pop("unit_price", None)
    return True


def _order_money_repeated(draft: TableDraft) -> bool:
    """Whether the amount mapped on the lines is the order's money written again on each of its lines (all rows).

    Some exports (JD's 订单金额 / 应付金额, a marketplace's order total) write a row per item with the order's
    total repeated on every row: summed per line it counts an order of three items three times. Counted in the
    engine over the orders of more than one line: when the amount is one value on every line of at least 95 % of
    them, whereas their products differ, it is the order's money. With a unit price and a quantity mapped, the
    amount is left unmapped and each line's sales is quantity x unit price (the loader's rule); without them the
    choice is left to the user, in one line.
    """
    m = draft.columns
    if draft.relation is None or not m.get("amount") or not m.get("order_id") or not m.get("product_id"):
        return False
    rel = draft.relation
    per = rel.group_by(o=rel[m["order_id"]].cast("string")).aggregate(
        n=rel.count(), amounts=rel[m["amount"]].cast("string").strip().nunique(),
        products=rel[m["product_id"]].cast("string").nunique())
    per = per.filter((per.n > 1) & (per.products > 1))
    counts = per.aggregate(orders=per.count(), same=(per.amounts == 1).ifelse(1, 0).sum()).execute()
    orders = int(counts["orders"].iloc[0] or 0) if len(counts) else 0
    same = int(counts["same"].fillna(0).iloc[0]) if len(counts) else 0
    if orders < 5 or same < 0.95 * orders:
        return False
    column = m["amount"]
    why = (f"{column} is one value on every line of {same:,} of the {orders:,} orders with several products: the "
           "order's money written again on each of its lines")
    if m.get("unit_price") and m.get("quantity"):
        m.pop("amount"), draft.evidence.pop("amount", None)
        draft.notes.append(f"amount: {why}; each line's sales is {m['quantity']} x {m['unit_price']} instead")
        return True
    draft.undecided.append(f"transactions.amount: {why} (summed per line it counts an order once per item); map "
                           "tables.transactions.columns.unit_price and quantity to the lines' own price and units")
    return True
