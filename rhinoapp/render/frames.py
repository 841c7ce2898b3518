"""Encoding rendered pixels (JPEG, WebP or PNG): the panes' screenshots and the benchmarks' frames."""

from __future__ import annotations

import enum
import io

import numpy as np

__all__ = ["ImageFormat", "encode"]


class ImageFormat(enum.Enum):
    """Image encodings a browser shows directly."""

    JPEG = "jpeg"
    WEBP = "webp"
    PNG = "png"

    @property
    def mime(self) -> str:
        """The MIME type, e.g. ``image/jpeg``."""
        return f"image/{self.value}"


def encode(pixels: np.ndarray, image_format: ImageFormat, quality: int = 85) -> bytes:
    """Encode an ``(height, width, 3)`` uint8 RGB array, top row first.

    Examples
    --------
    >>> data = encode(np.zeros((4, 6, 3), dtype=np.uint8), ImageFormat.PNG)
    >>> data[:4]
    b'\\x89PNG'
    >>> encode(np.zeros((4, 6, 3), dtype=np.uint8), ImageFormat.JPEG, 50)[:2]
    b'\\xff\\xd8'
    """
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels))
    buffer = io.BytesIO()
    if image_format is ImageFormat.JPEG:
        image.save(buffer, format="JPEG", quality=quality, subsampling=2 if quality < 80 else 0)
    elif image_format is ImageFormat.WEBP:
        image.save(buffer, format="WEBP", quality=quality, method=0)
    else:
        image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
