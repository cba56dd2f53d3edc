"""The gateway's per-thread RPC client: each thread of a gthread worker has its own connection."""
import threading

from gateway.rpc import PerThreadRpcClient


class _Recorder:
    def __init__(self):
        self.calls = []
        self.closed = False

    def call(self, service, method, *args, timeout=None, **kwargs):
        self.calls.append((service, method, args, kwargs))
        return id(self)

    def call_many(self, calls, timeout=None):
        return [id(self) for _ in calls]

    def close(self):
        self.closed = True


def test_each_thread_gets_its_own_client_and_keeps_it():
    made = []

    def factory():
        made.append(_Recorder())
        return made[-1]

    rpc = PerThreadRpcClient(factory)
    seen = {}

    def work(name):
        seen[name] = (rpc.identity.me("a"), rpc.call("users", "ping"), rpc.call_many([("x", "y", (), {})])[0])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    work("main")
    work("main-again")

    assert len(made) == 4  # three threads and this one
    for first, second, third in seen.values():
        assert first == second == third  # one client per thread for all of its calls
    assert len({v[0] for v in seen.values()}) == 4
    assert seen["main"] == seen["main-again"]
    assert made[0].calls[0] == ("identity", "me", ("a",), {})

    rpc.close()
    assert all(client.closed for client in made)


def test_connection_parameters_list_every_broker_address_in_order():
    from gateway.rpc import connection_parameters
    params = connection_parameters("amqp://u:p@127.0.0.1:5681/v;amqp://u:p@127.0.0.1:5682/v", "kadra-gateway", 0)
    assert [(p.port, p.virtual_host, p.socket_timeout, p.connection_attempts) for p in params] == [
        (5681, "v", 2, 1), (5682, "v", 2, 1)]
    assert all(p.client_properties["connection_name"].startswith("kadra-gateway-") for p in params)


def test_a_call_that_times_out_resets_the_connection(monkeypatch):
    """The next call opens a fresh channel (a channel can stay broken after a cluster node dies)."""
    from gateway.rpc import CallTimeout, RpcClient

    client = RpcClient("amqp://u:p@127.0.0.1:5681/v", timeout=0.05)
    resets = []

    class _Connection:
        is_open = True

        def process_data_events(self, time_limit=0):
            pass

    def connect(**kwargs):
        client._connection, client._pid = _Connection(), __import__("os").getpid()

    monkeypatch.setattr(client, "_connect", connect)
    monkeypatch.setattr(client, "_publish", lambda *args: None)  # no reply ever comes
    monkeypatch.setattr(client, "_reset", lambda: resets.append(1) or setattr(client, "_connection", None))
    (result,) = client.call_many([("identity", "ping", (), {})])
    assert isinstance(result, CallTimeout)
    assert client._connection is None and len(resets) == 2  # one before connecting, one after the timeout


def _failing_connects(monkeypatch, client, failures: int) -> list:
    """pika.BlockingConnection fails `failures` times, then opens a connection that answers nothing."""
    import pika.exceptions

    from gateway import rpc

    tried = []

    class _Channel:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    class _Connection:
        is_open = True

        def __init__(self, params):
            tried.append(params)
            if len(tried) <= failures:
                raise pika.exceptions.AMQPConnectionError("handshake timed out")

        def channel(self):
            return _Channel()

        def process_data_events(self, time_limit=0):
            pass

    monkeypatch.setattr(rpc.pika, "BlockingConnection", _Connection)
    monkeypatch.setattr(client, "_publish", lambda *args: None)
    return tried


def test_one_failed_connect_is_tried_again_at_once(monkeypatch):
    """A worker thread's first connect failing once (a slow handshake) costs no 503: the call connects."""
    from gateway.rpc import BrokerUnavailable, CallTimeout, RpcClient

    client = RpcClient("amqp://u:p@127.0.0.1:5681/v", timeout=0.05)
    tried = _failing_connects(monkeypatch, client, failures=1)
    (result,) = client.call_many([("identity", "ping", (), {})])
    assert len(tried) == 2 and not isinstance(result, BrokerUnavailable)
    assert isinstance(result, CallTimeout)  # it was published: nobody answers in this unit test


def test_an_outage_answers_fast_after_two_failed_connects(monkeypatch):
    """Two failures in a row are an outage: 503 now, and the next call within the pause tries no connect."""
    from gateway.rpc import BrokerUnavailable, RpcClient

    client = RpcClient("amqp://u:p@127.0.0.1:5681/v", timeout=0.05)
    tried = _failing_connects(monkeypatch, client, failures=10)
    assert isinstance(client.call_many([("identity", "ping", (), {})])[0], BrokerUnavailable)
    assert len(tried) == 2
    assert isinstance(client.call_many([("identity", "ping", (), {})])[0], BrokerUnavailable)
    assert len(tried) == 2
