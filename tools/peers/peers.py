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

FTPS: ``--tls-cert PEM [--tls-key PEM]`` turns on explicit FTPS (AUTH TLS); ``--tls-required``
refuses cleartext logins and data; ``--tls-reuse`` / ``--no-tls-reuse`` make the server require
(or not) that each data connection resumes the control connection's TLS session (absent: the
server's own default); ``--implicit`` serves implicit FTPS (TLS from the first byte). The same
exist as keyword arguments of every ``start_*`` function (``tls_cert``, ``tls_key``,
``tls_required``, ``tls_reuse``, ``implicit``); an option a server cannot honour raises
``ValueError`` (see :data:`TLS_SUPPORT`). :func:`make_test_cert` writes a throwaway certificate
and key; :class:`FTPS` is an ``ftplib.FTP_TLS`` whose data connections resume the control
session and which can speak implicit FTPS. ``selftest --tls`` checks every TLS mode with ftplib
and curl and prints a matrix. With TLS the ready line gains ``tls=explicit`` or ``tls=implicit``.

Standard library only; runs with /usr/bin/python3 or the venv interpreter.
"""

from __future__ import annotations

import argparse
import ftplib
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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


# --------------------------------------------------------------------------------------------
# TLS


@dataclass(frozen=True)
class TlsConfig:
    """How a peer serves FTPS. reuse=None leaves the server's default (vsftpd and ProFTPD
    require the data connection to resume the control connection's TLS session; pyftpdlib and
    pure-ftpd never check). Keep the certificate files until the peer stops: ProFTPD and
    pyftpdlib read them again after start-up (a removed file fails the next AUTH TLS)."""

    cert: str
    key: str
    required: bool = False
    reuse: Optional[bool] = None
    implicit: bool = False

    @property
    def mode(self) -> str:
        return "implicit" if self.implicit else "explicit"


# What each server can be told to do (checked by selftest --tls):
#   implicit      implicit FTPS (TLS from the first byte)
#   require_reuse can be made to refuse a data connection that does not resume the control
#                 connection's TLS session
#   no_reuse      can be made to accept one (for pyftpdlib and pure-ftpd that is all they do)
TLS_SUPPORT: Dict[str, Dict[str, bool]] = {
    "vsftpd": {"implicit": True, "require_reuse": True, "no_reuse": True},
    "proftpd": {"implicit": True, "require_reuse": True, "no_reuse": True},
    # pyftpdlib's TLS_FTPHandler has no implicit mode and no session-reuse check.
    "pyftpdlib": {"implicit": False, "require_reuse": False, "no_reuse": True},
    # Debian's pure-ftpd is built with TLS (-Y, -2) but not with --with-implicittls (a
    # compile-time switch that makes the whole server implicit-only); it has no reuse check.
    "pureftpd": {"implicit": False, "require_reuse": False, "no_reuse": True},
}


def tls_config(name: str, tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
               tls_required: bool = False, tls_reuse: Optional[bool] = None,
               implicit: bool = False) -> Optional[TlsConfig]:
    """The TlsConfig for the keyword arguments of a start_* function (None: plain FTP), or
    ValueError when the options are inconsistent or the server cannot honour them."""
    if tls_cert is None:
        if tls_key is not None or tls_required or tls_reuse is not None or implicit:
            raise ValueError(f"{name}: TLS options need a certificate (tls_cert / --tls-cert)")
        return None
    cert = os.path.abspath(tls_cert)
    key = os.path.abspath(tls_key) if tls_key else cert  # a PEM holding both
    for path in {cert, key}:
        if not os.path.isfile(path):
            raise ValueError(f"{name}: no such file {path}")
    support = TLS_SUPPORT[name]
    if implicit and not support["implicit"]:
        raise ValueError(f"{name} does not support implicit FTPS")
    if tls_reuse and not support["require_reuse"]:
        raise ValueError(f"{name} cannot require TLS session reuse on data connections "
                         f"(it never checks it)")
    if tls_reuse is False and not support["no_reuse"]:
        raise ValueError(f"{name} cannot accept data connections without TLS session reuse")
    return TlsConfig(cert, key, bool(tls_required), tls_reuse, bool(implicit))


_CERT_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = {cn}
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,{key_usage}
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
"""


def make_test_cert(directory: str, key_type: str = "rsa",
                   common_name: str = "localhost") -> Tuple[str, str]:
    """Write a throwaway self-signed server certificate and its unencrypted key into directory
    (cert.pem, key.pem; the key mode 0600) with the openssl CLI, and return their paths.

    The certificate is an end-entity one: basicConstraints=critical,CA:FALSE,
    extendedKeyUsage=serverAuth, SAN DNS:localhost, IP:127.0.0.1, IP:::1. `openssl req -x509`
    with the system openssl.cnf marks it CA:TRUE (its v3_ca section), and rustls/webpki refuse a
    CA certificate as the server's own even when it is the trusted root (CaUsedAsEndEntity);
    hence a private config file instead of -addext. Trust it by adding cert.pem as the only
    root (OpenSSL and rustls accept a self-signed CA:FALSE leaf as its own trust anchor).
    key_type: "rsa" (2048 bits, works everywhere) or "ec" (P-256)."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    cnf = os.path.join(directory, "cert.cnf")
    if key_type == "rsa":
        newkey = ["-newkey", "rsa:2048"]
        usage = "digitalSignature,keyEncipherment"
    elif key_type == "ec":
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        usage = "digitalSignature"
    else:
        raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
    with open(cnf, "w") as f:
        f.write(_CERT_CONFIG.format(cn=common_name, key_usage=usage))
    try:
        old_umask = os.umask(0o077)
        try:
            out = subprocess.run(["openssl", "req", "-x509", "-new", "-nodes", "-config", cnf,
                                  "-sha256", "-days", "3650", *newkey, "-keyout", key,
                                  "-out", cert], capture_output=True, text=True)
        finally:
            os.umask(old_umask)
        if out.returncode != 0:
            raise RuntimeError(f"openssl req failed: {out.stderr.strip()}")
    finally:
        os.remove(cnf)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def insecure_client_context() -> ssl.SSLContext:
    """A client context that does not verify the server (readiness probes, curl -k
    equivalents)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class FTPS(ftplib.FTP_TLS):
    """ftplib.FTP_TLS that (a) resumes the control connection's TLS session on every protected
    data connection and (b) optionally speaks implicit FTPS.

    Stock FTP_TLS wraps data sockets with a fresh session, which vsftpd (522, then it drops the
    control connection) and ProFTPD (425) refuse by default. Passing session=control.session
    resumes it, with TLS 1.3 tickets too: the tickets arrive after the handshake and are read
    with the first replies, so the session is resumable once the 220/AUTH/login replies have
    been read. resume=False gives the stock behaviour. data_resumed records session_reused of
    each protected data connection."""

    def __init__(self, *args: Any, implicit: bool = False, resume: bool = True,
                 **kwargs: Any) -> None:
        self.implicit = implicit
        self.resume = resume
        self.data_resumed: List[bool] = []
        super().__init__(*args, **kwargs)

    def connect(self, host: str = "", port: int = 0, timeout: float = -999,
                source_address: Any = None) -> str:
        if not self.implicit:
            return super().connect(host, port, timeout, source_address)
        if host != "":
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if source_address is not None:
            self.source_address = source_address
        raw = socket.create_connection((self.host, self.port), self.timeout,
                                       source_address=self.source_address)
        try:
            self.sock = self.context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd: str, rest: Any = None) -> Tuple[socket.socket, Optional[int]]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.sock.session if self.resume else None
            try:
                conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                                session=session)
            except BaseException:
                conn.close()
                raise
            self.data_resumed.append(conn.session_reused)
        return conn, size


def connect_ftps(peer: "Peer", timeout: float = 10.0, resume: bool = True,
                 context: Optional[ssl.SSLContext] = None, prot_p: bool = True) -> FTPS:
    """An FTPS client logged in to a TLS peer (explicit or implicit as the peer serves), with
    PROT P unless prot_p is False. Without context the server is not verified."""
    if peer.tls is None:
        raise ValueError(f"{peer.name} does not serve TLS")
    ftp = FTPS(context=context or insecure_client_context(), implicit=peer.tls.implicit,
               resume=resume)
    ftp.connect("127.0.0.1", peer.port, timeout=timeout)
    ftp.login(peer.user, peer.password)
    if prot_p:
        ftp.prot_p()
    return ftp


# --------------------------------------------------------------------------------------------
# readiness


def wait_for_220(port: int, proc: subprocess.Popen, timeout: float = START_TIMEOUT,
                 implicit_tls: bool = False) -> None:
    """Connect until the server greets with 220, or raise (process died / timeout). With
    implicit_tls the probe does a TLS handshake (no verification) before reading the greeting:
    an implicit-FTPS server says nothing until it gets a ClientHello."""
    deadline = time.monotonic() + timeout
    last_err: Optional[str] = None
    ctx = insecure_client_context() if implicit_tls else None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering 220")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2.0) as raw:
                raw.settimeout(5.0)
                # wrap_socket detaches raw: the SSLSocket owns the descriptor from here on.
                with (ctx.wrap_socket(raw) if ctx is not None else raw) as s:
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
                 log_path: str, log_file, tls: Optional[TlsConfig] = None) -> None:
        self.name = name
        self.tls = tls  # None: plain FTP
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
        tls = f" tls={self.tls.mode}" if self.tls else ""
        return f"<Peer {self.name} 127.0.0.1:{self.port} pid={self.pid}{tls}>"


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
           ready_timeout: float = START_TIMEOUT, tls: Optional[TlsConfig] = None) -> Peer:
    """Run argv in a new session (its own process group) with stdin, stdout and stderr on a
    log file in workdir (vsftpd reports start-up errors on fd 0), wait for 220 on port (after
    a TLS handshake when tls is implicit)."""
    log_path = os.path.join(workdir, "server.log")
    log_file = open(log_path, "w+b")
    proc = subprocess.Popen(list(argv), stdin=log_file, stdout=log_file, stderr=log_file,
                            start_new_session=True, env=env, cwd=cwd, close_fds=True)
    peer = Peer(name, proc, port, root, user, password, pasv_range, workdir, log_path, log_file,
                tls)
    try:
        wait_for_220(port, proc, ready_timeout, implicit_tls=tls is not None and tls.implicit)
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
                 port: int = 0, pasv_range: Optional[PasvRange] = None,
                 *, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None, tls_required: bool = False,
                 tls_reuse: Optional[bool] = None, implicit: bool = False) -> Peer:
    """vsftpd: PAM login of the system user `user`, chrooted into root, one process per
    session (+ its privileged helper), sendfile for RETR. With tls_cert: FTPS (see the module
    docstring); vsftpd requires session reuse on data connections unless tls_reuse=False."""
    tls = tls_config("vsftpd", tls_cert, tls_key, tls_required, tls_reuse, implicit)
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
""")
            f.write(_vsftpd_tls_conf(tls))
        os.chmod(conf, 0o600)
        return launch("vsftpd", [VSFTPD, conf], port, root, user, password, pasv_range,
                      workdir, tls=tls)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _vsftpd_tls_conf(tls: Optional[TlsConfig]) -> str:
    if tls is None:
        return "ssl_enable=NO\n"
    # force_local_{logins,data}_ssl default to YES once ssl_enable=YES: set them both ways.
    # ssl_ciphers' default (DES-CBC3-SHA) is refused by OpenSSL 3: no cipher, no handshake.
    # ssl_request_cert defaults to YES (a CertificateRequest in every handshake); clients
    # without certificates cope, but it is noise: off. vsftpd loads the certificate at
    # start-up, as root. require_ssl_reuse defaults to YES; a refused data connection gets
    # "522 SSL connection failed: session reuse required" and the control connection is
    # closed. vsftpd (and pure-ftpd) offer only the P-256 ECDHE group: a TLS 1.3 client that
    # sends an X25519 key share first gets a HelloRetryRequest (curl, rustls: one more round
    # trip per connection), one that offers X25519 only fails with alert 40.
    yn = {True: "YES", False: "NO"}
    lines = [
        "ssl_enable=YES",
        f"rsa_cert_file={tls.cert}",
        f"rsa_private_key_file={tls.key}",
        "ssl_tlsv1=YES",
        "ssl_sslv2=NO",
        "ssl_sslv3=NO",
        "ssl_ciphers=HIGH",
        "ssl_request_cert=NO",
        "allow_anon_ssl=NO",
        f"force_local_logins_ssl={yn[tls.required]}",
        f"force_local_data_ssl={yn[tls.required]}",
        f"implicit_ssl={yn[tls.implicit]}",
    ]
    if tls.reuse is not None:
        lines.append(f"require_ssl_reuse={yn[tls.reuse]}")
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------------------------
# pyftpdlib

_PYFTPDLIB_SCRIPT = r"""
import json, logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

root, user, password, port, lo, hi, maxc = sys.argv[1:8]
tls = json.loads(sys.argv[8]) if len(sys.argv) > 8 else None
logging.basicConfig(level=logging.WARNING)
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elradfmwMT")
if tls:
    from pyftpdlib.handlers import TLS_FTPHandler as Base
else:
    Base = FTPHandler
class Handler(Base):
    pass
if tls:
    Handler.certfile = tls["cert"]
    Handler.keyfile = tls["key"]
    Handler.tls_control_required = tls["required"]
    Handler.tls_data_required = tls["required"]
Handler.authorizer = auth
if tls:
    Handler.get_ssl_context()  # a bad certificate or key fails the start, not the first AUTH
Handler.passive_ports = range(int(lo), int(hi) + 1)
Handler.use_sendfile = True
server = FTPServer(("127.0.0.1", int(port)), Handler)
server.max_cons = int(maxc)
server.max_cons_per_ip = int(maxc)
print("pyftpdlib ready", file=sys.stderr, flush=True)
server.serve_forever(handle_exit=True)
"""


def start_pyftpdlib(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                    port: int = 0, pasv_range: Optional[PasvRange] = None,
                    *, tls_cert: Optional[str] = None,
                    tls_key: Optional[str] = None, tls_required: bool = False,
                    tls_reuse: Optional[bool] = None, implicit: bool = False) -> Peer:
    """pyftpdlib's FTPServer (one event loop, sendfile for RETR) with a DummyAuthorizer, run by
    the venv interpreter. Does not need root. With tls_cert: TLS_FTPHandler (pyOpenSSL),
    explicit FTPS only; tls_required sets tls_control_required and tls_data_required.
    pyftpdlib never checks that a data connection resumes the control's TLS session, so
    tls_reuse=True and implicit=True raise ValueError (tls_reuse=False is what it does)."""
    tls = tls_config("pyftpdlib", tls_cert, tls_key, tls_required, tls_reuse, implicit)
    root, port, pasv_range, workdir = _prepare(root, port, pasv_range, "pyftpdlib")
    try:
        script = os.path.join(workdir, "serve.py")
        with open(script, "w") as f:
            f.write(_PYFTPDLIB_SCRIPT)
        argv = [VENV_PYTHON, script, root, user, password, str(port), str(pasv_range[0]),
                str(pasv_range[1]), str(MAX_CLIENTS)]
        if tls is not None:
            # TLS_FTPHandler turns sendfile off for protected data connections by itself.
            argv.append(json.dumps({"cert": tls.cert, "key": tls.key,
                                    "required": tls.required}))
        return launch("pyftpdlib", argv, port, root, user, password, pasv_range, workdir,
                      tls=tls)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# pure-ftpd


def start_pureftpd(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                   port: int = 0, pasv_range: Optional[PasvRange] = None,
                   *, tls_cert: Optional[str] = None,
                   tls_key: Optional[str] = None, tls_required: bool = False,
                   tls_reuse: Optional[bool] = None, implicit: bool = False) -> Peer:
    """pure-ftpd (unpacked by install.sh) in the foreground with a PureDB virtual user mapped
    to the system user `user`, chrooted into root. Its password file is written directly with a
    SHA-512 crypt hash (pure-pw would hash with argon2id: seconds per login). With tls_cert:
    explicit FTPS (-Y 1, or -Y 3 with tls_required: cleartext logins and data refused).
    No implicit mode and no session-reuse check in this build: implicit=True and
    tls_reuse=True raise ValueError."""
    tls = tls_config("pureftpd", tls_cert, tls_key, tls_required, tls_reuse, implicit)
    if tls is not None and ("," in tls.cert or "," in tls.key):
        raise ValueError("pure-ftpd: -2 CERT,KEY cannot take a path with a comma")
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
        if tls is not None:
            # -Y 2 would refuse cleartext logins only; -Y 3 also cleartext data. With TLS
            # required a cleartext USER gets 421 but the connection stays open. Like vsftpd
            # it offers only the P-256 ECDHE group, and over TLS 1.3 it sends no session
            # ticket, so data connections are never resumed (it does not require them to be).
            argv += ["-Y", "3" if tls.required else "1", "-2", f"{tls.cert},{tls.key}"]
        return launch("pure-ftpd", argv, port, root, user, password, pasv_range, workdir,
                      tls=tls)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# ProFTPD


def start_proftpd(root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                  port: int = 0, pasv_range: Optional[PasvRange] = None,
                  *, tls_cert: Optional[str] = None,
                  tls_key: Optional[str] = None, tls_required: bool = False,
                  tls_reuse: Optional[bool] = None, implicit: bool = False) -> Peer:
    """ProFTPD (unpacked by install.sh) standalone in the foreground (-n), AuthUserFile login
    (no PAM), chrooted into root, DelayEngine off, AllowStoreRestart on. With tls_cert: mod_tls
    (from proftpd-mod-crypto, loaded from the unpacked tree), TLSRequired per tls_required,
    session reuse required unless tls_reuse=False, TLSOptions UseImplicitSSL for implicit."""
    tls = tls_config("proftpd", tls_cert, tls_key, tls_required, tls_reuse, implicit)
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
            f.write(_proftpd_tls_conf(tls, workdir))
        argv = [PROFTPD, "-n", "-q", "-c", conf]
        return launch("proftpd", argv, port, root, user, password, pasv_range, workdir,
                      tls=tls)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _proftpd_tls_conf(tls: Optional[TlsConfig], workdir: str) -> str:
    if tls is None:
        return ""
    # mod_tls.so comes from proftpd-mod-crypto; ModulePath points into the unpacked tree and
    # LoadModule must follow it. ProFTPD 1.3.8 has no generic TLSCertificateFile;
    # TLSRSACertificateFile also takes an EC (P-256) certificate (TLS 1.2 ECDSA and 1.3 work).
    # Session reuse is required by default (425 on a data connection that does not resume the
    # control's session); NoSessionReuseRequired turns it off. The certificate is checked at
    # start-up and read again by every session (as root): it must outlive the peer.
    # UseImplicitSSL also protects the data connections of a client that sends no PROT
    # (vsftpd's implicit mode does not). TLSLog goes to tls.log in the peer's folder.
    options = []
    if tls.reuse is False:
        options.append("NoSessionReuseRequired")
    if tls.implicit:
        options.append("UseImplicitSSL")
    lines = [
        "LoadModule mod_tls.c",
        "<IfModule mod_tls.c>",
        "TLSEngine on",
        f"TLSLog {workdir}/tls.log",
        "TLSProtocol TLSv1.2 TLSv1.3",
        f"TLSRSACertificateFile {tls.cert}",
        f"TLSRSACertificateKeyFile {tls.key}",
        "TLSVerifyClient off",
        "TLSRenegotiate none",
        f"TLSRequired {'on' if tls.required else 'off'}",
    ]
    if options:
        lines.append("TLSOptions " + " ".join(options))
    lines.append("</IfModule>")
    return "".join(line + "\n" for line in lines)


STARTERS: Dict[str, Callable[..., Peer]] = {
    "vsftpd": start_vsftpd,
    "pyftpdlib": start_pyftpdlib,
    "pureftpd": start_pureftpd,
    "proftpd": start_proftpd,
}
ALIASES = {"pure-ftpd": "pureftpd", "pure": "pureftpd", "pro": "proftpd"}


def start(name: str, root: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
          port: int = 0, pasv_range: Optional[PasvRange] = None, **tls: Any) -> Peer:
    """Start the named peer (vsftpd, pyftpdlib, pureftpd, proftpd). Keyword arguments tls_cert,
    tls_key, tls_required, tls_reuse and implicit turn on FTPS (see start_vsftpd)."""
    name = ALIASES.get(name, name)
    return STARTERS[name](root, user, password, port, pasv_range, **tls)


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


# The FTPS modes selftest --tls tries on every peer: (label, start_* keyword arguments).
TLS_CASES: List[Tuple[str, Dict[str, Any]]] = [
    ("explicit", {}),
    ("required", {"tls_required": True}),
    ("reuse", {"tls_reuse": True}),
    ("no-reuse", {"tls_reuse": False}),
    ("implicit", {"implicit": True}),
    ("implicit+req", {"implicit": True, "tls_required": True}),
]
# Servers that refuse a data connection without session resumption when not told otherwise.
REUSE_BY_DEFAULT = {"vsftpd", "proftpd"}


def _outcome(fn: Callable[[], Any]) -> Tuple[bool, str]:
    """(True, "") when fn() succeeds, else (False, a one-line reason)."""
    try:
        fn()
        return True, ""
    except Exception as e:  # any failure is an outcome to report
        text = f"{type(e).__name__}: {e}".replace("\n", " ")
        return False, text[:160]


def _tls_transfers(peer: Peer, payload: bytes, context: ssl.SSLContext,
                   notes: List[str]) -> None:
    """Login, PROT P, STOR + RETR (compared) + LIST over PASV and EPSV, with data connections
    that resume the control session; the stored size is checked on disk (a 226 is not proof:
    see the TLS 1.3 close race in _curl_checks). Notes the TLS version and how many data
    connections were resumed."""
    import io

    resumed: List[bool] = []
    version = ""
    ticket = True
    for mode in ("PASV", "EPSV"):
        ftp = connect_ftps(peer, context=context)
        try:
            version = ftp.sock.version() or "?"
            session = ftp.sock.session
            ticket = ticket and session is not None and session.has_ticket
            ftp.set_pasv(True)
            if mode == "EPSV":
                ftp.af = socket.AF_INET6  # makes ftplib send EPSV (see selftest_one)
            fname = f"tls-{mode.lower()}.bin"
            ftp.storbinary(f"STOR {fname}", io.BytesIO(payload))
            got = io.BytesIO()
            ftp.retrbinary(f"RETR {fname}", got.write)
            if got.getvalue() != payload:
                raise AssertionError(f"{mode}: RETR returned {len(got.getvalue())} bytes, "
                                     f"expected {len(payload)}")
            lines: List[str] = []
            ftp.retrlines("LIST", lines.append)
            if not any(fname in line for line in lines):
                raise AssertionError(f"{mode}: {fname} missing from LIST")
            resumed += ftp.data_resumed
            ftp.quit()
        finally:
            ftp.close()
        on_disk = os.path.getsize(os.path.join(peer.root, fname))
        if on_disk != len(payload):
            raise AssertionError(f"{mode}: stored {on_disk} of {len(payload)} bytes")
    if resumed and all(resumed):
        notes.append(f"{version} resumed")
    else:
        # pure-ftpd sends no TLS 1.3 session ticket: nothing to resume, every data connection
        # is a full handshake (it does not require resumption). Over TLS 1.2 it resumes.
        why = ", no ticket" if not ticket and version == "TLSv1.3" else ""
        notes.append(f"{version} resumed {sum(resumed)}/{len(resumed)}{why}")


def _curl_checks(peer: Peer, payload_path: str, workdir: str) -> None:
    """curl upload (EPSV), download (PASV) and listing; ftp:// with --ssl-reqd for explicit
    FTPS, ftps:// for implicit. curl resumes the control session on data connections.

    The upload is pinned to TLS 1.2: curl 7.88.1 ends an upload by sending close_notify and
    closing the data socket at once, without reading what the server sent on it. Over TLS 1.3
    the server's NewSessionTicket can arrive after that close; the kernel answers with RST and
    the server loses the data still unread in its receive queue. Against vsftpd about 1
    upload in 5 of 1 MiB ends with 426 and 114,688 bytes stored (seen with strace: one
    non-blocking read, close_notify, close); pyftpdlib, pure-ftpd and ProFTPD were not seen to
    lose data with curl. TLS 1.3 uploads are checked with ftplib (which unwraps, i.e. completes
    the close_notify exchange, before closing)."""
    assert peer.tls is not None
    scheme = "ftps" if peer.tls.implicit else "ftp"
    base = f"{scheme}://127.0.0.1:{peer.port}/"
    curl = ["curl", "-sS", "-k", "--ssl-reqd", "--max-time", "60",
            "--user", f"{peer.user}:{peer.password}"]

    def run(args: List[str]) -> str:
        out = subprocess.run(curl + args, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"curl {' '.join(args)} exit {out.returncode}: "
                               f"{out.stderr.strip()}")
        return out.stdout

    run(["--tls-max", "1.2", "-T", payload_path, base + "curl.bin"])
    size = os.path.getsize(os.path.join(peer.root, "curl.bin"))
    if size != os.path.getsize(payload_path):
        raise AssertionError(f"curl upload stored {size} bytes")
    back = os.path.join(workdir, "curl-back.bin")
    run(["--disable-epsv", "-o", back, base + "curl.bin"])
    with open(back, "rb") as a, open(payload_path, "rb") as b:
        if a.read() != b.read():
            raise AssertionError("curl download differs")
    if "curl.bin" not in run([base]):
        raise AssertionError("curl.bin missing from the curl listing")


def selftest_tls_one(name: str, label: str, kwargs: Dict[str, Any], cert: str, key: str,
                     payload: bytes, payload_path: str, workdir: str) -> Dict[str, str]:
    """One row of the selftest --tls matrix. Cells: "ok", "refused", "accepted", "n/a",
    "FAIL…" (a failure or an unexpected outcome makes the row fail)."""
    row = {"peer": name, "mode": label}
    support = TLS_SUPPORT[name]
    unsupported = ((kwargs.get("implicit") and not support["implicit"])
                   or (kwargs.get("tls_reuse") is True and not support["require_reuse"])
                   or (kwargs.get("tls_reuse") is False and not support["no_reuse"]))
    with tempfile.TemporaryDirectory(prefix=f"ftp-selftest-tls-{name}-") as root:
        os.chmod(root, 0o755)
        try:
            peer = start(name, root, tls_cert=cert, tls_key=key, **kwargs)
        except ValueError as e:
            if unsupported:
                row["start"] = "n/a"
                row["notes"] = f"refused: {e}"
                return row
            raise
        if unsupported:
            peer.stop()
            row["start"] = "FAIL (started although unsupported)"
            return row
        with peer:
            assert peer.tls is not None
            row["start"] = "ok"
            notes: List[str] = []
            # The client checks the certificate: cert.pem is the only trust anchor and the
            # name checked is the IP SAN 127.0.0.1.
            verify = ssl.create_default_context(cafile=cert)
            ok, why = _outcome(lambda: _tls_transfers(peer, payload, verify, notes))
            row["ftplib"] = "ok" if ok else f"FAIL {why}"
            verify12 = ssl.create_default_context(cafile=cert)
            verify12.maximum_version = ssl.TLSVersion.TLSv1_2
            ok, why = _outcome(lambda: _tls_transfers(peer, payload, verify12, notes))
            row["ftplib-1.2"] = "ok" if ok else f"FAIL {why}"
            if shutil.which("curl"):
                ok, why = _outcome(lambda: _curl_checks(peer, payload_path, workdir))
                row["curl"] = "ok" if ok else f"FAIL {why}"
            else:
                row["curl"] = "n/a (no curl)"

            def expect(cell: str, fn: Callable[[], Any], accepted_expected: bool) -> None:
                ok, why = _outcome(fn)
                word = "accepted" if ok else "refused"
                if ok != accepted_expected:
                    word = f"FAIL {word}" + (f" ({why})" if why else "")
                row[cell] = word

            def clear_login() -> None:
                ftp = ftplib.FTP()
                try:
                    ftp.connect("127.0.0.1", peer.port, timeout=10)
                    ftp.login(peer.user, peer.password)
                    ftp.voidcmd("NOOP")
                finally:
                    ftp.close()

            def listing(resume: bool, prot_p: bool) -> None:
                ftp = connect_ftps(peer, resume=resume, prot_p=prot_p)
                try:
                    if not prot_p:
                        # An explicit PROT C: with UseImplicitSSL ProFTPD protects data
                        # connections of a client that sent no PROT (vsftpd does not), and a
                        # client expecting cleartext then waits forever.
                        ftp.voidcmd("PBSZ 0")
                        ftp.prot_c()
                    ftp.set_pasv(True)
                    ftp.retrlines("LIST", lambda _line: None)
                    ftp.voidcmd("NOOP")
                finally:
                    ftp.close()

            if peer.tls.implicit:
                row["clear login"] = "n/a"
            else:
                expect("clear login", clear_login, not peer.tls.required)
            expect("clear data", lambda: listing(True, False), not peer.tls.required)
            reuse_required = peer.tls.reuse if peer.tls.reuse is not None \
                else name in REUSE_BY_DEFAULT
            expect("no-resume data", lambda: listing(False, True), not reuse_required)
            row["notes"] = ", ".join(notes)
    return row


def selftest_tls(names: Sequence[str]) -> int:
    """selftest --tls: every peer in every FTPS mode (TLS_CASES); prints a matrix and returns
    the exit status (1 when any cell failed)."""
    columns = ["peer", "mode", "start", "ftplib", "ftplib-1.2", "curl", "clear login",
               "clear data", "no-resume data", "notes"]
    rows: List[Dict[str, str]] = []
    payload = os.urandom(1 << 20)
    with tempfile.TemporaryDirectory(prefix="ftp-selftest-tls-") as workdir:
        os.chmod(workdir, 0o755)
        cert, key = make_test_cert(os.path.join(workdir, "cert"))
        payload_path = os.path.join(workdir, "payload.bin")
        with open(payload_path, "wb") as f:
            f.write(payload)
        for name in names:
            for label, kwargs in TLS_CASES:
                try:
                    row = selftest_tls_one(name, label, kwargs, cert, key, payload,
                                           payload_path, workdir)
                except Exception as e:  # report every row, then fail
                    row = {"peer": name, "mode": label,
                           "start": f"FAIL {e}".splitlines()[0][:200]}
                rows.append(row)
                print(f"{name} {label}: " + "  ".join(f"{c}={row[c]}" for c in columns[2:]
                                                      if c in row),
                      file=sys.stderr, flush=True)
    # The matrix shows the first word of each cell; failures are spelled out below it.
    table = [[r.get(c, "-") if c == "notes" else r.get(c, "-").split(" ", 1)[0]
              for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for t in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(t, widths)).rstrip())
    failures = [f"{r['peer']} {r['mode']} {c}: {r[c]}" for r in rows for c in columns
                if r.get(c, "").startswith("FAIL")]
    for line in failures:
        print(line)
    return 1 if failures else 0


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
    sp.add_argument("--tls-cert", metavar="PEM",
                    help="serve FTPS (explicit, AUTH TLS) with this certificate (chain)")
    sp.add_argument("--tls-key", metavar="PEM",
                    help="its private key (default: in the --tls-cert file)")
    sp.add_argument("--tls-required", action="store_true",
                    help="refuse cleartext logins and cleartext data connections")
    sp.add_argument("--tls-reuse", action=argparse.BooleanOptionalAction, default=None,
                    help="require (or not) that data connections resume the control "
                         "connection's TLS session (default: the server's own; vsftpd and "
                         "ProFTPD require it, pyftpdlib and pure-ftpd cannot)")
    sp.add_argument("--implicit", action="store_true",
                    help="implicit FTPS, TLS from the first byte (vsftpd, proftpd)")
    st = sub.add_parser("selftest", help="check peers with ftplib (and curl with --tls)")
    st.add_argument("names", nargs="*", default=["vsftpd", "pyftpdlib", "pureftpd", "proftpd"])
    st.add_argument("--tls", action="store_true",
                    help="check every FTPS mode instead (ftplib and curl) and print a matrix")
    args = ap.parse_args(argv)

    if args.cmd == "selftest" and args.tls:
        return selftest_tls([ALIASES.get(n, n) for n in args.names])
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
    tls_args: Dict[str, Any] = {}
    if args.tls_cert is not None or args.tls_key is not None or args.tls_required \
            or args.tls_reuse is not None or args.implicit:
        tls_args = dict(tls_cert=args.tls_cert, tls_key=args.tls_key,
                        tls_required=args.tls_required, tls_reuse=args.tls_reuse,
                        implicit=args.implicit)
    try:
        peer = start(args.name, args.root, args.user, args.password, args.port,
                     args.passive_ports, **tls_args)
    except Exception as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        tls_word = f" tls={peer.tls.mode}" if peer.tls else ""
        print(f"ready {peer.name} port={peer.port} pid={peer.pid}{tls_word}", flush=True)
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
