"""All SQL of the inference service (schema `inference`; the pool's search_path points at it), one
module per aggregate: `models`, `generations`, `outputs`; the row types in `rows`.

Reads answer typed rows (frozen dataclasses), never raw `asyncpg.Record`s; jsonb columns travel as
Python values (the pool's json codec encodes and decodes them).
"""

from services.inference.store.generations import *  # noqa: F403
from services.inference.store.models import *  # noqa: F403
from services.inference.store.outputs import *  # noqa: F403
from services.inference.store.rows import *  # noqa: F403
