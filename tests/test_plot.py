"""archiver plot: the right series, drawn into a real PNG, without a screen."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from io import BytesIO

import pytest

import archiver
from archiver.analyse.plot import entries_per_snapshot, plot_png, views_over_time
from archiver.errors import ArchiverError
from tests.factories import T0, day, entry, publish


@pytest.fixture
def archive(tmp_path):
    """Three daily snapshots: A gains views, B has the most, C appears on day 2."""
    for n, views in enumerate([(10, 100), (20, 150), (40, 160)]):
        sid = f"d{n}"
        listing = {"listing_url": "https://agg.example/"}
        items = [
            entry(sid, "A", 1, when=day(n), views=views[0], **listing),
            entry(sid, "B", 2, when=day(n), views=views[1], **listing),
        ]
        if n == 2:
            items.append(entry(sid, "C", 3, when=day(n), views=5, **listing))
        publish(tmp_path, sid, items, start_urls=["https://agg.example/"])
    return tmp_path


def test_views_over_time_follows_the_most_viewed_entries(archive) -> None:
    series = views_over_time(archiver.load(archive), top=2)
    assert series.groupby("title")["views"].apply(list).to_dict() == {
        "A": [10, 20, 40],
        "B": [100, 150, 160],
    }
    for _, one in series.groupby("entry_id"):
        assert one["fetched_at"].is_monotonic_increasing  # each series in time order
    only_c = views_over_time(archiver.load(archive), entry=series["entry_id"].iloc[0])
    assert set(only_c["title"]) == {series["title"].iloc[0]}


def test_an_unknown_entry_is_refused(archive) -> None:
    with pytest.raises(ArchiverError, match="entry 'nope' is in no snapshot"):
        views_over_time(archiver.load(archive), entry="nope")


def test_entries_per_snapshot_per_listing(archive) -> None:
    counts = entries_per_snapshot(archiver.load(archive))
    assert counts["entries"].tolist() == [2, 2, 3]
    assert set(counts["listing"]) == {"https://agg.example/"}


def test_the_png_is_a_real_image_with_both_charts(archive) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(BytesIO(plot_png(archive, top=2)), format="png")
    height, width = image.shape[:2]
    assert (width, height) == (1000, 750)
    assert image[:, :, :3].std() > 0.05  # something was drawn, not a blank canvas


def test_the_command_writes_the_file_and_needs_no_screen(archive, tmp_path) -> None:
    out = tmp_path / "views.png"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no DISPLAY, no MPLBACKEND
    result = subprocess.run(
        [sys.executable, "-m", "archiver.cli", "plot", "-o", str(out), "--top", "1",
         "--data-dir", str(archive)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stdout.strip() == f"plot written: {out.resolve()}"
    (tmp_path / "nothing" / "snapshots").mkdir(parents=True)  # an archive, still empty
    empty = subprocess.run(
        [sys.executable, "-m", "archiver.cli", "plot", "-o", str(out), "--data-dir",
         str(tmp_path / "nothing")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert empty.returncode == 2 and empty.stderr.startswith("archiver: no snapshots with rows")


@pytest.mark.parametrize(
    ("name", "magic"), [("views.svg", b"<?xml"), ("views.pdf", b"%PDF-"), ("VIEWS.PNG", b"\x89PNG")]
)
def test_the_file_holds_the_format_its_name_asks_for(archive, tmp_path, name, magic) -> None:
    from archiver.cli import main

    out = tmp_path / name
    assert main(["plot", "-o", str(out), "--data-dir", str(archive)]) == 0
    assert out.read_bytes().startswith(magic)
    if name.endswith(".svg"):
        assert b"<svg" in out.read_bytes()[:2000]


@pytest.mark.parametrize("name", ["views.jpg", "views"])
def test_a_name_whose_format_cannot_be_told_is_refused_and_nothing_written(
    archive, tmp_path, capsys, name
) -> None:
    from archiver.cli import main

    out = tmp_path / name
    assert main(["plot", "-o", str(out), "--data-dir", str(archive)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"archiver: -o {out}: cannot tell the image format")
    assert err.endswith("end the name with .png, .svg, .pdf") and "\n" not in err
    assert not out.exists()


# --- a chart an analyst would put in an appendix ---


def drawn(figure):
    """The figure laid out as it is saved, so that positions and tick labels are final."""
    figure.canvas.draw()
    return figure.axes


def series_archive(tmp_path, times, views, *, failed_at=None, url="https://agg.example/"):
    for n, (when, count) in enumerate(zip(times, views, strict=True)):
        item = entry(f"s{n}", "A long enough title to need room", 1, when=when, views=count,
                     listing_url=url)  # fmt: skip
        publish(
            tmp_path,
            f"s{n}-{url.split('/')[2].split('.')[0]}",
            [item],
            start_urls=[url],
            started_at=when,
        )
    if failed_at is not None:
        publish(tmp_path, "s1a", [], status="failed", start_urls=[url], started_at=failed_at)
    return tmp_path


def test_the_legend_is_beside_the_data_not_over_it(archive) -> None:
    from archiver.analyse.plot import plot_figure

    for axes in drawn(plot_figure(archive, top=2)):
        legend, frame = axes.get_legend().get_window_extent(), axes.get_window_extent()
        assert legend.x0 >= frame.x1  # right of the plotting area


def test_count_axes_have_whole_ticks_and_a_line_of_zeros_is_not_magnified(tmp_path) -> None:
    from archiver.analyse.plot import plot_figure

    archive = series_archive(tmp_path, [day(0), day(1)], [0, 0])
    views, entries = drawn(plot_figure(archive))
    for axes in (views, entries):
        ticks = [t for t in axes.get_yticks() if axes.get_ylim()[0] <= t <= axes.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert views.get_ylim() == (0.0, 1.0)
    assert "every view count is 0 on this listing" in [t.get_text() for t in views.texts]


@pytest.mark.parametrize(
    ("spacing", "label"),
    [
        (timedelta(seconds=20), r"^\d\d:\d\d(:\d\d)?$"),  # minutes apart: times, not seconds
        (timedelta(hours=3), r"^(\d\d:\d\d|\d\d [A-Z][a-z]{2})$"),
        (timedelta(days=9), r"^(\d\d [A-Z][a-z]{2}|[A-Z][a-z]{2}( \d{4})?)$"),
        (timedelta(days=200), r"^([A-Z][a-z]{2}( \d{4})?|\d{4})$"),
    ],
)
def test_time_axes_read_at_any_spacing(tmp_path, spacing, label) -> None:
    import re

    from archiver.analyse.plot import plot_figure

    archive = series_archive(tmp_path, [T0 + spacing * n for n in range(4)], [1, 5, 9, 14])
    for axes in drawn(plot_figure(archive)):
        texts = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
        assert len(texts) >= 2, texts
        for text in texts:
            assert re.match(label, text), (spacing, texts)


def test_a_crawl_that_archived_nothing_shows_as_a_gap(tmp_path) -> None:
    from archiver.analyse.plot import outages, plot_figure

    archive = series_archive(tmp_path, [day(0), day(2), day(3)], [10, 30, 40], failed_at=day(1))
    assert outages(archive, None)["snapshot_id"].tolist() == ["s1a"]
    views, _ = drawn(plot_figure(archive))
    marks = [line for line in views.get_lines() if line.get_label() == "crawl archived nothing"]
    assert len(marks) == 1
    [series] = [line for line in views.get_lines() if line.get_label().startswith("A long")]
    ys = list(series.get_ydata())
    assert len(ys) == 4 and ys[0] == 10 and ys[2:] == [30, 40] and ys[1] != ys[1]  # NaN: a break


def test_with_several_listings_one_is_named(tmp_path) -> None:
    from archiver.analyse.plot import plot_figure

    series_archive(tmp_path, [day(0), day(1)], [1, 2], url="https://one.example/")
    series_archive(tmp_path, [day(0), day(1)], [5, 9], url="https://two.example/")
    with pytest.raises(ArchiverError, match="holds 2 listings; name one with --listing"):
        plot_figure(tmp_path)
    views, _ = drawn(plot_figure(tmp_path, listing="https://two.example/"))
    [series] = [line for line in views.get_lines() if line.get_label().startswith("A long")]
    assert list(series.get_ydata()) == [5, 9]
    assert views.get_title().endswith("https://two.example/")
