#!/bin/sh
# fetch-suite.sh SUITE OUT PACKAGE...: download PACKAGEs of Debian suite SUITE
# (trixie, sid, bookworm-backports, ...) and every package they depend on,
# the suite's own C library included, into OUT/debs, and unpack them into
# OUT/root; =PACKAGE downloads that package alone (pure Python, say). apt's own download, from the mirror this machine's apt sources
# already use with the suite changed: no host name is written here, nothing
# is installed into the system. OUT/versions lists "package version".
#
# fetch-suite.sh --source SUITE OUT SRCPACKAGE: the source package's
# upstream tarball into OUT (for a rebuild: see build-valkey-1912.sh).
set -eu
source=
if [ "${1:-}" = --source ]; then
    source=1
    shift
fi
suite=$1
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2
case "$suite" in
*[!a-z0-9-]* | "") echo "fetch-suite: bad suite name '$suite'" >&2; exit 2 ;;
esac
mkdir -p "$out/debs" "$out/root" "$out/apt/lists/partial" "$out/apt/cache/archives/partial" \
    "$out/apt/parts"

# The first Debian mirror of the configured sources (deb822 or one-line).
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    echo "fetch-suite: no Debian mirror found in /etc/apt/sources.list(.d)" >&2
    exit 2
fi
# a backports suite needs its base suite for what it depends on
base=${suite%-backports}
kind=deb
[ -z "$source" ] || kind=deb-src
{
    echo "$kind [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main"
    [ "$base" = "$suite" ] || echo "$kind [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $base main"
} > "$out/apt/sources.list"
# apt sees the suite alone: an empty dpkg status, so that every dependency
# is resolved in the suite, not taken from this machine
: > "$out/apt/status"
opts="-o Dir::Etc::SourceList=$out/apt/sources.list -o Dir::Etc::SourceParts=$out/apt/parts \
 -o Dir::State::Lists=$out/apt/lists -o Dir::Cache=$out/apt/cache \
 -o Dir::State::Status=$out/apt/status -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root \
 -o APT::Default-Release=$suite"
# shellcheck disable=SC2086
apt-get $opts -qq update
if [ -n "$source" ]; then
    # the upstream tarball is what a rebuild needs; the Debian revision's
    # own files may have moved on in the archive (a 404 there is fine)
    cd "$out"
    # shellcheck disable=SC2086
    apt-get $opts -qq source --download-only "$1/$suite" 2>/dev/null || true
    ls "$out"/"$1"_*.orig.tar.* >/dev/null 2>&1 || { echo "fetch-suite: no source of $1 in $suite" >&2; exit 2; }
    exit 0
fi
# the closure: what the packages depend on (pre-depends included), as the
# suite resolves it; virtual packages have no .deb and are skipped
# shellcheck disable=SC2086
deps="" alone="" wanted=""
for p in "$@"; do
    case "$p" in
    =*) alone="$alone ${p#=}"; wanted="$wanted ${p#=}" ;;
    *) deps="$deps $p"; wanted="$wanted $p" ;;
    esac
done
closure=""
if [ -n "$deps" ]; then
    # shellcheck disable=SC2086
    closure=$(apt-cache $opts depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $deps | awk '/^[a-z0-9]/ {print $1}')
fi
all=$(printf '%s\n' $closure $alone | sort -u)
# the names with a candidate version (a virtual package has none)
# shellcheck disable=SC2086
real=$(apt-cache $opts policy $all | awk '/^[a-z0-9]/ {p = $1; sub(":$", "", p)}
    /Candidate:/ && $2 != "(none)" {print p}')
for want in $wanted; do
    echo "$real" | grep -qx "$want" || { echo "fetch-suite: $suite has no $want" >&2; exit 2; }
done
cd "$out/debs"
# shellcheck disable=SC2086
bytes=$(apt-get $opts -qq --print-uris download $real | awk '{s += $3} END {print s + 0}')
echo "fetch-suite: $suite: downloading $(echo "$real" | wc -w) packages, $((bytes / 1048576)) MiB"
# shellcheck disable=SC2086
apt-get $opts -qq download $real
: > "$out/versions"
for d in "$out"/debs/*.deb; do
    dpkg -x "$d" "$out/root"
    echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version)" >> "$out/versions"
done
echo "fetch-suite: $suite: $(ls "$out"/debs | wc -l) packages unpacked"
