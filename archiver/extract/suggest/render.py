"""The draft profile as TOML a person can read and edit: each selector with a comment saying
what it found and how often, the unsure points first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from archiver.extract.suggest.groups import Group
from archiver.version import __version__


def _toml_string(value: str) -> str:
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    name: str,
    page_url: str,
    best: Group,
    others: list[Group],
    entries: str,
    fields: dict[str, tuple[str, str]],
    next_query: str,
    next_why: str,
    unsure: list[str],
    counts: list[str],
) -> str:
    """The profile as TOML a person can read and edit: each selector with why it was chosen."""
    lines = [
        f"# Suggested by archiver {__version__} from {page_url}",
        f"# on {datetime.now(UTC):%Y-%m-%d}. A draft: check it with `archiver profile check`, then",
        "# edit what it got wrong.",
        "#",
        f"# Entries: {best.describe()}, the highest-scoring group of alike blocks that",
        "# each hold a titled link (a block scores by its title and by the date, heading and",
        "# text around it; groups in navigation, sidebars, footers, tag clouds or pagination",
        "# score a fraction).",
    ]
    for other in others[:3]:
        share = other.score / best.score if best.score else 0
        lines.append(f"# Runner-up: {other.describe()} ({share:.0%} of its score).")
    if unsure:
        lines.append("#")
        lines += [f"# UNSURE: {reason}." for reason in unsure]
    else:
        lines += ["#", "# Sure: one clear group, titles and links read in (nearly) every entry."]
    lines += [
        "",
        f"name = {_toml_string(name)}",
        f"description = {_toml_string('Suggested from ' + page_url)}",
        f"entries = {_toml_string(entries)}",
        "date_order = \"mdy\"  # how an all-numeric date like 01/05/2025 is read; 'dmy' else",
    ]
    if counts:
        lines.append(f"counts = [{', '.join(_toml_string(c) for c in counts)}]")
    lines += ["", "[fields]"]
    order = ["title", "url", "summary", "age", "views", "source"]
    for key in order + [k for k in fields if k not in order]:
        if key in fields:
            query, why = fields[key]
            lines.append(f"{key} = {_toml_string(query)}  # {why}")
        elif key in ("summary", "age", "views"):
            lines.append(f"{key} = ''  # not found in the entries")
        elif key == "source":
            lines.append("source = ''  # the site's host")
    lines += [
        "",
        "[page]",
        f"next = {_toml_string(next_query)}  # {next_why}",
        "total = ''",
        "",
    ]
    return "\n".join(lines)
