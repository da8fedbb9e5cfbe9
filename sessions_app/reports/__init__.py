"""The reports a clinic manager reads (and a practitioner, for their own
figures): every figure an aggregate computed by the database, one query per
chart or table, on PostgreSQL and SQLite alike.

- period.py: the period chosen, its months and weeks (pure)
- figures.py: what is not SQL (rates, open hours per week: pure)
- tables.py: a table, its chart and its CSV (plain values)
- queries.py: the queries, one per chart, and the tables they fill
- today.py: the manager's figures of the day and the week on Today
"""
