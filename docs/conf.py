"""Sphinx configuration of the crm-kit documentation (MyST Markdown and notebooks through MyST-NB).

Build offline with warnings as errors::

    python -m sphinx -W -b html docs docs/_build/html

``CRM_KIT_DOCS_RUN`` may name the folder of an executed demo run (``crm-kit run params/demo.yaml``):
the tutorials then show that run's outputs; they are never executed a second time here.
"""

import sys
import tomllib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "crm-kit"
author = "the crm-kit developers"
copyright = "2026, the crm-kit developers (MIT licence)"
# the version is pyproject.toml's, shown in every page's title bar; the changelog's newest entry is the same
release = version = tomllib.loads((DOCS.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    # every documented object links to its source, highlighted, on the site itself
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinx.ext.mathjax",
    # MathJax shipped with the site: formulas render with no network
    "sphinx-mathjax-offline",
    "sphinx_design",
    "sphinxcontrib.bibtex",
    "crmkit_docs",
]

# the notebooks are shown as a run left them: never executed while the site is built
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# a dataclass's Attributes section as a field list: autodoc documents the fields themselves
napoleon_use_ivar = True
autodoc_member_order = "bysource"
# the annotations' types in the parameter lists, linked into pandas, NumPy, scikit-learn... (intersphinx)
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_typehints_format = "short"
# a signature longer than this many characters shows one parameter per line (Sphinx's own layout, which the
# theme styles): it reads on a phone's 390 px instead of running past the column's edge
python_maximum_signature_line_length = 60
# the reference pages and their summary tables are written by _ext/crmkit_docs.py

# Links into the libraries' documentation, resolved OFFLINE: each inventory is shipped in _intersphinx/
# (written from the installed packages by _intersphinx/make_inventories.py), nothing is downloaded
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", str(DOCS / "_intersphinx" / "python.inv")),
    "pandas": ("https://pandas.pydata.org/docs/", str(DOCS / "_intersphinx" / "pandas.inv")),
    "numpy": ("https://numpy.org/doc/stable/", str(DOCS / "_intersphinx" / "numpy.inv")),
    "sklearn": ("https://scikit-learn.org/stable/", str(DOCS / "_intersphinx" / "sklearn.inv")),
    "statsmodels": ("https://www.statsmodels.org/stable/", str(DOCS / "_intersphinx" / "statsmodels.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", str(DOCS / "_intersphinx" / "scipy.inv")),
}
intersphinx_timeout = 1
intersphinx_disabled_reftypes = ["std:doc"]

# copy buttons copy the commands: the prompt and the output of a captured console block are left out (a block
# without prompts is copied whole)
copybutton_prompt_text = r"\$ |>>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}

exclude_patterns = ["_build", "_ext", "_intersphinx", "**/.ipynb_checkpoints", "jupyter_execute"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

html_theme = "pydata_sphinx_theme"
html_title = f"crm-kit {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
# a mode the theme's script accepts from the first paint on (unset, it logs "invalid theme mode" on every page)
html_context = {"default_mode": "light"}
