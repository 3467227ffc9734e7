"""Settings of the market service (`ATELIER_*` environment variables).

Beyond the shared service and database variables:

- `ATELIER_MARKET_STARTING_GRANT` (100): credits every account opens with (from the `mint` account).
- `ATELIER_MARKET_LICENCE_KEY` (unset): the platform's Ed25519 licence-signing key, PEM (production:
  from a secret). Unset: a key generated once under `<state_dir>/market/licence-ed25519.pem`.
- `ATELIER_MARKET_TRAINER_TIMEOUT_S`, `ATELIER_MARKET_COMMUNITY_TIMEOUT_S` (10): calls to them.
- `ATELIER_MARKET_SWEEP_INTERVAL_S` (30), `ATELIER_MARKET_SWEEP_AFTER_S` (120): how often, and after
  how long held, a reservation is looked up at inference and decided (sweeper.py).
- `ATELIER_MARKET_GENERATIONS_MAX_DELIVER` (50): redeliveries of a generation's outcome event
  before it is given up (each settles or releases at most once whatever the count).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shared.settings import DatabaseSettings, ServiceSettings


class MarketSettings(ServiceSettings, DatabaseSettings):
    service_name: str = "market"
    http_port: int = Field(8086, ge=0, le=65535)

    market_starting_grant: int = Field(100, ge=0, le=1_000_000_000)
    market_licence_key: SecretStr = SecretStr("")
    market_trainer_timeout_s: float = Field(10.0, gt=0)
    market_community_timeout_s: float = Field(10.0, gt=0)
    market_generations_max_deliver: int = Field(50, ge=1)
    market_inference_timeout_s: float = Field(10.0, gt=0)
    market_sweep_interval_s: float = Field(30.0, gt=0)
    market_sweep_after_s: float = Field(120.0, gt=0)

    @property
    def licence_key_file(self) -> Path:
        return self.state_dir / "market" / "licence-ed25519.pem"
