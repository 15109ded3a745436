"""Named listings: a listings file says what ``-a listing=NAME`` crawls, so that a cron line,
a systemd unit or a Scrapyd job names a listing instead of repeating its arguments."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archiver.analyse.history import history, top
from archiver.analyse.read import load
from archiver.errors import ArchiverError
from archiver.evidence.records import WARC_FOLDER
from archiver.scope.listings import listings_path, named_listings, read_listings
from archiver.store.layout import list_snapshots
from tests.conftest import DEMO, run_crawl
from tests.sites import Reply, ScriptedSite, serve_files


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "listings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_listing_reads_as_its_crawl_arguments(tmp_path) -> None:
    path = write(
        tmp_path,
        """
        [lillog]
        start_urls = ["https://lilianweng.github.io/"]
        profile = "papermod"
        max_pages = 5
        schedule = "daily at 03:15"
        [lillog.settings]
        DOWNLOAD_DELAY = 2

        [local]
        start_urls = "pages/index.html"
        """,
    )
    listings = read_listings(path)
    assert list(listings) == ["lillog", "local"]
    lillog = listings["lillog"]
    assert lillog.spider_arguments() == {
        "start_urls": "https://lilianweng.github.io/",
        "profile": "papermod",
        "listing": "lillog",
        "max_pages": "5",
    }
    assert lillog.settings == {"DOWNLOAD_DELAY": 2}
    assert lillog.schedule == "daily at 03:15"
    # A local path is the listings file's neighbour, from whatever folder cron starts in.
    assert listings["local"].start_urls == (str(tmp_path / "pages" / "index.html"),)
    assert listings["local"].profile == "auto"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[a]\nstart_url = "https://x.org/"', "[a]: no such key 'start_url'; did you mean start_urls?"),
        ('[a]\nprofile = "hn"', "[a]: no start_urls; give start_urls"),
        ('[a]\nstart_urls = []', "[a]: start_urls = []; give a URL or a list"),
        ('[a]\nstart_urls = ["https://x.org/,https://y.org/"]', "write each URL as its own string"),
        ('[a]\nstart_urls = "https://x.org/"\nmax_pages = 0', "[a]: max_pages = 0; give at least 1"),
        ('[a]\nstart_urls = "https://x.org/"\nmax_pages = "5"', "max_pages = '5'; give a whole"),
        ('[a]\nstart_urls = "https://x.org/"\nmax_pages = true', "max_pages = True; give a whole"),
        ('[a]\nstart_urls = "https://x.org/"\nprofile = 3', "profile = 3; give a profile name"),
        ('[a]\nstart_urls = "https://x.org/"\nsettings = 3', "settings = 3; give a table"),
        ('[a]\nstart_urls = "https://x.org/"\n[a.settings]\ndelay = 1', "'delay' is not a setting's"),
        ('["a b"]\nstart_urls = "https://x.org/"', "'a b' is not a listing name"),
        ('a = 1', "[a]: is not a table"),
        ('[All]\nstart_urls = "https://x.org/"', "[All]: 'All' is reserved (-a listings=all"),
        ("[a\nstart_urls = 1", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_listings_file_is_named_with_its_listing_and_key(tmp_path, text, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ArchiverError) as caught:
        read_listings(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_names_pick_listings(tmp_path) -> None:
    path = write(tmp_path, '[a]\nstart_urls = "https://a.org/"\n[b]\nstart_urls = "https://b.org/"')
    assert [x.name for x in named_listings(path, "all")] == ["a", "b"]
    assert [x.name for x in named_listings(path, "b, a")] == ["b", "a"]
    with pytest.raises(ArchiverError, match=r"no listing 'c'; listings there: a, b"):
        named_listings(path, "c")
    with pytest.raises(ArchiverError, match="no listings file"):
        named_listings(tmp_path / "none.toml", "a")


def test_the_listings_file_is_beside_scrapy_cfg(tmp_path, monkeypatch) -> None:
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = archiver.settings\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert listings_path() == tmp_path / "listings.toml"
    assert listings_path("/etc/archiver/listings.toml") == Path("/etc/archiver/listings.toml")


# --- real crawls, named ---


@pytest.fixture
def site():
    """The demo on 127.0.0.1, and a second listing whose every page answers 503."""
    files = serve_files(DEMO)

    def route(path: str, attempt: int) -> Reply:
        if path.startswith("/down/"):
            return Reply(503, b"busy")
        return files(path, attempt)

    site = ScriptedSite(route)
    yield site
    site.stop()


def listings_file(tmp_path: Path, site: ScriptedSite) -> Path:
    return write(
        tmp_path,
        f"""
        [demo]
        start_urls = ["{site.url}index.html"]
        profile = "demo"
        max_pages = 1
        [demo.settings]
        ARCHIVER_WARC = false

        [broken]
        start_urls = ["{site.url}down/index.html"]
        profile = "demo"
        """,
    )


def crawl_named(tmp_path: Path, site: ScriptedSite, *more: str) -> tuple[Path, object]:
    """``scrapy crawl listing -a listing=demo`` with the test's listings file; the data
    directory and its one snapshot."""
    path = listings_file(tmp_path, site)
    data = tmp_path / "data"
    result = run_crawl(
        "-a", "listing=demo", "-s", f"ARCHIVER_LISTINGS={path}", *more, data_dir=data
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (snapshot,) = list_snapshots(data)
    return data, snapshot


def test_a_named_listing_is_crawled_and_kept_under_its_name(tmp_path, site) -> None:
    data, snapshot = crawl_named(tmp_path, site)
    assert snapshot.manifest["listing"] == "demo"
    assert snapshot.manifest["arguments"]["max_pages"] == 1  # the file's, as given
    assert not any(
        name.startswith(WARC_FOLDER) for name in snapshot.manifest["files"]
    )  # its setting
    rows = load(data)
    assert len(rows) == 8 and set(rows["listing_name"]) == {"demo"}
    assert set(history(data, listing="demo")["listing_url"]) == {f"{site.url}index.html"}


def test_a_setting_on_the_command_line_wins_over_the_file(tmp_path, site) -> None:
    _, snapshot = crawl_named(tmp_path, site, "-s", "ARCHIVER_WARC=True")
    assert any(name.startswith(WARC_FOLDER) for name in snapshot.manifest["files"])


def test_every_listing_is_crawled_into_its_own_snapshot(tmp_path, site) -> None:
    path = listings_file(tmp_path, site)
    data = tmp_path / "data"
    result = run_crawl(
        "-a", "listings=all", "-s", f"ARCHIVER_LISTINGS={path}", "-s", "RETRY_TIMES=0",
        data_dir=data,
    )  # fmt: skip
    # One listing failed: the run says so (exit 1), and the other was still archived.
    assert result.returncode == 1, result.stderr[-2000:]
    assert "listings crawled: demo complete, broken failed" in result.stdout
    snapshots = {s.manifest["listing"]: s for s in list_snapshots(data)}
    assert snapshots["demo"].status == "complete" and snapshots["broken"].status == "failed"
    assert snapshots["demo"].manifest["start_urls"] == [f"{site.url}index.html"]
    # Looking at the archive then asks for one, by the names the user gave them.
    with pytest.raises(ArchiverError, match=re.escape(f"demo ({site.url}index.html)")):
        top(data)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-a", "listing=dmo"], "no listing 'dmo'; did you mean demo? listings there: demo, broken"),
        (["-a", "listing=demo", "-a", "profile=hn"], "-a listing=demo and -a profile: the listing's"),
        (["-a", "listings=some"], "-a listings=some: give listings=all"),
        (["-a", "listings=all", "-O", "out.csv"], "-o/-O with several listings"),
        (["-a", "listing=demo", "-a", "listings=all"], "give one of them"),
    ],
)  # fmt: skip
def test_a_bad_name_stops_before_crawling(tmp_path, site, arguments, message) -> None:
    path = listings_file(tmp_path, site)
    data = tmp_path / "data"
    result = run_crawl(*arguments, "-s", f"ARCHIVER_LISTINGS={path}", data_dir=data)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy: error: ") and message in last
    assert not (data / "snapshots").exists()


def test_a_bad_setting_in_the_file_names_the_file(tmp_path, site) -> None:
    path = write(
        tmp_path,
        f'[demo]\nstart_urls = "{site.url}index.html"\n[demo.settings]\nARCHIVER_WARCS = false\n',
    )
    result = run_crawl("-a", "listing=demo", "-s", f"ARCHIVER_LISTINGS={path}", data_dir=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert (
        f"{path} [demo] settings: ARCHIVER_WARCS: no such setting; did you mean ARCHIVER_WARC?"
        in last
    )


def test_the_manifest_of_an_unnamed_crawl_says_so(tmp_path, site) -> None:
    data = tmp_path / "data"
    result = run_crawl("-a", f"start_urls={site.url}index.html", data_dir=data)
    assert result.returncode == 0, result.stderr[-2000:]
    (snapshot,) = list_snapshots(data)
    assert snapshot.manifest["listing"] is None
    assert load(data)["listing_name"].isna().all()
    json.dumps(snapshot.manifest)  # still plain JSON
