"""``crm-kit init``: draft a data spec and a run file from the whole of each export, every guess with its evidence.

A new user points the kit at their files; init takes the reading path the run
takes (sniff → profile → decide → read → cast) and then loads its own draft:

* **sniff** (:mod:`crm_kit.store.sniff`): the file's type from its bytes (a PDF, JSON lines or random bytes
  are refused in one line), its encoding (charset-normalizer among the encodings exports come in), delimiter
  (or runs of spaces), line endings, the title and blank lines above the header, a workbook's table sheet;
* **profile** (:mod:`crm_kit.store.profile`): every column over **all rows**, read by the run's reader and
  counted per candidate layout in one engine query — money with any currency sign or code, any locale's
  thousands and decimal separators, day-first or month-first dates, offsets and zones, epochs, ids, flags
  (:mod:`crm_kit.draft.profiles` holds the profiles as the decisions read them);
* **decide**: what each file is — line items, the member form, the catalogue, a contact list, or a
  ready per-customer outcome table — and which column is which canonical column, by header in English and
  Chinese (:data:`~crm_kit.draft.synonyms.SYNONYMS`) and by content; a header match whose content does not fit
  is refused (:mod:`crm_kit.draft.roles`); how its times are read (:mod:`crm_kit.draft.times`); how its line
  items are written (:mod:`crm_kit.draft.table`); whether there is an order id, an orders file beside the lines,
  statuses, how returns and refunds are written (:mod:`crm_kit.draft.shapes`);
* **check** (:func:`~crm_kit.draft.loop.close_loop`): the draft is loaded by the run's loader; every mapped
  value must parse, the window and the last complete month come from the loaded data, keys must vary and month
  totals be plausible; what fails is corrected and loaded again, or written as a choice left to the user.

:func:`draft` returns a :class:`Draft`; :func:`write_draft` (:mod:`crm_kit.draft.write`) writes ``data.yaml``
(every guess commented with its evidence over all rows) and ``run.yaml`` (discovery, segmentation and the
round-one design on the last complete month). What cannot be decided is written as a commented choice, and
:attr:`Draft.undecided` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .loop import close_loop
from .profiles import Draft, Profile, TableDraft, profile
from .roles import _no_customer_key, few_keys
from .shapes import draft_shapes
from .synonyms import SYNONYMS
from .table import _group_files, draft_table
from .write import data_yaml, notebook_needs, run_yaml, summary_text, write_draft

__all__ = ["SYNONYMS", "Draft", "Profile", "TableDraft", "close_loop", "data_yaml", "draft", "draft_table", "few_keys",
           "notebook_needs", "profile", "run_yaml", "summary_text", "write_draft"]


def draft(files: Sequence[str | Path], *, month: str | None = None, check: bool = True) -> Draft:
    r"""Sniff and profile each file over all rows, draft the data spec, then load it to check it (module docstring).

    ``check=False`` leaves out the load (the window then stays unknown).

    Examples
    --------
    What ``crm-kit init`` does with one file: its headers are recognised (``Member`` is the customer, ``Receipt``
    the order) and every value is profiled; ``check=False`` skips the loading check, so the month stays open:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_kit import draft
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "sales.csv").write_text(
    ...     "Receipt,Member,Time,SKU,Qty,Amount\n"
    ...     "r1,a,2025-08-03 10:00,p1,1,30\n"
    ...     "r2,a,2025-09-20 11:00,p2,2,50\n"
    ...     "r3,b,2025-08-05 12:00,p1,1,20\n")
    >>> drafted = draft.draft([folder / "sales.csv"], check=False)
    >>> table = drafted.tables[0]
    >>> table.role
    'transactions'
    >>> table.columns
    {'customer_id': 'Member', 'order_id': 'Receipt', 'ts': 'Time', 'product_id': 'SKU', 'quantity': 'Qty', 'amount': 'Amount'}
    >>> table.evidence["customer_id"]
    'Member — by its header; 3 values, 2 distinct'
    """
    from ..periods import check_month, last_complete_month
    from ..store.connect import _connect

    con = _connect({})
    tables = [draft_table(location, found, con=con) for location, found in _group_files([Path(f) for f in files])]
    tables = draft_shapes(tables)
    _no_customer_key(tables)
    undecided = [u for t in tables for u in t.undecided]
    roles = [t.role for t in tables]
    for role in set(roles):
        if roles.count(role) > 1 and role != "outcomes":
            undecided.append(f"{roles.count(role)} files look like {role}: the first is used; put the others in one "
                             "folder (monthly parts) or choose")
    d = Draft(tables, None, undecided)
    if check:
        close_loop(d)
    lines = d.table("transactions")
    if month is not None:
        d.month = check_month(month)
    elif lines is not None and lines.last is not None:
        d.month = last_complete_month(last=lines.last)
    if lines is None and not any(t.role == "outcomes" for t in tables):
        d.undecided.append("no file looks like line items (a customer id, a timestamp and an amount per line)")
    return d
