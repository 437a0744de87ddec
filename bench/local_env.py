"""What a bench that starts the local stack in its own process sets before importing it: the
repository on the path, a region and local credentials, quiet powertools. Import it first
(`bench/` is the script's directory, so `import local_env` finds it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                   "POWERTOOLS_LOG_LEVEL": "ERROR",
                   "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
    os.environ.setdefault(key, value)
