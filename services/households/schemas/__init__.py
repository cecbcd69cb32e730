"""Request and response bodies of the households API, one module per concept."""
