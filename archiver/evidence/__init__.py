"""The evidence of a snapshot: every HTTP exchange of its crawl, in WARC files (ISO 28500).

Written with warcio, the reference library, as Heritrix and Browsertrix write them:

* gzip WARC/1.1 files, one record per gzip member, each file opening with a ``warcinfo``
  record; ``WARC-Date`` has microseconds, the capture time the rows carry as ``fetched_at``;
* a ``response`` record with the status line, the headers and the body as they were
  received, *before* content decoding (a gzip body stays gzip), followed by the ``request``
  record that asked for it (``WARC-Concurrent-To``); pages read from ``file:`` URLs are
  ``resource`` records;
* nothing secret: request records carry no ``Cookie`` or ``Authorization`` header, and no
  user name or password appears in a ``WARC-Target-URI``.

A file being written is named ``*.warc.gz.open`` (Heritrix's convention) and only becomes
``*.warc.gz`` when the snapshot is published, so a killed crawl never leaves a WARC that
looks complete. A resumed crawl (``JOBDIR``) keeps its files: a torn last record is cut off
and writing goes on in a new file.

Scrapy hands us the body with its transfer encoding already undone, so a
``Transfer-Encoding: chunked`` header is left out of the stored headers, as capture proxies
that de-chunk do; everything else is stored as received.

``records`` names the files and records; ``writer`` writes them (and recovers a killed
crawl's); ``reader`` reads them back; ``replay`` serves a snapshot's pages to a crawl again, as
``archiver reparse`` does.
"""
