"""The example scenarios that ship with incentsim (``scenarios/`` in the repository)."""

from __future__ import annotations

from pathlib import Path


def examples_dir() -> Path | None:
    """Folder of bundled scenario files (installed wheel or source checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "examples", here.parent.parent / "scenarios"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return None


def _kind(path: Path) -> str:
    """``sweep`` (a top-level ``[sweep]`` table), ``design`` (``[design]`` without ``[sweep]``) or ``scenario``."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return "scenario"
    return "sweep" if "sweep" in data else ("design" if "design" in data else "scenario")


def _is_sweep(path: Path) -> bool:
    """Whether a TOML file is a sweep file (it has a top-level ``[sweep]`` table)."""
    return _kind(path) == "sweep"


def bundled() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled scenario (sweep and design files excluded), sorted by name."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _kind(p) == "scenario"}


def bundled_sweeps() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled sweep file."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _is_sweep(p)}


def bundled_designs() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled plan-design file."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _kind(p) == "design"}


def resolve(name_or_path: str) -> Path:
    """A scenario path: the file if it exists, else a bundled scenario of that name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    found = bundled().get(stem)
    return found if found is not None else path


def first_comment(path: Path) -> str:
    """The scenario's description: ``[scenario] description`` or its first comment line."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        desc = data.get("scenario", {}).get("description")
        if desc:
            return " ".join(str(desc).split())
    except (OSError, tomllib.TOMLDecodeError):
        pass
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""
