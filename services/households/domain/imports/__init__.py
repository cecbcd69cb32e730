"""Bulk import of households from CSV (建档立卡数据批量导入), streamed in chunks, idempotent per household code
and member ID-card number: re-running the same file changes nothing.

`poverty import FILE.csv --database-url URL` (see `command.py`).
"""
