"""Demo data and the benchmark, beside the clinical code rather than inside it:
`manage.py seed_demo` (demo.py) and `manage.py bench` (bench/). Nothing here
holds a rule of the clinic; it builds data and times pages through the
clinical app's models, services and URLs."""
