"""faas_azure: the Azure side of faas-sim: managed-identity token endpoints,
and a front that takes only a valid access token for its resource, as Easy
Auth does.  Python 3 standard library only.

VM instance metadata service (IMDS)
    GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=ID]
        with Metadata: true.
App Service and Functions (with --azure-identity-header SECRET)
    GET /msi/token?api-version=2019-08-01&resource=R[&client_id=ID]
        with X-IDENTITY-HEADER: SECRET.
Both answer {"access_token", "expires_on", "expires_in", "resource",
"token_type": "Bearer", ...} (after a "pad" field of --azure-answer-pad
bytes, if any), expires_on as a string of seconds since the epoch, the token expiring --azure-token-ttl-s seconds later.  client_id must
be one of --azure-client-id (user-assigned identities), else 400.

Protected front
    ANY /azure/...  needs Authorization: Bearer TOKEN: a token issued here,
        not expired, for the resource --azure-resource.  Anything else is 401,
        counted by reason in "refused", and reaches no container.

POST /_reset?token_fail=N makes the next N token requests answer 500.

Its record, under "azure" in /_report: imds_fetches, app_service_fetches,
failed_fetches, accepted, refused (reason -> count), late_refreshes (tokens fetched for a
resource after the one issued before had expired), issued (every token
handed out, and the identity header, for leak checks), and client_ids (the
client_id of each fetch, "" for none).
"""

import base64
import json
import time
import uuid
from urllib.parse import parse_qs

IMDS_PATH = "/metadata/identity/oauth2/token"
APP_SERVICE_PATH = "/msi/token"
PROTECTED_PREFIX = "/azure/"


class Azure:
    def __init__(self, resource=None, identity_header=None, client_ids=(), ttl=3600.0, pad=0):
        self.resource = resource
        self.identity_header = identity_header
        self.client_ids = set(client_ids)
        self.ttl = ttl
        self.pad = pad           # bytes of a "pad" field in every token answer (--azure-answer-pad)
        self.tokens = {}         # token -> (resource, expires)
        self.issued = [identity_header] if identity_header else []
        self.fail_next = 0       # token requests still to fail (POST /_reset?token_fail=N)
        self.reset_record()

    def reset_record(self):
        self.imds_fetches = 0
        self.app_service_fetches = 0
        self.accepted = 0
        self.refused = {}
        self.late_refreshes = 0
        self.last_expiry = {}
        self.fetch_client_ids = []
        self.failed_fetches = 0

    def refuse(self, why):
        self.refused[why] = self.refused.get(why, 0) + 1

    def route(self, method, path, query, headers, body):
        """(status, body bytes, content type) for the platform's Azure paths; None for any other path."""
        if path == IMDS_PATH:
            if headers.get("metadata", "").lower() != "true":
                return 400, json.dumps({"error": "invalid_request",
                                        "error_description": "Required metadata header not specified"}).encode(), \
                    "application/json"
            return self.issue(query, "2018-02-01", "imds")
        if path == APP_SERVICE_PATH and self.identity_header:
            if headers.get("x-identity-header") != self.identity_header:
                return 401, json.dumps({"error": "unauthorized"}).encode(), "application/json"
            return self.issue(query, "2019-08-01", "app_service")
        return None

    def issue(self, query, api_version, kind):
        if self.fail_next > 0:
            self.fail_next -= 1
            self.failed_fetches += 1
            return 500, json.dumps({"error": "service_unavailable"}).encode(), "application/json"
        q = parse_qs(query)
        if q.get("api-version", [""])[-1] != api_version or not q.get("resource"):
            return 400, json.dumps({"error": "invalid_request",
                                    "error_description": "api-version %s and resource required" % api_version}
                                   ).encode(), "application/json"
        client_id = q.get("client_id", [""])[-1]
        if client_id and client_id not in self.client_ids:
            return 400, json.dumps({"error": "invalid_request",
                                    "error_description": "Identity not found"}).encode(), "application/json"
        resource = q["resource"][-1]
        t = time.time()
        if resource in self.last_expiry and t >= self.last_expiry[resource]:
            self.late_refreshes += 1
        exp = int(t + self.ttl)
        self.last_expiry[resource] = exp
        token = "eyJ0eXAiOiJKV1QifQ." + base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode().rstrip("=")
        self.tokens[token] = (resource, exp)
        self.issued.append(token)
        self.fetch_client_ids.append(client_id)
        if kind == "imds":
            self.imds_fetches += 1
        else:
            self.app_service_fetches += 1
        answer = {"pad": "x" * self.pad} if self.pad else {}
        answer.update({"access_token": token, "client_id": client_id or "system-assigned",
                                "expires_in": str(int(self.ttl)), "expires_on": str(exp),
                                "ext_expires_in": str(int(self.ttl)), "not_before": str(int(t)),
                       "resource": resource, "token_type": "Bearer"})
        return 200, json.dumps(answer).encode(), "application/json"

    def guard(self, path, headers):
        """None when the request may go on to a container; else (status, body bytes, extra headers)."""
        if not path.startswith(PROTECTED_PREFIX):
            return None
        auth = headers.get("authorization", "")
        why = None
        if not auth.startswith("Bearer "):
            why = "no bearer token"
        elif auth[7:] not in self.tokens:
            why = "unknown token"
        else:
            resource, exp = self.tokens[auth[7:]]
            if resource != self.resource:
                why = "wrong resource"
            elif exp <= time.time():
                why = "expired"
        if why is None:
            self.accepted += 1
            return None
        self.refuse(why)
        return 401, json.dumps({"code": 401, "message": why}).encode(), \
            'WWW-Authenticate: Bearer realm="faas-sim"\r\n'

    def report(self):
        return {"imds_fetches": self.imds_fetches, "app_service_fetches": self.app_service_fetches,
                "accepted": self.accepted, "refused": dict(self.refused), "late_refreshes": self.late_refreshes,
                "failed_fetches": self.failed_fetches, "client_ids": list(self.fetch_client_ids), "issued": list(self.issued)}
