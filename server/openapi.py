"""The OpenAPI 3.1 description of the HTTP API, served at ``/api/v1/openapi.json``.

Kept as Python beside the routes so a schema shared by several endpoints is written once; the
schemathesis test reads the served document, so it cannot drift from what the server does.
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAVAILABLE = _error("Storage or the catalogue is unreachable; retry later (see Retry-After).")
BAD = _error("A parameter is missing or malformed.")
NOT_FOUND = _error("No such capture.")
LIMITED = _error("Too many requests from this client (see Retry-After).")

DATE_PARAM = {
    "schema": {"type": "string"},
    "description": "ISO 8601 date or time, or a Wayback timestamp (YYYY[MM[DD[hh[mm[ss]]]]]).",
}

CAPTURE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}

URL_SCHEMA = {"type": "string", "format": "uri", "minLength": 1, "maxLength": 8192}

ORIGINAL_URL_PARAM = {
    "name": "url",
    "in": "path",
    "required": True,
    "description": "The original URL (URI-R) as it is, e.g. /timegate/http://example.com/page",
    "schema": {"type": "string", "minLength": 1, "maxLength": 8192},
}


def document() -> dict[str, Any]:
    capture_reads = {
        "raw": ("The archived response body with its content type, sandboxed "
                "(Content-Security-Policy: sandbox); a Memento (RFC 7089) with Memento-Datetime.",
                {"*/*": {"schema": {"type": "string", "format": "binary"}}}),
        "text": ("The clean article text.", {"text/plain": {"schema": {"type": "string"}}}),
        "warc": ("The capture's WARC records.",
                 {"application/warc": {"schema": {"type": "string", "format": "binary"}}}),
        "screenshot": ("A PNG screenshot, when the page was rendered in a browser.",
                       {"image/png": {"schema": {"type": "string", "format": "binary"}}}),
    }
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "summary": "State of the server and each dependency (storage, catalogue, browser)",
                "operationId": "healthz",
                "responses": {"200": _json("Health report", {"$ref": "#/components/schemas/Health"})},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format)",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": _json("OpenAPI document", {"type": "object"})},
            }
        },
        "/api/v1/clean": {
            "post": {
                "summary": "The clean article for a URL",
                "description": (
                    "With `html` (the page as the reader sees it), extract it. Without, the newest "
                    "capture of the URL, else a server-side fetch (public addresses only). "
                    "Results are cached by URL and content digest."
                ),
                "operationId": "clean",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/CleanRequest"}}
                    },
                },
                "responses": {
                    "200": _json("The article", {"$ref": "#/components/schemas/Article"}),
                    "400": BAD,
                    "403": _error("The URL leads to an address the server may not fetch."),
                    "413": _error("The request body is over the size limit."),
                    "422": _error("No article could be extracted, or the page could not be used."),
                    "429": LIMITED,
                    "502": _error("The page's server failed."),
                    "504": _error("The page's server did not answer in time."),
                },
            }
        },
        "/api/v1/captures": {
            "post": {
                "summary": "Archive a page now (token required)",
                "operationId": "createCapture",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/CleanRequest"}}
                    },
                },
                "responses": {
                    "201": _json("The new capture", {"$ref": "#/components/schemas/CaptureCreated"}),
                    "202": _json(
                        "Storage is down: the capture waits in the spool and is stored later",
                        {"$ref": "#/components/schemas/CaptureCreated"},
                    ),
                    "400": BAD,
                    "401": _error("No valid bearer token."),
                    "403": _error("The URL leads to an address the server may not fetch."),
                    "413": _error("The request body is over the size limit."),
                    "422": _error("The page could not be used."),
                    "429": LIMITED,
                    "502": _error("The page's server failed."),
                    "503": UNAVAILABLE,
                    "504": _error("The page's server did not answer in time."),
                },
            },
            "get": {
                "summary": "Captures, newest first, cursor-paginated",
                "operationId": "listCaptures",
                "parameters": [
                    {"name": "url", "in": "query", "schema": URL_SCHEMA},
                    {"name": "from", "in": "query", **DATE_PARAM},
                    {"name": "to", "in": "query", **DATE_PARAM},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json("A page of captures", {"$ref": "#/components/schemas/CaptureList"}),
                    "400": BAD,
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            },
        },
        "/api/v1/captures/{id}": {
            "get": {
                "summary": "A capture's metadata and clean article",
                "operationId": "getCapture",
                "parameters": [CAPTURE_ID],
                "responses": {
                    "200": _json("The capture", {"$ref": "#/components/schemas/CaptureDetail"}),
                    "404": NOT_FOUND,
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/search": {
            "get": {
                "summary": "Full-text search over clean text",
                "description": 'Words must all match; "exact phrases"; -excluded words.',
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "required": True,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 500}},
                    {"name": "site", "in": "query", "schema": {"type": "string"}},
                    {"name": "from", "in": "query", **DATE_PARAM},
                    {"name": "to", "in": "query", **DATE_PARAM},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                    {"name": "offset", "in": "query",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}},
                    {"name": "all", "in": "query",
                     "schema": {"type": "string", "enum": ["0", "1", "true", "false"], "default": "0"},
                     "description": "1: every matching capture. By default one hit per URL and "
                     "text version: its newest capture, with capture_count and first_captured_at."},
                ],
                "responses": {
                    "200": _json("Hits, best first", {"$ref": "#/components/schemas/SearchResults"}),
                    "400": BAD,
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/timemap/link/{url}": {
            "get": {
                "summary": "Memento TimeMap (RFC 7089) of an original URL",
                "operationId": "timemap",
                "parameters": [ORIGINAL_URL_PARAM],
                "responses": {
                    "200": {
                        "description": "TimeMap",
                        "content": {"application/link-format": {"schema": {"type": "string"}}},
                    },
                    "400": BAD,
                    "404": _error("No capture of this URL."),
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/timegate/{url}": {
            "get": {
                "summary": "Memento TimeGate (RFC 7089): redirect to the capture nearest Accept-Datetime",
                "operationId": "timegate",
                "parameters": [
                    ORIGINAL_URL_PARAM,
                    {"name": "Accept-Datetime", "in": "header", "schema": {"type": "string"},
                     "description": "RFC 1123 date, e.g. Tue, 11 Sep 2001 20:35:00 GMT"},
                ],
                "responses": {
                    "302": {
                        "description": "The chosen memento is in Location; Link lists neighbours.",
                        "headers": {
                            "Location": {"schema": {"type": "string"}},
                            "Vary": {"schema": {"type": "string"}},
                            "Link": {"schema": {"type": "string"}},
                        },
                    },
                    "400": BAD,
                    "404": _error("No capture of this URL."),
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/cdx": {
            "get": {
                "summary": "Captures of a URL, a URL prefix, a host or a domain in the Wayback "
                "CDX server's format",
                "description": "Rows in SURT url_key order, then time. url may be written "
                "example.com/path* (matchType=prefix) or *.example.com (matchType=domain); the "
                "scheme may be left out.",
                "operationId": "cdx",
                "parameters": [
                    {"name": "url", "in": "query", "required": True,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 8192}},
                    {"name": "from", "in": "query", **DATE_PARAM},
                    {"name": "to", "in": "query", **DATE_PARAM},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": -10000, "maximum": 10000}},
                    {"name": "output", "in": "query", "schema": {"enum": ["json", "text"]}},
                    {"name": "fl", "in": "query", "schema": {"type": "string"},
                     "description": "Comma-separated fields: urlkey, timestamp, original, "
                     "mimetype, statuscode, digest, length"},
                    {"name": "matchType", "in": "query",
                     "schema": {"enum": ["exact", "prefix", "host", "domain"]},
                     "description": "exact: this URL; prefix: URLs starting with it; host: every "
                     "URL on its host; domain: its host and every subdomain"},
                    {"name": "collapse", "in": "query", "style": "form", "explode": True,
                     "schema": {"type": "array", "items": {"type": "string"}},
                     "description": "A field (e.g. urlkey, digest, timestamp:10): drop a row whose "
                     "field (first N characters) equals the previous row's; may repeat"},
                    {"name": "sort", "in": "query", "schema": {"enum": ["regular", "reverse"]},
                     "description": "reverse: the listing from its end (newest first)"},
                ],
                "responses": {
                    "200": {
                        "description": "One line per capture (or a JSON array of arrays, header first)",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/json": {"schema": {"type": "array"}},
                        },
                    },
                    "400": BAD,
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        },
    }
    for name, (summary, content) in capture_reads.items():
        paths[f"/api/v1/captures/{{id}}/{name}"] = {
            "get": {
                "summary": summary,
                "operationId": f"getCapture{name.capitalize()}",
                "parameters": [CAPTURE_ID],
                "responses": {
                    "200": {"description": summary, "content": content},
                    "404": NOT_FOUND,
                    "429": LIMITED,
                    "503": UNAVAILABLE,
                },
            }
        }
    from server.api import changes, export

    paths.update(changes.OPENAPI_PATHS)
    paths.update(export.OPENAPI_PATHS)
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
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


_NULLABLE_STR = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
    "Health": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "checks": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    },
    "CleanRequest": {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": URL_SCHEMA,
            "html": {"type": "string", "description": "The page's HTML as the reader sees it."},
        },
    },
    "Article": {
        "type": "object",
        "required": ["html", "text", "word_count"],
        "properties": {
            "title": _NULLABLE_STR,
            "byline": _NULLABLE_STR,
            "published": _NULLABLE_STR,
            "site_name": _NULLABLE_STR,
            "lang": _NULLABLE_STR,
            "lead_image": _NULLABLE_STR,
            "url": _NULLABLE_STR,
            "html": {"type": "string", "description": "Sanitised article HTML"},
            "text": {"type": "string"},
            "word_count": {"type": "integer"},
            "reading_minutes": {"type": "integer"},
            "extractor_version": {"type": "string"},
            "source": {"enum": ["posted", "capture", "fetched", "rendered"]},
            "capture_id": {"type": "string"},
        },
    },
    "Capture": {
        "type": "object",
        "required": ["id", "url", "captured_at", "status"],
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "url_key": {"type": "string"},
            "captured_at": {"type": "string", "format": "date-time"},
            "status": {"type": "integer"},
            "mime": {"type": "string"},
            "title": _NULLABLE_STR,
            "site_name": _NULLABLE_STR,
            "word_count": {"type": "integer"},
            "rendered": {"type": "boolean"},
            "revisit": {"type": "boolean"},
            "revisit_of": _NULLABLE_STR,
            "payload_digest": {"type": "string"},
            "text_digest": _NULLABLE_STR,
            "source": {
                "enum": ["server", "reader"],
                "description": "server: an HTTP exchange the archive made; reader: the DOM the "
                "reader's browser showed, kept because the server's fetch failed (status 0)",
            },
            "fetch_error": _NULLABLE_STR,
        },
    },
    "CaptureDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Capture"},
            {
                "type": "object",
                "properties": {
                    "article": {"oneOf": [{"$ref": "#/components/schemas/Article"}, {"type": "null"}]},
                    "links": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        ]
    },
    "CaptureList": {
        "type": "object",
        "required": ["captures", "next_cursor"],
        "properties": {
            "captures": {"type": "array", "items": {"$ref": "#/components/schemas/Capture"}},
            "next_cursor": _NULLABLE_STR,
        },
    },
    "CaptureCreated": {
        "type": "object",
        "required": ["id", "url", "captured_at", "revisit", "href"],
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string"},
            "captured_at": {"type": "string", "format": "date-time"},
            "revisit": {"type": "boolean"},
            "href": {"type": "string"},
            "source": {"enum": ["server", "reader"]},
            "title": _NULLABLE_STR,
            "spooled": {"type": "boolean"},
            "detail": {"type": "string"},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "results", "limit", "offset"],
        "properties": {
            "query": {"type": "string"},
            "results": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Capture"},
                        {"type": "object", "properties": {
                            "snippet": {"type": "string"},
                            "rank": {"type": "number"},
                            "capture_count": {"type": "integer", "minimum": 1,
                                              "description": "captures of this URL with this text"},
                            "first_captured_at": {"type": "string", "format": "date-time"},
                        }},
                    ]
                },
            },
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "collapsed": {"type": "boolean"},
        },
    },
}
