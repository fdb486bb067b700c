"""Check that every config in configs/ resolves to the same Config as at an earlier commit.

Used when the benchmark configs became base chains (configs/base/*.yaml): each file at REVISION is
read from git into a temporary folder (with the files it names as bases, if any), both versions
are loaded with cagnet.config.load_config and their resolved dicts compared field by field.

    python benchmarks/check_config_refactor.py [REVISION]     # default: HEAD
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from cagnet.config import load_config
from cagnet.config_io import to_dict

REPOSITORY = Path(__file__).resolve().parents[1]


def _files_at(revision: str) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision, "configs"],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
        text=True,
    )
    return [line for line in listing.stdout.splitlines() if line.endswith(".yaml")]


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    found = []
    for key in keys:
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            found += _differences(left, right, f"{prefix}{key}.")
        elif left != right:
            found.append(f"{prefix}{key}: {left!r} -> {right!r}")
    return found


def main(revision: str = "HEAD") -> int:
    old_files = _files_at(revision)
    rows = sorted(p for p in (REPOSITORY / "configs").glob("*.yaml"))
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        for name in old_files:
            target = Path(folder) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shown = subprocess.run(
                ["git", "show", f"{revision}:{name}"],
                cwd=REPOSITORY,
                check=True,
                capture_output=True,
                text=True,
            )
            target.write_text(shown.stdout)
        for path in rows:
            old = Path(folder) / "configs" / path.name
            if not old.is_file():
                print(f"NEW   {path.name} (not at {revision})")
                continue
            differences = _differences(to_dict(load_config(old)), to_dict(load_config(path)))
            status = "SAME " if not differences else "DIFF "
            failures += bool(differences)
            print(f"{status} {path.name}" + "".join(f"\n      {d}" for d in differences))
    missing = sorted(
        {Path(n).name for n in old_files if n.count("/") == 1} - {p.name for p in rows}
    )
    for name in missing:
        print(f"GONE  {name}")
    print(f"{len(rows)} configs, {failures} resolve differently from {revision}")
    return 1 if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
