"""`python -m services.trainer` — run the trainer service (`--migrate-only` applies migrations and exits)."""

from services.trainer.app import MIGRATIONS, SCHEMA, create_app
from services.trainer.settings import TrainerSettings
from shared.contexts import migrate
from shared.entrypoint import run_service


async def _migrate(settings: TrainerSettings) -> None:
    await migrate(settings, SCHEMA, MIGRATIONS)


if __name__ == "__main__":
    run_service(TrainerSettings, create_app, migrate=_migrate)
