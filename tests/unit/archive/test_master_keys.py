"""Master key versions on disk: a rotation switches the current version atomically, keeps the
old one and the derivation root beside it, and an old version's file goes only when asked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatproof.archive.errors import ArchiveError, MasterKeyError
from chatproof.archive.keyfiles import create_keys, load_master_key
from chatproof.archive.master_keys import (
    DERIVATION_KEY_FILE,
    begin_rotation,
    load_master_keys,
    old_version_path,
    retire,
)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    create_keys(tmp_path / "keys")
    return tmp_path / "keys"


def test_a_fresh_directory_has_version_1_as_its_own_derivation_root(keys_dir: Path) -> None:
    keys = load_master_keys(keys_dir)
    assert (keys.version, keys.older) == (1, {})
    assert keys.current == keys.derivation == load_master_key(keys_dir)


def test_a_rotation_makes_a_new_current_version_and_keeps_the_old(keys_dir: Path) -> None:
    first = load_master_keys(keys_dir)
    second = begin_rotation(keys_dir)
    assert second.version == 2 and second.current != first.current
    assert second.older == {1: first.current}
    assert second.derivation == first.current
    assert load_master_key(keys_dir) == second.current
    assert (keys_dir / "master.key").read_text().startswith("v2:")
    for name in ("master.key", "master.v1.key", DERIVATION_KEY_FILE):
        assert stat.S_IMODE((keys_dir / name).stat().st_mode) == 0o600
    third = begin_rotation(keys_dir)
    assert (third.version, sorted(third.older)) == (3, [1, 2])
    assert third.derivation == first.current
    assert not list(keys_dir.glob(".*.tmp"))


def test_a_crash_before_the_switch_leaves_a_directory_that_opens(keys_dir: Path) -> None:
    first = load_master_keys(keys_dir)
    old_version_path(keys_dir, 1).write_text(first.current.hex())  # the step before the switch
    again = load_master_keys(keys_dir)
    assert (again.version, again.current, again.older) == (1, first.current, {})
    assert begin_rotation(keys_dir).version == 2


def test_old_files_go_only_when_nothing_is_wrapped_under_them(keys_dir: Path) -> None:
    first = load_master_keys(keys_dir)
    begin_rotation(keys_dir)
    assert retire(keys_dir, {1, 2}) == []
    assert retire(keys_dir, {2}) == [old_version_path(keys_dir, 1)]
    keys = load_master_keys(keys_dir)
    assert (keys.version, keys.older, keys.derivation) == (2, {}, first.current)


def test_contradicting_or_missing_files_are_named(keys_dir: Path) -> None:
    begin_rotation(keys_dir)
    retire(keys_dir, set())
    (keys_dir / DERIVATION_KEY_FILE).unlink()
    with pytest.raises(ArchiveError, match=r"master\.derivation\.key is missing"):
        load_master_keys(keys_dir)


def test_a_version_file_never_replaces_another_key(keys_dir: Path) -> None:
    old_version_path(keys_dir, 1).write_text("ab" * 32)
    with pytest.raises(MasterKeyError, match="not the current master key"):
        load_master_keys(keys_dir)
    (keys_dir / "master.key").write_text("v1:zz")
    with pytest.raises(ArchiveError, match="not a hex-encoded key"):
        load_master_keys(keys_dir)
