"""RPC endpoints (`svc.community.<op>`): parse, call the domain module, reply.

The gateway forwards public requests here as the authenticated actor; internal callers (trainer,
inference) use `works.training_set`, `works.create` and `users.get` directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS
from pydantic import BaseModel, Field

from services.community import accounts, collections, feeds, insights, moderation, training, works
from services.community.deps import Deps
from services.community.idempotency import key_from
from services.community.schemas import (
    AiWorkCreate,
    Clean,
    CollectionCreate,
    CollectionPatch,
    CollectionsQuery,
    CommentBody,
    LoginBody,
    ModerationDecision,
    Page,
    ProfilePatch,
    ReportBody,
    SignupBody,
    WorkPatch,
    WorksQuery,
)
from shared.messaging.rpc import RpcRequest, RpcServer


class ById(Clean):
    id: str = Field(min_length=1, max_length=64)


class ByUsername(Clean):
    username: str = Field(min_length=1, max_length=64)


class AssetRef(Clean):
    asset_id: str = Field(min_length=1, max_length=64)


class UserRef(Clean):
    user_id: str = Field(min_length=1, max_length=64)


class TrainingSetQuery(Clean):
    work_ids: list[str] | None = Field(None, max_length=1000)
    collection_id: str | None = None


def _body(req: RpcRequest, model: type[BaseModel], drop: tuple[str, ...] = ("id",)) -> Any:
    """The request model from the payload minus routing fields (path parameters)."""
    data = req.data if isinstance(req.data, dict) else {}
    return RpcRequest({k: v for k, v in data.items() if k not in drop}, req.headers).parse(model)


def handlers(deps: Deps) -> dict[str, Callable[[RpcRequest], Awaitable[Any]]]:
    d = deps
    return {
        # accounts
        "auth.signup": lambda req: accounts.signup(d, req.parse(SignupBody)),
        "auth.login": lambda req: accounts.login(d, req.parse(LoginBody)),
        "users.me": lambda req: accounts.me(d, req.require_actor()),
        "users.update_me": lambda req: accounts.update_me(d, req.require_actor(), req.parse(ProfilePatch)),
        "users.profile": lambda req: accounts.profile(d, req.actor_id, req.parse(ByUsername).username),
        "users.followees": lambda req: accounts.followees(d, req.require_actor()),
        "users.get": lambda req: accounts.public_user(d, req.parse(UserRef).user_id),
        "users.follow": lambda req: accounts.follow(d, req.require_actor(), req.parse(ByUsername).username, on=True),
        "users.unfollow": lambda req: accounts.follow(d, req.require_actor(), req.parse(ByUsername).username,
                                                      on=False),
        # works
        "works.create": lambda req: works.create(d, req.require_actor(), req.parse(AiWorkCreate),
                                                 key_from(req.headers)),
        "works.get": lambda req: works.get(d, req.actor_id, req.parse(ById).id),
        "works.update": lambda req: works.update(d, req.require_actor(), req.parse(ById).id,
                                                 _body(req, WorkPatch)),
        "works.delete": lambda req: works.delete(d, req.require_actor(), req.parse(ById).id),
        "works.like": lambda req: works.like(d, req.require_actor(), req.parse(ById).id, on=True),
        "works.unlike": lambda req: works.like(d, req.require_actor(), req.parse(ById).id, on=False),
        "works.comment": lambda req: works.comment(d, req.require_actor(), req.parse(ById).id,
                                                   _body(req, CommentBody), key_from(req.headers)),
        "works.comments": lambda req: works.comments(d, req.actor_id, req.parse(ById).id, _body(req, Page)),
        "works.report": lambda req: works.report(d, req.require_actor(), req.parse(ById).id,
                                                 _body(req, ReportBody)),
        "works.list": lambda req: feeds.listing(d, req.actor_id, req.parse(WorksQuery)),
        "works.training_set": lambda req: _training_set(d, req),
        "works.using_asset": lambda req: works.using_asset(d, req.parse(AssetRef).asset_id),
        # moderation
        "moderation.queue": lambda req: moderation.queue(d, req.require_actor(), req.parse(Page)),
        "moderation.decide": lambda req: moderation.decide(d, req.require_actor(), req.parse(ById).id,
                                                           _body(req, ModerationDecision)),
        # feeds
        "feeds.following": lambda req: feeds.following(d, req.require_actor(), req.parse(Page)),
        "feeds.trending": lambda req: feeds.trending(d, req.actor_id, req.parse(Page)),
        "feeds.for_you": lambda req: feeds.for_you(d, req.actor_id, req.parse(Page)),
        # collections
        "collections.create": lambda req: collections.create(d, req.require_actor(), req.parse(CollectionCreate),
                                                             key_from(req.headers)),
        "collections.list": lambda req: collections.listing(d, req.actor_id, req.parse(CollectionsQuery)),
        "collections.get": lambda req: collections.get(d, req.actor_id, req.parse(ById).id),
        "collections.update": lambda req: collections.update(d, req.require_actor(), req.parse(ById).id,
                                                             _body(req, CollectionPatch)),
        "collections.delete": lambda req: collections.delete(d, req.require_actor(), req.parse(ById).id),
        # insights
        "insights.get": lambda req: insights.insights(d, req.require_actor()),
    }


async def _training_set(deps: Deps, req: RpcRequest) -> Any:
    query = req.parse(TrainingSetQuery)
    return await training.training_set(deps, req.require_actor(), query.work_ids, query.collection_id)


def build_rpc_server(nc: NATS, deps: Deps) -> RpcServer:
    server = RpcServer(nc, "community")
    for operation, handler in handlers(deps).items():
        server.add(operation, handler)
    return server
