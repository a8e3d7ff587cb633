"""The shared poller: coalesced polls, per-waiter faults and timeouts, a clean stop after the last waiter."""

from __future__ import annotations

import asyncio

import pytest

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError
from airflow_platform.polling.checks import Outcome
from airflow_platform.polling.poller import SharedPoller
from airflow_platform.utils.backoff import BackoffPolicy
from airflow_platform.utils.http import ApiCall

FAST = BackoffPolicy(initial=0.01, maximum=0.02)


class FakeCaller:
    """Answers ``("state", name)`` calls from a dict; records requests; counts closes."""

    service = "Fake"

    def __init__(self, states):
        self.states = states
        self.requests: list[ApiCall] = []
        self.batches: list[list[str]] = []
        self.closed = 0
        self.failures: list[Exception] = []

    async def call(self, call):
        self.requests.append(call)
        if self.failures:
            raise self.failures.pop(0)
        state = self.states.get(call.params["name"])
        if state is None:
            raise PlatformPermanentError(f"{call.subject} not found")
        return {"state": state}

    async def aclose(self):
        self.closed += 1


class FakeBatcher:
    kind = "state"

    async def fetch(self, caller, calls):
        caller.batches.append(sorted(call.batch[1] for call in calls))
        return {
            call.key: {"state": caller.states[call.batch[1]]}
            for call in calls
            if call.batch[1] in caller.states
        }


def state_check(name, batched=True):
    answer = yield ApiCall(
        "GET", "state", f"object {name!r}", params={"name": name}, batch=("state", name) if batched else None
    )
    if answer["state"] == "done":
        return Outcome("success", f"{name} done", {"name": name})
    return None


def poller_for(caller, key="fake", batchers=()):
    return SharedPoller.shared(key, lambda: caller, lambda: batchers)


def test_waiters_share_one_request_per_poll_and_get_their_own_outcomes():
    caller = FakeCaller({"a": "running", "b": "running", "c": "running"})

    async def scenario():
        poller = poller_for(caller, batchers=(FakeBatcher(),))
        waits = [asyncio.create_task(poller.wait(lambda n=n: state_check(n), 0.05, FAST)) for n in "abc"]
        await asyncio.sleep(0.2)
        caller.states.update(a="done", c="done")
        await asyncio.sleep(0.1)
        assert [w.done() for w in waits] == [True, False, True]
        caller.states["b"] = "done"
        outcomes = await asyncio.gather(*waits)
        await poller.stopped()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert [o.details["name"] for o in outcomes] == ["a", "b", "c"]
    assert caller.batches[0] == ["a", "b", "c"]  # one batch for all three
    assert all(len(batch) <= 3 for batch in caller.batches)
    assert caller.requests == []  # everything was answered by the batch
    assert caller.closed == 1


def test_equal_calls_are_sent_once_per_poll():
    caller = FakeCaller({"a": "running"})

    async def scenario():
        poller = poller_for(caller)
        waits = [
            asyncio.create_task(poller.wait(lambda: state_check("a", batched=False), 0.05, FAST))
            for _ in range(5)
        ]
        await asyncio.sleep(0.12)
        caller.states["a"] = "done"
        await asyncio.gather(*waits)

    asyncio.run(scenario())
    polls = len(caller.requests)
    assert 1 <= polls <= 5  # five waiters, one request per poll


def test_a_permanent_error_ends_only_its_own_wait():
    caller = FakeCaller({"a": "running"})

    async def scenario():
        poller = poller_for(caller)
        good = asyncio.create_task(poller.wait(lambda: state_check("a", batched=False), 0.05, FAST))
        with pytest.raises(PlatformPermanentError, match="object 'ghost' not found"):
            await poller.wait(lambda: state_check("ghost", batched=False), 0.05, FAST)
        assert not good.done()
        caller.states["a"] = "done"
        return await good

    assert asyncio.run(scenario()).details == {"name": "a"}


def test_transient_errors_are_retried_with_the_waiters_backoff(capsys):
    caller = FakeCaller({"a": "done"})
    caller.failures = [PlatformTransientError("down"), PlatformTransientError("still down")]

    async def scenario():
        return await poller_for(caller).wait(lambda: state_check("a", batched=False), 10.0, FAST)

    assert asyncio.run(asyncio.wait_for(scenario(), 5)).status == "success"
    assert len(caller.requests) == 3  # two failures retried after 10-20 ms, not after the 10 s interval
    assert "Transient Fake error (attempt 2)" in "".join(capsys.readouterr())


def test_a_timed_out_waiter_leaves_and_the_last_one_stops_the_poller():
    caller = FakeCaller({"a": "running", "b": "running"})

    async def scenario():
        poller = poller_for(caller, batchers=(FakeBatcher(),))
        other = asyncio.create_task(poller.wait(lambda: state_check("b"), 0.05, FAST))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(poller.wait(lambda: state_check("a"), 0.05, FAST), 0.2)
        assert poller.waiters == 1
        assert SharedPoller.running() == {"fake": poller}
        seen = len(caller.batches)
        await asyncio.sleep(0.15)
        assert all(batch == ["b"] for batch in caller.batches[seen:])  # the left waiter is not polled
        other.cancel()
        with pytest.raises(asyncio.CancelledError):
            await other
        await poller.stopped()
        return poller

    poller = asyncio.run(scenario())
    assert poller.waiters == 0
    assert caller.closed == 1


def test_a_new_waiter_after_the_stop_gets_a_fresh_poller():
    first, second = FakeCaller({"a": "done"}), FakeCaller({"a": "done"})

    async def scenario():
        one = poller_for(first)
        await one.wait(lambda: state_check("a", batched=False), 0.05, FAST)
        await one.stopped()
        assert SharedPoller.running() == {}
        two = poller_for(second)
        await two.wait(lambda: state_check("a", batched=False), 0.05, FAST)
        return one, two

    one, two = asyncio.run(scenario())
    assert one is not two
    assert (first.closed, second.closed) == (1, 1)


def test_a_check_that_cannot_read_its_answer_fails_its_waiter():
    caller = FakeCaller({"a": "running"})

    def broken():
        answer = yield ApiCall("GET", "state", "object 'a'", params={"name": "a"})
        return answer["missing"]

    async def scenario():
        with pytest.raises(KeyError):
            await poller_for(caller).wait(broken, 0.05, FAST)

    asyncio.run(scenario())
    assert caller.closed == 1
