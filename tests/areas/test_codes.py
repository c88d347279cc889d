"""An area code longer than any stored code is simply not found (never a server error)."""

import pytest

from app.accounts.models import Role
from tests.factories import error_code, load_small_tree, make_staff

TOO_LONG = "9" * 33


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/api/v1/areas/{TOO_LONG}"),
    ("PATCH", f"/api/v1/areas/{TOO_LONG}"),
    ("GET", f"/api/v1/areas/{TOO_LONG}/grid-workers"),
])
async def test_an_area_code_too_long_to_exist_is_not_found(client, method, path):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    response = await client.request(method, path, headers=admin,
                                    json={"office_phone": "0537-1"} if method == "PATCH" else None)
    assert response.status_code == 404, response.text
    assert error_code(response)


async def test_a_code_of_the_longest_stored_length_is_still_looked_up(client):
    await load_small_tree()
    _, admin = await make_staff(Role.ADMIN)
    response = await client.get(f"/api/v1/areas/{'9' * 32}", headers=admin)
    assert response.status_code == 404 and error_code(response) == "area_not_found"
