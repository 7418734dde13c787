#!/usr/bin/env python3
"""threadpool: the classic keep-warm script.

Usage: threadpool.py [-t SECONDS] N URLFILE

For each URL in URLFILE (one per line, "-" = standard input), one after
another, a concurrent.futures.ThreadPoolExecutor with N workers fires N
requests with urllib and waits for all of them before moving on to the next
URL.  This is how the widespread Python warmer scripts work; it is included
to show what thread start-up, the GIL and per-request connection set-up do to
"N parallel requests".

Prints one summary line; exit 0 if every request got a 2xx answer.
"""
import argparse
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def fire(url, timeout):
    """One request; returns the HTTP status (0 on a network error)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", "--timeout", type=float, default=30.0,
                    help="per-request timeout in seconds (default 30)")
    ap.add_argument("n", type=int, help="requests (and workers) per URL")
    ap.add_argument("urlfile", help="file with one URL per line, - for stdin")
    args = ap.parse_args()
    fh = sys.stdin if args.urlfile == "-" else open(args.urlfile)
    urls = [u.strip() for u in fh if u.strip() and not u.startswith("#")]
    if args.n < 1 or not urls:
        ap.error("need N >= 1 and at least one URL")

    t0 = time.monotonic()
    ok = sent = 0
    with ThreadPoolExecutor(max_workers=args.n) as pool:
        for url in urls:                       # endpoints one after another
            statuses = list(pool.map(fire, [url] * args.n,
                                     [args.timeout] * args.n))
            sent += len(statuses)
            ok += sum(1 for s in statuses if 200 <= s < 300)
    print("threadpool: urls=%d n=%d sent=%d ok=%d failed=%d wall_ms=%.1f"
          % (len(urls), args.n, sent, ok, sent - ok, (time.monotonic() - t0) * 1e3))
    return 0 if ok == sent else 1


if __name__ == "__main__":
    sys.exit(main())
