"""Open311 answers in both formats: JSON by the Spark convention, XML as the spec shows.

An answer is built once as plain data (dicts in the spec's field order, lists, str, int,
float, bool, None) and rendered here. XML is made with the standard library only
(`xml.etree`), without a namespace; JSON drops the root element, so lists are bare arrays.
"""

from __future__ import annotations

import json as jsonlib
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from sanic.response import HTTPResponse

from app.core.workcalendar import SHANGHAI

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# The element name of one item inside a list-valued field (`<attributes><attribute>…`).
ITEM_NAMES = {
    "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
}


class Open311Error(Exception):
    """An error answered the Open311 way: a list of {code, description} with the status."""

    def __init__(self, status: int, description: str, *, code: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code or status
        self.description = description


def w3c(moment: datetime | None) -> str | None:
    """A W3C/ISO-8601 time with its offset, in China Standard Time (+08:00), to the second."""
    if moment is None:
        return None
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(element, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(child, key, item)
    elif isinstance(value, list):
        item_name = ITEM_NAMES.get(name, "item")
        for item in value:
            _fill(child, item_name, item)
    else:
        child.text = _text(value)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """`data` under `<root>`: a list as repeated `<item>` elements, a dict as its fields."""
    element = ET.Element(root)
    if isinstance(data, list):
        for entry in data:
            _fill(element, item or "item", entry)
    else:
        for key, value in data.items():
            _fill(element, key, value)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def render(fmt: str, root: str, item: str | None, data: Any, *, status: int = 200
           ) -> HTTPResponse:
    """The answer in `fmt` (json|xml) with the spec's content type."""
    if fmt == "xml":
        return HTTPResponse(to_xml(root, item, data), status=status, content_type=XML_TYPE)
    body = jsonlib.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HTTPResponse(body.encode("utf-8"), status=status, content_type=JSON_TYPE)


def render_error(fmt: str, error: Open311Error) -> HTTPResponse:
    """`<errors><error><code/><description/></error></errors>`, or the same as a JSON array."""
    return render(fmt, "errors", "error",
                  [{"code": error.code, "description": error.description}], status=error.status)
