# One interop cell driven by Python's ftplib: python3 ftplib_cell.py HOST PORT MODE ROOT WORK
# MODE is EPSV, PASV, PORT or EPRT. Every transfer is checked against files (never replies):
# downloads against WORK/orig.bin, uploads by reading the served file under ROOT.
import ftplib
import io
import os
import socket
import sys
import time

host, port, mode, root, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
tag = mode + ("6" if ":" in host else "4")
sent = []


class Client(ftplib.FTP):
    """ftplib with the data-connection mode forced (stock ftplib picks PASV/PORT on IPv4)."""

    def putcmd(self, line):
        sent.append(line.split(" ")[0].upper())
        super().putcmd(line)

    def makepasv(self):
        if mode == "PASV":
            h, p = ftplib.parse227(self.sendcmd("PASV"))
            # The announced address must be the one we connected to.
            assert h == self.sock.getpeername()[0], (h, self.sock.getpeername())
            return h, p
        return ftplib.parse229(self.sendcmd("EPSV"), self.sock.getpeername())

    def makeport(self):
        local = self.sock.getsockname()[0]
        fam = socket.AF_INET6 if ":" in local else socket.AF_INET
        sock = socket.create_server((local, 0), family=fam, backlog=1)
        p = sock.getsockname()[1]
        if mode == "PORT":
            self.sendport(local, p)
        else:
            self.sendcmd("EPRT |%d|%s|%d|" % (1 if fam == socket.AF_INET else 2, local, p))
        sock.settimeout(20)
        return sock


def served(name):
    with open(os.path.join(root, name), "rb") as f:
        return f.read()


def get(ftp, cmd, rest=None):
    buf = io.BytesIO()
    ftp.retrbinary(cmd, buf.write, rest=rest)
    return buf.getvalue()


with open(os.path.join(work, "orig.bin"), "rb") as f:
    orig = f.read()
with open(os.path.join(work, "up.bin"), "rb") as f:
    up = f.read()
with open(os.path.join(work, "tail.bin"), "rb") as f:
    tail = f.read()

ftp = Client(timeout=20)
ftp.connect(host, port)
ftp.login("alice", "secret")
ftp.set_pasv(mode in ("EPSV", "PASV"))
assert ftp.pwd() == "/"

# LIST, NLST, MLSD, MLST
lines = []
ftp.retrlines("LIST", lines.append)
assert any(l.endswith(" data.bin") and str(len(orig)) in l.split() for l in lines), lines
assert any(l.startswith("d") and l.endswith(" dir") for l in lines), lines
names = ftp.nlst()
assert "data.bin" in names and "dir" in names, names
facts = dict(ftp.mlsd())
assert facts["data.bin"]["type"] == "file", facts
assert int(facts["data.bin"]["size"]) == len(orig), facts
assert facts["dir"]["type"] == "dir", facts
r = ftp.sendcmd("MLST data.bin")
mlst = r.split("\n")
assert mlst[0].startswith("250-") and mlst[-1].startswith("250 "), r
assert mlst[1].startswith(" ") and ("size=%d;" % len(orig)) in mlst[1].lower(), r

# RETR (to a local file, compared with the original), REST download
dl = os.path.join(work, "dl_%s.bin" % tag)
with open(dl, "wb") as f:
    ftp.retrbinary("RETR data.bin", f.write)
with open(dl, "rb") as f:
    assert f.read() == orig, "RETR differs"
off = len(orig) // 3 + 7
assert get(ftp, "RETR data.bin", rest=off) == orig[off:], "REST+RETR differs"
assert get(ftp, "RETR dir/inner.txt") == b"inner file\n"

# STOR, APPE, REST upload
name = "up_%s.bin" % tag
ftp.storbinary("STOR " + name, io.BytesIO(up))
assert served(name) == up, "STOR differs"
ftp.storbinary("APPE " + name, io.BytesIO(tail))
assert served(name) == up + tail, "APPE differs"
res = "res_%s.bin" % tag
half = len(up) // 2 + 3
ftp.storbinary("STOR " + res, io.BytesIO(up[:half]))
ftp.storbinary("STOR " + res, io.BytesIO(up[half:]), rest=half)
assert served(res) == up, "REST+STOR differs"

# SIZE, MDTM
assert ftp.size("data.bin") == len(orig)
r = ftp.sendcmd("MDTM data.bin")
want = time.strftime("%Y%m%d%H%M%S", time.gmtime(os.stat(os.path.join(root, "data.bin")).st_mtime))
assert r.split()[0] == "213" and r.split()[1][:14] == want, (r, want)

# RNFR/RNTO, DELE, MKD, CWD, RMD
ren = "ren_%s.bin" % tag
ftp.rename(name, ren)
assert not os.path.exists(os.path.join(root, name)) and served(ren) == up + tail
ftp.delete(ren)
assert not os.path.exists(os.path.join(root, ren))
d = "d_%s" % tag
assert ftp.mkd(d) == "/" + d
assert os.path.isdir(os.path.join(root, d))
ftp.cwd(d)
assert ftp.pwd() == "/" + d
ftp.storbinary("STOR x.bin", io.BytesIO(tail))
assert served(d + "/x.bin") == tail
ftp.delete("x.bin")
ftp.cwd("..")
ftp.rmd(d)
assert not os.path.exists(os.path.join(root, d))
ftp.delete(res)
ftp.quit()

want_mode = {"EPSV": "EPSV", "PASV": "PASV", "PORT": "PORT", "EPRT": "EPRT"}[mode]
assert want_mode in sent, sent
print("OK", tag, " ".join(sorted(set(sent))))
