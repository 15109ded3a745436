"""What a crawl is asked for and where it may go, checked before anything is fetched: the
spider's arguments and start URLs (``arguments``), named listings (``listings``), settings
(``preflight``), and the reach policy (``reach``), which the crawl's DNS resolver
(``resolver``) enforces at connect time.
"""
