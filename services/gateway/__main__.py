"""`python -m services.gateway` — run the public gateway."""

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.entrypoint import run_service

if __name__ == "__main__":
    run_service(GatewaySettings, create_app)
