"""Many workers, one snapshot: archiver on scrapy-redis.

Every worker runs the same ``scrapy crawl listing ... -s ARCHIVER_REDIS_URL=...
-s ARCHIVER_CRAWL_ID=NAME``; the ``Distributed`` add-on (``archiver.addons``) then puts these
parts in place of the single-process ones:

``scheduler.SharedScheduler``             scrapy-redis's scheduler, on a queue whose requests
                                          are leased (``LeasedQueue``) and travel as JSON.
``politeness.SharedPolitenessMiddleware`` one delay and one concurrency limit per host, for
                                          all workers.
``pages.SharedPagesMiddleware``           tells the writer when a page has given all its rows.
``writer.SharedSnapshotWriter``           writes this worker's part of the snapshot; commits
                                          each page once its rows are on disk; at the end one
                                          worker publishes (``publisher``).

Beneath them: ``frontier`` (the shared state in Redis: leases, commits, who publishes),
``serializer`` (the JSON requests travel as), ``joining`` (a worker joins, the start
requests are seeded once) and ``recovery`` (what the staged parts tell should Redis forget
the crawl). The spider uses only ``joining``; nothing here imports the spider.
"""
