#!/bin/sh
# Installs the real FTP peers used by the interoperability tests and the server benchmark,
# on Debian 12, as root. Idempotent: a second run only checks and exits quickly.
#
#   vsftpd, curl, lftp, python3-venv   apt packages (vsftpd is the one apt-installed FTP server)
#   nftables, iproute2                 `nft` and `ip` for the firewall/NAT scenarios (tools/netns)
#   /opt/ftp-venv                      venv with pyftpdlib + pyopenssl (TLS handler)
#   /opt/ftp-peers/root                pure-ftpd and proftpd unpacked with `dpkg -x`: they and
#                                      vsftpd all declare `Conflicts: ftp-server`, so apt can
#                                      install only one of them. Their shared libraries come
#                                      from apt.
#
# Environment: FTP_VENV (default /opt/ftp-venv), FTP_PEERS_DIR (default /opt/ftp-peers).
set -eu

VENV=${FTP_VENV:-/opt/ftp-venv}
PEERS=${FTP_PEERS_DIR:-/opt/ftp-peers}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root" >&2
    exit 1
fi

APT_PKGS="vsftpd curl lftp python3-venv ca-certificates openssl nftables iproute2 \
libsodium23 libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 \
libacl1 libcap2 libidn2-0 libssl3 libpam0g libcrypt1 zlib1g libncursesw6 libtinfo6"

missing=""
for p in $APT_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "install.sh: apt-get install$missing" >&2
    aptlog=$(mktemp)
    # Debian's policy-rc.d on container images refuses to start daemons; vsftpd is started
    # by the test tooling itself, never as a system service.
    # shellcheck disable=SC2086
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } \
            >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        exit 1
    fi
    rm -f "$aptlog"
fi

# pyftpdlib + pyopenssl in a private venv (a global pip install would upgrade the
# system's python3-cryptography).
if ! "$VENV/bin/python" -c 'import pyftpdlib, OpenSSL' >/dev/null 2>&1; then
    echo "install.sh: creating venv $VENV with pyftpdlib + pyopenssl" >&2
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check pyftpdlib pyopenssl
fi

# pure-ftpd and proftpd: fetched, not installed, unpacked into $PEERS/root.
need_unpack=0
[ -x "$PEERS/root/usr/sbin/pure-ftpd" ] || need_unpack=1
[ -x "$PEERS/root/usr/sbin/proftpd" ] || need_unpack=1
[ -f "$PEERS/root/usr/lib/proftpd/mod_tls.so" ] || need_unpack=1
if [ "$need_unpack" -eq 1 ]; then
    echo "install.sh: unpacking pure-ftpd and proftpd into $PEERS/root" >&2
    mkdir -p "$PEERS/debs" "$PEERS/root"
    [ -n "$missing" ] || apt-get update -qq >/dev/null 2>&1 || true
    (
        cd "$PEERS/debs"
        rm -f ./*.deb
        # `apt-get download` runs as the _apt user when possible; the folder must be writable.
        chmod 0777 "$PEERS/debs"
        apt-get download -qq pure-ftpd pure-ftpd-common proftpd-core proftpd-mod-crypto >/dev/null
        for d in ./*.deb; do dpkg -x "$d" "$PEERS/root"; done
        rm -f ./*.deb
    )
fi

# Report missing shared libraries (a partial apt state would otherwise fail at start-up).
for bin in "$PEERS/root/usr/sbin/pure-ftpd" "$PEERS/root/usr/sbin/proftpd"; do
    if ldd "$bin" 2>/dev/null | grep -q "not found"; then
        echo "install.sh: $bin misses libraries:" >&2
        ldd "$bin" | grep "not found" >&2
        exit 1
    fi
done

exit 0
