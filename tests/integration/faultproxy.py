#!/usr/bin/env python3
"""faultproxy.py - a MySQL-protocol proxy that loses answers on purpose.

A real process between a scriptorchd and the real MariaDB (the daemon's
[database] host points at it): it forwards the protocol both ways, and
when armed, cuts one connection (closes both sides) right after it
forwarded a client packet that matches a rule. By default it first lets
the server answer (and drops the answer), so the server has executed and,
for a COMMIT or a statement alone, committed what the client never hears
about: the "in doubt" case of a server or network dying at that moment.
A rule may also drop the packet instead of forwarding it (the statement
never reaches the server).

Only what that needs of the protocol is parsed: packets (3-byte length,
sequence id), the command byte of each packet the client starts a
command with (sequence 0), COM_QUERY's text, COM_STMT_PREPARE's text and
the statement id the server gives it (COM_STMT_EXECUTE names a statement
by that id), and the capability flags of the server's greeting, where
CLIENT_SSL is cleared so that the connection stays plain text.

Run:  faultproxy.py --upstream unix:/path/mysql.sock|HOST:PORT
                    [--listen 127.0.0.1:0] [--control 127.0.0.1:0]
It prints one line, "listen PORT control PORT", once both are bound.

The control channel is TCP: one JSON object per line in, one per line
out. {"op": "arm", ...rule...} -> {"id": N}; {"op": "status"} ->
{"rules": [...], "connections": N}; {"op": "disarm"} forgets every rule.
A rule: "command": "query" (COM_QUERY) or "execute" (COM_STMT_EXECUTE of
a prepared statement), "match": a regular expression the statement's
text must match (re.search, case ignored), and optionally "in_tx_with": one the text of
some statement run since the connection's last START TRANSACTION must
match (for a COMMIT: whose transaction), "payload_has": a string the
packet's bytes must contain (a bound parameter), "forward": false to drop
the packet instead of forwarding it, "delay_s": cut the client's side at
once and forward the packet only that many seconds later (the statement
still on its way, or still being committed, while the client asks again
on a fresh connection). A rule fires once. FaultProxy, below,
is the tests' side of it.
"""
import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time

COM_QUERY = 0x03
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_CLOSE = 0x19
CLIENT_SSL = 0x0800
# How long a cut waits for the server's answer before it cuts anyway (a
# statement held by a lock, say).
ANSWER_WAIT_S = 10.0


def log(msg):
    print(f"faultproxy {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class Rule:
    def __init__(self, rid, spec):
        self.id = rid
        self.name = spec.get("name", "")
        self.command = spec["command"]
        if self.command not in ("query", "execute"):
            raise ValueError("command: query or execute")
        self.match = re.compile(spec["match"], re.I)
        self.in_tx_with = re.compile(spec["in_tx_with"], re.I) if spec.get("in_tx_with") else None
        self.payload_has = spec.get("payload_has", "").encode()
        self.forward = bool(spec.get("forward", True))
        self.delay_s = float(spec.get("delay_s", 0))
        self.fired = None          # what fired it, once it did

    def matches(self, command, text, payload, tx):
        if self.fired is not None or command != self.command:
            return False
        if not self.match.search(text):
            return False
        if self.payload_has and self.payload_has not in payload:
            return False
        if self.in_tx_with is not None and not any(self.in_tx_with.search(t) for t in tx):
            return False
        return True

    def view(self):
        return {"id": self.id, "name": self.name, "fired": self.fired}


class Proxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = []
        self.next_rule = 1
        self.next_conn = 1
        self.conns = 0

    async def open_upstream(self):
        if self.upstream.startswith("unix:"):
            return await asyncio.open_unix_connection(self.upstream[5:])
        host, port = self.upstream.rsplit(":", 1)
        return await asyncio.open_connection(host, int(port))

    def rule_for(self, command, text, payload, tx):
        for r in self.rules:
            if r.matches(command, text, payload, tx):
                return r
        return None

    async def serve(self, creader, cwriter):
        cid = self.next_conn
        self.next_conn += 1
        try:
            sreader, swriter = await self.open_upstream()
        except OSError as e:
            log(f"conn {cid}: upstream: {e}")
            cwriter.close()
            return
        self.conns += 1
        conn = Conn(self, cid, creader, cwriter, sreader, swriter)
        try:
            await conn.run()
        finally:
            self.conns -= 1

    async def control(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    req = json.loads(line)
                    op = req.get("op")
                    if op == "arm":
                        r = Rule(self.next_rule, req)
                        self.next_rule += 1
                        self.rules.append(r)
                        log(f"armed rule {r.id} ({r.name}): {req}")
                        out = {"id": r.id}
                    elif op == "status":
                        out = {"rules": [r.view() for r in self.rules], "connections": self.conns}
                    elif op == "disarm":
                        self.rules = []
                        out = {"ok": True}
                    else:
                        out = {"error": f"unknown op {op!r}"}
                except (ValueError, KeyError, re.error) as e:
                    out = {"error": str(e)}
                writer.write((json.dumps(out) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()


class Conn:
    """One proxied connection: the client's packets are parsed, the
    server's bytes are passed on as they come (but for the greeting and
    the answer to a COM_STMT_PREPARE, looked at first)."""

    def __init__(self, proxy, cid, creader, cwriter, sreader, swriter):
        self.p = proxy
        self.id = cid
        self.creader, self.cwriter = creader, cwriter
        self.sreader, self.swriter = sreader, swriter
        self.stmts = {}            # statement id -> its text
        self.tx = []               # texts run since START TRANSACTION
        self.prepare = None        # a COM_STMT_PREPARE's text, unanswered
        self.last_prepared = ""
        self.greeted = False
        self.cut = None            # the rule that fired here
        self.answered = asyncio.Event()
        self.closed = False

    async def run(self):
        up = asyncio.create_task(self.client_to_server())
        down = asyncio.create_task(self.server_to_client())
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        if self.cut is not None and not self.closed:
            # Matched: the server's answer (dropped), or the time limit.
            try:
                await asyncio.wait_for(self.answered.wait(), ANSWER_WAIT_S)
            except asyncio.TimeoutError:
                log(f"conn {self.id}: no answer within {ANSWER_WAIT_S} s; cutting anyway")
        self.close()
        for t in (up, down):
            t.cancel()
        await asyncio.gather(up, down, return_exceptions=True)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for w in (self.cwriter, self.swriter):
            try:
                w.close()
            except (OSError, RuntimeError):
                pass

    async def client_to_server(self):
        buf = b""
        while True:
            data = await self.creader.read(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                n = buf[0] | buf[1] << 8 | buf[2] << 16
                if len(buf) < 4 + n:
                    break
                pkt, buf = buf[:4 + n], buf[4 + n:]
                rule = self.command(pkt[3], pkt[4:])
                if rule is not None:
                    self.cut = rule
                    if rule.forward:
                        if rule.delay_s > 0:
                            # The client hears of the loss now; the
                            # server gets the statement later.
                            self.cwriter.close()
                            log(f"conn {self.id}: rule {rule.id} ({rule.name}) fired; client cut, "
                                f"forwarding in {rule.delay_s} s")
                            await asyncio.sleep(rule.delay_s)
                        self.swriter.write(pkt)
                        await self.swriter.drain()
                        log(f"conn {self.id}: rule {rule.id} ({rule.name}) fired; forwarded, "
                            f"the answer will be dropped")
                    else:
                        log(f"conn {self.id}: rule {rule.id} ({rule.name}) fired; dropped")
                        self.answered.set()
                    return
                self.swriter.write(pkt)
            await self.swriter.drain()

    def command(self, seq, payload):
        """Tracks what a client packet says; the rule it fires, if any."""
        if seq != 0 or not payload:
            return None
        cmd = payload[0]
        text = None
        kind = None
        if cmd == COM_QUERY:
            kind, text = "query", payload[1:].decode("utf-8", "replace")
        elif cmd == COM_STMT_PREPARE:
            self.prepare = self.last_prepared = payload[1:].decode("utf-8", "replace")
            return None
        elif cmd == COM_STMT_EXECUTE and len(payload) >= 5:
            sid = int.from_bytes(payload[1:5], "little")
            # -1: the statement prepared last (sent before its answer).
            kind, text = "execute", self.stmts.get(sid, self.last_prepared if sid == 0xFFFFFFFF else "")
        elif cmd == COM_STMT_CLOSE and len(payload) >= 5:
            self.stmts.pop(int.from_bytes(payload[1:5], "little"), None)
            return None
        else:
            return None
        rule = self.p.rule_for(kind, text, payload, self.tx)
        if rule is not None:
            rule.fired = {"connection": self.id, "text": text[:300], "at": time.time()}
        head = text.strip().upper()
        if kind == "query" and (head.startswith("START TRANSACTION") or head == "BEGIN"
                                or head.startswith("COMMIT") or head.startswith("ROLLBACK")):
            self.tx = []
        else:
            self.tx.append(text)
        return rule

    async def server_to_client(self):
        buf = b""
        while True:
            data = await self.sreader.read(65536)
            if not data:
                return
            if self.cut is not None:
                # The answer to the statement of the cut: never passed on.
                self.answered.set()
                return
            buf += data
            # The greeting (CLIENT_SSL cleared) and a prepare's answer are
            # looked at whole; everything else goes on as it comes.
            if not self.greeted:
                if len(buf) < 4 or len(buf) < 4 + (buf[0] | buf[1] << 8 | buf[2] << 16):
                    continue
                buf = self.greeting(buf)
                self.greeted = True
            elif self.prepare is not None:
                if len(buf) < 9:
                    continue
                if buf[4] == 0x00:
                    self.stmts[int.from_bytes(buf[5:9], "little")] = self.prepare
                self.prepare = None
            self.cwriter.write(buf)
            buf = b""
            await self.cwriter.drain()

    @staticmethod
    def greeting(buf):
        """The server's first packet with CLIENT_SSL taken out of its
        capability flags (protocol 10: version, a NUL-ended string, then a
        4-byte thread id, 8 bytes of scramble, a filler byte, and the low
        two bytes of the flags)."""
        if buf[4] != 10:
            return buf
        end = buf.index(b"\0", 5)
        at = end + 1 + 4 + 8 + 1
        flags = int.from_bytes(buf[at:at + 2], "little") & ~CLIENT_SSL
        return buf[:at] + flags.to_bytes(2, "little") + buf[at + 2:]


def split_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def main_async(args):
    proxy = Proxy(args.upstream)
    lhost, lport = split_addr(args.listen)
    chost, cport = split_addr(args.control)
    server = await asyncio.start_server(proxy.serve, lhost, lport)
    control = await asyncio.start_server(proxy.control, chost, cport)
    print(f"listen {server.sockets[0].getsockname()[1]} control {control.sockets[0].getsockname()[1]}",
          flush=True)
    log(f"forwarding to {args.upstream}")
    tasks = [asyncio.create_task(c) for c in (server.serve_forever(), control.serve_forever(), orphaned())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)


async def orphaned():
    """Returns once the process that started the proxy is gone (a test
    run killed before it could stop us): the proxy ends then."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    log("the process that started us is gone; stopping")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--control", default="127.0.0.1:0")
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


class FaultProxy:
    """The tests' handle on a faultproxy.py process."""

    def __init__(self, upstream, logfile):
        self.log = open(logfile, "ab")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--upstream", upstream],
                                     stdout=subprocess.PIPE, stderr=self.log)
        words = self.proc.stdout.readline().decode().split()
        if len(words) != 4:
            self.stop()
            raise RuntimeError(f"faultproxy did not start (see {logfile})")
        self.port, self.control_port = int(words[1]), int(words[3])
        self.sock = socket.create_connection(("127.0.0.1", self.control_port), timeout=10)
        self.rfile = self.sock.makefile("rb")

    def ask(self, req):
        self.sock.sendall((json.dumps(req) + "\n").encode())
        out = json.loads(self.rfile.readline())
        if "error" in out:
            raise RuntimeError(f"faultproxy: {out['error']}")
        return out

    def arm(self, name, command, match, in_tx_with=None, payload_has=None, forward=True, delay_s=0):
        """Cuts the next connection that sends a matching statement; the
        rule's id."""
        req = {"op": "arm", "name": name, "command": command, "match": match, "forward": forward,
               "delay_s": delay_s}
        if in_tx_with:
            req["in_tx_with"] = in_tx_with
        if payload_has:
            req["payload_has"] = payload_has
        return self.ask(req)["id"]

    def fired(self, rid):
        """What fired rule `rid` (its connection and statement), or None."""
        for r in self.ask({"op": "status"})["rules"]:
            if r["id"] == rid:
                return r["fired"]
        raise KeyError(rid)

    def disarm(self):
        self.ask({"op": "disarm"})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


if __name__ == "__main__":
    main()
