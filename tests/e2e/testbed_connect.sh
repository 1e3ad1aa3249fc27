#!/bin/bash
# The testbed's topology: every host reaches every other over TCP through
# the fabric, the VIP lands on the controller, and no namespace has a route
# outside 198.18.0.0/15.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd python3 curl ss
export PRISM_TESTBED=t-tbconn
HOSTS=(client fabric controller proxy b1 b2)
PORT=8071

on_exit '"$PRISM" testbed down >/dev/null 2>&1'
check "testbed up with 2 backends" "$PRISM" testbed up --backends 2 ||
	finish

# Every host serves a file naming itself, on all its addresses.
for h in "${HOSTS[@]}"; do
	mkdir -p "$E2E_TMP/$h"
	echo "$h" >"$E2E_TMP/$h/who"
	tb_bg "$h" python3 -m http.server -b 0.0.0.0 -d "$E2E_TMP/$h" $PORT \
		>/dev/null 2>&1
done
for h in "${HOSTS[@]}"; do
	wait_listen "$h" $PORT || not_ok "listener in $h" "no socket on :$PORT"
done

# fetch FROM ADDR: what FROM gets for http://ADDR:PORT/who.
fetch() {
	tb_exec "$1" curl -s --max-time 3 "http://$2:$PORT/who"
}

# Every ordered pair, each answered by the host it was addressed to.
all_pairs() {
	local from to got bad=()
	for from in "${HOSTS[@]}"; do
		for to in "${HOSTS[@]}"; do
			[[ $from == "$to" ]] && continue
			got=$(fetch "$from" "$(tb_addr "$to")")
			[[ $got == "$to" ]] || bad+=("$from -> $to: got '$got'")
		done
	done
	[[ ${#bad[@]} -eq 0 ]] || { printf '%s\n' "${bad[@]}"; return 1; }
}
check "TCP from every host to every other (30 pairs), right host answers" \
	all_pairs

vip_on_controller() {
	local got
	for from in client b1 proxy; do
		got=$(fetch $from 198.19.0.1)
		[[ $got == controller ]] || { echo "$from: got '$got'"; return 1; }
	done
}
check "the VIP 198.19.0.1 answers from the controller (client, b1, proxy)" \
	vip_on_controller

vip_on_lo() {
	tb_exec controller ip -4 -o addr show dev lo | grep -q ' 198.19.0.1/32 '
}
check "the VIP is on the controller's lo" vip_on_lo

# Packets between hosts cross the fabric: one hop (TTL 63), and the
# fabric's IP forwarding counter grows by the requests and the replies.
forwarded() {
	tb_exec fabric awk '$1 == "Ip:" && $7 ~ /^[0-9]+$/ {print $7}' /proc/net/snmp
}
through_fabric() {
	local before after out
	before=$(forwarded)
	out=$(tb_exec client ping -c 3 -i 0.2 -W 1 198.18.12.2)
	after=$(forwarded)
	grep -q 'ttl=63' <<<"$out" || { echo "no reply with ttl 63"; return 1; }
	[[ $((after - before)) -ge 6 ]] ||
		{ echo "fabric ForwDatagrams grew by $((after - before))"; return 1; }
}
check "client -> b2 is forwarded by the fabric (ttl 63, ForwDatagrams +6)" \
	through_fabric

# in_range PREFIX: PREFIX (a.b.c.d[/len]) is inside 198.18.0.0/15.
in_range() {
	local ip=${1%/*} len=32 a b
	[[ $1 == */* ]] && len=${1#*/}
	IFS=. read -r a b _ _ <<<"$ip"
	[[ $a == 198 && ($b == 18 || $b == 19) && $len -ge 15 ]]
}

routes_in_range() {
	local h dst bad=()
	for h in "${HOSTS[@]}"; do
		while read -r dst _; do
			in_range "$dst" || bad+=("$h: $dst")
		done < <(tb_exec "$h" ip -4 route show table main)
		[[ -z $(tb_exec "$h" ip -6 route show 2>/dev/null) ]] ||
			bad+=("$h: has IPv6 routes")
		tb_exec "$h" ip -4 route get 192.0.2.1 >/dev/null 2>&1 &&
			bad+=("$h: can route to 192.0.2.1")
	done
	[[ ${#bad[@]} -eq 0 ]] || { printf '%s\n' "${bad[@]}"; return 1; }
}
check "no namespace routes anything outside 198.18.0.0/15, no default, no IPv6" \
	routes_in_range

fabric_sysctls() {
	[[ $(tb_exec fabric cat /proc/sys/net/ipv4/ip_forward) == 1 &&
		$(tb_exec fabric cat /proc/sys/net/ipv4/conf/all/rp_filter) == 0 &&
		$(tb_exec fabric cat /proc/sys/net/ipv4/conf/b1/rp_filter) == 0 &&
		$(tb_exec client cat /proc/sys/net/ipv4/ip_forward) == 0 ]]
}
check "fabric forwards with rp_filter off; hosts do not forward" fabric_sysctls

lo_up() {
	local h
	for h in "${HOSTS[@]}"; do
		tb_exec "$h" ping -c 1 -W 1 127.0.0.1 >/dev/null ||
			{ echo "$h: lo down"; return 1; }
	done
}
check "loopback up in every namespace" lo_up

check "testbed down" "$PRISM" testbed down
finish
