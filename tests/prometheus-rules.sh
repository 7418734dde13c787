#!/bin/bash
# contrib/: the alert rules pass "promtool check rules" and their unit tests
# ("promtool test rules"); the Grafana dashboard is JSON whose every query
# is valid PromQL (promtool checks it as a recording rule); and both name
# only metrics that warmd writes, as a metrics file written by warmd --once
# against the platform lists them.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

require_cmd promtool
rules=$top_srcdir/contrib/prometheus/warmd.rules.yml
rules_test=$top_srcdir/contrib/prometheus/warmd.rules.test.yml
dashboard=$top_srcdir/contrib/grafana/warmd.json

check "promtool check rules warmd.rules.yml" promtool check rules "$rules"
check "promtool test rules warmd.rules.test.yml" promtool test rules "$rules_test"
for alert in WarmdEndpointShort WarmdRoundsOverdue WarmdContainersReclaimed WarmdJournalDropping \
	WarmdMetricsStale WarmdMetricsAbsent; do
	check_eq "$alert: its unit tests have a case that must fire and one that must not" "1 1" \
		"$(awk -v a="$alert" '$1 == "alertname:" { cur = $2 }
			$1 == "exp_alerts:" && cur == a { if ($2 == "[]") no = 1; else yes = 1 }
			END { print yes + 0, no + 0 }' "$rules_test")"
done
check_eq "every rule has a summary and a description" "6 6 6" \
	"$(grep -c '^      - alert:' "$rules") $(grep -c '^          summary:' "$rules") $(grep -c '^          description:' "$rules")"

# The metrics warmd writes: the TYPE lines of a real file, every metric there even before it has samples.
start_platform --hold-ms 20 --cold-ms 0
conf metrics_file="$WORK/warmd.prom" -- orders /orders 2 >"$WORK/warmd.conf"
once "$WORK/warmd.conf"
check_eq "--once wrote the metrics file" 0 "$RC"
awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$WORK/warmd.prom" | sort -u >"$WORK/written"
check_ge "metrics written" 10 "$(wc -l <"$WORK/written")"

# Rules: every warmd_* name, in expressions and texts alike; node_textfile_mtime_seconds is node_exporter's own.
grep -oE '\b(warmd_[a-z0-9_]+|node_textfile_[a-z_]+)' "$rules" | sort -u >"$WORK/rules-names"
check_eq "the rules name only metrics warmd writes (and node_textfile_mtime_seconds)" "" \
	"$(grep -vxF -f "$WORK/written" "$WORK/rules-names" | grep -vx node_textfile_mtime_seconds | xargs)"

# The dashboard: JSON; its queries, with Grafana's variables given values, as recording rules for promtool.
check "the dashboard is JSON" "$PYTHON" -S -c 'import json, sys; json.load(open(sys.argv[1]))' "$dashboard"
"$PYTHON" -S - "$dashboard" "$WORK/dashboard.rules.yml" "$WORK/dashboard-names" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
exprs += [re.sub(r"^label_values\((.*), *\w+\)$", r"\1", v["definition"]) for v in d["templating"]["list"] if "definition" in v]
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$__range", "1h")
        f.write("      - record: dashboard_query_%d\n        expr: %s\n" % (i, json.dumps(e)))
# Metric names: identifiers outside strings, label matchers, ranges and by (...) lists, not functions or keywords.
keywords = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
names = set()
for e in exprs:
    e = re.sub(r'"[^"]*"', "", e)
    e = re.sub(r"\{[^}]*\}|\[[^]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    for m in re.finditer(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()", e):
        tok = m.group(0)
        if tok not in keywords and not re.fullmatch(r"\d+[smhdwy]?", tok):
            names.add(tok)
open(sys.argv[3], "w").write("".join(n + "\n" for n in sorted(names)))
PY
check "every dashboard query is valid PromQL" promtool check rules "$WORK/dashboard.rules.yml"
check_ge "the dashboard's queries name metrics" 15 "$(wc -l <"$WORK/dashboard-names")"
check_eq "the dashboard names only metrics warmd writes" "" "$(grep -vxF -f "$WORK/written" "$WORK/dashboard-names" | xargs)"
for m in warmd_round_containers_reached warmd_round_containers_target warmd_requests_total \
	warmd_round_request_duration_p50_seconds warmd_topups_total warmd_container_idle_lifetime_min_seconds; do
	check "the dashboard shows $m" grep -qx "$m" "$WORK/dashboard-names"
done

finish
