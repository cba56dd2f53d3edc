"""One RabbitMQ node of three SIGKILLed under load: no confirmed message lost, the system answers again.

notify runs against the three-node cluster (KADRA_AMQP_URI lists the nodes, KADRA_AMQP_QUEUE_TYPE=quorum);
this test publishes KADRA_CLUSTER_MESSAGES (default 300) persistent mail events with publisher confirms
through the same list and, a third of the way in, SIGKILLs the node that leads `notify.mail` — the node
both the publisher and notify are connected to (the first of the list). A publish that was not confirmed
when the connection died is published again (at least once). Then every event must arrive in the SMTP
sink: 0 lost; duplicates are counted (at most one per event published again). The killed node is
started again afterwards and rejoins. Report: artifacts/reliability/cluster-node-loss.json.

The second test SIGKILLs the first node under the whole running system (every client is connected
there) and signs up until KADRA_CLUSTER_SIGNUPS (20) sign-ups were accepted: each gets its e-mail.

Run alone (`make reliability-cluster`): it needs the cluster (KADRA_TEST_CLUSTER=1) and takes about two
minutes; it never touches the machine's single node.
"""
import json
import os
import signal
import time
import uuid

import pika
import pytest
import requests

from tests.support import cluster, signup
from tests.support.cluster import ClusterVhost
from tests.support.infra import ROOT, wait_until
from tests.support.notify import MailSink, NotifyProcess, notify_env, reset_event

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow, pytest.mark.reliability]

MESSAGES = int(os.environ.get("KADRA_CLUSTER_MESSAGES", "300"))
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)


def _queue(vhost, name, node):
    found = [q for q in vhost.queues(node=node) if q["name"] == name]
    return found[0] if found else None


def test_a_node_sigkilled_under_load_loses_no_confirmed_message(rabbit_cluster, mongo, tmp_path, monkeypatch):
    from kadra_defaults.outbox import Publisher

    monkeypatch.setenv("KADRA_AMQP_QUEUE_TYPE", "quorum")  # the publisher declares the mail topology too
    vhost = ClusterVhost("kadra-node-loss")
    sink = MailSink(str(tmp_path / "mail")).start()
    prefix = f"ktc{uuid.uuid4().hex[:8]}"
    notify = NotifyProcess(notify_env(vhost.uri, prefix, sink.port, KADRA_AMQP_QUEUE_TYPE="quorum"),
                           str(tmp_path / "notify.log")).start()
    publisher = Publisher(vhost.uri)
    killed = None
    report = {"messages": MESSAGES}
    try:
        wait_until(lambda: (_queue(vhost, "notify.mail", 1) or {}).get("consumers", 0) >= 1, 90,
                   what="notify consuming notify.mail on the cluster")
        queue = _queue(vhost, "notify.mail", 1)
        assert queue["type"] == "quorum" and len(queue["members"]) == 3, queue
        leader = queue["leader"]
        killed = int(leader[2])  # kcN@localhost
        survivor = next(n for n in cluster.NODES if n != killed)
        events = [reset_event(i) for i in range(MESSAGES)]
        republished = 0
        started = time.monotonic()
        for i, event in enumerate(events):
            if i == MESSAGES // 3:
                os.kill(cluster.pid(killed), signal.SIGKILL)
                report["killed"] = leader
                report["killed_after_s"] = round(time.monotonic() - started, 2)
                killed_at = time.monotonic()
            deadline = time.monotonic() + 60
            while True:
                try:
                    publisher.publish(event)  # returns once confirmed
                    break
                except BROKER_ERRORS:  # the node died under us: connect through the list, publish again
                    publisher.close()
                    republished += 1
                    assert time.monotonic() < deadline, f"event {i} not confirmed within 60 s of the node loss"
                    time.sleep(0.2)
            if i == MESSAGES // 3:
                report["first_confirm_after_kill_s"] = round(time.monotonic() - killed_at, 2)
        report["published_s"] = round(time.monotonic() - started, 2)
        report["published_again"] = republished

        expected = {e["id"] for e in events}
        wait_until(lambda: expected <= set(sink.message_ids()), 180, interval=0.5,
                   what=f"all {MESSAGES} e-mails after the loss of {leader}")
        report["delivered_s"] = round(time.monotonic() - started, 2)
        ids = sink.message_ids()
        report["delivered"] = len(set(ids) & expected)
        report["lost"] = len(expected - set(ids))
        report["duplicates"] = len(ids) - len(set(ids))
        after = _queue(vhost, "notify.mail", survivor)
        report["new_leader"] = after["leader"]
        print("node loss:", report)
        assert report["lost"] == 0
        assert report["duplicates"] <= republished, report
        assert after["leader"] != leader and after["type"] == "quorum"
        assert notify.proc.poll() is None, "notify exited when its broker node died"
        os.makedirs(os.path.join(ROOT, "artifacts", "reliability"), exist_ok=True)
        with open(os.path.join(ROOT, "artifacts", "reliability", "cluster-node-loss.json"), "w") as f:
            json.dump(report, f, indent=2)
    finally:
        publisher.close()
        notify.stop()
        sink.stop()
        if killed is not None:
            cluster.up()  # the killed node starts again and rejoins
        vhost.delete()
        mongo.drop_database(f"{prefix}_notify")


SIGNUPS = int(os.environ.get("KADRA_CLUSTER_SIGNUPS", "20"))


def test_the_system_answers_and_mails_after_the_node_its_clients_use_is_sigkilled(cluster_system, mailbox):
    """Every nameko service, the gateway's RPC client and notify connect to the list's first node; it is
    SIGKILLed. They reconnect through the list; sign-ups (RPC over quorum `rpc-identity`, the outbox,
    notify) answer again, and every sign-up answered 202 gets its e-mail."""
    running, vhost = cluster_system
    api = requests.Session()
    api.url = lambda path: running.base_url + path

    def sign_up():
        email = f"loss-{uuid.uuid4().hex[:10]}@example.com"
        try:
            response = signup.request(api, email, "correct horse battery staple", "Ala Nowak", "Kadra", "en")
        except requests.RequestException:
            return email, None
        return email, response.status_code

    email, status = sign_up()
    assert status == 202
    signup.wait_for_confirmation(email, mailbox)
    accepted, refused = [], []
    leader = _queue(vhost, "rpc-identity", 1)["leader"]
    os.kill(cluster.pid(1), signal.SIGKILL)  # the first address: every client is connected there
    killed_at = time.monotonic()
    report = {"killed": "kc1@localhost", "rpc_identity_leader_before": leader}
    try:
        while len(accepted) < SIGNUPS:
            if time.monotonic() - killed_at > 60:
                state = {q["name"]: (q.get("leader"), q.get("consumers"), q.get("messages_ready"), q.get("messages_unacknowledged"))
                         for q in vhost.queues(node=2) if q["name"].startswith("rpc")}
                from gateway.rpc import RpcClient
                probes = {}
                for n in (2, 3):
                    try:
                        probes[n] = RpcClient(vhost.node_uri(n), timeout=5).call("identity", "ping")
                    except Exception as error:  # a diagnosis only
                        probes[n] = repr(error)
                raise AssertionError(f"only {len(accepted)} sign-ups accepted in 60 s: {refused}; queues: {state}; "
                                     f"identity.ping through node 2 and 3: {probes}")
            email, status = sign_up()
            if status == 202:
                accepted.append(email)
                report.setdefault("first_202_after_kill_s", round(time.monotonic() - killed_at, 2))
            else:
                refused.append(status)
                time.sleep(0.2)
        report.update(accepted=len(accepted), refused_while_failing_over=len(refused),
                      refused_statuses=sorted({str(s) for s in refused}))
        for email in accepted:
            signup.wait_for_confirmation(email, mailbox, timeout=60)
        report["mails_s"] = round(time.monotonic() - killed_at, 2)
        report["lost"] = 0
        print("system after node loss:", report)
        assert all(s in (None, 502, 503, 504) for s in refused), refused  # never a 500
        assert not running.dead(), running.tails(running.dead())
    finally:
        cluster.up()
