"""The archive on disk: one crawl, one snapshot directory, published atomically.

Layout under ``<ARCHIVER_DATA_DIR>``::

    snapshots/
      snapshot_id=20261127T165155042Z-3fa2c1/    <- hive partition: pyarrow, DuckDB, polars, Spark
        entries.parquet
        _meta/manifest.json                     <- "_" folders are skipped by Parquet readers
        _meta/entries.jsonl.gz
    .staging/<snapshot_id>/                     <- a crawl in progress; never read as a snapshot

A crawl writes into ``.staging``; when the spider closes, the files are synced, the manifest
(written last) records their checksums, and one ``rename`` moves the directory into
``snapshots/``. A reader therefore sees a whole snapshot or none; a crawl that dies leaves
only a staging directory, which nothing lists as a snapshot.

``layout`` names the folders and files and lists snapshots; ``staging`` writes one;
``publishing`` seals and renames it into place; ``verify`` checks one against its manifest;
``durable`` is how every file and rename is made to last; ``rows`` turns rows into JSONL and
Parquet; ``journal`` keeps a resumable crawl's pages; ``locks`` says who holds what;
``prune`` keeps the archive to a size.
"""
