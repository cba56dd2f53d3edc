"""On the three-node cluster with KADRA_AMQP_QUEUE_TYPE=quorum, every durable queue Kadra declares is a
quorum queue (the management API's `type`): nameko's RPC and event handler queues as well as the mail
queues and the services' own reply queues. Exclusive or auto-delete queues (the gateway's reply queue,
its feed queue) cannot be quorum queues and stay classic.

The whole system runs with KADRA_AMQP_URI listing the three nodes; a sign-up then goes through RPC
(quorum `rpc-identity`), the outbox, the mail queue and notify, to the SMTP sink.
"""
import uuid

import pytest
import requests

from tests.support import signup

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow]


def test_every_durable_queue_kadra_declares_is_a_quorum_queue(cluster_system):
    running, vhost = cluster_system
    queues = {q["name"]: q for q in vhost.queues()}
    durable = {name: q["type"] for name, q in queues.items()
               if q["durable"] and not q["auto_delete"] and not q["exclusive"]}
    print("durable queues:", durable)
    # nameko's RPC queue of every service, users' event handler queues, the mail queues, and the reply
    # queues of the services that call others (durable, with x-expires)
    for name in ("rpc-identity", "rpc-users", "rpc-devices", "rpc-notify", "notify.mail", "notify.mail.dead"):
        assert durable.get(name) == "quorum", (name, durable.get(name))
    assert any(name.startswith("evt-devices-device_paired--users.") for name in durable)
    assert any(name.startswith("rpc.reply-identity-") for name in durable)
    assert set(durable.values()) == {"quorum"}, durable
    # what cannot be a quorum queue is a reply queue that dies with its connection
    others = {name: q["type"] for name, q in queues.items() if name not in durable}
    assert all(q["auto_delete"] or q["exclusive"] for name, q in queues.items() if name in others), others
    # the quorum queues have members on all three nodes
    members = {name: len(q.get("members") or []) for name, q in queues.items() if name in durable}
    assert set(members.values()) == {3}, members


def test_a_sign_up_goes_through_the_quorum_queues_to_the_mailbox(cluster_system, mailbox):
    running, _ = cluster_system
    api = requests.Session()
    api.url = lambda path: running.base_url + path
    email = f"cluster-{uuid.uuid4().hex[:8]}@example.com"
    response = signup.request(api, email, "correct horse battery staple", "Ala Nowak", "Kadra Cluster", "en")
    assert response.status_code == 202, response.text
    _, mail = signup.wait_for_confirmation(email, mailbox)
    assert signup.token_of(mail)
