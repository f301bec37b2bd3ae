"""Errors raised by crm-kit, each phrased in CRM terms with the fix."""

from __future__ import annotations

import os

__all__ = [
    "CRMKitError",
    "DataError",
    "MissingColumnError",
    "ParameterError",
    "EmptyGroupError",
]


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
