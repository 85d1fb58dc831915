"""Stands in for a user's JupyterLab: records the FLUX_* environment it was given, answers HTTP."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class Answer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main():
    env = {k: v for k, v in os.environ.items() if k.startswith("FLUX_")}
    path = os.path.join(os.environ["FAKE_ENV_OUT"], os.environ["JUPYTERHUB_USER"] + ".json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(env, f)
    port = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"]).port
    ThreadingHTTPServer(("127.0.0.1", port), Answer).serve_forever()


if __name__ == "__main__":
    main()
