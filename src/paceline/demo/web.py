"""The demo's web service: a page that says which node serves it, under which fencing token.

Run by Paceline's built-in service agent (`python3 -m paceline.demo.web --port 80`), which gives
it `PACELINE_NODE_NAME` and `PACELINE_TOKEN`. `GET /` answers a line for people, `GET /json`
`{"node", "token", "pid"}` for observers. It binds every address of its network namespace, so
it answers on the virtual IP once the IP is on this node.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["main"]


class _Handler(BaseHTTPRequestHandler):
    node = os.environ.get("PACELINE_NODE_NAME", "?")
    token = os.environ.get("PACELINE_TOKEN", "")

    def do_GET(self) -> None:
        if self.path.startswith("/json"):
            body = json.dumps({"node": self.node, "token": int(self.token or 0), "pid": os.getpid()})
            ctype = "application/json"
        else:
            body = f"Paceline demo: served by {self.node} (fencing token {self.token or '-'})\n"
            ctype = "text/plain; charset=utf-8"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would flood the service log at the observer's 100 requests/s


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="paceline.demo.web")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--demo", default="", help="the demo's name (lets an observer find this process)")
    args = ap.parse_args(argv)
    ThreadingHTTPServer.allow_reuse_address = True
    with ThreadingHTTPServer((args.bind, args.port), _Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
