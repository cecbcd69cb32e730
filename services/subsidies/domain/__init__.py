"""Subsidies' use cases, one module per concept: they take a session and the time they act at, and never commit."""
