# shellcheck shell=bash
# Shared by tests/cluster/alert-* and policy-* (sourced, not run): a lab cluster with mwha-alert
# configured like docs/policies.md says, and helpers to read each node's alert log and to see
# where a resource runs. Needs root, the lab packages and /usr/lib/mwha/mwha-alert (make install).
#
# Each node gets:
#   /var/lib/mwha/alert/alerts.log  the file recipient (private per node; survives lab kill/start)
#   /run/mwha/alert                 the agent's per-boot state dir (what tmpfiles.d creates)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab=$repo/tests/lab/lab
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$repo/tests/lib.sh"

ALERT_BIN=/usr/lib/mwha/mwha-alert
ALERT_LOG=/var/lib/mwha/alert/alerts.log
t_start=$SECONDS

on() { "$lab" exec "$@"; }

# prepare_node NODE: the directories a package and tmpfiles.d would create.
prepare_node() {
    on "$1" sh -c 'install -d -o hacluster -g haclient -m 0750 /var/lib/mwha/alert &&
        install -d -m 0755 /run/mwha && install -d -o hacluster -g haclient -m 0750 /run/mwha/alert'
}

# alert_lab N: lab up N, directories on every node, mwha-alert registered with one file recipient.
alert_lab() {
    [ -x "$ALERT_BIN" ] || { echo "FAIL - $ALERT_BIN is not installed (make install)"; exit 1; }
    trap 'alert_dump; "$lab" down >/dev/null 2>&1' EXIT
    "$lab" down >/dev/null 2>&1
    "$lab" up "$1" || { echo "FAIL - lab up $1"; exit 1; }
    local k
    for ((k = 1; k <= $1; k++)); do check "n$k: the alert agent's directories" prepare_node "n$k"; done
    check "pcs alert create: mwha-alert with the file recipient $ALERT_LOG" register_alert
    [ "$failed" -eq 0 ] || { finish; exit 1; }
}

# The alert and its recipient in one CIB change (pcs -f on a copy, then cib-push): between a live
# `pcs alert create` and `pcs alert recipient add`, Pacemaker would run the alert without a
# recipient, for syslog, which the lab's nodes lack (exit 1, logged by Pacemaker as an alert failure).
register_alert() {
    # shellcheck disable=SC2016 # expanded by the node's sh
    on n1 sh -c 'set -e; f=$(mktemp); trap "rm -f \"$f\" \"$f.orig\"" EXIT
        pcs cluster cib "$f" && cp "$f" "$f.orig"
        pcs -f "$f" alert create id=mwha path="$1" description="mwha operator messages"
        pcs -f "$f" alert recipient add mwha id=mwha-log value="$2"
        pcs cluster cib-push "$f" diff-against="$f.orig"' sh "$ALERT_BIN" "$ALERT_LOG"
}

# On failure (or with ALERT_DUMP=1): every node's alert log, for the reader of the test output.
alert_dump() {
    [ "${failed:-0}" -gt 0 ] || [ -n "${ALERT_DUMP:-}" ] || return 0
    local n
    for n in $("$lab" nodes 2>/dev/null | awk '$3 == "running" {print $1}'); do
        echo "# --- $n:$ALERT_LOG"
        on "$n" cat "$ALERT_LOG" 2>/dev/null | sed 's/^/#   /'
    done
}

# alert_log NODE: NODE's alert log; for a node that is down (killed, fenced) the file it left
# on its private disk (/var/lib/mwha survives lab kill/start), read from the host.
alert_log() {
    if "$lab" nodes | grep "^$1[[:space:]].*running" >/dev/null; then
        on "$1" cat "$ALERT_LOG" 2>/dev/null
    else
        cat "$("$lab" dir "$1")$ALERT_LOG" 2>/dev/null
    fi
}
# has_line NODE ERE: NODE's alert log has a line matching ERE.
has_line() { alert_log "$1" | grep -Eq -- "$2"; }
# lines NODE ERE: how many lines of NODE's alert log match ERE.
lines() { alert_log "$1" | grep -Ec -- "$2"; }
# all_well_formed NODE: NODE's alert log has lines, and every one is
# "<UTC time> <node> MWHAnnnn[IWEC] <text>".
all_well_formed() {
    local log bad line
    log=$(alert_log "$1") || { echo "#   no alert log on $1"; return 1; }
    [ -n "$log" ] || { echo "#   the alert log on $1 is empty"; return 1; }
    bad=$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z n[1-3] MWHA[0-9]{4}[IWEC] [A-Z]' <<<"$log")
    [ -z "$bad" ] && return 0
    while IFS= read -r line; do echo "#   malformed: $line"; done <<<"$bad"
    return 1
}

# where RSC FROM: the node(s) FROM sees running RSC.
where() { on "$2" crm_resource --locate -r "$1" 2>/dev/null | sed -n 's/.*running on: *//p' | xargs; }
runs_on() { [ "$(where "$1" "$2")" = "$3" ]; }
# fail_count RSC NODE [FROM]
fail_count() {
    on "${3:-$2}" crm_failcount --query -r "$1" -N "$2" 2>/dev/null | sed -n 's/.*value=\([0-9A-Za-z]*\).*/\1/p'
}
# fail_monitor NODE RSC: make ocf:pacemaker:Dummy's next monitor report "not running".
fail_monitor() { on "$1" rm -f "/run/Dummy-$2.state"; }

# no_log_line NODE ERE [FILE...]: NODE's alert log (or FILEs on NODE) exist, and no line matches ERE.
no_log_line() {
    local n=$1 ere=$2
    shift 2
    [ $# -gt 0 ] || set -- "$ALERT_LOG"
    lacks "$ere" on "$n" cat "$@"
}
# no_constraint NODE ERE: NODE reads the constraints from its CIB, and none matches ERE.
no_constraint() { lacks "$2" on "$1" cibadmin -Q -o constraints; }

# pacemaker_logs: every node's pacemaker.log (kept across kill/start); fails if one is missing.
pacemaker_logs() {
    local n
    for n in $("$lab" nodes | cut -f1); do cat "$("$lab" dir "$n")/var/log/pacemaker/pacemaker.log" || return 1; done
}

# elapsed: seconds since the test began, for the final line.
elapsed() { echo "$((SECONDS - t_start))s"; }
