"""`make audit`: bandit over the code and pip-audit over the pinned set, against one file of
accepted findings (security/accepted.toml). Exit 1 on anything not accepted there."""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs the two audit tools
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def bandit(accepted: dict[str, str]) -> list[str]:
    done = subprocess.run([str(BIN / "bandit"), "-q", "-r", "orchestrator", "services", "-f", "json"],
                          cwd=REPO, capture_output=True, text=True, check=False)  # nosec B603
    found = json.loads(done.stdout)["results"]
    return [f"bandit {r['test_id']} {r['filename']}:{r['line_number']}: {r['issue_text']}"
            for r in found if r["test_id"] not in accepted]


def pip_audit(accepted: dict[str, str], allow_unaudited: bool) -> list[str]:
    args = [str(BIN / "pip-audit"), "-r", "constraints.txt", "--disable-pip", "--no-deps",
            "--progress-spinner", "off", "-f", "json"]
    for vuln in accepted:
        args += ["--ignore-vuln", vuln]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=False)  # nosec B603
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return [f"pip-audit did not run: {done.stderr.strip()[-500:]}"]
    pins = report["dependencies"]
    skipped = [d for d in pins if "skip_reason" in d]
    print(f"pip-audit: {len(pins) - len(skipped)} of {len(pins)} pins audited, {len(skipped)} could not be")
    problems = [f"pip-audit {d['name']}=={d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
                for d in pins for v in d.get("vulns", [])]
    if skipped and not allow_unaudited:
        problems.append(f"pip-audit could not audit {len(skipped)} pins, e.g. {skipped[0]['skip_reason']}")
    return problems


def main() -> int:
    accepted = tomllib.loads((REPO / "security" / "accepted.toml").read_text())
    vulns = dict(accepted.get("pip-audit", {}).get("vulnerabilities", {}))
    allow = bool(accepted.get("pip-audit", {}).get("allow_unaudited", False))
    problems = bandit(accepted.get("bandit", {})) + pip_audit(vulns, allow)
    for line in problems:
        print(line)
    print(f"audit: {len(problems)} finding(s) not accepted in security/accepted.toml")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
