"""Money summed exactly: the same figures bit for bit on every engine, in every run, whatever the lines' order."""

from __future__ import annotations

__all__ = ["MONEY_PARTS", "money_sum", "units_sum"]

#: money is summed in these parts of the currency unit (ten-thousandths: exports with unit prices of a tenth of a
#: cent, as UCI Online Retail's, keep every digit; 64-bit integers then hold sums up to 9.2 x 10^14 units)
MONEY_PARTS = 10_000


def money_sum(amount):
    """The exact sum of a money column, the same on every engine and in every run (an Ibis expression).

    Each amount is taken in whole ten-thousandths of the currency unit
    (:data:`MONEY_PARTS`, an integer), these are summed as integers and the
    total is given back in currency units. A sum of the doubles themselves
    depends on the order the engine's threads add them, so a customer's sales
    moved in the last bit between two runs or two engines (and a fit on them
    further); integers add up the same in any order. Amounts finer than a
    ten-thousandth are rounded to it (half away from zero, as DuckDB, Spark
    and PostgreSQL round).
    """
    return (amount * MONEY_PARTS).round().cast("int64").sum().cast("float64") / MONEY_PARTS


def units_sum(quantity):
    """The exact sum of a quantity column (units, or kilograms of goods sold by weight), as :func:`money_sum` sums
    money: in whole ten-thousandths (a tenth of a gram of a kilogram), added as integers, so an item count is the
    same on every engine and in every run whatever order the engine adds the lines in. Taken as a double first: a
    quantity may be a constant (1 per order when an export has no lines), which an engine types as a narrow decimal
    that cannot hold it in ten-thousandths. An integer column is summed as it is (exact already, and a count stays
    a whole number)."""
    if quantity.type().is_integer():
        return quantity.sum()
    return money_sum(quantity.cast("float64"))
