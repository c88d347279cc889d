"""A real Open311 client library from PyPI (`georeport`, Apache-2.0) against a live server.

`georeport` reads (services, service definitions, requests) in JSON and in XML; it has no
POST, so the request it reads is filed with a plain form POST, as any client sends it.
"""

import asyncio

import httpx
from georeport import GeoReport

from tests.live import live_server
from tests.open311.helpers import client_app, report_form
from tests.support import DATABASE_URL, ROOT_ENV


def _read_everything(url: str, api_key: str) -> dict:
    filed = httpx.post(f"{url}/open311/v2/requests.xml", data=report_form(api_key))
    assert filed.status_code == 201, filed.text
    seen = {}
    for fmt in ("json", "xml"):
        reader = GeoReport(f"{url}/open311/v2", output_format=fmt)
        seen[fmt] = {
            "services": reader.get_service_list(),
            "definition": reader.get_service_definition("9904"),
            "requests": reader.get_service_requests(service_code="9904", status="open"),
        }
        number = httpx.get(f"{url}/open311/v2/requests.json").json()[0]["service_request_id"]
        seen[fmt]["one"] = reader.get_service_request(number)
        seen[fmt]["number"] = number
    return seen


async def test_the_georeport_library_reads_services_and_requests_in_both_formats(client, city):
    app = await client_app(client)
    env = {**ROOT_ENV, "APP_ENV": "test", "DATABASE_URL": DATABASE_URL}
    with live_server(env) as url:
        seen = await asyncio.to_thread(_read_everything, url, app.api_key)
    for fmt in ("json", "xml"):
        services = seen[fmt]["services"]
        assert {s["service_code"] for s in services} >= {"9901", "9902", "9904"}
        assert seen[fmt]["definition"]["service_code"] == "9904"
        requests = seen[fmt]["requests"]
        # xmltodict gives one element as a dict, several as a list.
        request = requests[0] if isinstance(requests, list) else requests
        assert request["service_request_id"] == seen[fmt]["number"]
        assert request["status"] == "open"
        assert seen[fmt]["one"]["service_code"] == "9904"
    assert seen["xml"]["services"][0]["metadata"] == "false"
