"""Shutdown stages are named once and always add up to the configured budget."""

from __future__ import annotations

import pytest

from shared.settings import ServiceSettings
from shared.shutdown import ShutdownBudget


@pytest.mark.parametrize("total", [9.0, 10.0, 20.0, 60.0])
def test_stages_add_up_to_the_total(total: float) -> None:
    budget = ShutdownBudget(total)
    assert sum(budget.stages().values()) == pytest.approx(total)
    assert all(v > 0 for v in budget.stages().values())


def test_in_flight_work_gets_what_the_fixed_stages_leave() -> None:
    assert ShutdownBudget(60.0).work_s == pytest.approx(60.0 - 3 - 2 - 2 - 1)


def test_a_budget_too_small_for_any_work_is_refused() -> None:
    with pytest.raises(ValueError, match="in-flight work"):
        ShutdownBudget(8.0)


def test_settings_expose_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_SHUTDOWN_TIMEOUT_S", "30")
    settings = ServiceSettings()
    assert settings.shutdown.total_s == 30.0 and settings.shutdown.work_s == pytest.approx(22.0)
