#!/bin/sh
# build-valkey-1912.sh OUT: Valkey 8.1.1 from Debian trixie's source package
# with the fix of valkey-io/valkey#1912 (PR #1950) reverted by
# valkey-1912.patch: the 8.1.0 behaviour, which no package ships any more.
# The server alone (no TLS, no systemd, the C library's allocator: the
# assertion is arithmetic and does not depend on it) into OUT/valkey-server.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
"$here/fetch-suite.sh" --source trixie "$out/src" valkey
rm -rf "$out/tree"
mkdir -p "$out/tree"
tar -xf "$out"/src/valkey_8.1.1*.orig.tar.* -C "$out/tree" --strip-components=1
cd "$out/tree"
patch -p1 --quiet < "$here/valkey-1912.patch"
make -C src -j"$(nproc)" valkey-server BUILD_TLS=no USE_SYSTEMD=no MALLOC=libc >"$out/build.log" 2>&1 ||
    { tail -20 "$out/build.log" >&2; exit 2; }
cp src/valkey-server "$out/valkey-server"
rm -rf "$out/tree"
"$out/valkey-server" --version
