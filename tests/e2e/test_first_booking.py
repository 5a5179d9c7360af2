"""A new user's first booking against a real server started like `make run`."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_script_finds_books_and_lists_across_the_next_dst_change(tmp_path):
    # given a server on embedded defaults with demo data
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{tmp_path}/rapport.db",
        "PORT": str(port),
        "SEED_DEMO_DATA": "true",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "serve.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError("the server did not become ready")

        # when the script runs as a new user would
        run = subprocess.run(
            [
                sys.executable,
                "scripts/first_booking.py",
                f"http://127.0.0.1:{port}/graphql",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)

    # then every step held
    assert run.returncode == 0, run.stdout + run.stderr
    assert "wall-clock times kept across the change: 09:00" in run.stdout
    assert "listed under viewer.appointments and viewer.threads: ok" in run.stdout
