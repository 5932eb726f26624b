#!/bin/sh
# tests/fresh-make-run.sh: `time make run` on a fresh Debian 12 as root: an
# mmdebstrap bookworm chroot with git, ca-certificates and make only (the
# figure in docs/figures.md). Needs mmdebstrap and the Debian mirror.
set -eu
R=/tmp/fresh-root
rm -rf $R
mmdebstrap --quiet --variant=apt --include=git,ca-certificates,make \
    --components=main bookworm $R "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
git clone -q "$(cd "$(dirname "$0")/.." && pwd)" $R/root/rift
mount -t proc proc $R/proc
mount --rbind /sys $R/sys
mount --rbind /dev $R/dev
mount -t tmpfs tmpfs $R/run
set +e
chroot $R /bin/bash -c 'cd /root/rift && time make run' > /tmp/fresh-make-run.out 2>&1
rc=$?
cat /tmp/fresh-make-run.out
umount -R $R/dev $R/sys $R/proc $R/run
rm -rf $R
exit $rc
