"""`python -m services.webhooks` — run the webhooks service (`--migrate-only` applies migrations and exits)."""

from services.webhooks.app import MIGRATIONS, SCHEMA, create_app
from services.webhooks.settings import WebhooksSettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: WebhooksSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(WebhooksSettings, create_app, migrate=_migrate)
