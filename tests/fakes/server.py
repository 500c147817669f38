"""The plumbing every fake provider shares: a local HTTP server on a free port, run by a thread.

A fake subclasses ``LocalHttpServer``, calls ``self._listen(handler)`` in its ``__init__`` and
sets ``url_path`` when its base URL goes past ``host:port`` (an API version, say).
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: the sixth of a burst of connections (tests
    # send 8 at once) waits for a SYN retransmitted after 1 s, longer than a client's timeout.
    request_queue_size = 128


class LocalHttpServer:
    url_path = ""  # what ``url`` adds after ``http://host:port``

    def _listen(self, handler: type[BaseHTTPRequestHandler], **server_options) -> None:
        """Make ``server`` on 127.0.0.1 and a free port (``server_options`` are set on it, e.g.
        ``block_on_close=False``), and ``thread``, which serves it once started."""
        self.server = _Server(("127.0.0.1", 0), handler)
        for name, value in server_options.items():
            setattr(self.server, name, value)
        self.thread = threading.Thread(target=self.server.serve_forever,  # quick to stop
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}{self.url_path}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send_gateway_page(handler: BaseHTTPRequestHandler, status: int = 504) -> None:
    """Answer as a gateway in front of the provider does when it gives up on it: an HTML page,
    not the provider's JSON (the request may have been carried out behind it)."""
    page = (f"<html><head><title>{status}</title></head><body><h1>{status} "
            f"{handler.responses[status][0]}</h1></body></html>").encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(page)))
    handler.end_headers()
    handler.wfile.write(page)
