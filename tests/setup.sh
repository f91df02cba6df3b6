#!/bin/sh
# make test runs this first (make bench runs it as `setup.sh bench`): it checks
# every tool the tests use, installs what is
# missing when it can (apt-get as root on Debian/Ubuntu, npm ci for the Node
# packages), and otherwise stops with the exact command to run.
set -e
cd "$(dirname "$0")"

missing=""
need() {  # need PACKAGE CHECK...: PACKAGE is missing unless the check succeeds
  pkg=$1
  shift
  if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
has() { command -v "$1"; }
need g++ has g++
need make has make
need libssl-dev test -f /usr/include/openssl/ssl.h
need doctest-dev test -f /usr/include/doctest/doctest.h
need libnghttp2-dev test -f /usr/include/nghttp2/nghttp2.h
need nodejs has node
need npm has npm
need curl has curl
need chromium test -x /usr/bin/chromium
need nghttp2-client has nghttp
need libnss3-tools has certutil  # make trust-cert and its test
need python3-websockets /usr/bin/python3 -c "import websockets"
need valgrind has valgrind
need redis-server has redis-server  # the cluster tests start their own
need haproxy has haproxy  # make lesson-4-cluster's front, and its test
need clang has clang++
# libFuzzer's runtime: can clang link a fuzz target?
fuzzer_links() {
  echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, long) { return 0; }' |
    clang++ -fsanitize=fuzzer -x c++ - -o /dev/null
}
if command -v clang++ >/dev/null; then need libclang-rt-dev fuzzer_links; else missing="$missing libclang-rt-dev"; fi

# make bench also needs the load tools that stand beside our own.
if [ "${1:-}" = bench ]; then
  need wrk has wrk
  need nghttp2-server has nghttpd
  need h2o has h2o
fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
  else
    echo "setup: missing$missing; install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
  fi
fi

# node:test and the test packages need Node.js 18 or later (Debian 12 has 18;
# Ubuntu 22.04's nodejs is older: install a newer one, e.g. from NodeSource).
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "setup: Node.js $(node --version) is too old; the tests need 18 or later" >&2
  exit 1
fi

# The Node packages the end-to-end tests use, exactly as package-lock.json pins them.
if [ ! -f node_modules/.package-lock.json ] ||
  ! cmp -s package-lock.json node_modules/.setup-stamp; then
  echo "setup: npm ci in tests/"
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "setup: npm ci failed; run it by hand: (cd tests && npm ci)" >&2
    exit 1
  fi
  cp package-lock.json node_modules/.setup-stamp
fi
