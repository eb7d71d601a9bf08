"""Typed, path-aware reading of nested TOML tables.

Each :class:`Table` wraps one dict and its dotted key path. Getters validate type and range and
raise :class:`ScenarioError` naming the file, the key path and the reason; :meth:`Table.finish`
rejects keys that were never read, with a "did you mean" hint. So every section of a scenario
(or sweep) file is validated by simply reading it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import ScenarioError
from .limits import LIMITS, Limit

MISSING: Any = object()


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``' (did you mean "x"?)'`` for the closest choice, or ``''``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


class Table:
    """A validated view of one TOML table.

    Parameters
    ----------
    data : dict
        The table's contents.
    path : str
        Dotted key path of the table (``""`` for the file's top level).
    source : str
        File name for error messages.
    """

    def __init__(self, data: dict, path: str, source: str):
        if not isinstance(data, dict):
            raise ScenarioError(source, path, f"must be a table, got {_type_name(data)}")
        self.data = data
        self.path = path
        self.source = source
        self._read: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------
    def key(self, name: str) -> str:
        """Dotted path of a key in this table."""
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str | None, reason: str) -> ScenarioError:
        """Build the error for ``name`` (or for the table itself when ``None``)."""
        return ScenarioError(self.source, self.key(name) if name else self.path, reason)

    def has(self, name: str) -> bool:
        """Whether the key is present (marks nothing as read)."""
        return name in self.data

    def keys(self) -> list[str]:
        """Keys in file order."""
        return list(self.data)

    def raw(self, name: str, default: Any = MISSING) -> Any:
        """Read a value without validation."""
        self._read.add(name)
        if name not in self.data:
            if default is MISSING:
                # A misspelling of a required key is the likelier mistake: say that.
                close = difflib.get_close_matches(name, [str(k) for k in self.data], n=1, cutoff=0.75)
                if close:
                    raise self.error(close[0], f'unknown key (did you mean "{name}"?)')
                raise self.error(name, "is required")
            return default
        return self.data[name]

    def finish(self, allowed_extra: Sequence[str] = ()) -> None:
        """Reject keys that were not read."""
        for name in self.data:
            if name not in self._read and name not in allowed_extra:
                hint = did_you_mean(name, list(self._read) + list(allowed_extra))
                raise self.error(name, f"unknown key{hint}")

    # -- typed getters ------------------------------------------------------------------------
    def table(self, name: str, required: bool = False) -> Table:
        """A sub-table; an empty one when absent and not required."""
        value = self.raw(name, MISSING if required else {})
        return Table(value, self.key(name), self.source)

    def number(
        self,
        name: str,
        default: Any = MISSING,
        *,
        lo: float | None = None,
        hi: float | None = None,
        lo_open: bool = False,
        hi_open: bool = False,
        what: str | None = None,
        limit: str | Limit | None = None,
    ) -> float:
        """A real number in an optional range (integers accepted).

        ``limit`` names the key's row of :data:`incentsim.scenario.limits.LIMITS` (its domain and
        plausible range); ``lo``/``hi`` are for tables that have no row there.
        """
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        return check_number(self, name, value, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, what=what, limit=limit)

    def probability(self, name: str, default: Any = MISSING, *, limit: str | Limit | None = None) -> float:
        """A probability in [0, 1]."""
        return self.number(name, default, lo=0.0, hi=1.0, what="a probability in [0, 1]", limit=limit)

    def integer(
        self,
        name: str,
        default: Any = MISSING,
        *,
        lo: int | None = None,
        hi: int | None = None,
        limit: str | Limit | None = None,
    ) -> int:
        """An integer in an optional closed range (or the range of its ``limit`` row)."""
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.error(name, f"must be an integer, got {_type_name(value)} {_fmt(value)}")
        if limit is not None:
            reason = _limit(limit).check(value)
            if reason is not None:
                raise self.error(name, reason)
            return value
        if lo is not None and value < lo:
            raise self.error(name, f"must be at least {lo}, got {value}")
        if hi is not None and value > hi:
            raise self.error(name, f"must be at most {hi}, got {value}")
        return value

    def string(self, name: str, default: Any = MISSING, *, choices: Sequence[str] | None = None) -> str:
        """A string, optionally one of ``choices``."""
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str):
            raise self.error(name, f"must be a string, got {_type_name(value)} {_fmt(value)}")
        if choices is not None and value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(name, f"must be one of {', '.join(choices)}; got {value!r}{hint}")
        return value

    def boolean(self, name: str, default: Any = MISSING) -> bool:
        """A boolean."""
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {_type_name(value)} {_fmt(value)}")
        return value

    def numbers(
        self,
        name: str,
        default: Any = MISSING,
        *,
        length: int | None = None,
        min_length: int = 0,
        lo: float | None = None,
        hi: float | None = None,
        what: str | None = None,
        limit: str | Limit | None = None,
    ) -> tuple[float, ...]:
        """A list of numbers with an optional exact length and range (or the ``limit`` row of
        its items)."""
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(name, f"must be a list of numbers, got {_type_name(value)} {_fmt(value)}")
        if length is not None and len(value) != length:
            raise self.error(name, f"must have {length} values, got {len(value)}")
        if len(value) < min_length:
            raise self.error(name, f"must have at least {min_length} values, got {len(value)}")
        out = []
        for i, v in enumerate(value):
            out.append(check_number(self, f"{name}[{i}]", v, lo=lo, hi=hi, what=what, limit=limit))
        return tuple(out)

    def pairs(
        self, name: str, default: Any = MISSING, *, limits: tuple[str | Limit, str | Limit] | None = None
    ) -> tuple[tuple[float, float], ...]:
        """A list of ``[x, y]`` number pairs (``limits``: the rows of x and of y)."""
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, list) or not value:
            raise self.error(name, f"must be a non-empty list of [x, y] pairs, got {_fmt(value)}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, list) or len(item) != 2:
                raise self.error(f"{name}[{i}]", f"must be a pair [x, y], got {_fmt(item)}")
            x = check_number(self, f"{name}[{i}][0]", item[0], limit=limits[0] if limits else None)
            y = check_number(self, f"{name}[{i}][1]", item[1], limit=limits[1] if limits else None)
            out.append((x, y))
        return tuple(out)


def check_number(
    table: Table,
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str | None = None,
    limit: str | Limit | None = None,
) -> float:
    """Validate one number against a range, or against its row of the limits table (domain, then
    plausible range); raise a one-line :class:`ScenarioError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise table.error(name, f"must be a number, got {_type_name(value)} {_fmt(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range
        raise table.error(name, f"must be a finite number, got an integer of {len(str(value))} digits") from None
    if not math.isfinite(value):
        raise table.error(name, f"must be a finite number, got {value}")
    if limit is not None:
        reason = _limit(limit).check(value)
        if reason is not None:
            raise table.error(name, reason)
        return value
    bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
        hi is not None and (value > hi or (hi_open and value == hi))
    )
    if bad:
        if what is None:
            parts = []
            if lo is not None:
                parts.append(f"{'>' if lo_open else '>='} {lo:g}")
            if hi is not None:
                parts.append(f"{'<' if hi_open else '<='} {hi:g}")
            what = "a number " + " and ".join(parts)
        raise table.error(name, f"must be {what}, got {value:g}")
    return value


def _limit(limit: str | Limit) -> Limit:
    return limit if isinstance(limit, Limit) else LIMITS[limit]
