"""An outside process that tries to run code on the app's dask scheduler and workers.

Run as ``python outsider.py REQUEST.json``: the request names the scheduler's and a worker's
address, a folder for marker files and, for the positive control only, the app's credentials. Each
attempt tries to make the cluster write a marker file; the script prints one JSON object: for each
attempt, ``"ran"`` or ``"refused: <error>"``. The test checks the outcomes and the marker files.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

TIMEOUT_S = 5


def write_marker(path: str) -> str:
    """What the outsider wants the cluster to run."""
    Path(path).write_text("ran")
    return path


def own_security(folder: Path, *, trust_app_ca: str = "") -> Any:
    """Credentials the outsider made for itself (optionally trusting the app's CA certificate)."""
    from distributed.security import Security

    from rhinoapp.jobs.credentials import make_credentials_pem

    ca, cert, key = make_credentials_pem(common_name="outsider", valid_days=1)
    for name, content in (("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)):
        (folder / name).write_bytes(content)
    return Security(require_encryption=True, tls_ca_file=trust_app_ca or str(folder / "ca.pem"),
                    tls_client_cert=str(folder / "cert.pem"), tls_client_key=str(folder / "key.pem"))


def submit(address: str, security: Any, marker: str) -> str:
    """Submit ``write_marker`` through the scheduler, as a dask client would."""
    from distributed import Client

    with Client(address, security=security, timeout=TIMEOUT_S) as client:
        return str(client.submit(write_marker, marker, pure=False).result(timeout=30))


async def _worker_run(address: str, connection_args: dict[str, Any], marker: str) -> Any:
    from distributed.core import rpc
    from distributed.protocol.pickle import dumps  # by value, as a dask client sends functions

    async with rpc(address, connection_args=connection_args, timeout=TIMEOUT_S) as worker:
        return await worker.run(function=dumps(write_marker), args=dumps((marker,)), kwargs=dumps({}))


def worker_run(address: str, connection_args: dict[str, Any], marker: str) -> str:
    """Call the worker's ``run`` handler directly, bypassing the scheduler."""
    reply = asyncio.run(asyncio.wait_for(_worker_run(address, connection_args, marker), 3 * TIMEOUT_S))
    if not isinstance(reply, dict) or reply.get("status") != "OK":
        raise RuntimeError(f"worker answered {reply!r}")
    return "ran"


def no_certificate() -> dict[str, Any]:
    """TLS that trusts any server and shows no certificate of its own."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return {"ssl_context": context, "require_encryption": True}


def attempt(outcomes: dict[str, str], name: str, action: Any) -> None:
    try:
        action()
        outcomes[name] = "ran"
    except BaseException as error:  # every refusal counts, whatever its type
        outcomes[name] = f"refused: {type(error).__name__}: {error}"[:300]


def main(request_file: str) -> None:
    request = json.loads(Path(request_file).read_text())
    scheduler, worker, markers = request["scheduler"], request["worker"], Path(request["markers"])
    plain = scheduler.replace("tls://", "tcp://")
    outcomes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in ("own", "trusting"):
            (Path(folder) / name).mkdir()
        own = own_security(Path(folder) / "own")
        trusting = own_security(Path(folder) / "trusting", trust_app_ca=request["app_ca"])
        attempt(outcomes, "scheduler, plain tcp", lambda: submit(plain, None, str(markers / "plain")))
        attempt(outcomes, "scheduler, own certificate", lambda: submit(scheduler, own, str(markers / "own")))
        attempt(outcomes, "scheduler, own certificate trusting the app's CA",
                lambda: submit(scheduler, trusting, str(markers / "trusting")))
        attempt(outcomes, "worker, no certificate", lambda: worker_run(worker, no_certificate(), str(markers / "w-none")))
        attempt(outcomes, "worker, own certificate",
                lambda: worker_run(worker, own.get_connection_args("client"), str(markers / "w-own")))
        attempt(outcomes, "worker, own certificate trusting the app's CA",
                lambda: worker_run(worker, trusting.get_connection_args("client"), str(markers / "w-trusting")))
        if request.get("app_credentials"):  # the positive control: the app's own files
            from distributed.security import Security

            ca, cert, key = request["app_credentials"]
            app = Security(require_encryption=True, tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key)
            attempt(outcomes, "scheduler, the app's credentials", lambda: submit(scheduler, app, str(markers / "app")))
            attempt(outcomes, "worker, the app's credentials",
                    lambda: worker_run(worker, app.get_connection_args("client"), str(markers / "w-app")))
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main(sys.argv[1])


def run_outsider(*, scheduler: str, worker: str, markers: Path, app_ca: Path,
                 app_credentials: tuple[Path, Path, Path] | None = None) -> dict[str, str]:
    """Run this script in a fresh Python process against a cluster; returns the outcome of each attempt."""
    import os
    import subprocess

    markers.mkdir(parents=True, exist_ok=True)
    request = markers.parent / f"{markers.name}-request.json"
    request.write_text(json.dumps({"scheduler": scheduler, "worker": worker, "markers": str(markers),
                                   "app_ca": str(app_ca),
                                   "app_credentials": [str(p) for p in app_credentials] if app_credentials else None}))
    done = subprocess.run([sys.executable, __file__, str(request)], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
