"""Deciding how a table's times are read: a date and its time of day in two columns joined, the clock's layout,
and the one zone the analysis takes when timestamps carry offsets or zone abbreviations.

Part of the path's **decide** room; the load reads what is decided here (:mod:`crm_kit.store.derive` joins the
columns, :mod:`crm_kit.store.cast` reads the offsets and zones).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..store.layouts import ZONE_ABBREVIATIONS, zone_of_names, zone_offset_text
from ..store.profile import ColumnProfile
from .profiles import Profile, TableDraft
from .synonyms import _norm

__all__: list[str] = []


def _time_choices(draft: TableDraft, col: str, p: Profile, profiles: dict[str, Profile]) -> None:
    """The layout of a time column, its zones, and a time of day kept in a column of its own."""
    c = p.column
    if p.ts_format:
        draft.options["ts_format"] = p.ts_format
        if p.ts_note.startswith("AMBIGUOUS"):
            draft.undecided.append(f"{draft.role}.{col}: {p.ts_note}; check ts_format ({p.ts_format} assumed)")
    named = zone_of_names(c.zone_names) if c is not None else None
    if named and not draft.options.get("timezone"):
        draft.options["timezone"] = named
        draft.reading.append(f"timezone: {named} — the times end in "
                             + " and ".join(f"{z} ({k:,})" for z, k in sorted(c.zone_names.items()))
                             + ": one clock's winter and summer names; every time is read on it")
    if c is not None and c.offsets > 1 and not draft.options.get("timezone"):
        zone = _common_offset_zone(c)
        draft.options["timezone"] = zone
        draft.undecided.append(f"{draft.role}.{col}: the timestamps carry {c.offsets} different UTC offsets; they are "
                               f"converted to one clock, {zone} (the most frequent offset) — set timezone to the "
                               "shop's zone (Europe/Berlin, America/New_York...) if it keeps summer time")
    if c is not None and c.zones:
        draft.notes.append(f"{draft.role}.{col}: {c.zones:,} value(s) end in a named time zone")


#: a time of day's shape (digits as 9, letters as a) and its strptime layout
_CLOCKS = {r"9{1,2}:99": "%H:%M", r"9{1,2}:99:99": "%H:%M:%S", r"9{1,2}:99 a": "%I:%M %p",
           r"9{1,2}:99:99 a": "%I:%M:%S %p", r"9{1,2}:99a": "%I:%M%p", r"9{1,2}:99:99a": "%I:%M:%S%p"}


def _clock_layout(c: ColumnProfile) -> tuple[str | None, int]:
    """The one layout every time of day of a column is written in ('%I:%M %p'), with how many values; None if mixed."""
    layouts: dict[str, int] = {}
    for shape, (n, _d, _lo, _hi) in c.shapes.items():
        layout = next((f for pattern, f in _CLOCKS.items() if re.fullmatch(pattern, shape.strip())), None)
        if layout is None:
            return None, 0
        layouts[layout] = layouts.get(layout, 0) + n
    if len(layouts) != 1:
        return None, 0
    return next(iter(layouts.items()))


def _join_time(draft: TableDraft, col: str, p: Profile, profiles: dict[str, Profile]) -> None:
    """A date column with the time of day in a column of its own (Date + Time, Fecha + Hora, 取引日 + 取引時刻): mapped
    as both, ``ts: [date, time]``, with the layout of the two together (every value counted)."""
    c = p.column
    date_col = draft.columns[col]
    times = [h for h, q in profiles.items() if q.column is not None and q.column.times
             and q.column.times >= 0.95 * max(q.values, 1) and h not in draft.columns.values()]
    if not times:
        return
    stem = _norm(date_col).replace("date", "").replace("datum", "").replace("fecha", "").replace("日", "")
    partner = [h for h in times if _norm(h).replace("time", "").replace("zeit", "").replace("hora", "")
               .replace("時刻", "").replace("时间", "") == stem]
    time_col = partner[0] if partner else (times[0] if len(times) == 1 else None)
    if time_col is None:
        draft.notes.append(f"{draft.role}.{col}: dates only; times of day in {', '.join(map(repr, times))}: which "
                           "belongs to the date is not clear, so the kit reads the date (map ts: [date, time] to "
                           "join them)")
        return
    t = profiles[time_col].column
    clock, counted = _clock_layout(t)
    if clock is None or t.values < c.values:
        draft.notes.append(f"{draft.role}.{col}: dates only, with the time of day in {time_col!r}, which is blank on "
                           "some rows or written in several layouts: the kit reads the date (months and days need no "
                           "time)")
        return
    day = p.ts_format or max((f for f in c.ts_counts if f in c.ts_self), key=c.ts_counts.get, default="%Y-%m-%d")
    draft.columns[col] = [date_col, time_col]
    if day == "%Y-%m-%d" and clock.startswith("%H"):
        draft.options.pop("ts_format", None)  # 2024-03-15 10:22:11: ISO, read as it is
        layout = "ISO"
    else:
        draft.options["ts_format"] = layout = f"{day} {clock}"
    draft.evidence[col] = (f"{date_col} + {time_col} — the date, and the time of day in a column of its own "
                           f"({counted:,} of {t.values:,} values written {clock}); read together as {layout}")


def _common_offset_zone(c: ColumnProfile) -> str:
    """A fixed-offset zone (Etc/GMT-8 is UTC+8) for the most frequent UTC offset among a column's values."""
    found: dict[str, int] = {}
    for name, k in c.zone_names.items():  # '07:53 PM EST': the abbreviation's offset
        if name in ZONE_ABBREVIATIONS:
            text = zone_offset_text(ZONE_ABBREVIATIONS[name])
            found[text] = found.get(text, 0) + k
    for value, k in c.top:
        m = re.search(r"([+-])(\d{2}):?(\d{2})$", value.strip())
        if m:
            found[m.group(0)] = found.get(m.group(0), 0) + k
    if not found:
        return "UTC"
    sign, hours, minutes = re.match(r"([+-])(\d{2}):?(\d{2})", max(found, key=found.get)).groups()
    if int(minutes) or not int(hours):
        return "UTC"
    return f"Etc/GMT{'-' if sign == '+' else '+'}{int(hours)}"


def _stored_zone(lines: TableDraft) -> str | None:
    """The time zone a Parquet file stores with its timestamp column (DuckDB reads such columns as UTC)."""
    column = lines.columns.get("ts")
    sample = lines.samples[0].path if lines.samples else None
    if column is None or sample is None or Path(sample).suffix.lower() != ".parquet":
        return None
    import pyarrow.parquet as pq

    schema = pq.read_schema(sample)
    kind = schema.field(column).type if column in schema.names else None
    return getattr(kind, "tz", None) or None
