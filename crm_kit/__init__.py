"""crm-kit: a notebook-based CRM analysis kit (knowledge discovery, segmentation,
campaign design and two-round result analysis) on an Ibis/DuckDB engine.

The package is layered along the data flow (an import only points down; a
test guards it)::

    cli, run (plan, runner, html)                   what users start
    teaching (blanks, exercises)                    the notebooks' lessons
    demo (plan, generator)                          a client of the package
    cycle
    discovery, segmentation, clv, campaign, results, plotting
    experiment (assignment, power, Welch/DiD/CUPED/Holm: statistics with no CRM words)
    artifacts (typed hand-offs between steps)
    engine (Ibis queries)    store (spec, read, clean, cache, model, load, public)
    params, config, errors

This module is the facade: it re-exports the store's entry points and
registers ``data: demo`` as a known source, importing :mod:`crm_kit.demo`
only when a spec names it (its generator imports scipy.stats: ~0.5 s of
every command's start, before ``crm-kit run`` can start its first kernel).
"""

from .errors import CRMKitError, DataError, EmptyGroupError, MissingColumnError, ParameterError, show_kit_warnings
from .store import Store, load_store
from .store.spec import register_outcome_source, register_source


def _demo_data_spec(*, n_members=None, seed=None, folder=None, plant=None):
    """The demo's data spec, importing the demo (which registers its own maker in place of this one) on first use.

    Its options are :func:`crm_kit.demo.demo_data_spec`'s, named, so a spec's unknown option is refused before
    the demo is imported.
    """
    from .demo import demo_data_spec

    return demo_data_spec(n_members=n_members, seed=seed, folder=folder, plant=plant)


def _demo_outcome_table():
    """The demo simulator's outcome table (notebook 06's default), importing the demo on first use."""
    from .demo import demo_outcome_table

    return demo_outcome_table()


register_source("demo", _demo_data_spec)
register_outcome_source("demo", _demo_outcome_table)
show_kit_warnings()  # in a notebook's kernel: the kit's warnings marked as its own (the report keeps them)

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
