"""`make run` checks HOST_PORT is free before it migrates anything, and when it
is taken says how to choose another, exiting non-zero (issue 18)."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def busy_port():
    """A port something listens on, as a server left running would."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    # A newcomer's shell: none of the test settings' variables (DJANGO_DEBUG=false among them).
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # it went on to serve: the check let a busy port through
        process.communicate()
        pytest.fail("make run did not stop at the busy port")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def test_make_run_on_a_busy_port_says_how_to_choose_another_before_migrating(busy_port, tmp_path):
    result = run(["make", "run", f"HOST_PORT=127.0.0.1:{busy_port}"], tmp_path)
    assert result.returncode != 0
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert "choose another port: make run HOST_PORT=127.0.0.1:" in result.stderr
    assert "manage.py migrate" not in result.stdout
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_free_port_passes_the_check(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = [sys.executable, str(ROOT / "scripts" / "check-port")]
    assert run([*check, f"127.0.0.1:{port}"], tmp_path).returncode == 0
    bad = run([*check, "localhost:eighty"], tmp_path)
    assert bad.returncode == 2 and "write it like 127.0.0.1:8000" in bad.stderr
