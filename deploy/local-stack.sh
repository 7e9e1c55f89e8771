#!/usr/bin/env bash
# local-stack.sh - run riskd's local stack: PostgreSQL 15 and the mock Kafka cluster.
#
#   deploy/local-stack.sh up          start (or reuse) both, apply new migrations, write var/stack.env
#   deploy/local-stack.sh down        stop what `up` started
#   deploy/local-stack.sh status      one line per component; exit 0 only when both run
#   deploy/local-stack.sh newdb NAME  (re)create database NAME with all migrations; print its DSN
#   deploy/local-stack.sh env         print var/stack.env as `export KEY='VALUE'` lines for eval
#   deploy/local-stack.sh pg-stop     stop PostgreSQL only (fault tests: riskd must wait for it)
#   deploy/local-stack.sh pg-crash    stop PostgreSQL as a crash would (immediate: no final flush)
#   deploy/local-stack.sh pg-start    start PostgreSQL again, on the same port when still free
#   deploy/local-stack.sh prune-e2e   drop the databases earlier end-to-end runs left (riskd_e2e_*)
#
# Used by `make stack-up`, `make test` (end-to-end suites), the demo and developers. Everything
# lives under var/ of the checkout this script sits in; see docs/local-stack.md for the layout.
# PostgreSQL runs as the postgres user (when started by root) on a free loopback port chosen at
# the first `up`, never on the system cluster's 5432. Progress goes to stderr; `newdb` prints
# only the DSN on stdout, `status` and `env` print their report on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VAR=$ROOT/var
BIN=${RISKD_BIN:-$ROOT/bin}
PGBIN=/usr/lib/postgresql/15/bin
PARTITIONS=${RISKD_PARTITIONS:-6}
TOPICS=(meter.readings billing.events customer.profiles transformer.readings
        risk.review-queue risk.credit-grades risk.dead-letter)
SOCK_PATH_MAX=100            # sun_path holds 107 bytes; keep a margin
KAFKA_WAIT_S=30

RUN=$VAR/run
LOGDIR=$VAR/log
KAFKA_DIR=$VAR/kafka
BOOTSTRAP=$KAFKA_DIR/bootstrap
MOCK_PID=$RUN/mock-kafka.pid
PG_PID=$RUN/postgres.pid
STACK_ENV=$VAR/stack.env

QUIET=0
say() { ((QUIET)) || echo "local-stack: $*" >&2; }
die() { echo "local-stack: error: $*" >&2; exit 1; }

# Runs a PostgreSQL server program as the postgres user when we are root (initdb and pg_ctl
# refuse to run as root), from / so an unreadable working directory does not matter.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# True when the postgres user (or we, when not root) can create files in directory $1.
pg_can_write() {
    if ((EUID == 0)); then
        runuser -u postgres -- test -w "$1" -a -x "$1" 2>/dev/null
    else
        test -w "$1" -a -x "$1"
    fi
}

# Makes $1 a directory owned by the PostgreSQL user.
pg_own_dir() {
    mkdir -p "$1"
    if ((EUID == 0)); then chown postgres:postgres "$1"; fi
    chmod 700 "$1"
}

# True when 127.0.0.1:$1 can be bound (nothing listens there).
port_free() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

pick_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 20001))
        if port_free "$port"; then echo "$port"; return 0; fi
    done
    die "no free loopback port found in 20000-40000"
}

# Prints the path recorded in var/$1, or nothing.
recorded() { if [[ -s $VAR/$1 ]]; then cat "$VAR/$1"; fi; }
record() { printf '%s\n' "$2" > "$VAR/$1"; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# Sets PGBASE (holds data/ and log/) and PGSOCK (socket directory), creating or reusing them.
# PGBASE is var/pg when the postgres user can write there, else a directory under /tmp
# recorded in var/pg.location. PGSOCK is PGBASE/sock unless that path is too long for a Unix
# socket, else a directory under /tmp recorded in var/pg.sockdir.
pg_locate() {
    PGBASE=$(recorded pg.location)
    if [[ -z $PGBASE || ! -d $PGBASE ]] || ! pg_can_write "$PGBASE"; then
        PGBASE=$VAR/pg
        pg_own_dir "$PGBASE"
        if ! pg_can_write "$PGBASE"; then
            PGBASE=$(mktemp -d /tmp/riskd-pg.XXXXXX)
            pg_own_dir "$PGBASE"
            say "postgres cannot reach $VAR/pg; using $PGBASE"
        fi
        record pg.location "$PGBASE"
    fi
    PGSOCK=$PGBASE/sock
    if ((${#PGSOCK} + 20 > SOCK_PATH_MAX)) || [[ $PGSOCK == *[[:space:]]* ]]; then
        PGSOCK=$(recorded pg.sockdir)
        if [[ -z $PGSOCK || ! -d $PGSOCK ]]; then
            PGSOCK=$(mktemp -d /tmp/riskd-pgsock.XXXXXX)
            record pg.sockdir "$PGSOCK"
        fi
    fi
    pg_own_dir "$PGSOCK"
    chmod 755 "$PGSOCK"       # clients other than root may connect too
    mkdir -p "$LOGDIR"
    ln -sfn "$PGBASE/log/postgres.log" "$LOGDIR/postgres.log"
}

# Finds the PostgreSQL base directory without creating anything (for status, down, newdb).
pg_locate_existing() {
    PGBASE=$(recorded pg.location)
    [[ -n $PGBASE && -d $PGBASE/data ]]
}

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$PGBASE/data" status >/dev/null 2>&1; }

# Reads pid, port and socket directory of the running server from postmaster.pid.
pg_read_pidfile() {
    local f=$PGBASE/data/postmaster.pid
    PG_RUN_PID=$(sed -n 1p "$f")
    PG_RUN_PORT=$(sed -n 4p "$f")
    PG_RUN_SOCK=$(sed -n 5p "$f")
}

pg_initdb() {
    say "postgres: initdb in $PGBASE/data"
    pg_own_dir "$PGBASE/log"
    as_pg "$PGBIN/initdb" -D "$PGBASE/data" --auth=trust -U postgres --encoding=UTF8 \
        --locale=C >"$PGBASE/initdb.log" 2>&1 || { cat "$PGBASE/initdb.log" >&2; die "initdb failed"; }
    # Settings for a local test stack; port, sockets and listen address come from pg_ctl -o.
    as_pg tee -a "$PGBASE/data/postgresql.conf" >/dev/null <<'EOF'

# riskd local stack (deploy/local-stack.sh)
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
log_min_messages = warning
EOF
}

# TLS as production runs it: a CA of the stack's own (var/pg-ca.crt for clients) and a server
# certificate for localhost and 127.0.0.1 signed by it, made once with openssl.
pg_tls_ensure() {
    PGTLS=$PGBASE/tls
    if [[ ! -s $PGTLS/server.crt || ! -s $PGTLS/server.key || ! -s $PGTLS/ca.crt ]]; then
        local tmp
        tmp=$(mktemp -d "$VAR/pg-tls.XXXXXX")
        (
            cd "$tmp" || exit 1
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
                -subj "/CN=riskd local stack CA" -keyout ca.key -out ca.crt
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -subj "/CN=localhost" -keyout server.key -out server.csr
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
                -extfile ext -out server.crt
        ) >"$LOGDIR/pg-tls.log" 2>&1 || { cat "$LOGDIR/pg-tls.log" >&2; rm -rf "$tmp"; die "openssl could not make the stack's certificates"; }
        pg_own_dir "$PGTLS"
        install -m 0644 "$tmp/ca.crt" "$tmp/server.crt" "$PGTLS/"
        install -m 0600 "$tmp/server.key" "$PGTLS/"
        if ((EUID == 0)); then chown postgres: "$PGTLS/server.key" "$PGTLS/server.crt" "$PGTLS/ca.crt"; fi
        rm -rf "$tmp"
        say "postgres: made a CA and a server certificate for localhost in $PGTLS"
    fi
    install -m 0644 "$PGTLS/ca.crt" "$VAR/pg-ca.crt"
}

# Members of stack_password_users log in over TCP only with TLS and a password (SCRAM), as a
# production server would make them; everyone else keeps the stack's trust logins. The rules
# go first in pg_hba.conf (the first matching line wins). Returns 0 when it changed the file.
pg_hba_ensure() {
    local hba=$PGBASE/data/pg_hba.conf
    grep -q '+stack_password_users' "$hba" && return 1
    { printf '# riskd local stack: TLS and a password for members of stack_password_users\n'
      printf 'hostssl all +stack_password_users 127.0.0.1/32 scram-sha-256\n'
      printf 'host    all +stack_password_users 127.0.0.1/32 reject\n'
      cat "$hba"; } > "$VAR/pg_hba.conf.tmp"
    as_pg tee "$hba" < "$VAR/pg_hba.conf.tmp" >/dev/null
    rm -f "$VAR/pg_hba.conf.tmp"
    return 0
}

# True when the running server has TLS on.
pg_tls_on() {
    [[ $(PGOPTIONS='-c client_min_messages=warning' psql -X -At -h "$PG_RUN_SOCK" -p "$PG_RUN_PORT" \
            -U postgres -d postgres -c 'show ssl' 2>/dev/null) == on ]]
}

pg_up() {
    local port t0 hba_changed=0
    pg_locate
    [[ -x $PGBIN/pg_ctl ]] || die "$PGBIN/pg_ctl not found: run deploy/install-deps.sh"
    [[ -s $PGBASE/data/PG_VERSION ]] || pg_initdb
    pg_tls_ensure
    pg_hba_ensure && hba_changed=1
    if pg_running; then
        pg_read_pidfile
        if ! pg_tls_on; then
            say "postgres: restarting to turn TLS on"
            as_pg "$PGBIN/pg_ctl" -D "$PGBASE/data" stop -m fast -w -t 60 >/dev/null
        fi
    fi
    if pg_running; then
        ((hba_changed)) && as_pg "$PGBIN/pg_ctl" -D "$PGBASE/data" reload >/dev/null
        say "postgres: running pid=$PG_RUN_PID port=$PG_RUN_PORT (reused)"
    else
        port=$(recorded pg.port)
        if [[ -z $port ]] || ! port_free "$port"; then
            port=$(pick_port)
            record pg.port "$port"
        fi
        pg_own_dir "$PGBASE/log"
        t0=$SECONDS
        # after a crash (pg-crash) PostgreSQL syncs its data directory before it opens:
        # syncfs does that in one call instead of one fsync per file of every test database
        as_pg "$PGBIN/pg_ctl" -D "$PGBASE/data" -l "$PGBASE/log/postgres.log" -w -t 300 \
            -o "-p $port -k $PGSOCK -c listen_addresses=127.0.0.1 -c recovery_init_sync_method=syncfs -c ssl=on -c ssl_cert_file=$PGTLS/server.crt -c ssl_key_file=$PGTLS/server.key" \
            start >/dev/null \
            || { tail -20 "$PGBASE/log/postgres.log" >&2 || true; die "postgres did not start"; }
        pg_read_pidfile
        say "postgres: started pid=$PG_RUN_PID port=$PG_RUN_PORT in $((SECONDS - t0))s"
    fi
    mkdir -p "$RUN"
    echo "$PG_RUN_PID" > "$PG_PID"
}

pg_down() {
    local mode=${1:-fast}
    if pg_locate_existing && pg_running; then
        as_pg "$PGBIN/pg_ctl" -D "$PGBASE/data" stop -m "$mode" -w -t 60 >/dev/null
        say "postgres: stopped ($mode)"
    else
        say "postgres: not running"
    fi
    rm -f "$PG_PID"
}

# psql against the running stack as the postgres superuser; database in $1.
stack_psql() {
    local db=$1; shift
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -h "$PG_RUN_SOCK" -p "$PG_RUN_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"
}

# Brings database $1 to deploy/sql with `riskctl migrate` (the operators' tool: each migration
# in one transaction with its record and checksum in public.schema_migrations).
pg_migrate() {
    local db=$1 out line
    [[ -x $BIN/riskctl ]] || die "migrations need $BIN/riskctl: run make first"
    if ! out=$("$BIN/riskctl" migrate --dir "$ROOT/deploy/sql" \
            --dsn "host=$PG_RUN_SOCK port=$PG_RUN_PORT dbname=$db user=postgres" 2>&1); then
        echo "$out" >&2
        die "migrations failed on database $db (see above; a failed migration is rolled back)"
    fi
    while read -r line; do
        [[ $line == applied* ]] && say "postgres: $line to $db"
    done <<<"$out"
    return 0
}

# The group whose members must log in with TLS and a password (pg_hba_ensure).
pg_ensure_password_group() {
    stack_psql postgres -c "do \$\$ begin
        if not exists (select from pg_roles where rolname = 'stack_password_users') then
            create role stack_password_users nologin;
        end if; end \$\$"
}

pg_ensure_db() {
    local db=$1
    if [[ -z $(stack_psql postgres -At -c "select 1 from pg_database where datname = '$db'") ]]; then
        stack_psql postgres -c "create database \"$db\""
        say "postgres: created database $db"
    fi
}

# ---------------------------------------------------------------------------------------------
# Mock Kafka

# Sets MOCK_CONTROL: var/kafka/control.sock, or a /tmp path recorded in var/kafka.control
# when that is too long for a Unix socket.
mock_locate() {
    MOCK_CONTROL=$KAFKA_DIR/control.sock
    if ((${#MOCK_CONTROL} > SOCK_PATH_MAX)); then
        MOCK_CONTROL=$(recorded kafka.control)
        if [[ -z $MOCK_CONTROL || ! -d $(dirname "$MOCK_CONTROL") ]]; then
            MOCK_CONTROL=$(mktemp -d /tmp/riskd-kafka.XXXXXX)/control.sock
            record kafka.control "$MOCK_CONTROL"
        fi
    fi
}

# True when a launcher answers ping on our control socket (it is ours: the socket is in our
# var/); sets MOCK_RUN_PID from its reply. Without the binary (status with another RISKD_BIN):
# true when the pid file's process is alive and the socket exists.
mock_running() {
    local reply
    MOCK_RUN_PID=$(cat "$MOCK_PID" 2>/dev/null || true)
    if [[ -x $BIN/mock-kafka ]]; then
        reply=$("$BIN/mock-kafka" ctl --control "$MOCK_CONTROL" ping 2>/dev/null) || return 1
        reply=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$reply")
        MOCK_RUN_PID=${reply:-$MOCK_RUN_PID}
    else
        [[ -n $MOCK_RUN_PID ]] && kill -0 "$MOCK_RUN_PID" 2>/dev/null && [[ -S $MOCK_CONTROL ]] \
            || return 1
    fi
    [[ -s $BOOTSTRAP ]]
}

# Stops our launcher: the one answering on our socket, else the pid file's if that process is
# still a mock-kafka launcher (pids get reused). Removes its pid file, socket and bootstrap.
mock_kill() {
    local pid i
    if mock_running; then pid=$MOCK_RUN_PID; else pid=$(cat "$MOCK_PID" 2>/dev/null || true); fi
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null \
            && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'mock-kafka serve'; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        say "mock-kafka: stopped pid=$pid"
    elif [[ -n $pid ]]; then
        say "mock-kafka: pid $pid is gone"
    else
        say "mock-kafka: not running"
    fi
    rm -f "$MOCK_PID" "$BOOTSTRAP" "$MOCK_CONTROL"
}

mock_up() {
    local args=() t i
    mkdir -p "$KAFKA_DIR" "$RUN" "$LOGDIR"
    mock_locate
    if mock_running; then
        echo "$MOCK_RUN_PID" > "$MOCK_PID"
        say "mock-kafka: running pid=$MOCK_RUN_PID bootstrap=$(cat "$BOOTSTRAP") (reused)"
        return 0
    fi
    if [[ -s $MOCK_PID || -S $MOCK_CONTROL ]]; then mock_kill; fi
    rm -f "$BOOTSTRAP" "$MOCK_CONTROL"
    for t in "${TOPICS[@]}"; do args+=(--topic "$t:$PARTITIONS"); done
    echo "--- $(date -u +%FT%TZ) local-stack: starting mock-kafka" >> "$LOGDIR/mock-kafka.log"
    setsid nohup "$BIN/mock-kafka" serve --brokers 1 --bootstrap-file "$BOOTSTRAP" \
        --control "$MOCK_CONTROL" "${args[@]}" </dev/null >>"$LOGDIR/mock-kafka.log" 2>&1 &
    echo $! > "$MOCK_PID"     # setsid execs (we are not a group leader): same pid
    for ((i = 0; i < KAFKA_WAIT_S * 10; i++)); do
        [[ -s $BOOTSTRAP ]] && break
        kill -0 "$(cat "$MOCK_PID")" 2>/dev/null || break
        sleep 0.1
    done
    if mock_running; then
        echo "$MOCK_RUN_PID" > "$MOCK_PID"   # the launcher's own word, in case setsid forked
    else
        tail -5 "$LOGDIR/mock-kafka.log" >&2 || true
        mock_kill
        die "mock-kafka did not become ready within ${KAFKA_WAIT_S}s (log: $LOGDIR/mock-kafka.log)"
    fi
    say "mock-kafka: started pid=$MOCK_RUN_PID bootstrap=$(cat "$BOOTSTRAP") topics=${#TOPICS[@]}x$PARTITIONS"
}

# ---------------------------------------------------------------------------------------------
# Commands

# Writes var/stack.env: KEY='VALUE' lines that a shell can source as they are
# (set -a; . var/stack.env) and that riskd's stack env reader understands.
write_stack_env() {
    local tmp=$STACK_ENV.tmp.$$ key value
    {
        echo "# written by deploy/local-stack.sh up; a shell can source it"
        for key in RISKD_KAFKA_BROKERS RISKD_PG_DSN RISKD_PG_PORT RISKD_PG_HOST RISKD_PG_CA \
                   RISKD_MOCK_CONTROL RISKD_STACK_DIR; do
            case $key in
                RISKD_KAFKA_BROKERS) value=$(cat "$BOOTSTRAP") ;;
                RISKD_PG_DSN) value="host=$PG_RUN_SOCK port=$PG_RUN_PORT dbname=riskd user=postgres" ;;
                RISKD_PG_PORT) value=$PG_RUN_PORT ;;
                RISKD_PG_HOST) value=$PG_RUN_SOCK ;;
                RISKD_PG_CA) value=$VAR/pg-ca.crt ;;
                RISKD_MOCK_CONTROL) value=$MOCK_CONTROL ;;
                RISKD_STACK_DIR) value=$VAR ;;
            esac
            [[ $value != *"'"* ]] || die "$key holds a single quote, which var/stack.env cannot: $value"
            printf "%s='%s'\n" "$key" "$value"
        done
    } > "$tmp"
    mv -f "$tmp" "$STACK_ENV"
}

cmd_up() {
    [[ -x $BIN/mock-kafka ]] || die "$BIN/mock-kafka is missing: build it first (make build)"
    mkdir -p "$VAR" "$RUN" "$LOGDIR"
    pg_up
    pg_ensure_password_group
    pg_ensure_db riskd
    pg_migrate riskd
    mock_up
    write_stack_env
    say "up: $STACK_ENV"
}

cmd_down() {
    mock_locate
    mock_kill
    pg_down
    rm -f "$STACK_ENV"
}

cmd_status() {
    local ok=0
    mock_locate
    if pg_locate_existing && pg_running; then
        pg_read_pidfile
        echo "postgres: running pid=$PG_RUN_PID host=$PG_RUN_SOCK port=$PG_RUN_PORT data=$PGBASE/data"
    else
        echo "postgres: stopped"
        ok=1
    fi
    if mock_running; then
        echo "mock-kafka: running pid=$MOCK_RUN_PID bootstrap=$(cat "$BOOTSTRAP") control=$MOCK_CONTROL"
    else
        echo "mock-kafka: stopped"
        ok=1
    fi
    return $ok
}

cmd_newdb() {
    local db=${1:-}
    QUIET=1
    [[ $db =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "newdb: name must match [a-z_][a-z0-9_]* (<= 63 bytes)"
    [[ $db != postgres && $db != template0 && $db != template1 ]] || die "newdb: refusing to replace $db"
    if ! pg_locate_existing || ! pg_running; then
        die "postgres is not running: run deploy/local-stack.sh up"
    fi
    pg_read_pidfile
    stack_psql postgres -c "drop database if exists \"$db\" with (force)" 2>/dev/null
    stack_psql postgres -c "create database \"$db\""
    pg_migrate "$db"
    echo "host=$PG_RUN_SOCK port=$PG_RUN_PORT dbname=$db user=postgres"
}

cmd_prune_e2e() {
    if ! pg_locate_existing || ! pg_running; then
        die "postgres is not running: run deploy/local-stack.sh up"
    fi
    pg_read_pidfile
    local db n=0
    for db in $(stack_psql postgres -At -c \
            "select datname from pg_database where datname like 'riskd\\_e2e\\_%'"); do
        stack_psql postgres -c "drop database if exists \"$db\" with (force)" 2>/dev/null
        n=$((n + 1))
    done
    say "postgres: dropped $n end-to-end databases"
}

cmd_env() {
    [[ -s $STACK_ENV ]] || die "$STACK_ENV missing: run deploy/local-stack.sh up"
    local key value
    while IFS='=' read -r key value; do
        [[ -n $key && $key != \#* ]] || continue
        [[ $value == \'*\' ]] && value=${value:1:-1}
        printf "export %s='%s'\n" "$key" "${value//\'/\'\\\'\'}"
    done < "$STACK_ENV"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    newdb) shift; cmd_newdb "$@" ;;
    env) cmd_env ;;
    pg-stop) pg_down fast ;;
    pg-crash) pg_down immediate ;;
    pg-start) pg_up ;;
    prune-e2e) cmd_prune_e2e ;;
    *) echo "usage: $0 up|down|status|newdb NAME|env|pg-stop|pg-crash|pg-start|prune-e2e" >&2; exit 2 ;;
esac
