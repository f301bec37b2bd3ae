"""Teaching copies of the notebooks: outputs removed, solution cells replaced by a prompt."""

from __future__ import annotations

from pathlib import Path

from ..params import notebook_path

__all__ = ["student_copy"]


def student_copy(notebook: str | Path, target: str | Path) -> Path:
    """A student copy: outputs removed, and the code of cells tagged ``solution`` replaced by a prompt."""
    import nbformat

    nb = nbformat.read(str(notebook_path(notebook)), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "solution" in cell.metadata.get("tags", []):
                cell.source = "# YOUR CODE HERE: see the narration above for what this cell computes\n"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target
