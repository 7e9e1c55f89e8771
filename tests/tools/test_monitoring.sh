#!/usr/bin/env bash
# test_monitoring.sh - the shipped monitoring files are valid and name only real metrics.
#
#   deploy/prometheus/riskd-alerts.yml   `promtool check rules`, then the alert cases of
#                                        riskd-alerts.test.yml (`promtool test rules`)
#   deploy/grafana/riskd.json            valid JSON; every panel has a query; every query is
#                                        valid PromQL (`promtool check rules` over the queries
#                                        written as recording rules)
#   both                                 every riskd_* metric their expressions use is a row of
#                                        docs/metrics.md's table (which tests/unit/test_metrics.c
#                                        holds equal to what /metrics renders)
#
# promtool comes with Debian's prometheus package (`make deps` installs it). Run by `make test`
# and `make check-monitoring`; exits non-zero naming every failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

rules=deploy/prometheus/riskd-alerts.yml
dashboard=deploy/grafana/riskd.json
command -v promtool >/dev/null ||
    { echo "FAIL: promtool not found (Debian package prometheus: make deps installs it)"; exit 1; }

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # check "what" command...
    local what=$1; shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok: $what"
    else
        echo "FAIL: $what"; sed 's/^/    /' "$tmp/out"; failures=$((failures + 1))
    fi
}

check "promtool check rules $rules" promtool check rules "$rules"
check "promtool test rules (the alert cases)" \
    sh -c 'cd deploy/prometheus && promtool test rules riskd-alerts.test.yml'

# The dashboard's queries as recording rules, and every expression's metric names checked
# against docs/metrics.md.
check "the dashboard and the rules use documented metrics only" \
    python3 - "$rules" "$dashboard" docs/metrics.md "$tmp/dashboard-rules.yml" <<'PY'
import json, re, sys

rules_path, dash_path, doc_path, out_path = sys.argv[1:]
problems = []

# docs/metrics.md rows: | `name` | type | ...
documented = dict(re.findall(r"^\| `(riskd_[a-z0-9_]+)` \| ([a-z]+) \|", open(doc_path).read(), re.M))
def known(name):
    if name in documented or name == "up":
        return True
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return documented.get(base) == "histogram"

def check_expr(where, expr):
    names = re.findall(r"\b(riskd_[a-z0-9_]+|up)\b(?!\s*[=!]~?\s*\")", expr)
    if not names:
        problems.append(f"{where}: no riskd metric in: {expr}")
    for name in names:
        if not known(name):
            problems.append(f"{where}: {name} is not in docs/metrics.md")

# alert rules: "expr: text" or "expr: |" followed by more-indented lines
lines = open(rules_path).read().split("\n")
alert, exprs = None, 0
for i, line in enumerate(lines):
    m = re.match(r"\s*- alert: (\S+)", line)
    if m:
        alert = m.group(1)
    m = re.match(r"^(\s*)expr: (.*)$", line)
    if not m:
        continue
    indent, text = len(m.group(1)), m.group(2)
    if text.strip() in ("|", ">"):
        body = []
        for more in lines[i + 1:]:
            if more.strip() and len(more) - len(more.lstrip()) <= indent:
                break
            body.append(more)
        text = "\n".join(body)
    check_expr(f"{rules_path} {alert}", text)
    exprs += 1
if exprs == 0:
    problems.append(f"{rules_path}: no expressions found")

dash = json.load(open(dash_path))
recording = []
panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
if not panels:
    problems.append(f"{dash_path}: no panels")
for p in panels:
    targets = [t for t in p.get("targets", []) if t.get("expr", "").strip()]
    if not targets:
        problems.append(f"{dash_path}: panel '{p.get('title')}' has no query")
    for t in targets:
        check_expr(f"{dash_path} panel '{p.get('title')}'", t["expr"])
        recording.append(t["expr"])

with open(out_path, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for n, expr in enumerate(recording):
        f.write(f"      - record: dashboard:query_{n}\n        expr: {json.dumps(expr)}\n")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
check "every dashboard query is valid PromQL" promtool check rules "$tmp/dashboard-rules.yml"

if ((failures)); then
    echo "test_monitoring: $failures failed"
    exit 1
fi
echo "test_monitoring: all passed"
