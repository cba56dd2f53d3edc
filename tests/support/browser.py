"""Debian's Chromium driven by Playwright for Python: nothing is downloaded at test time but Debian's package.

    python tests/support/browser.py install    # apt-get install chromium chromium-driver, if missing (idempotent)
    python tests/support/browser.py check      # exit 0 when the browser starts headless

Playwright's pip wheel carries its driver; the browser is the system one (`/usr/bin/chromium`), never
`playwright install`. Tests call `ensure_chromium()` (installs like scripts/infra.sh installs RabbitMQ)
and `launch(playwright)`.
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = os.environ.get("KADRA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SCREENSHOTS = os.path.join(ROOT, "artifacts", "screenshots")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def chromium_present() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def ensure_chromium() -> str:
    """Debian's chromium (and chromium-driver, for Selenium users) installed once; returns the binary's path."""
    if chromium_present():
        return CHROMIUM
    if not shutil.which("apt-get"):
        raise RuntimeError(f"{CHROMIUM} is missing and apt-get is not available to install it")
    print("[browser] installing chromium from Debian (once)", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    if not chromium_present():
        raise RuntimeError(f"chromium installed but {CHROMIUM} is not executable")
    return CHROMIUM


def launch(playwright):
    """A headless Chromium (the system's) through Playwright's driver."""
    return playwright.chromium.launch(executable_path=ensure_chromium(), headless=True, args=ARGS)


def screenshot_path(test_name: str, shot: str) -> str:
    """artifacts/screenshots/<test>/<NN-shot>.png (the folder is gitignored)."""
    folder = os.path.join(SCREENSHOTS, _SAFE.sub("_", test_name))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, _SAFE.sub("_", shot) + ".png")


def _check() -> int:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        print(f"[browser] chromium {browser.version} starts headless")
        browser.close()
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "install"
    if command == "install":
        print(ensure_chromium())
        sys.exit(0)
    if command == "check":
        sys.exit(_check())
    print(__doc__)
    sys.exit(2)
