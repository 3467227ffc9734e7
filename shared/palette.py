"""What a palette means, wherever it is measured: five `#rrggbb` colours, most common first, near
shades merged into one, the most common repeated when there are fewer.

Assets measures an upload's palette from its thumbnail and inference a generated image's from its
pixels, each the cheap way its input allows; both turn their candidate colours into a palette here,
so the two agree on what "the same colour" is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PALETTE_SIZE = 5
# Colours closer than this (RGB distance) are one to the eye: jittered or anti-aliased shades of a
# single paint merge instead of crowding out the other colours.
MERGE_DISTANCE = 48.0
# Measuring is costly on many distinct colours (gradients, JPEG noise): at most this many pixels a side.
SAMPLE_SIDE = 96

Cluster = tuple[float, list[float]]  # (how many pixels, mean RGB)


def palette(candidates: Iterable[tuple[float, Sequence[float]]], count: int = PALETTE_SIZE) -> list[str]:
    """Candidate colours with their pixel counts → `count` colours, most common first."""
    clusters = merge_close([(float(n), [float(v) for v in rgb]) for n, rgb in candidates])
    clusters.sort(key=lambda c: (-c[0], tuple(c[1])))
    colours = ["#{:02x}{:02x}{:02x}".format(*(max(0, min(255, round(v))) for v in rgb))
               for _, rgb in clusters[:count]]
    while len(colours) < count:
        colours.append(colours[0] if colours else "#000000")
    return colours


def merge_close(clusters: list[Cluster]) -> list[Cluster]:
    """Repeatedly merge the closest pair under MERGE_DISTANCE into its weighted mean."""
    clusters = list(clusters)
    while len(clusters) > 1:
        best: tuple[float, int, int] | None = None
        for a in range(len(clusters)):
            ca = clusters[a][1]
            for b in range(a + 1, len(clusters)):
                cb = clusters[b][1]
                distance = ((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2 + (ca[2] - cb[2]) ** 2) ** 0.5
                if distance < MERGE_DISTANCE and (best is None or distance < best[0]):
                    best = (distance, a, b)
        if best is None:
            break
        _, a, b = best
        (wa, ca), (wb, cb) = clusters[a], clusters[b]
        clusters[a] = (wa + wb, [(x * wa + y * wb) / (wa + wb) for x, y in zip(ca, cb, strict=True)])
        del clusters[b]
    return clusters
