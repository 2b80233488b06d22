"""Every read query, in one place: functions of a SQLAlchemy ``Session`` (and arguments).

The CLI, the demo, the metrics and the job system run them through ``Database.query`` (the
synchronous engine); the TUI runs the very same functions on its event loop through
``AsyncDatabase.query`` (``AsyncSession.run_sync``). Writes never live here.

- ``corpus``: channels with their counts, videos, totals
- ``transcripts``: one stored transcript (and why there is none), pages for exports
- ``search``: full-text search over transcript passages
- ``jobs``: the ledger (lists, one job, failures, the counts the consumer decides by)
- ``sessions``: processing sessions and their reports, derived from their jobs
- ``state``: live counts, quota, queue pauses and breakers, consumers, the rate limit
"""
