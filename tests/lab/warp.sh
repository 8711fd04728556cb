# Shell functions that lay out the stand-in ASTERIA Warp on a running lab (tests/lab/lab) in
# the three topologies of the redundancy guide, find where resources run, and print failover
# timelines. Sourced by examples/demo and tests/cluster/warp-*; needs $repo set.

LAB=$repo/tests/lab/lab
WARP_VIP=10.213.0.100
WARP_PORT=28080
# The "NAS share": a host directory every node can bind-mount; Filesystem mounts it only in
# the active node's mount namespace, so exactly one node sees it, as with a NAS.
WARP_SHARE=/srv/mwha-lab-share

on() { "$LAB" exec "$@"; }

# The first node that is up.
live_node() { "$LAB" nodes | awk '$3 == "running" {print $1; exit}'; }

# Node where RESOURCE runs (empty if nowhere).
locate() { on "$(live_node)" crm_resource --locate -r "$1" 2>/dev/null | sed -n 's/.*running on: *//p' | head -n 1; }

# The body the stand-in answers through the VIP ("ok <hostname>"), or failure.
answer_vip() { "$LAB" client curl -fsS --max-time 1 "http://$WARP_VIP:$WARP_PORT/" 2>/dev/null; }

# Every resource started and no failed action recorded.
cluster_clean() {
    local xml
    xml=$(on "$(live_node)" crm_mon -1 --output-as=xml) || return 1
    ! grep -q '<failure ' <<<"$xml" && ! grep -Eq 'role="(Stopped|Starting|Stopping)"|failed="true"' <<<"$xml"
}

crm_verify_clean() {
    local out
    out=$(on "$(live_node)" crm_verify -L -V 2>&1) || { echo "$out"; return 1; }
    if grep -Eqi 'error|warning' <<<"$out"; then echo "$out"; return 1; fi
}

# Individual folders: each NODE gets its own install in /opt/warp (private per node).
warp_install_individual() {
    local node
    for node in "$@"; do
        on "$node" "$repo/tests/standin/warp/make-warp" /opt/warp \
            --set HTTP_PORT=$WARP_PORT --set HTTP_BIND=0.0.0.0 --set START_DELAY=1 >/dev/null || return 1
    done
}

WARP_IDENTITY_PATHS="/server/serverId /server/serverName"

# Shared folder: one install in $WARP_SHARE, mounted at /opt/warp-shared on the active node.
# Each node then gets its own identity (server ID/name, license) captured in its own store
# (/var/lib/mwha is private per node), as an admin does once per node before go-live; the share
# is left with the last node's identity, so the first start on another node must fix it up.
warp_install_shared() {
    local first=$1 node
    rm -rf "$WARP_SHARE" && mkdir -p "$WARP_SHARE" || return 1
    for node in "$@"; do on "$node" mkdir -p /opt/warp-shared || return 1; done
    # Built through the mount point, so the stand-in's paths name /opt/warp-shared.
    on "$first" sh -c "mount --bind '$WARP_SHARE' /opt/warp-shared &&
        '$repo/tests/standin/warp/make-warp' /opt/warp-shared --set HTTP_PORT=$WARP_PORT --set HTTP_BIND=0.0.0.0 \
            --set WRITER_LEASE=1 >/dev/null;
        rc=\$?; umount /opt/warp-shared; exit \$rc" || return 1
    touch "$WARP_SHARE/.warp-share" # the marker sharedfs expects on the right volume
    for node in "$@"; do
        on "$node" sh -c "mount --bind '$WARP_SHARE' /opt/warp-shared &&
            printf '<?xml version=\"1.0\" encoding=\"UTF-8\"?>\\n<server>\\n  <serverId>$node-id</serverId>\\n  <serverName>warp-$node</serverName>\\n</server>\\n' \
                >/opt/warp-shared/system/conf/server.xconf &&
            echo 'LICENSE-$node' >/opt/warp-shared/system/license/license.key &&
            warp-fixup capture --name warp-identity --data-dir /opt/warp-shared --identity-paths '$WARP_IDENTITY_PATHS' >/dev/null;
            rc=\$?; umount /opt/warp-shared; exit \$rc" || return 1
    done
}

# The stand-in's writer lease on the share (WRITER_LEASE=1): its holder ("NODE PID EPOCH_MS"), and
# the conflicts its writers saw (two flow services writing the one DATA_DIR); read on the host.
WARP_LEASE=$WARP_SHARE/log/writer.lease
WARP_LEASE_CONFLICTS=$WARP_SHARE/log/lease-conflicts.log
# one_writer: no flow service ever saw another one's lease on the share.
one_writer() {
    [ ! -s "$WARP_LEASE_CONFLICTS" ] || { sed 's/^/  /' "$WARP_LEASE_CONFLICTS" | head -5; return 1; }
}
# lease_held_by NODE: the lease was renewed by NODE less than 1 s ago.
lease_held_by() {
    local node pid ms
    read -r node pid ms <"$WARP_LEASE" 2>/dev/null || return 1
    [ "$node" = "$1" ] && [ $(($(date +%s%3N) - ms)) -lt 1000 ]
}

# The server ID and license the share holds now, as seen on NODE ("n2-id LICENSE-n2").
warp_identity_on() {
    on "$1" sh -c "sed -n 's:.*<serverId>\\(.*\\)</serverId>.*:\\1:p' /opt/warp-shared/system/conf/server.xconf; cat /opt/warp-shared/system/license/license.key" | tr '\n' ' ' | sed 's/ $//'
}

warp_remove_shared() { rm -rf "$WARP_SHARE"; }

# The group of the shared-folder layout: Filesystem (mounts the share), sharedfs (proves it is
# the right, working volume), warp-fixup (puts this node's identity back), flowsvc, the VIP.
# The flow service's monitor runs every WARP_MONITOR_INTERVAL (5s unless set).
warp_create_shared_group() {
    local node=$1 interval=${WARP_MONITOR_INTERVAL:-5s}
    on "$node" pcs resource create warp-fs ocf:heartbeat:Filesystem device="$WARP_SHARE" directory=/opt/warp-shared \
        fstype=none options=bind op monitor interval=10s timeout=40s --group warp-group &&
    on "$node" pcs resource create warp-share ocf:mwha:sharedfs directory=/opt/warp-shared marker=.warp-share \
        op monitor interval=3s timeout=20s --group warp-group &&
    on "$node" pcs resource create warp-identity ocf:mwha:warp-fixup data_dir=/opt/warp-shared \
        identity_paths="$WARP_IDENTITY_PATHS" op monitor interval=10s timeout=20s --group warp-group &&
    on "$node" pcs resource create warp ocf:mwha:flowsvc install_dir=/opt/warp-shared probe_url=http://127.0.0.1:$WARP_PORT/ \
        op start timeout=60s op stop timeout=60s op monitor interval="$interval" timeout=30s --group warp-group &&
    on "$node" pcs resource create warp-vip ocf:heartbeat:IPaddr2 ip=$WARP_VIP cidr_netmask=24 nic=eth0 \
        op monitor interval=10s --group warp-group
}

warp_create_individual_group() {
    local node=$1
    on "$node" pcs resource create warp ocf:mwha:flowsvc install_dir=/opt/warp probe_url=http://127.0.0.1:$WARP_PORT/ \
        op start timeout=60s op stop timeout=60s op monitor interval=5s timeout=30s --group warp-group &&
    on "$node" pcs resource create warp-vip ocf:heartbeat:IPaddr2 ip=$WARP_VIP cidr_netmask=24 nic=eth0 \
        op monitor interval=10s --group warp-group
}

now() { date +%s.%N; }

# lab_timeline LABEL FAULT [ANSWERED]: the failover as mwha-timeline (the product's command) tells
# it from every node's pacemaker.log: t=0 at FAULT (the test's clock, epoch seconds), the fault
# labelled, and when the service answered on the VIP again (ANSWERED) marked. Printed, never
# asserted (the timeline has its own tests).
lab_timeline() {
    local label=$1 fault=$2 answered=${3:-} n tl args=()
    tl=$(command -v mwha-timeline || echo "$repo/target/release/mwha-timeline")
    for n in $("$LAB" nodes | cut -f1); do args+=(--log "$("$LAB" dir "$n")/var/log/pacemaker/pacemaker.log"); done
    args+=(--since "$(local_ms "$(awk -v f="$fault" 'BEGIN { printf "%.3f", f - 2 }')")")
    args+=(--fault "$(local_ms "$fault")" --mark "$(local_ms "$fault")=$label")
    [ -z "$answered" ] || args+=(--mark "$(local_ms "$answered")=the service answered on the VIP")
    "$tl" "${args[@]}" 2>&1 | sed 's/^/    /'
}
# lab_timeline_json FAULT: the same as JSON (mwha-timeline --json), for tests to check.
lab_timeline_json() {
    local n tl args=()
    tl=$(command -v mwha-timeline || echo "$repo/target/release/mwha-timeline")
    for n in $("$LAB" nodes | cut -f1); do args+=(--log "$("$LAB" dir "$n")/var/log/pacemaker/pacemaker.log"); done
    "$tl" "${args[@]}" --json --since "$(local_ms "$(awk -v f="$1" 'BEGIN { printf "%.3f", f - 2 }')")" --fault "$(local_ms "$1")"
}
# local_ms EPOCH: the time as mwha-timeline takes it (the nodes' local time, ms).
local_ms() { date -d "@$1" '+%F %T.%3N'; }

# Kills the node running the VIP, waits for the service to answer again from another node,
# prints the timeline. Sets FAILOVER_FROM, FAILOVER_TO, FAILOVER_REPLY. Fails after 60 s.
crash_active_and_wait() {
    local active survivor fault answered reply="" limit
    active=$(locate warp-vip)
    [ -n "$active" ] || { echo "no active node"; return 1; }
    fault=$(now)
    "$LAB" kill "$active"
    limit=$((SECONDS + 60))
    until reply=$(answer_vip) || [ "$SECONDS" -ge "$limit" ]; do sleep 0.1; done
    answered=$(now)
    survivor=$(live_node)
    lab_timeline "$active killed (SIGKILL of every process on the node)" "$fault" "${reply:+$answered}"
    FAILOVER_FROM=$active FAILOVER_TO=$survivor FAILOVER_REPLY=$reply
    [ -n "$reply" ]
}
