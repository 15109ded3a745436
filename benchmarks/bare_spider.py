"""The floor the crawl is measured against: a bare parsel spider reading the same fields
from the same PaperMod pages, following the same pagination, into Scrapy's own JSONL feed.

``scrapy runspider benchmarks/bare_spider.py -a start_urls=URL,URL -O out.jsonl``
"""

from __future__ import annotations

import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, start_urls: str = "", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = start_urls.split(",")

    def parse(self, response):
        for entry in response.css("main article.post-entry"):
            title = " ".join(entry.css("header.entry-header h2::text").getall()).strip()
            if not title:
                continue
            yield {
                "title": title,
                "url": response.urljoin(entry.css("a.entry-link::attr(href)").get() or ""),
                "summary": " ".join(
                    " ".join(entry.css(".entry-content p ::text").getall()).split()
                ),
                "age": " ".join(entry.css("footer.entry-footer ::text").getall())
                .split("·")[0]
                .strip(),
                "source": response.css("header .logo a[accesskey=h]::text").get(),
                "page_url": response.url,
            }
        next_page = response.css("nav.pagination a.next::attr(href)").get()
        if next_page:
            yield response.follow(next_page, callback=self.parse)
