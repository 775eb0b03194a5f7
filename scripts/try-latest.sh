#!/usr/bin/env bash
# Try today's releases of every dependency, upper bounds lifted, in a throwaway virtual environment,
# and see what breaks: the quick test loop runs there, and the versions that differ from
# constraints.txt are listed. Nothing in the project changes; when it passes (and the full suite
# too: `--full`), regenerate constraints.txt from the printed freeze and move the bounds in pyproject.toml.
#
#   scripts/try-latest.sh            # quick loop (pytest -m 'not slow')
#   scripts/try-latest.sh --full     # the whole suite
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TRY_LATEST_VENV:-.venv-latest}
rm -rf "$venv"
python3 -m venv "$venv"
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet torch==2.13.0   # the local CPU build here; on a GPU machine install your torch first
# The project's requirements with their upper bounds removed (">=4.56,<5.40" -> ">=4.56").
python - <<'PY' > "$venv/requirements-unbounded.txt"
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = list(project["dependencies"])
for extra in ("api", "serving", "ray", "test"):
    reqs += [r for r in project["optional-dependencies"][extra] if not r.startswith("ecombench")]
for req in reqs:
    if req.startswith("torch"):
        continue
    print(re.sub(r",?\s*<[^,;]*", "", req))
PY
python -m pip install --quiet -e . --no-deps
python -m pip install --quiet --upgrade -r "$venv/requirements-unbounded.txt"
python -m pip freeze --exclude-editable | grep -v -E '^(torch|nvidia-|triton)' > "$venv/freeze.txt"
echo "== versions that differ from constraints.txt (pinned -> latest):"
python - "$venv/freeze.txt" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==", 1)
            out[name.lower().replace("_", "-")] = version
    return out
pinned, latest = read("constraints.txt"), read(sys.argv[1])
for name in sorted(set(pinned) | set(latest)):
    if pinned.get(name) != latest.get(name):
        print(f"  {name}: {pinned.get(name, '-')} -> {latest.get(name, '-')}")
PY
marker=(-m "not slow")
[[ "${1:-}" == "--full" ]] && marker=()
HF_HUB_OFFLINE=1 python -m pytest -q "${marker[@]}" && echo "== passed with the latest versions; the freeze is $venv/freeze.txt"
