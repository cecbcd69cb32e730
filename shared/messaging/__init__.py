"""The event backbone: CloudEvents on Kafka, a transactional outbox and relay, an idempotent consumer."""
