#!/usr/bin/env python3
"""notify-recv: a stand-in for the service manager's end of sd_notify.

    notify-recv.py SOCKET LOG [--ready FILE] [--max-seconds S]

Binds an AF_UNIX SOCK_DGRAM socket at SOCKET ("@name" = abstract), with
SO_PASSCRED set so that every datagram carries the sender's credentials,
and appends one line per assignment of each datagram to LOG:

    SEQ <TAB> REALTIME_NS <TAB> PID <TAB> KEY=VALUE

SEQ numbers the datagrams from 1; REALTIME_NS is the arrival time in the
clock of `date +%s%N`.  LOG is flushed after each datagram.  FILE is
created once the socket is bound.  Exits on SIGTERM/SIGINT or after S
seconds (default 300).
"""

import argparse
import os
import signal
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("log")
    ap.add_argument("--ready")
    ap.add_argument("--max-seconds", type=float, default=300.0)
    args = ap.parse_args()

    path = args.socket
    addr = "\0" + path[1:] if path.startswith("@") else path
    if not path.startswith("@"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(addr)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.monotonic() + args.max_seconds
    seq = 0
    cred_size = struct.calcsize("3i")
    with open(args.log, "a", buffering=1) as log:
        if args.ready:
            with open(args.ready, "w") as f:
                f.write("%d\n" % os.getpid())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, anc, _flags, _addr = s.recvmsg(
                    65536, socket.CMSG_SPACE(cred_size) + socket.CMSG_SPACE(4 * 16))
            except socket.timeout:
                break
            t = time.time_ns()
            pid = 0
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", cdata[:cred_size])[0]
                elif level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    # FDSTORE=1 and friends: we keep nothing.
                    n = len(cdata) // 4
                    for fd in struct.unpack("%di" % n, cdata[:4 * n]):
                        os.close(fd)
            seq += 1
            text = data.decode("utf-8", "replace")
            lines = [l for l in text.split("\n") if l] or [""]
            log.write("".join("%d\t%d\t%d\t%s\n" % (seq, t, pid, l) for l in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
