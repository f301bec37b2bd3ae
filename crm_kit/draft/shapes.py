"""The shop platforms' export shapes: an orders file paired with its lines, statuses that are or are not
purchases, returns (a prefix, a line type) and refunds.

The path's **decide** room across tables (:func:`draft_shapes`): it writes the shared data-spec keys ``orders``,
``cleaning.statuses``, ``cleaning.return_prefix`` and ``cleaning.return_types`` with the counts they rest on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..store.spec import CANONICAL_COLUMNS
from .profiles import Profile, TableDraft, _as_profile
from .roles import _category_keys, _header_score, _map_table
from .table import _transactions_choices

__all__ = ["NOT_PURCHASE_STATUSES", "PURCHASE_STATUSES", "RETURN_TYPE_WORDS", "draft_shapes"]


#: status words that mean a real purchase, in the languages shops use (compared trimmed, lower-cased)
PURCHASE_STATUSES = (
    "paid", "completed", "complete", "fulfilled", "partially fulfilled", "partially_fulfilled", "delivered", "shipped",
    "processing", "success", "succeeded", "successful", "settled", "closed", "done", "captured", "authorized",
    "partially refunded", "partially_refunded", "ready for pickup", "picked up", "in transit",
    "awaiting fulfillment", "awaiting shipment", "awaiting pickup", "partially shipped",
    "sales order", "locked", "confirmed", "invoiced", "fully invoiced", "posted", "sale", "売上",
    "已完成", "交易成功", "已付款", "已支付", "已发货", "已签收", "已收货", "待发货", "待收货", "交易完成", "已成交",
    "卖家已发货", "买家已付款", "等待卖家发货", "等待买家确认收货",
    "bezahlt", "abgeschlossen", "versandt", "versendet", "geliefert", "zugestellt", "erledigt", "in bearbeitung",
    "payé", "payée", "paye", "terminé", "terminée", "expédié", "expédiée", "livré", "livrée", "en cours",
    "paiement accepté", "paiement effectué", "en cours de préparation", "en cours de livraison",
    "pagado", "pagada", "completado", "completada", "enviado", "enviada", "entregado", "entregada", "procesando",
    "opłacone", "oplacone", "wysłane", "wyslane", "gotowe do wysyłki", "gotowe do wysylki", "zrealizowane",
    "dostarczone", "w realizacji", "発送待ち",
    "支払済み", "支払い済み", "入金済み", "完了", "取引完了", "発送済み", "出荷済み", "配達済み", "配送済み", "完成")
#: status words that mean no purchase (cancelled, refunded, voided, failed, unpaid...)
NOT_PURCHASE_STATUSES = (
    "cancelled", "canceled", "refunded", "voided", "void", "failed", "unpaid", "pending", "pending payment",
    "pending_payment", "awaiting payment", "not paid", "incomplete", "abandoned", "declined", "expired", "returned", "chargeback", "rejected",
    "draft", "on-hold", "on hold", "trash", "deleted", "open", "quotation", "quotation sent", "cancel",
    "已取消", "交易关闭", "已关闭", "待付款", "未付款", "待支付", "已退款", "退款成功", "退款完成", "已失效", "支付失败",
    "已作废", "作废", "等待买家付款", "等待付款", "待买家付款",
    "storniert", "erstattet", "rückerstattet", "fehlgeschlagen", "unbezahlt", "abgebrochen", "zahlung ausstehend",
    "annulé", "annulée", "annule", "remboursé", "remboursée", "échoué", "échouée", "impayé", "impayée",
    "en attente de paiement", "en attente", "en attente de paiement par chèque", "en attente de virement bancaire",
    "en attente de paiement à la livraison", "erreur de paiement",
    "cancelado", "cancelada", "reembolsado", "reembolsada", "fallido", "fallida", "no pagado", "impago",
    "pendiente de pago", "anulado", "anulada", "en espera", "pendiente", "pago pendiente", "devuelta", "devuelto",
    "anulowane", "nieopłacone", "nieoplacone", "zwrócone", "zwrocone", "キャンセル確定", "発送前入金待ち", "入金待ち",
    "キャンセル", "キャンセル済み", "返金済み", "未払い", "未入金", "支払い待ち", "失敗", "取消")
#: a purchase word that means refunded in full when a platform's other word for a finished sale is beside it:
#: Magento's "Closed" (an order refunded by credit memo, nothing left to ship or refund) beside its "Complete"
#: (shipped and invoiced); alone, "closed" is a till's finished sale (Lightspeed's CLOSED receipts)
REFUNDED_BESIDE = {"closed": ("complete",)}
#: line-type words that mark a return or refund
RETURN_TYPE_WORDS = ("return", "returns", "returned", "refund", "refunded", "retour", "retoure", "rückgabe",
                     "gutschrift", "remboursement", "devolución", "devolucion", "reembolso", "退货", "退款", "退货单",
                     "退款单", "返品", "返金", "credit note", "creditnote", "credit memo")
#: order-id prefixes that mark a return order (followed by a separator or a digit)
_RETURN_PREFIX = re.compile(r"^((?:RET|RTN|RMA|RETURN|REFUND|RF|RE|TH|退货|退)[-_#]?)(?=[0-9A-Za-z])", re.IGNORECASE)


def _order_column(t: TableDraft) -> str | None:
    """The column of a table that holds order numbers: its mapped order_id, else one whose header says so."""
    if t.columns.get("order_id"):
        return t.columns["order_id"]
    heads = [(_header_score("transactions", "order_id", c), c) for c in (t.profile.columns if t.profile else ())]
    heads = [h for h in heads if h[0] >= 3.0]
    return max(heads)[1] if heads else None


def _profiles(t: TableDraft) -> dict[str, Profile]:
    return {c: _as_profile(p) for c, p in t.profile.columns.items()}


def _ids(t: TableDraft, column: str):
    """A table's values of one column as ``v``, trimmed, blanks left out (an Ibis expression over all rows)."""
    value = t.relation[column].cast("string").strip()
    return t.relation.select(v=value).filter(value.notnull() & (value != ""))


def _value_counts(t: TableDraft, column: str, limit: int = 200) -> pd.Series:
    """Every distinct value of a column over all rows (trimmed) with its count, most frequent first."""
    import ibis

    values = _ids(t, column)
    frame = values.group_by("v").aggregate(n=values.count()).order_by(ibis.desc("n")).limit(limit).execute()
    return pd.Series(frame["n"].to_numpy(), index=frame["v"].astype(str), dtype="int64")


def _pair_orders(tables: list[TableDraft]) -> tuple[TableDraft, TableDraft, str, str] | None:
    """An orders file and its lines file: two tables sharing order numbers, one row per order in the first.

    Decided over all rows: the orders file holds each order number once, the
    lines file repeats some, and at least 30 % of the lines' order numbers are
    in the orders file (a semi-join in the engine).
    """
    found = []
    candidates = [t for t in tables if t.role in ("transactions", "products", "customers") and t.relation is not None]
    for a in candidates:
        for b in candidates:
            if a is b:
                continue
            ca, cb = _order_column(a), _order_column(b)
            if not ca or not cb:
                continue
            pa, pb = a.profile[ca], b.profile[cb]
            if not pa.values or not pb.values or pa.distinct != pa.values or pb.distinct == pb.values:
                continue  # the orders file holds each order once; the lines file repeats some
            distinct_b = _ids(b, cb).distinct()
            ids_a = _ids(a, ca)
            shared = int(distinct_b.semi_join(ids_a, "v").count().execute())
            share = shared / max(pb.distinct, 1)
            if share >= 0.3:
                found.append((share, a, b, ca, cb))
    if not found:
        return None
    _share, orders, lines, co, cl = max(found, key=lambda f: f[0])
    return orders, lines, co, cl


def _status_words(counts: pd.Series) -> tuple[bool, float]:
    """Whether a status column's values hold both purchase and non-purchase words, and the share of rows they cover."""
    words = counts.index.str.strip().str.lower()
    buy, not_buy = int(counts[words.isin(PURCHASE_STATUSES)].sum()), int(counts[words.isin(NOT_PURCHASE_STATUSES)].sum())
    return bool(buy and not_buy), (buy + not_buy) / max(int(counts.sum()), 1)


def _best_status(t: TableDraft, column: str) -> str:
    """Of the columns whose header names a status (a payment's, a fulfilment's...), the one whose values decide.

    A column holding both purchase and non-purchase words over more of the rows wins; the column mapped by its
    header keeps a tie (Wix writes "Fulfillment status" Fulfilled / Not fulfilled before "Payment status" Paid /
    Refunded / Canceled / Not paid: the payment's says which orders are purchases).
    """
    taken = {v for k, v in t.columns.items() if k != "status" and isinstance(v, str)}
    others = [c for c in (t.profile.columns if t.profile else ()) if c != column and c not in taken
              and _header_score("transactions", "status", c) >= 3.0]
    if not others:
        return column
    return max([column] + others, key=lambda c: _status_words(_value_counts(t, c)))


def _status_choice(draft: TableDraft, counts: pd.Series, where: str) -> bool:
    """``cleaning.statuses`` drafted from a status column's values; unknown values left as a commented choice."""
    counts = counts.groupby(counts.index.str.lower()).sum()  # compared trimmed, any case: one entry each
    buy, not_buy, unknown = [], [], []
    for value, n in counts.items():
        key = str(value)
        (buy if key in PURCHASE_STATUSES else not_buy if key in NOT_PURCHASE_STATUSES else unknown).append(
            (key, int(n)))
    if not buy and not not_buy:
        return False
    words = {v for v, _ in buy}
    for word, beside in REFUNDED_BESIDE.items():
        if word in words and words & set(beside):
            moved = [(v, n) for v, n in buy if v == word]
            buy, not_buy = [b for b in buy if b[0] != word], not_buy + moved
            draft.notes.append(f"statuses: {word} ({moved[0][1]:,}) beside {', '.join(sorted(words & set(beside)))} "
                               f"is an order refunded in full (Magento closes an order when a credit memo refunds "
                               "all of it): not a purchase")
    draft.cleaning["statuses"] = {"purchase": [v for v, _ in buy], "not_purchase": [v for v, _ in not_buy]}
    draft.notes.append(f"statuses: from the {where} column's {len(counts)} value(s) over all rows — purchases: "
                       + ", ".join(f"{v} ({n:,})" for v, n in buy) + "; not purchases: "
                       + (", ".join(f"{v} ({n:,})" for v, n in not_buy) or "none"))
    for value, n in unknown:
        draft.undecided.append(f"cleaning.statuses: the status {value or '(blank)'!r} ({n:,} rows) is no known "
                               "purchase or non-purchase word: add it to statuses.purchase or statuses.not_purchase")
    return True


#: the return prefix as the engine's regular expressions write it (longest alternatives first)
_RETURN_PREFIX_SQL = r"(?i)^((?:RETURN|REFUND|RET|RTN|RMA|RF|RE|TH|退货|退)[-_#]?)[0-9A-Za-z]"


def _return_choices(draft: TableDraft, ids: list[tuple[TableDraft, str]], types: tuple[TableDraft, str] | None) -> None:
    """``return_prefix`` when some order ids share a return prefix; ``return_types`` when a type column says return."""
    import ibis

    found: dict[str, int] = {}
    total = 0
    for t, column in ids:
        values = _ids(t, column)
        total += int(values.count().execute())
        prefix = values.v.re_extract(_RETURN_PREFIX_SQL, 1)
        hits = values.select(p=prefix).filter(prefix != "").group_by("p").aggregate(n=ibis._.count()).to_pandas()
        for p, n in zip(hits["p"], hits["n"]):
            found[str(p).upper()] = found.get(str(p).upper(), 0) + int(n)
    count = sum(found.values())
    if count and count < 0.5 * total:
        prefix = max(found, key=found.get)
        draft.cleaning["return_prefix"] = prefix
        draft.cleaning.setdefault("returns", "net")
        draft.notes.append(f"return_prefix: {prefix} — {found[prefix]:,} of {total:,} order ids start with it: return "
                           "orders, never visits; returns: net subtracts them on their own date")
    if types is not None:
        counts = _value_counts(*types)
        hits = sorted(v for v in counts.index if str(v).lower() in RETURN_TYPE_WORDS)
        if hits:
            draft.cleaning["return_types"] = hits
            draft.cleaning.setdefault("returns", "net")
            draft.notes.append(f"return_types: {hits} — the line type marks returns ({int(counts[hits].sum()):,} "
                               "lines); returns: net subtracts them on their own date")


def _row_refunds(lines: TableDraft, *, alone: bool) -> None:
    """Refunds written on the rows: an orders-level file's refunded money, a line's returned units (all rows counted).

    A file of one row per order (each order id once) read as the line items,
    with a column an orders file's refunded money would be read from (Total
    Refunded, 退款金额...), maps it as ``transactions.refunded``: the order's
    refund, which ``returns: net`` subtracts on the order's date. A line file
    repeats its order ids and may repeat the order's refund on each line, so
    it is left unread there (an orders table carries it). Returned units
    (``returned_quantity``) are counted, and make ``returns: net``.
    """
    m = lines.columns
    oid = m.get("order_id")
    if alone and oid and "refunded" not in m and lines.profile is not None:
        ids = lines.profile[oid]
        found, ev, _ = _map_table("orders", _profiles(lines))
        column = found.get("refunded")
        if column and ids.values and ids.distinct < ids.values and lines.profile[column].values == ids.distinct:
            # written on one row of each order (Allegro's Kwota zwrotu on an order's first row, blank on the others):
            # the order's refund, if every order has it on exactly one row (counted over all rows)
            value = lines.relation[column].cast("string").strip()
            orders = lines.relation.filter(value.notnull() & (value != ""))[oid].nunique().execute()
            if int(orders) == ids.distinct and column not in m.values():
                m["refunded"] = column
                lines.evidence["refunded"] = (f"{ev['refunded']}; written on one row of each of the {ids.distinct:,} "
                                              "orders, blank on their other rows: the order's refunded money")
        if ids.values and ids.distinct == ids.values:
            carried = "order_id" in (lines.options.get("fill_down") or [])
            if carried and column and lines.profile[column].values > ids.values:
                column = None  # the order id is written once per order, the refund more often: repeated per line
            if column and column not in m.values():
                m["refunded"] = column
                where = (f"written once per order, on its first row ({ids.values:,} order ids, each once; the id is "
                         "carried down to the order's other rows, the refund is not)" if carried else
                         f"the file holds one row per order ({ids.values:,} order ids, each once)")
                lines.evidence["refunded"] = f"{ev['refunded']}; {where}: the order's refunded money"
    for col, what in (("refunded", "row(s) have money refunded"), ("returned_quantity", "line(s) have units returned")):
        if not m.get(col) or lines.profile is None:
            continue
        c = lines.profile[m[col]]
        n = c.values - c.zero
        if n > 0:
            lines.cleaning.setdefault("returns", "net")
            share = "the money" if col == "refunded" else "amount x returned / quantity"
            lines.notes.append(f"returns: net — {n:,} of {c.values:,} {what} ({m[col]}): net sales subtract {share} "
                               "on the row's date (drop leaves it out)")
        else:
            lines.notes.append(f"{m[col]}: zero on every row — no refund written there")


def _drop_undecided(t: TableDraft, columns: Sequence[str]) -> None:
    t.undecided = [u for u in t.undecided if not any(u.startswith(f"{t.role}.{c}:") or
                                                     u.startswith(f"transactions.{c}:") or
                                                     u.startswith(f"products.{c}:") for c in columns)]


def draft_shapes(tables: list[TableDraft]) -> list[TableDraft]:
    """The shop shapes in drafted tables: an orders file paired with its lines, statuses and returns drafted.

    An orders file (one row per order: customer, time, status, total) and a
    lines file (order number, product, quantity, line total; no customer) are
    told apart by the order numbers they share: the lines file is no
    catalogue. The status column's values become ``cleaning.statuses``
    (known purchase and non-purchase words in English, Chinese, German,
    French, Spanish and Japanese; an unknown one is left as a choice, with
    one line); a return prefix on order ids and return values of a line type
    become ``return_prefix`` and ``return_types``.
    """
    paired = _pair_orders(tables)
    if paired is not None:
        orders, lines, co, cl = paired
        oprof, lprof = _profiles(orders), _profiles(lines)
        mapping, ev, _ = _map_table("orders", oprof)
        mapping["order_id"], ev["order_id"] = co, f"{co} — the order number the lines file shares"
        if "ts" not in mapping:  # no header says it: the column that reads as times
            times = [(p.timestamp, c) for c, p in oprof.items() if c not in mapping.values()]
            best = max(times, default=(0.0, None))
            if best[0] >= 0.95:
                mapping["ts"], ev["ts"] = best[1], f"{best[1]} — by content alone; {best[0]:.0%} read as times"
        orders.role, orders.columns, orders.evidence = "orders", mapping, ev
        _category_keys(orders, oprof)
        lmap, lev, _ = _map_table("transactions", lprof)
        for col in ("customer_id", "ts", "status"):
            if col in mapping and col in lmap:  # written once per order: read from the orders file
                lmap.pop(col), lev.pop(col, None)
        lmap["order_id"], lev["order_id"] = cl, f"{cl} — joined to tables.orders by it"
        lines.role, lines.columns, lines.evidence = "transactions", lmap, lev
        _transactions_choices(lines, lprof)
        _drop_undecided(orders, list(CANONICAL_COLUMNS["transactions"]) + list(CANONICAL_COLUMNS["products"]))
        _drop_undecided(lines, list(CANONICAL_COLUMNS["transactions"]) + list(CANONICAL_COLUMNS["products"]))
        lines.notes.append(f"orders and lines: {Path(orders.path).name} holds one row per order, "
                           f"{Path(lines.path).name} its lines, joined by the order number")
        tables = [orders] + [t for t in tables if t is not orders]
    lines = next((t for t in tables if t.role == "transactions"), None)
    if lines is None:
        return tables
    orders = next((t for t in tables if t.role == "orders"), None)
    _row_refunds(lines, alone=orders is None)
    for t in ([orders] if orders is not None else []) + [lines]:
        kind = t.columns.get("line_type")
        if kind and not t.columns.get("status") and "statuses" not in lines.cleaning:
            # one column with sales, voids and returns (売上 / 取消 / 返品): its void words make it the status too
            counts = _value_counts(t, kind)
            words = counts.index.str.strip().str.lower()
            asked = counts[~words.isin(RETURN_TYPE_WORDS)]
            if asked.index.str.strip().str.lower().isin(NOT_PURCHASE_STATUSES).any() and \
                    _status_choice(lines, asked, f"{t.role} table's {kind}"):
                t.columns["status"] = kind
                t.evidence["status"] = f"{kind} — its values name voided or cancelled sales, besides the returns"
                continue
        if t.columns.get("status") and "statuses" not in lines.cleaning:
            column = _best_status(t, t.columns["status"])
            if column != t.columns["status"]:
                lines.notes.append(f"status: {column}, not {t.columns['status']}: its values tell purchases from "
                                   "non-purchases (paid, refunded, cancelled...)")
                t.columns["status"] = column
                t.evidence["status"] = f"{column} — by its header, and its values are purchase and non-purchase words"
            if not _status_choice(lines, _value_counts(t, column), f"{t.role} table's {column}"):
                # no value reads as a purchase status: not the orders' status (a region's 'state'...), left unread
                t.columns.pop("status"), t.evidence.pop("status", None)
                lines.notes.append(f"{column}: no value reads as an order status (paid, cancelled...): not read")
    ids = [(t, t.columns["order_id"]) for t in ([lines] + ([orders] if orders is not None else []))
           if t.columns.get("order_id")]
    types = next(((t, t.columns["line_type"]) for t in [lines, orders] if t is not None and t.columns.get("line_type")),
                 None)
    _return_choices(lines, ids, types)
    if orders is not None and orders.columns.get("refunded"):
        c = orders.profile[orders.columns["refunded"]]
        refunded = c.values - c.zero
        if refunded > 0:
            lines.cleaning.setdefault("returns", "net")
            lines.notes.append(f"returns: net — {refunded:,} order(s) have money refunded "
                               f"({orders.columns['refunded']}): net sales subtract it on the order's date (drop leaves "
                               "it out)")
    for t in tables:
        if "return_prefix" in lines.cleaning and t.cleaning.get("cancellation_prefix") and \
                str(lines.cleaning["return_prefix"]).upper().startswith(str(t.cleaning["cancellation_prefix"]).upper()):
            t.cleaning.pop("cancellation_prefix")  # 'R' + digits read as a cancellation is the return prefix
    return tables
