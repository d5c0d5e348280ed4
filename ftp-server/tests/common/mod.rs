//! Shared helpers of the integration tests: an in-process server on a background thread, a raw
//! control-connection client, and external clients (curl, lftp, python3) run with deadlines.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ftp_server::auth::UserTable;
use ftp_server::runtime::Runtime;
use ftp_server::storage::FsStorage;
use ftp_server::{Server, ServerBuilder};

/// The read-write user.
pub const RW_USER: &str = "alice";
pub const RW_PASS: &str = "secret";
/// The read-only user.
pub const RO_USER: &str = "bob";
pub const RO_PASS: &str = "readonly";

/// The size of `data.bin`, the file every server starts with (not a multiple of any buffer).
pub const DATA_LEN: usize = 1536 * 1024 + 321;
/// The modification time of `data.bin`: 2001-02-03 04:05:06 UTC.
pub const DATA_MTIME: u64 = 981_173_106;

/// How long any single external command may run before the test fails.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

pub type Builder = ServerBuilder<FsStorage, UserTable>;

/// Which runtime the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rt {
    Tokio,
    #[cfg(feature = "async-std")]
    AsyncStd,
}

/// A server running in-process on its own thread, serving `root` (a temporary directory).
///
/// Files present at start: `root/data.bin` (`DATA_LEN` pseudo-random bytes), `root/dir/inner.txt`;
/// and on the client side `work/orig.bin` (a copy of `data.bin`), `work/up.bin`, `work/tail.bin`.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    /// The directory served.
    pub root: PathBuf,
    /// Client-side scratch space (outside the served tree).
    pub work: PathBuf,
    pub v4: SocketAddr,
    pub v6: Option<SocketAddr>,
    /// The first implicit-TLS listener, if the configuration added one.
    pub implicit: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: mpsc::Receiver<io::Result<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Whether `[::1]` can be bound here.
pub fn ipv6_available() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// Starts a tokio server with the default test settings, then `configure`.
pub fn start(configure: impl FnOnce(Builder) -> Builder) -> TestServer {
    start_on(Rt::Tokio, configure)
}

/// Starts a server on `rt` with the default test settings, then `configure`.
pub fn start_on(rt: Rt, configure: impl FnOnce(Builder) -> Builder) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let work = dir.path().join("work");
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let data = pseudo_random(DATA_LEN, 1);
    std::fs::write(root.join("data.bin"), &data).unwrap();
    std::fs::File::options()
        .write(true)
        .open(root.join("data.bin"))
        .and_then(|f| f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(DATA_MTIME)))
        .unwrap();
    std::fs::write(work.join("orig.bin"), &data).unwrap();
    std::fs::write(root.join("dir/inner.txt"), b"inner file\n").unwrap();
    std::fs::write(work.join("up.bin"), pseudo_random(700 * 1024 + 13, 2)).unwrap();
    std::fs::write(work.join("tail.bin"), pseudo_random(100 * 1024 + 5, 3)).unwrap();

    let mut users = UserTable::with_iterations(1_000);
    users
        .add_user(RW_USER, RW_PASS.as_bytes())
        .set_writable(true);
    users.add_user(RO_USER, RO_PASS.as_bytes());
    let storage = FsStorage::new(&root).expect("storage");
    let mut builder = Server::builder(storage, users).listen("127.0.0.1:0".parse().unwrap());
    if ipv6_available() {
        builder = builder.listen("[::1]:0".parse().unwrap());
    }
    let builder = builder
        .login_failure_delay(Duration::from_millis(100))
        .shutdown_grace(Duration::from_secs(2))
        .idle_timeout(Duration::from_secs(60))
        .data_timeout(Duration::from_secs(10));
    let server = configure(builder).build();

    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("ftp-server-{rt:?}"))
        .spawn(move || {
            let result = match rt {
                Rt::Tokio => {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("tokio runtime");
                    runtime.block_on(serve(
                        server,
                        ftp_server::runtime::TokioRuntime,
                        addr_tx,
                        stop_rx,
                    ))
                }
                #[cfg(feature = "async-std")]
                Rt::AsyncStd => futures_lite::future::block_on(serve(
                    server,
                    ftp_server::runtime::AsyncStdRuntime,
                    addr_tx,
                    stop_rx,
                )),
            };
            let _ = done_tx.send(result);
        })
        .expect("server thread");
    let (addrs, implicit) = addr_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server did not bind in time")
        .expect("the server cannot bind");
    let v4 = *addrs
        .iter()
        .find(|a| a.is_ipv4())
        .expect("an IPv4 listener");
    let v6 = addrs.iter().find(|a| a.is_ipv6()).copied();
    TestServer {
        dir,
        root,
        work,
        v4,
        v6,
        implicit: implicit.first().copied(),
        stop: Some(stop_tx),
        done: done_rx,
        thread: Some(thread),
    }
}

async fn serve<R: Runtime>(
    server: Server<FsStorage, UserTable>,
    rt: R,
    addr_tx: mpsc::Sender<io::Result<(Vec<SocketAddr>, Vec<SocketAddr>)>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let bound = match server.bind(rt).await {
        Ok(b) => b,
        Err(e) => {
            let _ = addr_tx.send(Err(e));
            return Ok(());
        }
    };
    let _ = addr_tx.send(Ok((bound.local_addrs(), bound.implicit_tls_addrs())));
    bound
        .serve(async {
            let _ = stop.await;
        })
        .await
}

impl TestServer {
    /// The address of `family` ("4" or "6").
    pub fn addr(&self, v6: bool) -> SocketAddr {
        if v6 {
            self.v6.expect("no IPv6 listener")
        } else {
            self.v4
        }
    }

    /// Begins a graceful shutdown.
    pub fn shutdown(&mut self) {
        self.stop.take();
    }

    /// Waits until `serve` returned; `None` if it did not within `timeout`.
    pub fn wait_stopped(&mut self, timeout: Duration) -> Option<io::Result<()>> {
        let r = self.done.recv_timeout(timeout).ok();
        if r.is_some() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
        r
    }

    /// The contents of a served file.
    pub fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root.join(path))
            .unwrap_or_else(|e| panic!("cannot read served file {path}: {e}"))
    }

    /// The contents of a client-side file.
    pub fn work_file(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.work.join(path))
            .unwrap_or_else(|e| panic!("cannot read work file {path}: {e}"))
    }

    /// Connects a raw control client and reads the greeting.
    pub fn ctrl(&self, v6: bool) -> Ctrl {
        Ctrl::connect(self.addr(v6))
    }

    /// A raw control client, logged in as the read-write user.
    pub fn login(&self, v6: bool) -> Ctrl {
        let mut c = self.ctrl(v6);
        c.login(RW_USER, RW_PASS);
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Begin the shutdown and leave the thread to finish on its own: the tests that care
        // about shutdown wait for it themselves (`wait_stopped`).
        self.stop.take();
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), never all zeros.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes a line to the test's stderr *without* libtest's capture, so it shows in CI logs.
pub fn report(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Whether the external tool `name` is installed. When it is not: with `CI` set, the test fails;
/// otherwise a visible `SKIP:` line is printed and `false` returned.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is not installed, and CI is set: install it (apt-get install {name})");
        }
        report(&format!("SKIP: {name} not installed"));
    }
    found
}

/// Runs `cmd` (stdin closed), failing the test if it runs longer than `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{cmd:?} did not finish within {timeout:?}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Runs `cmd` and fails the test (showing its output) unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd, TOOL_TIMEOUT);
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Asserts two byte strings are equal without printing megabytes on failure.
#[track_caller]
pub fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let first = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: content differs (got {} bytes, want {}; first difference at {first})",
            got.len(),
            want.len()
        );
    }
}

/// One reply: its code and its lines (without line endings, raw bytes).
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<Vec<u8>>,
    /// The reply exactly as received, line endings included.
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn class(&self) -> u16 {
        self.code / 100
    }
}

/// A raw FTP control connection with blocking I/O and timeouts.
pub struct Ctrl {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Ctrl {
    /// Connects and reads the `220` greeting.
    pub fn connect(addr: SocketAddr) -> Ctrl {
        let mut c = Ctrl::connect_raw(addr);
        let r = c.reply();
        assert_eq!(r.code, 220, "greeting: {}", r.text());
        c
    }

    /// Connects without reading anything.
    pub fn connect_raw(addr: SocketAddr) -> Ctrl {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Ctrl::from_stream(stream)
    }

    /// Connects from the source address `from` (e.g. 127.0.0.2), without reading anything.
    pub fn connect_from(from: IpAddr, addr: SocketAddr) -> Ctrl {
        Ctrl::from_stream(connect_from(from, addr).expect("connect from"))
    }

    pub fn from_stream(stream: TcpStream) -> Ctrl {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Ctrl { stream, reader }
    }

    pub fn set_read_timeout(&self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
    }

    pub fn local_ip(&self) -> IpAddr {
        self.stream.local_addr().unwrap().ip()
    }

    pub fn peer(&self) -> SocketAddr {
        self.stream.peer_addr().unwrap()
    }

    /// Sends `line` followed by CRLF.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to control");
    }

    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "control connection closed (partial line {:?})",
                    String::from_utf8_lossy(&line)
                ),
            ));
        }
        Ok(line)
    }

    /// Reads one (possibly multi-line) reply.
    pub fn try_reply(&mut self) -> io::Result<Reply> {
        let first = self.read_line()?;
        let mut raw = first.clone();
        let code_of = |l: &[u8]| -> Option<u16> {
            let d = l.get(..3)?;
            if d.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(d).ok()?.parse().ok()
            } else {
                None
            }
        };
        let code = code_of(&first).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a reply line: {:?}", String::from_utf8_lossy(&first)),
            )
        })?;
        let strip = |l: &[u8]| -> Vec<u8> {
            let l = l.strip_suffix(b"\n").unwrap_or(l);
            l.strip_suffix(b"\r").unwrap_or(l).to_vec()
        };
        let mut lines = vec![strip(&first)];
        if first.get(3) == Some(&b'-') {
            loop {
                let l = self.read_line()?;
                raw.extend_from_slice(&l);
                lines.push(strip(&l));
                if code_of(&l) == Some(code) && l.get(3) == Some(&b' ') {
                    break;
                }
            }
        }
        Ok(Reply { code, lines, raw })
    }

    /// Reads one reply; fails the test on EOF or timeout.
    #[track_caller]
    pub fn reply(&mut self) -> Reply {
        match self.try_reply() {
            Ok(r) => r,
            Err(e) => panic!("no reply: {e}"),
        }
    }

    /// Sends a command and reads its reply.
    #[track_caller]
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.reply()
    }

    /// Sends a command and asserts the reply code.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} -> {}", r.text());
        r
    }

    #[track_caller]
    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// `EPSV`: the data address (the control peer's IP, the announced port).
    #[track_caller]
    pub fn epsv(&mut self) -> SocketAddr {
        let r = self.expect("EPSV", 229);
        let text = r.text();
        let start = text.find('(').expect("229 without (");
        let inner = &text[start + 1..];
        let d = inner.chars().next().unwrap();
        let parts: Vec<&str> = inner.split(d).collect();
        let port: u16 = parts[3].parse().expect("229 port");
        SocketAddr::new(self.peer().ip(), port)
    }

    /// `PASV`: the address announced in the 227 reply.
    #[track_caller]
    pub fn pasv(&mut self) -> SocketAddr {
        let r = self.expect("PASV", 227);
        let text = r.text();
        let nums: Vec<u16> = text[4..]
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        assert!(nums.len() >= 6, "227 without six numbers: {text}");
        let n = &nums[nums.len() - 6..];
        let ip = IpAddr::from([n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8]);
        SocketAddr::new(ip, n[4] * 256 + n[5])
    }

    /// Whether the server closes the connection within `within` (EOF or reset, after
    /// discarding anything it still sends).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// A TCP connection from a chosen source address.
pub fn connect_from(from: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let domain = socket2::Domain::for_address(addr);
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    s.bind(&SocketAddr::new(from, 0).into())?;
    s.connect_timeout(&addr.into(), Duration::from_secs(5))?;
    Ok(s.into())
}

/// Closes `stream` with a TCP reset (SO_LINGER 0) rather than a FIN.
pub fn reset(stream: TcpStream) {
    let s = socket2::Socket::from(stream);
    let _ = s.set_linger(Some(Duration::ZERO));
    drop(s);
}

/// Accepts one connection on `listener` within `timeout`.
pub fn accept_within(listener: &TcpListener, timeout: Duration) -> Option<(TcpStream, SocketAddr)> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(false).unwrap();
                return Some((s, a));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// How a raw transfer gets its data connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    Epsv,
    Pasv,
    Port,
    Eprt,
}

/// Prepares a data connection and sends `command`; returns the data stream once the server
/// answered the preliminary reply (`150`/`125`), which is returned too.
#[track_caller]
pub fn open_data(c: &mut Ctrl, mode: DataMode, command: &str) -> (TcpStream, Reply) {
    let stream = match mode {
        DataMode::Epsv | DataMode::Pasv => {
            let addr = if mode == DataMode::Epsv {
                c.epsv()
            } else {
                c.pasv()
            };
            let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("data connect {addr}: {e}"));
            c.send(command);
            s
        }
        DataMode::Port | DataMode::Eprt => {
            let ip = c.local_ip();
            let listener = TcpListener::bind(SocketAddr::new(ip, 0)).unwrap();
            let port = listener.local_addr().unwrap().port();
            let line = match (mode, ip) {
                (DataMode::Port, IpAddr::V4(v4)) => {
                    let o = v4.octets();
                    format!(
                        "PORT {},{},{},{},{},{}",
                        o[0],
                        o[1],
                        o[2],
                        o[3],
                        port >> 8,
                        port & 0xff
                    )
                }
                (DataMode::Port, IpAddr::V6(_)) => panic!("PORT on IPv6"),
                (_, IpAddr::V4(v4)) => format!("EPRT |1|{v4}|{port}|"),
                (_, IpAddr::V6(v6)) => format!("EPRT |2|{v6}|{port}|"),
            };
            c.expect(&line, 200);
            c.send(command);
            let (s, from) = accept_within(&listener, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("the server did not connect for {command}"));
            assert_eq!(
                from.ip(),
                c.peer().ip(),
                "active connection from the server's IP"
            );
            s
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let r = c.reply();
    assert_eq!(r.class(), 1, "{command} -> {}", r.text());
    (stream, r)
}

/// A download-like transfer (`RETR`, `LIST`, `NLST`, `MLSD`): returns the data, asserts `226`.
#[track_caller]
pub fn download(c: &mut Ctrl, mode: DataMode, command: &str) -> Vec<u8> {
    let (mut s, _) = open_data(c, mode, command);
    let mut data = Vec::new();
    s.read_to_end(&mut data).expect("read data connection");
    let r = c.reply();
    assert_eq!(r.code, 226, "{command} -> {}", r.text());
    data
}

/// An upload (`STOR`, `APPE`): sends `data`, closes cleanly, asserts `226`.
#[track_caller]
pub fn upload(c: &mut Ctrl, mode: DataMode, command: &str, data: &[u8]) {
    let (mut s, _) = open_data(c, mode, command);
    s.write_all(data).expect("write data connection");
    s.shutdown(Shutdown::Write).unwrap();
    // Wait for the server's close, then the reply.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let r = c.reply();
    assert_eq!(r.code, 226, "{command} -> {}", r.text());
}

/// Asserts `bytes` (a listing) holds no CR, LF or NUL except CRLF line endings.
#[track_caller]
pub fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    assert_clean(what, bytes, false);
}

/// Asserts a control-connection reply holds no CR, LF or NUL except CRLF line endings and
/// RFC 2640's CR NUL (a CR inside a path, which cannot end a line).
#[track_caller]
pub fn assert_clean_reply(what: &str, bytes: &[u8]) {
    assert_clean(what, bytes, true);
}

#[track_caller]
fn assert_clean(what: &str, bytes: &[u8], cr_nul_ok: bool) {
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        for (j, &b) in line.iter().enumerate() {
            let ok = match b {
                b'\r' => cr_nul_ok && line.get(j + 1) == Some(&0),
                0 => cr_nul_ok && j > 0 && line[j - 1] == b'\r',
                _ => true,
            };
            assert!(
                ok,
                "{what}: line {i} holds a raw CR or NUL: {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
    // Every LF ends a line: it must be preceded by CR.
    for (i, w) in bytes.windows(2).enumerate() {
        if w[1] == b'\n' {
            assert_eq!(w[0], b'\r', "{what}: bare LF at byte {}", i + 1);
        }
    }
}

/// `host:port` for a URL (`[::1]:port` for IPv6).
pub fn url_host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// The modification time of a file, in whole Unix seconds.
pub fn mtime_secs(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
