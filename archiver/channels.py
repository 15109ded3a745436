"""The hidden channels, named once: the ``Request.meta`` keys and stats keys by which one
component hands data to another.

Scrapy lets components talk only through a request's ``meta`` and the crawl's stats, so
those keys are an interface like any function's arguments. Each is defined here, with who
writes it and who reads it; code uses these names, never the strings. Stats that only count
(``archiver/<stage>/<field>/<reason>``) are no hand-off and are written where they happen.

Request and response ``meta``:
"""

# The listing (its start URL) a request belongs to. Written by the spider on every request
# of a listing (redirects inherit it); read by the site guard (same-site check), the page
# error middleware, the shared crawl's frontier and the spider's parse.
META_LISTING = "listing"
# The profile already chosen for the listing; written by the spider, read back by it on
# the next page.
META_PROFILE = "profile"
# The capture time, stamped once by the capture middleware (or by replay from the WARC): the
# rows' ``fetched_at`` and the record's ``WARC-Date`` are one value.
META_FETCHED_AT = "fetched_at"
# Where the response's WARC record is: written by the capture middleware (or replay), read
# by the spider into every row, so that each row names its evidence.
META_WARC_RECORD_ID = "warc_record_id"
META_WARC_FILENAME = "warc_filename"
# The page as read (entries, next link), written by the spider for the shared crawl's
# committer, which stages it before the lease is released.
META_PAGE = "archiver_page"
# Why a request that is no listing page was made: "feed" or "post" (archiver.spiders.dating,
# which awaits it itself); read by logs and tests.
META_DATING = "archiver_dating"
# A shared-crawl lease token: written by the shared scheduler, read when the page is done.
META_LEASE = "archiver_lease"
# A shared-crawl politeness gate (host, token): written and read by the shared gate.
META_GATE = "archiver_gate"

# Stats keys: how the snapshot writer (archiver.extensions, or the shared crawl's publisher
# in archiver.distribute.writer) tells the crawl command (its exit code and last line) and
# archiver reparse what was archived.

# "complete", "partial", "failed", or None when this process published nothing.
STAT_SNAPSHOT_STATUS = "archiver/snapshot/status"
# Rows in the published snapshot.
STAT_SNAPSHOT_ROWS = "archiver/snapshot/rows"
# Where the published snapshot is.
STAT_SNAPSHOT_PATH = "archiver/snapshot/path"
# A sealed staging folder that ``archiver.cli.publish`` is to publish (the crawl command execs it).
STAT_SNAPSHOT_PENDING = "archiver/snapshot/pending"
# Why nothing (or not everything) was archived: the one line the crawl command ends with.
STAT_SNAPSHOT_ERROR = "archiver/snapshot/error"
