from __future__ import annotations

import pytest

from chatproof.emulator import EmulatorClock


def test_clock_follows_its_source_plus_offset() -> None:
    now = [100.0]
    clock = EmulatorClock(source=lambda: now[0])
    assert clock.now() == 100.0
    assert clock.advance(50) == 150.0
    now[0] = 110.0
    assert clock.now() == 160.0
    assert clock.offset == 50.0


def test_clock_never_goes_back() -> None:
    clock = EmulatorClock(source=lambda: 0.0)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
