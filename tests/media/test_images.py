"""Behavioural tests for app.media.images (pure image ingestion, no DB / web).

Every fixture is generated here with Pillow; no binary files are committed.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFile

from app.media.images import ImageRejected, ProcessedImage, process_image

MB = 1024 * 1024

GPS_MARKER = "GONGZHI-GPS-HOME-MARKER"
XMP_MARKER = "GONGZHI-XMP-HOME-ADDRESS"
COMMENT_MARKER = b"GONGZHI-COMMENT-SECRET"
MAKE_MARKER = "GONGZHI-LEAKY-PHONE"

# Markers that may legitimately appear in a clean baseline/progressive JPEG.
ALLOWED_JPEG_MARKERS = {
    0xE0,  # APP0 / JFIF: density only, nothing identifying
    0xDB,  # DQT
    0xC0,  # SOF0 baseline
    0xC2,  # SOF2 progressive
    0xC4,  # DHT
    0xDA,  # SOS
    0xDD,  # DRI
}


# ---------------------------------------------------------------- helpers


def _jpeg_bytes(im: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", **params)
    return buf.getvalue()


def _encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def _header_segments(jpeg: bytes) -> list[int]:
    """Marker codes of every segment before the first SOS (where metadata lives)."""
    assert jpeg[:2] == b"\xff\xd8"
    pos, markers = 2, []
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, f"bad marker at {pos}"
        marker = jpeg[pos + 1]
        markers.append(marker)
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        pos += 2 + length
    return markers


def _assert_clean_jpeg(data: bytes) -> Image.Image:
    """The bytes are a JPEG carrying no EXIF/XMP/ICC/comment, nothing after EOI."""
    assert data.startswith(b"\xff\xd8\xff")
    assert data.endswith(b"\xff\xd9")
    assert set(_header_segments(data)) <= ALLOWED_JPEG_MARKERS
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert dict(im.getexif()) == {}
    for key in ("exif", "xmp", "comment", "icc_profile"):
        assert key not in im.info
    return im


def _rejected(data: bytes, **kwargs) -> ImageRejected:
    kwargs.setdefault("max_bytes", 10 * MB)
    with pytest.raises(ImageRejected) as excinfo:
        process_image(data, **kwargs)
    err = excinfo.value
    assert err.message  # human-facing text is always present
    assert not err.message.isascii()  # ...and Chinese, for residents
    return err


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny, CRC-valid PNG whose IHDR claims width x height (8-bit RGB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3)  # one filtered row of a 1x1 image
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real 1x1 baseline JPEG with its SOF0 patched to claim width x height."""
    data = bytearray(_jpeg_bytes(Image.new("RGB", (1, 1), "red")))
    sof = data.index(b"\xff\xc0")
    # FFC0, length(2), precision(1), height(2), width(2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _noisy(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def _is_close(pixel: tuple[int, ...], expected: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=True))


# ---------------------------------------------------------------- metadata stripping


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """64x32 JPEG as a phone stores it: sideways pixels + Orientation=6, GPS, XMP,
    ICC profile and a comment. Red block at the stored top-left corner."""
    im = Image.new("RGB", (64, 32), "blue")
    ImageDraw.Draw(im).rectangle((0, 0, 15, 15), fill="red")

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = MAKE_MARKER  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (39.0, 54.0, 27.0)  # GPSLatitude (Beijing-ish)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 30.0)
    gps[18] = GPS_MARKER  # GPSMapDatum, distinctive ASCII we can grep for

    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description exif:GPSLatitude="39,54.45N" note="{XMP_MARKER}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    data = _jpeg_bytes(im, quality=95, exif=exif, xmp=xmp, comment=COMMENT_MARKER, icc_profile=icc)

    # Sanity: the fixture really carries what we claim, otherwise the test is vacuous.
    src = Image.open(io.BytesIO(data))
    assert src.size == (64, 32)
    assert src.getexif()[0x0112] == 6
    assert src.getexif().get_ifd(0x8825)[18] == GPS_MARKER
    assert {"exif", "xmp", "comment", "icc_profile"} <= set(src.info)
    for marker in (GPS_MARKER.encode(), XMP_MARKER.encode(), COMMENT_MARKER):
        assert marker in data
    return data


def test_phone_photo_loses_gps_xmp_icc_and_comment(phone_photo: bytes) -> None:
    result = process_image(phone_photo, max_bytes=10 * MB)

    for blob in (result.content, result.thumbnail):
        out = _assert_clean_jpeg(blob)
        assert out.getexif().get_ifd(0x8825) == {}
        for marker in (
            GPS_MARKER.encode(),
            XMP_MARKER.encode(),
            COMMENT_MARKER,
            MAKE_MARKER.encode(),
            b"http://ns.adobe.com/xap",
            b"Exif\x00\x00",
            b"ICC_PROFILE",
        ):
            assert marker not in blob


def test_phone_photo_with_orientation_6_comes_out_upright(phone_photo: bytes) -> None:
    result = process_image(phone_photo, max_bytes=10 * MB)

    assert (result.width, result.height) == (32, 64)  # swapped vs the stored 64x32
    out = Image.open(io.BytesIO(result.content))
    assert out.size == (32, 64)
    # Rotating 90 CW moves the stored top-left red block to the top-right corner.
    assert _is_close(out.getpixel((28, 3)), (255, 0, 0))
    assert _is_close(out.getpixel((3, 3)), (0, 0, 255))
    assert _is_close(out.getpixel((28, 60)), (0, 0, 255))

    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.size == (32, 64)  # already under thumb_side: not upscaled


# ---------------------------------------------------------------- accepted formats


def _transparent_rgba() -> Image.Image:
    im = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # fully transparent *black*
    ImageDraw.Draw(im).rectangle((20, 0, 39, 19), fill=(0, 128, 0, 255))
    return im


@pytest.mark.parametrize(
    "fmt, params",
    [
        ("PNG", {}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_transparent_png_and_webp_become_jpeg_on_white(fmt: str, params: dict) -> None:
    data = _encode(_transparent_rgba(), fmt, **params)

    result = process_image(data, max_bytes=10 * MB)

    assert result.mime == "image/jpeg"
    assert result.ext == "jpg"
    out = _assert_clean_jpeg(result.content)
    assert out.size == (40, 20)
    # Transparent area is flattened onto white, not the black hidden under alpha 0.
    assert _is_close(out.getpixel((5, 10)), (255, 255, 255))
    assert _is_close(out.getpixel((30, 10)), (0, 128, 0))
    _assert_clean_jpeg(result.thumbnail)


def test_palette_png_with_transparency_key_is_flattened_on_white() -> None:
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 200, 0, 0] + [0] * (256 * 3 - 6))
    ImageDraw.Draw(im).rectangle((5, 0, 9, 9), fill=1)
    data = _encode(im, "PNG", transparency=0)

    out = _assert_clean_jpeg(process_image(data, max_bytes=MB).content)

    assert _is_close(out.getpixel((1, 5)), (255, 255, 255))
    assert _is_close(out.getpixel((8, 5)), (200, 0, 0))


def test_lossy_webp_photo_is_accepted() -> None:
    data = _encode(Image.new("RGB", (30, 30), "orange"), "WEBP", quality=80)

    result = process_image(data, max_bytes=MB)

    assert result.mime == "image/jpeg"
    assert (result.width, result.height) == (30, 30)
    _assert_clean_jpeg(result.content)


def test_multi_picture_jpeg_from_phones_is_accepted() -> None:
    # Some phones write MPO (JPEG + depth/preview frames); Pillow opens it as "MPO".
    first, second = Image.new("RGB", (24, 16), "purple"), Image.new("RGB", (24, 16), "lime")
    data = _encode(first, "MPO", save_all=True, append_images=[second])
    assert data.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(data)).format == "MPO"

    result = process_image(data, max_bytes=MB)

    out = _assert_clean_jpeg(result.content)
    assert out.size == (24, 16)
    assert _is_close(out.getpixel((12, 8)), (128, 0, 128))  # first frame only


def test_sixteen_bit_greyscale_png_keeps_its_tones() -> None:
    im = Image.new("I;16", (4, 4), 0x8000)  # mid grey in 16-bit
    data = _encode(im, "PNG")

    out = _assert_clean_jpeg(process_image(data, max_bytes=MB).content)

    r, g, b = out.getpixel((2, 2))
    assert 110 <= r <= 146 and r == g == b  # not clipped to white


# ---------------------------------------------------------------- decompression bombs


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_declaring(20000, 20000), id="png-ihdr-20000x20000"),
        pytest.param(_jpeg_declaring(20000, 20000), id="jpeg-sof-20000x20000"),
        # 64 MP: above our 50 MP default but below Pillow's own 89 MP warning
        # threshold, so only our explicit header check can catch these two.
        pytest.param(_png_declaring(8000, 8000), id="png-ihdr-8000x8000"),
        pytest.param(_jpeg_declaring(8000, 8000), id="jpeg-sof-8000x8000"),
    ],
)
def test_tiny_file_declaring_huge_dimensions_is_refused_without_decoding(
    data: bytes, monkeypatch
) -> None:
    assert len(data) < 1024  # the attack: a few hundred bytes claiming tens of MP
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)

    err = _rejected(data)

    assert err.code == "image_too_many_pixels"
    assert decoded == []  # refused from the header alone: no pixel buffer allocated


def test_pixel_limit_is_configurable() -> None:
    data = _encode(Image.new("RGB", (100, 100), "white"), "PNG")

    assert _rejected(data, max_pixels=9_999).code == "image_too_many_pixels"
    assert process_image(data, max_bytes=MB, max_pixels=10_000).width == 100


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((10000, 10000), id="pillow-bomb-warning-escalated"),
        pytest.param((20000, 20000), id="pillow-bomb-error"),
    ],
)
def test_pillow_bomb_guard_still_applies_when_our_limit_is_raised(size) -> None:
    # Even a caller passing an absurd max_pixels cannot get past Pillow's own guard;
    # its DecompressionBombWarning is turned into a rejection, not just a log line.
    err = _rejected(_png_declaring(*size), max_pixels=10**12)

    assert err.code == "image_too_many_pixels"


# ---------------------------------------------------------------- polyglots


@pytest.mark.parametrize(
    "trailer",
    [
        pytest.param("zip", id="zip"),
        pytest.param(b"<script>alert(1)</script>", id="html-script"),
        pytest.param(b"<?php system($_GET['c']); ?>", id="php"),
    ],
)
def test_polyglot_trailer_is_dropped(trailer) -> None:
    if trailer == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("evil.jsp", "<% Runtime.getRuntime().exec(request) %>")
        trailer = buf.getvalue()
    markers = [trailer[:16], b"PK\x03\x04", b"PK\x05\x06", b"<script", b"<?php", b"evil.jsp"]
    image = _jpeg_bytes(Image.new("RGB", (48, 48), "teal"))
    data = image + trailer
    assert Image.open(io.BytesIO(data)).size == (48, 48)  # Pillow happily opens it

    result = process_image(data, max_bytes=MB)

    for blob in (result.content, result.thumbnail):
        _assert_clean_jpeg(blob)  # also: nothing after EOI
        for marker in markers:
            assert marker not in blob


# ---------------------------------------------------------------- rejected inputs


def _gif() -> bytes:
    return _encode(Image.new("P", (8, 8)), "GIF")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_gif(), id="gif"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(document.cookie)</script></svg>",
            id="svg",
        ),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', id="svg-xml"
        ),
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", id="pdf"),
        pytest.param(_zip(), id="zip"),
        pytest.param("井盖坏了，请尽快处理".encode(), id="plain-text"),
        pytest.param(b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)>", id="html"),
        pytest.param(random.Random(1234).randbytes(4096), id="random-bytes"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "BMP"), id="bmp"),
        pytest.param(_encode(Image.new("RGB", (8, 8)), "TIFF"), id="tiff"),
        pytest.param(b"RIFF\x00\x00\x00\x00WAVEfmt ", id="riff-wave-not-webp"),
        pytest.param(b"SIMPLE  =                    T" + b" " * 50, id="fits"),
    ],
)
def test_non_jpeg_png_webp_content_is_unsupported_media_type(data: bytes) -> None:
    assert _rejected(data).code == "unsupported_media_type"


def test_only_jpeg_png_webp_decoders_are_reachable(monkeypatch) -> None:
    # Magic-byte sniffing already keeps other formats out; formats= is the second
    # lock (CVE-2026-40192: a FITS GZIP bomb in a decoder nobody meant to use).
    seen = []
    real_open = Image.open

    def spy_open(fp, mode="r", formats=None):
        seen.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spy_open)

    process_image(_jpeg_bytes(Image.new("RGB", (8, 8))), max_bytes=MB)

    assert len(seen) == 1
    assert seen[0] is not None
    assert set(seen[0]) <= {"JPEG", "PNG", "WEBP"}


def test_empty_upload_is_empty_file() -> None:
    assert _rejected(b"").code == "empty_file"


def test_oversized_upload_is_too_large_before_any_decoding() -> None:
    # Not an image at all: if decoding or sniffing ran first we would see another code.
    assert _rejected(b"\x00" * 101, max_bytes=100).code == "too_large"

    image = _jpeg_bytes(_noisy((64, 64)))
    assert _rejected(image, max_bytes=len(image) - 1).code == "too_large"
    assert process_image(image, max_bytes=len(image)).width == 64  # boundary is inclusive


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_image_cut_in_half_is_corrupt(fmt: str) -> None:
    data = _encode(_noisy((128, 128)), fmt)

    assert _rejected(data[: len(data) // 2]).code == "corrupt_image"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xd8\xff" + b"\x00" * 64, id="jpeg-magic-then-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, id="png-magic-then-garbage"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8, id="webp-magic-then-garbage"),
    ],
)
def test_right_magic_but_undecodable_is_corrupt(data: bytes) -> None:
    assert _rejected(data).code == "corrupt_image"


def test_png_with_bad_crc_is_corrupt() -> None:
    data = bytearray(_encode(_noisy((16, 16)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # flip a byte inside the compressed data, CRC now wrong

    assert _rejected(bytes(data)).code == "corrupt_image"


def test_refuses_to_run_if_truncated_images_were_globally_allowed(monkeypatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _jpeg_bytes(_noisy((64, 64)))

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        process_image(data[: len(data) // 2], max_bytes=MB)


def test_library_defaults_keep_truncated_images_rejected() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ---------------------------------------------------------------- resizing & result


def test_large_photo_is_downscaled_and_thumbnailed() -> None:
    im = Image.new("RGB", (4000, 3000), "skyblue")
    ImageDraw.Draw(im).ellipse((1000, 500, 3000, 2500), fill="yellow")
    data = _jpeg_bytes(im, quality=70)

    result = process_image(data, max_bytes=20 * MB)

    assert isinstance(result, ProcessedImage)
    assert (result.width, result.height) == (2560, 1920)
    out = _assert_clean_jpeg(result.content)
    assert out.size == (2560, 1920)
    assert out.info.get("progressive") == 1
    thumb = _assert_clean_jpeg(result.thumbnail)
    assert thumb.size == (320, 240)
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert result.size == len(result.content)


def test_portrait_downscale_respects_custom_limits() -> None:
    data = _encode(Image.new("RGB", (300, 1200), "gray"), "PNG")

    result = process_image(data, max_bytes=MB, max_side=600, thumb_side=100)

    assert (result.width, result.height) == (150, 600)
    assert Image.open(io.BytesIO(result.thumbnail)).size == (25, 100)


def test_processed_image_is_immutable() -> None:
    result = process_image(_jpeg_bytes(Image.new("RGB", (8, 8))), max_bytes=MB)

    with pytest.raises(AttributeError):
        result.size = 0  # type: ignore[misc]


def test_same_upload_gives_same_digest() -> None:
    data = _jpeg_bytes(_noisy((32, 32)))

    first = process_image(data, max_bytes=MB)
    second = process_image(data, max_bytes=MB)

    assert first.sha256 == second.sha256
    assert first.content == second.content
