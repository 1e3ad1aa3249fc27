#!/bin/bash
# `prism check --role controller|backend|switch` on the testbed's hosts:
# ready where everything is there; one FAIL line naming the missing thing
# (and exit 1) when something is taken away: the key, the VIP, a
# capability, the backend's root, the fabric's forwarding, an interface,
# bpffs, a port already in use.  The capabilities in dist/systemd's units
# are enough for a non-root user.  `make install DESTDIR` lays out the
# binary, the units and one configuration per role.  The switch check
# loads the data plane and leaves nothing attached or pinned.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd setpriv

export PRISM_TESTBED=t-check
PIN=/sys/fs/bpf/$PRISM_TESTBED
on_exit "$PRISM down >/dev/null 2>&1; $PRISM testbed down >/dev/null 2>&1; rm -rf /run/prism/$PRISM_TESTBED"
check "testbed comes up" "$PRISM" testbed up || finish

KEY=$E2E_TMP/key
head -c 32 /dev/urandom >"$KEY"
chmod 0640 "$KEY"
chgrp nogroup "$KEY"
chmod o+x "$E2E_TMP"
VIP=$(tb_addr vip)
B1=$(tb_addr b1)
B2=$(tb_addr b2)
GW=$(tb_addr fabric)
CTL=(--listen "$VIP:80" --switch "$GW:7700" --key "$KEY"
	--backend "b1=$B1:7800" --backend "b2=$B2:7800")
BE=(--name b1 --listen "$B1:80" --handoff-port 7800 --switch 198.18.11.1:7700
	--key "$KEY")
IFACES=$(tb_exec fabric ip -o link show | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); printf "%s%s", sep, $2; sep=","}')
SW=(--iface "$IFACES" --key "$KEY" --peer 198.18.0.0/15 --pin-dir "$PIN")

# run HOST ROLE ARGS...: prism check's output in $OUT, its status in $RC.
run() {
	local host=$1 role=$2
	shift 2
	OUT=$(tb_exec "$host" "$@" 2>&1)
	RC=$?
}

# expect NAME RC PATTERN...: the last run exited RC and printed a line
# matching each (extended regex) PATTERN.
expect() {
	local name=$1 rc=$2 p
	shift 2
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$OUT" || {
			not_ok "$name" "exit $RC; no line /$p/ in:" "$OUT"
			return
		}
	done
	if [[ $RC -ne $rc ]]; then
		not_ok "$name" "exit $RC, wanted $rc:" "$OUT"
		return
	fi
	ok "$name"
}

# caps UNIT: the unit's AmbientCapabilities as setpriv's list.
caps() {
	sed -n 's/^AmbientCapabilities=//p' "$E2E_ROOT/dist/systemd/$1.service" |
		tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' |
		paste -sd,
}
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# ---- controller ----
run controller controller "$PRISM" check --role controller "${CTL[@]}"
expect "controller: ready on the testbed (backends not started: warnings only)" 0 \
	'^ok +tcp-repair' '^ok +key' "^ok +listen: tcp $VIP:80 free" \
	"^ok +switch: route to $GW" '^warn +backend b1: .* does not answer' \
	'^controller: ready'
if grep -q '^FAIL' <<<"$OUT"; then not_ok "controller: no FAIL line when ready" "$OUT"; else ok "controller: no FAIL line when ready"; fi

run controller controller "$PRISM" check --role controller "${CTL[@]}" --key "$E2E_TMP/nokey"
expect "controller: a missing key file is named, with the fix" 1 \
	"^FAIL +key: $E2E_TMP/nokey: No such file or directory; fix: .*head -c 32 /dev/urandom" \
	'^controller: 1 problem'

head -c 8 /dev/urandom >"$E2E_TMP/short"
run controller controller "$PRISM" check --role controller "${CTL[@]}" --key "$E2E_TMP/short"
expect "controller: a key too short is named" 1 '^FAIL +key: .*short.*shorter than'

run controller controller "$PRISM" check --role controller "${CTL[@]}" --listen 198.19.0.9:80
expect "controller: a VIP not on the host is named, with ip addr add" 1 \
	'^FAIL +listen: 198.19.0.9 is not an address of this host; fix: ip addr add 198.19.0.9/32'

run controller controller "${NOBODY[@]}" "$PRISM" check --role controller "${CTL[@]}"
expect "controller: no capabilities (nobody): TCP_REPAIR, CAP_NET_RAW and port 80 named" 1 \
	'^FAIL +tcp-repair: TCP_REPAIR refused: this process lacks CAP_NET_ADMIN' \
	'^FAIL +raw-socket: refused: this process lacks CAP_NET_RAW' \
	'^FAIL +listen: tcp port 80 is below 1024' '^controller: 3 problems'

c=$(caps prism-controller)
run controller controller "${NOBODY[@]}" --inh-caps="$c" --ambient-caps="$c" \
	"$PRISM" check --role controller "${CTL[@]}"
expect "controller: nobody with the unit's capabilities ($c) is ready" 0 '^controller: ready'

# ---- backend ----
run b1 backend "$PRISM" check --role backend "${BE[@]}" --store "$E2E_TMP/store"
expect "backend: ready on the testbed" 0 '^ok +tcp-repair' '^ok +handoff: tcp .*:7800 free' \
	'^ok +switch: route to 198.18.11.1' '^ok +store: .* will be made at start' '^backend: ready'

run b1 backend "$PRISM" check --role backend "${BE[@]}" --root "$E2E_TMP/nosuch"
expect "backend: a missing --root is named" 1 "^FAIL +root: $E2E_TMP/nosuch: No such file or directory"

run b1 backend "${NOBODY[@]}" --inh-caps=+net_admin,+net_bind_service \
	--ambient-caps=+net_admin,+net_bind_service "$PRISM" check --role backend "${BE[@]}"
expect "backend: without CAP_NET_RAW only a warning (it runs on; uploads may stall)" 0 \
	'^warn +raw-socket: refused' '^backend: ready \(1 warning\)'

# admin port taken: a warning (the daemons run on without it)
tb_bg b1 python3 -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 9900)); s.listen(); time.sleep(30)'
sleep 0.5
run b1 backend "$PRISM" check --role backend "${BE[@]}"
kill $TB_PID 2>/dev/null
expect "backend: its admin port in use is a warning, not a FAIL" 0 \
	'^warn +admin: tcp 127.0.0.1:9900 in use' '^backend: ready \(1 warning\)'

c=$(caps prism-backend)
run b1 backend "${NOBODY[@]}" --inh-caps="$c" --ambient-caps="$c" \
	"$PRISM" check --role backend "${BE[@]}"
expect "backend: nobody with the unit's capabilities ($c) is ready" 0 '^backend: ready'

# ---- switch ----
run fabric switch "$PRISM" check --role switch "${SW[@]}"
expect "switch: ready on the fabric (the data plane loads, every port up)" 0 \
	'^ok +CAP_BPF' '^ok +bpffs' '^ok +data-plane: the switch program loads' \
	'^ok +iface b1: up' '^ok +ip-forward: on' '^switch: ready'
check "switch: the check left no BPF filter and no pin" bash -c "
	for i in ${IFACES//,/ }; do
		'$PRISM' testbed exec fabric -- tc filter show dev \$i ingress 2>&1 | grep -q bpf && exit 1
	done
	[[ ! -e $PIN/flows ]]"

tb_exec fabric sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.b2.rp_filter=1
run fabric switch "$PRISM" check --role switch "${SW[@]}" --iface nosuch0
tb_exec fabric sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.b2.rp_filter=0
expect "switch: forwarding off, strict rp_filter on b2, a missing port: each named" 1 \
	'^FAIL +ip-forward: off: .*; fix: sysctl net.ipv4.ip_forward=1' \
	'^FAIL +iface b2: up, but strict rp_filter' '^FAIL +iface nosuch0: no such interface' \
	'^switch: 3 problems'

run fabric switch "$PRISM" check --role switch "${SW[@]}" --pin-dir "$E2E_TMP/pins"
expect "switch: a pin dir off bpffs is named" 1 '^FAIL +bpffs: .* is not on a BPF filesystem'

c=$(caps prism-switch)
run fabric switch setpriv --inh-caps=-all --bounding-set="-all,$c" \
	"$PRISM" check --role switch "${SW[@]}"
expect "switch: uid 0 bounded to the unit's capabilities ($c) is ready" 0 '^switch: ready'
run fabric switch "${NOBODY[@]}" "$PRISM" check --role switch "${SW[@]}"
expect "switch: nobody: CAP_BPF, CAP_NET_ADMIN and the pin dir named" 1 \
	'^FAIL +CAP_BPF: missing' '^FAIL +CAP_NET_ADMIN: missing' \
	'^FAIL +bpffs: .* may not pin there' '^FAIL +data-plane: .*Operation not permitted'

# ---- host mode: the agent on a backend's own host ----
run b1 switch "$PRISM" check --role switch --mode host --host-role backend \
	--iface eth0 --key "$KEY" --peer "$B1/32" --listen "$B1:7700" --pin-dir "$PIN-b1"
expect "switch, host mode on b1: ready without forwarding (its one port, the program loads)" 0 \
	'^ok +iface eth0: up$' '^ok +mode: host, as a backend' '^ok +data-plane' '^switch: ready'
if grep -q 'ip-forward' <<<"$OUT"; then not_ok "switch, host mode: no forwarding asked for" "$OUT"; else ok "switch, host mode: no forwarding asked for"; fi

# ---- with Prism running ----
if check "prism up" "$PRISM" up; then
	run controller controller "$PRISM" check --role controller "${CTL[@]}"
	expect "controller: with a controller running, its port is named in use, the backends answer" 1 \
		"^FAIL +listen: tcp $VIP:80 in use" '^ok +backend b1: .*:7800 answers' \
		'^ok +backend b2: .*:7800 answers'
fi

# ---- bad options ----
check_rc "prism check --role nope: usage error (exit 2)" 2 "$PRISM" check --role nope
check_rc "prism check --role controller --bogus: the daemon's parser refuses it (exit 2)" 2 \
	"$PRISM" check --role controller --bogus 1

# ---- the example configurations parse ----
for r in controller backend switch; do
	host=$r
	[[ $r == backend ]] && host=b1
	[[ $r == switch ]] && host=fabric
	run $host $r "$PRISM" check --role $r --config "$E2E_ROOT/examples/deploy/$r.conf"
	if [[ $RC -ne 2 ]] && grep -Eq "^$r: (ready|[0-9]+ problem)" <<<"$OUT"; then
		ok "examples/deploy/$r.conf parses (the check ran: exit $RC)"
	else
		not_ok "examples/deploy/$r.conf parses" "exit $RC" "$OUT"
	fi
done

# ---- make install ----
D=$E2E_TMP/root
if make -s -C "$E2E_ROOT" BUILD="$BUILD" install DESTDIR="$D" >"$E2E_TMP/install.log" 2>&1; then
	check "make install: binary, three units, three configurations, the guide" bash -c "
		[[ -x $D/usr/local/bin/prism ]] &&
		for r in controller backend switch; do
			[[ -f $D/etc/prism/\$r.conf &&
			   -f $D/usr/local/lib/systemd/system/prism-\$r.service ]] || exit 1
			grep -q '^ExecStart=/usr/local/bin/prism .*--config /etc/prism/'\$r'.conf' \
				$D/usr/local/lib/systemd/system/prism-\$r.service || exit 1
		done
		[[ -f $D/usr/local/share/doc/prism/deploy.md ]]"
	echo changed >"$D/etc/prism/controller.conf"
	make -s -C "$E2E_ROOT" BUILD="$BUILD" install DESTDIR="$D" >/dev/null 2>&1
	check "make install again keeps an edited configuration" grep -qx changed "$D/etc/prism/controller.conf"
else
	not_ok "make install" "$(tail -n 10 "$E2E_TMP/install.log")"
fi

finish
