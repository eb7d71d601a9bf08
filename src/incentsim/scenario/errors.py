"""The one error type for bad input: it names the file, the key path and the reason."""

from __future__ import annotations

import re


class ScenarioError(ValueError):
    """A scenario (or sweep, or data) file is invalid.

    Parameters
    ----------
    source : str
        File name (or ``"<dict>"`` when built from Python).
    key : str
        Dotted key path inside the file, e.g. ``"funnel.quote.conversion"``; empty for the file.
    reason : str
        What is wrong, in one line.
    """

    def __init__(self, source: str, key: str, reason: str):
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}" if key else source
        super().__init__(_one_line(f"{where}: {reason}"))


def _one_line(text: str) -> str:
    """Escape newlines and other unprintable characters (keys and values come from the file)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


_MENTION = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)(=[^{}]*)?\}\}")


class ArgumentError(ScenarioError):
    """A bad argument of a library function, named as the caller wrote it (``method=``).

    The command line sets the same arguments with options; it rewrites the message with
    :meth:`for_cli`, so a Python caller reads ``method=`` and a CLI user ``--method``.

    Parameters
    ----------
    argument : str
        The parameter's Python name, e.g. ``"as_of"``; empty when the error is about the file
        and only mentions arguments (``map the column with {{columns}}``).
    reason : str
        What is wrong, in one line. Other arguments are mentioned as ``{{name}}`` (written
        ``name=``) or ``{{name=value}}`` (written ``name=value``; on the command line both
        are the option, ``--name``).
    source : str, optional
        The file the argument applies to (a CRM export, an output folder), if any.
    """

    def __init__(self, argument: str, reason: str, source: str = ""):
        self.argument = argument
        self.template = reason
        python = _MENTION.sub(lambda m: m.group(1) + (m.group(2) or "="), reason)
        super().__init__(source, f"{argument}=" if argument else "", python)

    def __str__(self) -> str:
        return self.for_cli(None)

    def for_cli(self, flag_of=None) -> str:
        """The message with arguments as ``flag_of(name)`` (None: as Python arguments, ``name=``)."""
        if flag_of is None:
            key, reason = self.key, self.reason
        else:
            key = flag_of(self.argument) if self.argument else ""
            reason = _MENTION.sub(lambda m: flag_of(m.group(1)), self.template)
        where = ": ".join(w for w in (self.source, key) if w)
        return _one_line(f"{where}: {reason}")
