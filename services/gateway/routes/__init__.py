"""The gateway's public routes, one module per backend service.

Each module has `setup(app)` to register its routes and `OPENAPI_PATHS` describing them.
"""

from services.gateway.routes import assets, community, inference, market, trainer, webhooks

MODULES = (community, assets, trainer, inference, webhooks, market)
