"""Writing a draft down: ``data.yaml`` with every guess commented with its evidence, ``run.yaml``, and init's
printed summary.

The end of ``crm-kit init`` (after sniff → profile → decide → check): what the run will read, in the words a user
edits; a choice left open is written as a commented key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import yaml

from ..errors import DataError
from .profiles import Draft, _absolute
from .synonyms import _norm

__all__ = ["data_yaml", "notebook_needs", "run_yaml", "summary_text", "write_draft"]


class _QuotedDumper(yaml.SafeDumper):
    """A YAML emitter writing every string double-quoted: escapes for line breaks and control characters."""


_QuotedDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'))

#: characters a comment shows escaped: line breaks (which would end the comment), control and other characters
#: YAML refuses in a stream, and byte-order marks
_COMMENT_UNSAFE = re.compile("[^\x20-\x7E\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]|[\u2028\u2029\uFEFF]")


def _yaml_value(value: Any) -> str:
    """``value`` as one line of YAML flow text; strings double-quoted, so no file text can end the line."""
    text = yaml.dump(value, Dumper=_QuotedDumper, default_flow_style=True, allow_unicode=True, width=float("inf"))
    text = text.strip().removesuffix("...").strip()
    if "\n" in text or "\r" in text:  # a line break survives only in a bug of the emitter: refuse it
        raise DataError(f"init cannot write {value!r} on one line of YAML; please report it with the file's header")
    return text


def _yaml_key(key: Any) -> str:
    """A mapping key: a plain identifier as it is (``customer_id``), anything else as :func:`_yaml_value` writes it."""
    plain = isinstance(key, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) is not None
    if plain and key.lower() not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null"):
        return key
    return _yaml_value(key)


def _comment(text: Any) -> str:
    """``text`` safe inside a YAML comment: line breaks and control characters shown as escapes (``\\n``)."""
    return _COMMENT_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], str(text))


#: headers of a column naming the money's currency (one ISO code on every row: USD, usd, PLN)
_CURRENCY_HEADERS = ("currency", "currencycode", "ordercurrencycode", "ordercurrency", "waluta", "moneda", "währung",
                     "wahrung", "devise", "valuta", "币种", "货币", "通貨")
#: money columns of the line items and orders whose signs name the currency
_MONEY_COLUMNS = ("amount", "unit_price", "refunded")


def _currency_found(d: Draft) -> tuple[str, str] | None:
    """The currency the data itself names, with its evidence: the one sign or code on the mapped money (zł, €, ￥),
    else the one ISO code of a currency column (Stripe's ``usd``, BigCommerce's Order Currency Code). None invented."""
    mine = [t for t in d.tables if t.role in ("transactions", "orders") and t.profile is not None]
    signs: dict[str, int] = {}
    for t in mine:
        for col in _MONEY_COLUMNS:
            source = t.columns.get(col)
            if isinstance(source, str) and source in t.profile.columns:
                for mark, n in t.profile[source].currencies.items():
                    signs[mark] = signs.get(mark, 0) + n
    if len(signs) == 1:
        (mark, n), = signs.items()
        return mark.strip(), f"{mark.strip()} written on {n:,} money value(s) of the mapped columns"
    if signs:
        return None  # several currencies: none is the data's one
    for t in mine:
        for col, p in t.profile.columns.items():
            if _norm(col) in _CURRENCY_HEADERS and p.values and p.distinct == 1 and p.top and \
                    re.fullmatch(r"[A-Za-z]{3}", str(p.top[0][0]).strip()):
                code = str(p.top[0][0]).strip().upper()
                return code, f"{col} is {p.top[0][0]!r} on all {p.values:,} filled row(s)"
    return None


def _spec_of(d: Draft) -> dict[str, Any]:
    """The data spec ``data_yaml`` writes, as data: what its text must read back as, and nothing more."""
    spec: dict[str, Any] = {"tables": {}}
    for t in d.tables:
        if t.role == "outcomes":
            continue
        path = _absolute(t.path)
        spec["tables"][t.role] = {"path": path, **t.options, "columns": dict(t.columns)}
    cleaning = {k: v for t in d.tables for k, v in t.cleaning.items()}
    if cleaning:
        spec["cleaning"] = cleaning
    found = _currency_found(d)
    if found:
        spec["currency"] = found[0]
    return spec


def data_yaml(d: Draft) -> str:
    """The data spec as YAML text, every choice commented with its evidence.

    Every value is written by a YAML emitter (strings double-quoted) and every comment has its line breaks and
    control characters escaped, so a header or file name cannot end its line and add a key; the text is read
    back and must give exactly the spec drafted, else nothing is written.
    """
    out = ["# Data spec drafted by crm-kit init from every row of each file. Every guess says why; check them, then",
           "# `crm-kit check` reads the whole data with it.", "tables:"]
    spec = _spec_of(d)
    for t in d.tables:
        if t.role == "outcomes":
            continue
        out.append(f"  {t.role}:")
        out.append(f"    path: {_yaml_value(spec['tables'][t.role]['path'])}")
        for ev in t.reading:
            out.append(f"    # {_comment(ev)}")
        for key, value in t.options.items():
            out.append(f"    {_yaml_key(key)}: {_yaml_value(value)}")
        out.append("    columns:" + (" {}" if not t.columns else ""))
        for col, source in t.columns.items():
            why = t.evidence.get(col, "")
            out.append(f"      {_yaml_key(col)}: {_yaml_value(source)}" + (f"   # {_comment(why)}" if why else ""))
        for name in t.personal:
            out.append(f"      # {_comment(name)}: personal data — not read by the kit")
        if t.role == "contacts":
            out += [f"    # {_comment(n)}" for n in t.notes]
    cleaning = spec.get("cleaning", {})
    notes = [n for t in d.tables if t.role != "contacts" for n in t.notes]
    if cleaning or notes:
        out.append("cleaning:" + ("" if cleaning else " {}"))
        for n in notes:
            out.append(f"  # {_comment(n)}")
        for key, value in cleaning.items():
            out.append(f"  {_yaml_key(key)}: {_yaml_value(value)}")
    if "currency" in spec:
        out.append(f"# currency: {_comment(_currency_found(d)[1])}: shown on money in the reports")
        out.append(f"currency: {_yaml_value(spec['currency'])}")
    lines = d.table("transactions")
    if lines is not None and lines.first is not None:
        how = "the draft loaded by the run's loader"
        out.append(f"# window: the lines run from {lines.first.date()} to {lines.last.date()} (read from {how}); "
                   "set window: {start: ..., end: ...} to analyse part of it")
    for u in d.undecided:
        out.append(f"# UNDECIDED: {_comment(u)}")
    if not spec["tables"]:
        out[2] = "tables: {}"
    text = "\n".join(out) + "\n"
    _reads_back(text, {**spec, **({} if cleaning or not notes else {"cleaning": {}})}, "data.yaml")
    return text


def _reads_back(text: str, expected: dict[str, Any], name: str) -> None:
    """Refuse a draft whose text does not read back as exactly ``expected`` (a bug, never the user's file)."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        parsed = exc
    if parsed != expected:
        raise DataError(f"init drafted a {name} that does not read back as drafted (a bug of the kit, not of your "
                        "file); nothing was written — please report it with the files' headers")


def run_yaml(d: Draft, data_path: Path, run_name: str) -> str:
    """The run file: discovery, segmentation and the round-one design on the draft's month.

    Written as :func:`data_yaml` is: values by a YAML emitter, comments escaped, the text read back.
    """
    out = [f"# Run file drafted by crm-kit init: the steps the data supports, on the month {d.month or '(none found)'}.",
           "# `crm-kit run run.yaml --month last` moves every step to the data's last complete month.",
           f"run_name: {_yaml_value(run_name)}", "common:"]
    common: dict[str, Any] = {}
    if d.table("transactions") is not None:
        out.append(f"  data: {_yaml_value(str(data_path))}")
        common["data"] = str(data_path)
    if d.month:
        out.append(f"  month: {_yaml_value(str(d.month))}   # the last month the data covers to its last day")
        common["month"] = str(d.month)
    if not common:
        out[-1] = "common: {}"
    out.append("steps:")
    steps: list[dict[str, Any]] = []
    if d.table("transactions") is not None:
        out += ["  - name: discovery", "    notebook: 01_knowledge_discovery",
                "  - name: segmentation", "    notebook: 02_segmentation", "    after: []",
                "  - name: design_round1", "    notebook: 03_campaign_design", "    after: [discovery]",
                "    params:", "      round_no: 1", "      target_kind: decile",
                "      preset: none      # nothing taken from the worked case; the 4P plan below is yours to write",
                "      # plan: {channels: [SMS], default_channel: SMS, product: ..., price: ..., place: ..., promotion: ...}"]
        steps += [{"name": "discovery", "notebook": "01_knowledge_discovery"},
                  {"name": "segmentation", "notebook": "02_segmentation", "after": []},
                  {"name": "design_round1", "notebook": "03_campaign_design", "after": ["discovery"],
                   "params": {"round_no": 1, "target_kind": "decile", "preset": "none"}}]
    outcomes = d.table("outcomes")
    if outcomes is not None:
        o = outcomes.outcome
        params = {"outcome_table": str(Path(outcomes.path).resolve()), "outcome_arm_col": o["arm_col"],
                  "outcome_control": o["control"], "outcome_binary": list(o["binary"]),
                  "outcome_continuous": list(o["continuous"]), "outcome_pre_period": list(o["pre_period"])}
        out += ["  - name: outcomes", "    notebook: 06_outcome_table", "    after: []", "    params:"]
        out += [f"      {key}: {_yaml_value(value)}" for key, value in params.items()]
        if o["attributes"]:
            out.append("      # not outcomes (who the customer is, or incomplete): "
                       + _comment(", ".join(map(str, o["attributes"]))))
        steps.append({"name": "outcomes", "notebook": "06_outcome_table", "after": [], "params": params})
    if not steps:
        out[-1] = "steps: []"
    text = "\n".join(out) + "\n"
    _reads_back(text, {"run_name": run_name, "common": common, "steps": steps}, "run.yaml")
    return text


def notebook_needs(roles: Sequence[str]) -> list[tuple[str, str]]:
    """Which notebook (and section) will run on tables of these roles, and which need a table that is not there."""
    have = set(roles)
    rows = []
    lines = "transactions" in have
    rows.append(("01 knowledge discovery", "runs" if lines else "needs line items"))
    rows.append(("   member profiles (01, 02, 04)", "runs" if "customers" in have else "skipped: no member form"))
    rows.append(("   categories, brand loyalty (01, 02)", "runs" if "products" in have else
                 "from the line items' own columns, else skipped: no catalogue"))
    rows.append(("02 segmentation (RFM, clusters, tiers, CLV)", "runs" if lines else "needs line items"))
    rows.append(("03 campaign design", "runs" if lines else "needs line items"))
    rows.append(("04 campaign results", "runs" if "contacts" in have else
                 "after a campaign: the design's contact list, or a contacts table"))
    rows.append(("05 cycle summary", "after 04"))
    rows.append(("06 outcome table", "runs" if "outcomes" in have else "needs a per-customer outcome table"))
    return rows


def write_draft(d: Draft, output: str | Path) -> tuple[Path, Path]:
    """Write ``data.yaml`` and ``run.yaml`` into the folder ``output`` (made if missing).

    Both files are written whole or not at all (:func:`crm_kit.files.write_new`): never over a file that is
    there, never both by two inits into one folder at once, never half on a full disk — the error names the
    file, and the next run starts clean. A relative ``output`` is taken from the current folder.
    """
    from ..config import check_run_name
    from ..files import write_error, write_new

    folder = Path(output).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"--output {output} is a file, not a folder: init writes data.yaml and run.yaml into a "
                        "folder; name a new or existing folder (e.g. --output my-shop)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataError(f"--output {output}: a part of that path is a file, not a folder; name a folder") from None
    except OSError as exc:
        raise write_error(folder, exc, fix="choose another --output") from None
    data_path, run_path = folder / "data.yaml", folder / "run.yaml"
    for path in (data_path, run_path):
        if path.exists() or path.is_symlink():
            raise DataError(f"{path} exists: init never overwrites a file; choose another --output or move it")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", folder.resolve().name).strip("_") or "mine"
    texts = {data_path: data_yaml(d), run_path: run_yaml(d, data_path.resolve(), check_run_name(name))}
    write_new(texts)
    return data_path, run_path


def summary_text(d: Draft, data_path: Path | None = None, run_path: Path | None = None) -> str:
    """What init found, for the terminal."""
    out = []
    for t in d.tables:
        what = {"transactions": "line items", "customers": "the member form", "products": "the catalogue",
                "contacts": "a contact list", "outcomes": "a per-customer outcome table",
                "orders": "orders (one row per order)"}[t.role]
        out.append(f"{t.path}: {what} ({t.rows:,} rows, every one profiled)")
        if t.role == "transactions":
            cust = t.columns.get("customer_id")
            if cust and t.profile is not None:
                out.append(f"  {t.profile[cust].distinct:,} customer ids"
                           + (f"; lines from {t.first.date()} to {t.last.date()}" if t.first is not None else ""))
        hashed, filled = t.options.get("hashed", []), t.options.get("fill_down", [])
        for col, src in t.columns.items():
            how = [w for w, on in (("read hashed", col in hashed), ("carried down to the order's other rows",
                                                                    col in filled)) if on]
            out.append(f"  {col:<12} <- {src if src is not None else '(none)'}" + (f"  ({'; '.join(how)})" if how else ""))
        if t.options.get("skip_footer"):
            out.append(f"  the last {t.options['skip_footer']} line(s) of the file (a trailer after the data) skipped")
    if d.month:
        out.append(f"month: {d.month} (the last complete month)")
    out.append("notebooks:")
    out += [f"  {name:<46} {state}" for name, state in notebook_needs([t.role for t in d.tables])]
    if data_path is not None:
        out.append(f"wrote {data_path} and {run_path}")
        out.append(f"next: crm-kit check {data_path}   then   crm-kit run {run_path}")
    for u in d.undecided:
        out.append(f"UNDECIDED: {u}")
    return "\n".join(out)
