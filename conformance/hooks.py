"""Schemathesis hooks for Convene's conformance run (loaded through schemathesis.toml).

- MessagePack: request bodies declared as `application/msgpack` are encoded with a real
  serializer, and MessagePack responses are decoded so that every check (schema, status,
  headers) sees them exactly like JSON ones. API.md: MessagePack documents are the same
  logical documents as JSON, so anything JSON cannot represent (non-string map keys, binary,
  extension types) is a failure.
- Accept: cases are spread over JSON, MessagePack and q-value negotiation so responses in
  both formats are validated.
- 422 narrowing: schemathesis.toml lets the positive-data check accept 422 on operations with
  cross-field rules; the `cross_field_422_only` check below makes sure such a 422 names only
  the fields of those rules, so a missing schema constraint (say title's maxLength) still fails.
- Auth: one account is registered and logged in at the start; its bearer token goes on
  every operation that declares security. `logoutUser` gets a fresh session of the same
  account for each call, so logging out never revokes the token the rest of the run uses.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import uuid

import msgpack
import requests

import schemathesis

MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack")

# --- MessagePack -------------------------------------------------------------------------


_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
_FLOAT_MAX = 1.7976931348623157e308


def _msgpack_default(value):
    # MessagePack integers stop at 64 bits; JSON's do not. Send a bigger generated integer as
    # the float64 nearest to it, as a JSON parser would read it.
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return _FLOAT_MAX if value > 0 else -_FLOAT_MAX
    raise TypeError(f"cannot encode {type(value).__name__} as MessagePack")


def _fit_ints(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not _INT_MIN <= value <= _UINT_MAX:
        return _msgpack_default(value)
    if isinstance(value, dict):
        return {key: _fit_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fit_ints(item) for item in value]
    return value


@schemathesis.serializer(*MSGPACK_TYPES)
def _msgpack_serialize(ctx: schemathesis.SerializationContext, value):
    return msgpack.packb(_fit_ints(value), use_bin_type=True)


@schemathesis.serializer("text/calendar")
def _calendar_serialize(ctx: schemathesis.SerializationContext, value):
    # The import body (importEvents) is text; negative data of another type goes as its
    # JSON text, and lone surrogates as the invalid UTF-8 they are (the server answers 400).
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        value = json.dumps(value)
    return value.encode("utf-8", "surrogatepass")


def _ensure_json_like(value, path: str = "$"):
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"MessagePack map key {key!r} at {path} is not a string")
            _ensure_json_like(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _ensure_json_like(item, f"{path}[{index}]")
    elif isinstance(value, (bytes, bytearray, msgpack.ExtType)):
        raise ValueError(f"MessagePack value at {path} is {type(value).__name__}, which JSON cannot hold")
    return value


@schemathesis.deserializer(*MSGPACK_TYPES)
def _msgpack_deserialize(ctx: schemathesis.DeserializationContext, response: schemathesis.Response):
    # strict_map_key=False so a non-string key is reported by _ensure_json_like, not as a crash.
    data = msgpack.unpackb(response.content, raw=False, strict_map_key=False)
    return _ensure_json_like(data)


# --- Accept negotiation ------------------------------------------------------------------

_ACCEPT_VARIANTS = (
    None,  # no Accept header: JSON
    "application/msgpack",
    "application/json;q=0.5, application/x-msgpack",
    "application/json",
)
_accept_counter = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers if case.headers is not None else {}
    if any(name.lower() == "accept" for name in headers):
        return
    if case.media_type in MSGPACK_TYPES:
        accept = "application/msgpack"
    else:
        accept = _ACCEPT_VARIANTS[next(_accept_counter) % len(_ACCEPT_VARIANTS)]
    if accept is not None:
        headers["Accept"] = accept
        case.headers = headers


# --- 422 for schema-valid requests: only the cross-field rules ---------------------------

# operationId -> fields whose rules no JSON Schema can state (each rule is written in the
# operation's description): the 422 of a schema-valid request may name only these.
CROSS_FIELD_422 = {
    # end_time after start_time; time_zone a known IANA zone (a list that changes with
    # tzdata, so not an enum); recurrence a rule whose expansion is valid (supported
    # parts, occurrences that exist, do not overlap, and stay within MAX_OCCURRENCES).
    "createEvent": {"end_time", "time_zone", "recurrence"},
    "createEventBatch": {"end_time", "time_zone", "recurrence"},  # the same, per item
    "replaceEvent": {"end_time", "time_zone", "recurrence"},  # against the stored values
    "updateEvent": {"end_time", "time_zone", "recurrence"},
    "listEvents": {"to"},  # to after from
    "listOccurrences": {"to"},  # to after from, at most 366 days
    "freeBusy": {"to"},  # to after from, at most 366 days
    "freeSlots": {"to"},  # the same
    "updateOccurrence": {"end_time", "start_time"},  # range; not onto its series' others
    "cancelOccurrence": {"recurrence_id"},  # a single event's one occurrence
    "splitEvent": {"at"},  # not the first occurrence, not a single event
    "shareEvent": {"user_id"},  # unknown user, the owner, a user twice
    "setEventPermission": {"user_id"},  # the owner's own permission
    "revokeEventPermission": {"user_id"},  # the owner's own permission
    "registerUser": {"password"},  # at most 72 bytes of UTF-8 (maxLength counts characters)
    "createFeedToken": {"body"},  # at most 20 feed tokens per user
}


def _problem_fields(response) -> list[str] | None:
    content_type = (response.headers.get("content-type") or [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    try:
        if "msgpack" in content_type:
            document = msgpack.unpackb(response.content, raw=False, strict_map_key=False)
        else:
            document = response.json()
        errors = document.get("errors") or []
        # "events[3].end_time" -> "end_time"
        return [str(error.get("field", "")).rsplit(".", 1)[-1].split("[", 1)[0] for error in errors]
    except Exception:
        return None


@schemathesis.check
def cross_field_422_only(ctx, response, case):
    """A 422 for schema-valid data may only report the operation's cross-field rules."""
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    allowed = CROSS_FIELD_422.get(case.operation.definition.raw.get("operationId"))
    if allowed is None:
        return None  # positive_data_acceptance decides whether 422 is allowed at all
    fields = _problem_fields(response)
    if fields is None:
        raise AssertionError("422 for schema-valid data without a readable `errors` list")
    unexpected = sorted(set(fields) - allowed)
    if unexpected or not fields:
        raise AssertionError(
            f"422 for schema-valid data names {unexpected or 'no field'}; only the cross-field "
            f"rules on {sorted(allowed)} may refuse schema-valid data here: declare the others "
            "in the schema (minLength, maxLength, pattern, enum, ...)"
        )
    return None


# --- Auth --------------------------------------------------------------------------------

_USERNAME = os.environ.get("CONVENE_ST_USERNAME") or f"st_{uuid.uuid4().hex[:12]}"
_PASSWORD = os.environ.get("CONVENE_ST_PASSWORD") or f"pw-{uuid.uuid4().hex}"
_registered = threading.Lock()
_is_registered = False


def _base_url(ctx) -> str:
    url = os.environ.get("CONVENE_BASE_URL")
    if url:
        return url.rstrip("/")
    return ctx.operation.schema.get_base_url().rstrip("/")


def _login(ctx) -> str:
    global _is_registered
    base = _base_url(ctx)
    with _registered:
        if not _is_registered:
            response = requests.post(
                f"{base}/api/auth/register",
                json={"username": _USERNAME, "email": f"{_USERNAME}@example.com", "password": _PASSWORD},
                timeout=30,
            )
            if response.status_code not in (201, 409):
                raise RuntimeError(f"register failed: {response.status_code} {response.text}")
            _is_registered = True
    response = requests.post(
        f"{base}/api/auth/login", json={"username": _USERNAME, "password": _PASSWORD}, timeout=30
    )
    if response.status_code != 200:
        raise RuntimeError(f"login failed: {response.status_code} {response.text}")
    return response.json()["access_token"]


def _set_bearer(case, token: str) -> None:
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=600).skip_for(operation_id="logoutUser")
class ConveneAuth:
    """The run's one session (re-fetched on 401 or after 10 minutes)."""

    def get(self, case, ctx):
        return _login(ctx)

    def set(self, case, data, ctx):
        _set_bearer(case, data)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="logoutUser")
class ConveneLogoutAuth:
    """A throw-away session per logout call."""

    def get(self, case, ctx):
        return _login(ctx)

    def set(self, case, data, ctx):
        _set_bearer(case, data)
