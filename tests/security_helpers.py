"""Pieces the security regression tests share: forged ltiks, and a server that drips its answer."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def tampered(ltik: str, user: str = "mallory") -> str:
    """The same ltik with another user in its claims and the original signature: plausible claims that
    only LTIAAS can refuse."""
    header, payload, signature = ltik.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user"] = user
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


_HEADER = b64url(b'{"alg":"HS256","typ":"JWT"}')
_FILLER = ",".join(f'"k{number}":{number}' for number in range(560))  # about 6 KiB of tiny claims


def forged_8k(index: int) -> str:
    """A distinct forged ltik of about 8 KiB whose claims expand in memory: hundreds of tiny keys."""
    payload = f'{{"iat":{int(time.time())},"n":{index},{_FILLER}}}'.encode()
    return f"{_HEADER}.{b64url(payload)}.{b64url(bytes(32))}"


class DrippingServer:
    """An HTTP server on 127.0.0.1 that answers its first ``drips`` connections with headers and then one
    body byte a second (for ever, until cut off), and every later connection with ``body`` at once."""

    def __init__(self, body: bytes, drips: int = 1) -> None:
        self.body = body
        self.drips = drips
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            drip = self.connections <= self.drips
            thread = threading.Thread(target=self._answer, args=(conn, drip), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket, drip: bool) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                length = len(self.body)
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}"
                conn.sendall(head.encode() + b"\r\n\r\n")
                if not drip:
                    conn.sendall(self.body)
                    return
                for byte in self.body:
                    if self._stop.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(2)


@contextmanager
def dripping_server(body: bytes, drips: int = 1) -> Iterator[DrippingServer]:
    server = DrippingServer(body, drips)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(2)
