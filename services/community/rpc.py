"""Handlers of the community contract (`shared.contracts.community`): call the domain module, reply.

The gateway forwards public requests here as the authenticated actor; internal callers use
`works.training_set` (trainer), `works.create` (inference), `works.using_asset` (assets),
`users.get` and `users.followees` (the gateway's live feed) directly. Requests arrive validated
against their contract model; the actor is checked as each operation declares.
"""

from __future__ import annotations

from typing import Any

from services.community import (
    account_end,
    accounts,
    collections,
    feeds,
    insights,
    moderation,
    suggestions,
    training_sets,
    works,
)
from services.community.deps import Deps
from shared.contracts import community as c
from shared.contracts.common import Page
from shared.messaging.rpc import Call, RpcServer


def register(rpc: RpcServer, d: Deps) -> None:
    """Serve every community operation with the domain modules, bound to `d`."""

    # accounts
    async def signup(req: c.SignupBody, call: Call) -> Any:
        return await accounts.signup(d, req, call.idempotency_key)

    def client(call: Call) -> str:
        """The caller's address as the gateway saw it (only the gateway calls these operations)."""
        return (call.headers.get(c.CLIENT_ADDRESS_HEADER) or "unknown")[:100]

    async def login(req: c.LoginBody, call: Call) -> Any:
        return await accounts.login(d, req, client(call))

    async def delete_me(req: c.AccountDeleteBody, call: Call) -> None:
        await account_end.delete_me(d, call.actor, req, client(call))

    async def change_password(req: c.PasswordChangeBody, call: Call) -> Any:
        return await account_end.change_password(d, call.actor, req, client(call))

    async def export(req: c.ExportQuery, call: Call) -> Any:
        return await account_end.export(d, call.actor, req)

    async def me(req: c.CommunityNoInput, call: Call) -> Any:
        return await accounts.me(d, call.actor)

    async def update_me(req: c.ProfilePatch, call: Call) -> Any:
        return await accounts.update_me(d, call.actor, req)

    async def profile(req: c.UserByName, call: Call) -> Any:
        return await accounts.profile(d, call.actor_id, req.username)

    async def get_user(req: c.UserById, call: Call) -> Any:
        return await accounts.public_user(d, req.user_id)

    async def followees(req: c.CommunityNoInput, call: Call) -> Any:
        return await accounts.followees(d, call.actor)

    async def follow(req: c.UserByName, call: Call) -> None:
        await accounts.follow(d, call.actor, req.username, on=True)

    async def unfollow(req: c.UserByName, call: Call) -> None:
        await accounts.follow(d, call.actor, req.username, on=False)

    rpc.serve(c.AUTH_SIGNUP, signup)
    rpc.serve(c.AUTH_LOGIN, login)
    rpc.serve(c.USERS_ME, me)
    rpc.serve(c.USERS_DELETE_ME, delete_me)
    rpc.serve(c.USERS_CHANGE_PASSWORD, change_password)
    rpc.serve(c.USERS_EXPORT, export)
    rpc.serve(c.USERS_UPDATE_ME, update_me)
    rpc.serve(c.USERS_PROFILE, profile)
    rpc.serve(c.USERS_GET, get_user)
    rpc.serve(c.USERS_FOLLOWEES, followees)
    rpc.serve(c.USERS_FOLLOW, follow)
    rpc.serve(c.USERS_UNFOLLOW, unfollow)

    # works
    async def create_work(req: c.AiWorkCreate, call: Call) -> Any:
        return await works.create(d, call.actor, req, call.idempotency_key)

    async def get_work(req: c.WorkRef, call: Call) -> Any:
        return await works.get(d, call.actor_id, req.id)

    async def update_work(req: c.WorkUpdate, call: Call) -> Any:
        return await works.update(d, call.actor, req.id, req)

    async def delete_work(req: c.WorkRef, call: Call) -> None:
        await works.delete(d, call.actor, req.id)

    async def like(req: c.WorkRef, call: Call) -> None:
        await works.like(d, call.actor, req.id, on=True)

    async def unlike(req: c.WorkRef, call: Call) -> None:
        await works.like(d, call.actor, req.id, on=False)

    async def comment(req: c.CommentCreate, call: Call) -> Any:
        return await works.comment(d, call.actor, req.id, req, call.idempotency_key)

    async def comments(req: c.CommentsQuery, call: Call) -> Any:
        return await works.comments(d, call.actor_id, req.id, req)

    async def report(req: c.ReportCreate, call: Call) -> Any:
        return await works.report(d, call.actor, req.id, req)

    async def list_works(req: c.WorksQuery, call: Call) -> Any:
        return await feeds.listing(d, call.actor_id, req)

    async def training_set(req: c.WorkTrainingSetQuery, call: Call) -> Any:
        return await training_sets.training_set(d, call.actor, req.work_ids, req.collection_id)

    async def using_asset(req: c.AssetUsageQuery, call: Call) -> Any:
        return await works.using_asset(d, req.asset_id)

    rpc.serve(c.WORKS_CREATE, create_work)
    rpc.serve(c.WORKS_GET, get_work)
    rpc.serve(c.WORKS_UPDATE, update_work)
    rpc.serve(c.WORKS_DELETE, delete_work)
    rpc.serve(c.WORKS_LIKE, like)
    rpc.serve(c.WORKS_UNLIKE, unlike)
    rpc.serve(c.WORKS_COMMENT, comment)
    rpc.serve(c.WORKS_COMMENTS, comments)
    rpc.serve(c.WORKS_REPORT, report)
    rpc.serve(c.WORKS_LIST, list_works)
    rpc.serve(c.WORKS_TRAINING_SET, training_set)
    rpc.serve(c.WORKS_USING_ASSET, using_asset)

    # moderation
    async def queue(req: Page, call: Call) -> Any:
        return await moderation.queue(d, call.actor, req)

    async def decide(req: c.ModerationDecide, call: Call) -> Any:
        return await moderation.decide(d, call.actor, req.id, req)

    rpc.serve(c.MODERATION_QUEUE, queue)
    rpc.serve(c.MODERATION_DECIDE, decide)

    # feeds
    async def following(req: Page, call: Call) -> Any:
        return await feeds.following(d, call.actor, req)

    async def trending(req: Page, call: Call) -> Any:
        return await feeds.trending(d, call.actor_id, req)

    async def for_you(req: c.ForYouQuery, call: Call) -> Any:
        return await feeds.for_you(d, call.actor_id, req)

    rpc.serve(c.FEEDS_FOLLOWING, following)
    rpc.serve(c.FEEDS_TRENDING, trending)
    rpc.serve(c.FEEDS_FOR_YOU, for_you)

    # collections
    async def create_collection(req: c.CollectionCreate, call: Call) -> Any:
        return await collections.create(d, call.actor, req, call.idempotency_key)

    async def list_collections(req: c.CollectionsQuery, call: Call) -> Any:
        return await collections.listing(d, call.actor_id, req)

    async def get_collection(req: c.CollectionRef, call: Call) -> Any:
        return await collections.get(d, call.actor_id, req.id)

    async def update_collection(req: c.CollectionUpdate, call: Call) -> Any:
        return await collections.update(d, call.actor, req.id, req)

    async def delete_collection(req: c.CollectionRef, call: Call) -> None:
        await collections.delete(d, call.actor, req.id)

    rpc.serve(c.COLLECTIONS_CREATE, create_collection)
    rpc.serve(c.COLLECTIONS_LIST, list_collections)
    rpc.serve(c.COLLECTIONS_GET, get_collection)
    rpc.serve(c.COLLECTIONS_UPDATE, update_collection)
    rpc.serve(c.COLLECTIONS_DELETE, delete_collection)

    # insights
    async def get_insights(req: c.CommunityNoInput, call: Call) -> Any:
        return await insights.insights(d, call.actor)

    rpc.serve(c.INSIGHTS_GET, get_insights)

    async def get_suggestions(req: c.SuggestionsQuery, call: Call) -> Any:
        return await suggestions.suggestions(d, call.actor, req)

    rpc.serve(c.SUGGESTIONS_GET, get_suggestions)
