"""Scheduling the usual ways: a real Scrapyd deploy and run, systemd units that systemd
accepts, and the cron line the README gives."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from archiver.store.layout import list_snapshots
from tests.conftest import DEMO, ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, **form: str | list[str]) -> dict:
    data = urllib.parse.urlencode(form, doseq=True).encode() if form else None
    with urllib.request.urlopen(url, data=data, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.fixture
def scrapyd(tmp_path):
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\nitems_dir =\npoll_interval = 0.2\nmax_proc = 1\n"
    )
    server = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):  # bounded: 20 s
            try:
                if call(url + "daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("Scrapyd did not start")
        yield url, home
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_project_declares_a_deploy_target() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "scrapy.cfg")
    assert config["deploy"]["project"] == "archiver"
    assert config["deploy"]["url"].startswith("http://localhost:6800")
    assert config["settings"]["default"] == "archiver.settings"


def test_deploy_and_run_on_a_real_scrapyd(scrapyd, tmp_path) -> None:
    url, home = scrapyd
    project = tmp_path / "checkout"  # the project as a user has it, pointed at this Scrapyd
    project.mkdir()
    for name in ("archiver", "pyproject.toml", "README.md", "setup.py"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    config = (ROOT / "scrapy.cfg").read_text()
    (project / "scrapy.cfg").write_text(config.replace("http://localhost:6800/", url))
    deploy = subprocess.run(
        [str(BIN / "scrapyd-deploy")], cwd=project, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert '"status": "ok"' in deploy.stdout and '"spiders": 1' in deploy.stdout
    [egg] = (home / "eggs" / "archiver").glob("*.egg")
    with zipfile.ZipFile(egg) as archive:
        points = archive.read("EGG-INFO/entry_points.txt").decode()
        assert "[scrapy]\nsettings = archiver.settings" in points
        assert "archiver/extract/profiles/demo.toml" in archive.namelist()

    data_dir = tmp_path / "data"
    job = call(
        url + "schedule.json",
        project="archiver",
        spider="listing",
        start_urls=str(DEMO / "index.html"),
        setting=[f"ARCHIVER_DATA_DIR={data_dir}", "DOWNLOAD_DELAY=0"],
    )
    assert job["status"] == "ok"
    for _ in range(300):  # bounded: 60 s
        jobs = call(url + "listjobs.json?project=archiver")
        if any(j["id"] == job["jobid"] for j in jobs["finished"]):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the Scrapyd job did not finish: {jobs}")
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.status == "complete" and snapshot.manifest["rows"] == 15
    log = (home / "logs" / "archiver" / "listing" / f"{job['jobid']}.log").read_text()
    assert f"snapshot published: {snapshot.path}" in log  # published in the job's own log

    # Named listings: every listing of the file, each its own crawl inside the one job.
    listings = tmp_path / "listings.toml"
    listings.write_text(
        f'[first]\nstart_urls = "{DEMO / "index.html"}"\nmax_pages = 1\n'
        f'[second]\nstart_urls = "{DEMO / "index.html"}"\nprofile = "demo"\n'
    )
    named = tmp_path / "named"
    job = call(
        url + "schedule.json",
        project="archiver",
        spider="listing",
        listings="all",
        setting=[f"ARCHIVER_DATA_DIR={named}", f"ARCHIVER_LISTINGS={listings}"],
    )
    assert job["status"] == "ok"
    wait_for(url, job["jobid"])
    snapshots = list_snapshots(named)
    assert [(s.manifest["listing"], s.manifest["rows"]) for s in snapshots] == [
        ("first", 8),
        ("second", 15),
    ]
    log = (home / "logs" / "archiver" / "listing" / f"{job['jobid']}.log").read_text()
    assert "crawling listing second (2 of 2)" in log


def wait_for(url: str, jobid: str) -> None:
    for _ in range(400):  # bounded: 80 s
        jobs = call(url + "listjobs.json?project=archiver")
        if any(j["id"] == jobid for j in jobs["finished"]):
            return
        time.sleep(0.2)
    pytest.fail(f"the Scrapyd job did not finish: {jobs}")


SYSTEMD = ROOT / "contrib" / "systemd"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_the_systemd_units_verify(tmp_path) -> None:
    """systemd-analyze verify, in a root that has the paths the units name, as installed."""
    root = tmp_path / "root"
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    shutil.copytree(
        "/usr/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system", symlinks=True
    )
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    for unit in ("archiver@.service", "archiver@.timer"):
        shutil.copy2(SYSTEMD / unit, units / unit)
    scrapy = root / "srv" / "archiver" / ".venv" / "bin" / "scrapy"
    scrapy.parent.mkdir(parents=True)
    scrapy.write_text("#!/bin/sh\n")
    scrapy.chmod(0o755)
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "archiver@lillog.service",
         "archiver@lillog.timer"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == ""


def test_the_service_runs_the_crawl_that_resumes_and_reports_partial_runs() -> None:
    service = (SYSTEMD / "archiver@.service").read_text()
    [command] = re.findall(r"^ExecStart=(.*)$", service, re.M)
    assert "scrapy crawl listing" in command and "JOBDIR=" in command
    assert "SuccessExitStatus" not in re.sub(r"#.*", "", service)  # a partial run shows failed
    assert "Persistent=true" in (SYSTEMD / "archiver@.timer").read_text()


def test_the_service_crawls_the_listing_its_instance_names(tmp_path) -> None:
    """The unit's command, as systemd runs it for archiver@demo: `%i` is the listing's name."""
    service = (SYSTEMD / "archiver@.service").read_text()
    [command] = re.findall(r"^ExecStart=(.*)$", service, re.M)
    listings = tmp_path / "listings.toml"
    listings.write_text(f'[demo]\nstart_urls = "{DEMO / "index.html"}"\nmax_pages = 1\n')
    argv = command.replace("%i", "demo").replace("/srv/archiver/jobs", str(tmp_path / "jobs"))
    argv = argv.replace("/srv/archiver/.venv/bin/scrapy", f"{sys.executable} -m scrapy").split()
    data = tmp_path / "data"
    argv += ["-s", f"ARCHIVER_LISTINGS={listings}", "-s", f"ARCHIVER_DATA_DIR={data}"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    [snapshot] = list_snapshots(data)
    assert snapshot.manifest["listing"] == "demo" and snapshot.manifest["rows"] == 8


def test_the_readme_cron_line_is_a_valid_crontab_entry() -> None:
    readme = (ROOT / "README.md").read_text()
    [line] = [row for row in readme.splitlines() if re.match(r"^[\d*/,-]+ [\d*/,-]+ ", row)]
    minute, hour, day, month, weekday, command = line.split(maxsplit=5)
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24 and (day, month, weekday) == ("*",) * 3
    assert "scrapy crawl listing" in command and "-s JOBDIR=" in command
    assert "|| " in command  # mail only when the exit code is not 0
