"""Input rules of the community API, as the gateway and the service both apply them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts.common import Page, patch_fields
from shared.contracts.community import SignupBody, WorkCreate, WorkPatch
from shared.errors import Unprocessable


def _signup(**overrides: str) -> SignupBody:
    return SignupBody.model_validate({"username": "Ada_99", "email": "ada@example.com",
                                      "password": "long enough pw", **overrides})


def test_usernames_are_case_insensitive() -> None:
    assert _signup().username == "ada_99"


@pytest.mark.parametrize("username", ["ab", "x" * 33, "ada-lovelace", "ada lovelace", "adá"])
def test_bad_usernames_are_refused(username: str) -> None:
    with pytest.raises(ValidationError):
        _signup(username=username)


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        _signup(email=email)


def test_short_password_is_refused() -> None:
    with pytest.raises(ValidationError):
        _signup(password="short")


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        _signup(is_admin="true")


def test_work_tags_are_normalised_and_assets_bounded() -> None:
    work = WorkCreate.model_validate({"title": " Dusk ", "tags": ["#Sea", "sea", "Night-Sky"], "asset_ids": ["a"]})
    assert (work.title, work.tags, work.visibility, work.origin) == ("Dusk", ["sea", "night-sky"], "public", "human")
    for bad in ({"asset_ids": []}, {"asset_ids": ["a"] * 2}, {"asset_ids": [f"a{i}" for i in range(21)]},
                {"tags": ["no spaces"]}, {"visibility": "secret"}, {"origin": "robot"}, {"title": ""}):
        with pytest.raises(ValidationError):
            WorkCreate.model_validate({"title": "t", "asset_ids": ["a"], **bad})


def test_page_limit_is_capped_not_refused() -> None:
    assert Page.model_validate({"limit": "1000"}).limit == 100
    assert Page.model_validate({}).limit == 20
    with pytest.raises(ValidationError):
        Page.model_validate({"limit": "0"})


def test_patch_may_omit_fields_but_not_null_them() -> None:
    assert patch_fields(WorkPatch.model_validate({"title": "New"})) == {"title": "New"}
    with pytest.raises(Unprocessable):
        patch_fields(WorkPatch.model_validate({"title": None}))


def test_nul_characters_are_refused_everywhere() -> None:
    for model, data in ((WorkCreate, {"title": "a\x00b", "asset_ids": ["x"]}),
                        (WorkCreate, {"title": "ok", "asset_ids": ["x\x00"]}),
                        (Page, {"cursor": "\x00"})):
        with pytest.raises(ValidationError):
            model.model_validate(data)
