"""The scenario a page session edits: the nested dict of a scenario file, its checks, file and link.

The page never builds a :class:`~incentsim.scenario.schema.Scenario` itself: it edits the dict a
TOML file parses to, key by key, and asks ``scenario_from_dict`` (the same loader as files)
whether it is valid. So a bad value gets the loader's message naming the key, the file written
for download is that dict as TOML (``tomli_w``), and loading it gives the same scenario, hence the
same numbers, in the CLI.
"""

from __future__ import annotations

import base64
import copy
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario import Scenario, ScenarioError, scenario_from_dict

# Key paths have one home (the names sweeps, uncertainty and design use); re-exported for the page.
from ..scenario.keypaths import MISSING, get_path
from ..scenario.keypaths import split_path as split_key

#: The source name bad-input messages carry for values typed on the page.
PAGE_SOURCE = "page"
#: Replications the page starts with when a file asks for more (responsive first runs).
PAGE_REPLICATIONS = 2000


def set_path(data: dict, key: str, value: Any) -> None:
    """Set the value at a key path (creating tables); ``None`` removes the key."""
    parts = split_key(key)
    node: Any = data
    for part, nxt in zip(parts[:-1], parts[1:], strict=True):
        if isinstance(part, int):
            node = node[part]
            continue
        if not isinstance(node.get(part), (dict, list)):
            if value is None:
                return
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = parts[-1]
    if value is None:
        if isinstance(node, dict):
            node.pop(last, None)
        return
    node[last] = value


@dataclass
class Check:
    """The outcome of checking a draft with the loader.

    Attributes
    ----------
    scenario : Scenario or None
        The validated scenario (``None`` when invalid).
    error : ScenarioError or None
        The loader's one-line error: ``error.key`` names the key, ``error.reason`` the reason.
    """

    scenario: Scenario | None
    error: ScenarioError | None

    @property
    def ok(self) -> bool:
        """Whether the draft is valid."""
        return self.error is None


class Draft:
    """A scenario being edited: the raw nested dict, and the last version the loader accepted.

    Parameters
    ----------
    data : dict
        A parsed scenario file (copied).
    name : str
        What it was opened from (a bundled name or a file name), for the page and the download.
    """

    def __init__(self, data: dict, name: str = "scenario"):
        self.data = copy.deepcopy(data)
        self.name = name
        self.last_good: Scenario | None = None
        self.check()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str, name: str, page_replications: int | None = PAGE_REPLICATIONS) -> Draft:
        """A draft from a scenario file's text; ``ScenarioError`` naming ``name`` if it is not TOML.

        Parameters
        ----------
        page_replications : int, optional
            Lower ``simulation.replications`` to this when the file asks for more, so the first
            run on the page is quick (the user can raise it; the downloaded file keeps the value
            the page ran with).
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(name, "", f"is not valid TOML: {exc}") from None
        draft = cls(data, Path(name).stem)
        if page_replications is not None:
            reps = get_path(draft.data, "simulation.replications")
            current = reps if isinstance(reps, int) else (draft.last_good.simulation.replications
                                                           if draft.last_good else 10000)  # fmt: skip
            if current > page_replications:
                draft.set("simulation.replications", page_replications)
        return draft

    @classmethod
    def from_path(cls, path: str | Path, **kw) -> Draft:
        """A draft from a scenario file (``ScenarioError`` if unreadable)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(str(path), "", f"cannot be read ({exc})") from None
        return cls.from_toml(text, path.name, **kw)

    # -- editing --------------------------------------------------------------------------------
    def get(self, key: str, default: Any = MISSING) -> Any:
        """The raw value at a key path (``default`` when absent)."""
        value = get_path(self.data, key)
        return default if value is MISSING else value

    def set(self, key: str, value: Any) -> Check:
        """Set one key (``None`` removes it, so the loader's default applies) and check the draft."""
        set_path(self.data, key, value)
        return self.check()

    def check(self) -> Check:
        """Validate with the scenario loader; remember the scenario when valid."""
        try:
            sc = scenario_from_dict(copy.deepcopy(self.data), source=PAGE_SOURCE)
        except ScenarioError as exc:
            return Check(None, exc)
        self.last_good = sc
        return Check(sc, None)

    def effective(self, key: str, default: Any = None) -> Any:
        """What the loader uses for a company-level key: the raw value, else the last accepted
        scenario's (defaults and relationship presets applied), else ``default``."""
        value = get_path(self.data, key)
        if value is not MISSING:
            return value
        if self.last_good is not None:
            node: Any = self.last_good
            for part in split_key(key):
                if isinstance(part, int) or not hasattr(node, part):
                    node = MISSING
                    break
                node = getattr(node, part)
            if node is not MISSING and not hasattr(node, "__dataclass_fields__"):
                return node
        return default

    # -- schemes --------------------------------------------------------------------------------
    @property
    def stages(self) -> list[str]:
        """Funnel stage names in flow order."""
        funnel = self.data.get("funnel", {})
        return [k for k, v in funnel.items() if isinstance(v, dict)] if isinstance(funnel, dict) else []

    @property
    def schemes(self) -> list[str]:
        """Scheme names in file order."""
        schemes = self.data.get("schemes", {})
        return list(schemes) if isinstance(schemes, dict) else []

    def scheme_table(self, name: str) -> dict:
        """A scheme's table as the loader reads it: its preset's table with the file's keys over it."""
        from ..scenario.presets import PRESETS, merge, preset_table

        raw = self.data.get("schemes", {}).get(name, {})
        if not isinstance(raw, dict):
            return {}
        preset = raw.get("preset")
        if isinstance(preset, str) and preset in PRESETS:
            return merge(preset_table(preset), {k: v for k, v in raw.items() if k != "preset"})
        return raw

    def component_prefixes(self, scheme: str, role: str) -> list[str]:
        """Key paths of a role's components: ``schemes.S.R`` or ``schemes.S.R.components[i]``."""
        table = self.scheme_table(scheme).get(role)
        base = f"schemes.{scheme}.{role}"
        if not isinstance(table, dict):
            return []
        comps = table.get("components")
        if isinstance(comps, list) and comps:
            return [f"{base}.components[{i}]" for i in range(len(comps))]
        return [base]

    def component_value(self, prefix: str, key: str, default: Any = None) -> Any:
        """A component key as the loader sees it (preset merged), else ``default``."""
        parts = split_key(prefix)
        table = self.scheme_table(str(parts[1]))
        node = get_path(table, f"{parts[2]}.components[{parts[4]}]") if len(parts) > 3 else table.get(str(parts[2]))
        if isinstance(node, dict) and key in node:
            return node[key]
        return default

    def set_component(self, prefix: str, key: str, value: Any) -> Check:
        """Set a component key; a preset's role table is first copied into the file so the edit applies."""
        parts = split_key(prefix)
        scheme, role = str(parts[1]), str(parts[2])
        raw = self.data["schemes"][scheme]
        if "components" in self.scheme_table(scheme).get(role, {}) and not isinstance(
            raw.get(role, {}).get("components"), list
        ):
            # A preset's components list must be copied whole: a list is replaced, not merged.
            raw.setdefault(role, {})["components"] = copy.deepcopy(self.scheme_table(scheme)[role]["components"])
        return self.set(f"{prefix}.{key}", value)

    def set_preset(self, scheme: str, preset: str | None) -> Check:
        """Replace a scheme by a preset (keeping its description), or drop the preset mark."""
        raw = self.data["schemes"][scheme]
        if preset:
            desc = raw.get("description")
            self.data["schemes"][scheme] = {"preset": preset} | ({"description": desc} if desc else {})
        else:
            table = self.scheme_table(scheme)
            table.pop("preset", None)
            self.data["schemes"][scheme] = table
        return self.check()

    # -- files and links ------------------------------------------------------------------------
    def to_toml(self) -> str:
        """The scenario file (TOML) of the draft as it is: load it and you get the same scenario."""
        import tomli_w

        header = (
            f"# Scenario {self.name!r}, saved from the incentsim web page.\n"
            "# Run it with: incentsim compare THIS_FILE (same seed and replications: the same numbers).\n\n"
        )
        return header + tomli_w.dumps(self.data)

    def share_token(self) -> str:
        """The draft packed for a link: zlib-compressed TOML in URL-safe base64."""
        import tomli_w

        packed = zlib.compress(tomli_w.dumps({"name": self.name, "scenario": self.data}).encode(), 9)
        return base64.urlsafe_b64encode(packed).decode().rstrip("=")

    @classmethod
    def from_share_token(cls, token: str) -> Draft:
        """The draft a :meth:`share_token` packed (``ScenarioError`` for a damaged link)."""
        try:
            inflate = zlib.decompressobj()
            raw = inflate.decompress(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), 1 << 22)
            if inflate.unconsumed_tail:
                raise ValueError("too large")
            data = tomllib.loads(raw.decode())
            return cls(data["scenario"], str(data.get("name", "shared")))
        except (ValueError, KeyError, zlib.error, tomllib.TOMLDecodeError, UnicodeDecodeError):
            raise ScenarioError("link", "s", "is not a scenario link made by this page (damaged or cut off?)") from None
