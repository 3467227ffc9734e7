"""The active-jobs limit answers the same 429 wherever a job is queued (create, refine, retrain)."""

from unittest.mock import AsyncMock, patch

import pytest

from services.trainer.service import check_training_limit
from services.trainer.settings import TrainerSettings
from shared.errors import TooManyRequests, error_from_problem


async def test_at_the_limit_a_429_says_the_limit_and_when_to_retry() -> None:
    settings = TrainerSettings(trainer_max_active_jobs=2)
    with patch("services.trainer.service.store.active_jobs", AsyncMock(return_value=2)):
        with pytest.raises(TooManyRequests) as refused:
            await check_training_limit(None, settings, "u1")  # type: ignore[arg-type]
    problem = refused.value.to_problem()
    assert problem["limit"] == 2 and problem["active_jobs"] == 2
    # What the gateway rebuilds from the problem carries Retry-After.
    assert error_from_problem(problem).headers["Retry-After"] == str(settings.trainer_limit_retry_after_s)
    with patch("services.trainer.service.store.active_jobs", AsyncMock(return_value=1)):
        await check_training_limit(None, settings, "u1")  # type: ignore[arg-type]  # under it: fine
