"""Every event and job the platform publishes, with its payload: one module per publisher
(`community`, `assets`, `trainer`, `inference`, `webhooks`, `market`, `jobs`), all importable from here.

The JSON Schemas shipped in `shared/contracts/events/schemas/` are generated from these classes
(`make schemas`); a test fails when they drift. Add fields freely; never rename or remove one
that subscribers may read without a new subject.
"""

from shared.contracts.events.catalog.assets import *  # noqa: F403
from shared.contracts.events.catalog.community import *  # noqa: F403
from shared.contracts.events.catalog.inference import *  # noqa: F403
from shared.contracts.events.catalog.jobs import *  # noqa: F403
from shared.contracts.events.catalog.market import *  # noqa: F403
from shared.contracts.events.catalog.trainer import *  # noqa: F403
from shared.contracts.events.catalog.types import *  # noqa: F403
from shared.contracts.events.catalog.webhooks import *  # noqa: F403
