"""Subject → payload model. A payload class names its subject once; nobody else writes it.

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
    _load_catalog()
    try:
        return _REGISTRY[subject]
    except KeyError:
        raise KeyError(f"unknown event subject: {subject}") from None


def registered_subjects() -> list[str]:
    _load_catalog()
    return sorted(_REGISTRY)


def _load_catalog() -> None:
    # The catalog registers its classes on import; import it lazily to avoid a cycle.
    import shared.events.catalog  # noqa: F401
