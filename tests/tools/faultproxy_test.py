#!/usr/bin/env python3
"""Self-test of tests/tools/faultproxy.py against real registries (run by
tests/e2e/faultproxy_selftest.sh). Every fault mode must do what the proxy documents, the
throttle must hold its rate within 10% over 20 MB, and the unthrottled proxy must carry
>= MIN_MBPS MB/s (default 200).

Environment:
  FP_UPSTREAM       HOST:PORT of a registry without auth holding FP_BLOB in FP_REPO
  FP_AUTH_UPSTREAM  HOST:PORT of a registry with basic auth testuser:testpassword, same blob
  FP_REPO           repository name
  FP_BLOB           the blob file (>= 64 MiB; named anything, its sha256 is computed)
  FP_MIN_MBPS       unthrottled throughput floor (200)
"""

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "faultproxy.py")
AUTH = "Basic " + base64.b64encode(b"testuser:testpassword").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hostport(s):
    h, _, p = s.rpartition(":")
    return h, int(p)


class ProxyProc:
    """One faultproxy.py subprocess."""

    def __init__(self, upstream, redirect=True, extra=()):
        self.port = free_port()
        self.rport = free_port() if redirect else None
        self.tmp = os.environ.get("FP_TMP", "/tmp")
        self.pidfile = os.path.join(self.tmp, f"faultproxy-{self.port}.pid")
        self.logfile = os.path.join(self.tmp, f"faultproxy-{self.port}.log")
        args = [sys.executable, PROXY, "--listen", f"127.0.0.1:{self.port}",
                "--upstream", upstream, "--pidfile", self.pidfile, "--log", self.logfile]
        if redirect:
            args += ["--redirect-listen", f"127.0.0.1:{self.rport}"]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.pidfile):
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"faultproxy exited with {self.proc.returncode}")
            time.sleep(0.05)
        else:
            raise RuntimeError("faultproxy did not write its pid file")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        assert not os.path.exists(self.pidfile), "pid file left behind"

    def conn(self, timeout=30, port=None):
        return http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)

    def ctl(self, method, path):
        c = self.conn()
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise AssertionError(f"{method} {path}: {r.status} {body!r}")
        return json.loads(body)

    def fault(self, query):
        return self.ctl("POST", "/__proxy/fault?" + query)

    def stats(self):
        return self.ctl("GET", "/__proxy/stats")


def raw_get(port, path, headers=(), timeout=10):
    """GET over a raw socket; returns (head bytes, body bytes, how the connection ended)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    req += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    s.sendall(req.encode())
    data = bytearray()
    end = "eof"
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            data += d
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "timeout"
    finally:
        s.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    return (head if sep else b""), bytes(body), end


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = os.environ["FP_UPSTREAM"]
        cls.auth_upstream = os.environ.get("FP_AUTH_UPSTREAM")
        cls.repo = os.environ["FP_REPO"]
        with open(os.environ["FP_BLOB"], "rb") as f:
            cls.blob = f.read()
        assert len(cls.blob) >= 64 << 20, "FP_BLOB must be >= 64 MiB"
        cls.digest = "sha256:" + hashlib.sha256(cls.blob).hexdigest()
        cls.path = f"/v2/{cls.repo}/blobs/{cls.digest}"
        cls.p = ProxyProc(cls.upstream)

    @classmethod
    def tearDownClass(cls):
        cls.p.stop()

    def setUp(self):
        self.p.fault("mode=none")
        self.p.ctl("POST", "/__proxy/throttle?rate_mbit=0&delay_ms=0")
        self.p.ctl("POST", "/__proxy/reset-stats")

    def get(self, path=None, headers=None, port=None, timeout=30):
        c = self.p.conn(timeout, port)
        c.request("GET", path or self.path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    # ------------------------------------------------------------------ pass-through
    def test_passthrough_get_range_head(self):
        r, body = self.get()
        self.assertEqual(r.status, 200)
        self.assertEqual(body, self.blob)
        r, body = self.get(headers={"Range": "bytes=1000-1999"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.getheader("Content-Range"), f"bytes 1000-1999/{len(self.blob)}")
        self.assertEqual(body, self.blob[1000:2000])
        c = self.p.conn()
        c.request("HEAD", self.path)
        r = c.getresponse()
        self.assertEqual(r.read(), b"")
        self.assertEqual(int(r.getheader("Content-Length")), len(self.blob))
        c.close()
        st = self.p.stats()
        self.assertEqual(st["requests"], 3)
        self.assertEqual(st["by_status"], {"200": 2, "206": 1})
        self.assertGreater(st["bytes_to_client"], len(self.blob) + 1000)

    def test_keepalive_one_connection(self):
        c = self.p.conn()
        for i in range(5):
            c.request("GET", self.path, headers={"Range": f"bytes={i * 10}-{i * 10 + 9}"})
            r = c.getresponse()
            self.assertEqual(r.read(), self.blob[i * 10:i * 10 + 10])
        c.close()
        st = self.p.stats()
        # the 5 requests shared one connection; the stats request is the second one
        self.assertEqual(st["connections"], 2, st)

    def test_upload_through_proxy(self):
        data = os.urandom(3 << 20)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        c = self.p.conn()
        c.request("POST", f"/v2/{self.repo}/blobs/uploads/", body=b"")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 202)
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        if loc.netloc:  # the upload URL must keep going through the proxy
            self.assertEqual(loc.netloc, f"127.0.0.1:{self.p.port}")
        url = loc.path + "?" + loc.query + "&digest=" + digest
        # chunked request body (Transfer-Encoding), on the same keep-alive connection
        c.request("PUT", url, body=iter([data[:1 << 20], data[1 << 20:]]),
                  headers={"Content-Type": "application/octet-stream"}, encode_chunked=True)
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 201)
        c.close()
        up = http.client.HTTPConnection(*hostport(self.upstream), timeout=30)
        up.request("GET", f"/v2/{self.repo}/blobs/{digest}")
        self.assertEqual(up.getresponse().read(), data)
        up.close()

    def test_location_rewritten(self):
        # Host: the upstream's address makes the registry answer with an upstream Location
        c = self.p.conn()
        c.request("POST", f"/v2/{self.repo}/blobs/uploads/", body=b"",
                  headers={"Host": self.upstream})
        r = c.getresponse()
        r.read()
        c.close()
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        self.assertEqual(loc.netloc, f"127.0.0.1:{self.p.port}")

    # ------------------------------------------------------------------ faults
    def test_status_count_match(self):
        for code in (500, 502, 503):
            self.p.fault(f"mode=status&code={code}&count=2")
            self.assertEqual(self.get()[0].status, code)
            self.assertEqual(self.get()[0].status, code)
            r, body = self.get(headers={"Range": "bytes=0-9"})
            self.assertEqual((r.status, body), (206, self.blob[:10]))
        self.p.fault("mode=status&code=500&match=/nomatch/")
        self.assertEqual(self.get(headers={"Range": "bytes=0-9"})[0].status, 206)
        self.p.fault("mode=status&code=500")  # HEAD is not a blob GET: not faulted by default
        c = self.p.conn()
        c.request("HEAD", self.path)
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        st = self.p.stats()
        self.assertEqual(st["faults_applied"], {"status": 6})
        self.assertEqual(st["by_status"]["500"], 2)

    def test_429_retry_after(self):
        self.p.fault("mode=429&retry_after=7")
        r, _ = self.get()
        self.assertEqual(r.status, 429)
        self.assertEqual(r.getheader("Retry-After"), "7")

    def test_401_basic_without_upstream_auth(self):
        self.p.fault("mode=401")
        r, _ = self.get()
        self.assertEqual(r.status, 401)
        self.assertEqual(r.getheader("WWW-Authenticate"), 'Basic realm="faultproxy"')

    def test_401_bearer_upstream(self):
        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(401)
                self.send_header("WWW-Authenticate",
                                 'Bearer realm="http://127.0.0.1:1/token",service="reg"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass
        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        p = ProxyProc(f"127.0.0.1:{srv.server_address[1]}", redirect=False)
        try:
            p.fault("mode=401")
            c = p.conn()
            c.request("GET", "/v2/some/repo/blobs/sha256:" + "0" * 64)
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 401)
            ch = r.getheader("WWW-Authenticate")
            self.assertTrue(ch.startswith('Bearer realm="http://127.0.0.1:1/token",service="reg"'), ch)
            self.assertIn('scope="repository:some/repo:pull"', ch)
            self.assertIn('error="invalid_token"', ch)
            c.close()
        finally:
            p.stop()
            srv.shutdown()
            srv.server_close()

    def test_reset_before(self):
        self.p.fault("mode=reset")
        head, body, end = raw_get(self.p.port, self.path)
        self.assertEqual((head, body, end), (b"", b"", "reset"))
        self.assertEqual(self.p.stats()["faults_applied"], {"reset": 1})

    def test_reset_mid(self):
        self.p.fault("mode=reset&at=mid&bytes=300000")
        head, body, end = raw_get(self.p.port, self.path)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(f"Content-Length: {len(self.blob)}".encode(), head)
        self.assertLessEqual(len(body), 300000)  # an RST may drop data not yet read
        self.assertEqual(body, self.blob[:len(body)])
        self.assertEqual(end, "reset")

    def test_stall(self):
        self.p.fault("mode=stall&count=1")
        t0 = time.monotonic()
        head, body, end = raw_get(self.p.port, self.path, timeout=1.5)
        self.assertEqual((head, body, end), (b"", b"", "timeout"))
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        # other connections are served meanwhile, and the fault was used up
        r, body = self.get(headers={"Range": "bytes=0-99"})
        self.assertEqual(body, self.blob[:100])

    def test_stall_holds_while_client_waits(self):
        self.p.fault("mode=stall&count=1")
        s = socket.create_connection(("127.0.0.1", self.p.port), timeout=4)
        s.sendall(f"GET {self.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with self.assertRaises(socket.timeout):
            s.recv(1)
        s.close()

    def test_drip(self):
        self.p.fault("mode=drip&bps=50000")
        t0 = time.monotonic()
        r, body = self.get(headers={"Range": "bytes=0-99999"})
        dt = time.monotonic() - t0
        self.assertEqual(body, self.blob[:100000])
        self.assertGreater(dt, 1.8)
        self.assertLess(dt, 3.0)

    def test_truncate(self):
        self.p.fault("mode=truncate&bytes=12345")
        head, body, end = raw_get(self.p.port, self.path)
        self.assertIn(f"Content-Length: {len(self.blob)}".encode(), head)
        self.assertEqual(body, self.blob[:12345])
        self.assertEqual(end, "eof")
        self.p.fault("mode=truncate")  # default: half
        head, body, end = raw_get(self.p.port, self.path, headers=[("Range", "bytes=0-9999")])
        self.assertEqual(body, self.blob[:5000])

    def test_bad_range(self):
        self.p.fault("mode=bad-range")
        r, body = self.get(headers={"Range": "bytes=4096-8191"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.getheader("Content-Range"), f"bytes 3584-7679/{len(self.blob)}")
        self.assertEqual(body, self.blob[3584:7680])
        r, body = self.get(headers={"Range": "bytes=100-199"})  # cannot move down: moves up
        self.assertEqual(body, self.blob[612:712])
        r, body = self.get()  # no Range: not faulted
        self.assertEqual(r.status, 200)
        self.p.fault("mode=bad-range&kind=full&count=1")
        r, body = self.get(headers={"Range": "bytes=4096-8191"})
        self.assertEqual(r.status, 200)
        self.assertEqual(body, self.blob)
        self.assertEqual(self.p.stats()["faults_applied"], {"bad-range": 3})

    def test_flip(self):
        self.p.fault("mode=flip&offset=1000&bit=3")
        r, body = self.get(headers={"Range": "bytes=0-4095"})
        exp = bytearray(self.blob[:4096])
        exp[1000] ^= 8
        self.assertEqual(body, bytes(exp))
        self.p.fault("mode=flip")
        r, body = self.get()
        diff = [i for i in range(0, len(body), 1 << 16)
                if body[i:i + (1 << 16)] != self.blob[i:i + (1 << 16)]]
        self.assertEqual(len(diff), 1)
        i = diff[0]
        bits = sum(bin(a ^ b).count("1") for a, b in zip(body[i:i + (1 << 16)],
                                                           self.blob[i:i + (1 << 16)]))
        self.assertEqual(bits, 1)

    def test_redirect_records_authorization(self):
        self.p.fault("mode=redirect")
        r, _ = self.get(headers={"Range": "bytes=0-99"})
        self.assertEqual(r.status, 302)
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        self.assertEqual(loc.netloc, f"127.0.0.1:{self.p.rport}")
        target = loc.path + "?" + loc.query
        r, body = self.get(target, {"Range": "bytes=0-99"}, port=self.p.rport)
        self.assertEqual(body, self.blob[:100])
        st = self.p.stats()
        self.assertEqual((st["redirect_requests"], st["redirect_auth_seen"]), (1, False))
        r, _ = self.get(headers={"Range": "bytes=0-99"})
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        r, body = self.get(loc.path + "?" + loc.query, {"Range": "bytes=0-99",
                                                        "Authorization": AUTH},
                           port=self.p.rport)
        self.assertEqual(body, self.blob[:100])
        st = self.p.stats()
        self.assertEqual((st["redirect_auth_seen"], st["redirect_auth_count"]), (True, 1))
        self.p.ctl("POST", "/__proxy/reset-stats")
        self.assertFalse(self.p.stats()["redirect_auth_seen"])

    @unittest.skipUnless(os.environ.get("FP_AUTH_UPSTREAM"), "FP_AUTH_UPSTREAM not set")
    def test_redirect_with_basic_auth_upstream(self):
        p = ProxyProc(self.auth_upstream)
        try:
            c = p.conn()
            c.request("GET", self.path, headers={"Range": "bytes=0-99"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 401)  # the upstream demands credentials
            p.fault("mode=401")
            c.request("GET", self.path, headers={"Authorization": AUTH})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.getheader("WWW-Authenticate"), 'Basic realm="testbed-realm"')
            p.fault("mode=redirect")
            c.request("GET", self.path, headers={"Range": "bytes=0-99", "Authorization": AUTH})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 302)
            loc = urllib.parse.urlsplit(r.getheader("Location"))
            c.close()
            # served without credentials from the client (the token carries them)
            c = p.conn(port=p.rport)
            c.request("GET", loc.path + "?" + loc.query, headers={"Range": "bytes=0-99"})
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (206, self.blob[:100]))
            c.close()
            self.assertFalse(p.stats()["redirect_auth_seen"])
        finally:
            p.stop()

    def test_mixed_modes_probability(self):
        self.p.fault("mode=status,reset&code=503&prob=0.3&seed=7")
        n, ok, e503, reset = 300, 0, 0, 0
        for _ in range(n):
            head, body, end = raw_get(self.p.port, self.path,
                                      headers=[("Range", "bytes=0-9"), ("Connection", "close")])
            if end == "reset":
                reset += 1
            elif head.startswith(b"HTTP/1.1 503"):
                e503 += 1
            else:
                self.assertEqual(body, self.blob[:10])
                ok += 1
        self.assertEqual(ok + e503 + reset, n)
        self.assertTrue(0.2 * n < e503 + reset < 0.4 * n, (e503, reset))
        self.assertGreater(e503, 0)
        self.assertGreater(reset, 0)

    def test_delay(self):
        self.p.ctl("POST", "/__proxy/throttle?delay_ms=300")
        t0 = time.monotonic()
        self.get(headers={"Range": "bytes=0-9"})
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.p.ctl("POST", "/__proxy/throttle?delay_ms=0")
        t0 = time.monotonic()
        self.get(headers={"Range": "bytes=0-9"})
        self.assertLess(time.monotonic() - t0, 0.3)

    def test_control_errors(self):
        c = self.p.conn()
        for method, path, code in (("POST", "/__proxy/fault?mode=nosuch", 400),
                                   ("POST", "/__proxy/fault?mode=status&count=x", 400),
                                   ("POST", "/__proxy/fault?mode=status&match=(", 400),
                                   ("GET", "/__proxy/reset-stats", 405),
                                   ("GET", "/__proxy/nosuch", 405),
                                   ("POST", "/__proxy/nosuch", 404)):
            c.request(method, path)
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, code, path)
        c.close()

    # ------------------------------------------------------------------ throughput
    def timed_range(self, n, port=None):
        c = self.p.conn(60, port)
        t0 = time.monotonic()
        c.request("GET", self.path, headers={"Range": f"bytes=0-{n - 1}"})
        r = c.getresponse()
        got = 0
        while True:
            d = r.read(1 << 20)
            if not d:
                break
            got += len(d)
        dt = time.monotonic() - t0
        c.close()
        self.assertEqual(got, n)
        return dt

    def test_throughput_unthrottled(self):
        floor = float(os.environ.get("FP_MIN_MBPS", "200"))
        best = 0.0
        for _ in range(5):
            dt = self.timed_range(len(self.blob))
            best = max(best, len(self.blob) / dt / 1e6)
            if best >= floor * 1.2:
                break
        print(f"\n  unthrottled: best {best:.0f} MB/s over {len(self.blob) >> 20} MiB",
              file=sys.stderr)
        self.assertGreaterEqual(best, floor)

    def test_throughput_throttled(self):
        n = 20 * 1000 * 1000
        for mbit in (80, 200):
            self.p.ctl("POST", f"/__proxy/throttle?rate_mbit={mbit}")
            dt = self.timed_range(n)
            got = n * 8 / dt / 1e6
            print(f"\n  throttled {mbit} Mbit/s: measured {got:.1f} Mbit/s over 20 MB",
                  file=sys.stderr)
            self.assertLess(abs(got - mbit) / mbit, 0.10, f"{got:.1f} vs {mbit}")

    def test_throttle_shared_by_connections(self):
        mbit = 80
        self.p.ctl("POST", f"/__proxy/throttle?rate_mbit={mbit}")
        n = 10 * 1000 * 1000
        times = []
        ts = [threading.Thread(target=lambda: times.append(self.timed_range(n)))
              for _ in range(2)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.monotonic() - t0
        got = 2 * n * 8 / dt / 1e6
        print(f"\n  2 connections at {mbit} Mbit/s shared: {got:.1f} Mbit/s over 20 MB",
              file=sys.stderr)
        self.assertLess(abs(got - mbit) / mbit, 0.10)

    def test_cli_throttle(self):
        p = ProxyProc(self.upstream, redirect=False, extra=["--rate-mbit", "40", "--delay-ms",
                                                            "100"])
        try:
            st = p.stats()
            self.assertEqual((st["rate_mbit"], st["delay_ms"]), (40.0, 100.0))
            c = p.conn(60)
            n = 5 * 1000 * 1000
            t0 = time.monotonic()
            c.request("GET", self.path, headers={"Range": f"bytes=0-{n - 1}"})
            body = c.getresponse().read()
            dt = time.monotonic() - t0
            c.close()
            self.assertEqual(body, self.blob[:n])
            self.assertGreater(dt, n * 8 / 40e6 * 0.9)
        finally:
            p.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
