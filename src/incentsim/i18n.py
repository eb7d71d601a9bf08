"""Translations of user-facing text (English by default, Dutch), through a gettext catalogue.

Strings are marked in code with :func:`_` (translated where used) or :func:`N_` (marked for the
catalogue, translated later with :func:`_`), extracted with Babel into
``src/incentsim/locale/incentsim.pot`` and translated in ``locale/<lang>/LC_MESSAGES/incentsim.po``.
The build compiles each ``.po`` to the ``.mo`` that :mod:`gettext` reads (``hatch_build.py``);
a source checkout without one falls back to compiling the ``.po`` in memory with Babel.

The language is per context (a :class:`contextvars.ContextVar`), not process-wide, so two web
sessions in different languages never see each other's text: set it with :func:`language`.
English is the source language and needs no catalogue.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

DOMAIN = "incentsim"
LOCALE_DIR = Path(__file__).parent / "locale"
#: Language code -> its own name (for a language switch).
LANGUAGES: dict[str, str] = {"en": "English", "nl": "Nederlands"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("incentsim_language", default="en")


def check_language(lang: str) -> str:
    """The language code if supported; ``ValueError`` naming the supported ones otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; supported: {', '.join(LANGUAGES)}")
    return lang


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (English: the identity).

    Raises
    ------
    ValueError
        For an unsupported language, or a supported one whose catalogue is missing.
    """
    check_language(lang)
    if lang == "en":
        return _gettext.NullTranslations()
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as fh:
            return _gettext.GNUTranslations(fh)
    if po.is_file():
        return _compile_in_memory(po)
    raise ValueError(f"no {lang} message catalogue at {po}")


def _compile_in_memory(po: Path) -> _gettext.GNUTranslations:
    """A ``.po`` compiled with Babel without writing a file (source checkouts, edited catalogues)."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po, "rb") as fh:
        catalog = read_po(fh)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def current_language() -> str:
    """The language of the current context."""
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Use ``lang`` for :func:`_` in this context (thread or task) until the block ends."""
    translations(lang)  # fail early on an unknown language or a missing catalogue
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """``message`` in the current language (itself in English, or when not translated)."""
    lang = _current.get()
    if lang == "en":
        return message
    return translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural of a message, in the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (module-level constants)."""
    return message
