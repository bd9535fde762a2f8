#!/bin/sh
# make-base.sh - a local debian:bookworm-slim base image, made without a registry.
#
#   docker/make-base.sh CACHE_DIR
#
# Prints the path of a zstd-compressed root file system tarball for
# `podman import`. The tarball is made once with debootstrap (minbase) and
# trimmed the way the official slim image is trimmed (no docs, man pages,
# locales or apt caches, and dpkg/apt told to keep it that way), then kept in
# CACHE_DIR: later runs only print its path. Run as root (debootstrap).
set -eu

cache=${1:?usage: make-base.sh CACHE_DIR}
# Bump when the trimming below changes, so cached tarballs are remade.
tarball=$cache/debian-bookworm-slim-v1.tar.zst

if [ -s "$tarball" ]; then
    echo "$tarball"
    exit 0
fi

# The mirrors come from this machine's apt sources and nowhere else: the
# image is built, and later updated, from the archive the build host trusts.
# apt_uri SUITE prints the first URI serving SUITE (deb822 .sources files
# first, then one-line "deb URI SUITE ..." entries), or nothing.
apt_uri() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$1" '
            /^[ \t]*$/ { if (deb && uri != "" && has) { print uri; exit } deb = 0; uri = ""; has = 0; next }
            /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
            END { if (deb && uri != "" && has) print uri }' "$f" | head -n 1
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$1" '$1 == "deb" && $2 !~ /^\[/ && $3 == suite { print $2; exit }
                           $1 == "deb" && $2 ~ /^\[/ && $4 == suite { print $3; exit }' "$f"
    done
}
mirror=$(apt_uri bookworm | head -n 1)
security=$(apt_uri bookworm-security | head -n 1)
if [ -z "$mirror" ]; then
    echo "make-base: this machine's apt sources name no mirror for bookworm" >&2
    echo "make-base: (looked in /etc/apt/sources.list.d/*.sources, /etc/apt/sources.list, *.list)" >&2
    exit 1
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/make-base.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/rootfs

echo "make-base: debootstrap bookworm from $mirror (once; cached in $cache)" >&2
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    echo "make-base: debootstrap failed" >&2
    exit 1
fi

# dpkg and apt settings of the official image: later installs stay slim too.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
# Package scripts must not start services inside an image.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# Sources: the same mirrors, so apt inside the image uses what the build used.
rm -f "$root/etc/apt/sources.list"
{
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
        printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
} >"$root/etc/apt/sources.list.d/debian.sources"
[ -n "$security" ] || echo "make-base: no bookworm-security source on this machine; the image has none" >&2

# What the exclusions above would have kept out, and what the build left behind.
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root/usr/share/groff"/* "$root/usr/share/info"/* "$root/usr/share/linda"/* \
    "$root/usr/share/lintian"/* "$root/usr/share/locale"/* "$root/usr/share/man"/*
rm -rf "$root/var/cache/apt"/*.bin "$root/var/cache/apt/archives"/*.deb \
    "$root/var/lib/apt/lists"/* "$root/var/cache/debconf"/*-old "$root/var/lib/dpkg"/*-old \
    "$root/var/log"/*.log "$root/var/log/apt"/* "$root/tmp"/* "$root/root"/.bash_history
: >"$root/etc/resolv.conf"
: >"$root/etc/machine-id"
: >"$root/etc/hostname"

tar --numeric-owner --xattrs -C "$root" -cf - . | zstd -q -T0 -10 -o "$work/base.tar.zst"
mv "$work/base.tar.zst" "$tarball"
echo "make-base: $(du -h "$tarball" | cut -f1) in $tarball" >&2
echo "$tarball"
