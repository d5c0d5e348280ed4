#!/usr/bin/env python3
"""One FTPS interop cell with Python's ftplib.FTP_TLS.

usage: ftplib_tls.py HOST PORT MODE TLS REUSE CAFILE ROOT WORK

MODE   pasv | epsv | active
TLS    explicit | implicit
REUSE  reuse: data connections resume the control connection's TLS session (as curl and
       lftp do); plain: stock FTP_TLS behaviour (a fresh session per data connection)
CAFILE the CA the server certificate must chain to (verification stays on)

Logs in as alice/secret, PROT P, then: STOR work/up.bin, RETR it back, LIST, and five more
RETRs of data.bin, comparing bytes with the served files. Prints "OK" on success. With
REUSE=plain it expects the server to refuse the first data connection with 522 and prints
"REFUSED 522 ..." instead.
"""

import ftplib
import io
import os
import socket
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


class ImplicitFTP_TLS(ReusingFTP_TLS):
    """Implicit FTPS: TLS from the first byte of the control connection."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port), self.timeout)
        self.af = self.sock.family
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def main():
    host, port, mode, tls, reuse, cafile, root, work = sys.argv[1:9]
    context = ssl.create_default_context(cafile=cafile)
    if tls == "implicit":
        ftp = ImplicitFTP_TLS(context=context, timeout=30)
    elif reuse == "reuse":
        ftp = ReusingFTP_TLS(context=context, timeout=30)
    else:
        ftp = ftplib.FTP_TLS(context=context, timeout=30)
    ftp.connect(host, int(port))
    if tls == "explicit":
        ftp.auth()
    ftp.login("alice", "secret")
    ftp.prot_p()
    if mode == "active":
        ftp.set_pasv(False)
    elif mode == "epsv":
        # ftplib sends EPSV only on IPv6 control connections; force it on IPv4 too.
        ftp.makepasv = lambda: ftplib.parse229(ftp.sendcmd("EPSV"), ftp.sock.getpeername())

    if reuse == "plain":
        try:
            ftp.retrbinary("RETR data.bin", lambda _: None)
        except (ftplib.error_temp, ftplib.error_perm) as e:
            print("REFUSED", e)
            return
        except OSError as e:
            # The server closed the data connection after the handshake; its reply follows.
            try:
                resp = ftp.getresp()
            except (ftplib.error_temp, ftplib.error_perm) as refusal:
                print("REFUSED", refusal)
                return
            raise SystemExit(f"data connection failed ({e}); the server said {resp}")
        raise SystemExit("the server accepted a data connection that did not resume the session")
    with open(os.path.join(work, "up.bin"), "rb") as f:
        up = f.read()
    ftp.storbinary("STOR tls-up.bin", io.BytesIO(up))
    with open(os.path.join(root, "tls-up.bin"), "rb") as f:
        stored = f.read()
    if stored != up:
        raise SystemExit(f"stored {len(stored)} bytes, sent {len(up)}")
    back = io.BytesIO()
    ftp.retrbinary("RETR tls-up.bin", back.write)
    if back.getvalue() != up:
        raise SystemExit("RETR differs from STOR")
    lines = []
    ftp.retrlines("LIST", lines.append)
    if not any(l.endswith("tls-up.bin") for l in lines):
        raise SystemExit(f"LIST lacks tls-up.bin: {lines}")
    with open(os.path.join(root, "data.bin"), "rb") as f:
        data = f.read()
    for _ in range(5):
        buf = io.BytesIO()
        ftp.retrbinary("RETR data.bin", buf.write)
        if buf.getvalue() != data:
            raise SystemExit("RETR data.bin differs")
    ftp.quit()
    print("OK")


if __name__ == "__main__":
    main()
