#!/usr/bin/env bash
# Installs what the tests need when it is missing: PostgreSQL server
# binaries (initdb, postgres, pg_recvlogical) and Chromium for the browser
# test. Uses apt-get when running as root on Debian/Ubuntu; otherwise it
# only says what is missing.
set -euo pipefail

have_pg() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
have_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

missing=()
have_pg || missing+=(postgresql)
have_chromium || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a cluster on install; the tests start their own.
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_dropcluster --stop "$ver" "$name" || true; done
  fi
else
  echo "missing: ${missing[*]} — install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
