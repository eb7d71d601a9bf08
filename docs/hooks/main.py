"""MkDocs hooks of the incentsim documentation (configured in ``mkdocs.yml``).

- The scenario and scheme reference pages are generated from the schema at build time: a line
  ``{{ reference: NAME }}`` becomes a table (:mod:`reference_tables`).
- Equations are written in LaTeX (``$...$`` inline, ``$$...$$`` displayed, through
  ``pymdownx.arithmatex`` in generic mode) and rendered here, at build time, to MathML, which
  browsers display natively: the site needs no JavaScript and no network to show them.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_tables  # noqa: E402

_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>',
    re.S,
)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Expand the generated reference tables."""
    return reference_tables.expand(markdown)


def _mathml(m: re.Match) -> str:
    from latex2mathml.converter import convert

    body = html.unescape(m.group("body")).strip()
    display = m.group("tag") == "div"
    for left, right in ((r"\[", r"\]"), (r"\(", r"\)"), ("$$", "$$"), ("$", "$")):
        if body.startswith(left) and body.endswith(right):
            body = body[len(left) : len(body) - len(right)]
            break
    return convert(body.strip(), display="block" if display else "inline")


def on_page_content(html_text: str, page, config, files) -> str:
    """Render LaTeX equations to MathML."""
    return _MATH.sub(_mathml, html_text)
