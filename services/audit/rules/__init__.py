"""Audit's pure rules: no I/O, no clock, no HTTP, no Kafka. The use cases in `domain/` apply them."""
