"""`Every`: the embedded default's schedule for the sweep."""

from __future__ import annotations

import threading

from rpl.services.sweep import Every


def test_every_runs_its_job_repeatedly_survives_a_failure_and_stops() -> None:
    calls: list[int] = []
    third = threading.Event()

    def job() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the first run fails; the schedule goes on")
        if len(calls) >= 3:
            third.set()

    schedule = Every(0.0005, job).start()  # every 30 ms
    assert third.wait(30), calls
    schedule.stop()
    stopped_at = len(calls)
    assert not schedule._thread.is_alive()
    assert len(calls) == stopped_at


def test_a_schedule_does_not_run_before_its_first_interval() -> None:
    calls: list[int] = []
    schedule = Every(60, lambda: calls.append(1)).start()
    schedule.stop()
    assert calls == []


def test_serve_schedules_the_runners_sweep_unless_sweep_minutes_is_0() -> None:
    from types import SimpleNamespace

    from rpl.cli_sweep import start_sweeps

    swept = threading.Event()
    runner = SimpleNamespace(sweep=swept.set)
    off = SimpleNamespace(settings=SimpleNamespace(sweep_minutes=0), runner=runner)
    assert start_sweeps(off) is None
    on = SimpleNamespace(settings=SimpleNamespace(sweep_minutes=0.0005), runner=runner)
    schedule = start_sweeps(on)
    try:
        assert swept.wait(30)
    finally:
        schedule.stop()
