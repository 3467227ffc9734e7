"""The trainer's contract operations (`shared.contracts.trainer`), all acting as the calling user:
`models.create`, `models.get` (anyone's public model too), `models.directions`, `models.list`, `models.cancel`,
`models.refine`, `models.update`, `models.retrain`, `training.uses`, `models.advice`
(services/trainer/advice.py), `models.seed_suggestions` (services/trainer/seeds.py)."""

from __future__ import annotations

from services.trainer import sharing
from services.trainer.service import ModelService
from shared.contracts import trainer as t
from shared.contracts.trainer_advice import TrainingSetAdvice, TrainingSetAdviceRequest
from shared.contracts.trainer_seeds import SeedSuggestions, SeedSuggestionsRequest
from shared.messaging.rpc import Call, RpcServer


def register(rpc: RpcServer, service: ModelService) -> None:
    async def create(req: t.StyleModelCreate, call: Call) -> t.StyleModel:
        return await service.create(call.actor, req, call.idempotency_key)

    async def get(req: t.StyleModelRef, call: Call) -> t.StyleModel:
        return await sharing.page(service.pool, call.actor_id, req.id)

    async def directions(req: t.StyleModelVersionRef, call: Call) -> t.LatentDirections:
        return await service.directions(call.actor, req)

    async def list_models(req: t.StyleModelListQuery, call: Call) -> t.StyleModelListing:
        return await sharing.list_models(service.pool, call.actor, req)

    async def update(req: t.StyleModelUpdate, call: Call) -> t.StyleModel:
        return await sharing.update(service.pool, call.actor, req)

    async def retrain(req: t.StyleModelRetrain, call: Call) -> t.StyleModelAccepted:
        return await sharing.retrain(service.pool, service.settings, call.actor, req)

    async def uses(req: t.TrainingUsesQuery, call: Call) -> t.TrainingUses:
        return await sharing.training_uses(service.pool, call.actor, req)

    async def cancel(req: t.StyleModelRef, call: Call) -> t.StyleModelAccepted:
        return await service.cancel(call.actor, req.id)

    async def refine(req: t.StyleModelRefine, call: Call) -> t.StyleModelAccepted:
        return await service.refine(call.actor, req)

    async def advice(req: TrainingSetAdviceRequest, call: Call) -> TrainingSetAdvice:
        assert service.advisor is not None, "the app sets the advisor before serving"
        return await service.advisor.advise(call.actor, req)

    rpc.serve(t.MODELS_CREATE, create)
    rpc.serve(t.MODELS_GET, get)
    rpc.serve(t.MODELS_DIRECTIONS, directions)
    rpc.serve(t.MODELS_LIST, list_models)
    rpc.serve(t.MODELS_CANCEL, cancel)
    rpc.serve(t.MODELS_REFINE, refine)
    rpc.serve(t.MODELS_UPDATE, update)
    rpc.serve(t.MODELS_RETRAIN, retrain)
    rpc.serve(t.TRAINING_USES, uses)
    async def seed_suggestions(req: SeedSuggestionsRequest, call: Call) -> SeedSuggestions:
        assert service.seeds is not None, "the app sets the seed finder before serving"
        return await service.seeds.suggest(call.actor, req)

    rpc.serve(t.MODELS_ADVICE, advice)
    rpc.serve(t.MODELS_SEED_SUGGESTIONS, seed_suggestions)
