"""The OpenAPI 3.1 document of the HTTP API, generated from the endpoints' declarations.

Nothing here describes an endpoint by hand: parameters, bodies and answers come from the pydantic
models each handler is declared with (``server.declare``), whose JSON Schema OpenAPI 3.1 takes as
it is. The schemathesis test fuzzes the served document against the running server, so the two
are checked against each other on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from server.declare import ERRORS, Endpoint, location

REF = "#/components/schemas/{model}"


class Error(BaseModel):
    """Every error: a code to branch on and a sentence saying what to do."""

    error: str
    detail: str


class _Schemas(GenerateJsonSchema):
    """JSON Schema without a generated title on every field (the name already says it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    endpoints = list(endpoints)
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.document_path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Declutter",
            "version": "1.0.0",
            "description": "Clean articles for readers, captures and search for researchers, "
            "and Memento (RFC 7089) access to the archive. Errors are JSON {error, detail}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _components(endpoints),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _components(endpoints: list[Endpoint]) -> dict[str, Any]:
    models: dict[type[BaseModel], str] = {Error: "serialization"}
    for endpoint in endpoints:
        if endpoint.body is not None:
            models[endpoint.body] = "validation"
        for reply in endpoint.replies.values():
            if reply.model is not None:
                models[reply.model] = "serialization"
    _, schema = models_json_schema(
        [(model, mode) for model, mode in models.items()],  # type: ignore[misc]
        ref_template=REF,
        schema_generator=_Schemas,
    )
    return schema.get("$defs", {})


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": endpoint.summary, "operationId": endpoint.operation_id}
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.token:
        operation["security"] = [{"bearer": []}]
    if endpoint.params is not None:
        operation["parameters"] = parameters(endpoint)
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    operation["responses"] = _responses(endpoint)
    return operation


def parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The OpenAPI parameters of an endpoint: exactly the fields of its parameter model."""
    assert endpoint.params is not None
    schema = endpoint.params.model_json_schema(schema_generator=_Schemas, ref_template=REF)
    required = set(schema.get("required", ()))
    listed = []
    for name, info in endpoint.params.model_fields.items():
        key = info.alias or name
        prop = _plain(schema["properties"][key])
        where = location(info).where
        parameter: dict[str, Any] = {"name": key, "in": where}
        if key in required or where == "path":
            parameter["required"] = True
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        if prop.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameter["schema"] = prop
        listed.append(parameter)
    return listed


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without ``null``: a parameter left out is absent, never null."""
    prop = dict(prop)
    branches = prop.get("anyOf")
    if branches:
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop = {**kept[0], **prop}
    if prop.get("default", 0) is None:
        del prop["default"]
    return prop


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, reply in endpoint.replies.items():
        answer: dict[str, Any] = {"description": reply.description}
        content = {media: {"schema": dict(schema)} for media, schema in reply.media.items()}
        if reply.model is not None:
            content["application/json"] = {"schema": _ref(reply.model)}
        if content:
            answer["content"] = content
        if reply.headers:
            answer["headers"] = {name: {"schema": {"type": "string"}} for name in reply.headers}
        responses[str(status)] = answer
    for status, text in sorted(_errors(endpoint).items()):
        responses[str(status)] = {
            "description": text,
            "content": {"application/json": {"schema": _ref(Error)}},
        }
    return responses


def _errors(endpoint: Endpoint) -> dict[int, str]:
    """The declared errors plus those the declaration implies (validation, body size, limits)."""
    implied = []
    if endpoint.params is not None or endpoint.body is not None:
        implied.append(400)
    if endpoint.body is not None:
        implied += [413, 415]
    if endpoint.token:
        implied.append(401)
    if endpoint.rate_limited:
        implied.append(429)
    errors = {status: ERRORS[status] for status in implied}
    for item in endpoint.errors:
        status, text = item if isinstance(item, tuple) else (item, ERRORS[item])
        errors[status] = text
    return errors


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}
