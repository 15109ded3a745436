"""The ``archiver`` command: what a user types, what they read, and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.cli import main
from tests.conftest import DEMO, FIXTURES, SEED_CAPTURE, module_command, module_env
from tests.factories import day, entry, publish


@pytest.fixture
def data_dir(tmp_path):
    publish(tmp_path, "d0", [entry("d0", "A", 1, when=day(0), views=1)])
    publish(tmp_path, "d1", [entry("d1", "A", 1, when=day(1), views=3), entry("d1", "B", 2)])
    return tmp_path


def test_snapshots_lists_each_one(data_dir, capsys) -> None:
    assert main(["snapshots", "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["snapshot_id", "started_at"]
    assert [line.split()[0] for line in lines[1:]] == ["d0", "d1"]


def test_snapshots_json(data_dir, capsys) -> None:
    assert main(["snapshots", "--json", "--data-dir", str(data_dir)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["snapshot_id"], r["rows"], r["status"]) for r in rows] == [
        ("d0", 1, "complete"),
        ("d1", 2, "complete"),
    ]
    assert rows[0]["sources"] == ["Blog"]


def test_diff_json_has_the_contract_keys(data_dir, capsys) -> None:
    assert main(["diff", "--json", "--data-dir", str(data_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [e["title"] for e in result["new"]] == ["B"]
    assert result["vanished"] == []
    assert result["changed"][0]["changes"] == {"views": [1, 3]}


def test_history_is_a_table_for_people(data_dir, capsys) -> None:
    assert main(["history", "--data-dir", str(data_dir)]) == 0
    header, rule, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["entry_id", "snapshot_id", "source", "title", "views", "position",
                              "present", "views_delta", "views_per_day"]  # fmt: skip
    assert set(rule) == {"-", " "} and len(rows) == 3
    a_rows = [row.split() for row in rows if row.split()[3] == "A"]
    assert [(r[1], r[4], r[6]) for r in a_rows] == [("d0", "1", "yes"), ("d1", "3", "yes")]


def test_history_for_scripts(data_dir, capsys) -> None:
    assert main(["history", "--csv", "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "entry_id,snapshot_id,source,title,views,position,present,"
        "listing_url,fetched_at,views_delta,views_per_day"
    )
    assert len(lines) == 4
    assert main(["history", "--json", "--data-dir", str(data_dir)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["title"], r["snapshot_id"], r["views"]) for r in records][:2] == [
        ("A", "d0", 1), ("A", "d1", 3),
    ]  # fmt: skip
    entry_id = records[0]["entry_id"]
    assert main(["history", "--entry", entry_id, "--json", "--data-dir", str(data_dir)]) == 0
    assert {r["entry_id"] for r in json.loads(capsys.readouterr().out)} == {entry_id}
    assert main(["history", "--entry", "nope", "--data-dir", str(data_dir)]) == 2
    assert "entry 'nope' is in no snapshot" in capsys.readouterr().err


def test_published_table_and_json(tmp_path, capsys) -> None:
    publish(tmp_path, "d0", [entry("d0", "A", 1, when=day(0), age_text="3 days ago")])
    publish(tmp_path, "d1", [entry("d1", "A", 1, when=day(1), age_text="4 days ago")])
    assert main(["published", "--data-dir", str(tmp_path)]) == 0
    header, _, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["entry_id", "title", "published_earliest", "published_latest",
                              "published_source", "published_raw", "day_exact", "observations",
                              "contradictions"]  # fmt: skip
    assert row.split()[1:] == [
        "A", "2025-12-28T12:00:00Z", "2025-12-29T12:00:00Z", "age", "-", "True", "2", "0",
    ]  # fmt: skip
    assert main(["published", "--json", "--data-dir", str(tmp_path)]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["observations"] == 2 and record["published_earliest"].startswith("2025-12-28")


@pytest.mark.parametrize(
    "command",
    ["snapshots", "diff", "history", "published", "plot", "report", "prune", "verify",
     "reparse", "export", "profile check", "profile list", "profile suggest"],
)  # fmt: skip
def test_every_command_explains_itself_and_takes_a_data_dir(command: str) -> None:
    result = archiver_command(*command.split(), "--help")
    assert result.returncode == 0 and "usage: archiver " + command in result.stdout
    assert "--data-dir" in result.stdout


def test_verify_exit_codes(data_dir, capsys) -> None:
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    parquet = data_dir / "snapshots" / "snapshot_id=d1" / "entries.parquet"
    data = bytearray(parquet.read_bytes())
    data[len(data) // 2] ^= 0xFF
    parquet.write_bytes(bytes(data))
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    captured = capsys.readouterr()
    assert "snapshot d1: entries.parquet checksum does not match the manifest" in captured.err


def test_bad_input_is_one_line_and_exit_2(data_dir, capsys) -> None:
    assert main(["diff", "d0", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("archiver: ")


def archiver_command(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """``archiver ARGS`` in a process of its own: commands that crawl (profile check,
    reparse) run Scrapy's reactor, which runs once per process."""
    return subprocess.run(
        module_command("archiver.cli", *args),
        env=module_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
    )


def test_profile_check_shows_entries_and_next_link() -> None:
    result = archiver_command("profile", "check", "demo", str(DEMO / "index.html"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "profile demo on file://" in out
    assert "page time: 2025-10-15T12:00:00Z (from page)" in out  # the demo states its time
    assert "entries: 8   announced total: 15" in out
    assert "#1 Why We Think" in out
    assert f"next: {(DEMO / 'page2.html').as_uri()}" in out
    assert "published    2025-04-15T12:00:00Z .. 2025-05-18T12:00:00Z" in out


def test_profile_check_json_reports_missing_fields() -> None:
    result = archiver_command(
        "profile", "check", "auto", str(FIXTURES / "aggregator_edge.html"), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    first, untitled, bare = report["entries"]
    assert first["views"] == 1200 and first["missing"] == []
    assert first["summary"] == "Line one. Line two <not a tag>."  # text shown, kept as text
    assert "title" in untitled["missing"] and "no title" in untitled["dropped"]
    assert set(bare["missing"]) == {"url", "summary"}
    assert bare["source"] == "local file"  # no source printed, no host: said so
    assert bare["views"] == "rejected: unparsed" and bare["published"] == "rejected: future"


def test_profile_list_names_and_describes_what_auto_tries(tmp_path, capsys) -> None:
    assert main(["profile", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["demo", "hn", "papermod"]  # auto's order
    assert lines[0].startswith("demo      Aggregator listing: li.post entries")
    assert lines[0].endswith("(builtin:demo.toml)")

    mine = tmp_path / "mine.toml"
    mine.write_text('name = "mine"\ndescription = "My blog"\nentries = "li"\n'
                    '[fields]\ntitle = "a::text"\n')  # fmt: skip
    assert main(["profile", "list", f"{mine},hn", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(x["name"], x["description"], x["path"]) for x in listed] == [
        ("mine", "My blog", str(mine)),
        ("hn", listed[1]["description"], "builtin:hn.toml"),
    ]
    assert listed[1]["description"].startswith("News-aggregator rows")
    mine.write_text(mine.read_text().replace('description = "My blog"\n', ""))
    assert main(["profile", "list", str(mine)]) == 0
    assert capsys.readouterr().out == f"mine  -  ({mine})\n"  # no description: said so
    assert main(["profile", "list", "suggest"]) == 0
    assert capsys.readouterr().out.startswith("none fixed: each listing is read with a profile")
    assert main(["profile", "list", "nope"]) == 2
    assert capsys.readouterr().err.startswith("archiver: profile 'nope': no such built-in")


def test_profile_check_on_a_page_nothing_matches(tmp_path) -> None:
    page = tmp_path / "empty.html"
    page.write_text("<html><body><p>hello</p></body></html>")
    result = archiver_command("profile", "check", "auto", str(page))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("archiver: ") and "no profile matches this page" in line


def test_the_installed_command_runs(data_dir) -> None:
    """The ``archiver`` script pip installed beside this Python, run as a user runs it."""
    script = Path(sys.executable).parent / "archiver"
    assert script.is_file(), f"{script} missing: is the project installed (pip install -e .)?"
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, cwd=data_dir
    )
    assert result.returncode == 0, result.stderr
    for command in ("snapshots", "diff", "history", "verify", "profile"):
        assert command in result.stdout
    listed = subprocess.run(
        [str(script), "snapshots", "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert listed.returncode == 0, listed.stderr
    assert [row["snapshot_id"] for row in json.loads(listed.stdout)] == ["d0", "d1"]


def test_profile_check_over_http_uses_the_pages_date(serve, tmp_path) -> None:
    """Over HTTP, like a crawl: robots.txt first, the User-Agent, and the page's Date header
    when the page states no time of its own."""
    site_root = tmp_path / "site"
    site_root.mkdir()
    for name in ("index.html", "page2.html"):
        html = (DEMO / name).read_text("utf-8")
        start = html.index('<footer class="capture">')
        (site_root / name).write_text(html[:start] + html[html.index("</footer>") + 9 :])
    site = serve(site_root, date=SEED_CAPTURE)
    result = archiver_command("profile", "check", "auto", f"{site.url}index.html", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["profile"] == "demo" and report["page_time"] == "2025-10-15T12:00:00Z"
    assert report["page_time_source"] == "date_header"
    assert report["next"] == f"{site.url}page2.html" and report["announced_total"] == 15
    assert report["entries"][0]["published"] == ["2025-04-15T12:00:00Z", "2025-05-18T12:00:00Z"]
    assert [path for path, _ in site.seen] == ["/robots.txt", "/index.html"]
    assert all(agent.startswith("archiver/") for _, agent in site.seen)


# --- Which archive: the one the crawl writes, and never an empty one by a typo -------------


@pytest.mark.parametrize(
    "command", ["verify", "diff", "history", "published", "report -o r.html", "snapshots"]
)
def test_a_data_directory_that_does_not_exist_is_one_line_exit_2(tmp_path, command) -> None:
    result = subprocess.run(
        [*module_command("archiver.cli", *command.split()), "--data-dir", str(tmp_path / "typo")],
        env=module_env(), capture_output=True, text=True, cwd=tmp_path, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines() == [
        f"archiver: data directory {tmp_path / 'typo'} does not exist; give the folder the "
        "crawl writes to (ARCHIVER_DATA_DIR; default: data beside scrapy.cfg)"
    ]


def test_verify_of_a_folder_that_holds_no_archive_checks_nothing_and_says_so(tmp_path) -> None:
    result = subprocess.run(
        [*module_command("archiver.cli", "verify"), "--data-dir", str(tmp_path)],
        env=module_env(), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "holds no archive (no snapshots/ folder in it)" in result.stderr


def test_commands_find_the_archive_beside_scrapy_cfg_from_any_folder(tmp_path) -> None:
    project = tmp_path / "project"
    (project / "notes" / "deep").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = archiver.settings\n")
    publish(project / "data", "s1", [entry("s1", "A post", 1)])
    env = {k: v for k, v in module_env().items() if k != "ARCHIVER_DATA_DIR"}
    result = subprocess.run(
        [*module_command("archiver.cli", "snapshots"), "--json"],
        env=env, capture_output=True, text=True, cwd=project / "notes" / "deep", check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [row["snapshot_id"] for row in json.loads(result.stdout)] == ["s1"]
    verify = subprocess.run(
        module_command("archiver.cli", "verify"),
        env=env | {"ARCHIVER_DATA_DIR": str(project / "data")}, capture_output=True, text=True,
        cwd=tmp_path, check=False, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr


def test_top_and_listing_in_the_commands(tmp_path, capsys) -> None:
    from tests.test_dataset import X, growing

    growing(tmp_path)
    assert main(["history", "--data-dir", str(tmp_path)]) == 2
    assert "holds 2 listings; name one with --listing" in capsys.readouterr().err
    assert main(["top", "--listing", X, "--since", "2d", "--data-dir", str(tmp_path)]) == 0
    first, _header, _, gained, new = capsys.readouterr().out.splitlines()
    assert first == "from x1 to x3 (2.0 days)"
    assert gained.split()[1:4] == ["A", "gained", "40"] and gained.split()[-1] == "30.0"
    assert new.split()[1:3] == ["D", "new"]
    assert main(["top", "--listing", X, "--json", "--data-dir", str(tmp_path)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["from"] == "x0" and document["entries"][0]["views_gained"] == 90
    assert main(["diff", "--listing", X, "--json", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "x3"
    assert main(["published", "--listing", "https://y.example/", "--data-dir", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("fetched_at", "ages read against the fetch time T: the page states no time of its own"),
        ("page", "ages read against the time the page states: T"),
        ("date_header", "ages read against the server's Date header: T"),
    ],
)
def test_the_suggest_preview_says_what_its_ages_count_from(source, says) -> None:
    from archiver.cli.profile import ages_against

    assert ages_against("T", source).startswith(says)
