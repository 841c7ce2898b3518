"""Bounded decompression and the limits' settings: a bomb never expands beyond its bound."""

from __future__ import annotations

import bz2
import gzip
import zlib

import pytest

from rhinoapp.config import load_settings
from rhinoapp.core.errors import ConfigurationError, RhinoappError, ValidationError
from rhinoapp.core.limits import Compression, InputLimits, LimitError, bounded_decompress, check_voxels

DATA = bytes(range(256)) * 4000
COMPRESSORS = {Compression.GZIP: gzip.compress, Compression.BZIP2: bz2.compress, Compression.ZLIB: zlib.compress}


@pytest.mark.parametrize("kind", list(Compression))
def test_streams_inflate_up_to_the_bound_and_no_further(kind: Compression) -> None:
    packed = COMPRESSORS[kind](DATA)
    assert bounded_decompress(packed, max_bytes=len(DATA), what="the file", kind=kind) == DATA
    assert bounded_decompress(packed, max_bytes=100, what="the file", kind=kind, stop_at_limit=True) == DATA[:100]
    with pytest.raises(LimitError, match="max_upload_mb"):
        bounded_decompress(packed, max_bytes=len(DATA) - 1, what="the file", kind=kind)
    with pytest.raises(ValidationError, match="truncated"):
        bounded_decompress(packed[: len(packed) // 2], max_bytes=len(DATA), what="the file", kind=kind)


def test_a_gzip_bomb_is_refused_after_at_most_the_bound() -> None:
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros in about 64 KB
    with pytest.raises(LimitError) as refused:
        bounded_decompress(bomb, max_bytes=1 << 20, what="the volume")
    assert isinstance(refused.value, RhinoappError) and isinstance(refused.value, ValueError)
    assert "1,048,576 bytes" in str(refused.value) and "RHINOAPP_MAX_UPLOAD_MB" in str(refused.value)


def test_concatenated_gzip_members_and_damaged_streams() -> None:
    assert bounded_decompress(gzip.compress(b"ab") + gzip.compress(b"cd"), max_bytes=4, what="x") == b"abcd"
    with pytest.raises(ValidationError, match="damaged"):
        bounded_decompress(b"\x1f\x8b\x08\x00" + b"\xff" * 40, max_bytes=100, what="x")


def test_voxel_counts_name_the_setting_and_negative_sizes_are_damage() -> None:
    with pytest.raises(LimitError, match=r"RHINOAPP_MAX_VOXELS"):
        check_voxels((10, 10, 11), 1000, "the header")
    with pytest.raises(ValidationError, match="negative"):
        check_voxels((10, -1, 10), 1000, "the header")
    assert check_voxels((10, 10, 10), 1000, "the header") == 1000


def test_settings_carry_the_limits_from_the_environment() -> None:
    settings = load_settings(environ={"RHINOAPP_MAX_VOXELS": "1000", "RHINOAPP_MAX_UPLOAD_FILES": "7",
                                      "RHINOAPP_MAX_UPLOAD_MB": "3"})
    assert settings.input_limits == InputLimits(max_bytes=3 << 20, max_voxels=1000, max_files=7)
    with pytest.raises(ConfigurationError, match="max_voxels"):
        load_settings(environ={"RHINOAPP_MAX_VOXELS": "0"})
