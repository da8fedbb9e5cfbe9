"""Real servers on loopback for delivery tests: an SMTP sink (aiosmtpd) and a
tiny HTTP SMS gateway. Each runs in a thread of the test process and records
what it received."""

import http.server
import json
import socket
import threading
import time
from email import message_from_bytes

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Accepts every message; `messages` holds them as email.message.Message,
    `connections` counts the sessions opened (EHLO). `refuse` makes it answer
    550 to every recipient instead, `refuse_to` to these addresses only;
    `hang_up_on` answers a message to these addresses with 421 (the server
    closing the connection: the client must open a new one)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages = []
        self.connections = 0
        self.refuse = False
        self.refuse_to: set[str] = set()
        self.hang_up_on: set[str] = set()
        self._lock = threading.Lock()
        self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse or address in self.refuse_to:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_up_on.intersection(envelope.rcpt_tos):
            return "421 4.3.2 Service shutting down"
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def start(self) -> "SmtpSink":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def mailers(self) -> dict:
        """A MAILERS setting that sends here through Django's SMTP backend."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
            }
        }


class SmsGateway(http.server.ThreadingHTTPServer):
    """Answers POSTs with `status`; records (headers, JSON body). `delay`
    seconds before answering; `received` is set when a request arrives."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.status, self.delay = status, delay
        self.requests: list[tuple[dict, dict]] = []
        self.received = threading.Event()
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/send"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _GatewayHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((dict(self.headers), body))
        self.server.received.set()
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b'{"error": "gateway busy"}' if self.server.status >= 400 else b'{"id": "1"}')

    def log_message(self, *args):
        pass
