"""A local S3-compatible server (moto) on loopback, for tests of ``s3://`` stores."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BUCKET = "semcode-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    """Until ``proc`` (a server called ``what``) listens on ``port`` on loopback."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:.0f} s")


class S3Server:
    """``auth_after``: moto checks credentials after that many requests (the bucket's
    creation counts one), so that the test keys are then refused as a real S3 would."""

    def __init__(self, auth_after: int | None = None) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
        server = Path(sys.executable).parent / "moto_server"
        env = {**os.environ, **({"INITIAL_NO_AUTH_ACTION_COUNT": str(auth_after)}
                                if auth_after is not None else {})}
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
        try:
            wait_for_port(self.port, self.proc, "moto_server")
        except RuntimeError:
            self.stop()
            raise
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test") \
            .create_bucket(Bucket=BUCKET)

    def uri(self, name: str) -> str:
        return f"s3://{BUCKET}/{name}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
