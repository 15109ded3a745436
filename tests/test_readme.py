"""The README's first analysis, run as a reader would paste it into a notebook.

The block after the marker ``<!-- tests/test_readme.py runs this block -->`` is executed
as it stands, beside a ``data/`` folder of three snapshots a week apart; a README example
that stops working fails here, not on a reader.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.factories import day, entry, publish

MARKER = "<!-- tests/test_readme.py runs this block -->"


def readme_block() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    after = text.split(MARKER, 1)[1]
    match = re.match(r"\s*```python\n(.*?)\n```", after, re.DOTALL)
    assert match, f"no python block right after {MARKER!r} in README.md"
    return match.group(1)


@pytest.fixture
def week_of_snapshots(tmp_path):
    """One listing crawled on days 0, 3 and 7: "Rising" gains 90 views, "Steady" 5,
    "Gone" vanishes and "Fresh" appears on day 7."""
    listing = ["https://agg.example/"]
    views = {
        0: {"Rising": 10, "Steady": 100, "Gone": 7},
        3: {"Rising": 50, "Steady": 102, "Gone": 7},
        7: {"Rising": 100, "Steady": 105, "Fresh": 1},
    }
    for n, counts in views.items():
        sid = f"2026010{1 + n}T120000Z-readme"
        items = [
            entry(sid, title, position, when=day(n), views=count, views_text=f"{count} views",
                  listing_url=listing[0])
            for position, (title, count) in enumerate(counts.items(), start=1)
        ]  # fmt: skip
        publish(tmp_path / "data", sid, items, start_urls=listing, started_at=day(n))
    return tmp_path


def test_the_readme_analysis_runs_and_finds_the_movers(week_of_snapshots, monkeypatch) -> None:
    monkeypatch.chdir(week_of_snapshots)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {}
    exec(compile(readme_block(), "README.md", "exec"), namespace)

    df = namespace["df"]
    assert len(df) == 9 and df["views"].dtype == "Int64"
    per_crawl = namespace["per_crawl"]
    assert list(per_crawl) == [117, 159, 206]
    movers = namespace["movers"]
    gained = movers[movers["change"] == "gained"]
    assert list(gained["title"])[:2] == ["Rising", "Steady"]
    assert int(gained.iloc[0]["views_gained"]) == 90
    assert set(movers.loc[movers["change"] != "gained", "title"]) == {"Gone", "Fresh"}
    views = namespace["views"]
    assert sorted(views.columns) == ["Fresh", "Gone", "Rising", "Steady"]
    assert list(views["Rising"]) == [10, 50, 100]
    png = (week_of_snapshots / "views.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
