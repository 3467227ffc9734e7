"""`python -m services.inference` — run the inference service (`--migrate-only` applies migrations and exits)."""

from services.inference.app import MIGRATIONS, SCHEMA, create_app
from services.inference.settings import InferenceSettings
from shared.resources import migrate
from shared.service import run_service


async def _migrate(settings: InferenceSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(InferenceSettings, create_app, migrate=_migrate)
