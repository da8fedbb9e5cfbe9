"""SMS backends. The worker hands each text to the backend CLINIC_SMS_BACKEND
names; a backend is any class whose instances have

    send(to: str, body: str) -> None

which returns once the message is accepted and raises SmsError, with a
sentence a receptionist can read, when it is not. The reminder records that
sentence and is tried again later. To plug in another gateway, write such a
class and set CLINIC_SMS_BACKEND to its dotted path; its settings are read in
its __init__ (no arguments).

- "console": prints each message (development).
- "file": appends one JSON line per message to CLINIC_SMS_FILE_PATH (tests,
  demos, or a spool another program sends from).
- "http": POSTs {"to", "body"} as JSON to CLINIC_SMS_URL with the header
  "Authorization: Bearer CLINIC_SMS_TOKEN"; any 2xx answer is accepted.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The SMS was not accepted; the message says why."""


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> None: ...


class ConsoleSmsBackend:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to: str, body: str) -> None:
        self.stream.write(f"SMS to {to}:\n{body}\n{'-' * 40}\n")
        self.stream.flush()


class FileSmsBackend:
    """One JSON line per message. Each line is one write() to a file opened for
    appending, so two workers writing at once never interleave their lines."""

    def __init__(self, path=None):
        self.path = path or settings.CLINIC_SMS_FILE_PATH

    def send(self, to: str, body: str) -> None:
        line = json.dumps({"to": to, "body": body}, ensure_ascii=False) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise SmsError(f"Could not write the SMS to {self.path}: {exc.strerror}.") from exc


class HttpSmsBackend:
    """A gateway reached over HTTP(S) with a bearer token."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.url = url or settings.CLINIC_SMS_URL
        self.token = token if token is not None else settings.CLINIC_SMS_TOKEN
        self.timeout = timeout or settings.CLINIC_SMS_TIMEOUT

    def send(self, to: str, body: str) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise SmsError(f"The SMS gateway refused the message: HTTP {exc.code} {detail}".strip()) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsError(f"The SMS gateway could not be reached: {reason}.") from exc


BACKENDS = {"console": ConsoleSmsBackend, "file": FileSmsBackend, "http": HttpSmsBackend}


def sms_backend() -> SmsBackend:
    """The backend CLINIC_SMS_BACKEND names."""
    name = settings.CLINIC_SMS_BACKEND
    return (BACKENDS.get(name) or import_string(name))()
