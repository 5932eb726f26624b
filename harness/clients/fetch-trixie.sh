#!/bin/sh
# fetch-trixie.sh OUT PACKAGE...: download Debian trixie packages into OUT/debs
# and unpack them into OUT/root, with apt's own download, from the mirror
# this machine's apt sources already use (the suite changed to trixie). No
# host name is written here; nothing is installed into the system.
set -eu
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
mkdir -p "$out/debs" "$out/root" "$out/apt/lists/partial" "$out/apt/cache/archives/partial" \
    "$out/apt/parts"

# The first Debian mirror of the configured sources (deb822 or one-line).
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    echo "fetch-trixie: no Debian mirror found in /etc/apt/sources.list(.d)" >&2
    exit 2
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
    > "$out/apt/sources.list"
opts="-o Dir::Etc::SourceList=$out/apt/sources.list -o Dir::Etc::SourceParts=$out/apt/parts \
 -o Dir::State::Lists=$out/apt/lists -o Dir::Cache=$out/apt/cache \
 -o Dir::State::Status=/var/lib/dpkg/status -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $opts -qq update
cd "$out/debs"
for p in "$@"; do
    # shellcheck disable=SC2086
    apt-get $opts -qq download "$p/trixie"
done
for d in "$out"/debs/*.deb; do
    dpkg -x "$d" "$out/root"
done
ls "$out/debs"
