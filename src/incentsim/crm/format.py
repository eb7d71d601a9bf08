"""The CRM export format: reading and validating an export of leads and opportunities.

Format
------
A CSV file (UTF-8, a header row; comma, semicolon or tab separated, detected) or an Excel
workbook (``.xlsx``, first sheet; needs the optional extra ``pip install 'incentsim[excel]'``).
One row per lead or opportunity:

==================  ====================================================================
column              meaning
==================  ====================================================================
``id``              unique record id (required)
``owner``           the sales rep who owns it once handed over or self-sourced; blank or
                    ``marketing`` while it is a lead with marketing
``source``          ``marketing`` (from marketing's campaigns; also ``inbound``, ``mkt``)
                    or ``self`` (self-sourced by a rep; also ``self-sourced``, ``outbound``)
``created_date``    when the lead (marketing) or the prospect (self-sourced) was created
``appointment_date``  when it entered the appointment stage: for a marketing lead the
                    hand-off to sales; for a self-sourced prospect its creation (may be blank)
``followup_date``   optional: when sales first followed up a handed-over appointment (the
                    visit); blank if never. Enables the hand-off estimates
``quote_date``      when it entered the quote stage (blank if never)
``closed_date``     when it was won or lost (blank while open)
``outcome``         ``won``, ``lost`` or ``open`` (also ``closed won``, ``closed lost``)
``stage``           optional: the stage it is in, or was in when closed (``lead``,
                    ``appointment``, ``quote``, ``won``, ``lost``); checked against the dates
``amount``          the deal's value (gross margin of the first 12 months); needed for won deals
``recycled_from``   optional: for a lead that fell back to marketing after sales ignored it,
                    the id of that appointment
==================  ====================================================================

Headers match case-insensitively, spaces and hyphens read as underscores (``Created Date`` is
``created_date``). Other names are mapped with ``columns`` (CLI: ``--column created=CreatedDate``;
keys may drop ``_date``). Extra columns are ignored.

Stages: the first stage's date is ``created_date``; every later stage has a ``<stage>_date``
column. The default funnel is ``lead -> appointment -> quote -> won`` with the hand-off to
sales at ``appointment`` (CLI: ``--stages``, ``--handoff`` for others). Self-sourced items start
at the hand-off stage.

Dates: ISO 8601 (``2024-03-05``, with or without a time) always; other formats are read
month-first (``03/05/2024`` is 5 March) unless ``dayfirst`` (``05/03/2024``, ``05.03.2024``).

Weeks: the model's time runs in weeks, 52 a year. A date falls in week
``floor(day_of_year * 52 / days_in_year)`` of its year (weeks of 7 or 8 days) and in the global
week ``year * 52 + week``; :func:`model_week` and :func:`week_span` convert both ways.

Bad rows: a row that fails a check is set aside with the first failing reason of
:data:`REASONS` (its line number and the offending value kept for the report); it is never
silently dropped. A file that cannot be read at all raises :class:`ScenarioError` (one line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario.errors import ArgumentError, ScenarioError

DEFAULT_STAGES: tuple[str, ...] = ("lead", "appointment", "quote")
OUTCOMES = ("won", "lost", "open")
_OUTCOME_ALIASES = {
    "won": "won",
    "closed won": "won",
    "closed_won": "won",
    "closed-won": "won",
    "lost": "lost",
    "closed lost": "lost",
    "closed_lost": "lost",
    "closed-lost": "lost",
    "open": "open",
}
_SOURCE_ALIASES = {
    "marketing": "marketing",
    "mkt": "marketing",
    "inbound": "marketing",
    "self": "self",
    "self-sourced": "self",
    "self_sourced": "self",
    "self sourced": "self",
    "outbound": "self",
    "sales": "self",
}
#: Reasons a row is set aside, in the order they are checked (a row gets the first that applies).
#: The first three are found while reading the file, before the row has columns.
REASONS = (
    "unreadable row",
    "not UTF-8 text",
    "wrong number of fields",
    "missing id",
    "duplicate id",
    "unknown source",
    "unknown outcome",
    "unknown stage",
    "missing owner",
    "missing or unreadable date",
    "unreadable amount",
    "negative amount",
    "closed before created",
    "dates out of order",
    "open but has a closed date",
    "implausible amount",
    "date outside the plausible window",
    "date after the export date",
    "dated far from every other row",
)
#: Dates before this are refused as implausible for a CRM export (typos such as 1900-01-01).
FIRST_PLAUSIBLE_DATE = pd.Timestamp("1990-01-01")
#: A row whose creation (or latest date) lies more than this before (after) every other row's,
#: among the first (last) 1 % of rows, is set aside: it would stretch the calibration window.
ISOLATION_GAP = pd.Timedelta(weeks=26)
ISOLATED_SHARE = 0.01
_EXCEL = (".xlsx", ".xlsm", ".xls")


@dataclass
class Export:
    """A validated CRM export.

    Attributes
    ----------
    source : str
        The file.
    stages : tuple of str
        Funnel stages in flow order (the last converts to won).
    handoff : str
        First sales stage.
    items : pandas.DataFrame
        The usable rows: ``row`` (line in the file), ``id``, ``owner``, ``source``
        (``marketing``/``self``), ``outcome``, ``amount`` (NaN when blank), ``recycled_from``,
        ``created``, ``date_<stage>`` for every stage (NaT when not reached; a marketing item's
        first stage is its creation, a self-sourced item's hand-off stage its creation when
        blank), ``followup``, ``closed``, and ``reached`` (index of the furthest stage).
    bad : pandas.DataFrame
        Rows set aside: ``row``, ``id``, ``reason``, ``detail``.
    rows_read : int
        Data rows in the file.
    as_of : pandas.Timestamp
        The export's date: still-open items are censored here.
    has_followup, has_recycled : bool
        Whether the optional ``followup_date`` / ``recycled_from`` columns are present.
    notes : dict of str to int
        Rows kept but used only in part (for example won deals without an amount).
    """

    source: str
    stages: tuple[str, ...]
    handoff: str
    items: pd.DataFrame
    bad: pd.DataFrame
    rows_read: int
    as_of: pd.Timestamp
    has_followup: bool
    has_recycled: bool
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def handoff_index(self) -> int:
        """Index of the hand-off stage in :attr:`stages`."""
        return self.stages.index(self.handoff)

    @property
    def bad_counts(self) -> dict[str, int]:
        """Rows set aside per reason, in :data:`REASONS` order (reasons with none left out)."""
        counts = self.bad["reason"].value_counts()
        return {r: int(counts[r]) for r in REASONS if r in counts.index}

    @property
    def as_of_week(self) -> int:
        """Global model week of :attr:`as_of` (the last observed week)."""
        return int(model_week(pd.Series([self.as_of]))[0])

    def week(self, column: str) -> np.ndarray:
        """Global model week of an item date column (``-1`` where blank)."""
        return model_week(self.items[column])

    @property
    def reps(self) -> list[str]:
        """Sorted owners of items that reached the hand-off stage (the sales reps)."""
        sales = self.items["reached"] >= self.handoff_index
        return sorted(self.items.loc[sales, "owner"].unique().tolist())

    def bad_summary(self, examples: int = 3) -> list[str]:
        """One line per reason: count, and the first few line numbers with the detail."""
        out = []
        for reason, n in self.bad_counts.items():
            rows = self.bad[self.bad["reason"] == reason].head(examples)
            ex = ", ".join(
                f"line {r}" + (f" ({d})" if d else "") for r, d in zip(rows["row"], rows["detail"], strict=True)
            )
            out.append(f"{n:,} {reason}: {ex}{', ...' if n > examples else ''}")
        return out


def model_week(dates) -> np.ndarray:
    """Global model week ``year * 52 + week`` of each date (``-1`` for a blank date).

    Parameters
    ----------
    dates : pandas.Series or array-like of datetime
        Dates (blank ones allowed).

    Returns
    -------
    ndarray(int64)
    """
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates), errors="coerce"))
    blank = np.asarray(d.isna())
    filled = d.fillna(pd.Timestamp("2000-01-01"))
    year = np.asarray(filled.year, dtype=np.int64)
    doy0 = np.asarray(filled.day_of_year, dtype=np.int64) - 1
    days = 365 + np.asarray(filled.is_leap_year, dtype=np.int64)
    week = (doy0 * 52) // days
    return np.where(blank, -1, year * 52 + week)


def week_span(global_week: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First day and length in days of each global model week (the inverse of :func:`model_week`).

    Returns
    -------
    (ndarray of datetime64[D], ndarray of int64)
        Week ``w`` of a year of ``D`` days covers days ``ceil(w D / 52)`` to
        ``ceil((w + 1) D / 52) - 1`` of the year (counted from 0): 7 or 8 days.
    """
    g = np.asarray(global_week, dtype=np.int64)
    year = g // 52
    w = g % 52
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = 365 + leap.astype(np.int64)
    first = -((-w * days) // 52)  # ceil
    nxt = -((-(w + 1) * days) // 52)
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return jan1 + first, nxt - first


def resolve_columns(columns: dict[str, str] | None, stages: tuple[str, ...], source: str) -> dict[str, str]:
    """Check a ``{key: header}`` column mapping; keys may drop ``_date`` (``created``, ``quote``)."""
    known = canonical_columns(stages)
    out = {}
    for key, header in (columns or {}).items():
        k = key.strip().lower()
        if k not in known and f"{k}_date" in known:
            k = f"{k}_date"
        if k not in known:
            raise ArgumentError("columns", f"unknown column {key!r}; known: {', '.join(known)}", source)
        out[k] = header
    return out


def canonical_columns(stages: tuple[str, ...]) -> tuple[str, ...]:
    """All column names the format knows, for a funnel with these stages."""
    stage_cols = tuple(f"{s}_date" for s in stages[1:])
    return (
        "id",
        "owner",
        "source",
        "created_date",
        *stage_cols,
        "followup_date",
        "closed_date",
        "outcome",
        "stage",
        "amount",
        "recycled_from",
    )


def read_export(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    stages: tuple[str, ...] | None = None,
    handoff: str | None = None,
    dayfirst: bool = False,
    as_of: str | pd.Timestamp | None = None,
) -> Export:
    """Read and validate a CRM export.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` file or an Excel workbook (``.xlsx``).
    columns : dict, optional
        ``{format column: header in the file}`` for headers that differ.
    stages : tuple of str, optional
        Funnel stages in flow order (default ``lead, appointment, quote``).
    handoff : str, optional
        First sales stage (default ``appointment`` when present, else the second stage).
    dayfirst : bool
        Read non-ISO dates day-first.
    as_of : str or Timestamp, optional
        The export's date (default: the latest date in it). Open items are censored there.

    Returns
    -------
    Export

    Raises
    ------
    ScenarioError
        When the file cannot be read, lacks a required column, or has no usable row.
    """
    src = str(path)
    stages = tuple(s.strip().lower() for s in (stages or DEFAULT_STAGES))
    if len(stages) < 2 or len(set(stages)) != len(stages) or any(not s for s in stages):
        raise ArgumentError("stages", "need at least two distinct stage names (for example lead, appointment)", src)
    if {"won", "lost", "open"} & set(stages):
        raise ArgumentError("stages", "won, lost and open are outcomes, not stages", src)
    if handoff is None:
        handoff = "appointment" if "appointment" in stages else stages[1]
    handoff = handoff.strip().lower()
    if handoff not in stages or handoff == stages[0]:
        raise ArgumentError("handoff", f"must name a stage after the first of {', '.join(stages)}", src)
    as_of_ts = None
    if as_of is not None:
        as_of_ts = parse_dates(pd.Series([str(as_of)]), dayfirst).iloc[0]
        if pd.isna(as_of_ts):
            raise ArgumentError("as_of", f"is not a date: {as_of!r}", src)
        if as_of_ts < FIRST_PLAUSIBLE_DATE:
            raise ArgumentError("as_of", f"{as_of!r} is before {FIRST_PLAUSIBLE_DATE.date()}", src)
    raw, lines, unread = _read_table(Path(path))
    mapping = resolve_columns(columns, stages, src)
    raw = _rename(raw, mapping, stages, src, lines)
    return _validate(raw, src, stages, handoff, dayfirst, as_of_ts, unread)


def _read_table(path: Path) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The file's rows as strings, each row's first line in the file, and the rows set aside
    while reading (``row``, ``id``, ``reason``, ``detail``)."""
    src = str(path)
    if not path.exists():
        raise ScenarioError(src, "", "file not found")
    if path.is_dir():
        raise ScenarioError(src, "", "is a directory, not a CRM export")
    if path.stat().st_size == 0:
        raise ScenarioError(src, "", "is empty")
    try:
        if path.suffix.lower() in _EXCEL:
            try:
                import openpyxl  # noqa: F401
            except ImportError:
                raise ScenarioError(
                    src,
                    "",
                    "reading Excel files needs openpyxl: pip install 'incentsim[excel]' (or save as CSV)",
                ) from None
            df = pd.read_excel(path, dtype=str, keep_default_na=False)
            lines = np.arange(len(df)) + 2  # the header is row 1
            unread = _no_rows()
        else:
            df, lines, unread = _read_csv(path)
    except ScenarioError:
        raise
    except UnicodeDecodeError:
        raise ScenarioError(src, "", "is not a UTF-8 text file, so not a CSV export") from None
    except pd.errors.EmptyDataError:
        raise ScenarioError(src, "", "is empty") from None
    except (pd.errors.ParserError, csv_error()) as exc:
        msg = " ".join(str(exc).split())
        raise ScenarioError(src, "", f"is not a readable CSV file ({msg})") from None
    except (OSError, ValueError) as exc:
        msg = " ".join(str(getattr(exc, "strerror", None) or exc).split())
        raise ScenarioError(src, "", f"cannot be read ({msg})") from None
    if df.shape[1] < 2:
        raise ScenarioError(src, "", "has fewer than two columns: not a CRM export (expected a header row)")
    if len(df) == 0:
        if len(unread):
            first = unread.iloc[0]
            what = "is not a readable CSV file" if first["reason"] == "unreadable row" else "has no readable rows"
            where = f"line {first['row']}: {first['reason']}, {first['detail']}"
            raise ScenarioError(src, "", f"{what} ({len(unread):,} set aside; {where})")
        raise ScenarioError(src, "", "has a header but no rows")
    return df, lines, unread


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype=np.int64), "id": "", "reason": "", "detail": ""}).iloc[:0]


def _read_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Read a CSV export row by row with the standard library's reader.

    The delimiter (comma, semicolon, tab or bar) is sniffed from the header. Each record keeps
    the line it starts on (a quoted field may span lines). A record with a byte that is not
    UTF-8, with more or fewer fields than the header, or that the CSV reader cannot parse (a
    stray quote) is set aside with its line and the reason; the other rows are read as they are.
    """
    import codecs
    import csv
    import io

    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    text = raw.decode("utf-8", errors="surrogateescape")  # undecodable bytes become lone surrogates
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        raise pd.errors.EmptyDataError("no header")
    if _has_bad_bytes(header_line) or "\x00" in header_line:
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "the header is not UTF-8 text")
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    clean_text = not _has_bad_bytes(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True)
    header = next(reader)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[int, str, str, str]] = []
    previous = reader.line_num
    while True:
        start = previous + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = reader.line_num
            span = f"; the row runs to line {end}" if end > start else ""
            bad.append((start, "", "unreadable row", f"{' '.join(str(exc).split())}{span}"))
            if reader.line_num == previous:  # no progress: stop rather than loop
                break
            previous = reader.line_num
            continue
        previous = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line
        first = record[0] if record else ""
        if clean_text is False and _has_bad_bytes("".join(record)):
            field = next(i for i, f in enumerate(record) if _has_bad_bytes(f))
            name = header[field] if field < width else f"field {field + 1}"
            bad.append((start, _printable(first), "not UTF-8 text", f"bytes that are not UTF-8 in {name}"))
        elif len(record) != width:
            detail = f"{len(record)} fields, the header has {width}"
            bad.append((start, _printable(first), "wrong number of fields", detail))
        else:
            rows.append(record)
            lines.append(start)
    encoding_bad = sum(1 for b in bad if b[2] == "not UTF-8 text")
    if encoding_bad and encoding_bad >= max(1, len(rows)):
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "most rows are not UTF-8 text")
    df = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)
    unread = pd.DataFrame(bad, columns=["row", "id", "reason", "detail"]) if bad else _no_rows()
    return df, np.asarray(lines, dtype=np.int64), unread


def _has_bad_bytes(text: str) -> bool:
    """Whether a decoded string holds bytes that were not UTF-8 (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(text: str) -> str:
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8", errors="replace")
    return text if len(text) <= 40 else text[:37] + "..."


def csv_error() -> type[Exception]:
    """The standard library's CSV error type (the python engine of pandas raises it)."""
    import csv

    return csv.Error


def _norm_header(h: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(h).strip().lower())


def _rename(
    df: pd.DataFrame, mapping: dict[str, str], stages: tuple[str, ...], src: str, lines: np.ndarray
) -> pd.DataFrame:
    headers = {str(c): c for c in df.columns}
    out = {}
    for key, header in mapping.items():
        if header not in headers:
            have = ", ".join(list(headers)[:12]) + (", ..." if len(headers) > 12 else "")
            raise ArgumentError("columns", f"no column {header!r} in the file (for {key}); it has {have}", src)
        out[key] = df[headers[header]]
    normal = {_norm_header(c): c for c in df.columns}
    for key in canonical_columns(stages):
        if key not in out and key in normal:
            out[key] = df[normal[key]]
    required = [
        "id",
        "owner",
        "source",
        "created_date",
        *[f"{s}_date" for s in stages[1:]],
        "closed_date",
        "outcome",
        "amount",
    ]
    missing = [k for k in required if k not in out]
    if missing:
        other = [
            n[: -len("_date")]
            for n in normal
            if n.endswith("_date") and n not in ("created_date", "closed_date", "followup_date")
        ]
        if other and any(f"{s}_date" in missing for s in stages[1:]) and set(other) != set(stages[1:]):
            hint = f"; its stage dates suggest {{{{stages}}}} {stages[0]},{','.join(other)}"
        else:
            have = ", ".join(map(str, list(df.columns)[:12])) + (", ..." if df.shape[1] > 12 else "")
            hint = f"; the file has {have}"
        raise ArgumentError(
            "", f"missing column(s) {', '.join(missing)} (map with {{{{columns}}}} NAME=HEADER{hint})", src
        )
    table = pd.DataFrame({k: v.astype(str).str.strip() for k, v in out.items()})
    table.insert(0, "row", lines)  # the line in the file where the row starts (header is line 1)
    return table


def parse_dates(values: pd.Series, dayfirst: bool) -> pd.Series:
    """Parse date strings: ISO 8601 first, then other formats (day-first if asked); NaT if unreadable."""
    s = values.astype(str).str.strip()
    iso = pd.to_datetime(s, format="ISO8601", errors="coerce")
    rest = iso.isna() & (s != "")
    if rest.any():
        other = pd.to_datetime(s[rest], format="mixed", dayfirst=dayfirst, errors="coerce")
        iso = iso.copy()
        iso[rest] = other
    # Dates beyond pandas' nanosecond range (before 1677 or after 2262, such as 2999-12-31) are
    # unreadable here; the plausible window is checked later.
    iso = iso.where((iso >= pd.Timestamp.min) & (iso <= pd.Timestamp.max))
    return iso.dt.normalize().astype("datetime64[ns]")


def _validate(
    raw: pd.DataFrame,
    src: str,
    stages: tuple[str, ...],
    handoff: str,
    dayfirst: bool,
    as_of: pd.Timestamp | None,
    unread: pd.DataFrame | None = None,
) -> Export:
    n = len(raw)
    k = stages.index(handoff)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)

    def flag(mask, why: str, what=None) -> None:
        mask = np.asarray(mask, dtype=bool) & (reason == "")
        reason[mask] = why
        if what is not None:
            detail[mask] = np.asarray(what, dtype=object)[mask] if not isinstance(what, str) else what

    ids = raw["id"]
    flag(ids == "", "missing id")
    flag(ids.duplicated(keep="first") & (ids != ""), "duplicate id", "id " + ids)
    source = raw["source"].str.lower().map(_SOURCE_ALIASES)
    flag(source.isna(), "unknown source", "source " + raw["source"].map(repr))
    outcome = raw["outcome"].str.lower().map(_OUTCOME_ALIASES)
    flag(outcome.isna(), "unknown outcome", "outcome " + raw["outcome"].map(repr))
    if "stage" in raw:
        stage_val = raw["stage"].str.lower().str.strip()
        allowed = set(stages) | {"won", "lost", "closed won", "closed lost", "closed_won", "closed_lost", ""}
        flag(~stage_val.isin(allowed), "unknown stage", "stage " + raw["stage"].map(repr))
    else:
        stage_val = pd.Series("", index=raw.index)

    # Dates.
    created = parse_dates(raw["created_date"], dayfirst)
    closed = parse_dates(raw["closed_date"], dayfirst)
    sdates = {s: parse_dates(raw[f"{s}_date"], dayfirst) for s in stages[1:]}
    has_followup = "followup_date" in raw
    followup = parse_dates(raw["followup_date"], dayfirst) if has_followup else pd.Series(pd.NaT, index=raw.index)
    unreadable = np.zeros(n, dtype=bool)
    what = np.full(n, "", dtype=object)
    cols = [
        ("created_date", created),
        *[(f"{s}_date", sdates[s]) for s in stages[1:]],
        ("closed_date", closed),
    ]
    if has_followup:
        cols.append(("followup_date", followup))
    for col, parsed in cols:
        bad = (raw[col] != "") & parsed.isna()
        new = bad & ~unreadable
        what[new] = f"{col} " + raw[col][new].map(repr)
        unreadable |= bad
    blank_created = created.isna() & ~unreadable
    what[blank_created] = "created_date blank"
    is_mkt = (source == "marketing").to_numpy()
    # Stage entry dates: the first stage of a marketing item is its creation; a self-sourced item
    # starts at the hand-off stage (its creation when the stage date is blank).
    entry = {stages[0]: created.where(is_mkt)}
    for s in stages[1:]:
        entry[s] = sdates[s]
    entry[handoff] = entry[handoff].where(entry[handoff].notna() | is_mkt, created)
    for j in range(1, k):  # marketing stages hold no self-sourced item
        entry[stages[j]] = entry[stages[j]].where(is_mkt)
    have = np.column_stack([entry[s].notna().to_numpy() for s in stages])
    idx = np.arange(len(stages))
    reached = np.where(have.any(axis=1), (have * (idx + 1)).max(axis=1) - 1, -1)
    start = np.where(is_mkt, 0, k)
    gap = np.zeros(n, dtype=bool)
    for j in range(len(stages)):
        need = (idx[j] >= start) & (idx[j] <= reached) & ~have[:, j]
        new = need & ~gap & ~unreadable
        what[new] = f"{stages[j]}_date blank but a later stage is dated"
        gap |= need
    won = (outcome == "won").to_numpy()
    closed_out = outcome.isin(["won", "lost"]).to_numpy()
    won_short = won & (reached < len(stages) - 1)
    what[won_short & (what == "")] = f"won without {stages[-1]}_date"
    no_close = closed_out & closed.isna().to_numpy()
    what[no_close & (what == "")] = "closed_date blank on a closed deal"
    stage_pos = stage_val.map({s: i for i, s in enumerate(stages)}).fillna(-1).to_numpy(dtype=np.int64)
    stage_undated = stage_pos > reached
    sel = stage_undated & (what == "")
    if sel.any():
        what[sel] = "stage " + raw["stage"][sel].map(repr) + " but no date for it"
    mkt_sales = is_mkt & (reached >= k)
    owner = raw["owner"]
    owner_blank = (owner == "") | (owner.str.lower() == "marketing")
    flag(((reached >= k) & owner_blank.to_numpy()), "missing owner", "owner blank on a sales item")
    need_followup = np.zeros(n, dtype=bool)
    if has_followup:
        # A handed-over appointment that moved on (or was won) must have been followed up.
        need_followup = mkt_sales & (reached > k) & followup.isna().to_numpy()
        what[need_followup & (what == "")] = "followup_date blank on an appointment that moved on"
    flag(
        unreadable
        | blank_created.to_numpy()
        | gap
        | won_short
        | no_close
        | stage_undated
        | need_followup
        | (~is_mkt & (reached < k) & (reason == "")),
        "missing or unreadable date",
        what,
    )

    # Amounts.
    amount_s = raw["amount"].str.replace(r"[\s€$£]", "", regex=True)
    amount = pd.to_numeric(amount_s, errors="coerce")
    flag((amount_s != "") & amount.isna(), "unreadable amount", "amount " + raw["amount"].map(repr))
    flag(amount < 0, "negative amount", "amount " + raw["amount"])

    # Order of dates.
    flag(
        (closed < created).fillna(False).to_numpy(),
        "closed before created",
        "closed "
        + closed.dt.strftime("%Y-%m-%d").fillna("")
        + " < created "
        + created.dt.strftime("%Y-%m-%d").fillna(""),
    )
    seq = [created] + [entry[s] for s in stages[1:]]
    if has_followup:
        seq = [created] + [entry[s] for s in stages[1 : k + 1]] + [followup] + [entry[s] for s in stages[k + 1 :]]
    seq.append(closed)
    last = seq[0]
    disorder = np.zeros(n, dtype=bool)
    for d in seq[1:]:
        disorder |= (d < last).fillna(False).to_numpy()
        last = d.where(d.notna(), last)
    if has_followup:
        disorder |= (followup.notna() & entry[handoff].isna()).to_numpy() & is_mkt
    flag(disorder, "dates out of order", "a stage date before an earlier stage's")
    flag((outcome == "open").to_numpy() & closed.notna().to_numpy(), "open but has a closed date")
    # Plausible values: an amount beyond any deal (inf, 1e308), a date before 1990 or in the future.
    top = AMOUNT_MAX
    flag(
        (amount.abs() > top).fillna(False).to_numpy(),
        "implausible amount",
        "amount " + raw["amount"].map(repr) + f", above {top:,.0f}",
    )
    all_dates = pd.concat([created, closed, followup, *sdates.values()], axis=1).max(axis=1)
    first_dates = pd.concat([created, closed, followup, *sdates.values()], axis=1).min(axis=1)
    latest = as_of if as_of is not None else pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
    flag(
        (first_dates < FIRST_PLAUSIBLE_DATE).fillna(False).to_numpy(),
        "date outside the plausible window",
        first_dates.dt.strftime("%Y-%m-%d").fillna("") + f" is before {FIRST_PLAUSIBLE_DATE.date()}",
    )
    if as_of is not None:
        flag((all_dates > as_of).to_numpy(), "date after the export date", all_dates.dt.strftime("%Y-%m-%d"))
    else:
        flag(
            (all_dates > latest).fillna(False).to_numpy(),
            "date outside the plausible window",
            all_dates.dt.strftime("%Y-%m-%d").fillna("") + " is in the future",
        )
    _flag_isolated(flag, reason, created, all_dates)

    good = reason == ""
    if not good.any():
        counts = pd.Series(list(reason) + ([] if unread is None else list(unread["reason"]))).value_counts()
        top = "; ".join(f"{v:,} {r}" for r, v in counts.items())
        raise ScenarioError(src, "", f"no usable rows ({top})")
    items = pd.DataFrame(
        {
            "row": raw["row"].to_numpy(),
            "id": ids.to_numpy(),
            "owner": np.where(owner_blank, "", owner),
            "source": source.to_numpy(),
            "outcome": outcome.to_numpy(),
            "amount": amount.to_numpy(dtype=float),
            "recycled_from": raw["recycled_from"].to_numpy() if "recycled_from" in raw else "",
            "created": created.to_numpy(),
            **{f"date_{s}": entry[s].to_numpy() for s in stages},
            "followup": followup.to_numpy(),
            "closed": closed.to_numpy(),
            "reached": reached,
        }
    )[good].reset_index(drop=True)
    bad = pd.DataFrame({"row": raw["row"], "id": ids, "reason": reason, "detail": detail})[~good]
    if unread is not None and len(unread):
        bad = pd.concat([bad, unread], ignore_index=True).sort_values("row", kind="stable")
    notes = {}
    won_items = items["outcome"] == "won"
    no_amount = int((won_items & ~(items["amount"] > 0)).sum())
    if no_amount:
        notes["won deals without a positive amount (used for conversions, not for deal values)"] = no_amount
    if as_of is None:
        as_of = pd.Timestamp(all_dates[good].max())
    return Export(
        source=src,
        stages=stages,
        handoff=handoff,
        items=items,
        bad=bad.reset_index(drop=True),
        rows_read=n + (0 if unread is None else len(unread)),
        as_of=pd.Timestamp(as_of).normalize(),
        has_followup=has_followup,
        has_recycled="recycled_from" in raw,
        notes=notes,
    )


def _amount_max() -> float:
    from ..scenario.limits import LIMITS

    return float(LIMITS["deals.value_mean"].plausible_hi)


#: The largest amount a row may carry: the plausible bound of a deal value (scenario limits).
AMOUNT_MAX = _amount_max()


def _flag_isolated(flag, reason: np.ndarray, created: pd.Series, latest: pd.Series) -> None:
    """Set aside rows dated far from all the others: the robust span of the export.

    Among the first (last) 1 % of the usable rows by creation (latest) date, a row separated
    from the next by more than :data:`ISOLATION_GAP` with no row in between is set aside (with
    everything before it), so one typo (a lead created in 1995 in a 2022-2024 export) cannot
    stretch the calibration window and divide the weekly rates.
    """
    ok = reason == ""
    n = int(ok.sum())
    if n < 2:
        return
    k = max(1, int(ISOLATED_SHARE * n))
    for dates, early in ((created, True), (latest, False)):
        d = dates[ok].dropna().sort_values(ascending=early)
        if len(d) < 2:
            continue
        values = d.to_numpy()
        gaps = np.abs(np.diff(values[: k + 1])) > ISOLATION_GAP.to_timedelta64()
        if not gaps.any():
            continue
        cut = int(np.nonzero(gaps)[0].max()) + 1  # rows before the last big gap among the extremes
        edge = pd.Timestamp(values[cut])
        if early:
            mask = (dates < edge).fillna(False).to_numpy()
            text = f"created {{}}, over {ISOLATION_GAP.days // 7} weeks before the other rows (from {edge.date()})"
        else:
            mask = (dates > edge).fillna(False).to_numpy()
            text = f"dated {{}}, over {ISOLATION_GAP.days // 7} weeks after the other rows (to {edge.date()})"
        flag(mask & ok, "dated far from every other row", dates.dt.strftime("%Y-%m-%d").map(text.format))
