"""Scrapy settings for archiver: polite by default, typed feeds, atomic snapshots.

Override any of these per run with ``-s NAME=VALUE``.
"""

import os

from archiver.items import COLUMNS
from archiver.store.layout import project_data_dir
from archiver.version import PROJECT_URL, __version__

BOT_NAME = "archiver"
SPIDER_MODULES = ["archiver.spiders"]
NEWSPIDER_MODULE = "archiver.spiders"
# Our "crawl" adds one-line argument errors and exit codes that say what was archived.
COMMANDS_MODULE = "archiver.commands"

# --- Politeness: identify ourselves, obey robots.txt, one request at a time per site. ---
USER_AGENT = f"archiver/{__version__} (+{PROJECT_URL})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19+ also opens an HTTP remote-control port; an unattended archiver needs neither.
REMOTE_CONTROL_ENABLED = False
# Listing pages are HTML of tens to hundreds of KiB; anything near this is not a listing.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 3
ARCHIVER_BACKOFF_BASE = 1.0  # seconds before the first retry; doubled for each next one
ARCHIVER_BACKOFF_MAX = 30.0
ARCHIVER_RETRY_AFTER_MAX = 120.0  # a server's Retry-After is obeyed up to this many seconds
REDIRECT_MAX_TIMES = 5

# --- Reach (archiver/scope/reach.py): a listing's site is its start URL's scheme, host and port;
# next links and redirects go nowhere else. Every address connected to is checked at connect
# time by the resolver below: loopback, private, link-local and metadata addresses are
# refused unless a start URL is at such an address itself (a local crawl). ---
# More origins pagination and redirects may reach: "HOST" (http/https, default ports),
# "HOST:PORT", "HOST:*" (any port), "SCHEME://HOST[:PORT]", "*.HOST" (its subdomains).
ARCHIVER_ALLOWED_HOSTS: list[str] = []
ARCHIVER_ALLOW_PRIVATE_ADDRESSES = False  # True: any address (a crawl of an intranet by name)
TWISTED_DNS_RESOLVER = "archiver.scope.resolver.GuardedResolver"
# The resolver the guard asks (any Scrapy/Twisted resolver class; the guard checks its answers).
ARCHIVER_DNS_RESOLVER = "scrapy.resolver.CachingThreadedResolver"

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt, so an offsite redirect does not even fetch the other host's robots.
    "archiver.middlewares.siteguard.SiteGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "archiver.middlewares.robots.StrictRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "archiver.middlewares.retry.BackoffRetryMiddleware": 550,
    # Next to the downloader: sees each response as received, before decompression,
    # redirects and retries, and keeps it as evidence (WARC).
    "archiver.middlewares.capture.CaptureMiddleware": 880,
}
SPIDER_MIDDLEWARES = {
    # Closest to the spider, so an exception in a callback is turned into a failed page.
    "archiver.middlewares.pageerrors.PageErrorMiddleware": 1000,
}
# Retry-After sleeps run on the asyncio loop (Scrapy's default reactor since 2.13).
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
COOKIES_ENABLED = False

# --- Items: normalise in small steps, drop what is not an entry, count everything. ---
# Each stage is a pure function plus a thin class (archiver/pipelines/); they run in this
# order inside one Scrapy pipeline, which costs less per item than six (README, "Speed").
ARCHIVER_NORMALISERS = {
    "archiver.pipelines.text.CleanTextPipeline": 100,
    "archiver.pipelines.required.RequireTitlePipeline": 200,
    "archiver.pipelines.identity.EntryIdPipeline": 300,
    "archiver.pipelines.age.AgePipeline": 400,
    "archiver.pipelines.published.PublishedPipeline": 450,
    "archiver.pipelines.views.ViewsPipeline": 500,
    "archiver.pipelines.counts.ExtraCountsPipeline": 600,
}
ITEM_PIPELINES = {
    "archiver.pipelines.NormalisePipeline": 100,
}

# --- Output: every crawl publishes one snapshot; -O out.parquet / out.jsonl also work. ---
EXTENSIONS = {
    "archiver.extensions.SnapshotWriter": 500,
}
FEED_EXPORTERS = {
    "parquet": "archiver.exporters.ParquetExporter",
    "jsonl": "archiver.exporters.JsonLinesExporter",
    "jsonlines": "archiver.exporters.JsonLinesExporter",
}
FEED_EXPORT_ENCODING = "utf-8"
# Every feed (-O out.csv, out.json, out.xml as much as out.parquet) carries the contract's
# columns and no more: an entry also carries hints for the pipelines (date_order,
# count_fields, rejected), which are no data.
FEED_EXPORT_FIELDS = COLUMNS
# "data" beside scrapy.cfg, wherever in the project the crawl is started from.
# The environment variable of the same name wins, so that a crawl, the archiver commands and
# archiver.load() in a cron job or a notebook all find one place from one line.
ARCHIVER_DATA_DIR = os.environ.get("ARCHIVER_DATA_DIR") or str(project_data_dir())
# The listings file that -a listing=NAME reads; empty: listings.toml beside scrapy.cfg.
ARCHIVER_LISTINGS = ""
ARCHIVER_SNAPSHOTS = True
# Keep every response of the crawl as evidence, in WARC files inside the snapshot.
ARCHIVER_WARC = True
# A response whose payload the listing's last snapshot already keeps is written as a WARC
# revisit record pointing to it (archiver/evidence/revisits.py): unchanged pages stored once.
ARCHIVER_REVISITS = True
# Set by `archiver reparse`: the snapshot directory whose WARC files answer every request.
ARCHIVER_REPLAY = ""
# --- Exact dates (archiver/spiders/dating.py): the times entries' markup, the site's feed and
# the posts' own pages state narrow the printed ages. ---
# Read the feed a listing page links on its own site: one request per feed and crawl.
ARCHIVER_FEEDS = True
# Follow each entry still dated more loosely than its day to its own page, once. Off by
# default: a request per new entry, and on an aggregator to hosts the crawl was not pointed
# at; posts read once are carried forward, so daily crawls ask only for new posts.
ARCHIVER_FOLLOW_ENTRIES = False
ARCHIVER_FOLLOW_ENTRIES_MAX = 200  # post pages per crawl at most; the rest wait for the next
# A safety net against endless pagination (a "next" link that always yields a new URL).
ARCHIVER_MAX_PAGES = 1000

# --- Many workers, one snapshot (archiver/distribute/): give every worker the same Redis and
# crawl id. Empty: a crawl by one process, which never touches Redis. ---
ARCHIVER_REDIS_URL = ""
ARCHIVER_CRAWL_ID = ""
ARCHIVER_REDIS_LEASE = 60  # seconds without a worker's heartbeat before its pages go back
# Seconds a worker waits for a Redis it cannot reach before it stops (its rows kept).
ARCHIVER_REDIS_OUTAGE = 120
ADDONS = {
    "archiver.addons.Distributed": 0,
}

# --- Resuming: with -s JOBDIR=..., archiver's page journal (archiver/store/journal.py) holds the
# crawl's state, synced page by page, so even a killed crawl resumes exactly. ---
SCHEDULER = "archiver.store.journal.JournalScheduler"

LOG_LEVEL = "INFO"
LOG_FORMATTER = "archiver.logformatter.ArchiverLogFormatter"
