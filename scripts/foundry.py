"""Print where the real Foundry binaries are: `scripts/foundry.py [forge|anvil|cast]`.

The rule (hf_infernet_stack.foundry, followed by the Makefile too): FORGE/ANVIL/CAST if set, else
the tool on PATH unless it is the npm wrapper, else the platform binary npm installed.
"""

from __future__ import annotations

import sys

from hf_infernet_stack.foundry import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
