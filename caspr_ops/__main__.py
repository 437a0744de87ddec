"""`caspr-ops` (or `python -m caspr_ops`): see caspr_ops.cli."""

import sys

from caspr_ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
