#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes sure a PostgreSQL server runs for the tests and prints the URL of
# the test role's database on stdout (everything else goes to stderr).
# Idempotent, safe to run while the server already runs or while another
# run uses it; the tests make one database per test case next to it.
#
#   as root, with Debian's postgresql-common (make deps installs it):
#     the system cluster (created if there is none, started if down), role
#     otter_test (LOGIN CREATEDB, password otter_test) and database
#     otter_test; URL postgresql://otter_test:otter_test@127.0.0.1:PORT/otter_test
#   otherwise: a private cluster in DIR (default build/pg), Unix socket in
#     DIR only, no TCP; URL postgresql://otter_test@/otter_test?host=DIR
#
# Usage: tests/pg/ensure.sh [DIR]
set -euo pipefail

role=otter_test
db=otter_test
log() { echo "pg/ensure: $*" >&2; }
die() { log "$*"; exit 1; }

# The role and database, created when missing; a parallel run may win the race, which is fine.
make_role_and_db() { # make_role_and_db PSQL_ADMIN_CMD...
  "$@" -d postgres -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN CREATEDB PASSWORD '$role';
      END IF; END \$\$;" >/dev/null 2>&1 || true
  if [ -z "$("$@" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    "$@" -d postgres -c "CREATE DATABASE $db OWNER $role TEMPLATE template0 ENCODING 'UTF8'
      LC_COLLATE 'C' LC_CTYPE 'C'" >/dev/null 2>&1 || true
  fi
}

system_cluster() {
  local line ver name port status
  line=$(pg_lsclusters --no-header 2>/dev/null | head -1 || true)
  if [ -z "$line" ]; then
    ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
    [ -n "$ver" ] || die "no PostgreSQL server installed (make deps installs it)"
    log "creating cluster $ver/main"
    pg_createcluster "$ver" main >&2
    line=$(pg_lsclusters --no-header | head -1)
  fi
  read -r ver name port status _ <<<"$line"
  if [ "${status%%,*}" != online ]; then
    log "starting cluster $ver/$name (port $port)"
    # Another run may start it at the same moment: only a cluster still down is an error.
    pg_ctlcluster "$ver" "$name" start >&2 ||
      pg_lsclusters --no-header | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n' | grep -q online ||
      die "cannot start cluster $ver/$name (see /var/log/postgresql/postgresql-$ver-$name.log)"
  fi
  for _ in $(seq 50); do
    runuser -u postgres -- pg_isready -q -p "$port" && break
    sleep 0.2
  done
  make_role_and_db runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port"
  url="postgresql://$role:$role@127.0.0.1:$port/$db"
}

private_cluster() {
  local dir=$1 bin
  bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] || die "no PostgreSQL server installed (make deps installs it)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initdb $dir/data"
    # trust is safe here: the only way in is the socket in a private directory.
    "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
    chmod 700 "$dir"
  fi
  if ! "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir'" start >&2 ||
      "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ||
      die "cannot start the private cluster (see $dir/server.log)"
  fi
  make_role_and_db "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U postgres
  url="postgresql://$role@/$db?host=$dir"
}

if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null; then
  system_cluster
else
  private_cluster "${1:-build/pg}"
fi
psql -X -q "$url" -Atc 'SELECT 1' >/dev/null || die "cannot connect to $url"
# Test databases end in the pid of the test that made them; drop those whose test is gone
# (killed before its cleanup). A live pid keeps its database, whoever runs it.
psql -X -q "$url" -Atc "SELECT datname FROM pg_database WHERE datname ~ '^otter_(t|it)_.*_[0-9]+\$'" |
  while read -r old; do
    kill -0 "${old##*_}" 2>/dev/null ||
      psql -X -q "$url" -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
echo "$url"
