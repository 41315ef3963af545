"""``bench.loadclient``'s own HTTP client reads every kind of answer whole and counts it once."""

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from bench import loadclient


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the answer says close

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello", b" world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        keys.append(self.headers["Idempotency-Key"])
        status = 201 if body == {"points": 5} else 400
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")  # as gunicorn's sync workers answer
        self.end_headers()
        self.wfile.write(b"{}")
        self.close_connection = True


keys: list[str] = []


@pytest.fixture
def port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_every_kind_of_answer_is_read_whole_and_counted(port):
    keys.clear()
    result = loadclient.run(
        {
            "port": port,
            "concurrency": 4,
            "duration": 5.0,
            "max_requests": 200,
            "idempotency_keys": True,
            "pool": [
                {"path": "/chunked"},
                {"path": "/empty"},
                {"path": "/sized"},
                {"method": "POST", "path": "/write", "body": {"points": 5}},
            ],
        }
    )
    assert (result["requests"], result["errors"]) == (200, 0)
    assert set(result["statuses"]) == {"200", "201", "204"}
    assert result["statuses"]["201"] == len(keys) == len(set(keys))  # a fresh key each


def test_a_refused_connection_is_an_error_not_a_crash():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    closed = server.server_address[1]
    server.server_close()  # nothing listens there now
    result = loadclient.run(
        {"port": closed, "concurrency": 2, "max_requests": 6, "pool": [{"path": "/"}]}
    )
    assert (result["requests"], result["errors"]) == (0, 6)
