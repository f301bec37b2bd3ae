"""crm-kit: a notebook-based CRM analysis kit (knowledge discovery, segmentation,
campaign design and two-round result analysis) on an Ibis/DuckDB engine.

The package is layered along the data flow (an import only points down; a
test guards it)::

    cli, run (plan, runner, html, teaching)        what users start
    demo (plan, generator)                          a client of the package
    cycle
    discovery, segmentation, clv, campaign, results, plotting
    artifacts (typed hand-offs between steps)
    engine (Ibis queries)    store (spec, read, clean, cache, model, load, public)
    params, config, errors

This module is the facade: it re-exports the store's entry points and
imports :mod:`crm_kit.demo` so that ``data: demo`` is a known source.
"""

from . import demo as _demo  # noqa: F401  registers the ``demo`` data source
from .errors import CRMKitError, DataError, EmptyGroupError, MissingColumnError, ParameterError
from .store import Store, load_store

__version__ = "0.1.0"

__all__ = [
    "Store",
    "load_store",
    "CRMKitError",
    "DataError",
    "EmptyGroupError",
    "MissingColumnError",
    "ParameterError",
    "__version__",
]
