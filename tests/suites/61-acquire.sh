# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Acquires and larval SAs: a PROTECT policy without SA sends one acquire
# event per SA to make and per net.kipsec.acq_expires, and drops the
# packets; state allocspi reserves an SPI as a larval SA that state update
# completes; the datapath never uses a larval SA.  Topology:
# tests/lib/topo.sh (ka, kipsec, 10.99.0.1 -- veth -- 10.99.0.2, xb,
# xfrm), transport mode.  The same command lines run against ip xfrm in
# xb where the behaviours compare (acquire count, allocspi range and
# exhaustion, add over an allocated SPI).

# shellcheck source=tests/lib/topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topo.sh"

AQ_GCM='rfc4106(gcm(aes))'
AQ_AEAD="aead $AQ_GCM 0x0102030405060708090a0b0c0d0e0f1011121314 128"
read -r -a AQ_AEAD_A <<<"$AQ_AEAD"
AQ_MON=$TOPO_TMP/monitor
AQ_XMON=$TOPO_TMP/xmonitor

aq_need() {
	[ "$KA_TOOL" = kipsec ] || skip "kipsec only: acquires and allocspi"
	need_kipsec
	command -v jq >/dev/null || skip "no jq"
}

# aq_mon_start: `kipsec monitor -j` in ka and `ip xfrm monitor acquire
# state` in xb, both subscribed (each reported a dummy SA) on return
aq_mon_start() {
	mkdir -p "$TOPO_TMP"
	in_netns "$KA" "$KIPSEC" monitor -j >"$AQ_MON" 2>&1 &
	local kpid=$!
	ip -n "$XB" xfrm monitor acquire SA >"$AQ_XMON" 2>&1 &
	local xpid=$!
	trap 'kill '"$kpid $xpid"' 2>/dev/null || true' EXIT
	local i
	for ((i = 0; i < 40; i++)); do
		printf '%s\n' \
			"state add src $KA4 dst 10.99.0.9 proto esp spi 0x5e1f mode transport $AQ_AEAD" \
			"state delete src $KA4 dst 10.99.0.9 proto esp spi 0x5e1f" |
			"$KIPSEC" -n "$KA" -batch - >/dev/null
		printf '%s\n' \
			"xfrm state add src $XB4 dst 10.99.0.9 proto esp spi 0x5e1f mode transport $AQ_AEAD" \
			"xfrm state delete src $XB4 dst 10.99.0.9 proto esp spi 0x5e1f" |
			ip -n "$XB" -batch - >/dev/null
		grep -q '"0x00005e1f"' "$AQ_MON" && grep -q 0x00005e1f "$AQ_XMON" &&
			return 0
		sleep 0.2
	done
	fail "monitors never reported the dummy SA: $(cat "$AQ_MON" "$AQ_XMON")"
}

# aq_acquires: number of acquire events kipsec's monitor printed
aq_acquires() {
	grep -c '"event":"acquire"' "$AQ_MON"
}

# aq_xacquires: number of acquires ip xfrm monitor printed
aq_xacquires() {
	grep -c '^acquire ' "$AQ_XMON"
}

# aq_wait_n N: until kipsec's monitor and ip's have N acquires each
aq_wait_n() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(aq_acquires)" -ge "$1" ] && [ "$(aq_xacquires)" -ge "$1" ] &&
			return 0
		sleep 0.2
	done
	fail "want $1 acquires: kipsec $(aq_acquires), ip xfrm $(aq_xacquires)"
}

# aq_larval: the larval SAs (state list -j) of ka, "SPI/REQID" each
aq_larval() {
	"$KIPSEC" -n "$KA" -j state list |
		jq -r '.[] | select(.state == "larval") | "\(.spi)/\(.reqid)"' |
		tr '\n' ' ' | sed 's/ $//'
}

# aq_send COUNT: COUNT UDP datagrams ka -> xb and xb -> ka, from one
# process (each process start costs seconds on a loaded TCG guest)
aq_send() {
	timeout 20 "$PY" - "$1" "$KA" "$KA4" "$XB4" "$XB" "$XB4" "$KA4" \
		<<-'EOF' >/dev/null 2>&1 || true
		import ctypes, os, socket, sys
		libc = ctypes.CDLL(None, use_errno=True)
		count = int(sys.argv[1])
		for ns, src, dst in (sys.argv[2:5], sys.argv[5:8]):
		    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
		    libc.setns(fd, 0x40000000)
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		    s.bind((src, 0))
		    for i in range(count):
		        try:
		            s.sendto(b"kipsec-acquire %d" % i, (dst, 4500))
		        except OSError:
		            pass
		    s.close()
	EOF
}

# aq_gone: until neither ka nor xb lists an acquire (bounded)
aq_gone() {
	local i
	for ((i = 0; i < 60; i++)); do
		[ -z "$(aq_larval)" ] && [ -z "$(ip -n "$XB" xfrm state)" ] &&
			return 0
		sleep 0.5
	done
	fail "acquires never expired: ka '$(aq_larval)' xb '$(ip -n "$XB" xfrm state)'"
}

# Packets of a PROTECT policy without SA: dropped and counted, one acquire
# (ip xfrm: one too) while it lasts; the acquire shows as a larval SA
# without SPI; state flush forgets it; it expires after acq_expires and
# the next packet acquires again; an SA added for the template ends it.
t_aq_acquire() {
	aq_need
	topo_up
	# xb's acquires may expire early: only kipsec's is looked at
	in_netns "$XB" sysctl -qw net.core.xfrm_acq_expires=3
	aq_mon_start
	cfg ka policy add src "$KA4" dst "$XB4" proto udp dir out \
		tmpl proto esp reqid "$REQ_KX" mode transport
	cfg xb policy add src "$XB4" dst "$KA4" proto udp dir out \
		tmpl proto esp reqid "$REQ_XK" mode transport
	cfg_apply
	aq_send 5
	aq_wait_n 1
	expect_eq "kipsec acquires for 5 packets" "$(aq_acquires)" 1
	expect_eq "ip xfrm acquires for 5 packets" "$(aq_xacquires)" 1
	expect_ge "out_no_sa drops" "$(ka_stat out_no_sa)" 5
	local ev
	ev=$(grep '"event":"acquire"' "$AQ_MON" | jq -c \
		'[.proto, .src, .dst, .sel.proto, .policy.dir,
		  .policy.tmpl.reqid, (.seq > 0)]')
	expect_eq "acquire event" "$ev" \
		"[\"esp\",\"$KA4\",\"$XB4\",\"udp\",\"out\",$REQ_KX,true]"
	expect_eq "larval entry" "$(aq_larval)" "0x00000000/$REQ_KX"
	"$KIPSEC" -n "$KA" state list | grep -qP \
		"^\tproto esp spi 0x00000000 reqid $REQ_KX mode transport$" ||
		fail "larval entry text: $("$KIPSEC" -n "$KA" state list)"
	# flush forgets it (as xfrm's); the next ones live 3 s
	in_netns "$KA" sysctl -qw net.kipsec.acq_expires=3 ||
		fail "no sysctl net.kipsec.acq_expires"
	"$KIPSEC" -n "$KA" state flush
	ip -n "$XB" xfrm state flush
	[ -z "$(aq_larval)" ] || fail "flush left the acquire: $(aq_larval)"
	aq_send 2
	aq_wait_n 2
	aq_gone
	aq_send 2
	aq_wait_n 3
	expect_eq "kipsec acquires after acq_expires" "$(aq_acquires)" 3
	expect_eq "ip xfrm acquires after acq_expires" "$(aq_xacquires)" 3
	# an SA for the template ends the acquire
	cfg ka state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode transport "$AQ_AEAD"
	cfg_apply
	[ -z "$(aq_larval)" ] || fail "acquire left after the SA came: $(aq_larval)"
}
ktest acquire_once_per_expiry_then_ended_by_add t_aq_acquire 180

# state allocspi: an SPI of [min, max], a larval SA without algorithms;
# a range with no free SPI fails (ip xfrm: ENOENT); add with an allocated
# SPI fails as in ip xfrm (EEXIST); the larval SA expires.
t_aq_allocspi() {
	aq_need
	topo_up
	# long enough for a slow guest to look at the SA before it expires
	in_netns "$KA" sysctl -qw net.kipsec.acq_expires=12
	local id=(src "$XB4" dst "$KA4" proto esp) out spi n rc
	out=$("$KIPSEC" -n "$KA" state allocspi "${id[@]}" reqid 7 mode transport \
		min 0x4000 max 0x40ff) || fail "allocspi: $out"
	spi=$(echo "$out" | sed -n 's/.*proto esp spi \(0x[0-9a-f]*\) reqid 7 mode transport$/\1/p')
	[ -n "$spi" ] || fail "allocspi printed: $out"
	((spi >= 0x4000 && spi <= 0x40ff)) || fail "SPI $spi outside the range"
	! echo "$out" | grep -qE '^\s(aead|enc|auth)' || fail "algorithms: $out"
	n=$("$KIPSEC" -n "$KA" -j state list | jq -r --arg s "$spi" \
		'.[] | select(.spi == $s) | [.state, .reqid, .mode, .aead == null] | @tsv')
	expect_eq "larval SA in -j" "$n" "larval	7	transport	true"
	# exhaustion: min = max = the SPI taken
	out=$("$KIPSEC" -n "$KA" state allocspi "${id[@]}" min "$spi" max "$spi" 2>&1) &&
		fail "allocspi of a taken SPI succeeded: $out"
	echo "$out" | grep -q "no free SPI in range" || fail "exhaustion: $out"
	# add with the allocated SPI: EEXIST, as ip xfrm below
	rc=0
	out=$("$KIPSEC" -n "$KA" state add "${id[@]}" spi "$spi" reqid 7 \
		mode transport "${AQ_AEAD_A[@]}" 2>&1) || rc=$?
	if [ "$rc" = 0 ] || ! echo "$out" | grep -q "larval"; then
		fail "add over a larval SA: rc $rc: $out"
	fi
	ip -n "$XB" xfrm state allocspi src "$KA4" dst "$XB4" proto esp \
		min 0x4000 max 0x4000 >/dev/null || fail "ip xfrm allocspi"
	out=$(ip -n "$XB" xfrm state allocspi src "$KA4" dst "$XB4" proto esp \
		min 0x4000 max 0x4000 2>&1) && fail "ip xfrm: second allocspi succeeded"
	echo "$out" | grep -q "No such file or directory" ||
		fail "ip xfrm exhaustion is not ENOENT any more: $out"
	out=$(ip -n "$XB" xfrm state add src "$KA4" dst "$XB4" proto esp \
		spi 0x4000 mode transport "${AQ_AEAD_A[@]}" 2>&1) &&
		fail "ip xfrm: add over an allocated SPI succeeded"
	echo "$out" | grep -q "File exists" || fail "ip xfrm add: $out"
	# the larval SA expires (hard expiry after acq_expires)
	local i
	for ((i = 0; i < 60; i++)); do
		[ -z "$(aq_larval)" ] && break
		sleep 0.5
	done
	[ -z "$(aq_larval)" ] || fail "larval SA never expired: $(aq_larval)"
}
ktest allocspi_range_exhaustion_expiry t_aq_allocspi 120

# A larval SA carries no traffic: the replies to its SPI drop as
# in_state_invalid; state update completes it and the replies pass.
t_aq_update() {
	aq_need
	topo_up
	cfg xb state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode transport "$AQ_AEAD"
	cfg xb state add src "$XB4" dst "$KA4" proto esp spi "$SPI_XK" \
		reqid "$REQ_XK" mode transport "$AQ_AEAD"
	cfg ka state add src "$KA4" dst "$XB4" proto esp spi "$SPI_KX" \
		reqid "$REQ_KX" mode transport "$AQ_AEAD"
	pol_pair transport 4 4
	cfg_apply
	local out
	out=$("$KIPSEC" -n "$KA" state allocspi src "$XB4" dst "$KA4" proto esp \
		reqid "$REQ_XK" mode transport min "$SPI_XK" max "$SPI_XK") ||
		fail "allocspi: $out"
	echo "$out" | grep -q "spi $(printf 0x%08x "$SPI_XK")" ||
		fail "allocspi: $out"
	ping_fails "$KA" "$KA4" "$XB4"
	expect_ge "in_state_invalid drops" "$(ka_stat in_state_invalid)" 1
	expect_eq "in_packets" "$(ka_stat in_packets)" 0
	"$KIPSEC" -n "$KA" state update src "$XB4" dst "$KA4" proto esp \
		spi "$SPI_XK" reqid "$REQ_XK" mode transport "${AQ_AEAD_A[@]}" ||
		fail "update of the larval SA"
	[ -z "$(aq_larval)" ] || fail "still larval: $(aq_larval)"
	ping_ok "$KA" "$KA4" "$XB4" 2
}
ktest larval_sa_unused_until_update t_aq_update 120
