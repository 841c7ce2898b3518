"""The wire format between the server and a render worker: a JSON header and a binary body.

Each message is ``!II`` (header length, body length), the UTF-8 JSON header, then the body.
Commands to the worker have an ``op`` and usually a ``view``; the worker answers with ``kind``
``ready``, ``frame`` (body: the image), ``screenshot`` (body: PNG), ``error`` or ``closed``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

from rhinoapp.core.errors import RhinoappError

__all__ = ["MAX_BODY", "MAX_HEADER", "ProtocolError", "pack", "read_async", "read_blocking", "unpack_sizes"]

_SIZES = struct.Struct("!II")
MAX_HEADER = 1 << 20
MAX_BODY = 256 << 20


class ProtocolError(RhinoappError, ConnectionError):
    """The other side sent something that is not a message (or closed mid-message): restart the 3D view."""


def pack(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One message as bytes.

    Examples
    --------
    >>> data = pack({"op": "ping"}, b"xy")
    >>> unpack_sizes(data[:8]), data[8:]
    ((13, 2), b'{"op":"ping"}xy')
    """
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return _SIZES.pack(len(encoded), len(body)) + encoded + body


def unpack_sizes(prefix: bytes) -> tuple[int, int]:
    """Header and body lengths from the 8-byte prefix, checked against the limits."""
    header_size, body_size = _SIZES.unpack(prefix)
    if header_size > MAX_HEADER or body_size > MAX_BODY:
        raise ProtocolError(f"message too large ({header_size} + {body_size} bytes)")
    return header_size, body_size


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ProtocolError("the connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_blocking(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    """Read one message from a blocking socket; :class:`ProtocolError` when it closes."""
    header_size, body_size = unpack_sizes(_recv_exactly(sock, _SIZES.size))
    header = json.loads(_recv_exactly(sock, header_size))
    return header, _recv_exactly(sock, body_size) if body_size else b""


async def read_async(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes]:
    """Read one message from an asyncio stream; :class:`ProtocolError` when it closes."""
    try:
        header_size, body_size = unpack_sizes(await reader.readexactly(_SIZES.size))
        header = json.loads(await reader.readexactly(header_size))
        body = await reader.readexactly(body_size) if body_size else b""
    except asyncio.IncompleteReadError as error:
        raise ProtocolError("the connection closed") from error
    return header, body
