"""The register's use cases: each takes the caller's session and the time it acts at (`now` / `today`), and
never commits. The command-line jobs (`imports/`, `rekey`) are the exception: they run their own transactions.
"""
