"""Collections ("boards"): ordered, named sets of works."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.contracts.common import Id, Listing, Page, Reply, Strict
from shared.contracts.community.base import SERVICE, CollectionVisibility, Description, Title
from shared.contracts.community.works import Work
from shared.contracts.operation import Operation, operation


class CollectionCreate(Strict):
    title: Title
    description: Description = ""
    work_ids: list[Id] = Field(default_factory=list, max_length=500, description="Member works, in order")
    visibility: CollectionVisibility = "public"
    training_set: bool = False


class CollectionPatch(Strict):
    title: Title | None = None
    description: Description | None = None
    work_ids: list[Id] | None = Field(None, max_length=500)
    visibility: CollectionVisibility | None = None
    training_set: bool | None = None


class CollectionRef(Strict):
    id: Id = Field(description="The collection's id")


class CollectionUpdate(CollectionPatch):
    id: Id = Field(description="The collection's id")


class CollectionsQuery(Page):
    owner: str | None = Field(None, max_length=32, description="List this username's public collections")


class CollectionOwner(Reply):
    id: str
    username: str


class Collection(Reply):
    id: str
    owner: CollectionOwner
    title: str
    description: str
    visibility: CollectionVisibility
    training_set: bool
    work_count: int
    created_at: datetime
    updated_at: datetime


class CollectionDetail(Collection):
    works: list[Work] = Field(description="Members in order, leaving out works the viewer may not see")


class CollectionListing(Listing[Collection]):
    """A page of collections, newest first."""


COLLECTIONS_CREATE = operation(SERVICE, "collections.create", CollectionCreate, CollectionDetail,
                               summary="Create an ordered collection of works")
COLLECTIONS_LIST = operation(SERVICE, "collections.list", CollectionsQuery, CollectionListing, actor="optional",
                             problems=(400, 404),
                             summary="Your collections, or ?owner=username's public ones")
COLLECTIONS_GET = operation(SERVICE, "collections.get", CollectionRef, CollectionDetail, actor="optional",
                            problems=(404,), summary="A collection with its works")
COLLECTIONS_UPDATE = operation(SERVICE, "collections.update", CollectionUpdate, CollectionDetail,
                               problems=(403, 404), summary="Edit your collection")
COLLECTIONS_DELETE: Operation[CollectionRef, Any] = operation(SERVICE, "collections.delete", CollectionRef, None,
                                                              problems=(403, 404), summary="Delete your collection")
