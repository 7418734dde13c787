"""A function handler that tells warmd whether its container was reused.

Deploy it as an AWS Lambda function (Python 3) behind API Gateway or a
Function URL: save it as lambda_function.py and keep the default handler
"lambda_function.handler".  For a local test,
run it directly: "python3 handler-lambda.py [PORT]" serves it on
http://127.0.0.1:8080/ (one process is one container).

Every response carries
    X-Container-Reused: true|false    false only for the first invocation
    X-Container-Id: <id>              made once per container
and the JSON body {"reused": bool, "container": "<id>"}, which match warmd's
reuse_header / instance_header and reuse_json / instance_json keys.

A request with the header "X-Warmup: 1" is a keep-alive request: the handler
holds its container for WARMUP_HOLD_S, so that the parallel warm-up requests
overlap and each one needs a container of its own, then returns without doing
the real work.
"""

import json
import time
import uuid

WARMUP_HOLD_S = 0.1

# Module-level state lives exactly as long as the container: it is set up
# once, at the cold start, and seen again by every later (warm) invocation.
CONTAINER_ID = uuid.uuid4().hex[:12]
_used = False


def _header(event, name):
    """Case-insensitive header lookup (API Gateway v1 keeps case, v2 and Function URLs lower it)."""
    headers = event.get("headers") or {}
    name = name.lower()
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _respond(status, reused, payload=None):
    body = {"reused": reused, "container": CONTAINER_ID}
    if payload:
        body.update(payload)
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "X-Container-Reused": "true" if reused else "false",
            "X-Container-Id": CONTAINER_ID,
        },
        "body": json.dumps(body),
    }


def handler(event, context):
    global _used
    reused, _used = _used, True

    if _header(event, "X-Warmup") == "1":
        time.sleep(WARMUP_HOLD_S)
        return _respond(200, reused, {"warmup": True})

    # The real work of the function goes here.
    return _respond(200, reused, {"message": "hello"})


if __name__ == "__main__":
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Local(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            result = handler({"headers": dict(self.headers.items())}, None)
            data = result["body"].encode()
            self.send_response(result["statusCode"])
            for key, value in result["headers"].items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, fmt, *args):
            pass

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    ThreadingHTTPServer(("127.0.0.1", port), Local).serve_forever()
