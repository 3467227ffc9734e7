"""The community service's contract, one module per area: `accounts`, `works` (with comments,
moderation and the feeds), `collections`, `insights` (and suggestions); `base` holds what they share.
Everything is importable from this package, as before the split.

Request models are what the gateway validates public input with (the service validates again: it
is the authority, and internal callers — trainer, inference, assets, the live feed — skip the
gateway). Response models are the shapes the service answers with and the OpenAPI 2xx schemas.
"""

from shared.contracts.community.accounts import *  # noqa: F403
from shared.contracts.community.base import *  # noqa: F403
from shared.contracts.community.collections import *  # noqa: F403
from shared.contracts.community.insights import *  # noqa: F403
from shared.contracts.community.works import *  # noqa: F403
