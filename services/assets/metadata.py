"""Recognise PNG, JPEG and WebP by their bytes and strip their metadata without re-encoding.

Stripping works on the container (PNG chunks, JPEG segments, RIFF chunks), so the compressed pixel
data is copied byte for byte: the stored image decodes to exactly the pixels that were uploaded.
Dropped: EXIF (GPS, camera, dates), XMP, IPTC, text chunks and comments, and anything after the
image's end marker. Kept: everything that changes how pixels look (colour profiles, gamma,
transparency, JFIF/Adobe markers, animation). One piece of EXIF survives on purpose: when the
orientation tag is not 1, a minimal EXIF block holding only that tag is written back, so phone
photos keep displaying upright while their GPS position is gone.

Files with data after the end of the image (polyglots: PNG+ZIP, JPEG+HTML, ...) or markup hidden in
their metadata are refused rather than cleaned: whoever built them meant them as something else.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass, field

from PIL import Image

from shared.errors import Unprocessable, UnsupportedMediaType

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ORIENTATION_TAG = 0x0112
_MARKUP = re.compile(rb"<\s*(?:script|html|body|iframe|object|embed)\b|<\?php", re.IGNORECASE)
# Ancillary PNG chunks that change rendering or animation; every other ancillary chunk goes.
_PNG_KEEP = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT",
             b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi"}
_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


@dataclass
class Stripped:
    data: bytes
    content_type: str
    orientation: int = 1
    removed: list[str] = field(default_factory=list)  # names of the dropped chunks/segments


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are (PNG, JPEG, WebP), or None."""
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def strip_metadata(data: bytes) -> Stripped:
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedMediaType("only PNG, JPEG and WebP images are accepted (judged by content)")
    strip = {"image/png": _strip_png, "image/jpeg": _strip_jpeg, "image/webp": _strip_webp}[content_type]
    try:
        return strip(data)
    except (struct.error, IndexError):
        raise _truncated() from None


def orientation_of(exif_bytes: bytes | None) -> int:
    if not exif_bytes:
        return 1
    exif = Image.Exif()
    try:
        exif.load(exif_bytes)
        value = int(exif.get(ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block is dropped anyway; it must not sink the upload
        return 1
    return value if 1 <= value <= 8 else 1


def orientation_exif(orientation: int) -> bytes:
    """A TIFF/EXIF block (without the 'Exif\\0\\0' prefix) holding only the orientation tag."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return exif.tobytes().removeprefix(b"Exif\x00\x00")


def _truncated() -> Unprocessable:
    return Unprocessable("the image is truncated or corrupt")


def _check_markup(dropped: bytes) -> None:
    if _MARKUP.search(dropped):
        raise Unprocessable("the image hides markup or script in its metadata (polyglot file)")


def _trailing(rest: bytes) -> None:
    if rest.strip(b"\x00"):
        raise Unprocessable("the file carries data after the end of the image (polyglot file)")


def _strip_png(data: bytes) -> Stripped:
    out = io.BytesIO()
    out.write(PNG_SIGNATURE)
    removed: list[str] = []
    dropped = io.BytesIO()
    exif: bytes | None = None
    pos, exif_slot = len(PNG_SIGNATURE), -1
    while True:
        if pos + 12 > len(data):
            raise _truncated()
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise _truncated()
        critical = not (ctype[0] & 0x20)
        if critical or ctype in _PNG_KEEP:
            if ctype == b"IDAT" and exif_slot < 0:
                exif_slot = out.tell()
            out.write(data[pos:end])
        else:
            removed.append(ctype.decode("latin-1"))
            dropped.write(data[pos + 8:end - 4])
            if ctype == b"eXIf":
                exif = data[pos + 8:end - 4]
        pos = end
        if ctype == b"IEND":
            break
    _trailing(data[pos:])
    _check_markup(dropped.getvalue())
    orientation = orientation_of(exif)
    result = out.getvalue()
    if orientation != 1 and exif_slot > 0:
        payload = orientation_exif(orientation)
        chunk = struct.pack(">I4s", len(payload), b"eXIf") + payload
        chunk += struct.pack(">I", zlib.crc32(chunk[4:]) & 0xFFFFFFFF)
        result = result[:exif_slot] + chunk + result[exif_slot:]
    return Stripped(result if removed else data, "image/png", orientation, removed)


def _keep_jpeg_app(marker: int, body: bytes) -> bool:
    if marker == 0xE0:
        return body.startswith((b"JFIF\x00", b"JFXX\x00"))
    if marker == 0xE2:
        return body.startswith(b"ICC_PROFILE\x00")
    if marker == 0xEE:
        return body.startswith(b"Adobe")
    return False


def _strip_jpeg(data: bytes) -> Stripped:
    out = io.BytesIO()
    out.write(b"\xff\xd8")
    removed: list[str] = []
    dropped = io.BytesIO()
    exif: bytes | None = None
    pos, exif_slot = 2, 2
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise _truncated()
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI
            out.write(b"\xff\xd9")
            pos += 2
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.write(data[pos:pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise _truncated()
        body = data[pos + 4:end]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            if _keep_jpeg_app(marker, body):
                out.write(data[pos:end])
                if marker == 0xE0 and exif_slot == 2:
                    exif_slot = out.tell()  # EXIF goes after JFIF, which must come first
            else:
                removed.append("COM" if marker == 0xFE else f"APP{marker - 0xE0}")
                dropped.write(body)
                if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
                    exif = body
            pos = end
            continue
        out.write(data[pos:end])
        pos = end
        if marker == 0xDA:  # start of scan: copy entropy-coded data up to the next real marker
            scan_end = _scan_end(data, pos)
            out.write(data[pos:scan_end])
            pos = scan_end
    _trailing(data[pos:])
    _check_markup(dropped.getvalue())
    orientation = orientation_of(exif)
    result = out.getvalue()
    if orientation != 1:
        payload = b"Exif\x00\x00" + orientation_exif(orientation)
        segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        result = result[:exif_slot] + segment + result[exif_slot:]
    return Stripped(result, "image/jpeg", orientation, removed)


def _scan_end(data: bytes, pos: int) -> int:
    """Index of the first marker after entropy-coded data (0xFF00 and RSTn belong to the data)."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            raise _truncated()
        nxt = data[found + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            pos = found + 2
        elif nxt == 0xFF:
            pos = found + 1
        else:
            return found


def _strip_webp(data: bytes) -> Stripped:
    (riff_size,) = struct.unpack("<I", data[4:8])
    riff_end = 8 + riff_size
    if riff_end > len(data) or riff_size < 4:
        raise _truncated()
    _trailing(data[riff_end:])
    chunks: list[bytes] = []
    removed: list[str] = []
    dropped = io.BytesIO()
    exif: bytes | None = None
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise _truncated()
        fourcc, size = struct.unpack("<4sI", data[pos:pos + 8])
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > riff_end:
            raise _truncated()
        if fourcc in _WEBP_KEEP:
            chunks.append(data[pos:min(end, riff_end)])
        else:
            removed.append(fourcc.decode("latin-1").strip())
            dropped.write(data[pos + 8:pos + 8 + size])
            if fourcc == b"EXIF":
                exif = data[pos + 8:pos + 8 + size]
        pos = end
    _check_markup(dropped.getvalue())
    orientation = orientation_of(exif)
    if not removed:
        return Stripped(data[:riff_end], "image/webp", 1, removed)
    if chunks and chunks[0].startswith(b"VP8X"):
        flags = chunks[0][8] & ~(_VP8X_EXIF | _VP8X_XMP)
        if orientation != 1:
            payload = orientation_exif(orientation)
            chunks.append(struct.pack("<4sI", b"EXIF", len(payload)) + payload + b"\x00" * (len(payload) & 1))
            flags |= _VP8X_EXIF
        chunks[0] = chunks[0][:8] + bytes([flags]) + chunks[0][9:]
    body = b"WEBP" + b"".join(chunks)
    return Stripped(b"RIFF" + struct.pack("<I", len(body)) + body, "image/webp", orientation, removed)
