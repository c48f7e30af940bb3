#!/bin/sh
# Debian/Ubuntu packages the test suite needs: Go and govmomi 0.24's source (GOPATH layout
# under /usr/share/gocode) to build VMware's vCenter simulator (tests/support/vcsim.py), and
# PostgreSQL for the multi-replica tests (tests/support/postgres.py). Safe to re-run: apt is
# only called for packages that are not installed yet.
set -eu

missing=""
for package in golang-go golang-github-vmware-govmomi-dev postgresql; do
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
ls /usr/lib/postgresql/*/bin/initdb
