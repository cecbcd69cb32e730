"""Request and response bodies of the projects API, one module per resource."""
