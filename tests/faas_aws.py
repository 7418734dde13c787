"""faas_aws: the AWS side of faas-sim, a Lambda Invoke API and an EC2 instance
metadata service (IMDSv2) stand-in.  Python 3 standard library only.

Every invoke is checked with a Signature Version 4 verifier written here from
AWS's specification, independently of warmd's signer; `python3 faas_aws.py`
checks it against the worked example in AWS's documentation.

Lambda Invoke API
    POST /2015-03-31/functions/FUNCTION/invocations[?Qualifier=Q]
FUNCTION is a name, "NAME:QUALIFIER", or an ARN (URL-encoded, so ':' comes as
%3A).  The functions that exist are declared with --lambda-functions, a JSON
object: {"NAME": {"aliases": ["live"], "account": "123456789012",
"reserved": N}}; "$LATEST" and "1" always exist.  Each (function, qualifier)
is one function of the platform, with its own containers; its record is under
"lambda:ACCOUNT:NAME:QUALIFIER" in /_report.

The simulated handler returns {"container": ID, "reused": BOOL, "event": EVENT}
and the 4 KB log tail (X-Amz-Log-Type: Tail) ends with a REPORT line that has
"Init Duration" only on a cold start, as Lambda's does.  An event holding
{"raise": "TYPE"} makes the handler fail (X-Amz-Function-Error: Unhandled).

Resource Groups Tagging API
    POST /  (X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources)
GetResources over tags set through the control path POST /_tags (see
Tagging); signed as Invoke is, with service "tagging".  Its record is under
"tagging" in /_report.

STS AssumeRole (--aws-roles, --sts-ttl-s)
    POST /sts/    Action=AssumeRole&Version=2011-06-15&RoleArn=...&RoleSessionName=...
Signed for service sts by keys the platform knows; the role must trust the
caller's principal ("user" for --aws-key keys, "instance-role", "container",
or the ARN of the role whose temporary keys sign: role chaining) and, when it
has one, be given its external id.  The keys it hands out expire.

Container credentials endpoint (--container-token, --container-ttl-s)
    GET /container-credentials    with Authorization: TOKEN

Lambda Function URLs with AuthType AWS_IAM
    any method on Host ID.lambda-url.REGION.on.aws, or /function-url/ID/...
Signed for service lambda and the URL's region (the platform's for a path).

Every issue of temporary credentials is recorded per issuer; a fetch that
comes after the previous credentials of its issuer expired is a late
refresh ("late_refreshes" in the report): the client waited for expiry.

IMDSv2
    PUT /latest/api/token                             (X-aws-ec2-metadata-token-ttl-seconds)
    GET /latest/meta-data/iam/security-credentials/   (the role name)
    GET /latest/meta-data/iam/security-credentials/ROLE
Enabled with --imds-role.  Every fetch hands out fresh temporary credentials
that expire --imds-ttl-s seconds later; an invoke signed with expired
credentials is refused with 403 ExpiredTokenException.
"""

import base64
import calendar
import hashlib
import hmac
import json
import re
import sys
import time
import uuid
from urllib.parse import quote, unquote, parse_qsl

INVOKE_PREFIX = "/2015-03-31/functions/"
IMDS_PREFIX = "/latest/"
STS_PATH = "/sts/"
CONTAINER_PATH = "/container-credentials"
FUNCTION_URL_PREFIX = "/function-url/"
FUNCTION_URL_HOST_RE = re.compile(r"^([a-z0-9]+)\.lambda-url\.([a-z0-9-]+)\.on\.aws\.?$")
ACCOUNT = "123456789012"
CLOCK_SKEW_S = 300          # SigV4 refuses a request dated further off than this
UNRESERVED = "-_.~"


# ---------------------------------------------------------------------------
# Signature Version 4, from the specification
# ---------------------------------------------------------------------------

def canonical_uri(path):
    # Every service but S3: each segment of the path as sent is encoded again.
    return quote(path, safe="/" + UNRESERVED)


def canonical_query(query):
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join("%s=%s" % (quote(k, safe=UNRESERVED), quote(v, safe=UNRESERVED))
                    for k, v in sorted(pairs))


def signature(secret, amz_date, region, service, method, path, query,
              headers, signed, payload):
    """headers: lower-case name -> value; signed: the names, in order."""
    canonical = "\n".join([
        method, canonical_uri(path), canonical_query(query),
        "".join("%s:%s\n" % (n, " ".join(headers[n].split())) for n in signed),
        ";".join(signed), hashlib.sha256(payload).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                     r"\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$")


class Keys:
    """The credentials the platform accepts: access key id -> (secret, token, expires), and who holds
    each: "user" for the long-term keys, or what issued temporary ones (a role's ARN, "instance-role",
    "container")."""

    def __init__(self):
        self.keys = {}
        self.principal = {}

    def add(self, akid, secret, token=None, expires=None, principal="user"):
        self.keys[akid] = (secret, token, expires)
        self.principal[akid] = principal


def verify(keys, method, path, query, headers, body, wall=None, want_service="lambda", want_region=None):
    """Returns None if the request is signed right, else (error type, message)."""
    wall = time.time() if wall is None else wall
    m = AUTH_RE.match(headers.get("authorization", ""))
    if not m:
        return ("MissingAuthenticationTokenException", "missing or malformed Authorization")
    akid, date, region, service, signed_s, sig = m.groups()
    signed = signed_s.split(";")
    if akid not in keys.keys:
        return ("UnrecognizedClientException", "The security token included in the request is invalid.")
    secret, token, expires = keys.keys[akid]
    if signed != sorted(signed) or "host" not in signed or "x-amz-date" not in signed:
        return ("InvalidSignatureException", "SignedHeaders must be sorted and hold host and x-amz-date")
    unsigned = [n for n in headers if n.startswith("x-amz-") and n not in signed]
    if unsigned:
        return ("InvalidSignatureException", "unsigned x-amz- headers: %s" % ",".join(unsigned))
    if any(n not in headers for n in signed):
        return ("InvalidSignatureException", "a signed header is missing")
    amz_date = headers["x-amz-date"]
    try:
        t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return ("InvalidSignatureException", "bad X-Amz-Date")
    if amz_date[:8] != date or abs(t - wall) > CLOCK_SKEW_S:
        return ("InvalidSignatureException", "Signature expired or not yet valid")
    if token is not None and headers.get("x-amz-security-token") != token:
        return ("UnrecognizedClientException", "The security token included in the request is invalid.")
    if service != want_service:
        return ("InvalidSignatureException", "Credential should be scoped to correct service: '%s'." % want_service)
    if want_region is not None and region != want_region:
        return ("InvalidSignatureException", "Credential should be scoped to a valid region: '%s'." % want_region)
    want = signature(secret, amz_date, region, service, method, path, query,
                     headers, signed, body)
    if not hmac.compare_digest(want, sig):
        return ("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.")
    if expires is not None and wall >= expires:
        return ("ExpiredTokenException", "The security token included in the request is expired")
    return None


# ---------------------------------------------------------------------------
# Lambda
# ---------------------------------------------------------------------------

ARN_RE = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9_$-]+))?$")
NAME_RE = re.compile(r"^(?:(\d{12}):(?:function:)?)?([A-Za-z0-9_-]+)(?::([A-Za-z0-9_$-]+))?$")


class Lambda:
    def __init__(self, functions_json, region):
        self.functions = json.loads(functions_json) if functions_json else {}
        self.region = region
        self.keys = Keys()
        self.rejected = {}       # error type -> count
        self.invokes = 0
        self.plugin_invokes = 0  # invokes a serverless-plugin-warmup handler would know as warm-ups
        self.imds_role = None
        self.imds_ttl = 0
        self.imds_tokens = set()
        self.imds_token_requests = 0
        self.imds_credential_fetches = 0
        self.issued = []         # every key id, secret and token handed out, for leak checks
        self.roles = {}          # --aws-roles: role ARN -> {"trust": [principals], "external_id": X}
        self.sts_ttl = 3600
        self.sts_calls = 0
        self.container_token = None
        self.container_ttl = 0
        self.container_fetches = 0
        self.function_url_requests = 0
        self.last_expiry = {}    # issuer -> when the credentials it issued last expire
        self.late = {}           # issuer -> fetches that came when the previous credentials had expired

    def reset_record(self):
        """With the platform's /_reset: the counts start again; keys, and what was issued, stay."""
        self.rejected = {}
        self.invokes = 0
        self.plugin_invokes = 0
        self.imds_token_requests = 0
        self.imds_credential_fetches = 0
        self.sts_calls = 0
        self.container_fetches = 0
        self.function_url_requests = 0
        self.last_expiry = {}
        self.late = {}

    def reject(self, status, etype, message):
        self.rejected[etype] = self.rejected.get(etype, 0) + 1
        return (status, {"Type": "User", "message": message},
                "x-amzn-ErrorType: %s\r\n" % etype)

    def resolve(self, path, query):
        """The function key, or an error (status, body, extra headers)."""
        fn = path[len(INVOKE_PREFIX):]
        if not fn.endswith("/invocations") or "/" in fn[:-len("/invocations")]:
            return None, self.reject(404, "UnknownOperationException", "Unknown operation")
        fn = unquote(fn[:-len("/invocations")])
        qual = dict(parse_qsl(query)).get("Qualifier") if query else None
        m = ARN_RE.match(fn)
        if m:
            region, account, name, q = m.groups()
            if region != self.region:
                return None, self.reject(400, "InvalidParameterValueException", "region mismatch")
        else:
            m = NAME_RE.match(fn)
            if not m:
                return None, self.reject(400, "InvalidParameterValueException", "bad function name %r" % fn)
            account, name, q = m.groups()
            account = account or ACCOUNT
        if q and qual and q != qual:
            return None, self.reject(400, "InvalidParameterValueException", "qualifier mismatch")
        qual = q or qual or "$LATEST"
        spec = self.functions.get(name)
        want_account = (spec or {}).get("account", ACCOUNT)
        if spec is None or account != want_account or (
                qual not in ("$LATEST", "1") and qual not in spec.get("aliases", [])):
            return None, self.reject(404, "ResourceNotFoundException",
                                     "Function not found: arn:aws:lambda:%s:%s:function:%s:%s"
                                     % (self.region, account, name, qual))
        return ("lambda:%s:%s:%s" % (account, name, qual), spec.get("reserved")), None

    def log_tail(self, request_id, cold, duration_ms, cold_ms):
        report = ("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 41 MB\t" % (request_id, duration_ms, int(duration_ms) + 1))
        if cold:
            report += "Init Duration: %.2f ms\t" % cold_ms
        text = ("START RequestId: %s Version: $LATEST\nwarm-up event received\nEND RequestId: %s\n%s\n"
                % (request_id, request_id, report))
        return base64.b64encode(text.encode()[-4096:]).decode()

    def answer(self, key, cid, cold, hold_ms, cold_ms, body, headers):
        """The invoke's response: (status, body bytes, extra headers)."""
        request_id = str(uuid.uuid4())
        try:
            event = json.loads(body) if body else None
        except ValueError:
            return 400, json.dumps({"Type": "User", "message": "Could not parse request body into json"}).encode(), \
                "x-amzn-ErrorType: InvalidRequestContentException\r\n"
        # What a handler written for serverless-plugin-warmup tests: event.source, or context.custom.source.
        try:
            ctx = json.loads(base64.b64decode(headers.get("x-amz-client-context", ""), validate=True) or b"null")
        except ValueError:
            ctx = None
        custom = ctx.get("custom") if isinstance(ctx, dict) else None
        if (isinstance(event, dict) and event.get("source") == "serverless-plugin-warmup"
                and isinstance(custom, dict) and custom.get("source") == "serverless-plugin-warmup"):
            self.plugin_invokes += 1
        extra = "X-Amz-Executed-Version: %s\r\nx-amzn-RequestId: %s\r\n" % (key.rsplit(":", 1)[1], request_id)
        if headers.get("x-amz-log-type", "").lower() == "tail":
            extra += "X-Amz-Log-Result: %s\r\n" % self.log_tail(request_id, cold, hold_ms, cold_ms)
        if isinstance(event, dict) and isinstance(event.get("raise"), str):
            extra += "X-Amz-Function-Error: Unhandled\r\n"
            return 200, json.dumps({"errorMessage": "raised on request", "errorType": event["raise"],
                                    "stackTrace": []}).encode(), extra
        return 200, json.dumps({"container": cid, "reused": not cold, "event": event}).encode(), extra

    # -- IMDSv2 -----------------------------------------------------------------

    def imds(self, method, path, headers):
        """(status, body bytes, content type)."""
        if not self.imds_role:
            return 404, b"Not Found", "text/plain"
        if path == "/latest/api/token":
            if method != "PUT":
                return 405, b"Method Not Allowed", "text/plain"
            try:
                ttl = int(headers.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return 400, b"Bad Request", "text/plain"
            if not 1 <= ttl <= 21600:
                return 400, b"Bad Request", "text/plain"
            token = base64.b64encode(uuid.uuid4().bytes).decode()
            self.imds_tokens.add(token)
            self.imds_token_requests += 1
            return 200, token.encode(), "text/plain"
        if headers.get("x-aws-ec2-metadata-token") not in self.imds_tokens:
            return 401, b"Unauthorized", "text/plain"
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return 200, self.imds_role.encode(), "text/plain"
        if path == base + self.imds_role:
            self.imds_credential_fetches += 1
            akid, secret, token, expires = self.issue("instance-role", self.imds_ttl)
            return 200, json.dumps({
                "Code": "Success", "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "Type": "AWS-HMAC", "AccessKeyId": akid, "SecretAccessKey": secret, "Token": token,
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}).encode(), \
                "application/json"
        return 404, b"Not Found", "text/plain"

    def report(self):
        return {"invokes": self.invokes, "plugin_invokes": self.plugin_invokes, "rejected": dict(self.rejected),
                "imds_token_requests": self.imds_token_requests,
                "imds_credential_fetches": self.imds_credential_fetches,
                "sts_calls": self.sts_calls, "container_fetches": self.container_fetches,
                "function_url_requests": self.function_url_requests,
                "late_refreshes": dict(self.late),
                "issued": list(self.issued)}

    # -- temporary credentials ------------------------------------------------------

    def note_issue(self, issuer, expires):
        """A refresh is late when the credentials it replaces had expired already: the client waited
        for expiry instead of refreshing ahead of it.  The first issue of a record is never late."""
        last = self.last_expiry.get(issuer)
        if last is not None and time.time() >= last:
            self.late[issuer] = self.late.get(issuer, 0) + 1
        self.last_expiry[issuer] = expires

    def issue(self, principal, ttl):
        """Fresh temporary credentials for principal, valid ttl seconds: (akid, secret, token, expires)."""
        akid = "ASIA" + uuid.uuid4().hex[:16].upper()
        secret = base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
        token = base64.b64encode(uuid.uuid4().bytes * 4).decode()
        expires = int(time.time() + ttl)
        self.keys.add(akid, secret, token, expires, principal)
        self.issued += [akid, secret, token]
        self.note_issue(principal, expires)
        return akid, secret, token, expires

    # -- Function URLs ------------------------------------------------------------

    def function_url(self, method, host, path, query, headers, body):
        """A Function URL with AuthType AWS_IAM (ID.lambda-url.REGION.on.aws, or /function-url/ID/... on
        the platform's own address): None and the function's key when the request is signed for
        service lambda in the URL's region, else (None, (status, body, extra headers))."""
        m = FUNCTION_URL_HOST_RE.match(host.split(":")[0])
        if m:
            fid, region = m.groups()
        else:
            fid, region = path[len(FUNCTION_URL_PREFIX):].split("/", 1)[0], self.region
        err = verify(self.keys, method, path, query, headers, body, want_service="lambda", want_region=region)
        if err is not None:
            status, out, extra = self.reject(403, *err)
            return None, (status, {"Message": "Forbidden"}, extra)
        self.function_url_requests += 1
        return "function-url:%s" % fid, None

    # -- STS ----------------------------------------------------------------------

    def sts(self, method, path, query, headers, body):
        """STS AssumeRole: (status, XML bytes).  The caller's signature (service sts), the role's trust
        in the caller's principal, and its external id are checked as STS checks them."""
        def error(status, code, message):
            self.rejected[code] = self.rejected.get(code, 0) + 1
            return status, ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                            '<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>'
                            '<RequestId>%s</RequestId></ErrorResponse>' % (code, message, uuid.uuid4())).encode()
        if method != "POST":
            return error(405, "InvalidAction", "use POST")
        form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        self.sts_calls += 1
        err = verify(self.keys, method, path, query, headers, body, want_service="sts")
        if err is not None:
            code = {"ExpiredTokenException": "ExpiredToken"}.get(err[0], err[0])
            return error(403, code, err[1])
        if form.get("Action") != "AssumeRole" or form.get("Version") != "2011-06-15":
            return error(400, "InvalidAction", "only AssumeRole of version 2011-06-15")
        arn, session = form.get("RoleArn", ""), form.get("RoleSessionName", "")
        if not re.match(r"^[\w+=,.@-]{2,64}$", session):
            return error(400, "ValidationError", "invalid RoleSessionName")
        akid = AUTH_RE.match(headers["authorization"]).group(1)
        caller = self.keys.principal.get(akid)
        role = self.roles.get(arn)
        if role is None or caller not in role.get("trust", []):
            return error(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on "
                         "resource: %s" % (caller, arn))
        if role.get("external_id") is not None and form.get("ExternalId") != role["external_id"]:
            return error(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on "
                         "resource: %s (external id)" % (caller, arn))
        try:
            duration = int(form.get("DurationSeconds", "3600"))
        except ValueError:
            return error(400, "ValidationError", "invalid DurationSeconds")
        if not 900 <= duration <= 43200:
            return error(400, "ValidationError", "DurationSeconds must be 900..43200")
        akid, secret, token, expires = self.issue(arn, min(duration, self.sts_ttl))
        return 200, ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
                     '<AssumedRoleUser><AssumedRoleId>AROA:%s</AssumedRoleId><Arn>%s/%s</Arn></AssumedRoleUser>'
                     '<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>'
                     '<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>'
                     '</AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
                     '</AssumeRoleResponse>' % (session, arn, session, akid, secret, token,
                                                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                                                uuid.uuid4())).encode()

    # -- the container credentials endpoint -------------------------------------------

    def container(self, method, headers):
        """(status, body bytes): credentials for the token given with --container-token."""
        if self.container_token is None:
            return 404, b"Not Found"
        if method != "GET":
            return 405, b"Method Not Allowed"
        if not hmac.compare_digest(headers.get("authorization", ""), self.container_token):
            self.rejected["ContainerTokenRefused"] = self.rejected.get("ContainerTokenRefused", 0) + 1
            return 401, json.dumps({"code": "AccessDeniedException", "message": "bad token"}).encode()
        self.container_fetches += 1
        akid, secret, token, expires = self.issue("container", self.container_ttl)
        return 200, json.dumps({"AccessKeyId": akid, "SecretAccessKey": secret, "Token": token,
                                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                                "RoleArn": "arn:aws:iam::%s:role/task" % ACCOUNT}).encode()


# ---------------------------------------------------------------------------
# Resource Groups Tagging API: GetResources
# ---------------------------------------------------------------------------

TAGGING_TARGET_PREFIX = "ResourceGroupsTaggingAPI_20170126."


class Tagging:
    """GetResources over the functions' tags, which tests change at run time
    (POST /_tags).  Pages hold at most ResourcesPerPage functions (100),
    --tagging-page-size fewer if asked; PaginationToken is one the platform
    issued, until an empty one ends the list.  Throttles are injected on
    demand: the next N requests answer 400 ThrottledException; and pages that
    are not JSON: the next N answer 200 with an HTML body; and no answer at
    all, for the next N."""

    def __init__(self, lam):
        self.lam = lam            # the Lambda stand-in: its keys, region and account
        self.tags = {}            # function name -> {key: value}, in the order they were tagged
        self.page_size = 100
        self.throttle = 0
        self.garbage = 0          # the next N answers: 200, but not JSON (a proxy's error page, say)
        self.stall = 0            # the next N requests get no answer at all
        self.tokens = {}          # token -> offset
        self.reset_record()

    def reset_record(self):
        self.requests = 0
        self.pages = 0
        self.rejected = {}
        self.throttled = 0
        self.last_body = None
        self.last_headers = None

    def reject(self, status, etype, message):
        self.rejected[etype] = self.rejected.get(etype, 0) + 1
        return status, json.dumps({"__type": etype, "Message": message}).encode(), \
            "x-amzn-ErrorType: %s\r\n" % etype

    def control(self, body):
        """POST /_tags {"tags": {"NAME": {"KEY": "VALUE"} or null}, "throttle": N, "garbage": N,
        "stall": N, "page_size": N}."""
        req = json.loads(body or b"{}")
        for name, tags in (req.get("tags") or {}).items():
            if tags is None:
                self.tags.pop(name, None)
            else:
                self.tags[name] = dict(tags)
        if "throttle" in req:
            self.throttle = int(req["throttle"])
        if "garbage" in req:
            self.garbage = int(req["garbage"])
        if "stall" in req:
            self.stall = int(req["stall"])
        if "page_size" in req:
            self.page_size = max(1, min(100, int(req["page_size"])))
        return {"tagged": len(self.tags), "throttle": self.throttle}

    def get_resources(self, method, path, query, headers, body):
        """(status, body bytes, extra headers), or None for no answer."""
        self.requests += 1
        self.last_headers = {k: v for k, v in headers.items()
                             if k in ("x-amz-target", "content-type", "host")}
        if method != "POST" or path != "/":
            return self.reject(404, "UnknownOperationException", "Unknown operation")
        err = verify(self.lam.keys, method, path, query, headers, body, want_service="tagging")
        if err is not None:
            return self.reject(403 if err[0] != "ExpiredTokenException" else 400, *err)
        m = AUTH_RE.match(headers.get("authorization", ""))
        if m.group(3) != self.lam.region:
            return self.reject(400, "InvalidSignatureException", "Credential should be scoped to a valid region")
        if headers.get("x-amz-target") != TAGGING_TARGET_PREFIX + "GetResources":
            return self.reject(400, "UnknownOperationException", "Unknown operation")
        if headers.get("content-type") != "application/x-amz-json-1.1":
            return self.reject(400, "SerializationException", "wrong content type")
        if self.throttle > 0:
            self.throttle -= 1
            self.throttled += 1
            return self.reject(400, "ThrottledException", "Rate exceeded")
        if self.stall > 0:
            self.stall -= 1
            return None           # no answer: the client times out
        if self.garbage > 0:
            self.garbage -= 1
            return 200, b"<html><body>502 Bad Gateway</body></html>", ""
        try:
            req = json.loads(body)
        except ValueError:
            return self.reject(400, "SerializationException", "body is not JSON")
        self.last_body = req
        per_page = req.get("ResourcesPerPage", 50)
        filters = req.get("TagFilters") or []
        if (req.get("ResourceTypeFilters") != ["lambda:function"] or not isinstance(per_page, int)
                or not 1 <= per_page <= 100 or len(filters) != 1 or set(filters[0]) - {"Key", "Values"}
                or not isinstance(filters[0].get("Key"), str)):
            return self.reject(400, "InvalidParameterException", "invalid parameters")
        key = filters[0]["Key"]
        offset = 0
        token = req.get("PaginationToken")
        if token:
            if token not in self.tokens:
                return self.reject(400, "PaginationTokenExpiredException", "unknown or expired token")
            offset = self.tokens[token]
        matching = [(n, t) for n, t in self.tags.items() if key in t]
        size = min(per_page, self.page_size)
        page = matching[offset:offset + size]
        next_token = ""
        if offset + size < len(matching):
            next_token = base64.b64encode(uuid.uuid4().bytes * 3).decode()
            self.tokens[next_token] = offset + size
        self.pages += 1
        out = {"PaginationToken": next_token, "ResourceTagMappingList": [
            {"ResourceARN": "arn:aws:lambda:%s:%s:function:%s" % (self.lam.region, ACCOUNT, n),
             "Tags": [{"Key": k, "Value": v} for k, v in t.items()]} for n, t in page]}
        return 200, json.dumps(out).encode(), ""

    def report(self):
        return {"requests": self.requests, "pages": self.pages, "rejected": dict(self.rejected),
                "throttled": self.throttled, "tagged": len(self.tags), "last_body": self.last_body,
                "last_headers": self.last_headers}


def self_test():
    """The worked example of AWS's SigV4 documentation (IAM ListUsers)."""
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8",
               "host": "iam.amazonaws.com", "x-amz-date": "20150830T123600Z"}
    got = signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z", "us-east-1", "iam",
                    "GET", "/", "Version=2010-05-08&Action=ListUsers", headers,
                    ["content-type", "host", "x-amz-date"], b"")
    want = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    print("AWS example: %s (%s)" % (got, "ok" if got == want else "WRONG, want " + want))
    return got == want


if __name__ == "__main__":
    sys.exit(0 if self_test() else 1)
