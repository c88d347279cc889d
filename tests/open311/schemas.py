"""JSON Schemas of Open311 GeoReport v2 answers, written for these tests from the published spec
(http://wiki.open311.org/GeoReport_v2, source: open311/open311.github.io GeoReport_v2/index.md)
and checked field by field against open311/schema-validation schema/georeport-v2/*.json (not
copied: those files are third-party). Each list endpoint is a bare array (the Spark convention).
"""

from __future__ import annotations

from typing import Any

STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time",
        # W3C subset of ISO 8601 with a timezone: Z or ±HH:MM (the spec's "must").
        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}
TIME_OR_NULL = {"anyOf": [TIME, {"type": "null"}]}

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "properties": {
        "service_code": {"type": "string"},
        "service_name": {"type": "string"},
        "description": STRING_OR_NULL,
        "metadata": {"type": "boolean"},
        "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
        "keywords": STRING_OR_NULL,
        "group": STRING_OR_NULL,
    },
}
SERVICES = {"type": "array", "items": SERVICE}

ATTRIBUTE = {
    "type": "object",
    "required": ["variable", "code", "datatype", "required"],
    "properties": {
        "variable": {"type": "boolean"},
        "code": {"type": "string"},
        "datatype": {"type": "string", "enum": ["string", "number", "datetime", "text",
                                                "singlevaluelist", "multivaluelist"]},
        "required": {"type": "boolean"},
        "datatype_description": STRING_OR_NULL,
        "order": {"type": ["integer", "null"]},
        "description": STRING_OR_NULL,
        "values": {"type": "array", "items": {
            "type": "object", "required": ["key", "name"],
            "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
    },
}
SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": "string"},
                   "attributes": {"type": "array", "items": ATTRIBUTE}},
}

REQUEST = {
    "type": "object",
    "required": ["service_request_id", "status", "service_code", "requested_datetime"],
    "properties": {
        "service_request_id": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": STRING_OR_NULL,
        "service_name": STRING_OR_NULL,
        "service_code": {"type": "string"},
        "description": {"anyOf": [{"type": "string", "maxLength": 4000}, {"type": "null"}]},
        "agency_responsible": STRING_OR_NULL,
        "service_notice": STRING_OR_NULL,
        "requested_datetime": TIME,
        "updated_datetime": TIME_OR_NULL,
        "expected_datetime": TIME_OR_NULL,
        "address": STRING_OR_NULL,
        "address_id": STRING_OR_NULL,
        "zipcode": STRING_OR_NULL,
        "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "media_url": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
    },
}
REQUESTS = {"type": "array", "items": REQUEST}

# POST requests: service_request_id or token, never both (the spec's response table).
CREATED = {
    "type": "array", "minItems": 1,
    "items": {
        "type": "object",
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"},
                       "service_notice": STRING_OR_NULL, "account_id": STRING_OR_NULL},
        "oneOf": [{"required": ["service_request_id"], "not": {"required": ["token"]}},
                  {"required": ["token"], "not": {"required": ["service_request_id"]}}],
    },
}
TOKENS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["token"],
              "properties": {"service_request_id": {"type": "string"},
                             "token": {"type": "string"}}},
}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": TIME, "contact": {"type": "string"}, "key_service": {"type": "string"},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {
                "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                "url": {"type": "string", "format": "uri"}, "changeset": TIME,
                "type": {"enum": ["production", "test"]},
                "formats": {"type": "array", "items": {"type": "string"}}}}},
    },
}

ERRORS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": ["integer", "string"]},
                             "description": {"type": "string"}}},
}

# mySociety's servicerequestupdates (open311-adapter, Role/mySociety.pm).
UPDATES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["update_id", "service_request_id", "status", "updated_datetime",
                     "description"],
        "properties": {
            "update_id": {"type": "string"}, "service_request_id": {"type": "string"},
            "status": {"type": "string", "pattern": "^[A-Z_]+$"},
            "updated_datetime": TIME, "description": {"type": "string"},
            "media_url": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
            "external_status_code": STRING_OR_NULL,
        },
    },
}
