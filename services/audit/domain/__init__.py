"""Audit's use cases: each takes the caller's session and the time it acts at, and never commits."""
