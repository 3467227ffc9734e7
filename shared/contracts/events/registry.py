"""Subject → payload model. A payload class names its subject once; nobody else writes it.

The package's `__init__` imports the catalog right after this module, so every lookup sees every
event: importing anything under `shared.contracts.events` loads the package first.

    class UserCreated(EventPayload, subject="community.user.created"):
        user_id: str
        username: str
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[EventPayload]] = {}


class EventPayload(BaseModel):
    # Tolerate fields added by newer producers: subscribers upgrade on their own schedule.
    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: ClassVar[str]
    description: ClassVar[str] = ""

    def __init_subclass__(cls, subject: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if subject is None:
            return
        if subject in _REGISTRY:
            raise ValueError(f"event subject registered twice: {subject}")
        parts = subject.split(".")
        is_job = parts[0] == "jobs" and len(parts) == 2
        if not all(parts) or not (is_job or len(parts) == 3):
            raise ValueError(f"subject must be <domain>.<entity>.<verb> or jobs.<kind>: {subject}")
        cls.subject = subject
        cls.description = (cls.__doc__ or "").strip()
        _REGISTRY[subject] = cls


def payload_model(subject: str) -> type[EventPayload]:
    try:
        return _REGISTRY[subject]
    except KeyError:
        raise KeyError(f"unknown event subject: {subject}") from None


def registered_subjects() -> list[str]:
    return sorted(_REGISTRY)
