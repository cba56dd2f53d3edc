"""KADRA_AMQP_URI as a list of broker addresses (';' between them): every kind of client Kadra has
skips an address that is down and works through the next one.

The first address is a port on which nothing listens (a node that is down); the second is the
machine's RabbitMQ, in a vhost of this module. The kinds: pika through mailbus (notify's consumer,
the outbox relay), the gateway's RPC client (pika), and nameko (kombu's failover) as the service
that answers and as a ClusterRpcProxy caller. The same with three real nodes and one of them
stopped: tests/cluster.
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import pika
import pytest

from tests.support.infra import ROOT, free_port, wait_until
from tests.support.notify import Vhost

pytestmark = pytest.mark.integration

ECHO_SERVICE = textwrap.dedent("""
    import eventlet; eventlet.monkey_patch()
    import sys
    from nameko.containers import ServiceContainer
    from nameko.rpc import rpc

    class Echo:
        name = "kadra_echo"

        @rpc
        def echo(self, value):
            return {"echo": value}

    container = ServiceContainer(Echo, {"AMQP_URI": sys.argv[1], "serializer": "json"})
    container.start()
    print("started", flush=True)
    container.wait()
""")


@pytest.fixture(scope="module")
def vhost(real_parts):
    made = Vhost("kadra-failover")
    yield made
    made.delete()


@pytest.fixture(scope="module")
def addresses(vhost):
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}/{vhost.name}"
    return f"{down};{vhost.uri}"


def test_a_pika_client_skips_an_address_that_is_down(vhost, addresses):
    from kadra_defaults.contracts import mailbus
    params = mailbus.connection_parameters(addresses)
    assert len(params) == 2
    connection = pika.BlockingConnection(params)
    try:
        assert connection._impl.params.port == 5672  # the second address answered
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("kadra.failover", durable=True)
        channel.basic_publish("", "kadra.failover", b"through the list", pika.BasicProperties(delivery_mode=2))
    finally:
        connection.close()
    assert [body for _, body in vhost.drain("kadra.failover")] == [b"through the list"]


def test_nameko_and_the_gateway_rpc_client_skip_an_address_that_is_down(vhost, addresses, tmp_path):
    from nameko.standalone.rpc import ClusterRpcProxy

    from gateway.rpc import RpcClient

    script = tmp_path / "echo.py"
    script.write_text(ECHO_SERVICE)
    service = subprocess.Popen([sys.executable, str(script), addresses], cwd=ROOT, env=dict(os.environ),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert service.stdout.readline().strip() == "started", service.stderr.read()[-2000:]
        client = RpcClient(addresses, timeout=5)
        started = time.monotonic()
        answer = wait_until(lambda: _try(client.call, "kadra_echo", "echo", "gateway"), 20,
                            what="the echo service answering the gateway's client")
        print(f"gateway client through the list: first answer after {time.monotonic() - started:.2f}s")
        assert answer == {"echo": "gateway"}
        client.close()
        with ClusterRpcProxy({"AMQP_URI": addresses, "serializer": "json"}, timeout=10) as cluster:
            assert cluster.kadra_echo.echo("nameko") == {"echo": "nameko"}
    finally:
        service.terminate()
        service.wait(15)


def _try(call, *args):
    from gateway.rpc import ServiceUnavailable
    try:
        return call(*args)
    except ServiceUnavailable:  # the service's queue is not bound yet
        return None


def test_the_gateway_rpc_client_before_any_service_has_started(real_parts, tmp_path):
    """A gateway that connects to a vhost where no service has declared `nameko-rpc` yet (a fresh system,
    the gateway's container up first) answers "service not running" for that call, not a broker outage
    with a pause after it, and reaches the service on its next call once the service is up."""
    from gateway.rpc import BrokerUnavailable, RpcClient, ServiceUnavailable

    fresh = Vhost("kadra-rpc-first")
    client = RpcClient(fresh.uri, timeout=3)
    service = None
    try:
        for _ in range(2):  # the second at once: no pause after the first
            with pytest.raises(ServiceUnavailable) as refused:
                client.call("kadra_echo", "echo", "too early")
            assert not isinstance(refused.value, BrokerUnavailable)
        script = tmp_path / "echo.py"
        script.write_text(ECHO_SERVICE)
        service = subprocess.Popen([sys.executable, str(script), fresh.uri], cwd=ROOT, env=dict(os.environ),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert service.stdout.readline().strip() == "started", service.stderr.read()[-2000:]
        assert client.call("kadra_echo", "echo", "now") == {"echo": "now"}
    finally:
        client.close()
        if service is not None:
            service.terminate()
            service.wait(15)
        fresh.delete()
