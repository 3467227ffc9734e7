"""`python -m services.assets` — run the assets service (`--migrate-only` applies migrations and exits)."""

from services.assets.app import MIGRATIONS, SCHEMA, create_app
from services.assets.settings import AssetsSettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: AssetsSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(AssetsSettings, create_app, migrate=_migrate)
