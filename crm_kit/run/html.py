"""The run's HTML report: one self-contained page of the executed notebooks, code hidden."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Mapping, Sequence

__all__ = ["build_html_report", "kernel_chatter", "notebook_body", "print_pdf"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","WenQuanYi Micro Hei","crm-kit CJK",sans-serif;
  max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
nav.toc{background:#f5f7fa;padding:.5em 1em;border-radius:6px;columns:2;font-size:.9em} nav.toc a{display:block}
nav.toc .h1{font-weight:600;margin-top:.3em} .step{font-size:.5em;color:#777;font-weight:normal}
section.summary{background:#fbfcfe;border:1px solid #dde3ec;border-radius:8px;padding:.5em 1.2em;margin:1em 0}
section.notebook{border-top:3px solid #4C72B0;margin-top:2.5em;padding-top:.5em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0;max-width:100%}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;overflow-wrap:break-word}
th{background:#f0f0f0;text-align:center;overflow-wrap:normal;word-break:normal;hyphens:auto} img{max-width:100%;height:auto}
pre{background:#f8f8f8;padding:.5em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
.jp-RenderedHTMLCommon,.jp-OutputArea-output{max-width:100%;overflow-x:auto}
.failed{background:#fde2e2;border:1px solid #c44;padding:.5em 1em;border-radius:6px}
@media print{body{max-width:none;margin:0;font-size:10pt}
  table{font-size:7pt;page-break-inside:auto;table-layout:fixed;width:100%}
  th,td{overflow-wrap:anywhere;word-break:break-word;padding:2px 3px}
  tr{page-break-inside:avoid} img{max-width:100%;page-break-inside:avoid} nav.toc{columns:1}
  section.notebook{page-break-before:always}}
@page{size:A4;margin:12mm}
"""


#: the characters of the report set in the embedded CJK font (CJK ideographs, punctuation and full-width forms)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def _cjk_font_face(text: str) -> str:
    """An ``@font-face`` rule embedding the CJK glyphs ``text`` uses, subset from the kit's Noto Sans CJK SC.

    The report's Chinese terms showed as empty boxes on a machine without a
    CJK font. The page now carries the few glyphs it uses (about 100 for
    the demo: 34 KB as WOFF) under the family "crm-kit CJK", placed after
    the reader's own fonts. Subsetting takes ~1.5 s; the subset is kept in
    ``<cache>/fonts`` keyed by the characters, so a report with the same
    ones reuses it. Returns "" when the text has no CJK character or the
    font is missing.
    """
    import base64
    import hashlib

    from ..config import cache_root
    from ..language import cjk_font_path

    chars = "".join(sorted(set(_CJK.findall(text))))
    font = cjk_font_path()
    if not chars or font is None:
        return ""
    key = hashlib.sha256(f"{font.name}:{chars}".encode()).hexdigest()[:20]
    cached = cache_root() / "fonts" / f"cjk-{key}.woff"
    try:
        woff = cached.read_bytes()
    except OSError:
        woff = _cjk_subset(str(font), chars)
        if woff is None:
            return ""
        try:  # a read-only cache costs the next report the subsetting, nothing more
            import os
            import tempfile

            cached.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(woff)
            os.chmod(tmp, 0o644)
            os.replace(tmp, cached)  # whole or not at all: another run may read it meanwhile
        except OSError:
            pass
    data = base64.b64encode(woff).decode("ascii")
    return f'@font-face{{font-family:"crm-kit CJK";src:url(data:font/woff;base64,{data}) format("woff")}}'


def _cjk_subset(font: str, chars: str) -> bytes | None:
    """The glyphs of ``chars`` from the font file ``font``, as WOFF bytes (None if fontTools cannot read it)."""
    import io

    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    try:
        face = subset.load_font(font, options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(face)
        out = io.BytesIO()
        subset.save_font(face, out, options)
    except Exception:  # noqa: BLE001 - the page then shows the reader's own fonts, as before
        return None
    return out.getvalue()


#: the tags of cells a report leaves out
TEACHING_ONLY = {"check", "lesson", "lesson-goals", "lesson-key-ideas", "lesson-references"}


def _last_state(line: str) -> str:
    """What a line redrawn with carriage returns (a progress bar) last showed."""
    drawn = [part for part in line.split("\r") if part.strip()]
    return drawn[-1] if drawn else ""


def kernel_chatter(nb) -> list[str]:
    """Take out of an executed notebook ``nb`` (changed in place) what its kernel wrote to stderr that is not the
    kit's own; return those lines.

    A kernel's stderr carries the engine's log (Spark's Java WARN lines), the libraries' warnings (pandas
    FutureWarnings) and progress bars: the manager's report is no place for them, the run's ``run.log`` is.
    The kit's own warnings (lines starting with :data:`~crm_kit.errors.KIT_LINE_PREFIX`) stay where the
    reader meets them; a progress bar redrawn with carriage returns counts as its last state.
    """
    from ..errors import KIT_LINE_PREFIX

    moved = []
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                lines = [_last_state(line) for line in ("".join(text) if isinstance(text, list) else text).split("\n")]
                kept = [line for line in lines if line.startswith(KIT_LINE_PREFIX)]
                moved += [line for line in lines if line.strip() and not line.startswith(KIT_LINE_PREFIX)]
                if not kept:
                    continue
                out["text"] = "\n".join(kept) + "\n"
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return moved


def notebook_body(path: Path, *, log: logging.Logger | None = None) -> str:
    """One executed notebook as the report's HTML: outputs and narration, code and teaching cells left out.

    The runner renders each notebook as its step finishes (while later steps
    run) and hands the bodies to :func:`build_html_report`. What the kernel wrote
    to stderr that is not the kit's own (:func:`kernel_chatter`) is left out of
    the body and written to ``log`` (the run's ``run.log``), one record per line.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(path), as_version=4)
    chatter = kernel_chatter(nb)
    if log is not None and chatter:
        log.info("step %s: %d line(s) its kernel wrote to stderr (left out of the report):", path.stem, len(chatter))
        for line in chatter:
            log.info("  [%s stderr] %s", path.stem, line)
    # the teaching cells (a blank's check, the "Try this" exercises, the lesson's goals, key ideas and
    # references) are for the notebook, not the report; the data dictionary and "how to read it" stay
    nb.cells = [c for c in nb.cells if not TEACHING_ONLY & set(c.metadata.get("tags", []))]
    # the parameters cells are inputs: hidden with all code
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _resources = exporter.from_notebook_node(nb)
    return body


def _prefixed(match: re.Match, anchor: str) -> str:
    attr, value = match.group(1), match.group(2)
    if attr == "href" and not match.group(0).startswith('href="#'):
        return match.group(0)  # a real link, not an in-page anchor
    return f'{attr}="{"#" if attr == "href" else ""}{anchor}-{value}"'


_HEADING = re.compile(r'<h([12]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def _toc(bodies: Sequence[str]) -> str:
    """Every section of every notebook (its H1 and H2 headings), linked."""
    items = []
    for body in bodies:
        for level, anchor, inner in _HEADING.findall(body):
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", inner).replace("¶", "")).strip()
            items.append(f'<a class="h{level}" href="#{html.escape(anchor, quote=True)}">{html.escape(text)}</a>')
    return '<nav class="toc"><b>Contents</b>' + "".join(items) + "</nav>" if items else ""


def build_html_report(notebooks: Sequence[Path], target: Path, *, title: str, failure: str | None = None,
                      steps: dict[str, str] | None = None, bodies: Mapping[Path, str] | None = None,
                      log: logging.Logger | None = None) -> Path:
    """One self-contained HTML page: a summary first, a table of contents, then the notebooks, code hidden.

    Figures are embedded as data URIs and no script or style is loaded from
    the network, so the report opens offline. ``steps`` maps a step's kind
    (``discovery``, ``round1``, ``cycle``...) to its notebook file, so
    the summary's blocks link to their sections. ``bodies`` holds notebooks
    already rendered by :func:`notebook_body`; the others are rendered here (their kernels' stderr to ``log``).
    """
    from .summary import summary_page

    rendered, parts, anchors = [], [], {}
    for i, path in enumerate(notebooks):
        anchor = f"nb{i}"
        anchors[path.stem] = anchor
        # headings repeat across notebooks (both rounds run notebook 04): make every anchor the section's own
        body = re.sub(r'(?<![\w-])(id|href)="#?([^"]+)"', lambda m: _prefixed(m, anchor),
                      (bodies or {}).get(path) or notebook_body(path, log=log))
        body = body.replace("</h1>", f' <span class="step">({html.escape(path.stem.split("_", 1)[-1])})</span></h1>', 1)
        rendered.append(body)
        parts.append(f'<section class="notebook" id="{anchor}">{body}</section>')
    links = {kind: anchors.get(Path(stem).stem, "") for kind, stem in (steps or {}).items()}
    fail = f'<p class="failed"><b>This run failed:</b> {html.escape(failure)}</p>' if failure else ""
    try:
        summary = summary_page(target.parent, links=links)
    except Exception as exc:  # noqa: BLE001 - a half-finished run still gets its sections
        summary = f'<p class="failed">The summary could not be written: {html.escape(str(exc))}</p>'
    content = f"<h1>{html.escape(title)}</h1>{fail}{summary}{_toc(rendered)}" + "".join(parts)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<meta name='viewport' content='width=device-width'><style>{_cjk_font_face(content)}{_CSS}</style>"
            f"</head><body>{content}</body></html>")
    # belt and braces: nothing may point at the network
    page = re.sub(r'<(script|link)[^>]+(src|href)="https?://[^"]*"[^>]*>(</script>)?', "", page)
    target.write_text(page, encoding="utf-8")
    return target


def _font_config(folder: Path) -> Path | None:
    """A fontconfig file for the PDF printer: the machine's fonts plus Noto Sans CJK SC from ``mplfonts``.

    The report's Chinese terms (section titles, ``language: zh`` tables)
    printed as empty boxes on a machine without a CJK font (a fresh Debian
    or CI image); the kit ships one for its charts, and the printer is
    pointed at it too. The glyphs the page embeds (:func:`_cjk_font_face`)
    are not enough here: Chromium prints at the load event, which does not
    wait for web fonts, and a short page printed before they loaded.
    Returns None when the font is missing.
    """
    from ..language import cjk_font_path

    font = cjk_font_path()
    if font is None:
        return None
    fonts = folder / "fonts"
    fonts.mkdir()
    (fonts / font.name).symlink_to(Path(str(font)).resolve())
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{html.escape(str(fonts))}</dir><cachedir>{html.escape(str(folder / 'cache'))}</cachedir>"
        "</fontconfig>\n", encoding="utf-8")
    return conf


def print_pdf(report: Path, *, timeout: int = 180) -> Path | None:
    """``report.pdf`` beside the HTML, printed to A4 by headless Chromium when the machine has it; else ``None``.

    Chinese text is printed with the kit's own CJK font where the machine has none (:func:`_font_config`).
    """
    import os
    import shutil
    import subprocess
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        return None
    pdf = report.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as font_folder:
        env = dict(os.environ)
        conf = _font_config(Path(font_folder))
        if conf is not None:
            env["FONTCONFIG_FILE"] = str(conf)
        try:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                            report.resolve().as_uri()], capture_output=True, timeout=timeout, check=False, env=env)
        except (OSError, subprocess.TimeoutExpired):
            return None
    return pdf if pdf.exists() and pdf.stat().st_size > 0 else None
