#!/usr/bin/env python3
"""Compare FTP servers with the same clients, in one run, alternating between servers.

Figures (medians over rounds, with min-max):
  (a) RETR MB/s of a large file  - curl -s -o /dev/null ftp://...; wall clock and curl's own
  (b) STOR MB/s of the same file - curl -s -T FILE ftp://...;      speed_download/speed_upload
  (c) login+PASV+LIST+QUIT sessions/s, sequential and with concurrent clients (a raw-socket
      epoll FTP client, spread over worker processes)
  (d) peak RSS summed over the server's processes while many clients are logged in and idle

Servers: `ours` (target/release/examples/ftp-server, built first), vsftpd, pyftpdlib,
optionally pureftpd and proftpd (`--servers`). The peers are started by tools/peers/peers.py;
run tools/peers/install.sh first. Needs root (vsftpd, pure-ftpd and ProFTPD switch to a
system user after login). All traffic is on 127.0.0.1; every server started is stopped on
exit, Ctrl-C or error.

    sudo python3 benches/server_bench.py --quick
    sudo python3 benches/server_bench.py --servers ours,vsftpd,pyftpdlib,pureftpd,proftpd
    sudo python3 benches/server_bench.py --tls --servers ours,vsftpd   # FTPS, PROT P

With --tls every server requires TLS for logins and data (PROT P) with a certificate made for
the run, vsftpd and ProFTPD also require data connections to resume the control connection's
TLS session (as ours does under that policy), and curl runs with --ssl-reqd (its TLS 1.3 by
default; --curl-tls-max 1.2 caps it). Only the throughput tests run (the session and RSS
clients speak cleartext).

MB = 10^6 bytes. Ratio = ours / best peer (throughput and sessions: >1 means ours is faster;
RSS: <1 means ours uses less memory).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(WORKSPACE, "tools", "peers"))
import peers  # noqa: E402

USER = "ftpbench"
PASSWORD = "bench-pw-1"
OURS_BIN = os.path.join(WORKSPACE, "target", "release", "examples", "ftp-server")
BIG = "big.bin"
UP = "up.bin"
MB = 1_000_000
SESSION_TIMEOUT = 30.0
CURL_TIMEOUT = 600


def congestion_control() -> str:
    """The kernel's default TCP congestion control: loopback throughput depends on it (BBR
    paces every connection; cubic does not)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# servers


def build_ours(timeout: float) -> Optional[str]:
    """cargo build --release --example ftp-server; returns the binary or None (with a reason
    printed) when the example cannot be built."""
    log("building: cargo build --release --example ftp-server")
    try:
        r = subprocess.run(["cargo", "build", "--release", "--example", "ftp-server"],
                           cwd=WORKSPACE, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"skipping ours: build did not finish ({e})")
        return None
    if r.returncode != 0:
        tail = "\n".join(r.stderr.strip().splitlines()[-8:])
        log(f"skipping ours: `cargo build --release --example ftp-server` failed:\n{tail}")
        return None
    if not os.access(OURS_BIN, os.X_OK):
        log(f"skipping ours: {OURS_BIN} not found after the build")
        return None
    return OURS_BIN


def start_ours(binary: str, root: str, port: int = 0,
               tls: Optional[Tuple[str, str]] = None) -> peers.Peer:
    root, port, pasv, workdir = peers._prepare(root, port, None, "ours")
    argv = [binary, "--root", root, "--listen", f"127.0.0.1:{port}",
            "--user", f"{USER}:{PASSWORD}", "--passive-ports", f"{pasv[0]}-{pasv[1]}"]
    if tls:
        argv += ["--tls-cert", tls[0], "--tls-key", tls[1], "--require-tls"]
    # Same limits as the peers (the idle test holds 500 clients from one address) and no
    # per-session logging, when the binary has these options.
    try:
        helptext = subprocess.run([binary, "--help"], capture_output=True, text=True,
                                  timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        helptext = ""
    limit = str(peers.MAX_CLIENTS)
    for flag, value in (("--max-connections", limit), ("--max-per-ip", limit),
                        ("--log", "warn")):
        if flag in helptext:
            argv += [flag, value]
    # None of the peers fsyncs an upload before answering 226; compare like with like unless
    # OURS_SYNC=1 asks for the server's durable default.
    if "--no-sync" in helptext and os.environ.get("OURS_SYNC") != "1":
        argv.append("--no-sync")
    try:
        return peers.launch("ours", argv, port, root, USER, PASSWORD, pasv, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# files


def make_big_file(path: str, size: int) -> None:
    """Random-ish content: a 16 MiB random block, each copy varied by its index (neither
    compressible nor all-identical pages)."""
    block = bytearray(os.urandom(16 << 20))
    with open(path, "wb") as f:
        written, i = 0, 0
        while written < size:
            block[0:8] = i.to_bytes(8, "little")
            n = min(len(block), size - written)
            f.write(block[:n])
            written += n
            i += 1


# --------------------------------------------------------------------------------------------
# (a), (b) throughput with curl


def curl_transfer(port: int, direction: str, local: str, size: int,
                  tls: Optional[List[str]] = None,
                  cpu: Optional[int] = None) -> Tuple[float, float]:
    """One RETR or STOR with curl; returns (wall-clock MB/s, curl's own MB/s). `tls`: extra
    curl arguments for FTPS."""
    url = f"ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/"
    if direction == "retr":
        argv = ["curl", "-s", "-S", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}",
                url + BIG]
    else:
        argv = ["curl", "-s", "-S", "-T", local, "-w", "%{size_upload} %{speed_upload}",
                url + UP]
    argv[1:1] = ["--max-time", str(CURL_TIMEOUT)] + (tls or [])
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + argv
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=CURL_TIMEOUT + 30)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"curl {direction} exit {r.returncode}: {r.stderr.strip()[:300]}")
    nbytes, speed = r.stdout.split()
    if int(float(nbytes)) != size:
        raise RuntimeError(f"curl {direction} moved {nbytes} bytes, expected {size}")
    return size / wall / MB, float(speed) / MB


# --------------------------------------------------------------------------------------------
# (c), (d) small FTP clients: asyncio for the idle clients, epoll for the session rate


class FtpError(Exception):
    pass


async def read_reply(reader: asyncio.StreamReader) -> Tuple[int, bytes]:
    line = await reader.readline()
    if len(line) < 4 or not line[:3].isdigit():
        raise FtpError(f"bad reply line {line[:80]!r}")
    first = line
    if line[3:4] == b"-":
        code = line[:3]
        for _ in range(10000):  # bounded multi-line reply
            line = await reader.readline()
            if not line:
                raise FtpError("EOF inside a multi-line reply")
            if line[:3] == code and line[3:4] == b" ":
                break
        else:
            raise FtpError("multi-line reply too long")
    return int(first[:3]), first


async def command(reader, writer, cmd: bytes, expect: Tuple[int, ...]) -> bytes:
    writer.write(cmd + b"\r\n")
    code, line = await read_reply(reader)
    if code not in expect:
        raise FtpError(f"{cmd.split()[0].decode()} -> {line[:100]!r}")
    return line


async def login(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    code, line = await read_reply(reader)
    if code != 220:
        writer.close()
        raise FtpError(f"greeting {line[:100]!r}")
    await command(reader, writer, b"USER " + USER.encode(), (331, 230))
    await command(reader, writer, b"PASS " + PASSWORD.encode(), (230,))
    return reader, writer


_PASV_RE = re.compile(rb"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")


class _Session:
    __slots__ = ("ctrl", "data", "state", "buf", "multi", "data_done", "reply_done", "deadline")


_CONNECTING = (errno.EINPROGRESS, errno.EAGAIN, 0)


def run_sessions(port: int, n: int, concurrency: int) -> Tuple[int, int, str, float]:
    """n sessions of USER, PASS, PASV, LIST (the listing read to EOF), QUIT, with at most
    `concurrency` in flight, driven by one epoll loop of non-blocking sockets (a few times
    cheaper per session than asyncio streams or ftplib). Returns (ok, failed, first error,
    CPU seconds used by this process)."""
    cpu0 = time.process_time()
    ep = select.epoll()
    owner: Dict[int, Tuple[_Session, bool]] = {}  # fd -> (session, is_data)
    active: set = set()
    counts = {"started": 0, "ok": 0, "failed": 0}
    first_err = [""]
    addr = ("127.0.0.1", port)

    def close_sock(sock):
        if sock is not None:
            fd = sock.fileno()
            if fd >= 0:
                owner.pop(fd, None)
                try:
                    ep.unregister(fd)
                except OSError:
                    pass
            sock.close()

    def finish(sess: _Session, err: str = "") -> None:
        if sess not in active:
            return
        active.discard(sess)
        close_sock(sess.ctrl)
        close_sock(sess.data)
        sess.ctrl = sess.data = None
        if err:
            counts["failed"] += 1
            if not first_err[0]:
                first_err[0] = err
        else:
            counts["ok"] += 1
        if counts["started"] < n:
            start_one()

    def start_one() -> None:
        counts["started"] += 1
        sess = _Session()
        sess.state, sess.buf, sess.multi = "greet", b"", None
        sess.data, sess.data_done, sess.reply_done = None, False, False
        sess.deadline = time.monotonic() + SESSION_TIMEOUT
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sess.ctrl = sock
        active.add(sess)
        rc = sock.connect_ex(addr)
        if rc not in _CONNECTING:
            finish(sess, f"connect: {os.strerror(rc)}")
            return
        owner[sock.fileno()] = (sess, False)
        ep.register(sock.fileno(), select.EPOLLIN)  # the 220 greeting completes the connect

    def send(sess: _Session, cmd: bytes) -> None:
        sess.ctrl.send(cmd + b"\r\n")  # a short command always fits the empty send buffer

    def on_reply(sess: _Session, code: int, line: bytes) -> None:
        st = sess.state
        if st == "greet" and code == 220:
            send(sess, b"USER " + USER.encode())
            sess.state = "user"
        elif st == "user" and code == 331:
            send(sess, b"PASS " + PASSWORD.encode())
            sess.state = "pass"
        elif st in ("user", "pass") and code == 230:
            send(sess, b"PASV")
            sess.state = "pasv"
        elif st == "pasv" and code == 227:
            m = _PASV_RE.search(line[4:])
            if not m:
                raise FtpError(f"unparsable 227 {line[:100]!r}")
            d = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            d.setblocking(False)
            sess.data = d
            rc = d.connect_ex(("127.0.0.1", int(m.group(5)) * 256 + int(m.group(6))))
            if rc not in _CONNECTING:
                raise FtpError(f"data connect: {os.strerror(rc)}")
            owner[d.fileno()] = (sess, True)
            ep.register(d.fileno(), select.EPOLLOUT)  # LIST goes out once connected
            sess.state = "dconn"
        elif st == "list" and code in (125, 150):
            sess.state = "xfer"
        elif st == "xfer" and code in (226, 250):
            sess.reply_done = True
            if sess.data_done:
                send(sess, b"QUIT")
                sess.state = "quit"
        elif st == "quit" and code == 221:
            finish(sess)
        else:
            raise FtpError(f"in state {st}: {line[:100]!r}")

    def on_ctrl(sess: _Session) -> None:
        chunk = sess.ctrl.recv(65536)
        if not chunk:
            raise FtpError(f"control connection closed in state {sess.state}")
        sess.buf += chunk
        if len(sess.buf) > 1 << 16:
            raise FtpError("reply longer than 64 KiB")
        while sess in active:
            i = sess.buf.find(b"\n")
            if i < 0:
                return
            line, sess.buf = sess.buf[: i + 1], sess.buf[i + 1 :]
            if sess.multi is not None:  # inside a multi-line reply: wait for "ddd "
                code, first = sess.multi
                if line[:3] == code and line[3:4] == b" ":
                    sess.multi = None
                    on_reply(sess, int(code), first)
                continue
            if len(line) < 4 or not line[:3].isdigit():
                raise FtpError(f"bad reply line {line[:80]!r}")
            if line[3:4] == b"-":
                sess.multi = (line[:3], line)
                continue
            on_reply(sess, int(line[:3]), line)

    def on_data(sess: _Session, events: int) -> None:
        d = sess.data
        if sess.state == "dconn":
            err = d.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise FtpError(f"data connect: {os.strerror(err)}")
            ep.modify(d.fileno(), select.EPOLLIN)
            send(sess, b"LIST")
            sess.state = "list"
            return
        chunk = d.recv(65536)
        if chunk:
            return
        close_sock(d)
        sess.data = None
        sess.data_done = True
        if sess.reply_done and sess.state == "xfer":
            send(sess, b"QUIT")
            sess.state = "quit"

    try:
        for _ in range(min(concurrency, n)):
            start_one()
        next_scan = time.monotonic() + 0.25
        while active:
            for fd, events in ep.poll(0.25):
                entry = owner.get(fd)
                if entry is None:
                    continue
                sess, is_data = entry
                try:
                    if is_data:
                        on_data(sess, events)
                    else:
                        on_ctrl(sess)
                except BlockingIOError:
                    pass  # stale event for a descriptor number reused by a new session
                except (OSError, FtpError) as e:
                    finish(sess, f"{type(e).__name__}: {e}")
            now = time.monotonic()
            if now >= next_scan:  # bounded: every session has a deadline
                next_scan = now + 0.25
                for sess in [x for x in active if x.deadline < now]:
                    finish(sess, f"timeout after {SESSION_TIMEOUT:.0f}s in state {sess.state}")
    finally:
        for sess in list(active):
            close_sock(sess.ctrl)
            close_sock(sess.data)
        ep.close()
    return counts["ok"], counts["failed"], first_err[0], time.process_time() - cpu0


def _session_worker(port, n, concurrency, barrier, out):
    barrier.wait(timeout=60)
    t0 = time.monotonic()
    ok, failed, err, cpu = run_sessions(port, n, concurrency)
    out.put((t0, time.monotonic(), ok, failed, err, cpu))


def sessions_per_second(port: int, n: int, concurrency: int,
                        workers: int) -> Tuple[float, int, str, float]:
    """Run n sessions with `concurrency` clients spread over `workers` processes. Returns
    (ok sessions/s, failed, first error, load-generator CPU ms per session)."""
    workers = max(1, min(workers, concurrency))
    if workers == 1:
        t0 = time.monotonic()
        ok, failed, err, cpu = run_sessions(port, n, concurrency)
        return ok / (time.monotonic() - t0), failed, err, 1000 * cpu / max(1, ok + failed)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers)
    out = ctx.Queue()
    procs = []
    for i in range(workers):
        share_n = n // workers + (1 if i < n % workers else 0)
        share_c = concurrency // workers + (1 if i < concurrency % workers else 0)
        p = ctx.Process(target=_session_worker, args=(port, share_n, share_c, barrier, out),
                        daemon=True)
        p.start()
        procs.append(p)
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=60 + SESSION_TIMEOUT * (n // max(1, concurrency) + 2)))
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
    t0 = min(r[0] for r in results)
    t1 = max(r[1] for r in results)
    ok = sum(r[2] for r in results)
    failed = sum(r[3] for r in results)
    err = next((r[4] for r in results if r[4]), "")
    cpu = sum(r[5] for r in results)
    return ok / (t1 - t0), failed, err, 1000 * cpu / max(1, ok + failed)


async def idle_clients_rss(peer: peers.Peer, n: int,
                           connect_concurrency: int = 50) -> Tuple[int, int, int, int, str]:
    """Log n clients in (at most connect_concurrency logging in at once), keep them idle,
    sample the server's memory; returns (peak RSS, RSS before, peak PSS, clients logged in,
    first error), sizes in bytes."""
    before = peer.rss_bytes()
    sem = asyncio.Semaphore(connect_concurrency)
    conns = []
    errors: List[str] = []

    async def one():
        async with sem:
            try:
                async with asyncio.timeout(SESSION_TIMEOUT):
                    conns.append(await login(peer.port))
            except (OSError, FtpError, TimeoutError) as e:
                errors.append(f"{type(e).__name__}: {e}")

    try:
        await asyncio.gather(*(one() for _ in range(n)))
        peak = peak_pss = 0
        for _ in range(10):  # ~1 s of samples: forked session processes settle
            pids = peer.pids()
            peak = max(peak, peers.rss_of(pids))
            peak_pss = max(peak_pss, peers.pss_of(pids))
            await asyncio.sleep(0.1)
        return peak, before, peak_pss, len(conns), errors[0] if errors else ""
    finally:
        for _r, w in conns:
            try:
                w.write(b"QUIT\r\n")
                w.close()
            except OSError:
                pass
        await asyncio.sleep(0.2)


# --------------------------------------------------------------------------------------------
# report


def fmt(v: float, unit: str) -> str:
    if unit == "MiB":
        return f"{v:,.1f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:,.1f}"
    return f"{v:.2f}"


def table(results: Dict[str, Dict[str, List[float]]], servers: List[str],
          figures: List[Tuple[str, str, Optional[bool]]]) -> str:
    head = "| figure | " + " | ".join(servers) + " | ours / best peer |"
    sep = "|---" * (len(servers) + 2) + "|"
    rows = [head, sep]
    for key, label, higher_better in figures:
        cells, med = [], {}
        for s in servers:
            vals = results.get(s, {}).get(key, [])
            if not vals:
                cells.append("–")
                continue
            m = statistics.median(vals)
            med[s] = m
            unit = "MiB" if "MiB" in label else ""
            if len(vals) > 1:
                cells.append(f"{fmt(m, unit)} ({fmt(min(vals), unit)}–{fmt(max(vals), unit)})")
            else:
                cells.append(fmt(m, unit))
            fkey = key.split("_")[0] + "_failed" if key.startswith(("seq", "conc")) else (
                "rss_failed" if key in ("rss_peak", "pss_peak") else "")
            if fkey and sum(results.get(s, {}).get(fkey, [])):
                cells[-1] += " ⚠"
        peer_meds = [v for s, v in med.items() if s != "ours"]
        ratio = "–"
        if "ours" in med and peer_meds and higher_better is not None:
            best = max(peer_meds) if higher_better else min(peer_meds)
            if best > 0:
                ratio = f"{med['ours'] / best:.2f}×"
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--servers", default="ours,vsftpd,pyftpdlib",
                    help="comma list of ours,vsftpd,pyftpdlib,pureftpd,proftpd")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 64 MiB file, 1 round, fewer sessions and idle clients")
    ap.add_argument("--size-mib", type=int, help="transfer file size (default 1024; quick 64)")
    ap.add_argument("--rounds", type=int, help="throughput rounds (default 5; quick 1)")
    ap.add_argument("--session-rounds", type=int, help="session-rate rounds (default 3; quick 1)")
    ap.add_argument("--seq-sessions", type=int, help="sequential sessions (default 200; quick 50)")
    ap.add_argument("--conc-sessions", type=int, help="concurrent sessions (default 1000; quick 200)")
    ap.add_argument("--concurrency", type=int, default=50, help="concurrent clients (50)")
    ap.add_argument("--workers", type=int, default=1,
                    help="load-generator processes for the concurrent test (1: on 2 cores a "
                         "second one takes CPU from the server; each does ~4-5k sessions/s)")
    ap.add_argument("--idle-clients", type=int, help="idle logged-in clients for RSS (default 500; quick 100)")
    ap.add_argument("--tests", help="comma list of retr,stor,seq,conc,rss (default: all; "
                    "with --tls: retr,stor)")
    ap.add_argument("--tls", action="store_true",
                    help="FTPS: TLS required for logins and data (PROT P) on every server")
    ap.add_argument("--curl-tls-max", choices=["1.2", "1.3"],
                    help="with --tls: cap curl's TLS version")
    ap.add_argument("--pin", action="store_true",
                    help="throughput tests: the server on CPU 0, curl on CPU 1 (taskset), so "
                         "no round depends on where the scheduler happens to put them")
    ap.add_argument("--ours-bin", help="use this server binary instead of building the example")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("--build-timeout", type=float, default=1800)
    ap.add_argument("--workdir", help="folder for the server roots (default: a temp folder)")
    ap.add_argument("--json", help="also write raw numbers to this JSON file")
    ap.add_argument("--output", help="also write the markdown report to this file")
    args = ap.parse_args()

    q = args.quick
    size = (args.size_mib or (64 if q else 1024)) << 20
    rounds = args.rounds or (1 if q else 5)
    srounds = args.session_rounds or (1 if q else 3)
    seq_n = args.seq_sessions or (50 if q else 200)
    conc_n = args.conc_sessions or (200 if q else 1000)
    idle_n = args.idle_clients or (100 if q else 500)
    tests = set((args.tests or ("retr,stor" if args.tls else "retr,stor,seq,conc,rss"))
                .split(","))
    if args.tls and tests & {"seq", "conc", "rss"}:
        ap.error("with --tls only the retr and stor tests run")
    wanted = [peers.ALIASES.get(s, s) for s in args.servers.split(",") if s]
    for s in wanted:
        if s != "ours" and s not in peers.STARTERS:
            ap.error(f"unknown server {s!r}")
    if os.geteuid() != 0 and any(s in ("vsftpd", "pureftpd", "proftpd") for s in wanted):
        ap.error("vsftpd, pure-ftpd and ProFTPD need root (they switch to a system user)")

    # 500 idle clients + their server-side sockets: raise the descriptor limit (inherited by
    # the servers started below).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, 65536, 4 * idle_n + 256)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError) as e:
        log(f"warning: could not raise RLIMIT_NOFILE ({e})")

    # Ctrl-C and SIGTERM both unwind through the finally below, which stops every server.
    def on_term(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background

    servers: List[str] = []
    notes: List[str] = []
    ours_bin = None
    if "ours" in wanted:
        if args.ours_bin:
            ours_bin = args.ours_bin if os.access(args.ours_bin, os.X_OK) else None
        elif args.no_build:
            ours_bin = OURS_BIN if os.access(OURS_BIN, os.X_OK) else None
        else:
            ours_bin = build_ours(args.build_timeout)
        if ours_bin is None:
            notes.append("`ours` skipped: target/release/examples/ftp-server could not be built "
                         "or found.")
            log("skipping ours")

    base = tempfile.mkdtemp(prefix="ftp-bench-", dir=args.workdir)
    os.chmod(base, 0o755)
    running: Dict[str, peers.Peer] = {}
    results: Dict[str, Dict[str, List[float]]] = {}
    interrupted = False
    try:
        src_dir = os.path.join(base, "src")
        os.makedirs(src_dir)
        src = os.path.join(src_dir, BIG)
        tls_files = None
        curl_tls = None
        if args.tls:
            # Readable by the peers, which read the files after dropping privileges.
            tls_dir = os.path.join(base, "tls")
            os.makedirs(tls_dir)
            os.chmod(tls_dir, 0o755)
            tls_files = peers.make_test_cert(tls_dir)
            os.chmod(tls_files[1], 0o644)
            curl_tls = ["--ssl-reqd", "--cacert", tls_files[0]]
            if args.curl_tls_max:
                curl_tls += ["--tls-max", args.curl_tls_max]
        if tests & {"retr", "stor"}:
            log(f"creating {size >> 20} MiB test file")
            make_big_file(src, size)
        for s in wanted:
            if s == "ours" and ours_bin is None:
                continue
            root = os.path.join(base, s)
            os.makedirs(root)
            os.chmod(root, 0o755)
            if os.path.exists(src):
                os.link(src, os.path.join(root, BIG))  # one inode: one copy in the page cache
            try:
                if s == "ours":
                    running[s] = start_ours(ours_bin, root, tls=tls_files)
                elif tls_files:
                    reuse = True if s in ("vsftpd", "proftpd") else None
                    running[s] = peers.start(s, root, USER, PASSWORD, tls_cert=tls_files[0],
                                             tls_key=tls_files[1], tls_required=True,
                                             tls_reuse=reuse)
                else:
                    running[s] = peers.start(s, root, USER, PASSWORD)
            except Exception as e:
                notes.append(f"`{s}` skipped: failed to start: {str(e).splitlines()[0]}")
                log(f"skipping {s}: {e}")
                continue
            servers.append(s)
            results[s] = {}
            if args.pin:
                # Threads and forked children created later inherit the mask.
                for pid in running[s].pids():
                    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)],
                                   capture_output=True, check=False)
            log(f"started {s} on 127.0.0.1:{running[s].port} (pid {running[s].pid})")
        if not servers:
            log("no server started")
            return 1
        # The big file was hard-linked before the peers chowned their roots: keep it readable
        # by everyone whatever owner it ends up with.
        if os.path.exists(src):
            os.chmod(src, 0o644)

        def record(s, key, v):
            results[s].setdefault(key, []).append(v)

        def rotated(r):
            k = r % len(servers)
            return servers[k:] + servers[:k]

        for direction in ("retr", "stor"):
            if direction not in tests:
                continue
            for r in range(rounds):
                for s in rotated(r):
                    p = running[s]
                    try:
                        wall, own = curl_transfer(p.port, direction, src, size, curl_tls,
                                                  1 if args.pin else None)
                    except Exception as e:
                        notes.append(f"{s} {direction.upper()} round {r + 1}: {e}")
                        log(f"{s} {direction}: {e}")
                        continue
                    if direction == "stor":
                        stored = os.path.join(p.root, UP)
                        got = os.path.getsize(stored) if os.path.exists(stored) else -1
                        if got != size:
                            notes.append(f"{s} STOR round {r + 1}: stored {got} bytes of {size}")
                        try:
                            os.unlink(stored)
                        except OSError:
                            pass
                    record(s, f"{direction}_wall", wall)
                    record(s, f"{direction}_curl", own)
                    log(f"round {r + 1}/{rounds} {direction.upper()} {s:10} {wall:8.0f} MB/s "
                        f"(curl says {own:.0f})")

        for key, n, conc, workers in (("seq", seq_n, 1, 1),
                                      ("conc", conc_n, args.concurrency, args.workers)):
            if key not in tests:
                continue
            for r in range(srounds):
                for s in rotated(r):
                    rate, failed, err, cpu_ms = sessions_per_second(running[s].port, n, conc,
                                                                    workers)
                    record(s, f"{key}_client_cpu_ms", cpu_ms)
                    if failed:
                        notes.append(f"{s} {key} round {r + 1}: {failed}/{n} sessions failed "
                                     f"(first: {err})")
                    record(s, key, rate)
                    record(s, f"{key}_failed", failed)
                    log(f"round {r + 1}/{srounds} {key:4} sessions {s:10} {rate:8.0f}/s "
                        f"(load generator {cpu_ms:.3f} CPU-ms/session)"
                        + (f"  ({failed} failed: {err})" if failed else ""))

        if "rss" in tests:
            for s in servers:
                peak, before, pss, logged, err = asyncio.run(idle_clients_rss(running[s], idle_n))
                if logged < idle_n:
                    notes.append(f"{s} RSS: only {logged}/{idle_n} clients logged in "
                                 f"(first error: {err})")
                record(s, "rss_failed", idle_n - logged)
                record(s, "rss_idle", before / (1 << 20))
                record(s, "rss_peak", peak / (1 << 20))
                record(s, "pss_peak", pss / (1 << 20))
                log(f"RSS {s:10} before {before / (1 << 20):7.1f} MiB, with {logged} idle "
                    f"clients {peak / (1 << 20):7.1f} MiB")
                time.sleep(0.5)
    except KeyboardInterrupt:
        log("interrupted: stopping servers")
        notes.append("interrupted")
        interrupted = True
    finally:
        for p in running.values():
            p.stop()
        shutil.rmtree(base, ignore_errors=True)

    figures = [
        ("retr_wall", f"RETR {size >> 20} MiB, MB/s (wall, curl process)", True),
        ("retr_curl", "RETR MB/s (curl's speed_download)", True),
        ("stor_wall", f"STOR {size >> 20} MiB, MB/s (wall, curl process)", True),
        ("stor_curl", "STOR MB/s (curl's speed_upload)", True),
        ("seq", f"sequential login+PASV+LIST+QUIT /s (N={seq_n})", True),
        ("seq_client_cpu_ms", "load generator CPU-ms per sequential session", None),
        ("conc", f"{args.concurrency} concurrent clients, sessions/s (N={conc_n})", True),
        ("conc_client_cpu_ms", "load generator CPU-ms per concurrent session", None),
        ("rss_idle", "RSS with no client, MiB", False),
        ("rss_peak", f"peak RSS with {idle_n} idle logged-in clients, MiB", False),
        ("pss_peak", f"peak PSS with {idle_n} idle logged-in clients, MiB", False),
    ]
    figures = [f for f in figures if any(results.get(s, {}).get(f[0]) for s in servers)]
    report = [
        f"## FTP{'S (TLS required, PROT P)' if args.tls else ''} server benchmark "
        f"({time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, Linux {platform.release()}, TCP congestion control "
        f"{congestion_control()}{', server on CPU 0 and curl on CPU 1' if args.pin else ''})",
        "",
        f"Medians over {rounds} throughput round(s) and {srounds} session round(s), "
        "(min–max) when more than one; servers alternated in rotating order; all on 127.0.0.1. "
        "MB = 10^6 bytes. RSS sums every process of the server (vsftpd and pure-ftpd fork per "
        "session; PSS shares their common pages). Ratio: ours / best peer (RSS, PSS: lower is "
        "better). The load generator is one epoll loop per worker process: when its CPU-ms per "
        "session times the rate nears 1000 per worker, the client is the bottleneck. "
        "⚠: some sessions failed or clients could not log in (see the notes).",
        "",
        table(results, servers, figures),
    ]
    if notes:
        report += ["", "Notes:"] + [f"- {n}" for n in notes]
    text = "\n".join(report) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": size, "rounds": rounds, "session_rounds": srounds,
                       "results": results, "notes": notes}, f, indent=2)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
