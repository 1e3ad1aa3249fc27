#!/bin/bash
# `prism testbed` as a command: up/down are idempotent and leave nothing
# behind; addr, exec and status behave; errors are clear (not root, bad
# arguments, a namespace or an address that is not ours).
. "$(dirname "$0")/lib.sh"
require_root
NAME=t-tblife
export PRISM_TESTBED=$NAME
on_exit '"$PRISM" testbed down >/dev/null 2>&1'
on_exit "ip netns del $NAME-proxy 2>/dev/null; ip addr del 198.18.77.7/32 dev lo 2>/dev/null"

# leftovers: prints what of testbed $NAME is still there.
leftovers() {
	ip netns list | awk -v p="$NAME-" 'index($1, p) == 1 {print "netns " $1}'
	ip -o link show type veth |
		awk -F': ' '$2 ~ /^(client|controller|proxy|fabric|b[0-9]+|eth0)(@|$)/ {print "veth " $2}'
	[[ -e /run/prism/$NAME.testbed ]] && echo "state file"
	[[ -e /sys/fs/bpf/$NAME ]] && echo "pin dir"
	return 0
}
no_leftovers() {
	local l
	l=$(leftovers)
	[[ -z $l ]] || { echo "$l"; return 1; }
}

check "down with nothing there succeeds" "$PRISM" testbed down
check "  ... and leaves nothing" no_leftovers
check "up (1 backend)" "$PRISM" testbed up --backends 1
tb_bg b1 sleep 300
sleeper=$TB_PID
# Wait until it runs inside b1 (a slow start, e.g. under ASan, would
# otherwise race with the rebuild below).
for ((i = 0; i < 100; i++)); do
	[[ -n $(ip netns pids "$NAME-b1" 2>/dev/null) ]] && break
	sleep 0.05
done
check "up again on a running testbed (3 backends) rebuilds it" \
	"$PRISM" testbed up --backends 3 --link-mbit 300
# gone, or a zombie waiting for this shell to reap it; allow for a slow,
# loaded machine.
gone() {
	local i
	for ((i = 0; i < 60; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		[[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]] && return 0
		sleep 0.05
	done
	return 1
}
check "  ... and stopped the process left in b1" gone "$sleeper"
three() {
	[[ $(ip netns list | grep -c "^$NAME-") -eq 7 ]] &&
		[[ $("$PRISM" testbed addr b3) == 198.18.13.2 ]]
}
check "  ... with 7 namespaces, b3 at 198.18.13.2" three

addrs() {
	local want="client=198.18.1.2 controller=198.18.2.2 proxy=198.18.3.2
fabric=198.18.2.1 b1=198.18.11.2 b2=198.18.12.2 b3=198.18.13.2 vip=198.19.0.1"
	local kv got
	for kv in $want; do
		got=$("$PRISM" testbed addr "${kv%=*}") || return 1
		[[ $got == "${kv#*=}" ]] || { echo "${kv%=*}: $got"; return 1; }
	done
}
check "addr of every host and the vip" addrs
check_rc "addr b4 (beyond N): exit 2" 2 "$PRISM" testbed addr b4
check_rc "addr of an unknown host: exit 2" 2 "$PRISM" testbed addr router
check_rc "addr without HOST: exit 2" 2 "$PRISM" testbed addr
check_rc "addr on a testbed that is not there: exit 1" 1 \
	"$PRISM" testbed addr --name t-tb-none client
check "--name beats \$PRISM_TESTBED" \
	bash -c "[[ \$(PRISM_TESTBED=t-tb-none '$PRISM' testbed addr --name $NAME b2) == 198.18.12.2 ]]"

exec_addr() {
	tb_exec b2 ip -4 -o addr show dev eth0 | grep -q ' 198.18.12.2/24 '
}
check "exec runs in the host's namespace" exec_addr
check_rc "exec propagates the exit code (7)" 7 tb_exec proxy sh -c 'exit 7'
check_rc "exec of a missing program: exit 127" 127 tb_exec proxy no-such-prog
same_mnt() {
	[[ $(tb_exec client readlink /proc/self/ns/mnt) == "$(readlink /proc/self/ns/mnt)" &&
		$(tb_exec client readlink /proc/self/ns/net) != "$(readlink /proc/self/ns/net)" ]]
}
check "exec enters the network namespace only (mount namespace kept)" same_mnt
bpffs_shared() {
	[[ $(tb_exec fabric stat -f -c %T /sys/fs/bpf/$NAME) == bpf_fs ]]
}
check "exec sees the pin dir on bpffs" bpffs_shared
check_rc "exec on vip: exit 2" 2 "$PRISM" testbed exec vip -- true
check_rc "exec without a command: exit 2" 2 "$PRISM" testbed exec client --

status_ok() {
	local out
	out=$("$PRISM" testbed status) || { echo "$out"; return 1; }
	grep -Eq '^client +198\.18\.1\.2 .* yes +900 Mbit/s +900 Mbit/s' <<<"$out" &&
		grep -Eq '^b3 +198\.18\.13\.2 .* yes +300 Mbit/s +300 Mbit/s' <<<"$out" &&
		grep -Eq '^fabric +198\.18\.2\.1 ' <<<"$out" ||
		{ echo "$out"; return 1; }
}
check "status: hosts, addresses, rates read back (client 3x300)" status_ok
status_tc() {
	local out
	tb_exec b2 tc qdisc del dev eth0 root || return 1
	out=$("$PRISM" testbed status) && { echo "$out"; return 1; }
	grep -Eq '^b2 .* yes +none +300 Mbit/s' <<<"$out" || { echo "$out"; return 1; }
}
check "status reads rates from tc: a removed qdisc shows, exit 1" status_tc

check "down" "$PRISM" testbed down
check "  ... leaves nothing (netns, veths, state file, pin dir)" no_leftovers
check "down again" "$PRISM" testbed down
check_rc "status when down: exit 1" 1 "$PRISM" testbed status

foreign() {
	local out
	ip netns add $NAME-proxy || return 1
	out=$("$PRISM" testbed up 2>&1) && { echo "up succeeded"; return 1; }
	grep -q "netns $NAME-proxy exists" <<<"$out" || { echo "$out"; return 1; }
	ip netns list | grep -q "^$NAME-proxy" || { echo "removed it"; return 1; }
	ip netns del $NAME-proxy
	[[ -z $(leftovers) ]] || { leftovers; return 1; }
}
check "up refuses a netns with our name it did not create, touches nothing" \
	foreign
addr_in_use() {
	local out
	ip addr add 198.18.77.7/32 dev lo || return 1
	out=$("$PRISM" testbed up 2>&1) && { echo "up succeeded"; return 1; }
	ip addr del 198.18.77.7/32 dev lo
	grep -q "198.18.77.7 is already assigned to lo" <<<"$out" ||
		{ echo "$out"; return 1; }
	[[ -z $(leftovers) ]] || { leftovers; return 1; }
}
check "up refuses when 198.18.0.0/15 is in use here" addr_in_use

# Bad arguments: exit 2 and a message naming the problem.
bad() {
	local want=$1 out rc
	shift
	out=$("$PRISM" testbed "$@" 2>&1)
	rc=$?
	[[ $rc -eq 2 ]] && grep -q -- "$want" <<<"$out" ||
		{ echo "exit $rc: $out"; return 1; }
}
check "--backends 0: exit 2" bad "--backends '0'" up --backends 0
check "--backends 201: exit 2" bad "1..200" up --backends 201
check "--backends x: exit 2" bad "--backends 'x'" up --backends x
check "--link-mbit 0: exit 2" bad "--link-mbit '0'" up --link-mbit 0
check "--link-mbit -5: exit 2" bad "--link-mbit '-5'" up --link-mbit -5
check "--client-mbit 0: exit 2" bad "--client-mbit '0'" up --client-mbit 0
check "bad name: exit 2" bad "bad name" up --name 'a/b'
check "name too long: exit 2" bad "bad name" up --name "$(printf 'n%.0s' {1..33})"
check "unknown subcommand: exit 2" bad "unknown command" sideways
check "unknown option: exit 2" bad "bad option" up --fast
check "extra operand: exit 2" bad "unexpected argument" down now
check "no leftovers after the bad arguments" no_leftovers

# Not root: the message, before anything is touched.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
if ! command -v setpriv >/dev/null; then
	skip "not root: refused" "setpriv not installed"
elif ! as_nobody test -x "$PRISM"; then
	skip "not root: refused" "$PRISM not executable by nobody"
else
	not_root() {
		local sub out rc
		for sub in up down status "exec client -- true"; do
			# shellcheck disable=SC2086
			out=$(as_nobody "$PRISM" testbed $sub 2>&1)
			rc=$?
			[[ $rc -eq 1 && $out == *"prism testbed: must run as root"* ]] ||
				{ echo "$sub: exit $rc: $out"; return 1; }
		done
	}
	check "not root: up, down, status, exec say 'must run as root'" not_root
fi
finish
