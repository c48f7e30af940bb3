#!/bin/sh
# Debian/Ubuntu packages that tests/support/vcsim.py needs to build the vCenter simulator:
# Go and govmomi 0.24's source (GOPATH layout under /usr/share/gocode). Safe to re-run:
# apt is only called for packages that are not installed yet.
set -eu

missing=""
for package in golang-go golang-github-vmware-govmomi-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing="$missing $package"
done

if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    # shellcheck disable=SC2086 # $missing is a space-separated package list
    $sudo apt-get install -y -q $missing
fi

go version
test -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator
