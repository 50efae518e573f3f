#!/usr/bin/env python3
"""Write the bundled demo cluster: ``checks/data/demo-cluster.yaml`` and ``demo-metrics.yaml``.

The generator itself is the ``demo_cluster`` package beside this file (its docstring tells the
story and which module makes what). This script is the documented command and the module the
regeneration test loads.

Usage: ``python tools/make_demo_cluster.py [--out-dir checks/data]``
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, tools/ is on sys.path already; loaded by file path (as the regeneration test
# does) it is not. Either way the package beside this file must import, without installing tools/.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from demo_cluster import generate, main, write  # noqa: E402

__all__ = ["generate", "main", "write"]

if __name__ == "__main__":
    sys.exit(main())
