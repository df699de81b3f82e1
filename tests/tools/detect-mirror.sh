#!/usr/bin/env bash
# detect-mirror.sh : prints the http(s) Debian mirror URL for SUITE (default bookworm)
# taken from the machine's apt sources (/etc/apt/sources.list, sources.list.d/*.list|*.sources),
# or $MIRROR when set. Exit 1 if none is found.
# Callers capture it ($(detect-mirror.sh)) and never print it: logs must not name the mirror.
set -euo pipefail
SUITE=${SUITE:-bookworm}
if [ -n "${MIRROR:-}" ]; then printf '%s\n' "$MIRROR"; exit 0; fi
SUITE=$SUITE python3 - <<'PYEOF'
import glob, os, re, sys
suite = os.environ["SUITE"]
exact, other = [], []
def add(uri, suites, comps):
    if not uri.startswith(("http://", "https://")) or "main" not in comps:
        return
    if suite in suites:
        exact.append(uri)
    elif any("-security" not in s and "/" not in s for s in suites):
        other.append(uri)
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for l in lines:
        l = l.split("#", 1)[0].strip()
        if not l.startswith("deb "):
            continue
        p = re.sub(r"\[[^\]]*\]", " ", l).split()
        if len(p) >= 4:
            add(p[1], [p[2]], p[3:])
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for st in re.split(r"\n\s*\n", open(f).read()):
        d = {}
        for l in st.splitlines():
            if l.startswith("#") or ":" not in l or l[:1].isspace():
                continue
            k, v = l.split(":", 1)
            d[k.strip().lower()] = v.strip()
        if d.get("enabled", "yes").lower() == "no" or "deb" not in d.get("types", "").split():
            continue
        for u in d.get("uris", "").split():
            add(u, d.get("suites", "").split(), d.get("components", "").split())
c = exact or other
if not c:
    sys.exit(1)
print(c[0].rstrip("/"))
PYEOF
