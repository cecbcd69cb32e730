"""Request and response bodies of the subsidies API, one module per resource."""
