"""archiver report: one self-contained page that says what a crawl archived, checked in a real
headless Chromium as a person would open it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archiver.analyse.report import build_report
from archiver.store.layout import list_snapshots
from tests.conftest import DEMO, module_command, module_env, run_crawl
from tests.sites import Reply, ScriptedSite, serve_files

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Two crawls of the demo: complete, then partial (page 2 answers 503) with a post's
    views changed."""
    data_dir = tmp_path_factory.mktemp("report")
    files = serve_files(DEMO)
    broken = {"now": False}

    def route(path: str, attempt: int) -> Reply:
        if broken["now"] and path == "/page2.html":
            return Reply(503, b"busy")
        reply = files(path, attempt)
        if broken["now"] and path == "/index.html":
            reply.body = reply.body.replace(b"0 views", b"12 views", 1)
        return reply

    site = ScriptedSite(route)  # one server: both crawls are of the same listing
    try:
        for now in (False, True):
            broken["now"] = now
            result = run_crawl(
                "-a", f"start_urls={site.url}index.html", "-s", "RETRY_TIMES=0",
                data_dir=data_dir,
            )  # fmt: skip
            assert result.returncode == (3 if now else 0), result.stderr[-2000:]
    finally:
        site.stop()
    return data_dir


def test_the_report_says_what_was_archived(archive) -> None:
    first, second = list_snapshots(archive)
    html = build_report(archive)  # the newest
    assert f"<h1>Snapshot {second.snapshot_id}</h1>" in html
    assert '<span class="status partial">partial</span> <strong>8</strong> rows' in html
    assert "page2.html</td><td>HttpError: HTTP 503</td>" in html
    assert f"Against {first.snapshot_id}: 0 new, 7 vanished, 1 changed." in html
    assert "views: 0 → 12 (+12)" in html
    assert "<td>title</td><td class=num>8</td>" in html  # coverage: every row has a title
    assert "http://" not in html.split("<body>")[0]  # nothing loaded from anywhere
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_the_first_snapshot_has_no_changes(archive) -> None:
    first = list_snapshots(archive)[0].snapshot_id
    html = build_report(archive, first)
    assert "This is the first snapshot of its listings." in html
    assert '<span class="status complete">complete</span> <strong>15</strong> rows' in html


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {DRIVER}); .ci/run installs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, read back
    profile = tmp_path_factory.mktemp("chromium")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", "--window-size=1200,900",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_a_browser_shows_every_section(archive, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    out = tmp_path / "report.html"
    result = subprocess.run(
        module_command("archiver.cli", "report", "-o", str(out), "--data-dir", str(archive)),
        env=module_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    browser.get(out.as_uri())
    headings = {
        "summary": "Rows and status",
        "coverage": "Field coverage",
        "views": "Views over time",
        "movers": "Top movers since each entry's previous count",
        "listings": "Announced and extracted, per listing",
        "failed": "Failed pages",
        "changes": "Changes since the previous snapshot",
        "published": "Publication dates, narrowed across snapshots",
    }
    for section, heading in headings.items():
        element = browser.find_element(By.ID, section)
        assert element.is_displayed(), section
        assert element.find_element(By.TAG_NAME, "h2").text == heading
    status = browser.find_element(By.CSS_SELECTOR, "#summary .status")
    assert status.text == "partial" and status.value_of_css_property("font-weight") == "600"
    listing_cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#listings td")]
    assert listing_cells[2:4] == ["15", "8"]  # announced, extracted
    failed = browser.find_element(By.CSS_SELECTOR, "#failed td").text
    assert failed.endswith("/page2.html")
    chart = browser.find_element(By.CSS_SELECTOR, "#views img")
    assert browser.execute_script("return arguments[0].naturalWidth", chart) > 100  # drawn
    movers = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#movers tbody td")]
    assert movers[1:3] == ["12", "+12"]  # views, gained since the first crawl
    started = browser.find_element(By.CSS_SELECTOR, "#summary time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", started.text)  # for people
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", started.get_attribute("datetime"))
    assert [e["level"] for e in browser.get_log("browser")] == []  # no console errors
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[1] == 1200 and pixels[:, :, :3].std() > 0.05  # a page, not blank
    requests = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert requests == 0  # styles inline, charts as data: nothing fetched
    dates = browser.find_elements(By.CSS_SELECTOR, "#published tbody tr")
    assert len(dates) == 8
    latest = [row.find_elements(By.TAG_NAME, "time")[1].get_attribute("datetime") for row in dates]
    assert latest == sorted(latest, reverse=True)  # newest first, in date order
