"""``incentsim serve``: the local web page for directors and HR."""

from __future__ import annotations

import click


@click.command("serve")
@click.argument("scenario", metavar="[SCENARIO]", required=False)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; anyone who can reach it can use the page).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--lang", type=click.Choice(["en", "nl"]), default="en", show_default=True,
              help="Language of the page and its report (nl: Dutch); the page also has a switch.")
@click.option("--no-browser", is_flag=True,
              help="Do not open a browser (by default one opens when there is a display).")
def serve_cmd(scenario, host, port, lang, no_browser):  # fmt: skip
    """Start the web page: edit a scenario, compare its schemes, download the report.

    SCENARIO (a file, or a bundled name such as separate-vs-shared; default separate-vs-shared)
    is where each new browser tab starts; the page can also open bundled scenarios, an uploaded
    scenario file or a CRM export. Each browser tab has its own inputs and results. Stop with Ctrl-C.
    """
    import os
    import socket
    import sys

    from ..scenario.errors import ScenarioError

    try:
        import nicegui  # noqa: F401
        import tomli_w  # noqa: F401
    except ImportError:
        raise click.ClickException("incentsim serve needs the web extra: pip install 'incentsim[web]'") from None
    from ..i18n import translations
    from ..web.app import initial_draft

    translations(lang)  # a missing catalogue stops here, not in the first page
    check = initial_draft(scenario).check()  # a bad file stops here with the loader's one line
    if check.error is not None:
        src = scenario or "separate-vs-shared"
        raise ScenarioError(src, check.error.key, check.error.reason)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
            probe.bind((host, port))
    except OSError as exc:
        raise ScenarioError("--port", str(port), f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                            "choose another with --port") from None  # fmt: skip
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    has_display = sys.platform in ("darwin", "win32") or bool(display)
    from ..web.app import serve

    serve(scenario, host=host, port=port, lang=lang, open_browser=has_display and not no_browser)
