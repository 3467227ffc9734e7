import pytest
from pydantic import BaseModel, ValidationError

from shared.errors import Conflict, NotFound, Unprocessable, error_from_problem, validation_errors


def test_problem_round_trip_keeps_type_status_and_field_errors() -> None:
    original = Unprocessable("bad body", errors=[{"field": "email", "message": "not an email"}],
                             extra={"offending_works": ["w1"]})
    rebuilt = error_from_problem(original.to_problem())
    assert type(rebuilt) is Unprocessable
    assert rebuilt.status == 422
    assert rebuilt.errors == [{"field": "email", "message": "not an email"}]
    assert rebuilt.extra == {"offending_works": ["w1"]}
    assert rebuilt.to_problem()["type"].endswith("/validation")


@pytest.mark.parametrize("cls", [Conflict, NotFound])
def test_status_classes(cls: type) -> None:
    assert type(error_from_problem(cls("x").to_problem())) is cls


def test_unknown_status_becomes_generic_error() -> None:
    err = error_from_problem({"status": 418, "detail": "teapot"})
    assert err.status == 500


def test_validation_errors_name_the_field() -> None:
    class Body(BaseModel):
        count: int

    with pytest.raises(ValidationError) as info:
        Body.model_validate({"count": "many"})
    [err] = validation_errors(info.value)
    assert err["field"] == "count"
