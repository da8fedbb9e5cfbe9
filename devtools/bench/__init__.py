"""The benchmark behind `manage.py bench`: demo clinics of two sizes on
PostgreSQL, the pages staff open all day timed through Django's test client,
the reminder jobs, and a table of the results.

databases.py  the bench's own PostgreSQL databases (check, create, switch, drop)
pages.py      which pages, as which role, timed how
jobs.py       seeding, reminder generation and one send_reminders round, timed
report.py     the table, the targets, and where it is written
"""
