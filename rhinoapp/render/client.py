"""The server's side of one render worker process: start, talk asynchronously, stop, reap.

Everything here runs on the server's asyncio loop without blocking it: the process starts in a
helper thread, messages travel over a Unix socket pair through asyncio streams, and the exit is
reaped in a helper thread, so no zombie remains.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.protocol import ProtocolError, pack, read_async

__all__ = ["WorkerClient"]

_log = logging.getLogger(__name__)

MessageHandler = Callable[[dict[str, Any], bytes], None]


class WorkerClient:
    """One worker process and the socket to it.

    Parameters
    ----------
    environment
        Extra environment variables (the offscreen backend, llvmpipe threads).
    on_message
        Called on the loop with each message from the worker.
    on_exit
        Called on the loop once when the worker is gone, with a plain-language reason; ``expected``
        is true when :meth:`stop` asked for it.
    executor
        Threads for the blocking parts (process start and reaping).
    nice
        CPU priority offset of the worker (positive: lower priority than the web server).
    """

    def __init__(self, *, environment: dict[str, str], on_message: MessageHandler,
                 on_exit: Callable[[str, bool], None], executor: Executor, nice: int = 10,
                 start_timeout: float = 90.0) -> None:
        self._environment = environment
        self._on_message = on_message
        self._on_exit = on_exit
        self._executor = executor
        self._nice = nice
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._exited = False

    @property
    def pid(self) -> int | None:
        """The worker's process id, once started."""
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        """Started and not yet gone."""
        return self._process is not None and not self._exited

    def _spawn(self, child: socket.socket) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "rhinoapp.render.worker", "--fd", str(child.fileno()), "--nice", str(self._nice),
                   "--log-level", logging.getLevelName(max(logging.getLogger("rhinoapp").getEffectiveLevel(), logging.INFO))]
        return subprocess.Popen(command, pass_fds=(child.fileno(),), env={**os.environ, **self._environment},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)

    async def start(self) -> None:
        """Start the process and wait until it has loaded VTK and said ``ready``."""
        loop = asyncio.get_running_loop()
        parent, child = socket.socketpair()
        try:
            self._process = await loop.run_in_executor(self._executor, self._spawn, child)
        finally:
            child.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=parent, limit=1 << 20)
        try:
            header, _ = await asyncio.wait_for(read_async(reader), self._start_timeout)
        except (ProtocolError, asyncio.TimeoutError) as error:
            await self.stop()
            raise RenderError(f"the render process did not start ({self._exit_reason() or error}); "
                              "check the server log, and run `python -m rhinoapp.render.offscreen`") from None
        if header.get("kind") != "ready":
            await self.stop()
            raise RenderError(f"the render process said {header!r} instead of ready")
        _log.info("render worker %d started", self._process.pid)
        self._reader_task = loop.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header, body = await read_async(reader)
                try:
                    self._on_message(header, body)
                except Exception:  # a handler bug must not stop the stream
                    _log.exception("handling a render worker message failed")
        except (ProtocolError, ConnectionError, ValueError):
            pass
        await self._reap()

    async def _reap(self) -> None:
        if self._exited:
            return
        self._exited = True
        if self._writer is not None:
            self._writer.close()
        process = self._process
        if process is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(self._executor, process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.get_running_loop().run_in_executor(self._executor, process.wait)
        reason = self._exit_reason() or "it closed its connection"
        _log.log(logging.INFO if self._stopping else logging.WARNING, "render worker %s stopped: %s", self.pid, reason)
        self._on_exit(reason, self._stopping)

    def _exit_reason(self) -> str:
        code = self._process.poll() if self._process else None
        if code is None:
            return ""
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the render process was ended by {name}"
        return f"the render process exited with status {code}"

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        """Queue a command (never blocks; dropped when the worker is gone)."""
        if self._writer is None or self._exited or self._writer.is_closing():
            return
        self._writer.write(pack(header, body))

    async def stop(self, timeout: float = 5.0) -> None:
        """Close the socket (the worker exits by itself), then make sure it is gone and reaped."""
        self._stopping = True
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()
        if self._reader_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reader_task), timeout)
            except asyncio.TimeoutError:
                self.kill()
                await self._reader_task
        else:
            if self._process is not None and self._process.poll() is None:
                self.kill()
            await self._reap()

    def kill(self) -> None:
        """Kill the process at once (from any thread; also used at interpreter exit)."""
        self._stopping = True
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
