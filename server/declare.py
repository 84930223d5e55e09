"""One declaration per endpoint: the route, its parameters, body and answers, in one place.

An endpoint is declared once, on its handler (``@declare(...)``), with pydantic models for its
parameters and its JSON body. The same declaration builds the aiohttp route, validates every request
before the handler runs (a handler gets typed ``params`` and a ``body`` reader, and never reads the
query string itself), and writes the endpoint's entry in the OpenAPI document (``server.openapi``).
So a limit, an enum or a required parameter is written once and the document cannot drift from
what the server accepts.

A parameter's place is marked in its annotation (``PATH``, ``HEADER``; the query string otherwise),
so one model holds all of an endpoint's parameters. Validation failures become the API's usual 400
(``BadRequest``) naming the parameter and what it must be.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar, get_type_hints

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic import create_model as _create_model

from crawler.catalogue import times
from server.errors import ApiError, BadRequest
from server.params import json_body, parse_http_date, require_url

Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class In:
    """Where a parameter travels when it is not in the query string (an ``Annotated`` marker).

    ``raw`` reads the path's undecoded tail after the route's fixed prefix, query string
    included: a Memento URI-R carries its own ``?`` and ``%``-escapes (see ``server.api.memento``).
    """

    where: str
    raw: bool = False


PATH = In("path")
RAW_PATH = In("path", raw=True)
HEADER = In("header")


class Params(BaseModel):
    """Base of every parameter model: surrounding spaces are ignored, unknown parameters too.

    Unknown ones are ignored rather than refused because Wayback and Memento clients send their
    own extras (``gzip``, ``showResumeKey``) that the CDX server ignores as well.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class Body(BaseModel):
    """Base of every JSON request body: unknown members are ignored, as they were before."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- shared parameter types ------------------------------------------------------------------

DATE_SCHEMA = {
    "type": "string",
    "description": "ISO 8601 date or time, or a Wayback timestamp (YYYY[MM[DD[hh[mm[ss]]]]]).",
    "examples": ["2024-05-01", "20240501120000"],
}
URL_SCHEMA = {
    "type": "string",
    "format": "uri",
    "minLength": 1,
    "maxLength": 8192,
    "description": "An absolute http(s) URL.",
    "examples": ["https://example.com/news/story"],
}


def _time_bound(name: str, *, end: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return times.parse_time(value, name, end=end)
        except times.BadTime as exc:
            raise ValueError(str(exc)) from exc
        except OverflowError as exc:
            # 0001-01-01T00:00+05:00 is a valid ISO time whose UTC instant is before year 1.
            raise ValueError(f"{name!r}: {value!r} falls outside years 1 to 9999 in UTC") from exc

    return check


def _url(name: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        try:
            return require_url(value, name)
        except BadRequest as exc:
            raise ValueError(exc.detail) from exc

    return check


def _http_date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_http_date(value, "Accept-Datetime")
    except BadRequest as exc:
        raise ValueError(exc.detail) from exc


Since = Annotated[datetime | None, BeforeValidator(_time_bound("from", end=False)),
                  WithJsonSchema(DATE_SCHEMA)]
Until = Annotated[datetime | None, BeforeValidator(_time_bound("to", end=True)),
                  WithJsonSchema(DATE_SCHEMA)]
HttpUrl = Annotated[str, BeforeValidator(_url("url")), WithJsonSchema(URL_SCHEMA)]
# Optional types validate the value, then the union: a bad URL is one readable error, not one per
# branch of ``str | None``.
OptionalUrl = Annotated[str | None, BeforeValidator(_url("url")), WithJsonSchema(URL_SCHEMA)]
HttpDate = Annotated[
    datetime | None,
    BeforeValidator(_http_date),
    WithJsonSchema({"type": "string", "description": "An RFC 1123 date.",
                    "examples": ["Tue, 11 Sep 2001 20:35:00 GMT"]}),
]


# For names and choices that do not depend on case (formats, flags, host names).
LOWER = BeforeValidator(lambda value: value.lower() if isinstance(value, str) else value)

# A site is matched on its host name, which DNS reads without case.
Site = Annotated[str | None, LOWER]


def original_url_type(normalise: Callable[[str], str]) -> Any:
    """A URI-R path parameter: ``normalise`` reads the raw path tail, then it must be a URL."""
    check = _url("the original URL in the path")
    return Annotated[
        str,
        RAW_PATH,
        BeforeValidator(lambda value: check(normalise(value)) if isinstance(value, str) else value),
        WithJsonSchema({
            "type": "string", "minLength": 1, "maxLength": 8192,
            "description": "The original URL (URI-R) as it is, e.g. /timegate/http://example.com/page",
            "examples": ["http://example.com/page"],
        }),
    ]


def model_of(
    cls: type,
    name: str,
    *,
    base: type[BaseModel] | None = None,
    exclude: tuple[str, ...] = (),
    **extra: Any,
) -> type[BaseModel]:
    """A pydantic model with the fields of dataclass ``cls`` (plus ``extra`` fields), for its schema.

    The API's Article and Capture schemas come from the classes the code stores and serves, so a
    field added to ``Article`` or ``CaptureRow`` is documented without anyone remembering to. Every
    field is listed as required in answers: ``to_dict`` always writes all of them.
    """
    hints = get_type_hints(cls)
    spec: dict[str, Any] = {}
    for item in fields(cls):
        if item.name in exclude:
            continue
        default: Any = ...
        if item.default is not MISSING:
            default = item.default
        elif item.default_factory is not MISSING:
            default = Field(default_factory=item.default_factory)
        spec[item.name] = (hints[item.name], default)
    spec.update(extra)
    doc = (cls.__doc__ or "").strip()
    if doc.startswith(f"{cls.__name__}("):  # the signature dataclass writes when there is no doc
        doc = ""
    if base is not None:
        return _create_model(name, __base__=base, __doc__=doc or base.__doc__, **spec)
    config = ConfigDict(json_schema_serialization_defaults_required=True)
    return _create_model(name, __config__=config, __doc__=doc or None, **spec)


# --- the declaration ---------------------------------------------------------------------------

# Error answers in the document, in these words unless a declaration gives its own.
ERRORS = {
    400: "A parameter is missing or malformed.",
    401: "No valid bearer token.",
    403: "The URL leads to an address the server may not fetch.",
    404: "No such capture.",
    413: "The request body is over the size limit.",
    415: "The body was not sent as 'Content-Type: application/json'.",
    422: "No article could be extracted, or the page could not be used.",
    429: "Too many requests from this client (see Retry-After).",
    502: "The page's server failed.",
    503: "Storage or the catalogue is unreachable; retry later (see Retry-After).",
    504: "The page's server did not answer in time.",
}


@dataclass(frozen=True)
class Reply:
    """One successful answer: a JSON ``model``, or other ``media`` types with their JSON Schema."""

    description: str
    model: type[BaseModel] | None = None
    media: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Endpoint:
    """Everything about one endpoint that the router, the validator and the document need."""

    method: str
    path: str  # the aiohttp pattern, e.g. ``/timegate/{url:.+}``
    operation_id: str
    summary: str
    replies: Mapping[int, Reply]
    params: type[Params] | None = None
    body: type[Body] | None = None
    # Error statuses beyond those the declaration implies (400, 401, 413, 415, 429): a status alone
    # takes its words from ERRORS, a (status, words) pair says it for this endpoint.
    errors: tuple[int | tuple[int, str], ...] = ()
    description: str = ""
    token: bool = False  # documents the bearer token this endpoint asks for
    rate_limited: bool = True

    @property
    def document_path(self) -> str:
        """The path as OpenAPI writes it: ``{url:.+}`` becomes ``{url}``."""
        return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", self.path)

    def parse(self, request: web.Request) -> Params | None:
        """The request's validated parameters, or a 400 naming the one that is wrong."""
        if self.params is None:
            return None
        return validate(self.params, self._inputs(request))

    async def read_body(self, request: web.Request) -> Body:
        if self.body is None:
            raise TypeError(f"{self.operation_id} declares no body")
        return validate(self.body, await json_body(request))

    def _inputs(self, request: web.Request) -> dict[str, Any]:
        assert self.params is not None
        inputs: dict[str, Any] = {}
        for name, info in self.params.model_fields.items():
            key = info.alias or name
            where = location(info)
            if where.raw:
                value: Any = request.raw_path[len(self.path.split("{", 1)[0]):]
            elif where.where == "path":
                value = request.match_info.get(key)
            elif where.where == "header":
                value = request.headers.get(key)
            elif _is_list(info.annotation):
                value = [v for v in request.query.getall(key, []) if v.strip()] or None
            else:
                value = request.query.get(key)
            # An empty value means "not given", as a form left blank does.
            if value is not None and not (isinstance(value, str) and not value.strip()):
                inputs[key] = value
        return inputs


def location(info: Any) -> In:
    return next((m for m in info.metadata if isinstance(m, In)), In("query"))


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


class BodyReader(Generic[Model]):
    """Reads and validates the declared JSON body when the handler asks for it (not before:
    ``/clean`` answers a repeated request from its cache without parsing it)."""

    def __init__(self, endpoint: Endpoint, request: web.Request) -> None:
        self._endpoint = endpoint
        self._request = request

    async def __call__(self) -> Model:
        return await self._endpoint.read_body(self._request)  # type: ignore[return-value]


def declare(
    method: str,
    path: str,
    operation_id: str,
    summary: str,
    replies: Mapping[int, Reply],
    **options: Any,
) -> Callable[[Handler], Handler]:
    """Declare the decorated handler's endpoint; the handler gets ``params`` and ``body`` from it.

    The returned handler is the one the route table mounts; its ``endpoint`` attribute is the
    declaration, read by ``route`` and by the OpenAPI document.
    """
    endpoint = Endpoint(method, path, operation_id, summary, replies, **options)

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def handle(request: web.Request) -> web.StreamResponse:
            kwargs: dict[str, Any] = {}
            if endpoint.params is not None:
                kwargs["params"] = endpoint.parse(request)
            if endpoint.body is not None:
                require_json(request)
                kwargs["body"] = BodyReader(endpoint, request)
            return await handler(request, **kwargs)

        handle.endpoint = endpoint  # type: ignore[attr-defined]
        return handle

    return wrap


def require_json(request: web.Request) -> None:
    """A JSON body must say it is JSON: ``text/plain`` is what a cross-site form or ``fetch``
    may send without a CORS preflight, so insisting on ``application/json`` makes every other
    site's request ask first, and the CORS policy answer no."""
    if request.content_type != "application/json":
        raise ApiError(
            f"send the body as JSON with 'Content-Type: application/json', not "
            f"{request.content_type!r}",
            status=415, error="unsupported_media_type",
        )


def route(handler: Handler) -> web.RouteDef:
    """The aiohttp route of a declared handler."""
    endpoint: Endpoint = handler.endpoint  # type: ignore[attr-defined]
    return web.route(endpoint.method, endpoint.path, handler)


def endpoints(handlers: Iterable[Any]) -> list[Endpoint]:
    """The declarations behind ``handlers`` (undeclared ones, such as web pages, are skipped)."""
    return [h.endpoint for h in handlers if isinstance(getattr(h, "endpoint", None), Endpoint)]


# --- validation errors as readable 400s -------------------------------------------------------


def validate(model: type[Model], data: Mapping[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("; ".join(_message(model, e) for e in exc.errors())) from exc


def _message(model: type[BaseModel], error: Any) -> str:
    """One pydantic error in the API's words: the parameter, and what it must be."""
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else "the request"
    schema = _property(model, name)
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        hint = _hint(schema)
        return f"{name!r} is required" + (f": {hint}" if hint else "")
    if kind in {"value_error", "assertion_error"}:
        return str(error.get("ctx", {}).get("error") or error["msg"])
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{name!r} must be a whole number, not {value!r}"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{name!r} must be between {low} and {high}, not {value}"
        return f"{name!r} {error['msg'].lower().replace('input should be', 'must be')}, not {value}"
    if kind in {"literal_error", "enum"}:
        choices = schema.get("enum") or schema.get("items", {}).get("enum") or []
        return f"{name!r} must be one of {', '.join(map(str, choices))}, not {value!r}"
    if kind == "string_too_long":
        return f"{name!r} is longer than {error['ctx']['max_length']} characters"
    if kind == "string_too_short":
        hint = _hint(schema)
        return f"{name!r} must not be empty" + (f": {hint}" if hint else "")
    if kind == "string_type":
        return f"{name!r} must be a string"
    return f"{name!r}: {error['msg']}"


def _property(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The field's JSON Schema, the non-null branch of an optional one."""
    prop = _schema_of(model).get("properties", {}).get(name, {})
    branches = [b for b in prop.get("anyOf", ()) if b != {"type": "null"}]
    return {**branches[0], **prop} if len(branches) == 1 else prop


@functools.cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _hint(schema: Mapping[str, Any]) -> str:
    text = str(schema.get("description") or "").strip().rstrip(".")
    return text[:1].lower() + text[1:]
