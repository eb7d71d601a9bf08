"""Build hook: compile the gettext catalogues (``.po`` -> ``.mo``) for wheels and editable installs.

The ``.mo`` files are build products (gitignored): Babel compiles each
``src/incentsim/locale/<lang>/LC_MESSAGES/<domain>.po`` next to itself, and the wheel ships them
as artifacts, so ``pip install`` and ``make install`` both give working translations.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    """Compile every message catalogue before the wheel is assembled."""

    def initialize(self, version: str, build_data: dict) -> None:
        """Write each ``.mo`` next to its ``.po`` and add it to the wheel."""
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        for po in sorted((root / "src" / "incentsim" / "locale").glob("*/LC_MESSAGES/*.po")):
            with open(po, "rb") as fh:
                catalog = read_po(fh)
            mo = po.with_suffix(".mo")
            tmp = mo.with_suffix(".mo.tmp")
            with open(tmp, "wb") as fh:
                write_mo(fh, catalog)
            tmp.replace(mo)
            build_data["artifacts"].append(mo.relative_to(root).as_posix())
