"""The analyst's side of archiver: reading snapshots back, typed (``read``), following entries
across them (``history``), comparing two (``diff``), and pictures of it (``plot``,
``report``). Only this wing imports pandas; a crawl never loads it.
"""
