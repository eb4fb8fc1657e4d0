"""One re-index of a document per round across processes, not one per process.

Every process whose writer commits an edit of a document schedules a re-index of it `delay`
seconds later, and each re-index costs a handful of statements and a text extraction. With
clients of one document on several processes, each process would index it every round. So
the first process to schedule a round *claims* it in Redis; a process that finds the round
claimed leaves it to the claimant, whose read starts after the claim ends and so after every
commit of the other processes that found it claimed. A process that deferred also marks the
round, and the claimant then reads the committed log rather than its own room, which may not
yet have received those commits over pub/sub.

A claim outlives its planned read by `_SLACK_SECONDS`: a claimant that died before reading
holds back the others' re-indexes of that document no longer than that (their next commit
claims again; a document edited no more is found stale at the next start).

While Redis is away every process indexes what it committed, from the log, as without Redis:
work done twice, nothing missed.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from app.redis_guard import RedisGuard, RedisOutage

_SLACK_SECONDS = 10.0
# Once the round it deferred to is due, a process claims again at its next commit; not
# sooner than this, so a late claimant does not cost a claim per commit.
_MIN_DEFER_SECONDS = 1.0

# KEYS: the round's claim, its deferred mark; ARGV: the claim's lifetime (ms).
# Returns -1 when this call claimed the round, else the claim's remaining lifetime (ms).
_CLAIM = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return -1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return redis.call('PTTL', KEYS[1])
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """This process indexes the round."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """Another process indexes the round, reading after this process's commits so far; claim
    again at a commit after `seconds`."""

    seconds: float


def _claim_key(document_id: str) -> str:
    return f"widen:search:round:{document_id}"


def _deferred_key(document_id: str) -> str:
    return f"widen:search:deferred:{document_id}"


class IndexClaims:
    def __init__(self, redis: Redis) -> None:
        self._guard = RedisGuard(redis, consequence="each process re-indexes for search the "
                                                    "documents it commits, from the log")
        self._claim_script = redis.register_script(_CLAIM)

    async def claim(self, document_id: str, delay_seconds: float) -> Claimed | Deferred:
        """Claim the round of re-indexing that starts reading `delay_seconds` from now."""
        lifetime_ms = int((delay_seconds + _SLACK_SECONDS) * 1000)
        try:
            remaining_ms = await self._guard.call(
                "search round claim",
                lambda redis: self._claim_script(
                    keys=[_claim_key(document_id), _deferred_key(document_id)],
                    args=[lifetime_ms], client=redis))
        except RedisOutage:
            return Claimed()
        if int(remaining_ms) < 0:
            return Claimed()
        return Deferred(max(int(remaining_ms) / 1000 - _SLACK_SECONDS, _MIN_DEFER_SECONDS))

    async def reading(self, document_id: str) -> bool:
        """End this process's claim as its read starts; True when the read must be of the
        committed log: another process deferred to it, or Redis could not say."""
        async def end_round(redis: Redis) -> list[int]:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.delete(_claim_key(document_id))
                pipe.delete(_deferred_key(document_id))
                return list(await pipe.execute())
        try:
            _claims, deferred = await self._guard.call("search round end", end_round)
        except RedisOutage:
            return True
        return deferred > 0
