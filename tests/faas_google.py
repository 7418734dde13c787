"""faas_google: the Google side of faas-sim: a metadata server and an OAuth 2.0
token endpoint that hand out ID tokens, and a Cloud Run-like front that takes
only a valid ID token for its audience.  Needs python3-cryptography.

Metadata server (with --google-metadata)
    GET /computeMetadata/v1/instance/service-accounts/default/identity?audience=A&format=full
        with Metadata-Flavor: Google; answers the ID token itself.

Token endpoint (with --google-key KEY.json: the service account's key, whose
public half checks the assertions)
    POST /google/token   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
        The assertion must be RS256, signed by the key, with iss the key's
        client_email, aud the token endpoint's own URL (http://HOST/google/token), iat and exp no more than
        an hour apart and exp not passed, and a target_audience; answers
        {"id_token": ...} for that audience.  Refusals are 400 invalid_grant.

ID tokens are RS256 JWTs signed with a key the platform makes at start, and
expire --google-token-ttl-s seconds after they are issued.

Cloud Run-like front
    ANY /run/...   needs Authorization: Bearer ID_TOKEN, signed by the
        platform, not expired, whose aud is the service's URL: "http://" +
        Host, with or without the path.  Anything else is 401, counted by
        reason in "refused", and reaches no container.

Its record, under "google" in /_report: metadata_fetches, token_exchanges,
accepted, refused (reason -> count), late_refreshes (tokens fetched for an
audience after the one issued before had expired: a refresh should come
earlier), failed_fetches (the failures asked for below), and issued (every
token and assertion seen, for leak checks).

Asked for through the platform's /_reset: google_fail=N makes the next N
token requests, of either kind, answer 500; google_access_only=1 makes the
token endpoint answer an OAuth access token without an id_token, as Google
does for an assertion with a scope instead of a target_audience.
"""

import base64
import json
import time
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

METADATA_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"
TOKEN_PATH = "/google/token"
RUN_PREFIX = "/run/"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ISSUER = "https://accounts.google.com"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sign(key, claims):
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "faas-sim"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = key.sign(("%s.%s" % (head, body)).encode(), padding.PKCS1v15(), hashes.SHA256())
    return "%s.%s.%s" % (head, body, b64url(sig))


def verify(public, jwt):
    """The claims of a JWT signed with RS256 by public's private half; ValueError if it is not."""
    parts = jwt.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        sig = unb64url(parts[2])
    except (ValueError, TypeError):
        raise ValueError("not a JWT")
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise ValueError("not RS256")
    try:
        public.verify(sig, ("%s.%s" % (parts[0], parts[1])).encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ValueError("bad signature")
    return claims


class Google:
    def __init__(self, key_file=None, metadata=False, ttl=3600.0):
        self.metadata = metadata
        self.ttl = ttl
        self.issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa = None
        if key_file:
            with open(key_file) as fh:
                self.sa = json.load(fh)
            self.sa_public = serialization.load_pem_private_key(
                self.sa["private_key"].encode(), None).public_key()
        self.issued = []
        self.last_expiry = {}
        self.fail_next = 0       # token requests still to fail (/_reset?google_fail=N)
        self.access_only = False  # the token endpoint answers without an id_token (/_reset?google_access_only=1)
        self.reset_record()

    def reset_record(self):
        self.metadata_fetches = 0
        self.token_exchanges = 0
        self.accepted = 0
        self.refused = {}
        self.late_refreshes = 0
        self.failed_fetches = 0
        self.last_expiry = {}

    def failing(self):
        """A 500 for a token request, while failures are asked for; else None."""
        if self.fail_next <= 0:
            return None
        self.fail_next -= 1
        self.failed_fetches += 1
        return 500, json.dumps({"error": "internal_failure"}).encode(), "application/json"

    def refuse(self, why):
        self.refused[why] = self.refused.get(why, 0) + 1

    def id_token(self, audience, email):
        t = time.time()
        if audience in self.last_expiry and t >= self.last_expiry[audience]:
            self.late_refreshes += 1
        exp = int(t + self.ttl)
        self.last_expiry[audience] = exp
        token = sign(self.issuer_key, {"aud": audience, "azp": email, "email": email, "email_verified": True,
                                       "exp": exp, "iat": int(t), "iss": ISSUER, "sub": "1234567890"})
        self.issued.append(token)
        return token

    def route(self, method, path, query, headers, body):
        """(status, body bytes, content type) for the platform's Google paths; None for any other path."""
        if path == METADATA_PATH and self.metadata:
            if headers.get("metadata-flavor") != "Google":
                return 403, b"Missing Metadata-Flavor:Google header.", "text/html"
            q = parse_qs(query)
            if method != "GET" or not q.get("audience") or q.get("format", [""])[-1] != "full":
                return 400, b"audience and format=full required", "text/html"
            failed = self.failing()
            if failed:
                return failed
            self.metadata_fetches += 1
            return 200, self.id_token(q["audience"][-1], "default@project.iam.gserviceaccount.com").encode(), \
                "text/html"
        if path == TOKEN_PATH and self.sa is not None:
            return self.exchange(method, headers, body, "http://%s%s" % (headers.get("host", ""), TOKEN_PATH))
        return None

    def exchange(self, method, headers, body, url):
        def invalid(why):
            self.refuse(why)
            return 400, json.dumps({"error": "invalid_grant", "error_description": why}).encode(), "application/json"

        failed = self.failing()
        if failed:
            return failed
        form = parse_qs(body.decode("latin-1")) if method == "POST" else {}
        if form.get("grant_type", [""])[-1] != JWT_BEARER or not form.get("assertion"):
            return invalid("grant_type or assertion")
        assertion = form["assertion"][-1]
        self.issued.append(assertion)
        try:
            claims = verify(self.sa_public, assertion)
        except ValueError as e:
            return invalid("assertion: %s" % e)
        t = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp <= t or iat > t + 300:
            return invalid("assertion: iat/exp")
        if claims.get("aud") != url:
            return invalid("assertion: aud")
        if claims.get("iss") != self.sa.get("client_email"):
            return invalid("assertion: iss")
        if not isinstance(claims.get("target_audience"), str):
            return invalid("assertion: target_audience")
        self.token_exchanges += 1
        if self.access_only:
            token = "ya29." + b64url(json.dumps({"sub": claims["iss"], "t": t}).encode())
            self.issued.append(token)
            return 200, json.dumps({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).encode(), \
                "application/json"
        return 200, json.dumps({"id_token": self.id_token(claims["target_audience"], claims["iss"])}).encode(), \
            "application/json"

    def guard(self, path, headers):
        """None when the request may go on to a container; else (status, body bytes, extra headers)."""
        if not path.startswith(RUN_PREFIX):
            return None
        auth = headers.get("authorization", "")
        why = None
        if not auth.startswith("Bearer "):
            why = "no bearer token"
        else:
            try:
                claims = verify(self.issuer_key.public_key(), auth[7:])
                origin = "http://" + headers.get("host", "")
                if claims.get("aud") not in (origin, origin + path):
                    why = "wrong audience"
                elif not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
                    why = "expired"
            except ValueError as e:
                why = "token: %s" % e
        if why is None:
            self.accepted += 1
            return None
        self.refuse(why)
        return 401, json.dumps({"error": "Unauthorized", "why": why}).encode(), \
            'WWW-Authenticate: Bearer error="invalid_token"\r\n'

    def report(self):
        return {"metadata_fetches": self.metadata_fetches, "token_exchanges": self.token_exchanges,
                "accepted": self.accepted, "refused": dict(self.refused), "late_refreshes": self.late_refreshes,
                "failed_fetches": self.failed_fetches, "issued": list(self.issued)}


def self_test():
    """A token made here verifies, and a changed one does not."""
    g = Google(ttl=60)
    tok = g.id_token("http://example", "a@b")
    ok = verify(g.issuer_key.public_key(), tok)["aud"] == "http://example"
    try:
        verify(g.issuer_key.public_key(), tok[:-4] + ("AAAA" if tok[-4:] != "AAAA" else "BBBB"))
        ok = False
    except ValueError:
        pass
    print("faas_google: %s" % ("ok" if ok else "WRONG"))
    return ok


if __name__ == "__main__":
    import sys
    sys.exit(0 if self_test() else 1)
