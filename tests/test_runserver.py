"""`manage.py runserver` refuses production settings it cannot serve with one
clear message and exits, instead of Django's bare ALLOWED_HOSTS line or a
traceback in a thread of a process that never ends (issue 18)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runserver(env: dict) -> subprocess.CompletedProcess:
    """With the autoreloader, as a newcomer runs it. A hang fails the test, and
    the whole process group goes (the reloader's child too)."""
    args = [sys.executable, MANAGE, "runserver", f"127.0.0.1:{free_port()}"]
    process = subprocess.Popen(
        args,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"runserver still running after 30 s:\n{stderr}")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def test_with_nothing_set_it_says_everything_missing_and_exits():
    result = runserver({})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr
    assert "Serving the app refused" in message
    for missing in ("DJANGO_SECRET_KEY", "CLINIC_BASE_URL", "CLINIC_SMS_BACKEND", "DJANGO_ALLOWED_HOSTS"):
        assert f"{missing} is not set" in message, missing
    assert "DJANGO_DEBUG=true" in message  # the way to run it locally


def test_with_hosts_set_it_exits_with_the_message_not_a_thread_traceback():
    result = runserver({"DJANGO_ALLOWED_HOSTS": "clinic.example.org"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Exception in thread" not in result.stderr
    assert "Serving the app refused" in result.stderr and "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_ALLOWED_HOSTS" not in result.stderr


def test_with_debug_on_it_serves(tmp_path):
    """The refusal is for production only: `make run`'s settings still serve."""
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [sys.executable, MANAGE, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "runserver exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not listen within 30 s"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
