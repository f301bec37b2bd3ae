"""The layouts values are written in: money, numbers and dates, shared by the profile and the reader.

One vocabulary, so that what ``crm-kit init`` counts as readable is what the
loader reads: currency signs and codes before or after a number, a minus
before or after the sign (or at the end, as ERP exports write it), the
thousands and decimal separators of any locale, and the date and time
layouts (those the reader takes by itself and those it needs told).
"""

from __future__ import annotations

import re

__all__ = ["CURRENCY_SIGNS", "CURRENCY_CODES", "MONEY_EDGE", "TRAILING_MINUS", "THOUSANDS", "SELF_READ_DATES",
           "ZONE_ABBREVIATIONS", "AMBIGUOUS_ZONES", "ZONE_PAIRS", "ZONE_SUFFIX", "zone_offset_text", "zone_of_names",
           "number_locales", "date_format"]

#: currency signs a money text may carry before or after the number
CURRENCY_SIGNS = "¥￥$€£₹₩₽₺฿₫₱₪₴₦"
#: currency codes and words (longest first where one begins another)
CURRENCY_CODES = ("US$", "HK$", "NT$", "R$", "S$", "A$", "C$", "RMB", "CNY", "USD", "EUR", "GBP", "JPY", "HKD", "TWD",
                  "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "INR", "KRW", "AUD", "CAD", "NZD", "SGD", "BRL",
                  "MXN", "RUB", "TRY", "ZAR", "AED", "SAR", "THB", "MYR", "IDR", "PHP", "VND", "руб", "zł", "Kč",
                  "kr", "Ft", "Fr", "Rs", "元", "円", "圆")
_CUR = "|".join(re.escape(c) for c in sorted(CURRENCY_CODES, key=len, reverse=True)) + f"|[{CURRENCY_SIGNS}]"
#: a sign or code at either edge of a money text (group 1 keeps a minus written before the sign: -€12 → -12)
_SP = "[\\s\u00a0\u202f]*"  # any space, the no-break and narrow no-break ones too (RE2's \s is ASCII only)
MONEY_EDGE = rf"^([+-]?){_SP}(?:{_CUR})\.?{_SP}|{_SP}(?:{_CUR})\.?{_SP}$"
#: a minus written after the number (12.50-, as SAP and some tills write it): moved to the front
TRAILING_MINUS = "^([0-9][0-9.,' \u00a0\u202f]*)-$"
#: thousands separators of the world's locales (none, comma, dot, space, no-break and narrow spaces, apostrophe)
THOUSANDS = ("", ",", ".", " ", "\u00a0", "\u202f", "'")
#: the date layouts the reader takes without being told (ISO, year first, YYYYMMDD, Chinese)
SELF_READ_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


#: time-zone abbreviations written after a time ('30-Jun-2024 07:53 PM EDT'), read as their UTC offset in minutes.
#: Chosen deliberately: the names shop platforms write (US and Canadian zones, Europe's, Australia's, East Asia's)
#: where one meaning is the one in use. PST is the US Pacific clock (the Philippines write PHT in exports), MST the US
#: Mountain clock (Malaysia writes MYT), CDT the US Central summer clock.
ZONE_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "UT": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "WAT": 60, "CAT": 120, "SAST": 120, "EAT": 180,
    "EST": -300, "EDT": -240, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540,
    "AKDT": -480, "HST": -600, "ADT": -180, "NST": -210, "NDT": -150, "BRT": -180, "ART": -180,
    "PKT": 300, "ICT": 420, "WIB": 420, "HKT": 480, "SGT": 480, "PHT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}
#: abbreviations that name several clocks: never guessed. Without ``timezone`` the load stops naming the value and
#: the fix; with ``timezone`` they are read on that zone's clock (the abbreviation being its name there)
AMBIGUOUS_ZONES: dict[str, str] = {
    "CST": "US Central (UTC-6), China (UTC+8) or Cuba (UTC-5)",
    "IST": "India (UTC+5:30), Israel (UTC+2) or Ireland (UTC+1)",
    "BST": "British Summer Time (UTC+1) or Bangladesh (UTC+6)",
    "AST": "Atlantic (UTC-4) or Arabia (UTC+3)",
    "GST": "Gulf (UTC+4) or South Georgia (UTC-2)",
    "SST": "Samoa (UTC-11) or Singapore (UTC+8)",
    "ECT": "Ecuador (UTC-5) or Eastern Caribbean (UTC-4)",
}
#: a zone's winter and summer names together settle which clock it is (CST beside CDT is US Central): init writes
#: that zone as ``timezone`` (one named zone standing for the clocks that share its rules)
ZONE_PAIRS: dict[frozenset, str] = {
    frozenset({"EST", "EDT"}): "America/New_York", frozenset({"CST", "CDT"}): "America/Chicago",
    frozenset({"MST", "MDT"}): "America/Denver", frozenset({"PST", "PDT"}): "America/Los_Angeles",
    frozenset({"AKST", "AKDT"}): "America/Anchorage", frozenset({"AST", "ADT"}): "America/Halifax",
    frozenset({"NST", "NDT"}): "America/St_Johns", frozenset({"GMT", "BST"}): "Europe/London",
    frozenset({"GMT", "IST"}): "Europe/Dublin", frozenset({"WET", "WEST"}): "Europe/Lisbon",
    frozenset({"CET", "CEST"}): "Europe/Berlin", frozenset({"MET", "MEST"}): "Europe/Berlin",
    frozenset({"EET", "EEST"}): "Europe/Helsinki", frozenset({"AEST", "AEDT"}): "Australia/Sydney",
    frozenset({"ACST", "ACDT"}): "Australia/Adelaide", frozenset({"NZST", "NZDT"}): "Pacific/Auckland",
}
#: a zone abbreviation after a time (group 2); AM and PM are no zone and are left out by the reader
ZONE_SUFFIX = r"(\d|[AaPp]\.?[Mm]\.?)\s+([A-Z]{2,5})$"


def zone_offset_text(minutes: int) -> str:
    """An offset in minutes as the reader compares offsets: ``-300`` is ``-0500``."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def zone_of_names(names) -> str | None:
    """The zone a column's abbreviations name together (EST and EDT: America/New_York), or None.

    >>> zone_of_names({"EST", "EDT"})
    'America/New_York'
    >>> zone_of_names({"CST"}) is None   # alone, CST is US Central, China or Cuba
    True
    """
    found = frozenset(names)
    if len(found) < 2:
        return None
    return next((zone for pair, zone in ZONE_PAIRS.items() if found <= pair), None)


def number_locales(digits: str) -> set[tuple[str, str]]:
    """The (thousands, decimal) pairs that read a number written as ``digits`` (each digit as ``9``).

    >>> sorted(number_locales("9,999.99"))
    [(',', '.')]
    >>> (".", ",") in number_locales("9.999,99")
    True
    """
    out = set()
    for t in THOUSANDS:
        for d in (".", ","):
            if t == d:
                continue
            if re.fullmatch(rf"9+(?:{re.escape(d)}9+)?", digits) or (
                    t and re.fullmatch(rf"9{{1,3}}(?:{re.escape(t)}999)+(?:{re.escape(d)}9+)?", digits)):
                out.add((t, d))
    return out


_DATE_YMD = re.compile(r"^(9999)([-/.])(9{1,2})\2(9{1,2})")
_DATE_CN = re.compile(r"^9999年9{1,2}月9{1,2}日")
_DATE_XXY = re.compile(r"^(9{1,2})([-/.])(9{1,2})\2(9999|99)(?![9])")
#: a month's name first: 'Mar 15, 2024', 'Mar-15-24', 'Sep 3 2024' (English abbreviations, as the reader's %b reads)
_DATE_MON = re.compile(r"^a([ -])(9{1,2})(,?)\1(9999|99)(?![9])")
#: a day then a month's name: '30-Jun-2024', '15 Mar 2024', '15-Mar-24' (Clover, many ERPs)
_DATE_DMON = re.compile(r"^(9{1,2})([ -])a\2(9999|99)(?![9])")
_TIME = re.compile(r"^(?:[ a]|, ?)(9{1,2}):(99)(?::(99)(\.9+)?)?( a(?=$| ))?")
_OFFSET = re.compile(r"^ ?(?:a|[+-]99:?99|[+-]99)$")


def date_format(shape: str, order: str = "dmy") -> tuple[str | None, str]:
    """The strptime layout of a value's shape (digits as 9, a run of letters as a), and what the value is.

    ``order`` says how a date with the year last is read (``dmy`` or ``mdy``).
    The second item is ``self`` (the reader takes it as it is: ISO, year
    first, YYYYMMDD, 年月日, with or without a UTC offset), ``told`` (a
    layout the reader needs as ``ts_format``), ``zone`` (a named time zone
    after the time), ``time`` (a time of day alone) or ``""`` (not a date).
    """
    if re.fullmatch(r"9{1,2}:99(?::99)?(?: ?a)?", shape):
        return None, "time"
    weekday = re.match(r"^a(, ?| )(?=9)", shape)
    if weekday:
        # a weekday's name first, as RFC 2822 and e-mail dates write it ('Fri, 15 Mar 2024 10:22:11 +0000')
        fmt, kind = date_format(shape[weekday.end():], order)
        if fmt:  # else a month's name first ('Mar 15, 2024'), read below
            return f"%a{weekday.group(1)}{fmt}", "told" if kind == "self" else kind
    if shape == "99999999":
        return "%Y%m%d", "self"
    m = _DATE_CN.match(shape)
    mon = _DATE_MON.match(shape)
    dmon = _DATE_DMON.match(shape)
    if m:
        rest = shape[m.end():]
        fmt = "%Y年%m月%d日"
    elif dmon:
        sep = dmon.group(2)
        fmt = f"%d{sep}%b{sep}" + ("%Y" if len(dmon.group(3)) == 4 else "%y")
        rest = shape[dmon.end():]
    elif mon:
        sep = mon.group(1)
        fmt = f"%b{sep}%d{mon.group(3)}{sep}" + ("%Y" if len(mon.group(4)) == 4 else "%y")
        rest = shape[mon.end():]
    else:
        m = _DATE_YMD.match(shape) or _DATE_XXY.match(shape)
        if not m:
            return None, ""
        sep = m.group(2)
        if m.re is _DATE_YMD:
            fmt = f"%Y{sep}%m{sep}%d"
        else:
            year = "%Y" if len(m.group(4)) == 4 else "%y"
            fmt = f"%d{sep}%m{sep}{year}" if order == "dmy" else f"%m{sep}%d{sep}{year}"
        rest = shape[m.end():]
    kind = "self" if fmt.startswith("%Y") and (fmt[2] in "-/.年") else "told"
    if rest:
        t = _TIME.match(rest)
        if not t:
            return None, ""
        glue = rest[:t.start(1)]
        ampm = bool(t.group(5))
        hour = "%I" if ampm else "%H"
        fmt += ("T" if glue == "a" else glue) + f"{hour}:%M" + (":%S" if t.group(3) else "") + \
            (".%f" if t.group(4) else "") + (" %p" if ampm and t.group(5).startswith(" ") else "%p" if ampm else "")
        rest = rest[t.end():]
        if ampm:
            kind = "told"
    if rest:
        if _OFFSET.fullmatch(rest):
            return fmt, kind if kind == "self" else "told"
        if re.fullmatch(r" [a/_+\-9]+", rest):
            return fmt, "zone"
        return None, ""
    return fmt, kind
