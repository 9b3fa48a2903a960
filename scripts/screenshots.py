#!/usr/bin/env python3
"""Retake the dashboard screenshots in docs/ (dashboard-board.png, dashboard-causal-tree.png).

Runs the browser test that follows a submission live, with its screenshots pointed at docs/
instead of the test's own directory. Exits with pytest's status.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {**os.environ, "ORCH_DASHBOARD_SHOTS": str(REPO / "docs")}
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-x", "tests/e2e/test_dashboard.py",
                              "-k", "follows_a_submission_live"], cwd=REPO, env=env))
