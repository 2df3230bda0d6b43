"""A callback receiver for the tests: a real HTTP server on 127.0.0.1 in a
thread of the test process, which records every request it gets (its
headers, body and the time it arrived) and answers each one as its plan
says, so that a test can make it fail, hang, redirect or flood.

    r = Receiver(["500", "500", "200"])    # then 200 for ever
    url = r.url("/hook")
    ...
    r.wait_requests(3)
    r.close()

Plan entries (one per request, in order; the last one repeats):
    "200", "500", ...        answer that status with an empty body
    "hang:S"                 read the request, answer nothing for S seconds
                             (then 200, if the client is still there)
    "trickle:S"              send the status line, then one header byte per
                             second for S seconds (a slow-loris answer)
    "redirect:URL"           302 with Location: URL
    "flood:STATUS:MB"        answer STATUS with a chunked body of MB MiB
    "delay:S:STATUS"         wait S seconds, then answer STATUS
"""
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # quiet
        pass

    def do_POST(self):
        rec = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = rec._record(self.path, dict(self.headers.items()), body)
        self._act(entry["plan"])

    def _simple(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _act(self, plan):
        kind, _, rest = plan.partition(":")
        try:
            if kind.isdigit():
                self._simple(int(kind))
            elif kind == "hang":
                time.sleep(float(rest))
                self._simple(200)
            elif kind == "delay":
                secs, _, status = rest.partition(":")
                time.sleep(float(secs))
                self._simple(int(status or 200))
            elif kind == "redirect":
                self._simple(302, {"Location": rest})
            elif kind == "trickle":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self.wfile.flush()
                deadline = time.monotonic() + float(rest)
                while time.monotonic() < deadline:
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(1)
                self.close_connection = True
            elif kind == "flood":
                status, _, mb = rest.partition(":")
                self.send_response(int(status))
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                line = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                for _ in range(int(float(mb) * 16)):
                    self.wfile.write(line)
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True
            else:
                raise ValueError(f"unknown plan entry {plan!r}")
        except (BrokenPipeError, ConnectionResetError):
            # The sender gave up on us (its timeout, its cap on answers).
            self.close_connection = True
            self.server.receiver.hangups += 1


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Receiver:
    def __init__(self, plan=("200",), port=0):
        self.plan = list(plan)
        self.requests = []
        self.hangups = 0
        self._lock = threading.Condition()
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.receiver = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _record(self, path, headers, body):
        with self._lock:
            n = len(self.requests)
            plan = self.plan[min(n, len(self.plan) - 1)]
            entry = {"path": path, "headers": headers, "body": body, "at": time.time(),
                     "mono": time.monotonic(), "plan": plan}
            self.requests.append(entry)
            self._lock.notify_all()
        return entry

    def wait_requests(self, n, timeout=60):
        """Waits until at least n requests came; returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the receiver got {len(self.requests)} of {n} requests "
                                         f"within {timeout} s")
                self._lock.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def header(entry, name):
    """A request header, whatever its case."""
    for k, v in entry["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


def signature_ok(entry, secret):
    """The check a receiver makes (docs/callbacks.md): HMAC-SHA256 over
    "<timestamp>.<body>" with the secret, compared in constant time."""
    ts = header(entry, "X-Scriptorch-Timestamp")
    sig = header(entry, "X-Scriptorch-Signature")
    if not ts or not sig or not sig.startswith("sha256="):
        return False
    want = hmac.new(secret.encode(), ts.encode() + b"." + entry["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig[len("sha256="):])


def body_json(entry):
    return json.loads(entry["body"].decode("utf-8"))
