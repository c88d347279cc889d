"""A client app discovers the endpoint and reads our 小类 as Open311 services, JSON and XML."""

from app.catalog.models import Category
from tests.open311 import schemas
from tests.open311.helpers import BASE, as_json, as_xml, children, valid


async def test_discovery_names_the_spec_both_formats_and_where_to_get_a_key(client):
    data = as_json(await client.get(f"{BASE}/discovery.json"), schemas.DISCOVERY)
    endpoint = data["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2/")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = as_xml(await client.get(f"{BASE}/discovery.xml"), "discovery")
    assert children(root) == ["changeset", "contact", "key_service", "endpoints"]
    xml_endpoint = root.find("endpoints/endpoint")
    assert xml_endpoint is not None
    assert xml_endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in xml_endpoint.findall("formats/format")] == endpoint["formats"]


async def test_services_are_the_resident_visible_minor_categories_in_chinese(client, city):
    hidden = await Category.get(code="9903")
    await Category.filter(id=hidden.id).update(is_resident_visible=False)
    from app.core import config_cache
    config_cache.invalidate()

    services = as_json(await client.get(f"{BASE}/services.json"), schemas.SERVICES)
    by_code = {s["service_code"]: s for s in services}
    assert "9903" not in by_code  # staff-only 小类 are not offered
    assert "99" not in by_code  # a 大类 is a group, not a service
    manhole = by_code["9901"]
    assert manhole["service_name"] == "井盖破损（居民）"
    assert manhole["group"] == "测试大类"
    assert manhole["metadata"] is False and manhole["type"] == "batch"

    root = as_xml(await client.get(f"{BASE}/services.xml"), "services")
    xml_services = root.findall("service")
    assert [s.findtext("service_code") for s in xml_services] == [s["service_code"]
                                                                  for s in services]
    assert children(xml_services[0]) == ["service_code", "service_name", "description",
                                         "metadata", "type", "keywords", "group"]
    assert xml_services[0].findtext("metadata") == "false"


async def test_a_service_definition_and_an_unknown_service(client, city):
    definition = as_json(await client.get(f"{BASE}/services/9901.json"),
                         schemas.SERVICE_DEFINITION)
    assert definition == {"service_code": "9901", "attributes": []}
    root = as_xml(await client.get(f"{BASE}/services/9901.xml"), "service_definition")
    assert children(root) == ["service_code", "attributes"]

    missing = await client.get(f"{BASE}/services/0000.json")
    errors = as_json(missing, schemas.ERRORS, status=404)
    assert errors[0]["code"] == 404 and "0000" in errors[0]["description"]
    xml_errors = as_xml(await client.get(f"{BASE}/services/0000.xml"), "errors", status=404)
    assert children(xml_errors.find("error")) == ["code", "description"]


async def test_an_unknown_format_or_jurisdiction_is_404(client, city):
    assert (await client.get(f"{BASE}/services/9901.html")).status_code == 404
    assert (await client.get(f"{BASE}/services.html")).status_code == 404
    wrong = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": "other.gov"})
    valid(wrong.json(), schemas.ERRORS)
    assert wrong.status_code == 404
    # An empty optional argument is the same as none (the spec's "Optional Arguments").
    blank = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": ""})
    assert blank.status_code == 200
