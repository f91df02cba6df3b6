#!/bin/sh
# make trust-cert runs this: it makes Chromium and Chrome on Linux trust lesson 02's
# self-signed certificate, in the NSS database they read ($HOME/.pki/nssdb), and
# says what it changed and how to undo it.
#
#   sh tests/tools/trust-cert.sh BUILD_DIR     (make trust-cert passes build/)
#
# The certificate is BUILD_DIR/localhost.pem, which build/lesson-2 makes on its first
# run (02-http2-push/tls.cpp); if it is not there yet, this runs the lesson once to
# make it. Steps, each only when needed:
#   1. certutil (Debian/Ubuntu package libnss3-tools): installed with apt-get when
#      run as root, else the exact command is printed and nothing is changed.
#   2. the database: `certutil -N --empty-password` creates it (Chromium creates it
#      on its first run, and until then certutil fails with SEC_ERROR_BAD_DATABASE).
#   3. the certificate, under the nickname below, trusted as a peer for TLS ("P,,").
#      An older copy under that nickname (a certificate made by an earlier run) is
#      replaced.
set -e

build=${1:-build}
pem="$build/localhost.pem"
nick=${TRUST_CERT_NAME:-realtime-web-lesson-2}
db_dir="$HOME/.pki/nssdb"
db="sql:$db_dir"

if [ "$(uname -s)" != Linux ]; then
  echo "trust-cert: only for Linux (Chromium's NSS database). On macOS, open $pem in" >&2
  echo "  Keychain Access and set it to Always Trust; or accept the browser's warning." >&2
  exit 1
fi

# 1. certutil
if ! command -v certutil >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "trust-cert: installing libnss3-tools (for certutil)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends libnss3-tools >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends libnss3-tools >/dev/null; }
    echo "trust-cert: changed: installed libnss3-tools (undo: apt-get remove libnss3-tools)"
  else
    echo "trust-cert: certutil is missing; install it, then run make trust-cert again:" >&2
    echo "  sudo apt-get install -y libnss3-tools" >&2
    exit 1
  fi
fi

# The certificate: made by the lesson's first run.
if [ ! -f "$pem" ]; then
  echo "trust-cert: $pem does not exist yet; running $build/lesson-2 once to make it"
  out=$(mktemp)
  "$build/lesson-2" --port 0 >"$out" 2>/dev/null &
  pid=$!
  tries=0
  while [ ! -s "$out" ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  [ -f "$pem" ] || { echo "trust-cert: $build/lesson-2 did not make $pem" >&2; exit 1; }
fi
crt=$(mktemp)
trap 'rm -f "$crt"' EXIT
# localhost.pem holds the private key too: only the certificate goes to NSS.
openssl x509 -in "$pem" -out "$crt"
fingerprint=$(openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/.*=//')

# 2. the database
if [ ! -f "$db_dir/cert9.db" ]; then
  mkdir -p "$db_dir"
  certutil -N -d "$db" --empty-password
  echo "trust-cert: changed: created the NSS database $db_dir (no password)"
fi

# 3. the certificate
if certutil -L -d "$db" -n "$nick" >/dev/null 2>&1; then
  if certutil -L -d "$db" -n "$nick" -a | openssl x509 -noout -fingerprint -sha256 |
    grep -q "$fingerprint"; then
    echo "trust-cert: $pem is already trusted as \"$nick\" in $db_dir; nothing changed"
    exit 0
  fi
  certutil -D -d "$db" -n "$nick"
  echo "trust-cert: changed: removed an older certificate named \"$nick\""
fi
certutil -A -d "$db" -n "$nick" -t "P,," -i "$crt"
echo "trust-cert: changed: added $pem to $db_dir as \"$nick\", trusted for TLS"
echo "  SHA-256 $fingerprint"
echo "  Restart Chromium (or Chrome) to see it. Firefox keeps its own list: see"
echo "  02-http2-push/README.md. A new localhost.pem (deleted, or a year old) needs"
echo "  make trust-cert again."
echo "  Undo: certutil -D -n $nick -d $db"
