"""Shared pieces of the Open311 tests: a client app with its key, schema checks, XML reading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from app.accounts.models import Role
from app.open311.models import Open311Request
from tests.factories import make_staff
from tests.tickets.helpers import IN_CELL

BASE = "/open311/v2"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"


@dataclass
class App:
    api_key: str
    admin: dict[str, str]


def valid(data: Any, schema: dict[str, Any]) -> Any:
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(data)
    return data


def as_json(response: httpx.Response, schema: dict[str, Any], status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    return valid(response.json(), schema)


def as_xml(response: httpx.Response, root: str, status: int = 200) -> ET.Element:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == XML_TYPE
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    element = ET.fromstring(response.content)
    assert element.tag == root, element.tag
    return element


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


async def client_app(client: httpx.AsyncClient, code: str = "fms-test") -> App:
    _, admin = await make_staff(Role.ADMIN, name="钱管理")
    created = await client.post("/api/v1/admin/open311/clients", headers=admin,
                                json={"code": code, "name": "随手拍 App"})
    assert created.status_code == 201, created.text
    return App(api_key=created.json()["api_key"], admin=admin)


def report_form(api_key: str, service_code: str = "9904", **extra: str) -> dict[str, str]:
    return {"api_key": api_key, "service_code": service_code, "lat": str(IN_CELL["lat"]),
            "long": str(IN_CELL["lng"]), "description": "小区门口垃圾堆了三天没人清理",
            "address_string": "古槐路 12 号", **extra}


async def post_report(client: httpx.AsyncClient, api_key: str, fmt: str = "json",
                      **form: str) -> tuple[str, int]:
    """(token, ticket id) of a request POSTed by a client app."""
    response = await client.post(f"{BASE}/requests.{fmt}", data=report_form(api_key, **form))
    assert response.status_code == 201, response.text
    if fmt == "json":
        token = response.json()[0]["token"]
    else:
        found = ET.fromstring(response.content).find("request/token")
        assert found is not None and found.text
        token = found.text
    link = await Open311Request.get(token=token)
    return token, link.ticket_id
