"""Collecting one browser upload: only its announced files, in any order, within the size limit."""

from __future__ import annotations

import pytest

from rhinoapp.dicom.upload import UploadError
from rhinoapp.state.upload_collection import UploadCollection


def test_files_arrive_in_batches_and_complete_once() -> None:
    collection = UploadCollection(max_bytes=10_000)
    names = [f"series/{i:03d}.dcm" for i in range(52)]
    assert collection.announce(names) is False
    completions = [collection.add(name, name.encode()) for name in names]
    assert completions == [False] * 51 + [True]
    assert collection.progress_text() == "Received 52 of 52 files."
    files = collection.take()
    assert [name for name, _ in files] == names and collection.take() == [] and not collection.collecting


def test_progress_counts_only_this_upload() -> None:
    collection = UploadCollection(max_bytes=10_000)
    collection.announce(["a", "b", "c"])
    collection.add("a", b"1")
    assert collection.take() == []  # incomplete: nothing taken, nothing forgotten
    collection.add("z", b"not announced")  # waits for a later announcement; not counted
    assert (collection.received, collection.total, collection.collecting) == (1, 3, True)
    assert collection.progress_text() == "Received 1 of 3 files."


def test_files_before_their_announcement_are_claimed_and_strays_dropped() -> None:
    collection = UploadCollection(max_bytes=10_000)
    assert collection.add("b", b"2") is False and collection.add("stray", b"x") is False
    assert collection.announce(["a", "b"]) is False and collection.received == 1
    assert collection.add("a", b"1") is True
    assert sorted(collection.take()) == [("a", b"1"), ("b", b"2")]
    collection.announce(["stray"])  # the stray was dropped by the previous announcement
    assert collection.received == 0


def test_a_new_announcement_drops_the_unfinished_upload() -> None:
    collection = UploadCollection(max_bytes=10_000)
    collection.announce(["old1", "old2"])
    collection.add("old1", b"o")
    collection.announce(["new1"])
    assert collection.add("old2", b"late") is False  # a straggler of the dropped upload is not mixed in
    assert collection.add("new1", b"n") is True and collection.take() == [("new1", b"n")]


def test_withdrawn_files_are_not_awaited() -> None:
    collection = UploadCollection(max_bytes=10_000)
    collection.announce(["a", "too-large"])
    collection.add("a", b"1")
    assert collection.withdraw(["too-large", "unknown"]) is True and collection.take() == [("a", b"1")]


def test_same_name_twice_is_two_files() -> None:
    collection = UploadCollection(max_bytes=10_000)
    collection.announce(["a", "a"])
    assert collection.add("a", b"1") is False and collection.add("a", b"2") is True


def test_the_size_limit_counts_waiting_files_and_clears_everything() -> None:
    collection = UploadCollection(max_bytes=5 * 1024 * 1024)
    collection.announce(["a", "b"])
    collection.add("a", bytes(3 * 1024 * 1024))
    with pytest.raises(UploadError, match="limit of 5 MB.*max_upload_mb"):
        collection.add("unannounced", bytes(3 * 1024 * 1024))
    assert (collection.total, collection.received) == (0, 0) and collection.take() == []
