"""A page in, fields out, with no Scrapy engine in sight: the profile format and the built-in
profiles (``profiles``), text as a reader sees it (``readable``), a page's bytes to text
(``decoding``), ages and dates to publication intervals (``dates``), and a draft profile
from a page nobody wrote one for (``suggest``).
"""
