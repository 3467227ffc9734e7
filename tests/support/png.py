"""PNG surgery for provenance tests: edit pixels but keep the C2PA manifest chunk."""

from __future__ import annotations

import zlib

from services.inference import png_codec

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, in order."""
    out, pos = [], len(SIGNATURE)
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def assemble(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(len(d).to_bytes(4, "big") + t + d + zlib.crc32(t + d).to_bytes(4, "big") for t, d in parts)
    return SIGNATURE + body


def with_changed_pixel(signed: bytes, y: int = 3, x: int = 4, channel: int = 0) -> bytes:
    """Flip one bit of one pixel and keep the manifest chunk: what a metadata-preserving editor does."""
    pixels = png_codec.decode_image(signed).copy()
    pixels[y, x, channel] ^= 1
    edited = chunks(png_codec.encode_png(pixels))
    manifest = [c for c in chunks(signed) if c[0] == b"caBX"]
    assert manifest, "the image carries no C2PA manifest chunk"
    return assemble([edited[0], *manifest, *edited[1:]])
