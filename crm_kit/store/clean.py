"""Cleaning the line items: named rules, each counted, in a fixed number of engine passes."""

from __future__ import annotations

from typing import Any, Mapping

import logging

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from ..errors import DataError, MissingColumnError
from .model import NO_PRODUCTS_RULE
from .prepare import _prepare_table
from .spec import EARLIEST_SIGNUP, IMPLAUSIBLE_FACTOR, NO_ORDER_ID_ADVICE, SUMMARY_LABELS, _window_bounds

__all__: list[str] = []  # used through crm_kit.store.load

_log = logging.getLogger("crm_kit.store")


def _materialise(con, name: str, expr):
    """A session-scoped table of ``expr``; a temporary view where the backend has no temp tables (PySpark)."""
    try:
        return con.create_table(name, expr, temp=True, overwrite=True)
    except NotImplementedError:
        return con.create_view(name, expr, overwrite=True)


#: the column of the staged line items holding a hash of the mapped columns (DuckDB only)
ROW_HASH = "_row_hash"


#: the order's fields that flow to each of its lines (a line's own value, where it has one, comes first)
ORDER_FIELDS = ("customer_id", "ts", "status", "store", "channel", "line_type")


def _conform(table, columns: Mapping[str, Any]):
    """``table`` with exactly ``columns`` (name -> type), in that order; a column it lacks is null."""
    return table.select(**{c: (table[c].cast(t) if c in table.columns else ibis.null(t)) for c, t in columns.items()})


def _examples(con, expr, col: str, n: int = 3) -> list[str]:
    return [str(v) for v in con.to_pandas(expr.select(col).distinct().order_by(col).limit(n))[col].tolist()]


def _with_orders(con, lines, ospec: Mapping[str, Any], rules: Mapping[str, Any], notes: dict):
    """The line items with their order's fields, orders without lines as one line of their total, and refund lines.

    Shop platforms write orders and their lines in two files joined by the
    order number: the customer, time, status, store and channel are written
    once per order and flow here to every line of it. An order without
    lines, whose total is mapped (``amount``), is one line of that total; an
    order's ``refunded`` money is a line of its own, negative, dated on the
    order, which ``returns`` nets or drops like any return. Lines whose
    order is not in the orders table are counted (``notes['without_order']``)
    and left out, or stop the load (``cleaning.lines_without_order: error``).
    """
    orders = _prepare_table(con, "orders", ospec)
    orders = _materialise(con, "_orders_typed", orders)
    counted = con.to_pandas(orders.aggregate(n=orders.count(), ids=orders.order_id.nunique(),
                                             blank=orders.order_id.isnull().ifelse(1, 0).sum())).iloc[0].fillna(0)
    if int(counted["blank"]):
        raise DataError(f"orders: {int(counted['blank']):,} row(s) have no order_id; the orders table is joined to "
                        "the lines by it: fix the source or map tables.orders.columns.order_id to the order number")
    if int(counted["n"]) != int(counted["ids"]):
        twice = orders.group_by("order_id").aggregate(n=orders.count()).filter(lambda x: x.n > 1)
        raise DataError(f"orders: {int(counted['n']) - int(counted['ids']):,} repeated order_id(s) (e.g. "
                        f"{_examples(con, twice, 'order_id')}); the orders table must hold one row per order: "
                        "remove the repeats at the source, or map the line items as tables.transactions")
    fields = [c for c in ORDER_FIELDS if c in orders.columns]
    if lines is None:
        if "amount" not in orders.columns:
            raise DataError("tables.orders without tables.transactions needs the order totals: map "
                            "tables.orders.columns.amount")
        lines = orders.select("order_id", *fields, amount=orders.amount, quantity=ibis.literal(1.0))
        extra = None
    else:
        ofields = orders.select("order_id", _has_order=ibis.literal(True),
                                **{f"_order_{c}": orders[c] for c in fields})
        joined = lines.left_join(ofields, "order_id")
        joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
        flowed = {}
        for c in fields:
            own = joined[c] if c in lines.columns else None
            flowed[c] = joined[f"_order_{c}"] if own is None else own.coalesce(joined[f"_order_{c}"])
        joined = joined.mutate(**flowed)
        orphan = joined._has_order.isnull()
        found = con.to_pandas(joined.aggregate(n=orphan.ifelse(1, 0).sum(), s=orphan.ifelse(joined.amount, 0.0).sum()))
        n_orphan = int(found["n"].fillna(0).iloc[0])
        if n_orphan:
            ids = _examples(con, joined.filter(orphan), "order_id")
            what = (f"{n_orphan:,} line item(s) (sales {float(found['s'].fillna(0).iloc[0]):,.2f}) belong to no order "
                    f"of the orders table (order ids e.g. {ids})")
            if rules.get("lines_without_order") == "error":
                raise DataError(f"transactions: {what}; export the orders and lines of the same period, or set "
                                "cleaning.lines_without_order: drop to leave them out")
            _log.warning("%s: left out (cleaning.lines_without_order: drop)", what)
            notes["without_order"] = (n_orphan, float(found["s"].fillna(0).iloc[0]), ids)
            joined = joined.filter(~orphan)
        lines = joined.drop("_has_order", *[f"_order_{c}" for c in fields])
        extra = None
        if "amount" in orders.columns:
            # an order the lines file has no line of: its total is its one line
            extra = orders.anti_join(lines.select("order_id").distinct(), "order_id")
            extra = extra.select("order_id", *fields, amount=extra.amount, quantity=ibis.literal(1.0),
                                 **({} if "line_type" in fields else {"line_type": ibis.literal(ORDER_TOTAL_TYPE)}))
    for col in ("customer_id", "ts"):
        if col not in lines.columns:
            raise MissingColumnError(f"transactions: neither the line items nor the orders have '{col}'; map it: "
                                     f"tables.orders.columns.{col} (or tables.transactions.columns.{col}): <your column>")
    if extra is not None and "line_type" not in lines.columns:
        lines = lines.mutate(line_type=ibis.null("string"))
    schema = dict(lines.schema().items())
    parts = [lines]
    if extra is not None:
        parts.append(_conform(extra, schema))
    if "refunded" in orders.columns:
        refunds = orders.filter(orders.refunded.abs() > 0)
        if "line_type" not in schema:
            schema["line_type"] = dt.string
            parts = [p.mutate(line_type=ibis.null("string")) for p in parts]
        refunds = refunds.select("order_id", *[c for c in fields if c != "line_type"], amount=-refunds.refunded.abs(),
                                 quantity=ibis.literal(0.0), line_type=ibis.literal(REFUND_TYPE))
        parts.append(_conform(refunds, schema))
        notes["refund_lines"] = True
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


#: the line_type of the lines standing for an order's refunded money (``orders.refunded``)
REFUND_TYPE = "_refund_"
#: the line_type of the line standing for an order's total when the lines file has no line of it
ORDER_TOTAL_TYPE = "_order_total_"


def _with_line_refunds(lines, notes: dict):
    """The line items with a refund line for each row's ``refunded`` money and ``returned_quantity``.

    A row's refunded money (on a file of one row per order, the order's
    refund) is a line of its own, negative, with the row's customer, time,
    status and product, like an order's refund (:func:`_with_orders`). A
    line's returned units take ``amount x returned_quantity / quantity`` off
    sales, also on the line's own date, with minus the units returned. Both
    are marked :data:`REFUND_TYPE`: ``returns: net`` subtracts them,
    ``returns: drop`` leaves them out, and no refund line is a visit.
    """
    extra = [c for c in ("refunded", "returned_quantity") if c in lines.columns]
    if not extra:
        return lines
    if "line_type" not in lines.columns:
        lines = lines.mutate(line_type=ibis.null("string"))
    base = lines.drop(*extra)
    schema = dict(base.schema().items())
    same = [c for c in base.columns if c not in ("amount", "quantity", "line_type")]
    parts = [base]
    if "refunded" in extra:
        r = lines.filter(lines.refunded.abs() > 0)
        parts.append(_conform(r.select(*same, amount=-r.refunded.abs(), quantity=ibis.literal(0.0),
                                       line_type=ibis.literal(REFUND_TYPE)), schema))
    if "returned_quantity" in extra:
        r = lines.filter((lines.returned_quantity.abs() > 0) & (lines.quantity.abs() > 0))
        share = r.returned_quantity.abs() / r.quantity.abs()
        parts.append(_conform(r.select(*same, amount=-(r.amount.abs() * share).round(2),
                                       quantity=-r.returned_quantity.abs(), line_type=ibis.literal(REFUND_TYPE)),
                              schema))
    notes["refund_lines"] = True
    return ibis.union(*parts, distinct=False)


def _stage_lines(con, tables: Mapping[str, Any], rules: Mapping[str, Any] | None = None):
    """The line items read and typed, as the table every cleaning pass reads (``_lines_typed``), and the read's notes.

    With an orders table (:func:`_with_orders`) the lines carry their
    order's fields; a store without products has a null ``product_id``
    (``notes['no_products']``), and the product steps skip.

    When typing is costly (text to clean, numbers and times parsed from
    text) the typed lines are written once into the session, so no later
    pass parses the source again; when the source is typed and its ids are
    plain (a clean Parquet export) they stay a view over the file, and
    nothing is written before the cleaned store. On DuckDB each line also
    carries :data:`ROW_HASH`, a 64-bit hash of its mapped columns, which
    finds the candidate exact repeats without a DISTINCT over whole lines.
    """
    notes: dict = {}
    rules = rules or {}
    tspec, ospec = tables.get("transactions"), tables.get("orders")
    optional = frozenset({"customer_id", "ts"}) if ospec is not None else frozenset()
    typed = None if tspec is None else _prepare_table(con, "transactions", tspec, notes=notes, optional=optional)
    if ospec is not None:
        typed = _with_orders(con, typed, ospec, rules, notes)
        notes["costly"] = notes.get("costly") or ["joined to the orders table"]
    if "refunded" in typed.columns or "returned_quantity" in typed.columns:
        typed = _with_line_refunds(typed, notes)
        notes["costly"] = notes.get("costly") or ["refund lines of the rows' refunded money or returned units"]
    if "product_id" not in typed.columns:
        # an export without products (a till's amounts, amounts per order): the product steps skip, saying why
        typed = typed.mutate(product_id=ibis.null("string"))
        notes["no_products"] = True
    if getattr(con, "name", "") == "duckdb":
        cols = ", ".join(f'"{c}"' for c in typed.columns)
        kind = "TABLE" if notes["costly"] else "VIEW"
        con.raw_sql(f"CREATE OR REPLACE TEMP {kind} _lines_typed AS SELECT *, hash({cols}) AS {ROW_HASH} "
                    f"FROM ({con.compile(typed)})")
        return con.table("_lines_typed"), notes
    return _materialise(con, "_lines_typed", typed), notes


def _without_repeats(con, staged):
    """The staged lines without exact repeats: (lines, repeats removed, their sales).

    With :data:`ROW_HASH` (DuckDB), lines can only repeat one another when
    their hashes are equal: the hashes seen more than once are found by one
    sort, and only the lines of their orders (few) are compared column by
    column, so the count is exact whatever the hash collides on. Elsewhere,
    a DISTINCT over the mapped columns.
    """
    if ROW_HASH not in staged.columns:
        distinct = _materialise(con, "_lines_distinct", staged.distinct())
        return distinct, None
    # hashes sorted, each compared with the next: a sort of 64-bit numbers costs less than half a grouping
    # with one group per line (5 s against 12 s for 50 M lines, 2 cores). The window has no partition on purpose: this path is
    # DuckDB's only (ROW_HASH), whose sort runs in parallel (5 M lines: 2.7-3.6 s; partitioned by hash % 256: 5.5 s);
    # a distributed engine takes the DISTINCT above
    hashes = staged.select(ROW_HASH)
    hashes = hashes.mutate(_next=hashes[ROW_HASH].lead().over(ibis.window(order_by=hashes[ROW_HASH])))
    shared = _materialise(con, "_repeated_hashes",
                          hashes.filter(hashes[ROW_HASH] == hashes._next).select(ROW_HASH).distinct())
    if int(con.execute(shared.count())) == 0:
        return staged, (0, 0.0)
    # repeats share their order: only the orders holding a candidate are de-duplicated, the others pass as they
    # are (no hash again on every line of every later pass); the orders are a joined table, not an IN list, as a
    # store with many repeats touches hundreds of thousands of them
    orders = _materialise(con, "_repeat_orders", staged.semi_join(shared, ROW_HASH).select("order_id").distinct())
    candidates = staged.semi_join(orders, "order_id")
    rest = staged.anti_join(orders, "order_id")
    if int(con.execute(orders.order_id.isnull().sum())):  # a join never matches a missing order id
        candidates = candidates.union(staged.filter(staged.order_id.isnull()), distinct=False)
        rest = rest.filter(rest.order_id.notnull())
    candidates = _materialise(con, "_repeat_candidates", candidates)
    kept = _materialise(con, "_repeat_kept", candidates.distinct())
    both = con.to_pandas(candidates.aggregate(n=candidates.count(), s=candidates.amount.sum())
                         .cross_join(kept.aggregate(n_kept=kept.count(), s_kept=kept.amount.sum()))).iloc[0].fillna(0)
    n_dup, s_dup = int(both["n"]) - int(both["n_kept"]), float(both["s"]) - float(both["s_kept"])
    if n_dup == 0:
        return staged, (0, 0.0)
    return rest.union(kept), (n_dup, s_dup)


def _clean_transactions(con, staged, rules, window, notes: Mapping[str, Any] | None = None):
    """Apply the cleaning rules in order, recording what each removed.

    ``staged`` is the typed line items written once (:func:`_stage_lines`).
    The work is a fixed number of engine passes over it whatever the number
    of rules: one for the totals, one sort of line hashes for exact
    repeats, one for the typical line, one aggregate of every rule's mask.
    Rules apply in order: a line counts under the first rule that catches
    it. Nothing is written: the caller materialises the cleaned lines once
    (into the store cache when there is one).

    Returns
    -------
    (all_lines, report)
        The cleaned lines as a lazy table (anonymous lines with a null
        customer id) and one row per rule.
    """
    start, end = _window_bounds(window)
    report = []

    raw = con.to_pandas(staged.aggregate(n=staged.count(), s=staged.amount.sum())).iloc[0]
    n_raw, s_raw = int(raw["n"]), 0.0 if pd.isna(raw["s"]) else float(raw["s"])
    if rules["duplicates"] == "keep":
        base = staged
        report.append({"rule": "exact duplicate lines", "action": "keep", "rows_found": 0,
                       "rows_removed": 0, "sales_removed": 0.0, "customers_removed": 0})
    else:
        base, removed = _without_repeats(con, staged)
        if removed is None:
            kept = con.to_pandas(base.aggregate(n=base.count(), s=base.amount.sum())).iloc[0]
            removed = (n_raw - int(kept["n"]), s_raw - (0.0 if pd.isna(kept["s"]) else float(kept["s"])))
        n_dup, s_dup = removed
        if n_dup and rules["duplicates"] == "error":
            raise DataError(
                f"transactions: {n_dup:,} exact duplicate line(s); remove them at the source "
                "or set cleaning.duplicates: drop"
            )
        report.append({"rule": "exact duplicate lines", "action": "drop" if n_dup else "none found",
                       "rows_found": n_dup, "rows_removed": n_dup, "sales_removed": round(s_dup, 2) + 0.0,
                       # a repeat leaves its first copy: it never removes a customer
                       "customers_removed": 0})

    t = base
    no_products = bool((notes or {}).get("no_products"))
    missing_mask = t.ts.isnull() | t.amount.isnull() | t.quantity.isnull() | t.order_id.isnull()
    if not no_products:
        whole = t.line_type.isin([REFUND_TYPE, ORDER_TOTAL_TYPE]).fill_null(False) if "line_type" in t.columns else None
        # an order's total or its refund stands for no product: a line of its own, never a missing product id
        missing_mask = missing_mask | (t.product_id.isnull() if whole is None else (t.product_id.isnull() & ~whole))
    status_mask = _not_purchase(con, t, rules)
    label_mask = ibis.literal(False)
    # ids were trimmed when typed (and a blank one made missing): no strip here, which would cost a pass's worth
    for col in ("customer_id", "order_id", "product_id"):
        label_mask = label_mask | t[col].lower().isin(SUMMARY_LABELS)
    typical = con.to_pandas(t.aggregate(
        amount=t.amount.abs().approx_median(), quantity=t.quantity.abs().approx_median(), n=t.count(),
        ids=t.customer_id.count(), numeric_ids=t.customer_id.re_search(r"^\d+$").sum(),
        first_order=t.order_id.min(), last_order=t.order_id.max(),
        first_customer=t.customer_id.min(), last_customer=t.customer_id.max(),
    )).iloc[0]
    if int(typical["n"]) == 0:
        raise DataError("transactions has no line (after removing exact duplicates); point the path at a file with data")
    if typical["first_order"] == typical["last_order"] and typical["first_customer"] != typical["last_customer"]:
        # one order id on every line: a constant mapped as the order id, unless each customer bought once (order ids
        # numbered per customer, all '1'); a customer whose one "order" spans several days tells them apart
        days = t.group_by("customer_id").aggregate(days=t.ts.date().nunique())
        if int(con.execute(days.days.max()) or 0) > 1:
            raise DataError(f"transactions: every line has the same order id; {NO_ORDER_ID_ADVICE}")
    implausible_mask = ibis.literal(False)
    if pd.notna(typical["amount"]) and typical["amount"] > 0:
        implausible_mask = implausible_mask | (t.amount.abs() > IMPLAUSIBLE_FACTOR * float(typical["amount"]))
    if pd.notna(typical["quantity"]) and typical["quantity"] > 0:
        implausible_mask = implausible_mask | (t.quantity.abs() > IMPLAUSIBLE_FACTOR * float(typical["quantity"]))
    ids, numeric_ids = int(typical["ids"] or 0), int(typical["numeric_ids"] or 0)
    if ids and numeric_ids >= 0.99 * ids:
        # ids are numbers (member numbers): one without any digit is a label, not a member
        implausible_mask = implausible_mask | (t.customer_id.notnull() & ~t.customer_id.re_search(r"\d"))
    window_mask = ibis.literal(False)
    if start is not None:
        window_mask = window_mask | (t.ts < start)
    if end is not None:
        window_mask = window_mask | (t.ts >= end)
    # a return is written either way: a negative quantity (most tills) or a negative amount with a positive
    # quantity (others); under returns: net both count against sales, whatever sign the export gave the other column
    returns_mask = (t.quantity < 0) | (t.amount < 0)
    for key in ("cancellation_prefix", "return_prefix"):
        if rules.get(key):
            returns_mask = returns_mask | t.order_id.startswith(str(rules[key]))
    if "line_type" in t.columns:
        kinds = t.line_type.strip().lower()
        returns_mask = returns_mask | (kinds == REFUND_TYPE)
        if rules.get("return_types"):
            returns_mask = returns_mask | kinds.isin(list(rules["return_types"]))
    returns_mask = returns_mask.fill_null(False)
    keep_zero = rules["nonpositive_price"] == "keep_zero"
    # a zero-value line with a positive quantity is a purchase with no revenue (a free item: a visit, a customer);
    # it is dropped only when the spec asks (nonpositive_price: drop)
    price_mask = (t.quantity > 0) & (t.amount == 0) & ~returns_mask
    anon_mask = t.customer_id.isnull() | (t.customer_id == "")

    steps = []  # (rule, mask, action, fix)
    steps.append(("missing or unreadable values (timestamp, amount, quantity, order or product): never counted as zero",
                  missing_mask, rules["missing_values"],
                  "fill them at the source, map other columns, or set cleaning.missing_values: drop"))
    steps.append(("summary rows (合计, 总计, Total, Subtotal...): not sales", label_mask, rules["summary_rows"],
                  "remove the totals from the export or set cleaning.summary_rows: drop"))
    if status_mask is not None:
        shown = ", ".join(rules["statuses"]["not_purchase"][:4]) + ("..." if len(rules["statuses"]["not_purchase"]) > 4
                                                                   else "")
        steps.append((f"not purchases (status {shown}: cleaning.statuses.not_purchase)", status_mask, "drop", ""))
    steps.append((f"implausible lines (amount or quantity over {IMPLAUSIBLE_FACTOR:,.0f}x the median line, or a "
                  "wordless id among member numbers)", implausible_mask, rules["implausible_lines"],
                  "check the column mapping (a barcode read as an amount?), fix the lines at the source, or set "
                  "cleaning.implausible_lines: keep"))
    if start is not None or end is not None:
        steps.append(("timestamps outside the analysis window", window_mask, rules["out_of_window"],
                      "widen window.start/window.end in params or set cleaning.out_of_window: drop"))
    returns_step = len(steps)
    # the label is the report's key (tests and readers look it up): what counts as a return is in the docs
    steps.append(("returns / cancellations (negative quantity or amount, or cancelled order)", returns_mask,
                  "keep" if rules["returns"] == "net" else rules["returns"],
                  "set cleaning.returns: drop (leave them out) or net (subtract them from sales)"))
    steps.append(("zero price (free lines: purchases with no revenue)", price_mask,
                  "keep" if keep_zero else rules["nonpositive_price"],
                  "fix prices at the source, or set cleaning.nonpositive_price: keep_zero (count them as purchases "
                  "with no revenue) or drop"))
    refund_line = (t.line_type == REFUND_TYPE).fill_null(False) if "line_type" in t.columns else ibis.literal(False)
    steps.append(("zero quantity", (t.quantity == 0) & ~refund_line, rules["zero_quantity"],
                  "remove them at the source or set cleaning.zero_quantity: drop"))

    # each rule counts the lines no earlier dropping rule caught
    earlier = ibis.literal(False)
    aggs = {}
    firsts = []
    for i, (_rule, mask, action, _fix) in enumerate(steps):
        mask = mask.fill_null(False)
        first = mask & ~earlier
        firsts.append(first)
        aggs[f"n{i}"] = first.ifelse(1, 0).sum()
        # a return's money is what it takes off sales, whichever column of the export carried the sign
        aggs[f"s{i}"] = first.ifelse(-t.amount.abs() if i == returns_step else t.amount, 0.0).sum()
        if action != "keep":
            earlier = earlier | mask
    anon_first = anon_mask & ~earlier
    aggs["n_anon"] = anon_first.ifelse(1, 0).sum()
    aggs["s_anon"] = anon_first.ifelse(t.amount, 0.0).sum()
    counts = con.to_pandas(t.aggregate(**aggs)).iloc[0].fillna(0)
    dropping = [i for i, st in enumerate(steps) if st[2] == "drop"]
    lost = _customers_removed(con, t, [firsts[i] for i in dropping], earlier,
                              any(int(counts[f"n{i}"]) for i in dropping))
    lost_by_step = {i: lost.get(f"c{k}", 0) for k, i in enumerate(dropping)}

    for i, (rule, _mask, action, fix) in enumerate(steps):
        n, s = int(counts[f"n{i}"]), float(counts[f"s{i}"])
        if n and action == "error":
            raise DataError(f"transactions: {n:,} line(s) {rule} (sales {s:,.2f}); {fix}")
        removed = action == "drop"
        shown = action if n else "none found"
        if rule.startswith("returns") and rules["returns"] == "net":
            shown = "net (kept, negative)" if n else "none found"
        report.append({"rule": rule, "action": shown, "rows_found": n,
                       "rows_removed": n if removed else 0, "sales_removed": round(s, 2) if removed else 0.0,
                       "customers_removed": lost_by_step.get(i, 0) if removed else 0})

    n_anon, s_anon = int(counts["n_anon"]), float(counts["s_anon"])
    if n_anon and rules["anonymous"] == "error":
        raise DataError(
            f"transactions: {n_anon:,} line(s) have no customer id (sales {s_anon:,.2f}); "
            "map tables.transactions.columns.customer_id to the member id, or set "
            "cleaning.anonymous: exclude to keep them in store totals only"
        )
    report.append({"rule": "no customer id (kept in store totals only)", "action": "exclude" if n_anon else "none found",
                   "rows_found": n_anon, "rows_removed": n_anon, "sales_removed": round(s_anon, 2),
                   "customers_removed": 0})

    odd = (notes or {}).get("odd_spaces") or {}
    if odd:
        report.append({"rule": "ids ending or starting in a tab or a Unicode space (no-break, full-width U+3000...): "
                               "trimmed, so they are the same customer, order or product",
                       "action": "trimmed " + ", ".join(f"{n:,} {col}" for col, n in sorted(odd.items())),
                       "rows_found": int(sum(odd.values())), "rows_removed": 0, "sales_removed": 0.0,
                       "customers_removed": 0})
    without = (notes or {}).get("without_order")
    if without:
        n_w, s_w, ids = without
        report.insert(0, {"rule": f"line items of no order in the orders table (order ids e.g. {', '.join(ids)})",
                          "action": "drop", "rows_found": n_w, "rows_removed": n_w, "sales_removed": round(s_w, 2),
                          "customers_removed": 0})
    if no_products:
        report.append({"rule": f"{NO_PRODUCTS_RULE}: the product steps (bestsellers, pairs, category mix, "
                               "brand loyalty) are skipped", "action": "none", "rows_found": 0, "rows_removed": 0,
                       "sales_removed": 0.0, "customers_removed": 0})
    if rules.get("orders") == "customer_day":
        report.append({"rule": "no order id in the export: a purchase is a customer's day (BG/NBD); identical lines "
                               "of a day are separate items", "action": "orders from days", "rows_found": 0,
                       "rows_removed": 0, "sales_removed": 0.0, "customers_removed": 0})
    n_left = n_raw - sum(r["rows_removed"] for r in report if not r["rule"].startswith("no customer id"))
    if n_left <= 0:
        why = "; ".join(f"{r['rows_removed']:,} {r['rule']}" for r in report if r["rows_removed"])
        span = ""
        if (start is not None or end is not None) and "window" in why:
            first, last = con.to_pandas(t.aggregate(first=t.ts.min(), last=t.ts.max())).iloc[0]
            if pd.notna(first):
                span = (f"; the data runs from {pd.Timestamp(first):%Y-%m-%d} to {pd.Timestamp(last):%Y-%m-%d}, the "
                        f"window {'from ' + format(start, '%Y-%m-%d') if start is not None else 'from the start'} "
                        f"{'up to ' + format(end, '%Y-%m-%d') + ' (not included)' if end is not None else 'on'}: set window.start/window.end "
                        "in the data spec inside the data's days (or remove the window)")
        raise DataError(f"transactions: cleaning removed every line ({why}){span or '; check window, the column mapping and the cleaning rules in the data spec'}")
    dropped_any = any(int(counts[f"n{i}"]) for i, st in enumerate(steps) if st[2] == "drop")
    all_lines = t.filter(~earlier) if dropped_any else t
    if n_anon:
        all_lines = all_lines.mutate(customer_id=anon_mask.ifelse(ibis.null("string"), t.customer_id))
    if rules["returns"] == "net" and int(counts[f"n{returns_step}"]):
        # a return counts against sales (and units) whichever column of the export carried the sign; it is marked,
        # so that no query counts it as a visit or its customer as a buyer
        all_lines = all_lines.mutate(amount=returns_mask.ifelse(-all_lines.amount.abs(), all_lines.amount),
                                     quantity=returns_mask.ifelse(-all_lines.quantity.abs(), all_lines.quantity),
                                     is_return=returns_mask)
    if ROW_HASH in all_lines.columns:
        all_lines = all_lines.drop(ROW_HASH)
    report = pd.DataFrame(report)[list(REPORT_COLUMNS)]
    return all_lines, report


def _not_purchase(con, t, rules: Mapping[str, Any]):
    """Lines whose status is a non-purchase (``cleaning.statuses``), or None without a status column.

    Every status value must be in one of the two lists (compared trimmed, any
    case); one in neither stops the load, naming the values, their lines and
    the key to add them to.
    """
    if "status" not in t.columns:
        return None
    lists = rules.get("statuses") or {"purchase": [], "not_purchase": []}
    key = t.status.strip().lower().fill_null("")
    asked = t
    if "line_type" in t.columns and rules.get("return_types"):
        # a return line may carry its type in the status column (売上 / 取消 / 返品 in one column): it is a return,
        # not a purchase question
        asked = t.filter(~t.line_type.strip().lower().isin(list(rules["return_types"])).fill_null(False))
    counts = con.to_pandas(asked.group_by(status=asked.status.strip().lower().fill_null("")).aggregate(n=asked.count()))
    known = set(lists["purchase"]) | set(lists["not_purchase"])
    unknown = counts[~counts["status"].isin(known)].sort_values(["n", "status"], ascending=[False, True])
    if len(unknown):
        shown = ", ".join(f"{(v or '(blank)')!r} ({n:,} lines)" for v, n in zip(unknown["status"], unknown["n"]))
        where = "is not in" if rules.get("statuses") else "needs"
        raise DataError(f"transactions: the status column has value(s) {where} cleaning.statuses: {shown}; add each "
                        "to cleaning.statuses.purchase (a real purchase) or cleaning.statuses.not_purchase (cancelled, "
                        "refunded, unpaid...) in the data spec" + ("; a blank status is written ''" if
                                                                   "" in set(unknown["status"]) else ""))
    return key.isin(list(lists["not_purchase"])) if lists["not_purchase"] else ibis.literal(False)


#: the cleaning report's columns: what each rule found, removed, the money and the customers it took
REPORT_COLUMNS = ("rule", "action", "rows_found", "rows_removed", "sales_removed", "customers_removed")


def _customers_removed(con, t, dropping_masks, dropped_mask, any_dropped: bool) -> dict[str, int]:
    """Customers whom cleaning removes entirely (every line of theirs dropped), per dropping rule.

    A customer counts under each rule that took at least one of their lines, so the figures may add up to
    more than ``total`` (the customers removed by all rules together). One pass grouped by customer, only
    when some rule dropped a line.
    """
    if not any_dropped or not dropping_masks:
        return {"total": 0}
    named = t.filter(t.customer_id.notnull() & (t.customer_id != ""))
    per = named.group_by("customer_id").aggregate(
        kept=dropped_mask.ifelse(0, 1).sum(),
        **{f"c{k}": m.fill_null(False).ifelse(1, 0).max() for k, m in enumerate(dropping_masks)})
    gone = per.filter(per.kept == 0)
    row = con.to_pandas(gone.aggregate(total=gone.count(), **{f"c{k}": gone[f"c{k}"].sum()
                                                                 for k in range(len(dropping_masks))})).iloc[0]
    return {k: int(v) for k, v in row.fillna(0).items()}




def _clean_signups(customers: pd.DataFrame, rule: str, *, today: Any = None) -> tuple[pd.DataFrame, dict | None, str]:
    """Member sign-up dates no member can have: before :data:`EARLIEST_SIGNUP` (a placeholder such as 1900-01-01)
    or after today (a date in the future, 2031). They would enter membership years as decades or as negative
    years; ``blank`` leaves the date empty (the member stays; membership years leave them out), ``keep`` keeps
    them, ``error`` stops the load.

    Returns
    -------
    (customers, report row or None, one line for the log ('' when nothing was found))
    """
    if customers is None or "signup_date" not in customers.columns or rule == "keep":
        return customers, None, ""
    dates = pd.to_datetime(customers["signup_date"], errors="coerce")
    today = pd.Timestamp(today if today is not None else pd.Timestamp.now().normalize())
    early, future = dates < pd.Timestamp(EARLIEST_SIGNUP), dates > today
    odd = early | future
    n = int(odd.sum())
    row = {"rule": f"implausible sign-up dates (before {EARLIEST_SIGNUP} or after {today.date()}): membership years "
                   "leave them out", "action": rule if n else "none found", "rows_found": n, "rows_removed": 0,
           "sales_removed": 0.0, "customers_removed": 0}
    if not n:
        return customers, row, ""
    shown = ", ".join(str(d.date()) for d in sorted(set(dates[odd]))[:3])
    line = (f"customers: {n:,} member sign-up date(s) before {EARLIEST_SIGNUP} or after today ({int(early.sum()):,} "
            f"early, {int(future.sum()):,} in the future; e.g. {shown})")
    if rule == "error":
        raise DataError(f"{line}: no member can have joined then; correct them in the member export, or set "
                        "cleaning.implausible_signups: blank to leave them out of membership years")
    out = customers.copy()
    out["signup_date"] = dates.where(~odd)
    return out, row, (f"{line} are blanked: membership years leave them out (cleaning.implausible_signups: keep "
                      "keeps them)")
