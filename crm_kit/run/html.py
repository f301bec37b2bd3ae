"""The run's HTML report: one self-contained page of the executed notebooks, code hidden."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Sequence

__all__ = ["build_html_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
nav{background:#f5f7fa;padding:.5em 1em;border-radius:6px} nav a{margin-right:1em}
section.notebook{border-top:3px solid #4C72B0;margin-top:2.5em;padding-top:.5em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f0f0f0} img{max-width:100%} pre{background:#f8f8f8;padding:.5em;overflow-x:auto;font-size:.85em}
.failed{background:#fde2e2;border:1px solid #c44;padding:.5em 1em;border-radius:6px}
"""


def _notebook_body(path: Path) -> str:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    # the parameters cells are inputs: hidden with all code
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _resources = exporter.from_notebook_node(nb)
    return body


def build_html_report(notebooks: Sequence[Path], target: Path, *, title: str, failure: str | None = None) -> Path:
    """One self-contained HTML page from executed notebooks: code hidden, charts and tables shown.

    Figures are embedded as data URIs and no script or style is loaded from
    the network, so the report opens offline.
    """
    parts, nav = [], []
    for i, path in enumerate(notebooks):
        anchor = f"nb{i}"
        nav.append(f'<a href="#{anchor}">{html.escape(path.stem)}</a>')
        parts.append(f'<section class="notebook" id="{anchor}">{_notebook_body(path)}</section>')
    fail = f'<p class="failed"><b>This run failed:</b> {html.escape(failure)}</p>' if failure else ""
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{fail}<nav>{' '.join(nav)}</nav>"
            + "".join(parts) + "</body></html>")
    # belt and braces: nothing may point at the network
    page = re.sub(r'<(script|link)[^>]+(src|href)="https?://[^"]*"[^>]*>(</script>)?', "", page)
    target.write_text(page, encoding="utf-8")
    return target
