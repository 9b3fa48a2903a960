"""DevOps of the python-lib example: build a wheel, install it into a scratch venv, smoke it.

The "deployment" is a fresh virtual environment in the workspace (`venv/`) with the
wheel installed by pip (no index, no dependencies). The wheel comes from
`pip wheel --no-build-isolation` when the interpreter has setuptools and wheel; a bare
Python 3.11 venv has no `wheel`, and the example must run offline, so otherwise this
script writes the wheel itself (PEP 427: the package files, METADATA, WHEEL and RECORD
with sha256 digests). Smoke test: the venv's interpreter imports `textkit` and calls the
function of every requirement in scope; the verdict goes to `smoke.txt`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

NAME, VERSION = "textkit", "0.1.0"
SMOKE = {
    "FR-1": "assert textkit.slugify('Smoke Test!') == 'smoke-test'",
    "FR-2": "assert textkit.word_count('smoke  test') == 2",
}


def build(project: Path, dist: Path) -> Path:
    build_dir = Path("build")
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(project, build_dir, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(dist), str(build_dir)],
                          capture_output=True, text=True, check=False)
    wheels = sorted(dist.glob("*.whl"))
    if done.returncode == 0 and wheels:
        print(f"pip wheel built {wheels[0].name}")
        return wheels[0]
    print("pip wheel unavailable here (setuptools without `wheel`?); writing the wheel directly")
    return write_wheel(build_dir / "src" / NAME, dist)


def write_wheel(package: Path, dist: Path) -> Path:
    info = f"{NAME}-{VERSION}.dist-info"
    files: dict[str, bytes] = {
        f"{NAME}/{p.relative_to(package).as_posix()}": p.read_bytes()
        for p in sorted(package.rglob("*.py"))
    }
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
                                 "Summary: Small text utilities\n").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: deploy.py\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dist / f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel


def main() -> int:
    project = Path(os.environ["ORCH_PROJECT_DIR"])
    requirements = [r for r in os.environ["ORCH_REQUIREMENTS"].split(",") if r]
    wheel = build(project, Path("dist"))
    venv = Path("venv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True)
    print(f"installed {wheel.name} into {venv.resolve()}")
    checks = "; ".join(SMOKE[r] for r in requirements if r in SMOKE)
    smoke = subprocess.run([str(python), "-I", "-c", f"import textkit; {checks or 'pass'}"],
                           capture_output=True, text=True, check=False)
    verdict = "passed" if smoke.returncode == 0 else "failed"
    Path("smoke.txt").write_text(f"{verdict}\n{smoke.stderr[-2000:]}")
    print(f"smoke ({', '.join(requirements)}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
