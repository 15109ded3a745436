"""The ground floor: archiver's version and home page, importing nothing.

Every module that stamps its work (a manifest, a WARC ``warcinfo`` record, the User-Agent)
reads them here, so that none of them imports the package's ``__init__``, which reaches up
to the analysis side (``archiver.load``)."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/archiver-project/archiver"
