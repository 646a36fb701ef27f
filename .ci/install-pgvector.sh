#!/usr/bin/env bash
# Installs pgvector into the local PostgreSQL server when `CREATE EXTENSION
# vector` cannot work yet. Debian 12 packages no pgvector for PostgreSQL 15, so
# this builds Debian 13's source package against postgresql-server-dev-N (about
# 20 s). Idempotent: it does nothing when the extension is already available.
# Usage: install-pgvector.sh PGURL
set -euo pipefail
PGURL="$1"

available() {
  [ "$(psql "$PGURL" -Atqc "select count(*) from pg_available_extensions where name = 'vector'")" = "1" ]
}
if available; then
  echo "pgvector: available ($(psql "$PGURL" -Atqc "select default_version from pg_available_extensions where name = 'vector'"))"
  exit 0
fi

major="$(psql "$PGURL" -Atqc 'show server_version_num' | cut -c1-2)"
echo "pgvector: not installed for PostgreSQL $major; building it from Debian's source package"
export DEBIAN_FRONTEND=noninteractive

# A deb-src entry for trixie on the mirror apt already uses (deb822 or one-line).
# Only active lines: `URIs:` in deb822 files, `deb URL` in one-line ones (comments may name other mirrors).
mirror="$(
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print ($2 ~ /^\[/) ? $3 : $2}'
  } | grep -v security | head -n 1 || true
)"
mirror="${mirror:-http://deb.debian.org/debian}"
src=/etc/apt/sources.list.d/agentbase-trixie-src.list
if [ ! -f "$src" ]; then
  echo "deb-src ${mirror%/} trixie main" > "$src"
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$major" build-essential dpkg-dev >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  apt-get source -qq pgvector >/dev/null 2>&1 || apt-get source pgvector
  cd pgvector-*/
  make -s PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >/dev/null
  make -s install PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >/dev/null
)
available || { echo "pgvector: built and installed, but PostgreSQL does not list it" >&2; exit 1; }
echo "pgvector: installed ($(psql "$PGURL" -Atqc "select default_version from pg_available_extensions where name = 'vector'"))"
