"""Signing in to the console the way a browser does: the form, its CSRF token, the cookie."""

from __future__ import annotations

import re

import httpx

from app.accounts.models import Role
from tests.factories import make_staff

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    match = _TOKEN.search(page)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def post_login(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                     *, next_url: str = "/console/") -> httpx.Response:
    form = await client.get("/console/login")
    assert form.status_code == 200, form.text
    return await client.post("/console/login", data={
        "username": username, "password": password, "csrf_token": csrf_of(form.text),
        "next": next_url})


async def sign_in(client: httpx.AsyncClient, username: str) -> str:
    """Sign in; returns the session's CSRF token (as the page carries it for htmx)."""
    response = await post_login(client, username)
    assert response.status_code == 303, response.text
    page = await client.get("/console/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def dispatcher(client: httpx.AsyncClient, area_code: str = "990100",
                     username: str = "dispatcher") -> str:
    """A dispatcher account for `area_code`, signed in on `client`."""
    await make_staff(Role.DISPATCHER, area_code=area_code, username=username, name="李派遣")
    return await sign_in(client, username)
