#!/usr/bin/env bash
# Run a command with a PostgreSQL server for the tests: `.ci/postgres.sh CMD...`.
#
# PREMATCH_TEST_PG (a postgresql:// URL of a database the tests may create schemas in)
# already set: a developer's own server; the command runs as it is. Otherwise this
# script starts a throwaway server: Debian's `postgresql` package is installed if
# initdb/pg_ctl are missing (as root, with apt-get), a data directory is made in /tmp
# (owned by the `postgres` user when run as root: the server refuses to run as root),
# the server listens on a free port of 127.0.0.1 and a socket directory in /tmp, a
# database `prematch_test` is created, PREMATCH_TEST_PG names it, and the server is
# stopped and its files removed when the command ends. If no server can be had, it
# says so and fails: the PostgreSQL tests never skip silently.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
if [[ -n "${PREMATCH_TEST_PG:-}" ]]; then
    exec "$@"
fi

die() {
    echo "postgres.sh: $*" >&2
    echo "postgres.sh: the PostgreSQL tests need a server: install Debian's postgresql" \
        "package (apt-get install -y postgresql) or set PREMATCH_TEST_PG to a" \
        "postgresql:// URL of a database to test in." >&2
    exit 1
}

find_bin() {
    local dir
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return
        fi
    done
}

BIN=$(find_bin)
if [[ -z "$BIN" ]]; then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "initdb and pg_ctl are not installed, and only root with apt-get can install them here"
    fi
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } ||
        die "apt-get install postgresql failed"
    BIN=$(find_bin)
    [[ -n "$BIN" ]] || die "postgresql is installed but initdb/pg_ctl are not under /usr/lib/postgresql/*/bin"
fi

RUN=()
OWNER=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
    OWNER=postgres
    if command -v runuser >/dev/null 2>&1; then
        RUN=(runuser -u postgres --)
    else
        RUN=(su postgres -s /bin/sh -c)
    fi
fi
as_owner() {
    if [[ ${#RUN[@]} -eq 0 ]]; then
        "$@"
    elif [[ ${RUN[0]} == runuser ]]; then
        "${RUN[@]}" "$@"
    else
        "${RUN[@]}" "$(printf '%q ' "$@")"
    fi
}

TMP=$(mktemp -d /tmp/prematch-pg.XXXXXX)
chmod 755 "$TMP"
mkdir "$TMP/data" "$TMP/socket"
chown "$OWNER" "$TMP/data" "$TMP/socket"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    as_owner "$BIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap stop EXIT

as_owner "$BIN/initdb" -D "$TMP/data" -U postgres -A trust -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
# fsync off: a throwaway test server (nothing survives it anyway).
as_owner "$BIN/pg_ctl" -D "$TMP/data" -l "$TMP/data/server.log" -w -t 60 start \
    -o "-p $PORT -k $TMP/socket -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    >/dev/null || { cat "$TMP/data/server.log" >&2 || true; die "the server did not start"; }
"$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE prematch_test" ||
    die "cannot create the test database"

export PREMATCH_TEST_PG="postgresql://postgres@127.0.0.1:$PORT/prematch_test"
echo "postgres.sh: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') at $PREMATCH_TEST_PG" >&2
set +e
"$@"
status=$?
exit $status
