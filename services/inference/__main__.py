"""`python -m services.inference` — run the inference service (`--migrate-only` applies migrations and exits)."""

from services.inference.app import MIGRATIONS, SCHEMA, create_app
from services.inference.settings import InferenceSettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: InferenceSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(InferenceSettings, create_app, migrate=_migrate)
