"""Residents upload photos: checked by content, metadata stripped, read through signed URLs."""

import base64
import io
import json
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image
from qiniu import Auth

from app.accounts.models import User
from app.core.errors import Invalid
from app.media import service
from app.media.models import MediaPurpose
from tests.factories import error_code, resident
from tests.support import base_settings

GPS_MARK = "SECRET-HOME-GPS"


def jpeg_with_gps(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (35.0, 24.0, 18.0), 27: GPS_MARK.encode()}  # GPS IFD
    exif[0x010E] = GPS_MARK  # ImageDescription
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def start(client, headers, purpose="report"):
    response = await client.post("/api/v1/media/uploads", json={"purpose": purpose}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def send(client, headers, ticket, data, filename="photo.jpg"):
    return await client.post(f"/api/v1/media/uploads/{ticket['media_id']}/file", headers=headers,
                             files={"file": (filename, data, "image/jpeg")})


async def test_a_photo_upload_strips_gps_and_is_read_through_a_signed_url(client):
    alice = await resident(client)
    ticket = await start(client, alice)
    assert ticket["method"] == "local" and ticket["key"].startswith("report/")
    assert ticket["key"].endswith(".jpg") and "photo" not in ticket["key"]
    uploaded = await send(client, alice, ticket, jpeg_with_gps())
    assert uploaded.status_code == 201, uploaded.text
    media = uploaded.json()
    assert (media["status"], media["width"], media["height"]) == ("ready", 640, 480)

    detail = (await client.get(f"/api/v1/media/{media['id']}", headers=alice)).json()
    photo = await client.get(detail["url"].removeprefix("http://testserver"))
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert GPS_MARK.encode() not in photo.content
    assert not Image.open(io.BytesIO(photo.content)).getexif()
    thumb = await client.get(detail["thumb_url"].removeprefix("http://testserver"))
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 320


async def test_raw_body_uploads_work_too(client):
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await client.post(f"/api/v1/media/uploads/{ticket['media_id']}/file",
                                 content=jpeg_with_gps(), headers=alice)
    assert response.status_code == 201


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"GIF89a" + b"\x00" * 100, 415, "unsupported_media_type"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415,
     "unsupported_media_type"),
    (b"%PDF-1.4 hello", 415, "unsupported_media_type"),
    (b"", 422, "empty_file"),
])
async def test_files_that_are_not_photos_are_refused(client, data, status, code):
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, data, filename="photo.jpg")
    assert response.status_code == status
    assert error_code(response) == code
    # still pending: a corrected retry succeeds
    assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201


async def test_a_truncated_photo_is_refused(client):
    alice = await resident(client)
    ticket = await start(client, alice)
    data = jpeg_with_gps()
    response = await send(client, alice, ticket, data[: len(data) // 2])
    assert response.status_code == 422 and error_code(response) == "corrupt_image"


async def test_a_photo_over_the_size_limit_is_413(client):
    base_settings(media_max_bytes=2_000)
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, jpeg_with_gps((1200, 900)))
    assert response.status_code == 413 and error_code(response) == "too_large"


async def test_an_upload_completes_once(client):
    alice = await resident(client)
    ticket = await start(client, alice)
    assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201
    again = await send(client, alice, ticket, jpeg_with_gps())
    assert again.status_code == 409 and error_code(again) == "already_uploaded"


async def test_nobody_else_can_upload_into_or_read_my_photo(client):
    alice = await resident(client, "alice")
    bob = await resident(client, "bob")
    ticket = await start(client, alice)
    assert (await send(client, bob, ticket, jpeg_with_gps())).status_code == 404
    media = (await send(client, alice, ticket, jpeg_with_gps())).json()
    response = await client.get(f"/api/v1/media/{media['id']}", headers=bob)
    assert response.status_code == 404 and "url" not in response.text


async def test_signed_urls_cannot_be_forged_or_reused_after_expiry(client):
    alice = await resident(client)
    ticket = await start(client, alice)
    media = (await send(client, alice, ticket, jpeg_with_gps())).json()
    url = urlparse(media["url"])
    query = parse_qs(url.query)
    tampered = f"{url.path}?e={query['e'][0]}&sig={'0' * 64}"
    assert (await client.get(tampered)).status_code == 403
    expired = f"{url.path}?e=1000&sig={query['sig'][0]}"
    assert (await client.get(expired)).status_code == 403
    other_key = url.path.replace(".jpg", "_thumb.jpg") + "?" + url.query
    assert (await client.get(other_key)).status_code == 403


async def test_nobody_can_attach_someone_elses_photo(client):
    alice_headers = await resident(client, "alice")
    await resident(client, "bob")
    ticket = await start(client, alice_headers)
    media = (await send(client, alice_headers, ticket, jpeg_with_gps())).json()
    alice = await User.get(openid="dev-alice")
    bob = await User.get(openid="dev-bob")
    attached = await service.claim_for_attachment(owner=alice, media_ids=[media["id"]],
                                                  purpose=MediaPurpose.REPORT)
    assert [m.id for m in attached] == [media["id"]]
    with pytest.raises(Invalid) as refused:
        await service.claim_for_attachment(owner=bob, media_ids=[media["id"]],
                                           purpose=MediaPurpose.REPORT)
    assert refused.value.details["media_ids"] == [media["id"]]


async def test_unknown_purpose_is_a_422(client):
    response = await client.post("/api/v1/media/uploads", json={"purpose": "selfie"},
                                 headers=await resident(client))
    assert response.status_code == 422


# --- Qiniu -------------------------------------------------------------------------------

AK, SK = "test-access-key", "test-secret-key-0123456789abcdef"


@pytest.fixture
def qiniu(client):
    base_settings(qiniu_access_key=AK, qiniu_secret_key=SK, qiniu_bucket="gongzhi-test",
                  qiniu_domain="https://img.example.gov.cn")
    yield Auth(AK, SK)


def policy_of(token: str) -> dict:
    encoded = token.split(":")[2]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


async def qiniu_callback(client, auth, ticket, *, mime="image/jpeg", fsize=12345, sign=True):
    body = (f"key={ticket['key']}&hash=Fh8x&fsize={fsize}&mime={mime}&w=640&h=480"
            f"&media_id={ticket['media_id']}")
    url = "http://testserver/api/v1/media/qiniu/callback"
    content_type = "application/x-www-form-urlencoded"
    # Qiniu signs callbacks as QBox with our keys; the real SDK computes the same signature.
    token = auth.token_of_request(url, body, content_type) if sign else "forged:sig"
    return await client.post("/api/v1/media/qiniu/callback", content=body.encode(), headers={
        "Content-Type": content_type, "Authorization": f"QBox {token}"})


async def test_with_qiniu_the_client_gets_a_locked_down_upload_token(client, qiniu):
    alice = await resident(client)
    ticket = await start(client, alice)
    assert ticket["method"] == "qiniu"
    policy = policy_of(ticket["token"])
    assert policy["scope"] == f"gongzhi-test:{ticket['key']}"
    assert policy["saveKey"] == ticket["key"] and policy["forceSaveKey"] is True
    assert policy["fsizeLimit"] == 10 * 1024 * 1024
    assert policy["mimeLimit"] == "image/jpeg;image/png;image/webp"
    assert policy["callbackUrl"] == "http://testserver/api/v1/media/qiniu/callback"
    assert f"media_id={ticket['media_id']}" in policy["callbackBody"]
    assert policy["deadline"] > 0


async def test_a_signed_qiniu_callback_records_the_photo(client, qiniu):
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await qiniu_callback(client, qiniu, ticket)
    assert response.status_code == 200, response.text
    assert response.json() == {"media_id": ticket["media_id"], "status": "ready"}
    detail = (await client.get(f"/api/v1/media/{ticket['media_id']}", headers=alice)).json()
    url = urlparse(detail["url"])
    assert url.netloc == "img.example.gov.cn"
    assert "imageMogr2/auto-orient/strip" in url.query  # EXIF stripped on every read
    assert "e=" in url.query and "token=" in url.query
    # Qiniu retries callbacks: the same one again is answered the same
    assert (await qiniu_callback(client, qiniu, ticket)).status_code == 200


async def test_a_forged_qiniu_callback_records_nothing(client, qiniu):
    alice = await resident(client)
    ticket = await start(client, alice)
    forged = await qiniu_callback(client, qiniu, ticket, sign=False)
    assert forged.status_code == 401 and error_code(forged) == "invalid_callback_signature"
    wrong_keys = await qiniu_callback(client, Auth(AK, "another-secret"), ticket)
    assert wrong_keys.status_code == 401
    detail = (await client.get(f"/api/v1/media/{ticket['media_id']}", headers=alice)).json()
    assert detail["status"] == "pending" and detail["url"] is None


async def test_a_qiniu_callback_for_a_non_image_is_refused(client, qiniu):
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await qiniu_callback(client, qiniu, ticket, mime="text/html")
    assert response.status_code == 415


async def test_a_qiniu_callback_without_qiniu_configured_is_not_found(client):
    # Local storage (the default): no upload goes through Qiniu, so no callback can be real.
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await qiniu_callback(client, Auth(AK, SK), ticket)
    assert response.status_code == 404 and error_code(response) == "qiniu_not_configured"


async def test_a_qiniu_callback_with_an_enormous_media_id_records_nothing(client, qiniu):
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await qiniu_callback(client, qiniu, {**ticket, "media_id": 2**63})
    assert response.status_code == 404 and error_code(response) == "media_not_found"


async def test_a_photo_id_beyond_any_stored_id_is_refused_as_invalid_media(client, city):
    from tests.tickets.helpers import report_body

    for huge in (2**31, 2**63, 2**64):
        response = await client.post("/api/v1/tickets", headers=city.resident,
                                     json=report_body(media_ids=[huge]))
        assert response.status_code == 422, (huge, response.text)
        assert error_code(response) == "invalid_media"
        assert response.json()["error"]["details"]["media_ids"] == [huge]
