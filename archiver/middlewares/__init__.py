"""Downloader middlewares: where archiver differs from Scrapy's defaults on the wire."""
