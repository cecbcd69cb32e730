"""Request and response bodies of the audit API, one module per resource (XCreate in, XRead out)."""
