"""Sphinx configuration of the course site (built by ``docs/build.py``, not by hand).

The sources are the executed notebooks and the generated front page in
``docs/_build/executed``; MyST-NB renders the stored outputs and executes nothing.
Everything the pages load is on the site itself: MathJax is copied into ``_static``,
the theme ships its own fonts and icons, and no widget JavaScript is included.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

DOCS = Path(__file__).resolve().parent
VENDOR = DOCS / "_build" / "vendor"          # holds mathjax/ (see build.py)

project = "Inverse Problems in Imaging"
author = "the course authors"
copyright = "the course authors"
html_title = project

extensions = ["myst_nb", "sphinx.ext.mathjax"]
master_doc = "index"
exclude_patterns = ["**.ipynb_checkpoints", "_*", "**/.*"]
suppress_warnings = ["myst.header"]

# -- MyST and MyST-NB --------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

nb_execution_mode = "off"              # the notebooks arrive executed (build.py)
nb_merge_streams = True
# Widgets need a kernel: drop their view and show the static gallery (text/html) that
# the course widgets add to their display when the site is built.
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
nb_mime_priority_overrides = [(builder, _WIDGET_VIEW, None)
                              for builder in ("html", "dirhtml", "singlehtml", "readthedocs",
                                              "readthedocsdirhtml", "readthedocssinglehtml")]
nb_ipywidgets_js = {}                  # never the embed scripts from a CDN

# -- MathJax, served from the site itself --------------------------------------------------
MATHJAX_FILE = "tex-mml-chtml.js"
mathjax_path = f"mathjax/{MATHJAX_FILE}"     # relative: inside _static
mathjax3_config = {
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

# -- HTML -----------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static", str(VENDOR)]
html_css_files = ["course.css"]
html_context = {"default_mode": "light"}   # the figures have white backgrounds
html_favicon = "_static/favicon.svg"
html_show_copyright = False
html_copy_source = True
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": True,
    "navigation_with_keys": False,
    "search_bar_text": "Search the course…",
    "navbar_persistent": [],
}


# -- an index of the chapters' sections -------------------------------------------------------
_SKIP_TITLES = {"summary", "further exercises", "references", "learning objectives",
                "prerequisites", "set-up", "setup", "how to use this notebook"}
_NUMBERED = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?)\s+")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+(?=\w)", re.IGNORECASE)
_EXERCISE = re.compile(r"^\s*exercise\s+(\d+\.\d+)\s*[—–:-]*\s*(.*)$", re.IGNORECASE)


def _chapter_label(docname: str, title: str) -> str:
    match = re.match(r"^(\d\d)_", docname)
    return f"notebook {match.group(1)}" if match else title


def add_section_index_entries(docname: str, doctree) -> None:
    """Index every section of a chapter (``##`` and ``###`` headings), exercises under
    "exercises", so that genindex lists the course's topics."""
    if not re.match(r"^\d\d_", docname):
        return
    for section in doctree.findall(nodes.section):
        if not section["ids"]:
            continue
        level = 0
        parent = section
        while isinstance(parent.parent, nodes.section):
            level += 1
            parent = parent.parent
        if level == 0:
            continue                   # the chapter's own title
        title_node = section.next_node(nodes.title)
        if title_node is None:
            continue
        title = " ".join(title_node.astext().split())
        if not title or title.lower() in _SKIP_TITLES:
            continue
        chapter = _chapter_label(docname, title)
        exercise = _EXERCISE.match(title)
        if exercise:
            number, what = exercise.groups()
            entry = f"exercises; {number} {what}".rstrip()
        else:
            entry = _ARTICLE.sub("", _NUMBERED.sub("", title))
            entry = f"{entry[:1].upper()}{entry[1:]} ({chapter})"
        index = addnodes.index(entries=[("single", entry, section["ids"][0], "", None)])
        section.insert(1 if section.children else 0, index)


class SectionIndex(SphinxTransform):
    """Runs before Sphinx's domains collect the page's index entries (priority 850)."""

    default_priority = 800

    def apply(self, **kwargs):
        add_section_index_entries(self.env.docname, self.document)


def setup(app):
    app.add_transform(SectionIndex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
