#!/usr/bin/env python3
"""faultproxy.py: an HTTP/1.1 reverse proxy with fault injection and a link throttle.

  faultproxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:UPORT [--rate-mbit N]
                [--delay-ms N] [--redirect-listen 127.0.0.1:PORT2] [--pidfile F] [--log F]

Sits in front of a plain-HTTP registry (tests/tools/registry.sh). Python 3.11 stdlib only.

Forwarding: keep-alive on both sides (one upstream connection per client connection), any
method, path, headers and body (Content-Length or chunked; chunked bodies are re-framed with the
same payload, trailers are dropped). Nothing is rewritten except:
  - Location headers that point at the upstream address are rewritten to the proxy's address;
  - `Expect: 100-continue` is answered by the proxy itself and not forwarded;
  - whatever the active fault changes.

Throttle: --rate-mbit N (10^6 bit/s; 0 = unlimited) is a token bucket shared by every client
connection of both listeners, counting every byte sent to clients (heads and bodies).
--delay-ms N sleeps N ms before each proxied request is forwarded (an RTT).

Control (main listener only, not counted in the stats):
  GET  /__proxy/stats        JSON: requests (proxied requests on the main listener),
                             bytes_to_client (both listeners), by_status {"200": n, ...},
                             faults_applied {mode: n}, connections, redirect_requests,
                             redirect_auth_seen (bool), redirect_auth_count, fault, rate_mbit,
                             delay_ms
  POST /__proxy/reset-stats
  GET  /__proxy/fault        the active fault
  POST /__proxy/fault?mode=M[&count=N][&match=REGEX][&method=REGEX][&prob=P][&seed=S][params]
        M is one mode or a comma list (each faulted request picks one at random).
        match: regex searched in the request target (default blob GETs: /v2/.*/blobs/sha256:);
        method: regex fully matching the method (default GET); count: how many requests get
        the fault (default unlimited); prob: probability a matching request is faulted (1).
  POST /__proxy/fault?mode=none      clears the fault
  POST /__proxy/throttle?rate_mbit=N&delay_ms=N   (either may be omitted)

Fault modes and their params:
  status     respond `code` (500|502|503, default 503) [retry_after=S adds Retry-After]
  429        respond 429 Too Many Requests with Retry-After: `retry_after` (default 1)
  401        respond 401 with a WWW-Authenticate challenge: the upstream's Bearer challenge
             (with scope and error="invalid_token") if /v2/ on the upstream answers with a
             Bearer challenge, its Basic challenge if Basic, else Basic realm="faultproxy"
  reset      at=before (default): RST without answering; at=mid: forward, send the head and
             `bytes` body bytes (default half the body), then RST
  stall      read the request, send nothing, hold until the client closes (or `secs`, 3600)
  drip       forward, send the body at `bps` bytes/s (default 4096)
  truncate   forward, send the head (full Content-Length) and `bytes` body bytes (default
             half), then close (FIN)
  bad-range  only requests with a Range header: kind=shift (default): forward the range moved
             by `shift` bytes (default 512; moved down when possible, else up) and pass the
             206 with its (honest, hence wrong for the request) Content-Range;
             kind=full: forward without Range, pass the 200 full body
  flip       forward, flip bit `bit` (default random) of body byte `offset` (default random;
             taken modulo the body length)
  redirect   respond `code` (302) with Location on the --redirect-listen address. That listener
             records whether an Authorization header arrived (stats redirect_auth_seen), drops
             it, and serves the request from the upstream with the credentials of the request
             that was redirected (like a pre-signed storage URL: they travel as a token in
             the query, never in a header; the URL stays valid while the proxy runs, so a
             client may reuse it).
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import socket
import struct
import sys
import time
import urllib.parse

CHUNK = 1024 * 1024
MAX_HEAD = 1024 * 1024
DEFAULT_MATCH = r"/v2/.*/blobs/sha256:"
MODES = ("status", "429", "401", "reset", "stall", "drip", "truncate", "bad-range", "flip",
         "redirect")
REASONS = {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found",
           307: "Temporary Redirect", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class HttpError(Exception):
    pass


class Headers:
    """Ordered header list, case-insensitive lookup, original spelling kept."""

    def __init__(self, items=None):
        self.items = list(items or [])

    def get(self, name, default=None):
        low = name.lower()
        for k, v in self.items:
            if k.lower() == low:
                return v
        return default

    def remove(self, name):
        low = name.lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != low]

    def set(self, name, value):
        low = name.lower()
        for i, (k, _) in enumerate(self.items):
            if k.lower() == low:
                self.items[i] = (k, value)
                return
        self.items.append((name, value))

    def encode(self):
        return "".join(f"{k}: {v}\r\n" for k, v in self.items).encode("latin-1")


def connection_tokens(h):
    return {t.strip().lower() for t in (h.get("Connection") or "").split(",") if t.strip()}


def parse_head(raw):
    lines = raw.split(b"\r\n")
    first = lines[0].decode("latin-1")
    h = Headers()
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            raise HttpError("obsolete header folding")
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise HttpError(f"bad header line {line[:80]!r}")
        h.items.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
    return first, h


class SockIO:
    """Buffered reads and whole writes on a non-blocking socket (loop.sock_* calls: fewer
    copies than asyncio streams, which matters at hundreds of MB/s)."""

    def __init__(self, sock):
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.buf = bytearray()
        self.rbuf = bytearray(CHUNK)
        self.rmv = memoryview(self.rbuf)

    async def readuntil(self, sep):
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > MAX_HEAD:
                raise HttpError("head too large")
            start = max(0, len(self.buf) - len(sep) + 1)
            d = await self.loop.sock_recv(self.sock, 65536)
            if not d:
                raise asyncio.IncompleteReadError(bytes(self.buf), None)
            self.buf += d

    async def read(self, n):
        """Up to n bytes (b'' at EOF). The result may be a view of an internal buffer that is
        valid only until the next read."""
        if self.buf:
            out = bytes(self.buf[:n])
            del self.buf[:n]
            return out
        k = await self.loop.sock_recv_into(self.sock, self.rmv[:min(n, CHUNK)])
        return self.rmv[:k]

    async def readexactly(self, n):
        out = bytearray()
        while len(out) < n:
            d = await self.read(n - len(out))
            if not d:
                raise asyncio.IncompleteReadError(bytes(out), n)
            out += d
        return bytes(out)

    async def sendall(self, data):
        await self.loop.sock_sendall(self.sock, data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Close with an RST instead of a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


async def read_head(io):
    """The head up to (without) CRLFCRLF; None on EOF before the first byte."""
    try:
        data = await io.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HttpError("connection closed inside a head")
    return data.lstrip(b"\r\n")[:-4]


def body_framing(h, no_body=False, response=False):
    if no_body:
        return ("length", 0)
    te = h.get("Transfer-Encoding")
    if te is not None:
        if te.split(",")[-1].strip().lower() == "chunked":
            return ("chunked", None)
        if response:
            return ("close", None)
        raise HttpError("request transfer-encoding without chunked")
    cl = h.get("Content-Length")
    if cl is not None:
        try:
            n = int(cl.split(",")[0].strip())
        except ValueError:
            raise HttpError(f"bad Content-Length {cl!r}")
        if n < 0:
            raise HttpError("negative Content-Length")
        return ("length", n)
    return ("close", None) if response else ("length", 0)


async def iter_body(reader, framing):
    kind, n = framing
    if kind == "length":
        while n > 0:
            d = await reader.read(min(n, CHUNK))
            if not d:
                raise HttpError("connection closed inside a body")
            n -= len(d)
            yield d
    elif kind == "chunked":
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise HttpError(f"bad chunk size {line[:40]!r}")
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers are dropped
                return
            while size > 0:
                d = await reader.read(min(size, CHUNK))
                if not d:
                    raise HttpError("connection closed inside a chunk")
                size -= len(d)
                yield d
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError("chunk not followed by CRLF")
    else:
        while True:
            d = await reader.read(CHUNK)
            if not d:
                return
            yield d


class Bucket:
    """Token bucket shared by all client writes; rate in bytes/s, 0 = unlimited."""

    def __init__(self, rate):
        self.set_rate(rate)

    def set_rate(self, rate):
        self.rate = float(rate)
        self.burst = max(16384.0, self.rate * 0.02)
        self.tokens = self.burst
        self.last = time.monotonic()

    def quantum(self):
        return max(4096, int(self.rate / 100)) if self.rate else CHUNK

    async def take(self, n):
        rate = self.rate
        if not rate:
            return
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * rate)
        self.last = now
        self.tokens -= n
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / rate)


class Fault:
    def __init__(self, q=None):
        q = q or {}
        self.spec = {k: v for k, v in q.items()}
        modes = [m for m in q.get("mode", "none").split(",") if m]
        for m in modes:
            if m != "none" and m not in MODES:
                raise ValueError(f"unknown mode {m!r} (modes: none, {', '.join(MODES)})")
        self.modes = [m for m in modes if m != "none"]
        self.count = int(q["count"]) if "count" in q else None
        self.match = re.compile(q.get("match", DEFAULT_MATCH))
        self.method = re.compile(q.get("method", "GET"))
        self.prob = float(q.get("prob", "1"))
        self.rng = random.Random(q.get("seed"))
        self.params = {k: v for k, v in q.items()
                       if k not in ("mode", "count", "match", "method", "prob", "seed")}
        if "code" in self.params:
            int(self.params["code"])
        for k in ("retry_after", "bytes", "bps", "secs", "shift", "offset", "bit"):
            if k in self.params:
                float(self.params[k])
        if self.params.get("at", "before") not in ("before", "mid"):
            raise ValueError("reset at= must be before or mid")
        if self.params.get("kind", "shift") not in ("shift", "full"):
            raise ValueError("bad-range kind= must be shift or full")

    def describe(self):
        return {"modes": self.modes, "remaining": self.count, "match": self.match.pattern,
                "method": self.method.pattern, "prob": self.prob, "params": self.params}

    def take(self, method, target, headers):
        """The mode applied to this request, or None."""
        if not self.modes or (self.count is not None and self.count <= 0):
            return None
        if not self.method.fullmatch(method) or not self.match.search(target):
            return None
        if self.prob < 1 and self.rng.random() >= self.prob:
            return None
        mode = self.modes[0] if len(self.modes) == 1 else self.rng.choice(self.modes)
        if mode == "bad-range" and headers.get("Range") is None:
            return None
        if self.count is not None:
            self.count -= 1
        return mode

    def num(self, name, default):
        v = self.params.get(name)
        return default if v is None else float(v)


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = 0
        self.bytes_to_client = 0
        self.by_status = {}
        self.faults_applied = {}
        self.connections = 0
        self.redirect_requests = 0
        self.redirect_auth_count = 0

    def status(self, code):
        k = str(code)
        self.by_status[k] = self.by_status.get(k, 0) + 1


class Conn:
    """One client connection and its upstream connection."""

    def __init__(self, proxy, sock, role):
        self.proxy, self.role = proxy, role
        self.client = SockIO(sock)
        self.up = None

    async def send(self, data):
        """Sends to the client through the shared throttle."""
        p = self.proxy
        b = p.bucket
        if b.rate:
            q = b.quantum()
            mv = memoryview(data)
            for i in range(0, len(mv), q):
                piece = mv[i:i + q]
                await b.take(len(piece))
                await self.client.sendall(piece)
                p.stats.bytes_to_client += len(piece)
        else:
            await self.client.sendall(data)
            p.stats.bytes_to_client += len(data)

    async def upstream(self):
        """Connects if needed; returns whether the connection is new."""
        if self.up is not None:
            return False
        host, port = self.proxy.upstream
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, (host, port)), 10)
        except (OSError, asyncio.TimeoutError) as e:
            s.close()
            raise OSError(f"connect {host}:{port}: {e}") from None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.up = SockIO(s)
        return True

    def close_upstream(self):
        if self.up is not None:
            self.up.close()
        self.up = None


class Proxy:
    def __init__(self, args):
        self.listen = parse_addr(args.listen)
        self.upstream = parse_addr(args.upstream)
        self.redirect_listen = parse_addr(args.redirect_listen) if args.redirect_listen else None
        self.bucket = Bucket(args.rate_mbit * 125000.0)
        self.rate_mbit = args.rate_mbit
        self.delay_ms = args.delay_ms
        self.stats = Stats()
        self.redirect_auth_seen = False
        self.fault = Fault()
        self.redirect_tokens = {}
        self.challenge = None
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.t0 = time.monotonic()

    # ------------------------------------------------------------------ helpers
    def log(self, conn, method, target, status, nbytes, fault, t0):
        if self.logf:
            ms = (time.monotonic() - t0) * 1000
            self.logf.write(f"{time.strftime('%H:%M:%S')} {conn.role} {method} {target} "
                            f"{status} {nbytes}B {ms:.1f}ms fault={fault or '-'}\n")

    def fault_applied(self, mode):
        self.stats.faults_applied[mode] = self.stats.faults_applied.get(mode, 0) + 1

    def stats_json(self):
        s = self.stats
        return {"requests": s.requests, "bytes_to_client": s.bytes_to_client,
                "by_status": dict(s.by_status), "faults_applied": dict(s.faults_applied),
                "connections": s.connections, "redirect_requests": s.redirect_requests,
                "redirect_auth_seen": self.redirect_auth_seen,
                "redirect_auth_count": s.redirect_auth_count,
                "fault": self.fault.describe(), "rate_mbit": self.rate_mbit,
                "delay_ms": self.delay_ms,
                "uptime_s": round(time.monotonic() - self.t0, 3)}

    async def respond(self, conn, code, body=b"", extra=(), keep=True, count=True):
        if isinstance(body, str):
            body = body.encode()
        h = Headers(list(extra))
        h.set("Content-Length", str(len(body)))
        if not keep:
            h.set("Connection", "close")
        head = f"HTTP/1.1 {code} {REASONS.get(code, 'Status')}\r\n".encode() + h.encode() + b"\r\n"
        await conn.send(head + body)
        if count:
            self.stats.status(code)

    async def discard_body(self, conn, framing):
        async for _ in iter_body(conn.client, framing):
            pass

    async def upstream_challenge(self, target):
        if self.challenge is None:
            ch = ""
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
                w.write(f"GET /v2/ HTTP/1.1\r\nHost: {self.upstream[0]}:{self.upstream[1]}\r\n"
                        "Connection: close\r\n\r\n".encode())
                raw = await asyncio.wait_for(read_head(r), 5)
                w.close()
                if raw:
                    first, h = parse_head(raw)
                    if first.split()[1:2] == ["401"]:
                        ch = h.get("WWW-Authenticate", "")
            except (OSError, asyncio.TimeoutError, HttpError):
                ch = ""
            self.challenge = ch
        ch = self.challenge
        if ch.lower().startswith("bearer"):
            m = re.match(r"/v2/(.+?)/(blobs|manifests|tags)/", target)
            scope = f',scope="repository:{m.group(1)}:pull"' if m else ""
            return f'{ch}{scope},error="invalid_token",error_description="token expired"'
        if ch.lower().startswith("basic"):
            return ch
        return 'Basic realm="faultproxy"'

    # ------------------------------------------------------------------ control
    def control(self, method, target):
        u = urllib.parse.urlsplit(target)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        path = u.path
        if path == "/__proxy/stats" and method == "GET":
            return 200, self.stats_json()
        if path == "/__proxy/fault" and method == "GET":
            return 200, self.fault.describe()
        if method != "POST":
            return 405, {"error": f"{method} {path}: use GET for stats/fault, POST otherwise"}
        if path == "/__proxy/reset-stats":
            self.stats.reset()
            self.redirect_auth_seen = False
            return 200, {"ok": True}
        if path == "/__proxy/fault":
            try:
                f = Fault(q)
            except (ValueError, re.error) as e:
                return 400, {"error": str(e)}
            if "redirect" in f.modes and self.redirect_listen is None:
                return 400, {"error": "mode redirect needs --redirect-listen"}
            self.fault = f
            return 200, {"ok": True, "fault": f.describe()}
        if path == "/__proxy/throttle":
            try:
                rate = float(q["rate_mbit"]) if "rate_mbit" in q else None
                delay = float(q["delay_ms"]) if "delay_ms" in q else None
            except ValueError as e:
                return 400, {"error": str(e)}
            if rate is not None:
                self.rate_mbit = rate
                self.bucket.set_rate(rate * 125000.0)
            if delay is not None:
                self.delay_ms = delay
            return 200, {"ok": True, "rate_mbit": self.rate_mbit, "delay_ms": self.delay_ms}
        return 404, {"error": f"unknown control path {path}"}

    # ------------------------------------------------------------------ connections
    async def handle(self, sock, role):
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(self, sock, role)
        self.stats.connections += 1
        try:
            while True:
                raw = await read_head(conn.client)
                if raw is None:
                    break
                if not await self.serve(conn, raw):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, HttpError, OSError):
            pass
        finally:
            conn.close_upstream()
            conn.client.close()

    async def serve(self, conn, raw):
        """One request; returns whether the client connection stays open."""
        t0 = time.monotonic()
        first, h = parse_head(raw)
        parts = first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self.respond(conn, 400, "bad request line\n", keep=False, count=False)
            return False
        method, target, version = parts
        framing = body_framing(h)
        toks = connection_tokens(h)
        client_keep = "close" not in toks and (version != "HTTP/1.0" or "keep-alive" in toks)

        if conn.role == "main" and target.startswith("/__proxy/"):
            await self.discard_body(conn, framing)
            code, obj = self.control(method, target)
            await self.respond(conn, code, json.dumps(obj) + "\n",
                               [("Content-Type", "application/json")], keep=client_keep,
                               count=False)
            return client_keep

        mode = None
        if conn.role == "redirect":
            self.stats.redirect_requests += 1
            if h.get("Authorization") is not None:
                self.redirect_auth_seen = True
                self.stats.redirect_auth_count += 1
            h.remove("Authorization")
            target, token = strip_token(target)
            auth = self.redirect_tokens.get(token) if token else None
            if auth:
                h.set("Authorization", auth)
        else:
            self.stats.requests += 1
            mode = self.fault.take(method, target, h)
            if mode:
                self.fault_applied(mode)
        f = self.fault

        if self.delay_ms > 0:
            await asyncio.sleep(self.delay_ms / 1000.0)

        expect = (h.get("Expect") or "").lower() == "100-continue"
        local = mode in ("status", "429", "401", "redirect", "stall") or (
            mode == "reset" and f.params.get("at", "before") == "before")
        if expect and not local:
            h.remove("Expect")
            await conn.client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        elif expect and local:
            client_keep = False  # the client may not send the body; do not read it

        if local:
            return await self.serve_local(conn, mode, method, target, h, framing, client_keep,
                                          expect, t0)
        return await self.forward(conn, mode, method, target, version, h, framing,
                                  client_keep, t0)

    async def serve_local(self, conn, mode, method, target, h, framing, keep, expect, t0):
        f = self.fault
        if mode == "reset":
            conn.client.reset()
            self.log(conn, method, target, "RST", 0, mode, t0)
            return False
        if mode == "stall":
            secs = f.num("secs", 3600)
            try:
                await asyncio.wait_for(self.hold(conn), secs)
            except asyncio.TimeoutError:
                pass
            self.log(conn, method, target, "stall", 0, mode, t0)
            return False
        if not expect:
            await self.discard_body(conn, framing)
        extra = []
        if mode == "status":
            code = int(f.num("code", 503))
            if "retry_after" in f.params:
                extra.append(("Retry-After", f.params["retry_after"]))
        elif mode == "429":
            code = 429
            extra.append(("Retry-After", f.params.get("retry_after", "1")))
        elif mode == "401":
            code = 401
            extra.append(("WWW-Authenticate", await self.upstream_challenge(target)))
        else:  # redirect
            code = int(f.num("code", 302))
            token = secrets.token_hex(12)
            if len(self.redirect_tokens) > 100000:
                self.redirect_tokens.clear()
            self.redirect_tokens[token] = h.get("Authorization")
            sep = "&" if "?" in target else "?"
            rh, rp = self.redirect_listen
            extra.append(("Location", f"http://{rh}:{rp}{target}{sep}__fp_token={token}"))
        extra.append(("Content-Type", "application/json"))
        body = json.dumps({"errors": [{"code": "FAULTPROXY", "message": f"injected {mode}"}]})
        await self.respond(conn, code, body + "\n", extra, keep=keep)
        self.log(conn, method, target, code, len(body), mode, t0)
        return keep

    async def hold(self, conn):
        while await conn.client.read(65536):
            pass

    async def forward(self, conn, mode, method, target, version, h, framing, client_keep, t0):
        f = self.fault
        if mode == "bad-range":
            rng = h.get("Range")
            kind = f.params.get("kind", "shift")
            if kind == "full":
                h.remove("Range")
            else:
                h.set("Range", shift_range(rng, int(f.num("shift", 512))))
        req_head = f"{method} {target} {version}\r\n".encode() + h.encode() + b"\r\n"
        has_body = framing != ("length", 0)

        # send the request (one retry on a stale keep-alive connection when there is no body)
        raw = None
        for attempt in (0, 1):
            try:
                fresh = await conn.upstream()
            except OSError as e:
                if has_body:
                    return False
                await self.respond(conn, 502, f"faultproxy: upstream: {e}\n", keep=client_keep)
                self.log(conn, method, target, 502, 0, mode, t0)
                return client_keep
            try:
                await conn.up.sendall(req_head)
                if has_body:
                    chunked = framing[0] == "chunked"
                    async for piece in iter_body(conn.client, framing):
                        await conn.up.sendall(b"%x\r\n%s\r\n" % (len(piece), piece)
                                              if chunked else piece)
                    if chunked:
                        await conn.up.sendall(b"0\r\n\r\n")
                raw = await read_head(conn.up)
                while raw is not None and raw.split(b" ", 2)[1:2] and raw.split(b" ", 2)[1].startswith(b"1"):
                    raw = await read_head(conn.up)  # interim 1xx: 100 was answered by us
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                raw = None
            if raw is not None:
                break
            conn.close_upstream()
            if fresh or has_body:
                break
        if raw is None:
            await self.respond(conn, 502, "faultproxy: upstream closed\n", keep=False)
            self.log(conn, method, target, 502, 0, mode, t0)
            return False

        first, rh = parse_head(raw)
        rparts = first.split(" ", 2)
        status = int(rparts[1])
        loc = rh.get("Location")
        if loc is not None:
            rh.set("Location", self.rewrite_location(loc))
        no_body = method == "HEAD" or status in (204, 304)
        rframing = body_framing(rh, no_body=no_body, response=True)
        up_keep = "close" not in connection_tokens(rh) and rframing[0] != "close" and \
            not first.startswith("HTTP/1.0")
        keep = client_keep and up_keep
        if rframing[0] == "close":
            # the client learns the end from the close, as from the upstream
            rh.set("Connection", "close")
        await conn.send(first.encode("latin-1") + b"\r\n" + rh.encode() + b"\r\n")
        self.stats.status(status)

        total = rframing[1] if rframing[0] == "length" else None
        limit = None
        if mode in ("truncate", "reset"):
            limit = int(f.num("bytes", (total // 2) if total is not None else CHUNK))
        flip_at = flip_bit = None
        if mode == "flip":
            n = total if total else 1
            flip_at = int(f.num("offset", random.randrange(n))) % n
            flip_bit = int(f.num("bit", random.randrange(8))) % 8
        bps = f.num("bps", 4096) if mode == "drip" else None
        chunked = rframing[0] == "chunked"
        sent = 0
        cut = False
        drip_t0 = time.monotonic()
        body = iter_body(conn.up, rframing)
        try:
            async for piece in body:
                if limit is not None and sent + len(piece) >= limit:
                    piece = piece[:limit - sent]
                    cut = True
                if flip_at is not None and sent <= flip_at < sent + len(piece):
                    b = bytearray(piece)
                    b[flip_at - sent] ^= 1 << flip_bit
                    piece = bytes(b)
                if piece:
                    if bps:
                        await self.drip(conn, piece, chunked, sent, bps, drip_t0)
                    else:
                        await conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                if cut:
                    break
            else:
                if chunked:
                    await conn.send(b"0\r\n\r\n")
        except (HttpError, asyncio.IncompleteReadError, ConnectionError) as e:
            # upstream broke mid-body: the client sees the same (closed connection)
            conn.close_upstream()
            self.log(conn, method, target, status, sent, f"upstream-eof:{e}", t0)
            return False
        finally:
            await body.aclose()
        self.log(conn, method, target, status, sent, mode, t0)
        if cut:
            conn.close_upstream()
            if mode == "reset":
                conn.client.reset()
            else:
                conn.client.close()
            return False
        if not up_keep:
            conn.close_upstream()
        return keep

    async def drip(self, conn, piece, chunked, sent0, bps, t0):
        q = max(1, int(bps / 20))
        if chunked:
            await conn.send(b"%x\r\n" % len(piece))
        for i in range(0, len(piece), q):
            part = piece[i:i + q]
            await conn.send(part)
            due = t0 + (sent0 + i + len(part)) / bps
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if chunked:
            await conn.send(b"\r\n")

    def rewrite_location(self, loc):
        u = urllib.parse.urlsplit(loc)
        if u.scheme in ("http", "https") and u.hostname is not None:
            port = u.port or (443 if u.scheme == "https" else 80)
            up_hosts = {self.upstream[0], "localhost" if self.upstream[0] == "127.0.0.1" else ""}
            if port == self.upstream[1] and u.hostname in up_hosts:
                lh, lp = self.listen
                return urllib.parse.urlunsplit(("http", f"{lh}:{lp}", u.path, u.query, u.fragment))
        return loc


def strip_token(target):
    u = urllib.parse.urlsplit(target)
    if "__fp_token=" not in u.query:
        return target, None
    keep, token = [], None
    for part in u.query.split("&"):
        if part.startswith("__fp_token="):
            token = part[len("__fp_token="):]
        elif part:
            keep.append(part)
    q = "&".join(keep)
    return u.path + ("?" + q if q else ""), token


def shift_range(rng, shift):
    m = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", rng or "")
    if not m:
        return rng
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else None
    d = -shift if a >= shift else shift
    return f"bytes={a + d}-{'' if b is None else b + d}"


def parse_addr(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"bad address {s!r} (want HOST:PORT)")
    return host, int(port)


async def serve_forever(proxy, addr, role):
    """Accepts on an already-listening socket; one task per connection."""
    loop = asyncio.get_running_loop()
    tasks = set()
    while True:
        c, _ = await loop.sock_accept(addr)
        t = asyncio.create_task(proxy.handle(c, role))
        tasks.add(t)
        t.add_done_callback(tasks.discard)


def listen_socket(addr):
    host, port = addr
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(512)
    s.setblocking(False)
    return s


async def main_async(args):
    proxy = Proxy(args)
    socks = [(listen_socket(proxy.listen), "main")]
    if proxy.redirect_listen:
        socks.append((listen_socket(proxy.redirect_listen), "redirect"))
    servers = [asyncio.create_task(serve_forever(proxy, s, role)) for s, role in socks]
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pidfile + ".tmp", args.pidfile)
    print(f"faultproxy: listening on {args.listen} -> {args.upstream}"
          f"{' redirect ' + args.redirect_listen if args.redirect_listen else ''}"
          f" rate_mbit={args.rate_mbit} delay_ms={args.delay_ms}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for t in servers:
        t.cancel()
    for s, _ in socks:
        s.close()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description="HTTP/1.1 reverse proxy with fault injection "
                                 "(see the module docstring)")
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the plain-HTTP upstream")
    ap.add_argument("--rate-mbit", type=float, default=0.0,
                    help="limit on bytes sent to clients, 10^6 bit/s (0 = unlimited)")
    ap.add_argument("--delay-ms", type=float, default=0.0,
                    help="latency added before forwarding each request")
    ap.add_argument("--redirect-listen", help="HOST:PORT of the redirect target listener")
    ap.add_argument("--pidfile", help="written once listening, removed at exit")
    ap.add_argument("--log", help="append one line per request")
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
