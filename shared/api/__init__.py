"""What every service's HTTP API shares: the clock, pagination, idempotent creates, roles, OpenAPI conventions."""
