"""Accounts: sign-up and login, profiles, follows, password change, export and deletion."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, StringConstraints, field_validator

from shared.contracts.common import Id, Reply, Strict
from shared.contracts.community.base import SERVICE, CommunityNoInput
from shared.contracts.operation import Operation, operation

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256  # a bound on the hashing work one request can cause
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")


def _username(value: str) -> str:
    if not USERNAME_RE.fullmatch(value):
        raise ValueError("3 to 32 characters: letters, digits and underscores")
    return value.lower()


class SignupBody(Strict):
    username: str = Field(description="3 to 32 letters, digits or underscores; case-insensitive")
    email: str = Field(max_length=254)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    _check_username = field_validator("username")(_username)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None


class LoginBody(Strict):
    login: str = Field(min_length=1, max_length=254, description="Username or email")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class AccountDeleteBody(Strict):
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH,
                          description="Your current password: deleting an account cannot be undone")


class PasswordChangeBody(Strict):
    current: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH, description="Your current password")
    new: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH,
                     description=f"The new password ({PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters)")


ExportSection = Literal["works", "comments", "likes", "collections", "following"]


class ExportQuery(Strict):
    """One page of one section of your data (internal: the gateway builds `GET /v1/me/export` from it)."""

    section: ExportSection = Field(description="Which of your data")
    after: str | None = Field(None, max_length=64, description="`next_after` of the previous page")
    limit: int = Field(200, ge=1, le=500, description="Items per page")


class ProfilePatch(Strict):
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    bio: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    allow_training: bool | None = Field(None, description="Consent to style models being trained on your works")


class UserByName(Strict):
    username: str = Field(min_length=1, max_length=64, description="The user's username (case-insensitive)")


class UserById(Strict):
    user_id: Id = Field(description="The user's id")


class UserPublic(Reply):
    id: str
    username: str
    display_name: str = Field(description="The display name, or the username when none is set")
    bio: str | None
    created_at: datetime


class UserPrivate(UserPublic):
    """What a user sees about themself."""

    email: str
    allow_training: bool


class ProfileCounts(Reply):
    followers: int
    following: int
    works: int = Field(description="Works the viewer may see")
    likes_received: int


class Profile(UserPublic):
    email: str | None = Field(None, description="Only on your own profile")
    allow_training: bool
    counts: ProfileCounts
    followed_by_me: bool


class Session(Reply):
    user: UserPrivate
    token: str = Field(description="An Ed25519-signed JWT access token")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires")


class ExportPage(Reply):
    items: list[dict[str, Any]] = Field(description="Items of the section, oldest first")
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class Followees(Reply):
    user_ids: list[str] = Field(description="Ids of the users the caller follows")


AUTH_SIGNUP = operation(SERVICE, "auth.signup", SignupBody, Session, actor="none", problems=(409,),
                        summary="Create an account; returns the user and a token")
AUTH_LOGIN = operation(SERVICE, "auth.login", LoginBody, Session, actor="none", problems=(401, 429),
                       summary="Exchange a username or email and password for a token")
USERS_ME = operation(SERVICE, "users.me", CommunityNoInput, Profile, summary="Your own profile")
USERS_UPDATE_ME = operation(SERVICE, "users.update_me", ProfilePatch, Profile,
                            summary="Change display name, bio or training consent")
USERS_PROFILE = operation(SERVICE, "users.profile", UserByName, Profile, actor="optional", problems=(404,),
                          summary="A user's profile with counts")
USERS_GET = operation(SERVICE, "users.get", UserById, Profile, actor="none", problems=(404,),
                      summary="A user's public profile by id (internal)")
USERS_FOLLOWEES = operation(SERVICE, "users.followees", CommunityNoInput, Followees,
                            summary="Whom the caller follows (internal: the live feed filters on it)")
USERS_FOLLOW: Operation[UserByName, Any] = operation(SERVICE, "users.follow", UserByName, None, problems=(404,),
                         summary="Follow a user (idempotent)")
USERS_UNFOLLOW: Operation[UserByName, Any] = operation(SERVICE, "users.unfollow", UserByName, None, problems=(404,),
                           summary="Stop following (idempotent)")

# Accounts that end, passwords that change (issue 19). The client address is the gateway's view of
# the caller (`ATELIER_FORWARDED_HOPS`); only the gateway may call these (NATS permissions), so
# community trusts it for its login throttle.
CLIENT_ADDRESS_HEADER = "Atelier-Client-Address"
USERS_DELETE_ME: Operation[AccountDeleteBody, Any] = operation(
    SERVICE, "users.delete_me", AccountDeleteBody, None, problems=(403, 429),
    summary="Delete your account (password required): your works, assets, collections, likes, comments and "
            "follows are removed, training consent is withdrawn and every token of yours stops working")
USERS_CHANGE_PASSWORD = operation(
    SERVICE, "users.change_password", PasswordChangeBody, Session, problems=(403, 429),
    summary="Change your password; every earlier token stops working, the answer carries a new one")
USERS_EXPORT = operation(SERVICE, "users.export", ExportQuery, ExportPage,
                         summary="One page of your data for the export archive (internal: the gateway)")
