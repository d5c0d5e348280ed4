#!/usr/bin/env python3
"""Start and stop real FTP servers (vsftpd, pyftpdlib, pure-ftpd, ProFTPD) on loopback.

Each ``start_*`` function launches one server bound to 127.0.0.1 on the given port (0 picks a
free one), serving ``root`` to a single test user, waits until the server answers ``220`` and
returns a :class:`Peer` (also a context manager) with ``.port``, ``.pid``, ``.pids()``,
``.rss_bytes()`` and ``.stop()``.

Requirements (see ``install.sh``): root for vsftpd, pure-ftpd and ProFTPD (they switch to the
system user ``ftpbench`` after login); the pyftpdlib venv at /opt/ftp-venv; pure-ftpd and
ProFTPD unpacked under /opt/ftp-peers/root.

Command line, foreground (Ctrl-C or SIGTERM stops the server)::

    python3 tools/peers/peers.py start vsftpd --root DIR --port 2121 \\
        [--user ftpbench --password secret --passive-ports 30000-30999]

It prints ``ready <name> port=<port> pid=<pid>`` on stdout (flushed) once the server answers
``220``, and exits non-zero with the server's log if the start fails.

``python3 tools/peers/peers.py selftest [NAME...]`` checks each peer with ftplib (login, STOR,
RETR, LIST, over PASV and EPSV).

Standard library only; runs with /usr/bin/python3 or the venv interpreter.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

VENV_PYTHON = os.environ.get("FTP_VENV_PYTHON", "/opt/ftp-venv/bin/python")
PEERS_DIR = os.environ.get("FTP_PEERS_DIR", "/opt/ftp-peers")
PEERS_ROOT = os.path.join(PEERS_DIR, "root")
VSFTPD = os.environ.get("FTP_VSFTPD", "/usr/sbin/vsftpd")
PUREFTPD = os.path.join(PEERS_ROOT, "usr/sbin/pure-ftpd")
PUREPW = os.path.join(PEERS_ROOT, "usr/bin/pure-pw")
PROFTPD = os.path.join(PEERS_ROOT, "usr/sbin/proftpd")
PROFTPD_MODULES = os.path.join(PEERS_ROOT, "usr/lib/proftpd")

DEFAULT_USER = "ftpbench"
DEFAULT_PASSWORD = "ftpbench-pw"
# Every server accepts at least this many simultaneous clients (the benchmark idles 500).
MAX_CLIENTS = 1000
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0

PasvRange = Tuple[int, int]


# --------------------------------------------------------------------------------------------
# helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_pasv_range(width: int = 2000) -> PasvRange:
    """A random passive-port window below Linux's ephemeral range (32768+), so that client
    sockets never hold the ports the server wants to listen on. pure-ftpd caps its clients at
    half the window: 2000 ports allow 1000 clients."""
    lo = random.randrange(10000, 32768 - width)
    return lo, lo + width - 1


def parse_range(text: str) -> PasvRange:
    a, b = text.split("-", 1)
    lo, hi = int(a), int(b)
    if not (0 < lo <= hi < 65536):
        raise ValueError(f"bad port range {text!r}")
    return lo, hi


def wait_for_220(port: int, proc: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    """Connect until the server greets with 220, or raise (process died / timeout)."""
    deadline = time.monotonic() + timeout
    last_err: Optional[str] = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering 220")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
                s.settimeout(5.0)
                buf = b""
                while b"\n" not in buf and len(buf) < 4096:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                # A multi-line greeting starts "220-"; the first line is enough.
                if buf.startswith(b"220"):
                    try:
                        s.sendall(b"QUIT\r\n")
                    except OSError:
                        pass
                    return
                last_err = f"greeting {buf[:200]!r}"
        except OSError as e:
            last_err = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"no 220 on 127.0.0.1:{port} within {timeout:.0f}s ({last_err})")


def _read_proc_stat(pid: int) -> Optional[Tuple[int, int]]:
    """(ppid, rss_pages) of a process, or None if it vanished."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    # rest[0] = state (field 3); ppid = field 4; rss = field 24
    return int(rest[1]), int(rest[21])


def process_tree(root_pid: int) -> List[int]:
    """root_pid and all its descendants (walks /proc once)."""
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_proc_stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_of(pids: Sequence[int]) -> int:
    """Sum of VmRSS (bytes) over pids (resident set; shared pages are counted per process)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        st = _read_proc_stat(pid)
        if st is not None:
            total += st[1] * page
    return total


def pss_of(pids: Sequence[int]) -> int:
    """Sum of proportional set sizes (bytes): shared pages divided among their users, so forked
    servers are not charged N times for the same library pages. Needs smaps_rollup access."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def _run(argv: Sequence[str], stdin_text: Optional[str] = None) -> None:
    subprocess.run(list(argv), input=stdin_text, text=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def sha512_crypt(password: str) -> str:
    """A SHA-512 crypt(3) hash: a few ms per login, where yescrypt/argon2id cost 22 ms–4 s."""
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                         text=True, capture_output=True, check=True)
    return out.stdout.strip()


def ensure_system_user(user: str, password: str, home: str = "/") -> Tuple[int, int]:
    """Create (idempotently) a system login for the servers that switch uid after login:
    shell /bin/sh (Debian's PAM for vsftpd requires a shell listed in /etc/shells), a SHA-512
    crypt password, an existing home directory, and not listed in /etc/ftpusers. Returns (uid, gid). Needs root."""
    import pwd

    if os.geteuid() != 0:
        raise PermissionError("creating the FTP test user needs root")
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        _run(["useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh",
              "--user-group", user])
        pw = pwd.getpwnam(user)
    if pw.pw_shell != "/bin/sh":
        _run(["usermod", "--shell", "/bin/sh", user])
    if not os.path.isdir(pw.pw_dir):
        # vsftpd changes into the home directory before local_root: it must exist.
        _run(["usermod", "--home", home, user])
    with open("/etc/shells") as f:
        shells = {line.strip() for line in f}
    if "/bin/sh" not in shells:
        with open("/etc/shells", "a") as f:
            f.write("/bin/sh\n")
    _run(["chpasswd", "-c", "SHA512"], stdin_text=f"{user}:{password}\n")
    if os.path.exists("/etc/ftpusers"):
        with open("/etc/ftpusers") as f:
            lines = f.read().splitlines()
        if user in (line.strip() for line in lines):
            with open("/etc/ftpusers", "w") as f:
                f.write("".join(line + "\n" for line in lines if line.strip() != user))
    return pw.pw_uid, pw.pw_gid


def chown_tree(root: str, uid: int, gid: int) -> None:
    """Give the test user the served tree (the uid-switching servers write as that user)."""
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            try:
                os.lchown(os.path.join(dirpath, n), uid, gid)
            except OSError:
                pass


# --------------------------------------------------------------------------------------------
# the running server


class Peer:
    """A running FTP server. Stop it with .stop() or by leaving the `with` block."""

    def __init__(self, name: str, proc: subprocess.Popen, port: int, root: str, user: str,
                 password: str, pasv_range: Optional[PasvRange], workdir: str,
                 log_path: str, log_file) -> None:
        self.name = name
        self.proc = proc
        self.port = port
        self.root = root
        self.user = user
        self.password = password
        self.pasv_range = pasv_range
        self.workdir = workdir
        self.log_path = log_path
        self._log_file = log_file
        self._stopped = False

    @property
    def pid(self) -> int:
        """The server's main (listening) process."""
        return self.proc.pid

    def pids(self) -> List[int]:
        """The main process and every process it forked (per-session children)."""
        return process_tree(self.proc.pid)

    def rss_bytes(self) -> int:
        """Resident memory summed over the server's processes."""
        return rss_of(self.pids())

    def pss_bytes(self) -> int:
        """Proportional set size summed over the server's processes."""
        return pss_of(self.pids())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-8000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the server's process group (it runs in its own session), then SIGKILL
        whatever remains; removes the temporary config folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        tree = process_tree(self.proc.pid) if self.proc.poll() is None else []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self._signal_all(tree, sig)
            deadline = time.monotonic() + STOP_TIMEOUT
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                continue
            # Forked session processes may outlive the listener by a moment.
            while time.monotonic() < deadline and any(_exists(p) for p in tree[1:]):
                time.sleep(0.05)
            if not any(_exists(p) for p in tree[1:]):
                break
        try:
            self._log_file.close()
        except OSError:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _signal_all(self, tree: List[int], sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the server runs in its own session/group
        except (ProcessLookupError, PermissionError):
            pass
        for pid in tree:  # children that left the group (setsid) are signalled one by one
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Peer {self.name} 127.0.0.1:{self.port} pid={self.pid}>"


def _exists(pid: int) -> bool:
    """True while pid is a live (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def launch(name: str, argv: Sequence[str], port: int, root: str, user: str, password: str,
           pasv_range: Optional[PasvRange], workdir: str,
           env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
           ready_timeout: float = START_TIMEOUT) -> Peer:
    """Run argv in a new session (its own process group) with stdin, stdout and stderr on a
    log file in workdir (vsftpd reports start-up errors on fd 0), wait for 220 on port."""
    log_path = os.path.join(workdir, "server.log")
    log_file = open(log_path, "w+b")
    proc = subprocess.Popen(list(argv), stdin=log_file, stdout=log_file, stderr=log_file,
                            start_new_session=True, env=env, cwd=cwd, close_fds=True)
    peer = Peer(name, proc, port, root, user, password, pasv_range, workdir, log_path, log_file)
    try:
        wait_for_220(port, proc, ready_timeout)
    except BaseException as e:
        text = peer.log()
        peer.stop()
        if isinstance(e, RuntimeError):
            raise RuntimeError(f"{name}: {e}\n--- {name} log ---\n{text}") from None
        raise
    return peer


def _prepare(root: str, port: int, pasv_range: Optional[PasvRange], name: str):
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    if port == 0:
        port = free_port()
    if pasv_range is None:
        pasv_range = pick_pasv_range()
    workdir = tempfile.mkdtemp(prefix=f"ftp-peer-{name}-")
    os.chmod(workdir, 0o755)
    return root, port, pasv_range, workdir


# --------------------------------------------------------------------------------------------
# vsftpd


def start_vsftpd(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                 port: int = 0, pasv_range: Optional[PasvRange] = None) -> Peer:
    """vsftpd: PAM login of the system user `user`, chrooted into root, one process per
    session (+ its privileged helper), sendfile for RETR."""
    root, port, pasv_range, workdir = _prepare(root, port, pasv_range, "vsftpd")
    try:
        uid, gid = ensure_system_user(user, password)
        chown_tree(root, uid, gid)
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)  # secure_chroot_dir
        conf = os.path.join(workdir, "vsftpd.conf")
        with open(conf, "w") as f:
            f.write(f"""\
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
local_root={root}
userlist_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
pasv_enable=YES
pasv_min_port={pasv_range[0]}
pasv_max_port={pasv_range[1]}
port_enable=YES
connect_from_port_20=NO
max_clients={MAX_CLIENTS}
max_per_ip={MAX_CLIENTS}
use_sendfile=YES
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
syslog_enable=NO
vsftpd_log_file={workdir}/vsftpd.log
ssl_enable=NO
""")
        os.chmod(conf, 0o600)
        return launch("vsftpd", [VSFTPD, conf], port, root, user, password, pasv_range,
                      workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# pyftpdlib

_PYFTPDLIB_SCRIPT = r"""
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

root, user, password, port, lo, hi, maxc = sys.argv[1:8]
logging.basicConfig(level=logging.WARNING)
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elradfmwMT")
class Handler(FTPHandler):
    pass
Handler.authorizer = auth
Handler.passive_ports = range(int(lo), int(hi) + 1)
Handler.use_sendfile = True
server = FTPServer(("127.0.0.1", int(port)), Handler)
server.max_cons = int(maxc)
server.max_cons_per_ip = int(maxc)
print("pyftpdlib ready", file=sys.stderr, flush=True)
server.serve_forever(handle_exit=True)
"""


def start_pyftpdlib(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                    port: int = 0, pasv_range: Optional[PasvRange] = None) -> Peer:
    """pyftpdlib's FTPServer (one event loop, sendfile for RETR) with a DummyAuthorizer, run by
    the venv interpreter. Does not need root."""
    root, port, pasv_range, workdir = _prepare(root, port, pasv_range, "pyftpdlib")
    try:
        script = os.path.join(workdir, "serve.py")
        with open(script, "w") as f:
            f.write(_PYFTPDLIB_SCRIPT)
        argv = [VENV_PYTHON, script, root, user, password, str(port), str(pasv_range[0]),
                str(pasv_range[1]), str(MAX_CLIENTS)]
        return launch("pyftpdlib", argv, port, root, user, password, pasv_range, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# pure-ftpd


def start_pureftpd(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                   port: int = 0, pasv_range: Optional[PasvRange] = None) -> Peer:
    """pure-ftpd (unpacked by install.sh) in the foreground with a PureDB virtual user mapped
    to the system user `user`, chrooted into root. Its password file is written directly with a
    SHA-512 crypt hash (pure-pw would hash with argon2id: seconds per login)."""
    root, port, pasv_range, workdir = _prepare(root, port, pasv_range, "pureftpd")
    try:
        uid, gid = ensure_system_user(user, password)
        chown_tree(root, uid, gid)
        passwd = os.path.join(workdir, "pureftpd.passwd")
        pdb = os.path.join(workdir, "pureftpd.pdb")
        # account:hash:uid:gid:gecos:home/./ then 12 empty limit fields
        with open(passwd, "w") as f:
            f.write(f"{user}:{sha512_crypt(password)}:{uid}:{gid}::{root}/./" + ":" * 12 + "\n")
        os.chmod(passwd, 0o600)
        _run([PUREPW, "mkdb", pdb, "-f", passwd])
        # pure-ftpd caps its clients at half the passive window.
        maxc = min(MAX_CLIENTS, (pasv_range[1] - pasv_range[0] + 1) // 2)
        argv = [PUREFTPD,
                "-S", f"127.0.0.1,{port}",
                "-l", f"puredb:{pdb}",
                "-E",                # no anonymous
                "-A",                # chroot everyone
                "-H",                # no reverse DNS
                "-4",                # IPv4 only
                "-p", f"{pasv_range[0]}:{pasv_range[1]}",
                "-c", str(maxc),
                "-C", str(maxc),
                "-u", "1",           # allow the test user whatever its uid
                "-O", f"clf:{workdir}/transfer.log",
                "-f", "none",        # no syslog
                "-m", "100",         # do not refuse logins because of load average
                ]
        return launch("pure-ftpd", argv, port, root, user, password, pasv_range, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# ProFTPD


def start_proftpd(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                  port: int = 0, pasv_range: Optional[PasvRange] = None) -> Peer:
    """ProFTPD (unpacked by install.sh) standalone in the foreground (-n), AuthUserFile login
    (no PAM), chrooted into root, DelayEngine off, AllowStoreRestart on."""
    root, port, pasv_range, workdir = _prepare(root, port, pasv_range, "proftpd")
    try:
        uid, gid = ensure_system_user(user, password)
        chown_tree(root, uid, gid)
        users = os.path.join(workdir, "ftpd.passwd")
        groups = os.path.join(workdir, "ftpd.group")
        with open(users, "w") as f:
            f.write(f"{user}:{sha512_crypt(password)}:{uid}:{gid}::{root}:/bin/sh\n")
        with open(groups, "w") as f:
            f.write(f"{user}:x:{gid}:\n")
        os.chmod(users, 0o600)
        os.chmod(groups, 0o644)
        conf = os.path.join(workdir, "proftpd.conf")
        with open(conf, "w") as f:
            f.write(f"""\
ServerName "proftpd peer"
ServerType standalone
DefaultServer on
UseIPv6 off
DefaultAddress 127.0.0.1
SocketBindTight on
Port {port}
PassivePorts {pasv_range[0]} {pasv_range[1]}
User nobody
Group nogroup
Umask 022
MaxInstances {MAX_CLIENTS + 50}
MaxClients {MAX_CLIENTS}
MaxClientsPerHost {MAX_CLIENTS}
MaxLoginAttempts 100
UseReverseDNS off
ModulePath {PROFTPD_MODULES}
ModuleControlsACLs insmod,rmmod allow user root
AuthPAM off
AuthOrder mod_auth_file.c
AuthUserFile {users}
AuthGroupFile {groups}
RequireValidShell off
DefaultRoot ~
AllowOverwrite on
AllowStoreRestart on
DelayEngine off
WtmpLog off
PidFile {workdir}/proftpd.pid
ScoreboardFile {workdir}/proftpd.scoreboard
SystemLog {workdir}/proftpd.log
TransferLog none
TimeoutIdle 600
""")
        argv = [PROFTPD, "-n", "-q", "-c", conf]
        return launch("proftpd", argv, port, root, user, password, pasv_range, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


STARTERS: Dict[str, Callable[..., Peer]] = {
    "vsftpd": start_vsftpd,
    "pyftpdlib": start_pyftpdlib,
    "pureftpd": start_pureftpd,
    "proftpd": start_proftpd,
}
ALIASES = {"pure-ftpd": "pureftpd", "pure": "pureftpd", "pro": "proftpd"}


def start(name: str, root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
          port: int = 0, pasv_range: Optional[PasvRange] = None) -> Peer:
    """Start the named peer (vsftpd, pyftpdlib, pureftpd, proftpd)."""
    name = ALIASES.get(name, name)
    return STARTERS[name](root, user, password, port, pasv_range)


# --------------------------------------------------------------------------------------------
# self test


def selftest_one(name: str) -> None:
    import ftplib
    import io

    payload = os.urandom(3 * 1024 * 1024 + 17)
    with tempfile.TemporaryDirectory(prefix=f"ftp-selftest-{name}-") as root:
        os.chmod(root, 0o755)
        with start(name, root) as peer:
            for mode in ("PASV", "EPSV"):
                ftp = ftplib.FTP()
                ftp.connect("127.0.0.1", peer.port, timeout=10)
                ftp.login(peer.user, peer.password)
                ftp.set_pasv(True)
                if mode == "EPSV":
                    # ftplib sends EPSV instead of PASV when it believes the control
                    # connection is IPv6; the address of the 229 reply is the control peer.
                    ftp.af = socket.AF_INET6
                fname = f"up-{mode.lower()}.bin"
                ftp.storbinary(f"STOR {fname}", io.BytesIO(payload))
                got = io.BytesIO()
                ftp.retrbinary(f"RETR {fname}", got.write)
                if got.getvalue() != payload:
                    raise AssertionError(f"{name} {mode}: RETR returned {len(got.getvalue())} "
                                         f"bytes, expected {len(payload)}")
                lines: List[str] = []
                ftp.retrlines("LIST", lines.append)
                if not any(fname in line for line in lines):
                    raise AssertionError(f"{name} {mode}: {fname} missing from LIST {lines!r}")
                ftp.quit()
                on_disk = os.path.getsize(os.path.join(root, fname))
                if on_disk != len(payload):
                    raise AssertionError(f"{name} {mode}: stored {on_disk} bytes")
            print(f"ok   {name:10} port={peer.port} pid={peer.pid} rss={peer.rss_bytes() >> 10} KiB "
                  f"(login, STOR, RETR, LIST over PASV and EPSV)")


# --------------------------------------------------------------------------------------------
# CLI


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("start", help="run one peer in the foreground until Ctrl-C/SIGTERM")
    sp.add_argument("name", choices=sorted(set(STARTERS) | set(ALIASES)))
    sp.add_argument("--root", required=True)
    sp.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    sp.add_argument("--user", default=DEFAULT_USER)
    sp.add_argument("--password", default=DEFAULT_PASSWORD)
    sp.add_argument("--passive-ports", type=parse_range, default=None, metavar="FROM-TO")
    st = sub.add_parser("selftest", help="check peers with ftplib")
    st.add_argument("names", nargs="*", default=["vsftpd", "pyftpdlib", "pureftpd", "proftpd"])
    args = ap.parse_args(argv)

    if args.cmd == "selftest":
        failed = 0
        for name in args.names:
            try:
                selftest_one(ALIASES.get(name, name))
            except Exception as e:  # report every peer, then fail
                failed += 1
                print(f"FAIL {name}: {e}")
        return 1 if failed else 0

    stop_now = []

    def on_signal(signum, _frame):
        stop_now.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        peer = start(args.name, args.root, args.user, args.password, args.port,
                     args.passive_ports)
    except Exception as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        print(f"ready {peer.name} port={peer.port} pid={peer.pid}", flush=True)
        print(f"{peer.name} ready on 127.0.0.1:{peer.port} (user {peer.user})", file=sys.stderr,
              flush=True)
        while not stop_now and peer.alive():
            time.sleep(0.2)
        if not peer.alive():
            print(f"{peer.name} exited with status {peer.proc.returncode}\n{peer.log()}",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        peer.stop()


if __name__ == "__main__":
    sys.exit(main())
