"""Department integrations (行业部门数据比对): each department's service account pushes its own kind of data
in bulk; valid rows apply one by one (each atomically), invalid rows are reported, and an idempotency key
makes a repeated submission return the stored report without changing anything.
"""
