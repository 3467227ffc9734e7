"""How a service spends its shutdown time, stage by stage, named once for every service.

On SIGTERM a service stops accepting requests and lets those in flight finish (`http_drain_s`),
then its cleanup contexts run in reverse: JetStream consumers finish the message in flight and RPC
endpoints stop (`work_s`), the outbox relay publishes what is committed (`outbox_flush_s`), NATS
drains (`nats_drain_s`) and the pool closes (`pool_close_s`). The total is the setting
`ATELIER_SHUTDOWN_TIMEOUT_S`; the fixed stages are small, and in-flight work gets the rest. The
stages add up to the total by construction, and tests/deploy checks that the total plus the preStop
sleep fits each pod's terminationGracePeriodSeconds.
"""

from __future__ import annotations

from dataclasses import dataclass

HTTP_DRAIN_S = 3.0
OUTBOX_FLUSH_S = 2.0
NATS_DRAIN_S = 2.0
POOL_CLOSE_S = 1.0
MIN_WORK_S = 1.0


@dataclass(frozen=True)
class ShutdownBudget:
    total_s: float

    http_drain_s: float = HTTP_DRAIN_S
    outbox_flush_s: float = OUTBOX_FLUSH_S
    nats_drain_s: float = NATS_DRAIN_S
    pool_close_s: float = POOL_CLOSE_S

    def __post_init__(self) -> None:
        if self.work_s < MIN_WORK_S:
            raise ValueError(f"a shutdown budget of {self.total_s} s leaves under {MIN_WORK_S} s for in-flight work")

    @property
    def work_s(self) -> float:
        """Consumers finishing the message in flight, RPC endpoints stopping: what the others leave."""
        return self.total_s - self.http_drain_s - self.outbox_flush_s - self.nats_drain_s - self.pool_close_s

    def stages(self) -> dict[str, float]:
        return {"http_drain_s": self.http_drain_s, "work_s": self.work_s, "outbox_flush_s": self.outbox_flush_s,
                "nats_drain_s": self.nats_drain_s, "pool_close_s": self.pool_close_s}
