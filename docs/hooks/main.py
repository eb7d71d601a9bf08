"""MkDocs hooks of the incentsim documentation (configured in ``mkdocs.yml``).

- The scenario and scheme reference pages are generated from the schema at build time: a line
  ``{{ reference: NAME }}`` becomes a table (:mod:`reference_tables`).
- A line ``{{ readme: HEADING }}`` becomes the body of the README's section ``## HEADING`` (the
  measured figures have one home, the README, and the site shows the same ones).
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


_README = Path(__file__).resolve().parents[2] / "README.md"
_README_SECTION = re.compile(r"^\{\{ readme: (?P<heading>[^}]+?) \}\}$", re.M)


def readme_section(heading: str) -> str:
    """The body of the README's ``## heading`` section (up to the next ``## ``)."""
    text = _README.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(heading)}\n(?P<body>.*?)(?=^## |\Z)", text, re.S | re.M)
    if m is None:
        raise ValueError(f"README.md has no section '## {heading}'")
    return m.group("body").strip() + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Expand the generated reference tables and the README sections."""
    markdown = _README_SECTION.sub(lambda m: readme_section(m.group("heading")), markdown)
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
