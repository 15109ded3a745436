"""Spiders: they crawl and hand pages on; extraction is in profiles, cleaning in pipelines."""
