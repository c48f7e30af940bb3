"""Build (once, cached) and run govmomi's vCenter simulator for integration tests.

The simulator comes from Debian's govmomi source (`golang-github-vmware-govmomi-dev`, 0.24)
compiled with Debian's Go, so CI needs two apt packages and no network access to Go module
proxies. The binary is cached per hash of `vcsim/main.go`; each run gets a fresh CA and a
server certificate for 127.0.0.1, so tests exercise verified TLS like production does.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.tls import issue_loopback_pki

MAIN_GO = Path(__file__).with_name("vcsim") / "main.go"
GOPATH = Path("/usr/share/gocode")
GOVMOMI_SIMULATOR = GOPATH / "src/github.com/vmware/govmomi/simulator"
APT_HINT = (
    "vcsim is built from Debian's packages golang-go and golang-github-vmware-govmomi-dev: "
    "run scripts/install-test-deps.sh (or `sudo apt-get install -y golang-go "
    "golang-github-vmware-govmomi-dev`)."
)
READY_TIMEOUT_SECONDS = 30.0


class VcsimUnavailable(RuntimeError):
    """The simulator cannot be built or started here; the message says how to fix it."""


@dataclass(frozen=True)
class VcsimInstance:
    """A running simulator: SDK URL, the one accepted login, and the CA its cert chains to."""

    url: str
    username: str
    password: str = field(repr=False)
    ca_pem_path: str
    process: subprocess.Popen[bytes] = field(repr=False)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reprotect-bot"


INSTALL_SCRIPT = Path(__file__).parents[2] / "scripts" / "install-test-deps.sh"


def _provision() -> None:
    """Install Go and govmomi from Debian when they are missing and we may (root with apt).

    This keeps the README's single test command working on a fresh machine; elsewhere the
    build below fails with the apt hint instead.
    """
    if shutil.which("go") and GOVMOMI_SIMULATOR.is_dir():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    subprocess.run(["sh", str(INSTALL_SCRIPT)], check=False, capture_output=True, timeout=900)


def build_vcsim() -> Path:
    """Compile main.go unless a binary for its current content is cached; return its path."""
    digest = hashlib.sha256(MAIN_GO.read_bytes()).hexdigest()[:16]
    binary = cache_dir() / f"vcsim-{digest}" / "vcsim"
    if binary.exists():
        return binary

    _provision()
    go = shutil.which("go")
    if go is None:
        raise VcsimUnavailable(f"`go` is not on PATH, so vcsim cannot be built. {APT_HINT}")
    if not GOVMOMI_SIMULATOR.is_dir():
        raise VcsimUnavailable(f"govmomi's source is missing at {GOVMOMI_SIMULATOR}. {APT_HINT}")

    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"vcsim.{os.getpid()}.partial")
    env = os.environ | {
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": os.environ.get("GOCACHE") or str(cache_dir() / "go-build"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",  # static binary; no C compiler needed in CI
    }
    result = subprocess.run(
        [go, "build", "-o", str(partial), "."],
        cwd=MAIN_GO.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise VcsimUnavailable(
            f"`go build` of {MAIN_GO} failed (exit {result.returncode}):\n{result.stderr}\n"
            f"It needs Debian's Go and govmomi 0.24 source. {APT_HINT}"
        )
    partial.replace(binary)  # atomic: concurrent builders never run a half-written binary
    return binary


@contextmanager
def start_vcsim(
    *,
    vms: int = 2,
    username: str = "vcsim-admin@vsphere.local",
    password: str = "vcsim-Secret-1",
    port: int = 0,
    esxi_versions: Mapping[str, str] | None = None,
) -> Iterator[VcsimInstance]:
    """Run the simulator until the block exits.

    Inventory: datacenter DC0 with standalone host DC0_H0 and cluster DC0_C0 (hosts
    DC0_C0_H0, DC0_C0_H1); `vms` powered-off VMs on DC0_H0 (DC0_H0_VM<i>) and as many in
    the cluster (DC0_C0_RP0_VM<i>); datastores LocalDS_0 (VMFS) and LocalDS_1 (vsan) on
    every host. Only `username`/`password` may log in. `esxi_versions` makes hosts (by
    name) report another ESXi version, which the vSphere API cannot change.
    """
    binary = build_vcsim()
    with tempfile.TemporaryDirectory(prefix="vcsim-") as tmp:
        pki = issue_loopback_pki(Path(tmp))
        ca, cert, key = pki.ca_path, pki.cert_path, pki.key_path
        log_path = Path(tmp) / "vcsim.log"
        with log_path.open("wb") as log:
            # stdin stays open for the simulator's lifetime: if this process dies without
            # the `finally` below, the pipe closes and `-watch-stdin` stops the simulator.
            args = {
                "port": port,
                "cert": cert,
                "key": key,
                "vms": vms,
                "username": username,
                "password": password,
                "esxi-version": ",".join(f"{h}={v}" for h, v in (esxi_versions or {}).items()),
            }
            process = subprocess.Popen(
                [str(binary), "-watch-stdin", *(f"-{k}={v}" for k, v in args.items())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
            try:
                url = _wait_ready(process, log_path)
                yield VcsimInstance(url, username, password, str(ca), process)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                for pipe in (process.stdin, process.stdout):
                    if pipe is not None:
                        pipe.close()


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The URL from the simulator's one JSON line, printed once it accepts connections."""
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                line = process.stdout.readline()
                if line:
                    return str(json.loads(line)["url"])
                break  # EOF: the process exited
    raise VcsimUnavailable(
        f"vcsim did not report ready within {READY_TIMEOUT_SECONDS:.0f}s "
        f"(exit code {process.poll()}). Its log:\n{log_path.read_text(errors='replace')}"
    )
