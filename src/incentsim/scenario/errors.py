"""The one error type for bad input: it names the file, the key path and the reason."""

from __future__ import annotations


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
