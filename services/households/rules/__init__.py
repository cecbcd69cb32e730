"""The register's pure rules: no I/O, no clock, no HTTP, no Kafka; the facts and the day come in as arguments."""
