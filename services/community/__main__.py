"""`python -m services.community` — run the community service (`--migrate-only` applies migrations and exits)."""

from services.community.app import MIGRATIONS, SCHEMA, create_app
from services.community.settings import CommunitySettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: CommunitySettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(CommunitySettings, create_app, migrate=_migrate)
