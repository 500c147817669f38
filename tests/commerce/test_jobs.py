"""Background jobs: queued on RQ in one Redis round trip and run by a worker with their retries;
inline (no Redis) they run at once and are retried there."""
import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from commerce.jobs import InlineJobs, RqJobs
from tests.conftest import TEST_REDIS_URL

done: list[str] = []


def note(word: str) -> None:
    """A job: what a worker ran is seen by the test (a SimpleWorker runs in this process)."""
    done.append(word)


def fail_once(word: str) -> None:
    done.append(word)
    if done.count(word) == 1:
        raise RuntimeError("the provider timed out")


@pytest.fixture
def redis():
    if not TEST_REDIS_URL:
        pytest.skip("RQ needs Redis: set TEST_REDIS_URL")
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    done.clear()
    yield connection
    connection.flushdb()


def round_trips(redis, monkeypatch) -> list[bytes]:
    """What ``redis`` sends from now on, one entry per round trip."""
    sent: list[bytes] = []
    connection_class = redis.connection_pool.connection_class
    send = connection_class.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(self, command, check_health)

    monkeypatch.setattr(connection_class, "send_packed_command", counting)
    return sent


def test_a_job_is_queued_in_one_round_trip_and_a_worker_runs_it(redis, monkeypatch):
    jobs = RqJobs(redis, retry_intervals=[0])
    jobs.enqueue(note, "warm")  # the connection's own handshake is not the job's
    sent = round_trips(redis, monkeypatch)

    jobs.enqueue(note, "receipt", retries=2)

    assert len(sent) == 1 and b"SADD" in sent[0] and b"HSET" in sent[0] and b"PUSH" in sent[0]
    queued = Queue("default", connection=redis).jobs
    assert [(job.args, job.retries_left) for job in queued] == [(("warm",), None),
                                                                (("receipt",), 2)]
    SimpleWorker(["default"], connection=redis).work(burst=True)
    assert done == ["warm", "receipt"]


def test_a_failed_rq_job_is_retried_by_the_worker(redis):
    RqJobs(redis, retry_intervals=[0]).enqueue(fail_once, "sms", retries=1)
    SimpleWorker(["default"], connection=redis).work(burst=True)
    assert done == ["sms", "sms"]


def test_without_redis_a_job_runs_at_once_and_is_retried_there():
    done.clear()
    InlineJobs().enqueue(fail_once, "inline", retries=1)
    assert done == ["inline", "inline"]
    done.clear()
    InlineJobs().enqueue(fail_once, "gives up")  # no retries: one attempt, the error only logged
    assert done == ["gives up"]
