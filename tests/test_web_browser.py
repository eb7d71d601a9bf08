"""End to end: a real headless Chromium drives ``incentsim serve`` as a director would.

Open the page, change the quote conversion and the sales cap, run, read the verdict, enter a bad
value and see the message beside the field, download the report, the scenario file and the JSON,
and check that the scenario file gives the same numbers through the CLI. Also: cancel a long
run (the last result stays), switch to Dutch, and keep two sessions apart.

Screenshots (1280x800) go to ``tests/artifacts/``: ``start.png``, ``after-run.png``,
``bad-input.png``. The browser is Debian's ``chromium`` with ``chromium-driver`` (``make browser``
installs them); without them the test is skipped, except in CI (``CI`` set), where it fails.

Scenario: the suite's small company (3 reps, marketing of 2, schemes separate and shared),
behaviour fixed, 400 replications, seed 42; numbers are compared exactly (same seed, same file).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, small

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync --disable-dev-shm-usage"
).split()


def _browser_or_skip() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        reason = f"the browser test needs {', '.join(missing)}: run `make browser` (as root) to install them"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run this test, not skip it)")
        pytest.skip(reason)
    pytest.importorskip("nicegui", reason="needs the web extra: pip install -e '.[web]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    import tomli_w

    d = small(simulation={"replications": 400, "seed": 42, "behaviour": "fixed"})
    path = tmp_path_factory.mktemp("web") / "small.toml"
    path.write_text(tomli_w.dumps(d))
    return path


@pytest.fixture(scope="module")
def server(scenario_file):
    """``incentsim serve`` in a subprocess on a free port of 127.0.0.1 (the test's own caches)."""
    _browser_or_skip()
    port = _free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "incentsim.cli.main", "serve", str(scenario_file), "--port", str(port), "--no-browser"],
        # NiceGUI takes PYTEST_CURRENT_TEST for its own test harness: the server is a plain user here.
        stdout=log, stderr=subprocess.STDOUT, env={k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    if proc.poll() is not None:
        pytest.fail("incentsim serve stopped: " + Path(log.name).read_text())
    yield url, Path(log.name)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    assert "Traceback" not in Path(log.name).read_text(), Path(log.name).read_text()


def _driver(download_dir: Path):
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-"))
    opts.add_argument("--window-size=1280,800")
    opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                           "download.prompt_for_download": False})  # fmt: skip
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(CHROMEDRIVER))
    # The page's viewport itself is 1280x800 (the window adds nothing in headless mode, but be exact).
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
    drv.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return drv


def _by(drv, testid: str, inner: str = ""):
    """The element with a test id; ``inner="input"``: the text box of a form field (Quasar puts the
    id on the box itself)."""
    from selenium.webdriver.common.by import By

    el = drv.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    if inner == "input" and el.tag_name != "input":
        return el.find_element(By.CSS_SELECTOR, "input")
    return el


def _field(drv, testid: str):
    """The whole form field around a test id: label, box, hint or error message."""
    return _by(drv, testid).find_element("xpath", "ancestor::label[contains(@class, 'q-field')]")


def _wait(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # element not there yet
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _type(drv, testid: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = _by(drv, testid, "input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)
    time.sleep(1.0)  # the value reaches the server (and the loader) 350 ms after the last key


def _run_and_wait(drv, timeout: float = 240) -> str:
    _by(drv, "run").click()
    status = _wait(lambda: "answered" in _by(drv, "status").text and _by(drv, "status").text, timeout, "the answer")
    return status


def _download(drv, testid: str, folder: Path, suffix: str) -> Path:
    before = set(folder.glob(f"*{suffix}"))
    _by(drv, testid).click()
    return _wait(lambda: next((p for p in set(folder.glob(f"*{suffix}")) - before), None), 60, f"a {suffix} download")


def _shot(drv, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    drv.save_screenshot(str(path))
    return path


def test_director_walkthrough(server, tmp_path):
    """Open, edit, run, read the verdict, bad value, downloads; the scenario file reproduces the numbers."""
    from incentsim import compare, load_scenario
    from incentsim.report.format import number as fmt_value

    url, log = server
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    drv = _driver(downloads)
    try:
        drv.get(url)
        _wait(lambda: _by(drv, "funnel.quote.conversion", "input"), 60, "the quote conversion field")
        time.sleep(1.0)
        assert drv.execute_script("return [window.innerWidth, window.innerHeight]") == [1280, 800]
        # Everything the page loads comes from the server itself (no CDN fonts, scripts or styles).
        loaded = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(u.startswith((url, "data:", "blob:")) for u in loaded), loaded
        _shot(drv, "start.png")

        # A first run as opened, then the director's edits: quote conversion and the sales cap.
        _run_and_wait(drv)
        first = _by(drv, "answer").text
        _type(drv, "funnel.quote.conversion", "0.6")
        _by(drv, "tab-schemes").click()
        _wait(lambda: _by(drv, "schemes.separate.sales.cap", "input").is_displayed(), 10, "the sales cap field")
        _type(drv, "schemes.separate.sales.cap", "1.5")
        assert _by(drv, "stale").is_displayed()  # the page says the result is out of date
        status = _run_and_wait(drv)
        verdict = _by(drv, "verdict").text
        answer = _by(drv, "answer").text
        assert "makes the most profit after bonuses" in verdict or "No clear winner" in verdict, verdict
        assert answer != first, "the answer did not change with the inputs"
        assert "400 replications x 2 schemes, seed 42" in status
        # The answer is on screen without scrolling.
        rect = drv.execute_script(
            "const r = document.querySelector('[data-testid=\"answer\"]').getBoundingClientRect();"
            "return [r.top, r.bottom];"
        )
        assert 0 <= rect[0] and rect[1] <= 800, rect
        time.sleep(2.0)  # let the first figures draw
        _shot(drv, "after-run.png")

        # Downloads: the report, the scenario file and the JSON of this run.
        report = _download(drv, "download-report", downloads, ".html").read_text(encoding="utf-8")
        assert report.startswith("<!DOCTYPE html>") and verdict in report
        assert "http://" not in report and "https://" not in report  # self-contained
        scenario_path = _download(drv, "download-scenario", downloads, ".toml")
        page_json = json.loads(_download(drv, "download-json", downloads, ".json").read_text())

        # The scenario file gives the same numbers through the API and the CLI (same seed, replications).
        sc = load_scenario(scenario_path)
        assert sc.funnel.stages[-1].conversion == 0.6
        assert sc.scheme("separate").sales.components[0].curve.cap == 1.5
        cmp = compare(sc)
        for name in ("separate", "shared"):
            mean = cmp.summaries[name]["profit_after_bonus"].mean
            assert mean == page_json["schemes"][name]["profit_after_bonus"]["mean"]
            assert fmt_value(mean, "money") in answer  # the page's table shows exactly these numbers
        cli = subprocess.run(
            [sys.executable, "-m", "incentsim.cli.main", "compare", str(scenario_path), "--json", "-"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        cli_json = json.loads(cli.stdout)
        for key in ("scenario_hash", "seed", "replications", "schemes", "differences", "hr", "verdict"):
            assert cli_json[key] == page_json[key], key

        # A bad value: the message names the key and the reason beside the field; the result stays.
        _by(drv, "tab-company").click()
        _wait(lambda: _by(drv, "funnel.quote.conversion", "input").is_displayed(), 10, "the company tab")
        _type(drv, "funnel.quote.conversion", "1.5")
        field_text = _wait(lambda: "funnel.quote" in _field(drv, "funnel.quote.conversion").text
                           and _field(drv, "funnel.quote.conversion").text, 10, "the field message")
        assert "funnel.quote.conversion" in field_text and "probability in [0, 1]" in field_text, field_text
        assert "funnel.quote.conversion" in _by(drv, "input-error").text
        assert _by(drv, "verdict").text == verdict  # the last good result stays on screen
        _shot(drv, "bad-input.png")
        _by(drv, "run").click()  # refused while the input is bad: nothing crashes
        time.sleep(1.0)
        assert _by(drv, "verdict").text == verdict
        page_text = drv.find_element("tag name", "body").text
        assert "Traceback" not in page_text
    finally:
        drv.quit()


def test_cancel_dutch_and_two_sessions(server, tmp_path):
    """A long run is cancelled (the last result stays); Dutch on the switch; sessions stay apart; the
    link reruns the same scenario in a fresh session with the same numbers."""
    url, _log = server
    a = _driver(tmp_path)
    b = _driver(tmp_path)
    try:
        a.get(url)
        b.get(url)
        _wait(lambda: _by(a, "funnel.quote.conversion", "input"), 60, "page A")
        _wait(lambda: _by(b, "funnel.quote.conversion", "input"), 60, "page B")
        _run_and_wait(a)
        verdict = _by(a, "verdict").text

        # Session B's edit is not session A's.
        _type(b, "funnel.quote.conversion", "0.45")
        a.refresh()  # a reload is a new session: it starts from the file, not from B's edit
        _wait(lambda: _by(a, "funnel.quote.conversion", "input").get_attribute("value") == "0.5", 30, "A's own value")
        assert _by(b, "funnel.quote.conversion", "input").get_attribute("value") == "0.45"
        assert not b.find_elements("css selector", '[data-testid="verdict"]')  # B never ran: no result shown

        # Cancel a long run: 3 million replications would take a minute or more (the page keeps every
        # year for its figures, about 9 GB here: within memory, so the run starts).
        _run_and_wait(a)
        verdict = _by(a, "verdict").text
        _by(a, "tab-start").click()
        _wait(lambda: _by(a, "simulation.replications", "input").is_displayed(), 10, "the run settings")
        _type(a, "simulation.replications", "3000000")
        _by(a, "run").click()
        _wait(lambda: _by(a, "cancel").is_displayed(), 20, "the cancel button")
        time.sleep(1.5)
        _by(a, "cancel").click()
        _wait(lambda: "Cancelled" in _by(a, "status").text, 30, "the run to stop")
        assert _by(a, "verdict").text == verdict

        # Dutch: the switch in the header translates the page and the answer.
        _type(a, "simulation.replications", "400")
        _run_and_wait(a)
        a.find_element("xpath", "//*[@data-testid='language']//*[contains(text(), 'Nederlands')]").click()
        _wait(lambda: "Welk bonusplan?" in a.find_element("tag name", "body").text, 20, "the Dutch page")
        dutch = _by(a, "verdict").text
        assert "maakt de meeste winst na bonussen" in dutch or "Geen duidelijke winnaar" in dutch, dutch

        # The link reproduces the run in another session: same inputs, seed, replications, numbers.
        _by(a, "share").click()
        link = _wait(lambda: _by(a, "share-link").get_attribute("value"), 10, "the link")
        assert link.startswith(url) and "s=" in link
        b.get(link)
        _wait(lambda: "beantwoord" in _by(b, "status").text, 120, "the linked run")
        assert _by(b, "answer").text == _by(a, "answer").text
    finally:
        a.quit()
        b.quit()
