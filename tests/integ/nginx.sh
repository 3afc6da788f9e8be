# SPDX-License-Identifier: LGPL-2.1-or-later
# A real nginx (Debian's /usr/sbin/nginx) for the HTTP tests, sourced after lib.sh: started
# by the test as the current user (when root, nginx's workers drop to nobody) on 127.0.0.1
# on a free port, its config, pid file and logs under $TMP/nginx, stopped by its PID.
#   ng_init            sets NG, WWW, PORT, TLSPORT, have_tls (self-signed cert for 127.0.0.1)
#   NG_LOCATIONS       extra location blocks for the plain HTTP server (set before ng_start)
#   NG_TLS_LOCATIONS   the same for the HTTPS server; in both, @PORT@ and @TLSPORT@ become
#                      the ports chosen (they may change while ng_start looks for free ones)
#   ng_start / ng_stop start (writes the config) / stop by PID (SIGTERM: connections close)
#   ng_freeze SECONDS  stops nginx's worker that long (SIGSTOP, SIGCONT), its PID in $worker
#   wait_mark FILE N   waits (30 s at most) until FILE, a helper's --mark file, says N or more
# Returns 1 from ng_init when nginx is missing; ng_setup [HELPER] is ng_init or the end of
# the test: skipped without nginx, one failure when HELPER (a test program) is not built.
NGINX=${NGINX:-/usr/sbin/nginx}
NGPID=""
NG_LOCATIONS=${NG_LOCATIONS:-}
NG_TLS_LOCATIONS=${NG_TLS_LOCATIONS:-}
# The loopback server must be reached directly whatever proxies the environment names.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

ng_stop() {
	if [ -n "$NGPID" ] && kill -0 "$NGPID" 2>/dev/null; then
		kill -TERM "$NGPID" 2>/dev/null
		wait "$NGPID" 2>/dev/null
	fi
	NGPID=""
}

ng_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return; }
	done
}

ng_init() {
	[ -x "$NGINX" ] || return 1
	NG="$TMP/nginx"
	WWW="$TMP/www"
	mkdir -p "$NG/tmp" "$WWW"
	chmod 0755 "$NG" "$WWW"
	trap '[ "${BASHPID:-$$}" = "$MAINPID" ] && { ng_stop; rm -rf "$TMP"; }' EXIT
	have_tls=0
	if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$NG/key.pem" -out "$NG/cert.pem" \
		>/dev/null 2>&1; then
		have_tls=1
		chmod 0644 "$NG/key.pem"
	fi
	PORT=$(ng_free_port)
	TLSPORT=$(ng_free_port)
}

ng_setup() {
	if ! ng_init; then
		skip "nginx is not installed ($NGINX; tools/deps.sh installs it)"
		done_testing
		exit
	fi
	if [ -n "${1:-}" ] && [ ! -x "$1" ]; then
		ok 1 "helper $1 is built (make B=$B)"
		done_testing
		exit
	fi
}

ng_ports() { # ng_ports TEXT: TEXT with @PORT@ and @TLSPORT@ replaced
	local t=${1//@PORT@/$PORT}
	echo "${t//@TLSPORT@/$TLSPORT}"
}

ng_conf() {
	local tls=""
	[ "$have_tls" = 1 ] && tls="
	server {
		listen 127.0.0.1:$TLSPORT ssl;
		ssl_certificate $NG/cert.pem;
		ssl_certificate_key $NG/key.pem;
		root $WWW;
		$(ng_ports "$NG_TLS_LOCATIONS")
	}"
	cat >"$NG/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log info;
events { worker_connections 64; }
http {
	access_log $NG/access.log;
	client_body_temp_path $NG/tmp/body;
	proxy_temp_path $NG/tmp/proxy;
	fastcgi_temp_path $NG/tmp/fastcgi;
	uwsgi_temp_path $NG/tmp/uwsgi;
	scgi_temp_path $NG/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$PORT;
		root $WWW;
		$(ng_ports "$NG_LOCATIONS")
	}$tls
}
EOF
}

ng_start() {
	local i
	for i in 1 2 3 4 5; do
		ng_conf
		rm -f "$NG/nginx.pid"
		"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" 2>>"$NG/start.log" &
		NGPID=$!
		for _ in $(seq 50); do
			if [ -s "$NG/nginx.pid" ] && [ "$(cat "$NG/nginx.pid")" = "$NGPID" ] &&
				[ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ]; then
				return 0
			fi
			kill -0 "$NGPID" 2>/dev/null || break
			sleep 0.1
		done
		ng_stop
		# The port was taken in the meantime: choose others and try again.
		PORT=$(ng_free_port)
		TLSPORT=$(ng_free_port)
	done
	return 1
}

ng_freeze() {
	worker=$(pgrep -P "$NGPID" | head -n 1)
	kill -STOP "$worker"
	sleep "$1"
	kill -CONT "$worker"
}

wait_mark() {
	local i
	for i in $(seq 600); do
		[ -s "$1" ] && [ "$(cat "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
