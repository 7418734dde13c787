#!/usr/bin/env python3
"""faas-sim: a small fake serverless platform for testing and benchmarking warmd.

Every URL path (without the query string) is one function with its own pool
of containers.  A request takes an idle live container of its function
(a warm start) or creates a new container, paying the cold-start delay
(a cold start); it then holds the container for the hold time and answers.
Containers idle for longer than the TTL are reclaimed; the check happens when
a container is acquired (or a report is built), so an idle platform runs no
timers at all.

Responses carry
    X-Container-Reused: true|false
    X-Container-Id: <id>            (e.g. "f3a9-17", unique in this process)
and the JSON body {"function", "container", "reused", "cold_start_ms"}.
Per-request query parameters: status= (200..599), hold_ms=, cold_ms=,
pad=BYTES (0..10^9: a "pad" string of that many bytes after those fields, or
before them with pad_first=1; sent as the client reads it, never held in
memory whole), body=text (a body that is not JSON), location= (sent back as
a Location header, for redirects), per_container= (1..1000; default
--requests-per-container), fail_every=K (every K-th request of the function
answers 503, like throttling).  Per function, the report counts the response
bytes written to the socket (bytes_sent) and the answers whose client went
away before all of it was sent (answers_cut).

Serial starts.  With --serial-starts (per request: serial=1) the platform takes a function's
requests one at a time, in the order they arrived, and takes none while it
starts a container (cold_ms).  Requests sent together then reach the
containers one after another: those started first are free again and take
the requests still waiting, as serverless-offline does (it builds each
instance in its one main thread): from cold, 50 requests reach fewer than 50
containers.

Requests per container.  Like Cloud Run's concurrency setting, a container
may serve several requests at once: with per_container=C, a request joins a
busy container that serves fewer than C requests before it takes an idle one
or starts a new one.  A request that joins a container still starting waits
for the rest of its cold start, but is not a cold start itself.

The Lambda Invoke API and an IMDSv2 endpoint are served too (tests/faas_aws.py
says how); each (function, qualifier) invoked is one function here.  So are
Google's metadata server and token endpoint with a Cloud Run-like front
(tests/faas_google.py), Azure's managed-identity endpoints with an Easy
Auth-like front (tests/faas_azure.py), and STS AssumeRole (POST /sts/), a container credentials endpoint (GET
/container-credentials) and Lambda Function URLs with AuthType AWS_IAM (a
Host ID.lambda-url.REGION.on.aws, or a path /function-url/ID/...), served as
the function "function-url:ID" once their signature is checked (faas_aws.py).

Control paths (never counted as functions; every path that starts with "/_"
is reserved for them):
    GET  /_report           JSON record of what the platform saw
    GET  /_report?detail=1  ... plus per-function arrival lists, and the
                            requests themselves ("requests_seen": arrival,
                            method, headers, body, and whether the client
                            closed the connection before the answer)
    POST /_reset            clear the record (containers stay alive)
    POST /_reset?kill=1     clear the record and drop every container
    POST /_reset?per_container=C  ... and from now on, containers take C
                            requests at once (as --requests-per-container)
    POST /_reset?token_fail=N  ... and the next N Azure token requests
                            answer 500 (tests/faas_azure.py)
    POST /_reset?google_fail=N, ?google_access_only=1  ... and Google's token
                            requests fail, or answer without an id_token
                            (tests/faas_google.py)
    POST /_tags             the tags GetResources lists, injected throttles
                            (see faas_aws.Tagging)

Arrival times.  A request "arrives" when its head has been fully received.
By default the time is the kernel's receive timestamp of the data that
completed the head (SO_TIMESTAMPNS, converted to CLOCK_MONOTONIC, the clock of
time.monotonic()), so a burst of thousands of requests is timed by when the
requests really reached the platform, not by how fast this Python process
gets round to reading them.  --arrival-clock=read uses the time the head was
read instead (also the fallback when the kernel gives no timestamp).  A
request holds its container from its arrival: the answer is scheduled for
arrival + cold start + hold.  max_in_flight is computed from the recorded
[arrival, answer written] intervals, so it is exact for the same reason.

The server speaks HTTP/1.1 with keep-alive (and pipelining), accepts request
bodies sent with Content-Length or chunked encoding, answers HEAD, and works
on raw non-blocking sockets driven by the asyncio event loop (add_reader),
which keeps the per-request work small.  Python 3 standard library only.
"""

import argparse
import asyncio
import errno
import http
import json
import math
import os
import resource
import signal
import socket
import struct
import sys
import time
import zlib
from collections import deque
from urllib.parse import parse_qs

import faas_aws
import faas_azure

MAX_HEAD = 64 * 1024          # largest request head we accept
MAX_BODY = 16 * 1024 * 1024   # largest request body we accept
MAX_PAD = 10 ** 9             # largest pad= answer
PAD_CHUNK = b"x" * (256 * 1024)
READ_SIZE = 65536
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # Linux value
TIMESPEC = struct.Struct("@qq")

now = time.monotonic


# ---------------------------------------------------------------------------
# The platform model
# ---------------------------------------------------------------------------

class Container:
    __slots__ = ("cid", "free_at", "generation", "active", "ready_at")

    def __init__(self, cid, generation):
        self.cid = cid
        self.free_at = 0.0       # when its last request was answered
        self.generation = generation
        self.active = 0          # requests it serves right now
        self.ready_at = 0.0      # when its cold start is over


class Function:
    """One function: its container pool and its record since the last reset."""

    def __init__(self, path):
        self.path = path
        # Short stable tag so that container ids show their function.
        self.tag = "%04x" % (zlib.crc32(path.encode()) & 0xFFFF)
        self.idle = deque()      # idle containers, released in order, oldest left
        self.busy = 0            # containers held by a request right now
        self.shared = []         # busy containers that may take more requests
        self.in_flight = 0       # requests being served right now
        self.reset_record()

    def reset_record(self):
        self.requests = 0
        self.cold_starts = 0
        self.warm = 0
        self.served = set()      # ids of containers that served since reset
        self.bytes_sent = 0      # response bytes handed to the kernel
        self.answers_cut = 0     # answers the client left before they were sent whole
        self.first_arrival = None
        self.last_arrival = None
        # One record per request:
        # [arrival, container id, cold, answered at, service start].
        self.records = []

    def reap(self, t, ttl):
        """Drop idle containers unused for longer than ttl (oldest first)."""
        idle = self.idle
        limit = t - ttl
        while idle and idle[0].free_at < limit:
            idle.popleft()

    def take_idle(self, t):
        """Take the most recently released container that was free at t."""
        idle = self.idle
        if not idle:
            return None
        if idle[-1].free_at <= t:
            return idle.pop()
        # Only when this process lags behind: a container released after the
        # request arrived was not free for it; look for an older one.
        for i in range(len(idle) - 2, -1, -1):
            if idle[i].free_at <= t:
                c = idle[i]
                del idle[i]
                return c
        return None

    def take_shared(self, per_container):
        """A busy container serving fewer than per_container requests."""
        for c in self.shared:
            if c.active < per_container:
                return c
        return None

    def alive(self, t, ttl):
        limit = t - ttl
        return self.busy + sum(1 for c in self.idle if c.free_at >= limit)


def max_overlap(intervals, t_end):
    """Largest number of [start, end] intervals open at once (end None = open)."""
    events = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((t_end if end is None else end, -1))
    # At equal times an end sorts before a start: back to back is no overlap.
    events.sort()
    cur = best = 0
    for _, step in events:
        cur += step
        if cur > best:
            best = cur
    return best


class Platform:
    def __init__(self, hold_ms, cold_ms, ttl_s):
        self.hold_ms = hold_ms
        self.cold_ms = cold_ms
        self.ttl = ttl_s
        self.functions = {}
        self.next_id = 0
        self.generation = 0      # bumped by /_reset?kill=1
        self.in_flight = 0
        self.live = set()        # ids of records of requests being served
        self.total_requests = 0  # since start, never reset
        self.aws = faas_aws.Lambda("", "us-east-1")   # the Invoke API and IMDS stand-ins
        self.google = None       # faas_google.Google, with --google-key or --google-metadata
        self.azure = faas_azure.Azure()
        self.tagging = faas_aws.Tagging(self.aws)      # GetResources over tags set at run time
        self.reset_record()

    def reset_record(self):
        self.requests = 0
        self.reset_at = now()
        self.aws.reset_record()
        self.azure.reset_record()
        if self.google is not None:
            self.google.reset_record()
        self.tagging.reset_record()
        # Requests in flight across a reset still count for max_in_flight,
        # from the reset on.
        self.carried = [(f, r) for f, r in getattr(self, "carried", ())
                        if r[3] is None]
        for f in self.functions.values():
            for rec in f.records:
                if rec[3] is None:
                    self.carried.append((f, rec))
            f.reset_record()

    def kill_all(self):
        """Drop every container; busy ones are dropped when released."""
        self.generation += 1
        for f in self.functions.values():
            f.idle.clear()
            f.shared.clear()

    def acquire(self, path, t, start, seen=None, per_container=1):
        """Start serving a request that arrived at t; its service starts at
        start (later than t only for a pipelined request queued behind
        another on its connection).

        Returns (function, container, cold, record)."""
        f = self.functions.get(path)
        if f is None:
            f = self.functions[path] = Function(path)
        f.reap(t, self.ttl)
        c = f.take_shared(per_container) if per_container > 1 else None
        if c is not None:
            cold = False
            f.warm += 1
        else:
            c = f.take_idle(start)
            if c is not None:
                cold = False
                f.warm += 1
            else:
                self.next_id += 1
                c = Container("%s-%d" % (f.tag, self.next_id), self.generation)
                c.ready_at = start + self.cold_ms / 1000.0
                cold = True
                f.cold_starts += 1
            f.busy += 1
            if c.generation == self.generation:
                f.shared.append(c)
        c.active += 1
        f.requests += 1
        f.served.add(c.cid)
        if f.first_arrival is None or t < f.first_arrival:
            f.first_arrival = t
        if f.last_arrival is None or t > f.last_arrival:
            f.last_arrival = t
        rec = [t, c.cid, cold, None, start, seen]
        f.records.append(rec)
        f.in_flight += 1
        self.requests += 1
        self.total_requests += 1
        self.in_flight += 1
        return f, c, cold, rec

    def release(self, f, c, rec, t):
        rec[3] = t
        f.in_flight -= 1
        self.in_flight -= 1
        c.active -= 1
        if c.active > 0:
            return
        f.busy -= 1
        if c in f.shared:
            f.shared.remove(c)
        if c.generation == self.generation:
            c.free_at = t
            f.idle.append(c)

    def report(self, detail):
        t = now()
        funcs = {}
        every = [(max(r[4], self.reset_at), r[3]) for _, r in self.carried]
        for path, f in self.functions.items():
            alive = f.alive(t, self.ttl)
            if not f.requests and not alive and not f.in_flight:
                continue     # nothing to say about this function
            spans = [(r[4], r[3]) for r in f.records]
            every.extend(spans)
            spans.extend((max(r[4], self.reset_at), r[3])
                         for g, r in self.carried if g is f)
            spread = 0.0
            if f.first_arrival is not None:
                spread = (f.last_arrival - f.first_arrival) * 1000.0
            r = {
                "requests": f.requests,
                "cold_starts": f.cold_starts,
                "warm": f.warm,
                "containers_alive": alive,
                "distinct_containers": len(f.served),
                "first_arrival": f.first_arrival,
                "last_arrival": f.last_arrival,
                "spread_ms": round(spread, 3),
                "max_in_flight": max_overlap(spans, t),
                "bytes_sent": f.bytes_sent,
                "answers_cut": f.answers_cut,
            }
            if detail:
                r["arrivals"] = [[round(a, 6), cid, cold]
                                 for a, cid, cold, _, _, _ in f.records]
                r["requests_seen"] = [dict(rec[5], t=round(rec[0], 6))
                                      for rec in f.records if rec[5]]
            funcs[path] = r
        return {
            "now": t,
            "requests": self.requests,
            "total_requests": self.total_requests,
            "in_flight": self.in_flight,
            "max_in_flight": max_overlap(every, t),
            "hold_ms": self.hold_ms,
            "cold_ms": self.cold_ms,
            "ttl_s": self.ttl,
            "arrival_clock": Server.arrival_clock,
            "functions": funcs,
            "aws": self.aws.report(),
            "azure": self.azure.report(),
            "google": self.google.report() if self.google is not None else {},
            "tagging": self.tagging.report(),
        }


# ---------------------------------------------------------------------------
# HTTP/1.1 server on raw non-blocking sockets
# ---------------------------------------------------------------------------

def reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status %d" % status


class BadRequest(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class Server:
    """Listening socket: accepts connections as fast as they come."""

    arrival_clock = "read"   # "kernel" once the listener has SO_TIMESTAMPNS
    per_container = 1        # --requests-per-container
    serial_starts = False    # --serial-starts

    def __init__(self, loop, platform, host, port, backlog, want_kernel_clock):
        self.loop = loop
        self.platform = platform
        self.conns = set()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if want_kernel_clock:
            try:
                # Inherited by accepted sockets: every read reports the
                # kernel receive time of its data.
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                Server.arrival_clock = "kernel"
            except OSError:
                pass
        s.bind((host, port))
        s.listen(backlog)
        s.setblocking(False)
        self.sock = s
        self.port = s.getsockname()[1]
        loop.add_reader(s.fileno(), self.on_accept)

    def on_accept(self):
        while True:
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: stop accepting for a moment
                    # rather than spinning.
                    print("faas-sim: accept: %s" % e, file=sys.stderr)
                    self.loop.remove_reader(self.sock.fileno())
                    self.loop.call_later(0.1, self.loop.add_reader,
                                         self.sock.fileno(), self.on_accept)
                    return
                continue         # ECONNABORTED and the like: next one
            sock.setblocking(False)
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Connection(self, sock)

    def close(self):
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for c in list(self.conns):
            c.close()


class Connection:
    """One client connection; its requests are served one after another."""

    __slots__ = ("server", "loop", "platform", "sock", "fd", "buf", "out",
                 "busy", "closed", "close_after", "pending", "sent_continue",
                 "head_only", "head_t", "read_t", "eof", "paused", "done_t",
                 "source", "streaming", "acct")

    def __init__(self, server, sock):
        self.server = server
        self.loop = server.loop
        self.platform = server.platform
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = bytearray()
        self.out = bytearray()    # unsent response bytes
        self.busy = False         # a request is being served
        self.closed = False
        self.close_after = False  # close once the current response is sent
        self.eof = False          # client shut down its sending side
        self.pending = None       # parsed head waiting for its body
        self.sent_continue = False
        self.head_only = False    # current request is HEAD
        self.head_t = None        # arrival time of the next complete head
        self.read_t = None        # time of the latest read
        self.paused = False       # reading stopped by a pipelining flood
        self.done_t = 0.0         # when the previous response was written
        self.source = None        # the rest of a padded answer: (bytes left, suffix)
        self.streaming = False    # a padded answer is being sent; the connection is busy with it
        self.acct = None          # the function whose answer is being sent
        server.conns.add(self)
        self.loop.add_reader(self.fd, self.on_readable)

    # -- I/O ----------------------------------------------------------------

    def on_readable(self):
        try:
            data, anc, _, _ = self.sock.recvmsg(READ_SIZE, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        t = None
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack_from(raw)
                # Kernel time is CLOCK_REALTIME: move it onto the monotonic clock.
                t = sec + nsec * 1e-9 - (time.time() - now())
        if t is None:
            t = now()
        self.read_t = t
        if not data:
            self.eof = True
            self.loop.remove_reader(self.fd)
            if not self.busy:
                self.close()
            else:
                self.close_after = True
            return
        self.buf += data
        if self.head_t is None and self.pending is None and b"\r\n\r\n" in self.buf:
            self.head_t = t
        if not self.busy:
            self.process()
        elif len(self.buf) > MAX_HEAD + MAX_BODY:
            # A client flooding pipelined requests: stop reading for now.
            self.loop.remove_reader(self.fd)
            self.paused = True

    def sent(self, n):
        if self.acct is not None:
            self.acct.bytes_sent += n

    def write(self, data):
        if self.closed:
            return
        if self.out or self.source is not None:
            # Behind what is queued; the writer is armed already, unless a padded answer starts here.
            if not self.out:
                self.loop.add_writer(self.fd, self.on_writable)
            self.out += data
            return
        try:
            n = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self.close()
            return
        self.sent(n)
        if n == len(data):
            return
        self.out += data[n:]
        self.loop.add_writer(self.fd, self.on_writable)

    def refill(self):
        """Moves the next piece of a padded answer into out."""
        left, suffix = self.source
        if left > 0:
            piece = PAD_CHUNK if left >= len(PAD_CHUNK) else PAD_CHUNK[:left]
            self.out += piece
            self.source = (left - len(piece), suffix)
        else:
            self.out += suffix
            self.source = None

    def on_writable(self):
        if not self.out and self.source is not None:
            self.refill()
        try:
            n = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self.sent(n)
        del self.out[:n]
        if not self.out and self.source is None:
            self.loop.remove_writer(self.fd)
            if self.streaming:
                # A padded answer is done: the next pipelined request may go.
                self.streaming = self.busy = False
                if self.buf and not self.closed:
                    self.loop.call_soon(self.process)
            if self.close_after and not self.busy:
                self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.acct is not None and (self.out or self.source is not None):
            self.acct.answers_cut += 1
        self.loop.remove_reader(self.fd)
        self.loop.remove_writer(self.fd)
        self.sock.close()
        self.server.conns.discard(self)

    # -- request parsing ----------------------------------------------------

    def process(self):
        """Parse and dispatch buffered requests while not busy."""
        while not self.busy and not self.closed:
            try:
                req = self.parse()
            except BadRequest as e:
                self.close_after = True
                self.head_only = False
                self.send_error(e.status, e.text)
                return
            if req is None:
                if self.eof and not self.busy:
                    self.close()
                return
            self.dispatch(*req)
        if self.paused and not self.closed and not self.busy:
            self.paused = False
            self.loop.add_reader(self.fd, self.on_readable)

    def parse(self):
        """Return (t, method, target, version, headers, body) or None."""
        if self.pending is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    raise BadRequest(431, "request head too large")
                return None
            t = self.head_t if self.head_t is not None else self.read_t
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            # A further complete head already buffered (pipelining) arrived
            # no later than the latest read.
            self.head_t = self.read_t if b"\r\n\r\n" in self.buf else None
            lines = head.split("\r\n")
            while lines and not lines[0]:   # stray CRLF between requests
                lines.pop(0)
            if not lines:
                return None
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise BadRequest(400, "bad request line")
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise BadRequest(400, "bad header line")
                headers[name.strip().lower()] = value.strip()
            te = headers.get("transfer-encoding", "").lower()
            if te and te != "chunked":
                raise BadRequest(501, "unsupported transfer-encoding")
            clen = 0
            if not te and "content-length" in headers:
                try:
                    clen = int(headers["content-length"])
                except ValueError:
                    raise BadRequest(400, "bad content-length")
                if clen < 0 or clen > MAX_BODY:
                    raise BadRequest(413, "bad content-length")
            self.pending = (t, parts[0], parts[1], parts[2], headers,
                            "chunked" if te else clen)
            self.sent_continue = False
        t, method, target, version, headers, blen = self.pending
        if blen == "chunked":
            body = self.take_chunked()
        elif len(self.buf) >= blen:
            body = bytes(self.buf[:blen])
            del self.buf[:blen]
        else:
            body = None
        if body is None:
            # Body incomplete: honour "Expect: 100-continue" once.
            if (not self.sent_continue and
                    headers.get("expect", "").lower() == "100-continue"):
                self.sent_continue = True
                self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return None
        self.pending = None
        if self.head_t is None and b"\r\n\r\n" in self.buf:
            self.head_t = self.read_t
        return t, method, target, version, headers, body

    def take_chunked(self):
        """Decode a complete chunked body from buf, or return None."""
        pos = 0
        out = bytearray()
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_s = bytes(buf[pos:eol]).split(b";")[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BadRequest(400, "bad chunk size")
            pos = eol + 2
            if size == 0:
                # Skip trailers up to the empty line.
                while True:
                    eol = buf.find(b"\r\n", pos)
                    if eol < 0:
                        return None
                    if eol == pos:
                        del buf[:eol + 2]
                        return bytes(out)
                    pos = eol + 2
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos:pos + size]
            pos += size + 2
            if len(out) > MAX_BODY:
                raise BadRequest(413, "body too large")

    # -- dispatch -------------------------------------------------------------

    def dispatch(self, t, method, target, version, headers, body):
        conn = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.close_after = self.close_after or conn != "keep-alive"
        elif conn == "close":
            self.close_after = True
        self.head_only = method == "HEAD"
        path, _, query = target.partition("?")
        if "://" in path:
            # absolute-form target: keep only the path
            rest = path.split("://", 1)[1]
            path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        if path == "/_tags":
            self.tags_control(method, body)
            return
        if path.startswith("/_"):
            self.control(method, path, query)
            return
        if headers.get("x-amz-target", "").startswith(faas_aws.TAGGING_TARGET_PREFIX):
            answer = self.platform.tagging.get_resources(method, path, query, headers, body)
            if answer is None:
                self.busy = True     # stalled: the connection stays open, unanswered
                return
            status, out, extra = answer
            self.respond(status, out, extra, ctype="application/x-amz-json-1.1")
            return
        if path.startswith(faas_aws.IMDS_PREFIX):
            status, out, ctype = self.platform.aws.imds(method, path, headers)
            self.respond(status, out, "", ctype=ctype)
            return
        if path.startswith(faas_aws.INVOKE_PREFIX):
            self.invoke(t, method, path, query, headers, body)
            return
        if path == faas_aws.STS_PATH:
            status, out = self.platform.aws.sts(method, path, query, headers, body)
            self.respond(status, out, "", ctype="text/xml")
            return
        if path == faas_aws.CONTAINER_PATH:
            status, out = self.platform.aws.container(method, headers)
            self.respond(status, out, "")
            return
        if (path.startswith(faas_aws.FUNCTION_URL_PREFIX)
                or faas_aws.FUNCTION_URL_HOST_RE.match(headers.get("host", "").split(":")[0])):
            # Signed for the Function URL, then served as any function, under its own key.
            path, error = self.platform.aws.function_url(method, headers.get("host", ""), path, query, headers, body)
            if error is not None:
                status, out, extra = error
                self.respond(status, json.dumps(out).encode(), extra)
                return
        for cloud in (self.platform.google, self.platform.azure):
            answer = cloud.route(method, path, query, headers, body) if cloud is not None else None
            if answer is not None:
                status, out, ctype = answer
                self.respond(status, out, "", ctype=ctype)
                return
            refused = cloud.guard(path, headers) if cloud is not None else None
            if refused is not None:
                self.respond(*refused)
                return
        p = self.platform
        hold_ms, cold_ms, status = p.hold_ms, p.cold_ms, 200
        shape = (0, False, False)    # pad bytes, pad first, text body
        per_container = Server.per_container
        serial = Server.serial_starts
        fail_every = 0
        if query:
            try:
                q = parse_qs(query)
                if "hold_ms" in q:
                    hold_ms = float(q["hold_ms"][-1])
                if "cold_ms" in q:
                    cold_ms = float(q["cold_ms"][-1])
                if "status" in q:
                    status = int(q["status"][-1])
                shape = (int(q.get("pad", ["0"])[-1]), q.get("pad_first", ["0"])[-1] == "1",
                         q.get("body", [""])[-1] == "text")
                if "per_container" in q:
                    per_container = int(q["per_container"][-1])
                if "fail_every" in q:
                    fail_every = int(q["fail_every"][-1])
                if "serial" in q:
                    serial = q["serial"][-1] == "1"
            except ValueError:
                self.send_error(400, "bad query parameter")
                return
            if (not 200 <= status <= 599 or not 0 <= hold_ms <= 3600e3
                    or not 0 <= cold_ms <= 3600e3 or not 0 <= shape[0] <= MAX_PAD
                    or not 1 <= per_container <= 1000 or fail_every < 0):
                self.send_error(400, "query parameter out of range")
                return
        start = t if t >= self.done_t else now()
        # What the request was, as the function would see it.
        seen = {"method": method, "target": target, "headers": headers,
                "body": body[:4096].decode("latin-1"), "body_len": len(body),
                "location": parse_qs(query).get("location", [None])[-1] if query else None,
                "aborted": None}
        self.busy = True
        if serial:
            Connection.take_in_turn(self.loop, p, path, (self, t, seen, per_container, hold_ms, cold_ms, status,
                                                     shape, fail_every))
            return
        self.serve(path, t, start, seen, per_container, hold_ms, cold_ms, status, shape, fail_every)

    queues = {}              # --serial-starts: per function, the requests not taken yet
    blocked = set()          # functions whose taker is starting a container

    @staticmethod
    def take_in_turn(loop, p, path, req=None):
        """--serial-starts: the platform takes a function's requests one at a
        time, in arrival order; starting a container stops it from taking any
        other for the cold start, so containers start one after another and
        the first ones, free again, take the requests that wait (like
        serverless-offline, which builds each instance in its main thread)."""
        q = Connection.queues.setdefault(path, deque())
        if req is not None:
            q.append(req)
            if path in Connection.blocked:
                return
        Connection.blocked.discard(path)
        while q:
            conn, t, seen, per_container, hold_ms, cold_ms, status, shape, fail_every = q.popleft()
            if conn.closed:
                continue
            if conn.serve(path, t, now(), seen, per_container, hold_ms, cold_ms, status, shape, fail_every):
                Connection.blocked.add(path)
                loop.call_at(now() + cold_ms / 1000.0, Connection.take_in_turn, loop, p, path)
                return

    def serve(self, path, t, start, seen, per_container, hold_ms, cold_ms, status, shape, fail_every):
        """Serves a request from start on; returns whether it was a cold start."""
        p = self.platform
        f, c, cold, rec = p.acquire(path, t, start, seen, per_container)
        if fail_every and f.requests % fail_every == 0:
            status = 503
        if cold:
            c.ready_at = start + cold_ms / 1000.0
            paid = cold_ms
        else:
            # Joining a container that is still starting waits for it.
            paid = max(0.0, (c.ready_at - start) * 1000.0)
        if paid == int(paid):
            paid = int(paid)
        # The container is held from the start of service on.
        self.loop.call_at(start + (hold_ms + paid) / 1000.0, self.finish,
                          f, c, cold, paid, status, rec, shape)
        return cold

    def invoke(self, t, method, path, query, headers, body):
        """A Lambda Invoke: signature checked, function resolved, then a container as for any request."""
        p = self.platform
        aws = p.aws
        if method != "POST":
            self.send_error(405, "use POST", "Allow: POST\r\n")
            return
        err = faas_aws.verify(aws.keys, method, path, query, headers, body)
        if err is not None:
            status, out, extra = aws.reject(403, *err)
            self.respond(status, json.dumps(out).encode(), extra)
            return
        resolved, error = aws.resolve(path, query)
        if error is not None:
            status, out, extra = error
            self.respond(status, json.dumps(out).encode(), extra)
            return
        key, reserved = resolved
        f = p.functions.get(key)
        if reserved is not None and f is not None and f.in_flight >= reserved:
            status, out, extra = aws.reject(429, "TooManyRequestsException", "Rate Exceeded.")
            out["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded"
            self.respond(status, json.dumps(out).encode(), extra)
            return
        aws.invokes += 1
        start = t if t >= self.done_t else now()
        f, c, cold, rec = p.acquire(key, t, start)
        self.busy = True
        paid = p.cold_ms if cold else 0
        self.loop.call_at(start + (p.hold_ms + paid) / 1000.0, self.finish_invoke,
                          f, c, cold, rec, body, headers)

    def finish_invoke(self, f, c, cold, rec, body, headers):
        p = self.platform
        status, out, extra = p.aws.answer(f.path, c.cid, cold, p.hold_ms, p.cold_ms, body, headers)
        self.respond(status, out, extra)
        p.release(f, c, rec, self.done_t)

    def finish(self, f, c, cold, cold_ms, status, rec, shape=(0, False, False)):
        """The container has done its work: answer and release it."""
        pad, pad_first, text = shape
        extra = ("X-Container-Reused: %s\r\nX-Container-Id: %s\r\n"
                 % ("false" if cold else "true", c.cid))
        if rec[5]["location"] is not None:
            extra += "Location: %s\r\n" % rec[5]["location"]
        # The client gave up on this request before its answer (closed its side).
        rec[5]["aborted"] = self.eof or self.closed
        fields = {"function": f.path, "container": c.cid, "reused": not cold,
                  "cold_start_ms": cold_ms}
        self.acct = f
        if text:
            self.respond(status, b"this is not JSON", extra)
        elif pad == 0:
            self.respond(status, json.dumps(fields).encode(), extra)
        else:
            # {"pad": "xx..", <fields>} or {<fields>, "pad": "xx.."}, the x's made as they are sent.
            inner = json.dumps(fields)[1:-1].encode()
            head, tail = ((b'{"pad": "', b'", ' + inner + b'}') if pad_first
                          else (b'{' + inner + b', "pad": "', b'"}'))
            if not self.head_only:
                self.source = (pad, tail)   # first, so that respond() queues the head before it
            self.respond(status, head, extra, length=len(head) + pad + len(tail))
            if self.source is not None and not self.closed:
                self.streaming = self.busy = True
        # Released as of when the answer left (done_t, taken before the write):
        # the client may send its next request before write() returns here.
        self.platform.release(f, c, rec, self.done_t)

    def control(self, method, path, query):
        q = parse_qs(query) if query else {}
        p = self.platform
        if path == "/_report":
            if method not in ("GET", "HEAD"):
                self.send_error(405, "use GET", "Allow: GET, HEAD\r\n")
                return
            detail = q.get("detail", ["0"])[-1] not in ("0", "", "false")
            self.respond(200, json.dumps(p.report(detail)).encode(), "")
        elif path == "/_reset":
            if method != "POST":
                self.send_error(405, "use POST", "Allow: POST\r\n")
                return
            kill = q.get("kill", ["0"])[-1] not in ("0", "", "false")
            if kill:
                p.kill_all()
            if "per_container" in q:
                Server.per_container = max(1, min(1000, int(q["per_container"][-1])))
            expiries = p.azure.last_expiry
            google_expiries = p.google.last_expiry if p.google is not None else {}
            p.reset_record()
            if "token_fail" in q:
                # Mid-run: a fetch after the token in hand expired still counts as late.
                p.azure.fail_next = int(q["token_fail"][-1])
                p.azure.last_expiry = expiries
            if p.google is not None and "google_fail" in q:
                p.google.fail_next = int(q["google_fail"][-1])
                p.google.last_expiry = google_expiries
            if p.google is not None and "google_access_only" in q:
                p.google.access_only = q["google_access_only"][-1] not in ("0", "", "false")
            self.respond(200, json.dumps({"reset": True, "kill": kill}).encode(), "")
        else:
            self.send_error(404, "no such control path")

    def tags_control(self, method, body):
        """POST /_tags: the functions' tags, throttles and page size of GetResources (faas_aws.Tagging)."""
        if method != "POST":
            self.send_error(405, "use POST", "Allow: POST\r\n")
            return
        try:
            out = self.platform.tagging.control(body)
        except (ValueError, TypeError, AttributeError):
            self.send_error(400, "bad /_tags body")
            return
        self.respond(200, json.dumps(out).encode(), "")

    # -- responses ------------------------------------------------------------

    def send_error(self, status, text, extra=""):
        self.respond(status, json.dumps({"error": text}).encode(), extra)

    def respond(self, status, body, extra, length=None, ctype="application/json"):
        """Answers; length, when given, is that of the whole body, of which body is the start."""
        self.busy = False
        self.done_t = now()
        if self.closed:
            return
        no_body = status in (204, 304)
        head = ["HTTP/1.1 %d %s\r\nServer: faas-sim\r\n" % (status, reason(status)),
                extra]
        if not no_body:
            head.append("Content-Type: %s\r\n"
                        "Content-Length: %d\r\n" % (ctype, len(body) if length is None else length))
        head.append("Connection: close\r\n\r\n" if self.close_after
                    else "Connection: keep-alive\r\n\r\n")
        data = "".join(head).encode("latin-1")
        if not (self.head_only or no_body):
            data += body
        self.write(data)
        if self.close_after:
            if not self.out:
                self.close()
        elif self.buf and not self.closed:
            # Pipelined requests: continue outside this call stack.
            self.loop.call_soon(self.process)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            print("faas-sim: cannot raise RLIMIT_NOFILE: %s" % e, file=sys.stderr)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="faas-sim.py",
        description="Fake serverless platform (warm/cold containers) for warmd.")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0,
                    help="TCP port, 0 = any free port (default 0)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--hold-ms", type=float, default=100.0,
                    help="time a request holds its container (default 100)")
    ap.add_argument("--cold-ms", type=float, default=200.0,
                    help="extra delay paid by a cold start (default 200)")
    ap.add_argument("--ttl-s", type=float, default=600.0,
                    help="idle containers older than this are reclaimed (default 600)")
    ap.add_argument("--requests-per-container", type=int, default=1,
                    help="requests one container serves at once, like Cloud Run's "
                         "concurrency (default 1; per request: per_container=)")
    ap.add_argument("--serial-starts", action="store_true",
                    help="take each function's requests one at a time, and none while a container starts")
    ap.add_argument("--max-seconds", type=float, default=3600.0,
                    help="exit by itself after this many seconds (default 3600)")
    ap.add_argument("--backlog", type=int, default=8192,
                    help="listen backlog (default 8192; capped by net.core.somaxconn)")
    ap.add_argument("--arrival-clock", choices=("kernel", "read"), default="kernel",
                    help="time arrivals by the kernel receive timestamp (default) "
                         "or by when this process read the request head")
    ap.add_argument("--report-file", help="write the detailed report here on exit")
    ap.add_argument("--aws-region", default="us-east-1",
                    help="the region of the Lambda Invoke API stand-in (default us-east-1)")
    ap.add_argument("--lambda-functions", default="",
                    help='the functions that exist, as JSON: {"NAME": {"aliases": [...], '
                         '"account": "...", "reserved": N}}')
    ap.add_argument("--aws-key", action="append", default=[], metavar="AKID:SECRET[:TOKEN]",
                    help="keys the Invoke API accepts, with the session token they need if any (repeatable)")
    ap.add_argument("--imds-role", help="serve IMDSv2 with temporary credentials of this role")
    ap.add_argument("--imds-ttl-s", type=float, default=21600.0,
                    help="lifetime of each set of instance-role credentials (default 21600)")
    ap.add_argument("--aws-roles", default="",
                    help='roles STS AssumeRole hands out, as JSON: {"ARN": {"trust": ["user", "instance-role", '
                         '"container", "OTHER-ROLE-ARN"], "external_id": "X"}}')
    ap.add_argument("--sts-ttl-s", type=float, default=3600.0,
                    help="lifetime of each set of role credentials, at most (default 3600)")
    ap.add_argument("--container-token", help="serve the container credentials endpoint, for this token")
    ap.add_argument("--container-ttl-s", type=float, default=21600.0,
                    help="lifetime of each set of container credentials (default 21600)")
    ap.add_argument("--google-key", metavar="KEY.json",
                    help="serve Google's token endpoint, taking assertions signed by this service-account key")
    ap.add_argument("--google-metadata", action="store_true", help="serve Google's metadata server")
    ap.add_argument("--google-token-ttl-s", type=float, default=3600.0,
                    help="lifetime of each Google ID token (default 3600)")
    ap.add_argument("--azure-resource", help="the resource whose tokens the /azure/ front takes")
    ap.add_argument("--azure-identity-header", help="serve App Service's identity endpoint with this secret")
    ap.add_argument("--azure-client-id", action="append", default=[],
                    help="a user-assigned identity's client id (repeatable)")
    ap.add_argument("--azure-token-ttl-s", type=float, default=3600.0,
                    help="lifetime of each Azure access token (default 3600)")
    ap.add_argument("--azure-answer-pad", type=int, default=0,
                    help="bytes of padding in each Azure token answer (default 0)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no startup/exit lines")
    args = ap.parse_args(argv)
    if not 1 <= args.requests_per_container <= 1000:
        ap.error("--requests-per-container must be 1..1000")
    for name in ("hold_ms", "cold_ms", "ttl_s", "max_seconds"):
        v = getattr(args, name)
        if not math.isfinite(v) or v < 0:
            ap.error("--%s must be a finite number >= 0" % name.replace("_", "-"))
    return args


def main(argv=None):
    args = parse_args(argv)
    nofile = raise_nofile()
    if not args.quiet:
        try:
            with open("/proc/sys/net/core/somaxconn") as fh:
                somaxconn = int(fh.read())
            if somaxconn < args.backlog:
                print("faas-sim: note: net.core.somaxconn=%d caps the backlog of %d"
                      % (somaxconn, args.backlog), file=sys.stderr)
        except (OSError, ValueError):
            pass

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    platform = Platform(args.hold_ms, args.cold_ms, args.ttl_s)
    platform.aws = faas_aws.Lambda(args.lambda_functions, args.aws_region)
    for k in args.aws_key:
        akid, _, secret = k.partition(":")
        secret, _, token = secret.partition(":")
        platform.aws.keys.add(akid, secret, token or None)
    platform.tagging = faas_aws.Tagging(platform.aws)
    platform.aws.imds_role = args.imds_role
    platform.aws.imds_ttl = args.imds_ttl_s
    platform.aws.roles = json.loads(args.aws_roles) if args.aws_roles else {}
    platform.aws.sts_ttl = args.sts_ttl_s
    platform.aws.container_token = args.container_token
    platform.aws.container_ttl = args.container_ttl_s
    if args.google_key or args.google_metadata:
        import faas_google    # python3-cryptography, only when asked for
        platform.google = faas_google.Google(args.google_key, args.google_metadata, args.google_token_ttl_s)
    platform.azure = faas_azure.Azure(args.azure_resource, args.azure_identity_header, args.azure_client_id,
                                      args.azure_token_ttl_s, args.azure_answer_pad)
    Server.per_container = args.requests_per_container
    Server.serial_starts = args.serial_starts
    server = Server(loop, platform, args.host, args.port, args.backlog,
                    args.arrival_clock == "kernel")
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % server.port)
    if not args.quiet:
        print("faas-sim: listening on %s port %d (hold %g ms, cold %g ms, ttl %g s, "
              "%s arrival clock, nofile %d, exit after %g s)"
              % (args.host, server.port, args.hold_ms, args.cold_ms, args.ttl_s,
                 Server.arrival_clock, nofile, args.max_seconds),
              file=sys.stderr, flush=True)

    stop = loop.create_future()

    def request_stop(why):
        if not stop.done():
            stop.set_result(why)

    loop.add_signal_handler(signal.SIGTERM, request_stop, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, request_stop, "SIGINT")
    loop.call_later(args.max_seconds, request_stop, "max-seconds")

    why = loop.run_until_complete(stop)
    # Exiting: requests in flight are dropped, not answered.
    if args.report_file:
        write_atomic(args.report_file, json.dumps(platform.report(True)) + "\n")
    server.close()
    loop.close()
    if not args.quiet:
        print("faas-sim: exiting (%s) after %d requests"
              % (why, platform.total_requests), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
