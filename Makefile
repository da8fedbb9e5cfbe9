# Mesoclinic: `make run` sets up and serves the app with demo data; `make test` runs the suite.
# Both create .venv with a Python 3.12+ interpreter first (scripts/find-python finds one).

VENV := .venv
PY := $(VENV)/bin/python
HOST_PORT ?= 127.0.0.1:8000

.PHONY: run test lint format check-deploy clean bench loadrun

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || { python="$$(scripts/find-python)" && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Local development: DEBUG on, the embedded SQLite file unless DATABASE_URL is set.
# HOST_PORT=127.0.0.1:8001 serves elsewhere; a port in use is said before anything runs.
run: export DJANGO_DEBUG ?= true
run: $(VENV)/.installed
	@$(PY) scripts/check-port $(HOST_PORT)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST_PORT)

# The whole suite, on SQLite unless DATABASE_URL points at PostgreSQL, in one
# pytest-xdist worker per core (TEST_WORKERS=0: all in this process). Tests that
# must share a process say so with @pytest.mark.xdist_group (--dist loadgroup).
TEST_WORKERS ?= auto
test: $(VENV)/.installed
	$(VENV)/bin/pytest --numprocesses $(TEST_WORKERS) --dist loadgroup

# The benchmark (README, "Speed"): on the PostgreSQL server DATABASE_URL names, in
# databases of its own. DATABASE_URL must be set; BENCH_ARGS passes options through.
bench: export DJANGO_DEBUG ?= true
bench: $(VENV)/.installed
	$(PY) manage.py bench $(BENCH_ARGS)

# The load run (README, "Speed"): gunicorn on loopback and locust for 60 seconds. Not in CI.
loadrun: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-load.txt
	scripts/loadrun

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# Django's deployment check with production settings: DEBUG off, a real secret.
check-deploy: $(VENV)/.installed
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=deploy-check-$$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n') \
	DJANGO_ALLOWED_HOSTS=clinic.example.org DATABASE_URL= \
	CLINIC_BASE_URL=https://clinic.example.org CLINIC_SMS_BACKEND=http CLINIC_SMS_URL=https://sms.example.org/send \
	CLINIC_CACHE_URL=redis://127.0.0.1:6379/0 \
	$(PY) manage.py check --deploy --fail-level WARNING

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
