"""Knobs of `make bench`, read from the environment (BENCH_*), with a quick mode."""

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    pg_url: str  # server URL without a database name
    database: str
    rounds: int  # alternating Rapport/bare rounds per scenario; medians reported
    duration: float  # seconds of measured load per round
    warmup: float  # seconds of unmeasured load before each round
    concurrency: int  # keep-alive connections of the HTTP load generator
    providers: int
    appointments_per_provider: int
    big_providers: int  # target 5: the directory at this size
    ws_clients: int  # target 4
    ws_senders: int
    message_rate: float  # messages a second during target 4
    message_seconds: float
    ws_rounds: int
    profile: bool  # py-spy the Rapport server on unmet targets
    only: frozenset[str]  # target numbers to run ("1 3"); empty runs them all

    def runs(self, numbers: str) -> bool:
        """Whether a stage measuring these targets ("3a 3b") is selected."""
        if not self.only:
            return True
        return any(n.rstrip("ab") in self.only for n in numbers.split())

    @property
    def bookable_clients(self) -> int:
        return max(self.ws_clients, 2000)


def load_config() -> BenchConfig:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
    return BenchConfig(
        quick=quick,
        pg_url=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        database=os.environ.get("BENCH_DATABASE", "rapport_bench"),
        rounds=_int("BENCH_ROUNDS", 1 if quick else 3),
        duration=_float("BENCH_DURATION", 3.0 if quick else 8.0),
        warmup=_float("BENCH_WARMUP", 0.5 if quick else 1.5),
        concurrency=_int("BENCH_CONCURRENCY", 16),
        providers=_int("BENCH_PROVIDERS", 10_000),
        appointments_per_provider=_int("BENCH_APPOINTMENTS_PER_PROVIDER", 20),
        big_providers=_int("BENCH_BIG_PROVIDERS", 20_000 if quick else 100_000),
        ws_clients=_int("BENCH_WS_CLIENTS", 300 if quick else 2000),
        ws_senders=_int("BENCH_WS_SENDERS", 150 if quick else 1000),
        message_rate=_float("BENCH_MESSAGE_RATE", 100.0),
        message_seconds=_float("BENCH_MESSAGE_SECONDS", 4.0 if quick else 15.0),
        ws_rounds=_int("BENCH_WS_ROUNDS", 1 if quick else 2),
        profile=os.environ.get("BENCH_PROFILE", "1" if not quick else "0")
        not in ("", "0", "false"),
        only=frozenset(os.environ.get("BENCH_ONLY", "").replace(",", " ").split()),
    )
