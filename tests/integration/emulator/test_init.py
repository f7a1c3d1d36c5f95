from __future__ import annotations

import chatproof.emulator as emulator


def test_all_is_sorted_and_matches_the_namespace() -> None:
    assert emulator.__all__ == sorted(emulator.__all__)
    public = {name for name in vars(emulator) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(emulator, name)).__name__ == "module"}
    assert set(emulator.__all__) == public - modules - {"annotations"}
