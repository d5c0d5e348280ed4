#!/usr/bin/env python3
"""Active vs passive FTP through real firewalls and real NAT, in Linux network namespaces.

Each scenario builds a small network (a client namespace, a router namespace running nftables,
a server namespace), starts the workspace's ``ftp-server`` example in the server namespace and
runs this workspace's ``ftp`` client, curl and Python's ftplib from the client namespace. Every
case states a prediction and prints one verdict line::

    NETNS <scenario> | <client and mode> | expect: <prediction> | observed: <what happened> | PASS

Scenarios (addresses are private to the namespaces; nothing leaves the machine):

  1a  client behind a firewall that drops inbound connections: active fails (client timeout),
      passive and extended passive work
  1b  the same firewall rejecting (TCP reset): the server answers 425 at once
  2a  server behind a firewall that opens the control port and a passive range, server
      configured with that range: PASV and EPSV work
  2b  the same firewall, server without a passive range: data connections are blocked; active
      mode (outbound from the server) still works
  3a  server behind NAT with port forwarding, no public address configured: 227 names the
      private address; clients that ignore it work, clients that trust it fail; EPSV works
  3b  the same with --passive-address: 227 names the public address; every client works
  4   client behind NAT without an FTP helper: PORT/EPRT carry the private address, the
      server refuses them (504); passive works
  5a  IPv6 across a router: EPSV and EPRT work
  5b  IPv6 client behind a firewall that drops inbound connections: EPRT fails, EPSV works

Usage (as root)::

    tools/netns/netns.py run --bin-dir target/debug/examples [--timeout 5] [--only 1a,3b]
    tools/netns/netns.py cleanup [--prefix PREFIX]     # remove leftover namespaces

``--bin-dir`` holds the ``ftp`` and ``ftp-server`` example binaries. Exit status of ``run``: 0
when every verdict matched its prediction, 1 when one did not, 2 on a usage or harness error,
77 when the machine cannot run the scenarios (not root, no ``ip``/``nft``/``curl``, no network
namespaces): the reason is printed as ``SKIP: ...`` on stderr.

Namespaces are named ``ftpnet-<pid>-<tag>-<scenario><role>``: ``<pid>`` is the process that owns
them (``--owner``, default this process). ``run`` removes its namespaces on exit, also on
errors and on SIGINT/SIGTERM/SIGHUP, and first removes leftovers whose owner no longer runs.

Standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

NS_PREFIX = "ftpnet-"
CONTROL_PORT = 2121
PASV_RANGE = (50000, 50019)
FILE_NAME = "netns.bin"
# 64 KiB of varied bytes: a transfer proves the data connection carried real data.
FILE_DATA = bytes((i * 7 + i // 251) % 256 for i in range(64 * 1024))
SERVER_START_TIMEOUT = 15.0
EXIT_SKIP = 77

ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------------------------------------
# small helpers


def sh(argv: Sequence[str], stdin: Optional[str] = None, check: bool = True,
       timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Runs a setup command; on failure raises with its stderr."""
    proc = subprocess.run(list(argv), input=stdin, text=True, capture_output=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_namespaces() -> List[str]:
    proc = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def delete_namespace(name: str) -> None:
    """Kills every process inside `name`, then deletes it (its veth ends go with it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in sh(["ip", "netns", "pids", name], check=False).stdout.split()
                if p.isdigit()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.02)
    sh(["ip", "netns", "del", name], check=False)


def cleanup(prefix: str) -> int:
    """Deletes every namespace whose name starts with `prefix`; returns how many."""
    names = [n for n in list_namespaces() if n.startswith(prefix)]
    for name in names:
        delete_namespace(name)
    return len(names)


def sweep_stale() -> None:
    """Deletes namespaces of earlier runs whose owning process is gone."""
    for name in list_namespaces():
        m = re.match(re.escape(NS_PREFIX) + r"(\d+)-", name)
        if m and not pid_alive(int(m.group(1))):
            print(f"netns: removing leftover namespace {name}", file=sys.stderr)
            delete_namespace(name)


def last_line(text: str) -> str:
    lines = [ANSI.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def short(text: str, width: int = 150) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------
# networks


class Net:
    """The namespaces of one scenario, removed by `close`."""

    def __init__(self, prefix: str, scenario: str):
        self.base = f"{prefix}{scenario}"
        self.names: List[str] = []

    def ns(self, role: str) -> str:
        name = f"{self.base}{role}"
        sh(["ip", "netns", "add", name])
        self.names.append(name)
        sh(["ip", "-n", name, "link", "set", "lo", "up"])
        # No duplicate address detection on the links created next: their IPv6 link-local
        # addresses (neighbour discovery's source) are usable at once.
        if os.path.isdir("/proc/sys/net/ipv6"):
            for scope in ("default", "all"):
                self.sysctl(name, f"net.ipv6.conf.{scope}.accept_dad", "0")
        return name

    @staticmethod
    def link(a: str, a_if: str, b: str, b_if: str) -> None:
        """A veth pair created directly inside the two namespaces (no name in the host's)."""
        sh(["ip", "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if,
            "netns", b])
        sh(["ip", "-n", a, "link", "set", a_if, "up"])
        sh(["ip", "-n", b, "link", "set", b_if, "up"])

    @staticmethod
    def addr(ns: str, dev: str, cidr: str) -> None:
        argv = ["ip", "-n", ns, "addr", "add", cidr, "dev", dev]
        if ":" in cidr:
            argv.append("nodad")  # usable at once, no duplicate address detection delay
        sh(argv)

    @staticmethod
    def route(ns: str, dest: str, via: str) -> None:
        sh(["ip", "-n", ns, "route", "add", dest, "via", via])

    @staticmethod
    def sysctl(ns: str, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        sh(["ip", "netns", "exec", ns, "sh", "-c", f'printf "%s" "$1" > {path}', "sh", value])

    @staticmethod
    def nft(ns: str, ruleset: str) -> None:
        sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=ruleset)

    def close(self) -> None:
        for name in reversed(self.names):
            delete_namespace(name)
        self.names.clear()


def three_hosts(net: Net, client_cidr: str, router_client_cidr: str, router_server_cidr: str,
                server_cidr: str, client_gw: Optional[str], server_gw: Optional[str]
                ) -> Tuple[str, str, str]:
    """client (eth0) -- (to-client) router (to-server) -- (eth0) server. A gateway of None
    leaves that host with its connected subnet only (it cannot reach the other side)."""
    c, r, s = net.ns("c"), net.ns("r"), net.ns("s")
    net.link(c, "eth0", r, "to-client")
    net.link(s, "eth0", r, "to-server")
    net.addr(c, "eth0", client_cidr)
    net.addr(r, "to-client", router_client_cidr)
    net.addr(r, "to-server", router_server_cidr)
    net.addr(s, "eth0", server_cidr)
    v6 = ":" in client_cidr
    if client_gw:
        net.route(c, "default", client_gw)
    if server_gw:
        net.route(s, "default", server_gw)
    net.sysctl(r, "net.ipv6.conf.all.forwarding" if v6 else "net.ipv4.ip_forward", "1")
    return c, r, s


# ---------------------------------------------------------------------------------------------
# the server


class Server:
    """The ftp-server example in a namespace, serving FILE_NAME anonymously."""

    def __init__(self, bin_dir: str, ns: str, listen: str, extra: Sequence[str], workdir: str):
        self.root = tempfile.mkdtemp(prefix="root-", dir=workdir)
        with open(os.path.join(self.root, FILE_NAME), "wb") as f:
            f.write(FILE_DATA)
        self.log_path = os.path.join(workdir, f"server-{ns}.log")
        self.log = open(self.log_path, "wb")
        argv = ["ip", "netns", "exec", ns, os.path.join(bin_dir, "ftp-server"),
                "--root", self.root, "--listen", listen, "--anonymous", "--log", "debug",
                *extra]
        env = dict(os.environ, NO_COLOR="1")
        env.pop("RUST_LOG", None)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            text = self.text()
            if "ftp-server: ready" in text:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ftp-server did not start in {ns}:\n{text}")
            time.sleep(0.02)

    def text(self) -> str:
        with open(self.log_path, "rb") as f:
            return ANSI.sub("", f.read().decode("utf-8", "replace"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# clients and predictions


@dataclass
class Expect:
    """A prediction: success (the file arrives intact), or a failure within `within` seconds
    whose message matches every pattern in `says` (case-insensitive) and whose exit status is
    in `exits` (when given)."""

    ok: bool
    text: str
    within: float = 0.0
    says: Tuple[str, ...] = ()
    exits: Tuple[int, ...] = ()


@dataclass
class Case:
    label: str
    argv: List[str]
    expect: Expect
    out: str
    # Instead of a download: a regex whose group 1 is the observed value, searched in stdout.
    probe: Optional[str] = None
    probe_expect: Optional[str] = None


@dataclass
class Result:
    case: Case
    passed: bool
    observed: str


@dataclass
class Ctx:
    bin_dir: str
    timeout: int
    workdir: str
    python: str
    script: str
    counter: List[int] = field(default_factory=lambda: [0])

    def out(self) -> str:
        self.counter[0] += 1
        return os.path.join(self.workdir, f"out-{self.counter[0]}")

    # The clients. `host` is an IP literal; `mode` selects the data connection.

    def own(self, ns: str, host: str, mode: str, label: str, expect: Expect) -> Case:
        out = self.out()
        url = f"ftp://{url_host(host)}:{CONTROL_PORT}/{FILE_NAME}"
        argv = ["ip", "netns", "exec", ns, os.path.join(self.bin_dir, "ftp"), "--mode", mode,
                "--timeout", str(self.timeout), "get", url, "-o", out]
        return Case(label, argv, expect, out)

    def curl(self, ns: str, host: str, opts: Sequence[str], label: str, expect: Expect) -> Case:
        out = self.out()
        url = f"ftp://{url_host(host)}:{CONTROL_PORT}/{FILE_NAME}"
        # -w: the last FTP reply code, appended to the observed message on failure.
        argv = ["ip", "netns", "exec", ns, "curl", "-sS", "-g",
                "--connect-timeout", str(self.timeout), "--max-time", str(self.timeout + 1),
                "-w", "curl-last-reply=%{response_code}\n", *opts, "-o", out, url]
        return Case(label, argv, expect, out)

    def ftplib(self, ns: str, host: str, mode: str, label: str, expect: Expect,
               trust_pasv_ip: bool = False) -> Case:
        out = self.out()
        argv = ["ip", "netns", "exec", ns, self.python, self.script, "ftplib", "--host", host,
                "--port", str(CONTROL_PORT), "--mode", mode, "--timeout", str(self.timeout),
                "--file", FILE_NAME, "--out", out]
        if trust_pasv_ip:
            argv.append("--trust-pasv-ip")
        return Case(label, argv, expect, out)

    def pasv_reply(self, ns: str, host: str, label: str, want: str) -> Case:
        argv = ["ip", "netns", "exec", ns, self.python, self.script, "ftplib", "--host", host,
                "--port", str(CONTROL_PORT), "--timeout", str(self.timeout), "--pasv-reply"]
        return Case(label, argv, Expect(True, f"227 names {want}"), "",
                    probe=r"^227 .*?(\d+,\d+,\d+,\d+),\d+,\d+.*$", probe_expect=want)

    # Predictions.

    def works(self) -> Expect:
        return Expect(True, "works")

    def fails(self, why: str, *says: str, exits: Tuple[int, ...] = (), waits: int = 1) -> Expect:
        """A failure within `waits` client timeouts plus 2 s of slack."""
        within = waits * self.timeout + 2.0
        return Expect(False, f"fails <= {within:.0f}s: {why}", within, says, exits)


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run_case(case: Case, hard_limit: float) -> Result:
    start = time.monotonic()
    try:
        proc = subprocess.run(case.argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=hard_limit)
        elapsed = time.monotonic() - start
    except subprocess.TimeoutExpired:
        return Result(case, False, f"still running after {hard_limit:.0f}s: killed (a hang)")
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    expect = case.expect

    if case.probe is not None:
        if proc.returncode != 0:
            return Result(case, False, f"exit {proc.returncode}: {short(last_line(stderr))}")
        m = re.search(case.probe, stdout, re.M)
        if not m:
            return Result(case, False, f"no match in {short(last_line(stdout))!r}")
        value = m.group(1).replace(",", ".")
        return Result(case, value == case.probe_expect, short(m.group(0).strip(), 60))

    if proc.returncode == 0:
        try:
            with open(case.out, "rb") as f:
                got = f.read()
        except OSError:
            got = b""
        intact = got == FILE_DATA
        observed = (f"ok, {len(got)} bytes in {elapsed:.1f}s" if intact else
                    f"exit 0 but {len(got)} of {len(FILE_DATA)} bytes, content differs")
        return Result(case, expect.ok and intact, observed)

    message = last_line(stderr) or "(no message)"
    m = re.search(r"curl-last-reply=(\d+)", stdout)
    if m:
        message += f" (last reply {m.group(1)})"
    observed = f"exit {proc.returncode} after {elapsed:.1f}s: {short(message)}"
    if expect.ok:
        return Result(case, False, observed)
    problems = []
    if elapsed > expect.within:
        problems.append(f"took {elapsed:.1f}s > {expect.within:.0f}s")
    if expect.exits and proc.returncode not in expect.exits:
        problems.append(f"exit status not in {list(expect.exits)}")
    for pattern in expect.says:
        if not re.search(pattern, message, re.I):
            problems.append(f"message lacks /{pattern}/")
    if problems:
        observed += " [" + "; ".join(problems) + "]"
    return Result(case, not problems, observed)


# ---------------------------------------------------------------------------------------------
# scenarios

def forward_filter(rules: str) -> str:
    """An nftables forward chain on the router: replies to allowed connections pass, then
    `rules` (one per line) decide about new connections; whatever they leave passes."""
    body = "".join(f"    {line}\n" for line in rules.strip().splitlines())
    return ("table inet fw {\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0; policy accept;\n"
            "    ct state established,related accept\n"
            f"{body}"
            "  }\n"
            "}\n")


def client_firewall(action: str) -> str:
    """A firewall in front of the client: nothing may open a connection towards it."""
    return forward_filter(f'iifname "to-server" oifname "to-client" ct state new {action}')


def server_firewall(open_ports: str) -> str:
    """A firewall in front of the server: only `open_ports` may be connected to."""
    return forward_filter(f"""
iifname "to-client" oifname "to-server" tcp dport {{ {open_ports} }} ct state new accept
iifname "to-client" oifname "to-server" ct state new drop
""")


@dataclass
class Scenario:
    key: str
    title: str
    build: Callable[["Ctx", Net], Tuple[Server, List[Case], Optional[Callable[[Server], Result]]]]


def passive_cases(ctx: Ctx, c: str, host: str) -> List[Case]:
    """Passive transfers that a scenario predicts work: every client, every passive mode."""
    w = ctx.works
    return [
        ctx.own(c, host, "epsv", "ftp --mode epsv", w()),
        ctx.own(c, host, "pasv", "ftp --mode pasv", w()),
        ctx.own(c, host, "auto", "ftp --mode auto", w()),
        ctx.curl(c, host, [], "curl (EPSV)", w()),
        ctx.curl(c, host, ["--disable-epsv"], "curl --disable-epsv (PASV)", w()),
        ctx.ftplib(c, host, "pasv", "ftplib passive", w()),
    ]


def s1(action: str):
    def build(ctx: Ctx, net: Net):
        c, r, s = three_hosts(net, "10.1.1.2/24", "10.1.1.1/24", "10.1.2.1/24", "10.1.2.2/24",
                              "10.1.1.1", "10.1.2.1")
        net.nft(r, client_firewall(action))
        server = Server(ctx.bin_dir, s, f"10.1.2.2:{CONTROL_PORT}", [], ctx.workdir)
        host = "10.1.2.2"
        if action == "drop":
            # The server's SYNs vanish: the client gives up after its timeout. The server would
            # answer 425 only after its own data timeout (60 s by default).
            cases = [
                ctx.own(c, host, "active", "ftp --mode active (PORT)",
                        ctx.fails("client timeout naming the data connection",
                                  "data connection", exits=(3,))),
                ctx.curl(c, host, ["-P", "-"], "curl -P - (EPRT)",
                         ctx.fails("curl timeout (28)", exits=(28,))),
                ctx.curl(c, host, ["-P", "-", "--disable-eprt"], "curl -P - --disable-eprt (PORT)",
                         ctx.fails("curl timeout (28)", exits=(28,))),
                ctx.ftplib(c, host, "active", "ftplib active (PORT)",
                           ctx.fails("timeout", "timed out")),
            ]
        else:
            # The firewall answers the server's SYN with a reset: the server gives up at once.
            cases = [
                ctx.own(c, host, "active", "ftp --mode active (PORT)",
                        ctx.fails("server answers 425", r"^ftp: .*425", exits=(4,))),
                ctx.curl(c, host, ["-P", "-"], "curl -P - (EPRT)",
                         ctx.fails("server answers 425", "last reply 425", exits=(10,))),
                # ftplib waits in accept() after the 150 and reads the 425 only afterwards.
                ctx.ftplib(c, host, "active", "ftplib active (PORT)",
                           ctx.fails("ftplib's accept() times out", "timed out")),
            ]
        return server, cases + passive_cases(ctx, c, host), None
    return build


def s2(with_range: bool):
    def build(ctx: Ctx, net: Net):
        c, r, s = three_hosts(net, "10.2.1.2/24", "10.2.1.1/24", "10.2.2.1/24", "10.2.2.2/24",
                              "10.2.1.1", "10.2.2.1")
        lo, hi = PASV_RANGE
        net.nft(r, server_firewall(f"{CONTROL_PORT}, {lo}-{hi}"))
        # Ports the kernel picks on its own stay out of the firewall's passive window.
        net.sysctl(s, "net.ipv4.ip_local_port_range", "40000 49999")
        extra = ["--passive-ports", f"{lo}-{hi}"] if with_range else []
        server = Server(ctx.bin_dir, s, f"10.2.2.2:{CONTROL_PORT}", extra, ctx.workdir)
        host = "10.2.2.2"
        if with_range:
            cases = passive_cases(ctx, c, host)
        else:
            blocked = "blocked data connection, named"
            cases = [
                ctx.own(c, host, "epsv", "ftp --mode epsv",
                        ctx.fails(blocked, "data connection", "10\\.2\\.2\\.2:4\\d{4}")),
                ctx.own(c, host, "pasv", "ftp --mode pasv",
                        ctx.fails(blocked, "data connection", "10\\.2\\.2\\.2:4\\d{4}")),
                ctx.own(c, host, "auto", "ftp --mode auto (EPSV, then PASV)",
                        ctx.fails(blocked, "data connection", "10\\.2\\.2\\.2:4\\d{4}",
                                  waits=2)),
                ctx.curl(c, host, [], "curl (EPSV)",
                         ctx.fails("curl connect timeout (28)", exits=(28,))),
                ctx.ftplib(c, host, "pasv", "ftplib passive",
                           ctx.fails("timeout", "timed out")),
                # The server opens the connection outwards: its firewall lets it through.
                ctx.own(c, host, "active", "ftp --mode active (PORT)", ctx.works()),
            ]
        return server, cases, None
    return build


def s3(public_address: bool):
    def build(ctx: Ctx, net: Net):
        # The client sits on the public side and has no route into the private network.
        c, r, s = three_hosts(net, "203.0.113.2/24", "203.0.113.1/24", "10.3.2.1/24",
                              "10.3.2.2/24", None, "10.3.2.1")
        lo, hi = PASV_RANGE
        net.nft(r, f"""
table ip nat {{
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "to-client" tcp dport {{ {CONTROL_PORT}, {lo}-{hi} }} dnat to 10.3.2.2
  }}
}}
table inet fw {{
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct status dnat accept
    iifname "to-server" accept
  }}
}}
""")
        extra = ["--passive-ports", f"{lo}-{hi}"]
        if public_address:
            extra += ["--passive-address", "203.0.113.1"]
        server = Server(ctx.bin_dir, s, f"10.3.2.2:{CONTROL_PORT}", extra, ctx.workdir)
        host = "203.0.113.1"
        w = ctx.works
        if public_address:
            trusting = [
                ctx.ftplib(c, host, "pasv", "ftplib trusting the 227 address", w(),
                           trust_pasv_ip=True),
                ctx.curl(c, host, ["--disable-epsv", "--no-ftp-skip-pasv-ip"],
                         "curl --disable-epsv --no-ftp-skip-pasv-ip", w()),
            ]
            probe = ctx.pasv_reply(c, host, "PASV reply (ftplib)", "203.0.113.1")
        else:
            unreachable = "connects to the private 227 address: unreachable"
            trusting = [
                ctx.ftplib(c, host, "pasv", "ftplib trusting the 227 address",
                           ctx.fails(unreachable, "unreachable", r"\(10,3,2,2,"),
                           trust_pasv_ip=True),
                ctx.curl(c, host, ["--disable-epsv", "--no-ftp-skip-pasv-ip"],
                         "curl --disable-epsv --no-ftp-skip-pasv-ip",
                         ctx.fails(unreachable + " (7)", exits=(7,))),
            ]
            probe = ctx.pasv_reply(c, host, "PASV reply (ftplib)", "10.3.2.2")
        # passive_cases: ftp (NAT workaround by default), curl (ignores the 227 address by
        # default), ftplib (ignores it by default), and EPSV, which names no address at all.
        return server, [probe] + passive_cases(ctx, c, host) + trusting, None
    return build


def s4(ctx: Ctx, net: Net):
    c, r, s = three_hosts(net, "10.4.1.2/24", "10.4.1.1/24", "198.51.100.1/24",
                          "198.51.100.2/24", "10.4.1.1", None)
    # Masquerade, and no FTP helper (`ct helper`): PORT/EPRT arguments pass unchanged.
    net.nft(r, """
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "to-server" masquerade
  }
}
""")
    server = Server(ctx.bin_dir, s, f"198.51.100.2:{CONTROL_PORT}", [], ctx.workdir)
    host = "198.51.100.2"
    refused = "server refuses the private address (504)"
    cases = [
        ctx.own(c, host, "active", "ftp --mode active (PORT)",
                ctx.fails(refused, r"^ftp: .*504", exits=(5,))),
        ctx.curl(c, host, ["-P", "-"], "curl -P - (EPRT, then PORT)",
                 ctx.fails(refused, "last reply 504", exits=(30,))),
        ctx.ftplib(c, host, "active", "ftplib active (PORT)", ctx.fails(refused, "504")),
    ] + passive_cases(ctx, c, host)

    def port_check(server: Server) -> Result:
        ports = re.findall(r"-> (PORT \S+|EPRT \S+)", server.text())
        private = [p for p in ports if "10,4,1,2" in p or "|10.4.1.2|" in p]
        peers = set(re.findall(r"peer=([\d.]+):\d+", server.text()))
        case = Case("server log", [],
                    Expect(True, "PORT/EPRT name 10.4.1.2, peer is the router"), "")
        ok = bool(ports) and len(private) == len(ports) and peers == {"198.51.100.1"}
        # PORT h1,h2,h3,h4,p1,p2 / EPRT |1|addr|port|: the address part, once per kind.
        seen = ", ".join(sorted({",".join(p.split(",")[:4]) + ",..." if p.startswith("PORT")
                                 else "|".join(p.split("|")[:3]) + "|..." for p in ports}))
        return Result(case, ok, f"{len(private)}/{len(ports)} private ({seen}); peers "
                      f"{', '.join(sorted(peers)) or 'none'}")
    return server, cases, port_check


def s5(firewall: bool):
    def build(ctx: Ctx, net: Net):
        c, r, s = three_hosts(net, "fd00:5:1::2/64", "fd00:5:1::1/64", "fd00:5:2::1/64",
                              "fd00:5:2::2/64", "fd00:5:1::1", "fd00:5:2::1")
        if firewall:
            net.nft(r, client_firewall("drop"))
        server = Server(ctx.bin_dir, s, f"[fd00:5:2::2]:{CONTROL_PORT}", [], ctx.workdir)
        host = "fd00:5:2::2"
        w = ctx.works
        if firewall:
            active = [
                ctx.own(c, host, "active", "ftp --mode active (EPRT)",
                        ctx.fails("client timeout naming the data connection",
                                  "data connection", exits=(3,))),
                ctx.curl(c, host, ["-P", "-"], "curl -P - (EPRT)",
                         ctx.fails("curl timeout (28)", exits=(28,))),
            ]
        else:
            active = [
                ctx.own(c, host, "active", "ftp --mode active (EPRT)", w()),
                ctx.curl(c, host, ["-P", "-"], "curl -P - (EPRT)", w()),
                ctx.ftplib(c, host, "active", "ftplib active (EPRT)", w()),
            ]
        passive = [
            ctx.own(c, host, "epsv", "ftp --mode epsv", w()),
            ctx.own(c, host, "auto", "ftp --mode auto", w()),
            ctx.curl(c, host, [], "curl (EPSV)", w()),
            ctx.ftplib(c, host, "pasv", "ftplib passive (EPSV)", w()),
        ]
        return server, active + passive, None
    return build


SCENARIOS = [
    Scenario("1a", "client behind firewall (drop)", s1("drop")),
    Scenario("1b", "client behind firewall (reset)", s1("reject with tcp reset")),
    Scenario("2a", "server firewall, range set", s2(True)),
    Scenario("2b", "server firewall, no range", s2(False)),
    Scenario("3a", "server NAT, no public addr", s3(False)),
    Scenario("3b", "server NAT, --passive-address", s3(True)),
    Scenario("4", "client NAT, no FTP helper", s4),
    Scenario("5a", "IPv6 across a router", s5(False)),
    Scenario("5b", "IPv6 client firewall (drop)", s5(True)),
]


# ---------------------------------------------------------------------------------------------
# run


def preflight() -> Tuple[Optional[str], Optional[str]]:
    """Why the scenarios cannot run here (or None), and why the IPv6 ones cannot (or None)."""
    if os.geteuid() != 0:
        return "network namespaces need root", None
    for tool in ("ip", "nft", "curl"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (tools/peers/install.sh installs it)", None
    probe = f"{NS_PREFIX}{os.getpid()}-probe"
    try:
        sh(["ip", "netns", "add", probe])
        sh(["ip", "-n", probe, "link", "set", "lo", "up"])
        sh(["ip", "netns", "exec", probe, "nft", "-f", "-"], stdin=forward_filter(""))
        lo = sh(["ip", "-n", probe, "-6", "addr", "show", "dev", "lo"], check=False).stdout
        no_ipv6 = None if "::1/128" in lo else "no IPv6 in network namespaces"
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return f"cannot create a network namespace with nftables: {e}", None
    finally:
        delete_namespace(probe)
    return None, no_ipv6


class Table:
    """Prints verdict lines with aligned columns, as each scenario finishes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def line(self, scenario: str, label: str, expect: str, observed: str, verdict: str) -> None:
        with self.lock:
            print(f"NETNS {scenario:<36} | {label:<42} | expect: {expect:<58} | "
                  f"observed: {observed} | {verdict}", flush=True)


def run_scenario(ctx: Ctx, prefix: str, sc: Scenario, table: Table) -> Tuple[int, int]:
    """Builds the scenario's network, runs its cases in parallel, prints the verdicts.
    Returns (passed, failed)."""
    name = f"{sc.key} {sc.title}"
    net = Net(prefix, sc.key)
    server: Optional[Server] = None
    try:
        try:
            server, cases, post = sc.build(ctx, net)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            if server is not None:
                server.stop()
            table.line(name, "network and server setup", "ready", short(str(e), 300), "FAIL")
            return 0, 1
        hard_limit = 3 * ctx.timeout + 15
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as pool:
            results = list(pool.map(lambda case: run_case(case, hard_limit), cases))
        if post is not None:
            results.append(post(server))
        failed = 0
        for res in results:
            verdict = "PASS" if res.passed else "FAIL"
            failed += not res.passed
            table.line(name, res.case.label, res.case.expect.text, res.observed, verdict)
        if failed:
            print(f"--- ftp-server log of scenario {sc.key} (last 40 lines) ---", file=sys.stderr)
            print("\n".join(server.text().splitlines()[-40:]), file=sys.stderr)
        return len(results) - failed, failed
    finally:
        if server is not None:
            server.stop()
        net.close()


def cmd_run(args: argparse.Namespace) -> int:
    for binary in ("ftp", "ftp-server"):
        path = os.path.join(args.bin_dir, binary)
        if not os.access(path, os.X_OK):
            print(f"netns: {path} is missing (cargo build -p examples --examples)",
                  file=sys.stderr)
            return 2
    why, v6_missing = preflight()
    if why is not None:
        print(f"SKIP: FTP firewall/NAT scenarios: {why}", file=sys.stderr)
        return EXIT_SKIP
    sweep_stale()

    owner = args.owner or os.getpid()
    prefix = f"{NS_PREFIX}{owner}-{args.tag or secrets.token_hex(3)}-"
    selected = [s for s in SCENARIOS if not args.only or s.key in args.only.split(",")]

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    workdir = tempfile.mkdtemp(prefix="ftp-netns-")
    ctx = Ctx(os.path.abspath(args.bin_dir), args.timeout, workdir, sys.executable,
              os.path.abspath(__file__))
    table = Table()
    started = time.monotonic()
    passed = failed = 0
    try:
        print(f"netns: namespaces {prefix}*, client timeout {args.timeout}s", flush=True)
        for sc in selected:
            if sc.key.startswith("5") and v6_missing:
                table.line(f"{sc.key} {sc.title}", "-", "-", v6_missing, "SKIP")
                continue
            p, f = run_scenario(ctx, prefix, sc, table)
            passed += p
            failed += f
    finally:
        cleanup(prefix)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"netns: {passed} verdicts as predicted, {failed} not, in "
          f"{time.monotonic() - started:.1f}s", flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# the ftplib reference client (runs inside the client namespace)


def cmd_ftplib(args: argparse.Namespace) -> int:
    import ftplib

    class Recording(ftplib.FTP):
        """Remembers the last reply, shown with an error."""

        last = ""

        def getresp(self):
            self.last = ""
            resp = super().getresp()
            self.last = resp
            return resp

    ftp = Recording(timeout=args.timeout)
    # True: connect to the address a 227 reply names, as clients did before the NAT
    # workaround (and as ftplib did before Python 3.6.15 / 3.7.12 / 3.8.12 / 3.9.5).
    ftp.trust_server_pasv_ipv4_address = args.trust_pasv_ip
    try:
        ftp.connect(args.host, args.port)
        ftp.login()
        if args.pasv_reply:
            print(ftp.sendcmd("PASV"))
        else:
            ftp.set_pasv(args.mode == "pasv")
            with open(args.out, "wb") as f:
                ftp.retrbinary(f"RETR {args.file}", f.write)
        ftp.quit()
    except (OSError, EOFError, ftplib.Error) as e:
        after = f" (after {ftp.last})" if ftp.last else ""
        print(f"ftplib: {type(e).__name__}: {e}{after}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the networks and run every scenario")
    run.add_argument("--bin-dir", required=True, help="folder with the ftp and ftp-server binaries")
    run.add_argument("--timeout", type=int, default=5, help="client timeout in seconds (5)")
    run.add_argument("--only", help="comma-separated scenario keys, e.g. 1a,3b")
    run.add_argument("--owner", type=int, help="the pid that owns the namespaces (default: own)")
    run.add_argument("--tag", help="namespace name tag (default: random)")
    clean = sub.add_parser("cleanup", help="delete namespaces left by earlier runs")
    clean.add_argument("--prefix", help="delete these (default: those whose owner is gone)")
    fl = sub.add_parser("ftplib", help="(internal) the ftplib reference client")
    fl.add_argument("--host", required=True)
    fl.add_argument("--port", type=int, required=True)
    fl.add_argument("--mode", choices=("pasv", "active"), default="pasv")
    fl.add_argument("--timeout", type=float, default=5)
    fl.add_argument("--file")
    fl.add_argument("--out")
    fl.add_argument("--trust-pasv-ip", action="store_true")
    fl.add_argument("--pasv-reply", action="store_true", help="print the reply to PASV")
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "cleanup":
        if args.prefix:
            if not args.prefix.startswith(NS_PREFIX):
                print(f"netns: --prefix must start with {NS_PREFIX}", file=sys.stderr)
                return 2
            cleanup(args.prefix)
        else:
            sweep_stale()
        return 0
    return cmd_ftplib(args)


if __name__ == "__main__":
    sys.exit(main())
