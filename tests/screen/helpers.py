"""Display links made the way a dispatcher makes them: the console's form."""

from __future__ import annotations

import re

import httpx

_URL = re.compile(r'<output id="new-link-url">https?://[^/]+/screen/([A-Za-z0-9_-]+)</output>')


async def create_link(client: httpx.AsyncClient, csrf: str, *, area: str = "990100",
                      name: str = "指挥大厅主屏") -> str:
    """Create a display link through the console; returns its token (shown only once)."""
    response = await client.post("/console/screen/links", data={
        "name": name, "area": area, "csrf_token": csrf})
    assert response.status_code == 201, response.text
    match = _URL.search(response.text)
    assert match, "the new link's address is not on the page"
    return match.group(1)
