"""A draft profile from one page: the page's repeated entry blocks, found from its structure.

No model and no network: a listing is a run of sibling blocks built alike (``article.post``,
``li``, ``tr.athing``), each with a link that has a title, most with a date, a summary or
counts. Menus, tag clouds, archives and pagination repeat too, so every group of alike
siblings is scored:

* each block counts by the text of its title link and by what else it holds (a date, a
  heading, a paragraph): a menu item or a tag is a bare short link and scores little;
* groups inside ``nav``, ``aside``, ``footer`` or ``header``, or whose names say menu, sidebar,
  widget, tags, pagination, share or ads, score a fraction;
* a group whose links all go to one place, or whose titles are page numbers, scores nothing.

The best group becomes ``entries``; within its blocks, the title link, the date, the counts
and the summary are found by what their text is, and each selector is the shortest one that
picks the same element in (nearly) every block. The result is checked by applying the profile
to the page. It says when it is unsure: few blocks, a runner-up group that scores almost as
high, titles or links missing in many blocks.

The suggester's parts: ``blocks`` (the pieces of a page), ``groups`` (which repeated group is
the listing), ``selectors``, ``fields`` (date, counts, summary, next link) and ``render``
(the TOML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from parsel import Selector

from archiver.errors import ArchiverError
from archiver.extract.profiles import Profile, is_xpath, parse_profile
from archiver.extract.suggest.blocks import MIN_SCORE
from archiver.extract.suggest.counts import find_counts
from archiver.extract.suggest.fields import find_date, find_next, find_summary
from archiver.extract.suggest.groups import find_groups, innermost, nested, outermost
from archiver.extract.suggest.render import render
from archiver.extract.suggest.selectors import attribute, choose, entries_selector, simple_xpath


class SuggestError(ArchiverError):
    """No listing could be recognised; the message says what was looked for, and where."""


@dataclass
class Suggestion:
    """A draft profile, what it read from the page, and why it may be wrong."""

    profile: Profile
    text: str  # the profile as TOML, with comments saying why each selector was chosen
    entries: int
    unsure: list[str] = field(default_factory=list)
    sample: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def sure(self) -> bool:
        return not self.unsure


def suggest(html: str | bytes, page_url: str, name: str | None = None) -> Suggestion:
    """A draft profile for the listing on one page; a SuggestError when there is none."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    root = Selector(text=text).root
    now = datetime.now(UTC)
    groups = find_groups(root, now)
    if not groups or groups[0].score < MIN_SCORE:
        raise SuggestError(
            f"{page_url}: no listing found (no group of alike blocks with a titled link each)"
        )
    best = outermost(innermost(groups[0], groups), groups)
    blocks = [b for b in best.blocks if b.score() > 0]
    unsure: list[str] = []
    if len(blocks) < 3:
        unsure.append(f"only {len(blocks)} entry blocks were found")
    # Other groups, apart from the entries' own parts (a post's list of links) and wrappers.
    others = [g for g in groups if g is not best and not nested(g, best) and not nested(best, g)]
    runner = others[0] if others else None
    if runner is not None and runner.score >= 0.6 * best.score:
        unsure.append(
            f"another group scores nearly as high ({runner.describe()}, "
            f"{runner.score / best.score:.0%} of the chosen one): check that the entries are "
            "the posts"
        )
    entries, extra = entries_selector(root, best)
    if extra:
        unsure.append(f"the entries selector also picks {extra} other element(s)")
    title = choose(blocks, [b.title for b in blocks])
    url = choose(blocks, [b.link for b in blocks])
    if title is None or url is None:
        raise SuggestError(f"{page_url}: entry blocks found ({best.describe()}) but no title link")
    hollow = len(best.blocks) - len(blocks)
    if hollow and not extra:
        # Blocks built like entries but without a title link (an advert, a placeholder):
        # only those holding the entry's link are entries.
        link = url[0] if is_xpath(url[0]) else simple_xpath(url[0], ".//")
        entries = f"{simple_xpath(entries, '//')}[{link}]"
    fields: dict[str, tuple[str, str]] = {
        "title": (title[0], f"the title in {title[1]} of {len(blocks)} entries"),
        "url": (attribute(url[0], "href"), f"the title link in {url[1]} of {len(blocks)} entries"),
    }
    if title[1] < 0.8 * len(blocks):
        unsure.append(f"the title selector reads only {title[1]} of {len(blocks)} entries")
    taken = {id(b.title) for b in blocks} | {id(b.link) for b in blocks}
    if date := find_date(blocks, now):
        fields["age"] = (date[0], f"a date or an age in {date[1]} of {len(blocks)} entries")
    counts = find_counts(blocks)
    for count_name, (query, hits) in counts.items():
        key = "views" if count_name == "views" else count_name
        fields[key] = (query, f"a number of {count_name} in {hits} of {len(blocks)} entries")
    if summary := find_summary(blocks, taken):
        fields["summary"] = (
            summary[0],
            f"the most text besides the title, in {summary[1]} entries",
        )
    next_query, next_why = find_next(root, page_url, blocks)
    host = urlsplit(page_url).hostname or "local"
    profile_name = name or f"suggested-{host}"
    toml = render(profile_name, page_url, best, others, entries, fields, next_query, next_why,
                  unsure, [n for n in counts if n != "views"])  # fmt: skip
    profile = parse_profile(toml, f"suggested for {page_url}")
    page = profile.extract(root, page_url)
    readable = [e for e in page.entries if e.get("title") and e.get("url")]
    if len(readable) < 0.8 * max(1, len(page.entries)):
        unsure.append(
            f"the draft reads a title and a link in only {len(readable)} of "
            f"{len(page.entries)} entries"
        )
        toml = render(profile_name, page_url, best, others, entries, fields, next_query,
                      next_why, unsure, [n for n in counts if n != "views"])  # fmt: skip
        profile = parse_profile(toml, f"suggested for {page_url}")
    return Suggestion(profile, toml, len(page.entries), unsure, page.entries[:5])
