"""Project commands for ``scrapy`` (COMMANDS_MODULE): ``crawl`` with archiver's exit codes and
start-up checks; ``parse`` that archives nothing."""
