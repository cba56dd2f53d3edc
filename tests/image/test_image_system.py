"""`make image`'s image runs Kadra: a smoke journey through the gateway of the containers, which run as the
image's non-root user on a read-only root filesystem, from an image with no compilers in it."""
import subprocess

import pytest

from image_system import container_cmd, engine_env, inspect
from tests.support.users import accept, invitation_token, invite, login, sign_up, unique_email, Person, PASSWORD

pytestmark = [pytest.mark.image, pytest.mark.e2e]

PROCESSES = ("identity", "users", "devices", "notify", "gateway")


def run_in(container: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(container_cmd("exec", container, *command), capture_output=True, text=True,
                          env=engine_env(), timeout=60)


def test_sign_up_by_link_login_and_an_invitation_email_through_the_containers(image_api, image_system, mailbox):
    owner, company_id = sign_up(image_api, company_name="Obraz Sp. z o.o.", mailbox=mailbox)  # link from the sink
    assert owner.token  # logged in through the gateway's container

    email = unique_email("image")
    response = invite(image_api, owner, company_id, email, "employee")
    assert response.status_code == 201, response.text
    (mail,) = mailbox.wait_for(email, timeout=30)  # sent by notify's container to the SMTP sink
    assert "Obraz Sp. z o.o." in mail.text
    response = accept(image_api, invitation_token(mailbox, email), full_name="Ewa Obrazowa")
    assert response.status_code == 200, response.text
    member = login(image_api, Person(email=email, password=PASSWORD, full_name="Ewa Obrazowa"))
    me = image_api.get(image_api.url("/api/v1/me"), headers=member.auth)
    assert me.status_code == 200 and me.json()["email"] == email, me.text


@pytest.mark.parametrize("process", PROCESSES)
def test_each_container_runs_as_a_user_on_a_read_only_root_filesystem(image_system, process):
    container = image_system.containers[process]
    assert inspect(container, "{{.State.Running}}") == "true"
    assert inspect(container, "{{.HostConfig.ReadonlyRootfs}}") == "true"
    assert inspect(container, "{{.Config.User}}") == "10001:10001"
    ids = run_in(container, "id", "-u")
    assert ids.returncode == 0 and ids.stdout.strip() == "10001", ids
    # PID 1 is the Kadra process itself (the entrypoint execs it), running as 10001, not root.
    status = run_in(container, "cat", "/proc/1/status")
    uid_line = next(line for line in status.stdout.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4, uid_line
    for path in ("/app/written", "/opt/venv/written", "/written"):
        write = run_in(container, "python", "-c", f"open({path!r}, 'w')")
        assert write.returncode != 0 and "Read-only file system" in write.stderr, (path, write)
    assert run_in(container, "python", "-c", "open('/tmp/written', 'w')").returncode == 0  # the tmpfs


def test_the_image_has_no_compilers_and_runs_as_10001_by_default(image):
    proc = subprocess.run(container_cmd("run", "--rm", "--network", "none", image, "sh", "-c",
                                        "id -u; for c in gcc cc c++ g++ clang make; do command -v $c; done; true"),
                          capture_output=True, text=True, env=engine_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["10001"], proc.stdout
