"""Exit statuses of the `orchestrator` command, in one place (README: "CLI exit codes").

2 is Click's usage error and nothing else: outcomes that are not errors of the command line
get codes of their own, so a script can tell a rejected spec from a mistyped option.
"""

from __future__ import annotations

OK = 0
FAILED = 1  # the command could not do what was asked: a missing file, an unknown id, a server down
USAGE = 2  # Click: an unknown option, a missing argument, a bad value
INTEGRITY = 3  # evidence does not check out: an artifact's digest, a broken hash chain
REJECTED = 4  # the spec was rejected (submit --wait)
BLOCKED = 5  # the project ended blocked (submit --wait, watch)
CANCELLED = 6  # the project was cancelled (submit --wait, watch)
TIMEOUT = 7  # gave up waiting (submit --wait, watch)
REFUSED = 8  # the system said no: a verdict on a task that is not waiting for one
SOFTWARE = 70  # a service stopped because its loop cannot go on (EX_SOFTWARE); a restart resumes

# what `submit --wait` and `watch` exit with, by how the wait ended
BY_OUTCOME = {"project.completed": OK, "spec.rejected": REJECTED, "project.blocked": BLOCKED,
              "project.cancelled": CANCELLED, "timeout": TIMEOUT}
BY_STATUS = {"completed": OK, "rejected": REJECTED, "blocked": BLOCKED, "cancelled": CANCELLED}
