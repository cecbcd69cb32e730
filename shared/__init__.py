"""The platform's own library: one outbox, one consumer runner, one error model, one auth dependency."""
