"""Errors raised by crm-kit, each phrased in CRM terms with the fix."""

from __future__ import annotations

import os

__all__ = [
    "CRMKitError",
    "DataError",
    "MissingColumnError",
    "ParameterError",
    "EmptyGroupError",
    "KIT_LINE_PREFIX",
    "show_kit_warnings",
]

#: how the kit's own warnings start on a notebook's stderr: the run's report keeps these lines, while every other
#: line a kernel writes there (an engine's log, a library's warning, a progress bar) goes to the run's ``run.log``
KIT_LINE_PREFIX = "crm-kit: "


class CRMKitError(Exception):
    """Base class of every error crm-kit raises on purpose.

    In Jupyter (JupyterLab, papermill) it shows as one line — its name and its sentence, which names the fix —
    not a traceback through the kit's code; ``CRM_KIT_DEBUG=1`` in the environment shows the traceback.
    """

    def _render_traceback_(self) -> list[str]:
        if os.environ.get("CRM_KIT_DEBUG"):
            import traceback

            return "".join(traceback.format_exception(type(self), self, self.__traceback__)).splitlines()
        return [f"{type(self).__name__}: {self}"]


class DataError(CRMKitError, ValueError):
    """An input table is unusable as it stands (bad values, empty, ...)."""


class MissingColumnError(CRMKitError, KeyError):
    """A table lacks a column the analysis needs.

    ``KeyError`` quotes its argument when printed; ``__str__`` is overridden so
    the message reads as a sentence.
    """

    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.args[0]) if self.args else ""


class ParameterError(CRMKitError, ValueError):
    """A parameter is unknown, mistyped or out of range."""


class EmptyGroupError(CRMKitError, ValueError):
    """A customer group the step needs has no members."""


def show_kit_warnings() -> None:
    """In a Jupyter kernel, print the kit's own warnings (its ``crm_kit`` loggers, WARNING and up) as
    ``crm-kit: <message>`` on stderr, so a report tells them from the engine's and the libraries' lines.

    Outside a kernel nothing changes (a script's logging is its own); called again, it adds no second handler.
    """
    import logging
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if type(shell).__name__ != "ZMQInteractiveShell":  # a Jupyter kernel's shell (papermill's, JupyterLab's)
        return
    logger = logging.getLogger("crm_kit")
    if any(getattr(h, "_crm_kit_lines", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(KIT_LINE_PREFIX + "%(message)s"))
    handler._crm_kit_lines = True
    logger.addHandler(handler)
