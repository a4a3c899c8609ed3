"""A moto server on loopback with fault injection on the HTTP path.

moto has no fault injection of its own, so a WSGI middleware in front of moto's app answers some
requests with the errors real AWS sends when it throttles or fails. They are byte-for-byte what
botocore parses from AWS, so botocore's retry logic treats them as real throttling or transient
failures, and an operator's metrics and retries see what they would see in production.
"""
from __future__ import annotations

import collections
import dataclasses
import io
import json
import random
import re
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import moto.settings
import botocore.config
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# The credential scope of a SigV4 Authorization header: Credential=AKID/DATE/REGION/SERVICE/aws4_request
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/aws4_request")

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class AWSRequest:
    """What the fault rules match on: the signing service name and, when the protocol names it,
    the operation (query/EC2 protocols: ``Action=``; JSON protocols: ``X-Amz-Target``)."""

    service: str | None
    operation: str | None
    protocol: str  # "ec2", "query", "json", "rest-xml" or "rest-json"
    access_key: str | None = None
    method: str = ""
    path: str = ""


@dataclasses.dataclass(frozen=True)
class AWSError:
    status: int
    code: str
    message: str


@dataclasses.dataclass
class FaultRule:
    kind: str  # "throttle", "server_error", "delay", "auth", "reject" or "rewrite"
    service: str | None
    operation: str | None
    times: int | None
    ratio: float | None
    status: int = 500
    seconds: float = 0.0
    used: int = 0
    access_key: str | None = None
    after: bool = False
    error: AWSError | None = None  # "reject": the answer
    query_error: str | None = None  # "reject": its x-amzn-query-error header, if any
    # "rewrite": moto's answer with `pattern` (a regular expression on the bytes) replaced
    pattern: bytes = b""
    replacement: bytes = b""
    # Requests whose "METHOD path" matches `request_path` only (REST protocols name no operation).
    request_path: str | None = None
    # A request-rate rule fires only on requests beyond `rate` per second (a token bucket of
    # `burst` requests, as AWS's per-account limits are).
    rate: float | None = None
    burst: float = 0.0
    _tokens: float = 0.0
    _refilled: float = 0.0

    def over_rate(self, now: float) -> bool:
        """For a request-rate rule: whether this request exceeds the rate (else it takes a token)."""
        if self.rate is None:
            return True
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return False
        return True

    def matches(self, request: AWSRequest) -> bool:
        return (
            (self.access_key is None or self.access_key == request.access_key)
            and (self.service is None or self.service == request.service)
            and (self.operation is None or self.operation == request.operation)
            and (self.request_path is None or re.fullmatch(self.request_path, f"{request.method} {request.path}") is not None)
            and (self.times is None or self.used < self.times)
        )


class Faults:
    """Fault rules applied to requests as they arrive; the first matching rule of each kind acts.

    Each rule filters on ``service`` (the SigV4 signing name: ``"ec2"``, ``"iam"``, ``"sts"``,
    ``"dynamodb"``...) and ``operation`` (``"AllocateAddress"``), both optional. ``times`` limits
    it to the first N matching requests; ``ratio`` makes it fire on that fraction of them (drawn
    from a seeded generator, so a run is repeatable).
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._injected: collections.Counter[tuple[str, str | None, str | None]] = collections.Counter()

    def throttle(self, service: str | None = None, operation: str | None = None,
                 times: int | None = None, ratio: float | None = None) -> FaultRule:
        """Answer with the service's throttling error (EC2 ``RequestLimitExceeded``/503, JSON
        ``ThrottlingException``/400, query ``Throttling``/400, S3 ``SlowDown``/503, REST-JSON
        ``TooManyRequestsException``/429)."""
        return self._add(FaultRule("throttle", service, operation, times, ratio))

    def throttle_above(self, rate: float, service: str | None = None, operation: str | None = None,
                       burst: float | None = None) -> FaultRule:
        """Throttle (as `throttle` does) the requests beyond `rate` per second, allowing bursts of
        `burst` requests (default: one second's worth), as AWS's request-rate limits do."""
        burst = rate if burst is None else burst
        return self._add(FaultRule("throttle", service, operation, None, None, rate=rate, burst=burst,
                                   _tokens=burst, _refilled=time.monotonic()))

    def server_error(self, service: str | None = None, operation: str | None = None,
                     times: int | None = None, ratio: float | None = None, status: int = 500) -> FaultRule:
        """Answer 500 ``InternalError`` (or 503 ``ServiceUnavailable`` with ``status=503``)."""
        if status not in (500, 502, 503, 504):
            raise ValueError(f"server_error status must be a 5xx botocore retries, not {status}")
        return self._add(FaultRule("server_error", service, operation, times, ratio, status=status))

    def delay(self, seconds: float, service: str | None = None, operation: str | None = None,
              times: int | None = None, ratio: float | None = None, after: bool = False) -> FaultRule:
        """Hold matching requests for ``seconds`` before moto answers them (for timeout tests), or
        with ``after=True`` hold moto's answer: the call has taken effect in AWS but the caller
        does not know yet (for crash-between-create-and-record tests)."""
        return self._add(FaultRule("delay", service, operation, times, ratio, seconds=seconds, after=after))

    def reject(self, code: str, message: str, service: str | None = None, operation: str | None = None,
               times: int | None = None, status: int = 400, query_error: str | None = None) -> FaultRule:
        """Answer with an arbitrary client error, e.g. a code the operator has never heard of, or
        one AWS sends and moto never does (SQS ``QueueDeletedRecently``). ``query_error`` is the
        ``x-amzn-query-error`` header of JSON APIs that kept their query error codes (SQS:
        ``AWS.SimpleQueueService.QueueDeletedRecently;Sender``), from which botocore takes the code."""
        return self._add(FaultRule("reject", service, operation, times, None, status=status,
                                   error=AWSError(status, code, message), query_error=query_error))

    def rewrite(self, pattern: str, replacement: str, service: str | None = None, operation: str | None = None,
                times: int | None = None, path: str | None = None) -> FaultRule:
        """Let moto answer, then replace `pattern` (a regular expression) in its answer: e.g. a
        describe's state as AWS shows it while it provisions (``<Code>active</Code>`` answered
        as ``<Code>provisioning</Code>``, an EKS cluster's ``"status": "CREATING"``, for the first
        N describes), where moto is ready at once. Only answers the pattern is found in count
        towards ``times``. ``path`` is a regular expression the request's ``METHOD /path`` must
        match (REST protocols such as Lambda's and EKS's name no operation)."""
        return self._add(FaultRule("rewrite", service, operation, times, None, pattern=pattern.encode(),
                                   replacement=replacement.encode(), request_path=path))

    def reject_credentials(self, access_key: str, service: str | None = None) -> FaultRule:
        """Answer every request signed with ``access_key`` with the service's authentication error
        (STS/IAM ``InvalidClientTokenId`` 403, EC2 ``AuthFailure`` 401, JSON
        ``UnrecognizedClientException`` 400), as AWS does for unknown or revoked keys."""
        return self._add(FaultRule("auth", service, None, None, None, access_key=access_key))

    def clear(self) -> None:
        """Drop all rules and counters."""
        with self._lock:
            self._rules.clear()
            self._injected.clear()

    def count(self, kind: str | None = None, service: str | None = None, operation: str | None = None) -> int:
        """How many faults were injected, optionally only of one kind, service or operation."""
        with self._lock:
            return sum(
                n for (k, s, o), n in self._injected.items()
                if (kind is None or k == kind) and (service is None or s == service)
                and (operation is None or o == operation)
            )

    @property
    def injected(self) -> dict[tuple[str, str | None, str | None], int]:
        """A snapshot of ``{(kind, service, operation): count}``."""
        with self._lock:
            return dict(self._injected)

    def unfired(self, rule: FaultRule, request: AWSRequest) -> None:
        """Take back a picked rule that found nothing to act on (a rewrite whose pattern the
        answer lacks): it neither counts as injected nor uses up one of its `times`."""
        with self._lock:
            rule.used -= 1
            self._injected[(rule.kind, request.service, request.operation)] -= 1

    def _add(self, rule: FaultRule) -> FaultRule:
        if rule.ratio is not None and not 0.0 <= rule.ratio <= 1.0:
            raise ValueError(f"ratio must be within [0, 1], not {rule.ratio}")
        with self._lock:
            self._rules.append(rule)
        return rule

    def pick(self, request: AWSRequest) -> list[FaultRule]:
        """The rules that fire for this request (at most one per kind), counted as injected."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if any(f.kind == rule.kind for f in fired) or not rule.matches(request):
                    continue
                if rule.ratio is not None and self._random.random() >= rule.ratio:
                    continue
                if not rule.over_rate(time.monotonic()):
                    continue
                rule.used += 1
                self._injected[(rule.kind, request.service, request.operation)] += 1
                fired.append(rule)
        return fired


class CallLog:
    """Every request that reached the server (faulted or not), by service and operation, and
    how many are still being answered (a delayed one may take effect after its caller gave up)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._calls: collections.Counter[tuple[str | None, str | None]] = collections.Counter()
        self._in_flight = 0

    def record(self, request: AWSRequest) -> None:
        with self._lock:
            self._calls[(request.service, request.operation)] += 1
            self._in_flight += 1

    def answered(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def wait_answered(self, timeout: float = 30.0) -> None:
        """Until every request recorded so far has been answered (late ones have taken effect)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} AWS requests still unanswered after {timeout:g}s")

    def count(self, service: str | None = None, operation: str | None = None) -> int:
        with self._lock:
            return sum(n for (s, o), n in self._calls.items()
                       if (service is None or s == service) and (operation is None or o == operation))

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def describe_request(environ: WSGIEnviron, body: bytes) -> AWSRequest:
    """Tell the service, operation and wire protocol of a request, as AWS's front end would."""
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key, service = (scope.group(1), scope.group(2)) if scope else (None, None)
    target = environ.get("HTTP_X_AMZ_TARGET")
    where = {"method": environ.get("REQUEST_METHOD", ""), "path": urllib.parse.unquote(environ.get("PATH_INFO", ""))}
    if target:  # JSON protocol: "DynamoDB_20120810.PutItem"
        return AWSRequest(service, target.rsplit(".", 1)[-1], "json", access_key, **where)
    action = _form_action(environ, body)
    if action:
        return AWSRequest(service, action, "ec2" if service == "ec2" else "query", access_key, **where)
    if service in ("s3", "route53", "cloudfront"):
        return AWSRequest(service, None, "rest-xml", access_key, **where)
    return AWSRequest(service, None, "rest-json", access_key, **where)


def _form_action(environ: WSGIEnviron, body: bytes) -> str | None:
    fields = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        fields.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    return fields.get("Action", [None])[0]


def error_for(rule: FaultRule, request: AWSRequest) -> AWSError:
    """The error AWS itself answers with for this fault on this service."""
    if rule.error is not None:
        return rule.error
    if rule.kind == "auth":
        match request.protocol:
            case "ec2":
                return AWSError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
            case "json":
                return AWSError(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
            case _:
                return AWSError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    if rule.kind == "throttle":
        match request.protocol:
            case "ec2":
                return AWSError(503, "RequestLimitExceeded", "Request limit exceeded.")
            case "json":
                return AWSError(400, "ThrottlingException", "Rate exceeded")
            case "query":
                return AWSError(400, "Throttling", "Rate exceeded")
            case "rest-xml" if request.service == "s3":
                return AWSError(503, "SlowDown", "Please reduce your request rate.")
            case "rest-xml":
                return AWSError(400, "Throttling", "Rate exceeded")
            case _:
                return AWSError(429, "TooManyRequestsException", "Rate exceeded")
    if rule.status == 503:
        return AWSError(503, "ServiceUnavailable", "Service is unavailable. Please try again shortly.")
    return AWSError(rule.status, "InternalError", "An internal error has occurred. Please try again.")


def render_error(error: AWSError, protocol: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of an AWS error response in the request's wire protocol."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if protocol in ("json", "rest-json"):
        headers |= {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": error.code}
        return headers, json.dumps({"__type": error.code, "message": error.message}).encode()
    headers["Content-Type"] = "text/xml"
    if protocol == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{error.code}</Code>"
                f"<Message>{error.message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif protocol == "rest-xml" and error.code == "SlowDown":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{error.code}</Code>"
                f"<Message>{error.message}</Message><RequestId>{request_id}</RequestId></Error>")
    else:
        error_type = "Sender" if error.status < 500 else "Receiver"
        body = (f"<ErrorResponse><Error><Type>{error_type}</Type><Code>{error.code}</Code>"
                f"<Message>{error.message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return headers, body.encode()


class FaultInjectingApp:
    """WSGI middleware: records each request, then delays, fails or forwards it to moto."""

    def __init__(self, app: Callable[[WSGIEnviron, StartResponse], Iterable[bytes]],
                 faults: Faults, calls: CallLog) -> None:
        self._app = app
        self.faults = faults
        self.calls = calls

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        request = describe_request(environ, body)
        self.calls.record(request)
        try:
            return self._answer(request, environ, start_response)
        finally:
            self.calls.answered()

    def _answer(self, request: AWSRequest, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        hold_answer = 0.0
        rewrite: FaultRule | None = None
        for rule in self.faults.pick(request):
            if rule.kind == "rewrite":
                rewrite = rule
                continue
            if rule.kind == "delay" and rule.after:
                hold_answer = rule.seconds
                continue
            if rule.kind == "delay":
                time.sleep(rule.seconds)
                continue
            error = error_for(rule, request)
            headers, payload = render_error(error, request.protocol)
            if rule.query_error and request.protocol == "json":
                headers["x-amzn-query-error"] = rule.query_error
            headers["Content-Length"] = str(len(payload))
            start_response(f"{error.status} Error", list(headers.items()))
            return [payload]
        if rewrite is not None:
            return self._rewritten(rewrite, request, environ, start_response, hold_answer)
        if hold_answer:
            answer = list(self._app(environ, start_response))
            time.sleep(hold_answer)
            return answer
        return self._app(environ, start_response)

    def _rewritten(self, rule: FaultRule, request: AWSRequest, environ: WSGIEnviron, start_response: StartResponse,
                   hold_answer: float) -> Iterable[bytes]:
        """moto's answer with the rule's pattern replaced (its Content-Length following)."""
        started: list[tuple[Any, ...]] = []
        answer, found = re.subn(rule.pattern, rule.replacement,
                                b"".join(self._app(environ, lambda *args: started.append(args))))
        if not found:
            self.faults.unfired(rule, request)
        status, headers, *exc_info = started[0]
        headers = [(k, str(len(answer)) if k.lower() == "content-length" else v) for k, v in headers]
        time.sleep(hold_answer)
        start_response(status, headers, *exc_info)
        return [answer]


def _read_body(environ: WSGIEnviron) -> bytes:
    """Read the request body and put it back, so moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _indexed_tags(resource: TaggedEC2Resource) -> list[dict[str, str]]:
    """The answer of moto's `TaggedEC2Resource.get_tags`, from the backend's tag index."""
    if not resource.id:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource.id), "")
    return [{"resource_id": resource.id, "key": key, "value": value, "resource_type": resource_type}
            for key, value in resource.ec2_backend.tags.get(resource.id, {}).items()]


def index_tags() -> None:
    """Make moto (in this process) read an EC2 resource's tags from its tag index. moto's own
    `TaggedEC2Resource.get_tags` scans every tag in the region (a regex match per tag) for each
    resource it describes, so describing n of n resources costs O(n²): 3 s for DescribeAddresses
    of 1,000 addresses, 1.3 s for one address by tag filter. AWS answers in near-constant time;
    with hundreds of resources, moto's scan would be what a test or benchmark measures."""
    TaggedEC2Resource.get_tags = _indexed_tags


# A cheap read of each service the kinds call: what `MotoServer.warm_up` sends first.
FIRST_READS = {
    "ec2": "describe_vpcs", "sts": "get_caller_identity", "kms": "list_keys", "s3": "list_buckets",
    "secretsmanager": "list_secrets", "acm": "list_certificates", "iam": "list_roles", "sqs": "list_queues",
    "sns": "list_topics", "dynamodb": "list_tables", "elasticache": "describe_cache_clusters",
    "rds": "describe_db_instances", "lambda": "list_functions", "ecr": "describe_repositories",
    "ecs": "list_clusters", "eks": "list_clusters", "elbv2": "describe_load_balancers", "apigatewayv2": "get_apis",
    "cloudfront": "list_distributions", "route53": "list_hosted_zones", "resourcegroupstaggingapi": "get_resources",
}


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per AWS call would drown the test output


class MotoServer:
    """moto in server mode on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self.faults = Faults()
        self.calls = CallLog()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._session = boto3.session.Session(**DUMMY_CREDENTIALS)
        self._session_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the moto server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MotoServer:
        app = FaultInjectingApp(DomainDispatcherApplication(create_backend_app), self.faults, self.calls)
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=_QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="moto-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every AWS resource moto holds (its ``/moto-api/reset``)."""
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).close()

    def client(self, service: str, region: str = "us-east-1", **config: Any) -> Any:
        """A boto3 client on this server with dummy credentials; ``config`` goes to botocore's Config."""
        with self._session_lock:  # boto3 sessions are not thread-safe; one session caches the models
            return self._session.client(service, region_name=region, endpoint_url=self.endpoint,
                                        config=botocore.config.Config(**config) if config else None)

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment variables that point boto3 in another process at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"], "AWS_DEFAULT_REGION": region}

    @staticmethod
    def issue_certificates_after(seconds: float) -> None:
        """A pending ACM certificate turns ISSUED at its first describe `seconds` after its request
        (moto's MOTO_ACM_VALIDATION_WAIT, 60 by default; moto checks no DNS records). Applies to
        every moto server of this process."""
        moto.settings.ACM_VALIDATION_WAIT = seconds

    def warm_up(self, services: Iterable[str] = ("ec2",)) -> None:
        """Make moto load these services' backends now: a service's first request loads its
        backend (EC2 over a second, CloudFront about 0.5 s, DynamoDB 0.4 s, API Gateway v2 0.3 s)."""
        for service in services:
            getattr(self.client(service), FIRST_READS[service])()
        self.calls.clear()
