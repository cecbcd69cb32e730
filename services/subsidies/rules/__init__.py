"""Subsidy rules as plain functions: no I/O, no clock (the day is given), no HTTP, no Kafka."""
