"""Hostile uploads are bounded: decode budget, worker processes, timeouts (issue 10)."""

import io

import pytest
from PIL import Image

from app.media import workers
from app.media.images import ImageRejected, process_image
from tests.factories import error_code, resident
from tests.media.test_uploads import jpeg_with_gps, send, start
from tests.support import base_settings

MB = 1024 * 1024


def _bomb_png(side: int) -> bytes:
    """One colour, palette + transparency: ~60 KB on disk, 49 MP (196 MB RGBA) decoded."""
    image = Image.new("P", (side, side), 1)
    image.putpalette([255, 255, 255, 200, 40, 40] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True, transparency=0)
    return out.getvalue()


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fresh_pool():
    workers.shutdown()
    yield
    workers.shutdown()  # no worker outlives a test that changed the pool's settings


async def test_a_decompression_bomb_png_is_refused_with_422(client):
    bomb = _bomb_png(7000)
    assert len(bomb) < 100 * 1024  # the attack: a small file, 49 megapixels
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, bomb, filename="bomb.png")
    assert response.status_code == 422, response.text
    assert error_code(response) == "image_too_many_pixels"
    assert "百万像素" in response.json()["error"]["message"]
    assert workers._pool is None  # refused from its header in the API process: no worker ran
    # still pending: a real photo afterwards goes through
    assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201


async def test_a_big_but_legit_photo_is_accepted_and_downscaled(client):
    # 24 MP, as a phone's high-resolution mode stores it; decoded at 1/2 scale (draft).
    photo = _encode(Image.linear_gradient("L").resize((6000, 4000)).convert("RGB"), "JPEG",
                    quality=85)
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, photo)
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (2560, 1707)


async def test_a_decode_over_its_time_is_killed_and_refused_then_the_pool_recovers(client):
    base_settings(image_timeout_s=0.001)  # no worker can even start in a millisecond
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, jpeg_with_gps())
    assert response.status_code == 422 and error_code(response) == "image_too_complex"

    base_settings()
    assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201


async def test_workers_are_recycled_and_a_fixed_number_run(client):
    base_settings(image_workers=1, image_worker_max_tasks=1)
    alice = await resident(client)
    for _ in range(3):
        ticket = await start(client, alice)
        assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201
    pool = workers._pool
    assert pool is not None and pool.executor._max_workers == 1
    assert not pool._all  # each worker retired after its one task: its memory went back


def test_the_decode_budget_counts_pixels_after_jpeg_draft_scaling() -> None:
    picture = Image.linear_gradient("L").resize((1000, 800)).convert("RGB")
    limits = {"max_bytes": MB, "max_side": 300, "max_decoded_pixels": 300_000}

    # JPEG decodes at 1/2 scale (500x400 = 200,000 pixels): within the budget.
    out = process_image(_encode(picture, "JPEG"), **limits)
    assert (out.width, out.height) == (300, 240)

    # PNG has no reduced decode: 800,000 pixels would be allocated, so it is refused first.
    with pytest.raises(ImageRejected) as excinfo:
        process_image(_encode(picture, "PNG"), **limits)
    assert excinfo.value.code == "image_too_many_pixels"


async def test_past_the_line_limit_an_upload_is_told_to_retry_not_queued(client):
    base_settings(image_queue_max=0)
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, jpeg_with_gps())
    assert response.status_code == 503 and error_code(response) == "image_workers_busy"

    base_settings()
    assert (await send(client, alice, ticket, jpeg_with_gps())).status_code == 201


async def test_an_upload_that_waited_too_long_for_a_worker_is_not_decoded(client):
    base_settings(image_queue_wait_s=0)  # any wait at all is too long
    alice = await resident(client)
    ticket = await start(client, alice)
    response = await send(client, alice, ticket, jpeg_with_gps())
    assert response.status_code == 503 and error_code(response) == "image_workers_busy"
    pool = workers._pool
    assert pool is not None and not pool._all  # no worker process was even started
