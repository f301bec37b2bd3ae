"""Sphinx configuration of the crm-kit documentation (MyST Markdown and notebooks through MyST-NB).

Build offline with warnings as errors::

    python -m sphinx -W -b html docs docs/_build/html

``CRM_KIT_DOCS_RUN`` may name the folder of an executed demo run (``crm-kit run params/demo.yaml``):
the tutorials then show that run's outputs; they are never executed a second time here.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "crm-kit"
author = "the crm-kit developers"
copyright = "2026, the crm-kit developers (MIT licence)"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
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
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}

exclude_patterns = ["_build", "_ext", "**/.ipynb_checkpoints", "jupyter_execute"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

html_theme = "pydata_sphinx_theme"
html_title = "crm-kit"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
