"""A SOCKS5 proxy on 127.0.0.1 for tests (no authentication, CONNECT only): what ``ssh -D`` gives a
kubeconfig's ``proxy-url: socks5://…``. It records every destination it was asked for."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any


class SocksDouble:
    def __init__(self) -> None:
        self.destinations: list[tuple[str, int]] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"socks5://127.0.0.1:{self.port}"
        self._stop = threading.Event()

    def __enter__(self) -> SocksDouble:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                _, methods = client.recv(2)
                client.recv(methods)
                client.sendall(b"\x05\x00")  # no authentication
                _, _, _, kind = client.recv(4)  # version, CONNECT, reserved, address type
                if kind == 1:
                    host = socket.inet_ntoa(client.recv(4))
                else:  # 3: a name, length-prefixed
                    host = client.recv(client.recv(1)[0]).decode()
                (port,) = struct.unpack("!H", client.recv(2))
                self.destinations.append((host, port))
                upstream = socket.create_connection((host, port), timeout=5)
            except OSError:
                return
            with upstream:
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
                pump = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
                pump.start()
                _copy(client, upstream)
                pump.join(5)


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
