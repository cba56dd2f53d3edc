"""The system from the container image: kadra-keys, the four services and the gateway as containers of the image
`make image` builds (scripts/image_system.py, as `make run-image` runs them), against this run's RabbitMQ vhost,
databases and SMTP sink.

The image is built here (scripts/image.sh: cached, seconds when nothing changed; podman, runc and debootstrap are
installed from Debian when missing), so these tests always run the code of this checkout. Nothing is skipped: a
machine that cannot build or run the image fails here, saying why.
"""
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.support.infra import ROOT
from tests.support.systems import own_system

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from image_system import IMAGE, ImageSystem  # noqa: E402


@pytest.fixture(scope="session")
def image():
    """The image, built from this checkout (its build time and size are printed with -s)."""
    started = time.monotonic()
    proc = subprocess.run([os.path.join(ROOT, "scripts", "image.sh"), "build"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1500)
    assert proc.returncode == 0, f"scripts/image.sh build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    print(f"\n[image] {IMAGE} ready in {time.monotonic() - started:.0f} s: "
          f"{[line for line in proc.stderr.splitlines() if line.startswith('[image] built')]}")
    return IMAGE


@pytest.fixture(scope="session")
def image_system(image, system_env, tmp_path_factory):
    """Kadra from the image: its own vhost, databases and ports; e-mails to the session's SMTP sink."""
    with own_system(system_env, "image", tmp_path_factory, kind=ImageSystem) as running:
        yield running


@pytest.fixture
def image_api(image_system):
    session = requests.Session()
    session.url = lambda path: image_system.base_url + path
    yield session
    session.close()
