"""Who may see which event on the WebSocket: the platform's one audience rule lives in
`shared/contracts/events/audience.py` (webhook delivery applies the same one).

Channels a client subscribes to:
- `me`: the caller's own things — their style models' training (trainer.*), their generations
  (inference.*: `inference.generation.progress` as each image lands, then `.completed`, `.failed`
  or `.canceled`), their own published works, and notifications about them: likes and comments on
  their works, new followers.
- `feed`: public works published by artists the caller follows.
- `public`: every public work published.
An unlisted work is never in `feed` or `public` (only its author sees it in `me`); nobody receives
another user's trainer or inference events.
"""

from __future__ import annotations

from shared.contracts.events.audience import CHANNELS, EventInfo, channel_for, describe, frame

__all__ = ["CHANNELS", "EventInfo", "channel_for", "describe", "frame"]
