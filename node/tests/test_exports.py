"""The package's public surface matches its ``__all__``."""

from __future__ import annotations

import infernet_devnode


def test_all_matches_public_names() -> None:
    public = {
        name
        for name in vars(infernet_devnode)
        if not name.startswith("_")
        and name != "annotations"  # from __future__ import annotations
        and not isinstance(getattr(infernet_devnode, name), type(infernet_devnode))
    }
    assert set(infernet_devnode.__all__) == public | {"__version__"}
