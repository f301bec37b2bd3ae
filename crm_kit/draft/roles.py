"""Deciding what each column is: a canonical column by header and by content, personal fields, the customer's
key, and the file's kind (line items, members, products, a contact list, an outcome table).

The path's **decide** room (sniff → profile → decide → read → cast) for one table's columns: a header matching
:data:`~crm_kit.draft.synonyms.SYNONYMS` whose content does not fit is refused; a personal column (a name, a
phone) is named and never mapped; a column with too few values for its orders is a category, not who bought
(:func:`few_keys`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..store.profile import TableProfile
from ..store.spec import CANONICAL_COLUMNS
from .profiles import Profile, TableDraft, _as_profile
from .synonyms import PERSONAL_SYNONYMS, SYNONYMS, _norm

__all__ = ["KEY_HANDFUL", "KEY_MIN_SHARE", "KEY_ORDERS_PER_VALUE", "few_keys"]


def _content_fit(kind: str, canon: str, p: Profile) -> float:
    """How well a column's content fits a canonical column (0: not at all)."""
    if p.values == 0:
        return 0.0
    if kind == "timestamp":
        return p.timestamp if p.timestamp >= 0.9 else 0.0
    if kind == "number":
        if p.number < 0.95:
            return 0.0
        if canon == "quantity":
            if p.zero >= 1.0:
                return 0.0  # zero on every row counts nothing (a discount column, a tip never given)
            return 1.0 if p.integer > 0.95 else 0.4
        if canon in ("amount", "unit_price"):
            if p.zero >= 1.0:
                return 0.0  # zero on every row is no sales (a tax or a tip never charged)
            return 1.0 if (p.decimals > 0.2 or p.money_signs or p.integer < 0.9) else 0.6
        return 1.0
    if kind == "bool":
        return 1.0 if p.flag > 0.95 else 0.0
    if kind == "id":
        if p.timestamp >= 0.9 and p.idlike < 0.5:
            return 0.0
        if p.values > 1 and p.distinct_count <= 1:
            return 0.0  # one value on every row is no key
        return 0.5 + 0.5 * p.idlike
    return 0.7  # text fits anything written


#: a header naming a person: a person's word followed by "name" (Customer Name, Bill-to Name, Kundenname)
_PERSON_WORDS = ("customer", "buyer", "client", "member", "billto", "shipto", "recipient", "contact", "employee",
                 "cashier", "server", "staff", "seller", "kunde", "kunden", "debitor", "客户", "顾客", "会员", "买家",
                 "收货人", "顧客", "会員")


def _personal_header(header: Any) -> bool:
    """Whether a header names personal data (a person's name, phone, email...): never mapped to a kit column."""
    h = _norm(header)
    if h in {_norm(x) for x in PERSONAL_SYNONYMS}:
        return True
    if h in {_norm(x) for x in SYNONYMS["transactions"]["customer_id"]}:
        return False  # a platform's member name that is its customer key (买家会员名), not a person's name
    return h.endswith(("name", "名")) and h.startswith(_PERSON_WORDS)


def _header_score(table: str, canon: str, header: str) -> float:
    names = SYNONYMS.get(table, {}).get(canon, ())
    h = _norm(header)
    normed = [_norm(x) for x in names]
    if h in normed:
        return 3.0
    inside = [x for x in normed if len(x) >= 3 and (x in h) and (not x.isascii() or len(x) >= 4)] if h else []
    if inside:
        # a header holding synonyms; the more of it they cover, the likelier (a near tie only: 'Lineitem quantity'
        # holds 'item' and 'quantity', and is the quantity; 'amountTotal' is all synonyms, 'amountNet' (net of tax)
        # only in part, and the total is the amount)
        covered = set()
        for x in inside:
            start = h.find(x)
            while start >= 0:
                covered.update(range(start, start + len(x)))
                start = h.find(x, start + 1)
        return 1.5 + 0.05 * len(covered) / len(h)
    return 0.0


#: a header ending in one of these is a person's contact (a customer key at most, never anything else)
_CONTACT_TAILS = ("email", "emailaddress", "mail", "phone", "phonenumber", "mobile", "telephone", "tel", "手机号",
                  "手机", "电话", "联系电话", "邮箱", "correo", "correoelectrónico", "correoelectronico", "courriel",
                  "emailadresse", "mailadresse", "teléfono", "telefono", "téléphone", "telefon", "邮箱地址",
                  "メールアドレス", "電話番号")
#: a header ending in one of these is a person's name or address: never mapped to any column of the kit
_PERSON_TAILS = ("firstname", "lastname", "fullname", "givenname", "surname", "familyname", "address", "address1",
                 "address2", "street", "postcode", "zipcode", "postalcode", "birthday", "birthdate", "姓名", "地址",
                 "收货人", "提货人", "昵称", "名字")
#: '<role> name' is a person's name (Bill-to Name, Buyer Name, Customer Name, Recipient Name...)
_PERSON_NAME = re.compile(r"(customer|buyer|billto|billing|shipto|shipping|recipient|receiver|client|contact|member"
                          r"|kunde|käufer|empfänger|cliente|destinataire|destinatario|acheteur|comprador)name$")


def _personal_kind(header: Any) -> str | None:
    """'contact' (an email or phone: a customer key at most), 'person' (a name, an address: never mapped) or None."""
    h = _norm(header)
    if h in {_norm(x) for x in PERSONAL_SYNONYMS if x not in ("name", "email", "mail", "phone", "mobile", "tel",
                                                             "telephone", "手机", "手机号", "电话", "联系电话", "邮箱")}:
        return "person"
    if h.endswith(_PERSON_TAILS) or _PERSON_NAME.search(h):
        return "person"
    if h.endswith(_CONTACT_TAILS):
        return "contact"
    return None


def _person_names(header: Any, p: Profile) -> bool:
    """Whether a column a header names as the customer holds people's names, over all rows (personal: never a key).

    'Cliente' or 'Client' filled with 'David Wilson', 'J. SMITH': at least 90 % of the values are two to four
    words, each starting with a capital letter, with no digit (:data:`crm_kit.store.profile.ColumnProfile.namelike`).
    A name is no key: two customers share one, one customer writes it two ways, and it is personal data.
    """
    c = p.column
    if c is None or not c.values or c.distinct <= 1 or _header_score("transactions", "customer_id", header) == 0:
        return False
    return c.namelike >= 0.9 * c.values


#: a customer key names who bought, so it has many values: a column with at most this many distinct values, each
#: on :data:`KEY_ORDERS_PER_VALUE` orders or more on average, is a category (new / returning, a tier, a till) ...
KEY_HANDFUL = 12
KEY_ORDERS_PER_VALUE = 25
#: ... and so is one with fewer distinct values than this share of the orders (40 values over 100,000 orders: a
#: store or a region), however many values it has
KEY_MIN_SHARE = 0.001


def few_keys(distinct: int, orders: int) -> bool:
    """Whether a column of ``distinct`` values over ``orders`` orders (lines when there is no order id) is a category,
    not a customer key: init never drafts it as ``customer_id`` (a user who knows better maps it by hand).

    A handful of values (at most :data:`KEY_HANDFUL`) each on :data:`KEY_ORDERS_PER_VALUE` orders or more on
    average, or fewer distinct values than :data:`KEY_MIN_SHARE` of the orders. A shop's customers are many: the
    UCI Online Retail II data has 5,942 customers over 53,628 invoices (0.11), the Complete Journey 2,500
    households over 276,484 baskets (0.009); 'Nuevo' / 'Recurrente' over 749 orders is who is new, not who bought.

    >>> few_keys(2, 749)       # Nuevo / Recurrente
    True
    >>> few_keys(60, 749)
    False
    >>> few_keys(3, 12)        # a tiny file: three customers are not yet a category
    False
    >>> few_keys(40, 100_000)  # a store or a region
    True
    """
    if distinct <= 1:
        return orders > 1
    return (distinct <= KEY_HANDFUL and orders >= KEY_ORDERS_PER_VALUE * distinct) or distinct < KEY_MIN_SHARE * orders


def _category_keys(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """A customer_id whose column has too few values for its orders (:func:`few_keys`) is unmapped, with the reason
    kept for init's message; the next column a header names as the customer is tried the same way."""
    m = draft.columns
    refused: set[str] = set()
    while m.get("customer_id"):
        column = m["customer_id"]
        p = profiles[column]
        oid = m.get("order_id")
        orders = profiles[oid].distinct_count if oid and oid in profiles else p.values
        if not few_keys(p.distinct_count, orders):
            return
        shown = [v for v, _k in (p.column.top if p.column is not None else [])][:4]
        what = "orders" if oid and oid in profiles else "lines"
        draft.rejected_keys.append(f"{column!r} has {p.distinct_count:,} value(s) ({', '.join(shown)}) over "
                                   f"{orders:,} {what}: a category, not who bought")
        draft.rejected_key_columns.append(column)
        refused.add(column)
        m.pop("customer_id"), draft.evidence.pop("customer_id", None)
        rest = {h: q for h, q in profiles.items() if h not in refused and h not in m.values()}
        found, ev, _ = _map_table(draft.role, rest)
        if found.get("customer_id") and _header_score(draft.role, "customer_id", found["customer_id"]):
            m["customer_id"], draft.evidence["customer_id"] = found["customer_id"], ev["customer_id"]


def _customer_columns(t: TableDraft) -> list[str]:
    """The columns of a table that name the customer but are personal (a name), for init's message."""
    if t.profile is None:
        return []
    out = []
    for c in t.profile.columns:
        h = _norm(c)
        if c in (t.columns or {}).values():
            continue
        named = _header_score("transactions", "customer_id", c) > 0 or _PERSON_NAME.search(h) is not None
        if named and (_personal_header(c) or _personal_kind(c) == "person" or _person_names(c, _as_profile(t.profile[c]))):
            out.append(str(c))
    return out


def _no_customer_key(tables: list[TableDraft]) -> None:
    """Stop init in one line when line items have no usable customer key: naming what was found and the fix."""
    lines = next((t for t in tables if t.role == "transactions"), None)
    if lines is None or not lines.rows:
        return  # a header-only file: what is missing is left as a choice
    orders = next((t for t in tables if t.role == "orders"), None)
    if lines.columns.get("customer_id") or (orders is not None and orders.columns.get("customer_id")):
        return
    mine = [t for t in (orders, lines) if t is not None]
    names = [c for t in mine for c in _customer_columns(t)]
    refused = [r for t in mine for r in t.rejected_keys]
    found = []
    if names:
        quoted = ", ".join(repr(n) for n in names)
        found.append(f"the only customer column{'s are' if len(names) > 1 else ' is'} a name ({quoted}: personal "
                     "data, never used as a key)" if not refused else
                     f"the customer is named only by a name ({quoted}: personal data, never used as a key)")
    found += refused
    for t in mine:
        for c, q in (t.profile.columns.items() if t.profile is not None else ()):
            if not found and _header_score("transactions", "customer_id", c) >= 3.0 and q.distinct <= 1:
                found.append(f"{c!r} is " + (f"{q.top[0][0]!r} on every row" if q.values else "blank on every row")
                             + ": it identifies nobody")
    if not found:
        shown = ", ".join(map(str, list(lines.profile.columns)[:12])) if lines.profile is not None else ""
        found.append(f"no column names the customer (columns: {shown})")
    where = ", ".join(Path(t.path).name for t in mine)
    # a wholesaler's few accounts with many orders each look like a category: the way to say they are customers
    # (not offered when a name column shows who bought: then the refused column is surely not the customer)
    refused_columns = [c for t in mine for c in t.rejected_key_columns]
    by_hand = (f"; if {refused_columns[0]!r} does name each customer (a few accounts with many orders each), map it "
               "as customer_id in a data spec written by hand and read it with crm-kit check"
               if refused_columns and not names else "")
    raise DataError(f"{where}: no customer key — {'; '.join(found)}. The kit counts buyers and visits by a "
                    "customer's id: re-export with the customer id or the customer's email (an email is read "
                    f"hashed, never kept), then run crm-kit init again{by_hand}")


def _map_table(table: str, profiles: dict[str, Profile]) -> tuple[dict, dict, float]:
    """Each canonical column's source column with its evidence, and how much of the table the mapping explains."""
    canon = CANONICAL_COLUMNS[table]
    candidates = []
    for col, (required, kind) in canon.items():
        for h, p in profiles.items():
            personal = _personal_kind(h)
            if personal == "person" or (personal == "contact" and col != "customer_id"):
                continue  # a person's name, address, email or phone is never an order, a product, a label...
            if table in ("transactions", "orders") and _personal_header(h):
                continue  # a person's name is no description, order or customer id
            if _person_names(h, p):
                continue  # a customer column written as people's names ('David Wilson'): personal, never a key
            fit = _content_fit(kind, col, p)
            head = _header_score(table, col, h)
            if fit == 0 or (head == 0 and not required):
                continue
            score = head + fit + (0.2 if required else 0.0)
            if head == 0:
                score = _content_only(table, col, p)
                if score == 0:
                    continue
            candidates.append((score, col, h))
    candidates.sort(key=lambda t: -t[0])
    mapping: dict[str, str] = {}
    evidence: dict[str, str] = {}
    used: set[str] = set()
    for score, col, h in candidates:
        if col in mapping or h in used:
            continue
        mapping[col], used = h, used | {h}
        p = profiles[h]
        how = "by its header" if _header_score(table, col, h) else "by content alone"
        evidence[col] = f"{h} — {how}; {_describe(canon[col][1], p)}"
    explained = len(used) / max(len(profiles), 1)
    return mapping, evidence, explained


def _content_only(table: str, col: str, p: Profile) -> float:
    """A score for a required column found by content alone (no header says so)."""
    if table != "transactions":
        return 0.0
    if col == "ts" and p.timestamp >= 0.95:
        return 1.1 + 0.1 * p.filled  # a time on every row before one on some (Created at before Paid at)
    if col == "amount" and p.number > 0.97 and (p.decimals > 0.3 or p.money_signs) and p.distinct > 0.01:
        return 0.9
    if col == "quantity" and p.integer > 0.98 and p.distinct < 0.05:
        return 0.5
    return 0.0


def _count(n: float, total: int) -> str:
    return f"{int(round(n)):,} of {total:,}"


def _describe(kind: str, p: Profile) -> str:
    """A column's evidence over all its values, in words."""
    n = p.values
    if kind == "timestamp":
        layout = p.ts_format or "the reader's own layouts (ISO, year first)"
        return f"{_count(p.timestamp * n, n)} values parse as {layout}" + (f" ({p.ts_note})" if p.ts_note else "")
    if kind == "number":
        extra = []
        if p.column is not None and p.column.currencies:
            extra.append("currency " + ", ".join(sorted(p.column.currencies)))
        if p.negative:
            extra.append(f"{_count(p.negative * n, n)} negative")
        if p.zero:
            extra.append(f"{_count(p.zero * n, n)} zero")
        return f"{_count(p.number * n, n)} values parse as numbers" + (f" ({', '.join(extra)})" if extra else "")
    if kind == "bool":
        return f"{_count(p.flag * n, n)} values are flags"
    blank = ""
    if p.column is not None and p.column.rows > n:
        blank = f", {p.column.rows - n:,} blank"
    return f"{n:,} values, {p.distinct_count:,} distinct{blank}"


def _number_options(tprof: TableProfile, mapped: list[str], options: dict[str, Any], evidence: list[str]) -> None:
    """The one thousands separator and decimal mark that read every number of the mapped number columns."""
    (thousands, decimal), read, best = tprof.locale(mapped or None)
    if not best:
        return
    if decimal == ",":
        options["decimal"] = ","
    if thousands:
        options["thousands"] = thousands
    shown = {"": "none", " ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow space"}.get(thousands,
                                                                                                     repr(thousands))
    evidence.append(f"numbers: {_count(read, best)} number values read with thousands separator {shown} and decimal "
                    f"mark {decimal!r}")
    signs = {}
    for c in mapped or tprof.columns:
        for sign, k in tprof[c].currencies.items():
            signs[sign] = signs.get(sign, 0) + k
    if signs:
        evidence.append("currency: " + ", ".join(f"{s} on {k:,} values" for s, k in sorted(signs.items(),
                                                                                           key=lambda t: -t[1])))


#: customer ids a shop writes for a guest checkout (no account): a guest when its rows carry no contact
_GUEST_IDS = ("0", "-1", "guest", "gast", "invité", "invitado", "visitante", "walk-in", "walkin", "散客", "匿名", "ゲスト")


def _guest_ids(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """A placeholder customer id for guests (BigCommerce's customer 0): its rows have no contact, the others do.

    Counted over all rows: the most frequent customer id is a guest word or ``0``/``-1``, no row with it carries an
    email or phone, and at least 90 % of the other rows do. It is written as ``guest_ids`` (read as no customer).
    """
    col = draft.columns["customer_id"]
    p = profiles.get(col)
    top = p.column.top if p is not None and p.column is not None else []
    if not top or str(top[0][0]).strip().lower() not in _GUEST_IDS or "customer_id" in draft.options.get("hashed", []):
        return
    contacts = [h for h in profiles if h != col and _personal_kind(h) == "contact"]
    if not contacts:
        return
    rel, guest = draft.relation, str(top[0][0]).strip()
    filled = None
    for h in contacts:
        v = rel[h].cast("string").strip()
        has = v.notnull() & (v != "")
        filled = has if filled is None else (filled | has)
    is_guest = rel[col].cast("string").strip() == guest
    counts = rel.aggregate(g=is_guest.sum(), gc=(is_guest & filled).sum(), o=(~is_guest).sum(),
                           oc=((~is_guest) & filled).sum()).execute().iloc[0]
    g, gc, o, oc = (int(counts[k] or 0) for k in ("g", "gc", "o", "oc"))
    if g and gc == 0 and o and oc >= 0.9 * o:
        draft.options["guest_ids"] = [guest]
        draft.reading.append(f"guest_ids: {col} {guest!r} on {g:,} row(s) that carry no contact ({', '.join(contacts)}), "
                             f"while {oc:,} of the {o:,} other rows do: a guest checkout, read as no customer")


#: a contact hidden by the platform: asterisks in place of digits or letters, or an encryption mark
_MASKED = re.compile(r"\*{3,}|加密|encrypted|verschlüsselt|chiffré|暗号化", re.IGNORECASE)


def _contact_as_key(draft: TableDraft, profiles: dict[str, Profile]) -> None:
    """Line items with no customer column but an email (or phone) on the rows: that contact is the customer's key,
    read hashed (``hashed: [customer_id]``: the reader keeps a digest, never the address)."""
    found = []
    for h, p in profiles.items():
        if _personal_kind(h) != "contact" or p.values == 0 or p.distinct_count <= 1:
            continue
        masked = [v for v, _k in (p.column.top if p.column is not None else ()) if _MASKED.search(str(v))]
        if masked:  # '138****5678', '[加密]9f2c…': a platform's mask, many buyers to one value or one to many
            draft.rejected_keys.append(f"{h!r} is masked by the platform (e.g. {masked[0]!r}): it identifies nobody")
            continue
        email = p.column is not None and any("@" in v for v, _k in p.column.top)
        found.append((email, p.filled, -len(str(h)), h))
    if not found:
        return
    _e, _f, _l, column = max(found)
    p = profiles[column]
    draft.columns["customer_id"] = column
    draft.options["hashed"] = [*draft.options.get("hashed", []), "customer_id"]
    draft.evidence["customer_id"] = (f"{column} — a contact (personal data) and the only customer key on the rows: read "
                                     f"hashed, never the value; {_describe('id', p)}")


def _outcome_table(profiles: dict[str, Profile]) -> dict[str, Any]:
    """A ready per-customer outcome table: one arm column with two values and outcome columns that vary, or ``{}``.

    A column with one value on every row is no outcome (a contact list's
    ``responded: 0`` everywhere is not a result to analyse).
    """
    names = {_norm(c): c for c in profiles}
    arm = next((names[n] for n in ("istreatment", "treatment", "treated", "arm", "group", "variant", "组别", "分组")
                if n in names), None)
    if arm is None or profiles[arm].column is None:
        return {}
    levels = [v.strip() for v, _k in profiles[arm].column.top if v.strip()]
    if profiles[arm].distinct_count != 2 or len(levels) != 2:
        return {}
    control = next((lv for lv in levels if str(lv).lower() in ("0", "control", "holdout", "false", "对照组", "no")), None)
    if control is None:
        return {}
    binary, continuous, pre, attributes = [], [], [], []
    for c, p in profiles.items():
        if c == arm:
            continue
        words = set(re.split(r"[\s_\-]+", str(c).lower()))
        varies = p.distinct_count > 1
        if words & _ATTRIBUTE_WORDS or _norm(c) in _ATTRIBUTE_WORDS:
            attributes.append(c)  # who the customer is, not what the campaign did
        elif (words & _PRE_WORDS) and p.number > 0.99 and p.filled == 1.0 and varies:
            pre.append(c)
        elif p.flag > 0.98 and p.filled == 1.0 and varies:
            binary.append(c)
        elif p.number > 0.99 and p.filled == 1.0 and varies:
            continuous.append(c)
        else:
            attributes.append(c)  # missing values, text, or one value everywhere: no outcome
    if not binary and not continuous:
        return {}
    return {"arm_col": arm, "control": int(control) if str(control).isdigit() else str(control),
            "binary": binary, "continuous": continuous, "pre_period": pre, "attributes": attributes}


#: words of an outcome table's headers that name who a customer is (not an outcome of the campaign)
_ATTRIBUTE_WORDS = {"age", "gender", "sex", "women", "woman", "female", "male", "iswomen", "region", "city", "country",
                    "income", "zip", "zipcode", "segment", "channel", "newbie", "mens", "womens", "性别", "年龄", "地区"}
#: ... and that name behaviour before the campaign (the adjusted lift's covariates)
_PRE_WORDS = {"history", "recency", "pre", "before", "past", "previous", "prior", "tenure", "baseline"}
