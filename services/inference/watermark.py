"""Invisible watermark carrying a short generation id, so a stripped image still leads to its record.

The method is the DWT-SVD quantisation idea of the `invisible-watermark` package (dwtDctSvd), written
here on PyWavelets + numpy:
  * take the luma (Y of YCbCr) of the image, one Haar DWT level, keep the LL band;
  * cut LL into 4x4 blocks; each block carries one bit in its largest singular value s0, quantised
    to the centre of the lower (bit 0) or upper (bit 1) half of a `strength`-sized step
    (quantisation index modulation). The DCT that dwtDctSvd applies before the SVD is orthonormal
    and therefore leaves singular values unchanged, so it is skipped;
  * a frame = 32 payload bits + CRC-16, XORed with a fixed pseudo-random mask (so flat or unmarked
    images do not decode to a valid frame), repeated over all blocks in a keyed shuffled order;
  * decoding averages a soft score per bit over its repetitions; a frame counts only if its CRC
    matches *and* the mean confidence is high, which keeps false positives on unmarked images rare.

Measured on 128 px images (demo art + generator-like images, strength 36, PSNR ≈ 43 dB): 100% after
PNG re-encoding and light noise, 94% after JPEG 85, 88% after JPEG 75, 79-87% after resizing to
0.5-0.75x and back; 256 px: 100% up to JPEG 85. Luma beat chroma on JPEG here (chroma: 18% at JPEG 85
for similar visibility). Brightness shifts, crops and lasting resizes defeat it: it is a hint for
finding the generation record, the signed manifest is the proof. Needs >= 128 px a side.
32 bits suffice for that lookup: the chance that another of N generations shares an id is N/2^32.
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np
import pywt
from ulid import ULID

from services.inference import png_codec

PAYLOAD_BITS = 32
_CRC_BITS = 16
FRAME_BITS = PAYLOAD_BITS + _CRC_BITS
MIN_SIDE = 128
STRENGTH = 36.0
_BLOCK = 4
_CHANNELS = (0,)  # Y (luma) of YCbCr
# A decoded frame needs this mean |soft score| (1 = every copy of every bit agrees perfectly;
# unmarked images sit near 0.2 at 128 px).
MIN_CONFIDENCE = 0.45
_KEY = 0x41_54_45_4C  # fixed key: block order and bit mask; changing it orphans every existing mark

# ITU-R BT.601 full-range (JPEG) RGB <-> YCbCr, as float matrices.
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)


class WatermarkError(ValueError):
    """The image is too small or the payload out of range."""


def short_id(generation_id: str) -> int:
    """The 32-bit watermark payload of a generation: the low 32 bits of its ULID (random part)."""
    return int.from_bytes(ULID.from_str(generation_id).bytes, "big") & ((1 << PAYLOAD_BITS) - 1)


def format_short_id(payload: int) -> str:
    """The payload as the 8-hex-digit string stored next to the generation and returned by verify."""
    return f"{payload:08x}"


def can_embed(width: int, height: int) -> bool:
    return min(width, height) >= MIN_SIDE


def embed(image: bytes | np.ndarray[Any, Any], payload: int, strength: float = STRENGTH,
          ) -> bytes | np.ndarray[Any, Any]:
    """Mark an image (PNG bytes → PNG bytes, or [H,W,3] uint8 → same) with a 32-bit payload."""
    if not (0 <= payload < (1 << PAYLOAD_BITS)):
        raise WatermarkError(f"payload must fit in {PAYLOAD_BITS} bits")
    pixels = png_codec.decode_image(image) if isinstance(image, bytes) else np.asarray(image, np.uint8)
    height, width = pixels.shape[:2]
    if not can_embed(width, height):
        raise WatermarkError(f"image is {width}x{height}; a watermark needs at least {MIN_SIDE} px a side")
    bits = _frame_bits(payload)
    ycc = _to_ycc(pixels)
    h, w = (height // 8) * 8, (width // 8) * 8  # whole 4x4 blocks of the half-size LL band
    for c in _CHANNELS:
        ll, details = pywt.dwt2(ycc[:h, :w, c], "haar")
        blocks = _embed_bits(_blocks(ll), bits[_slot_bits(len(_blocks(ll)))], strength)
        ycc[:h, :w, c] = pywt.idwt2((_unblocks(blocks, ll.shape), details), "haar")
    marked = _to_rgb(ycc)
    return png_codec.encode_png(marked) if isinstance(image, bytes) else marked


def extract(image: bytes | np.ndarray[Any, Any], strength: float = STRENGTH) -> int | None:
    """The payload of a marked image, or None when there is no (readable) mark."""
    decoded = decode_soft(image, strength)
    if decoded is None:
        return None
    payload, confidence = decoded
    return payload if confidence >= MIN_CONFIDENCE else None


def decode_soft(image: bytes | np.ndarray[Any, Any], strength: float = STRENGTH) -> tuple[int, float] | None:
    """(payload, confidence) when the frame's CRC matches, else None. Confidence is in [0, 1]."""
    pixels = png_codec.decode_image(image) if isinstance(image, bytes) else np.asarray(image, np.uint8)
    height, width = pixels.shape[:2]
    if not can_embed(width, height):
        return None
    ycc = _to_ycc(pixels)
    h, w = (height // 8) * 8, (width // 8) * 8
    sums = np.zeros(FRAME_BITS)
    counts = np.zeros(FRAME_BITS)
    for c in _CHANNELS:
        ll, _ = pywt.dwt2(ycc[:h, :w, c], "haar")
        blocks = _blocks(ll)
        s0 = np.linalg.svd(blocks, compute_uv=False)[:, 0]
        # -1 at the centre of the "0" half-step, +1 at the centre of the "1" half-step.
        soft = -np.cos(2 * np.pi * (np.mod(s0, strength) / strength - 0.25))
        slots = _slot_bits(len(blocks))
        np.add.at(sums, slots, soft)
        np.add.at(counts, slots, 1)
    mean = sums / np.maximum(counts, 1)
    code = (mean > 0).astype(np.uint8) ^ _mask()
    payload = int("".join(map(str, code[:PAYLOAD_BITS])), 2)
    crc = int("".join(map(str, code[PAYLOAD_BITS:])), 2)
    if crc != _crc(payload):
        return None
    return payload, float(np.abs(mean).mean())


def _embed_bits(blocks: np.ndarray[Any, Any], bits: np.ndarray[Any, Any], strength: float) -> np.ndarray[Any, Any]:
    u, s, vt = np.linalg.svd(blocks)
    s[:, 0] = (np.floor(s[:, 0] / strength) + 0.25 + 0.5 * bits) * strength
    return np.asarray((u * s[:, None, :]) @ vt)


def _frame_bits(payload: int) -> np.ndarray[Any, Any]:
    word = (payload << _CRC_BITS) | _crc(payload)
    bits = np.array([(word >> (FRAME_BITS - 1 - i)) & 1 for i in range(FRAME_BITS)], dtype=np.uint8)
    return np.asarray(bits ^ _mask())


def _crc(payload: int) -> int:
    return binascii.crc_hqx(payload.to_bytes(PAYLOAD_BITS // 8, "big"), 0xFFFF)


def _mask() -> np.ndarray[Any, Any]:
    return np.random.default_rng(_KEY).integers(0, 2, FRAME_BITS, dtype=np.uint8)


def _slot_bits(n_blocks: int) -> np.ndarray[Any, Any]:
    # Which frame bit each block carries: every bit about equally often, spread over the image.
    return np.random.default_rng(_KEY + n_blocks).permutation(np.arange(n_blocks) % FRAME_BITS)


def _blocks(band: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    bh, bw = band.shape[0] // _BLOCK, band.shape[1] // _BLOCK
    return band.reshape(bh, _BLOCK, bw, _BLOCK).swapaxes(1, 2).reshape(-1, _BLOCK, _BLOCK).copy()


def _unblocks(blocks: np.ndarray[Any, Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    bh, bw = shape[0] // _BLOCK, shape[1] // _BLOCK
    return blocks.reshape(bh, bw, _BLOCK, _BLOCK).swapaxes(1, 2).reshape(shape)


def _to_ycc(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    ycc = pixels.astype(np.float64) @ _RGB_TO_YCC.T
    ycc[..., 1:] += 128.0
    return np.asarray(ycc)


def _to_rgb(ycc: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    ycc = ycc.copy()
    ycc[..., 1:] -= 128.0
    return np.clip(np.rint(ycc @ _YCC_TO_RGB.T), 0, 255).astype(np.uint8)
