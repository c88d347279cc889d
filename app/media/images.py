"""Untrusted image ingestion: validate, normalise and re-encode resident photos.

Residents upload photos of street problems from the WeChat mini-program. Those bytes
are attacker-controlled, so everything here treats them as hostile:

* the format is sniffed from magic bytes (file names and Content-Type are ignored);
* only the JPEG, PNG and WEBP decoders are reachable;
* the declared pixel count is checked before a single pixel is decoded;
* the pixels are re-encoded into a fresh JPEG that carries no metadata at all
  (EXIF GPS would leak residents' home locations) and no trailing bytes (polyglots).

This module is deliberately synchronous and pure (bytes in, bytes out, no I/O, no
database, no web framework). Decoding and resizing are CPU-bound and take memory in
proportion to the pixels, so the API never calls :func:`process_image` itself: it checks
the headers with :func:`check_upload` (cheap) and hands the rest to a bounded pool of
recycled worker processes (app/media/workers.py), so neither the event loop nor the API
process's memory pays for a hostile image.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import (
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,  # noqa: F401  (registered up front, see _ALLOWED_FORMATS)
    PngImagePlugin,  # noqa: F401
    WebPImagePlugin,  # noqa: F401
)

__all__ = ["ImageRejected", "ProcessedImage", "check_upload", "process_image"]

# Importing the three plugins above registers them in Image.OPEN, so Image.open(...,
# formats=...) never needs to fall back to Image.init() (which imports every plugin).
# Passing ``formats`` is what actually keeps the other decoders unreachable:
# CVE-2026-40192 (a FITS GZIP bomb) showed unused decoders are pure attack surface.
_ALLOWED_FORMATS = ["JPEG", "PNG", "WEBP"]

_OUTPUT_MIME = "image/jpeg"
_OUTPUT_EXT = "jpg"
_JPEG_QUALITY = 85
_THUMB_QUALITY = 80
_WHITE = (255, 255, 255)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


class ImageRejected(Exception):
    """The upload is not an acceptable image.

    ``code`` is a stable English identifier for clients and logs; ``message`` is Chinese
    text that can be shown to residents as-is. The web layer maps ``too_large`` to 413,
    ``unsupported_media_type`` to 415 and everything else to 400/422.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    content: bytes  # re-encoded JPEG, metadata-free
    mime: str
    ext: str
    width: int
    height: int
    thumbnail: bytes  # JPEG, metadata-free
    sha256: str  # hex digest of ``content``
    size: int  # len(content)


def _sniff_format(data: bytes) -> str | None:
    """Return the Pillow format name implied by the leading magic bytes, or None."""
    if data.startswith(_JPEG_SIGNATURE):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        "image_too_many_pixels",
        f"图片分辨率过高（不超过 {max_pixels // 1_000_000} 百万像素），请压缩后重新上传",
    )


def _corrupt() -> ImageRejected:
    return ImageRejected("corrupt_image", "图片已损坏或不完整，请重新拍摄或选择其他图片")


def _to_rgb_or_rgba(im: Image.Image) -> Image.Image:
    """Normalise any decoded mode to RGB, or RGBA when the image has transparency."""
    if im.mode.startswith("I") or im.mode == "F":
        # 16-bit greyscale PNGs decode as I;16/I. A plain convert("L") clips everything
        # above 255 to white, so scale 0..65535 down to 0..255 first.
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "P" and "transparency" in im.info:
        flat = _flatten_palette(im)
        if flat is not None:
            return flat
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        # Palette/greyscale/RGB images with a tRNS key become real alpha here.
        return im.convert("RGBA")
    if im.mode != "RGB":
        # CMYK/YCbCr JPEGs, L/1/P PNGs...; JPEG output must be RGB anyway.
        return im.convert("RGB")
    return im


def _flatten_palette(im: Image.Image) -> Image.Image | None:
    """A transparent palette image as RGB on white, by blending the palette, not the pixels.

    Why: the generic path (RGBA, then a premultiplied copy to resize) holds two 4-byte
    copies of every pixel; a tiny palette PNG of tens of megapixels is the classic
    decompression bomb, and blending its at most 256 palette entries with white gives the
    same result as flattening the pixels. None when the transparency is not a plain tRNS.
    """
    palette = im.getpalette("RGB")
    trns = im.info.get("transparency")
    if not palette or not isinstance(trns, int | bytes):
        return None
    count = len(palette) // 3
    alpha = [255] * count
    if isinstance(trns, int):
        if 0 <= trns < count:
            alpha[trns] = 0
    else:
        alpha[: len(trns)] = list(trns[:count])
    flat = [(value * alpha[i // 3] + 255 * (255 - alpha[i // 3]) + 127) // 255
            for i, value in enumerate(palette[: count * 3])]
    im.putpalette(flat, "RGB")
    del im.info["transparency"]
    return im.convert("RGB")


def _flatten_onto_fresh_canvas(im: Image.Image) -> Image.Image:
    """Paste the pixels onto a brand-new RGB image.

    JPEG has no alpha, so transparent areas become white (not black, Pillow's default
    for a bare convert). Using a fresh ``Image.new`` also guarantees an empty ``.info``
    and no stale ``encoderinfo``: Pillow's JPEG writer silently falls back to
    ``im.info["comment"]`` when no comment is passed, so copying ``.info`` along
    (as convert()/copy()/exif_transpose() do) would leak the uploader's COM segment.
    """
    canvas = Image.new("RGB", im.size, _WHITE)
    if im.mode == "RGBA":
        canvas.paste(im, mask=im.getchannel("A"))
    else:
        canvas.paste(im)
    return canvas


def _encode_jpeg(im: Image.Image, *, quality: int, progressive: bool) -> bytes:
    """Encode ``im`` (a fresh, info-less RGB image) as a metadata-free JPEG."""
    buf = io.BytesIO()
    # exif/xmp/icc_profile are never passed; comment="" overrides the .info fallback
    # as belt and braces. Only a JFIF APP0 header (no identifying data) is written.
    im.save(
        buf,
        format="JPEG",
        quality=quality,
        optimize=True,
        progressive=progressive,
        comment=b"",
    )
    return buf.getvalue()


def _open_checked(
    data: bytes, *, max_bytes: int, max_pixels: int, max_decoded_pixels: int, max_side: int
) -> Image.Image:
    """Open ``data`` (headers only) and refuse it unless decoding it is affordable."""
    if max_bytes <= 0 or max_pixels <= 0 or max_decoded_pixels <= 0 or max_side <= 0:
        raise ValueError("limits must be positive")

    # Why: a zero-byte upload is a client bug, give it a clear message.
    if not data:
        raise ImageRejected("empty_file", "上传的文件为空，请重新选择图片")

    # Why: bound memory/CPU before touching the decoder at all.
    if len(data) > max_bytes:
        raise ImageRejected(
            "too_large",
            f"图片文件过大，请上传不超过 {max_bytes / (1024 * 1024):.0f} MB 的图片",
        )

    # Why: the declared type and file name are attacker-controlled; the magic bytes
    # decide. SVG (scripts), GIF, PDF, ZIP, HTML and text never reach Pillow.
    sniffed = _sniff_format(data)
    if sniffed is None:
        raise ImageRejected(
            "unsupported_media_type", "不支持的文件类型，请上传 JPG、PNG 或 WEBP 格式的图片"
        )

    # Why: a truncated image must be rejected, not silently padded with grey. This
    # flag is process-global; if some other code flipped it we cannot detect
    # truncation, so fail closed instead of quietly accepting broken uploads.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")

    try:
        # Why: escalate Pillow's DecompressionBombWarning to an error. catch_warnings
        # is process-global (not thread-safe before 3.14), which is acceptable: the
        # authoritative guard is the explicit max_pixels check below, this is only
        # defence in depth.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)

            # Why: formats= keeps every other decoder (FITS, TIFF, EPS, ...) out of reach.
            im: Image.Image = Image.open(io.BytesIO(data), formats=_ALLOWED_FORMATS)

        # Why: the container must match its magic bytes (phone JPEGs with a
        # multi-picture extension legitimately open as MPO).
        if im.format != sniffed and not (sniffed == "JPEG" and im.format == "MPO"):
            raise _corrupt()

        # Why: header-declared dimensions are checked before any pixel is
        # decoded, so a tiny file claiming 20000x20000 costs microseconds and no
        # allocation.
        width, height = im.size
        if width <= 0 or height <= 0:
            raise _corrupt()
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)

        # Why: for big JPEGs let libjpeg scale down by 1/2..1/8 while decoding
        # (never below max_side), saving memory and time. No-op for PNG/WEBP.
        if sniffed == "JPEG":
            im.draft("RGB", (max_side, max_side))

        # Why: the decode budget. im.size is now what load() will allocate (after any
        # draft scaling), so an image too big to decode is refused before decoding it.
        if im.size[0] * im.size[1] > min(max_pixels, max_decoded_pixels):
            raise _too_many_pixels(min(max_pixels, max_decoded_pixels))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # any parser failure on hostile input == corrupt
        raise _corrupt() from exc
    return im


def check_upload(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int = 50_000_000,
    max_decoded_pixels: int = 24_000_000,
    max_side: int = 2560,
) -> None:
    """Everything :func:`process_image` refuses before decoding, without decoding.

    Reads the headers only (no pixel buffer, microseconds), so the API process can turn
    away a decompression bomb, a wrong type or an oversize file at once instead of queueing
    it for an image worker. Raises :class:`ImageRejected` like :func:`process_image`.
    """
    _open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels,
                  max_decoded_pixels=max_decoded_pixels, max_side=max_side).close()


def process_image(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int = 50_000_000,
    max_decoded_pixels: int = 24_000_000,
    max_side: int = 2560,
    thumb_side: int = 320,
) -> ProcessedImage:
    """Validate an untrusted upload and return a metadata-free JPEG plus thumbnail.

    Synchronous, CPU-bound and side-effect free. The API runs it in an image worker
    process (app/media/workers.py), never on the event loop.

    ``max_pixels`` bounds what the header may declare; ``max_decoded_pixels`` bounds what is
    actually decoded (after JPEG draft scaling), which is what costs memory: about 4 bytes a
    pixel for the decoded image plus a converted copy. A 48 MP phone JPEG decodes at 1/2
    scale (12 MP) and passes; a 49 MP PNG, which has no reduced decode, does not.

    Raises :class:`ImageRejected` with one of the codes ``empty_file``, ``too_large``,
    ``unsupported_media_type``, ``image_too_many_pixels`` or ``corrupt_image``.
    """
    if thumb_side <= 0:
        raise ValueError("limits must be positive")
    im = _open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels,
                       max_decoded_pixels=max_decoded_pixels, max_side=max_side)
    try:
        # Why: force the full decode now so truncated or malformed data fails
        # here, as corrupt_image, rather than later in resize/save.
        im.load()
    except Exception as exc:  # any decoder failure on hostile input == corrupt
        raise _corrupt() from exc

    try:
        # Why: phones store rotation in EXIF Orientation; we are about to drop all
        # EXIF, so bake the rotation into the pixels first (6 -> upright, w/h swap).
        # in_place: no second full-size copy for the (usual) photo that needs no rotation.
        try:
            ImageOps.exif_transpose(im, in_place=True)
        except Exception:  # malformed EXIF must not cost the resident the photo
            pass

        # Why: JPEG output needs RGB; keep alpha for now so it can be flattened
        # properly after resizing (Pillow resizes RGBA premultiplied).
        im = _to_rgb_or_rgba(im)

        # Why: cap storage and bandwidth; residents' photos do not need > max_side.
        # reducing_gap: shrink by an integer factor with a cheap box reduce() first, then
        # LANCZOS the rest of the way; a big image is never resampled at full size.
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)

        # Why: flatten transparency onto white and drop every bit of .info.
        clean = _flatten_onto_fresh_canvas(im)

        # Why: re-encoding pixels into a new JPEG discards EXIF (GPS!), XMP, ICC,
        # comments and anything appended after the image (ZIP/HTML/PHP polyglots).
        content = _encode_jpeg(clean, quality=_JPEG_QUALITY, progressive=True)

        # Why: a small preview for list views; same no-metadata guarantees.
        thumb = clean.copy()
        thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
        thumbnail = _encode_jpeg(thumb, quality=_THUMB_QUALITY, progressive=False)
    except Exception as exc:  # e.g. exotic modes Pillow cannot convert
        raise _corrupt() from exc

    return ProcessedImage(
        content=content,
        mime=_OUTPUT_MIME,
        ext=_OUTPUT_EXT,
        width=clean.width,
        height=clean.height,
        thumbnail=thumbnail,
        # Why: content-addressed storage / dedup key, over the bytes we actually store.
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
    )
