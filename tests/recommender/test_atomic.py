"""Cache files written by many writers at once: every write lands whole, none fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from recommender._atomic import write_atomically


def test_concurrent_writers_of_one_cache_file_neither_fail_nor_tear_it(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "meta-0123.json"
    contents = [bytes([ord("a") + writer]) * 100_000 for writer in range(8)]

    def write_many(content: bytes) -> None:
        for _ in range(40):
            write_atomically(path, content)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write_many, contents))  # re-raises any writer's error
    assert path.read_bytes() in contents
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    write_atomically(path, b"old")
    with pytest.raises(TypeError):
        write_atomically(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]
