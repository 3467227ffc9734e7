"""`python -m services.market` — run the market service (`--migrate-only` applies migrations and exits)."""

from services.market.app import MIGRATIONS, SCHEMA, create_app
from services.market.settings import MarketSettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: MarketSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(MarketSettings, create_app, migrate=_migrate)
