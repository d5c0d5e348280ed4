//! Real FTP servers on loopback for the client's interoperability tests.
//!
//! [`start`] runs one of:
//! - an external peer (`vsftpd`, `pyftpdlib`, `pureftpd`, `proftpd`) through
//!   `tools/peers/peers.py start NAME --root DIR --port 0`, which prints
//!   `ready NAME port=N pid=P` once the server accepts logins and stops it on SIGTERM;
//! - this workspace's own server (`own`), in-process on a tokio runtime of its own thread.
//!
//! The returned [`TestServer`] knows the address, the credentials and the served directory (so a
//! test can check files directly), and stops the server when dropped.
//!
//! A peer that cannot start (binary not installed, not root, ...) makes [`start`] return `None`
//! after printing `SKIP: <peer> unavailable: <why>`, so the test passes vacuously; with the
//! environment variable `CI` set it panics instead, so CI cannot silently test nothing.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The external peers `peers.py` can start.
pub const PEERS: [&str; 4] = ["vsftpd", "pyftpdlib", "pureftpd", "proftpd"];

/// The name of this workspace's own server in [`start`].
pub const OWN: &str = "own";

/// The login every server is started with (the `peers.py` defaults).
pub const USER: &str = "ftpbench";
/// The password of [`USER`].
pub const PASSWORD: &str = "ftpbench-pw";

/// How long a server may take to report that it is ready (the forking servers create a system
/// user and hash a password on first start).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped peer may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running FTP server on loopback.
pub struct TestServer {
    /// `vsftpd`, `pyftpdlib`, `pureftpd`, `proftpd` or `own`.
    pub name: &'static str,
    /// The address to connect to (always `127.0.0.1`).
    pub host: String,
    /// The control port.
    pub port: u16,
    /// The implicit-FTPS port, when the server has one ([`start_own_tls`]).
    pub implicit_port: Option<u16>,
    /// The user name to log in with.
    pub user: String,
    /// The password of `user`.
    pub password: String,
    /// The directory the server serves: the login directory.
    pub root: PathBuf,
    /// Client-side scratch space, outside the served tree.
    pub work: PathBuf,
    running: Running,
    // Last, so the directories go after the server stopped.
    _dir: tempfile::TempDir,
}

enum Running {
    Peer {
        child: Child,
        stderr: Arc<Mutex<Vec<u8>>>,
    },
    Own {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        done: mpsc::Receiver<()>,
        thread: Option<JoinHandle<()>>,
    },
}

/// Starts `name` (one of [`PEERS`] or [`OWN`]) serving an empty directory.
pub fn start(name: &'static str) -> Option<TestServer> {
    start_with(name, |_| Ok(()))
}

/// How an external peer serves FTPS (`peers.py start --tls-cert ...`).
#[derive(Debug, Clone)]
pub struct PeerTls {
    /// The server's certificate (chain), PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// Refuse cleartext logins and data connections.
    pub required: bool,
    /// Require (`Some(true)`) or not that data connections resume the control connection's
    /// TLS session; `None`: the server's default.
    pub reuse: Option<bool>,
    /// Implicit FTPS (TLS from the first byte).
    pub implicit: bool,
}

impl PeerTls {
    /// `peers.py`'s options for these settings.
    fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--tls-cert".into(),
            self.cert.clone().into(),
            "--tls-key".into(),
            self.key.clone().into(),
        ];
        if self.required {
            args.push("--tls-required".into());
        }
        match self.reuse {
            Some(true) => args.push("--tls-reuse".into()),
            Some(false) => args.push("--no-tls-reuse".into()),
            None => {}
        }
        if self.implicit {
            args.push("--implicit".into());
        }
        args
    }
}

/// Starts the external peer `name` serving FTPS as `tls` says, on an empty directory.
pub fn start_tls(name: &'static str, tls: &PeerTls) -> Option<TestServer> {
    start_peer_with(name, &tls.args(), |_| Ok(()))
}

/// Starts this workspace's server with FTPS required (`TlsPolicy::Required`: protected
/// logins and data connections, which must resume the control connection's TLS session):
/// explicit on [`TestServer::port`], implicit on [`TestServer::implicit_port`].
pub fn start_own_tls(cert: &Path, key: &Path) -> TestServer {
    let tls = ftp_server::tls::TlsConfig::from_pem_files(cert, key).expect("server certificate");
    let dir = tempfile::Builder::new()
        .prefix("ftp-client-own-tls-")
        .tempdir()
        .expect("temporary directory");
    let root = dir.path().join("root");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&root).expect("create root");
    std::fs::create_dir_all(&work).expect("create work");
    let (port, implicit_port, running) = start_own_with(&root, Some(tls)).expect("own server");
    TestServer {
        name: OWN,
        host: "127.0.0.1".to_owned(),
        port,
        implicit_port,
        user: USER.to_owned(),
        password: PASSWORD.to_owned(),
        root,
        work,
        running,
        _dir: dir,
    }
}

/// Starts `name` after `setup` filled the served directory (before the peer takes ownership
/// of it, so the served user may read and replace those files).
pub fn start_with(
    name: &'static str,
    setup: impl FnOnce(&Path) -> io::Result<()>,
) -> Option<TestServer> {
    start_peer_with(name, &[], setup)
}

/// [`start_with`], with more options for `peers.py` (external peers only).
fn start_peer_with(
    name: &'static str,
    extra: &[std::ffi::OsString],
    setup: impl FnOnce(&Path) -> io::Result<()>,
) -> Option<TestServer> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("ftp-client-{name}-"))
        .tempdir()
        .expect("temporary directory");
    let root = dir.path().join("root");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&root).expect("create root");
    std::fs::create_dir_all(&work).expect("create work");
    set_mode(dir.path(), 0o755);
    set_mode(&root, 0o755);
    setup(&root).expect("set up the served directory");

    let started = if name == OWN {
        start_own_with(&root, None).map(|(port, _, running)| (port, running))
    } else {
        start_peer(name, &root, extra)
    };
    match started {
        Ok((port, running)) => Some(TestServer {
            name,
            host: "127.0.0.1".to_owned(),
            port,
            implicit_port: None,
            user: USER.to_owned(),
            password: PASSWORD.to_owned(),
            root,
            work,
            running,
            _dir: dir,
        }),
        Err(why) => {
            unavailable(name, &why);
            None
        }
    }
}

/// Reports a server that cannot run: a visible `SKIP:` line, or a panic when `CI` is set.
pub fn unavailable(name: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{name} unavailable and CI is set: {why}");
    }
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "SKIP: {name} unavailable: {why}");
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

fn peers_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/peers/peers.py")
}

/// Runs `peers.py start` and waits for its `ready` line.
fn start_peer(
    name: &str,
    root: &Path,
    extra: &[std::ffi::OsString],
) -> Result<(u16, Running), String> {
    let script = peers_script();
    if !script.is_file() {
        return Err(format!("{} not found", script.display()));
    }
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["start", name, "--root"])
        .arg(root)
        .args(["--port", "0", "--user", USER, "--password", PASSWORD])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run python3: {e}"))?;

    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(mut pipe) = child.stderr.take() {
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.extend_from_slice(&buf[..n]);
                }
            }
        });
    }
    // Lines of stdout go to a channel; the thread keeps draining after `ready`.
    let (tx, rx) = mpsc::channel::<String>();
    if let Some(pipe) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
    }

    let deadline = Instant::now() + READY_TIMEOUT;
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(port) = parse_ready(&line) {
                    break port;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {
                if let Ok(Some(status)) = child.try_wait() {
                    // Let the stderr reader finish.
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!("peers.py exited ({status}): {}", tail(&stderr)));
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "no ready line within {READY_TIMEOUT:?} (peers.py: {status:?}): {}",
                    tail(&stderr)
                ));
            }
        }
    };
    Ok((port, Running::Peer { child, stderr }))
}

/// `ready vsftpd port=40123 pid=777` → 40123.
fn parse_ready(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("ready ")?;
    rest.split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
}

/// The end of a peer's stderr, for a failure message.
fn tail(stderr: &Mutex<Vec<u8>>) -> String {
    let bytes = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    let start = text.char_indices().rev().nth(1500).map_or(0, |(i, _)| i);
    if text.is_empty() {
        "(no output)".to_owned()
    } else {
        text[start..].to_owned()
    }
}

/// Runs this workspace's server on its own thread and tokio runtime, with FTPS required when
/// `tls` is given; returns the port, the implicit-FTPS port (with `tls`) and the handle.
fn start_own_with(
    root: &Path,
    tls: Option<ftp_server::tls::TlsConfig>,
) -> Result<(u16, Option<u16>, Running), String> {
    use ftp_server::auth::UserTable;
    use ftp_server::runtime::TokioRuntime;
    use ftp_server::storage::FsStorage;
    use ftp_server::Server;

    let mut users = UserTable::with_iterations(1_000);
    users.add_user(USER, PASSWORD.as_bytes()).set_writable(true);
    let storage = FsStorage::new(root).map_err(|e| format!("FsStorage: {e}"))?;
    let mut builder = Server::builder(storage, users)
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .login_failure_delay(Duration::from_millis(50))
        .shutdown_grace(Duration::from_secs(2));
    if let Some(tls) = tls {
        builder = builder
            .tls(tls)
            .tls_policy(ftp_server::TlsPolicy::Required)
            .listen_implicit_tls(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    let server = builder.build();

    type Addrs = (Vec<SocketAddr>, Vec<SocketAddr>);
    let (addr_tx, addr_rx) = mpsc::channel::<Result<Addrs, String>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("ftp-server-own".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let bound = match server.bind(TokioRuntime).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = addr_tx.send(Err(format!("bind: {e}")));
                        return;
                    }
                };
                let _ = addr_tx.send(Ok((bound.local_addrs(), bound.implicit_tls_addrs())));
                let _ = bound
                    .serve(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
            let _ = done_tx.send(());
        })
        .map_err(|e| format!("server thread: {e}"))?;
    let (addrs, implicit) = addr_rx
        .recv_timeout(READY_TIMEOUT)
        .map_err(|_| "the server did not bind in time".to_owned())??;
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .ok_or("no IPv4 listener")?;
    Ok((
        addr.port(),
        implicit.first().map(SocketAddr::port),
        Running::Own {
            stop: Some(stop_tx),
            done: done_rx,
            thread: Some(thread),
        },
    ))
}

impl TestServer {
    /// The control address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `ftp://user:password@127.0.0.1:port/` followed by `path` (written as given: encode
    /// special characters yourself).
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, path
        )
    }

    /// The contents of a served file.
    pub fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root.join(path))
            .unwrap_or_else(|e| panic!("{}: cannot read served file {path}: {e}", self.name))
    }

    /// Writes a served file, readable and writable by the served user (created after the
    /// server started, so it is made world-writable rather than chowned).
    pub fn write(&self, path: &str, data: &[u8]) {
        let file = self.root.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("create served directory");
        }
        std::fs::write(&file, data).expect("write served file");
        set_mode(&file, 0o666);
    }

    /// The server's own log output so far (peers only), for failure messages.
    pub fn log(&self) -> String {
        match &self.running {
            Running::Peer { stderr, .. } => tail(stderr),
            Running::Own { .. } => String::new(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Peer { child, .. } => {
                // SIGTERM lets peers.py stop the server's whole process group and remove its
                // configuration; SIGKILL (Child::kill) would leave the server running.
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let deadline = Instant::now() + STOP_TIMEOUT;
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() >= deadline => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                        Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            }
            Running::Own { stop, done, thread } => {
                stop.take();
                if done.recv_timeout(STOP_TIMEOUT).is_ok() {
                    if let Some(t) = thread.take() {
                        let _ = t.join();
                    }
                }
            }
        }
    }
}

/// Connects to `addr` and reads the greeting; returns its code and text (every line). Reads
/// until the last line of a multi-line reply (`220-` ... `220 `).
pub fn read_greeting(addr: SocketAddr) -> io::Result<(u16, String)> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut reader = BufReader::new(stream);
    let mut text = String::new();
    let mut code = None;
    for _ in 0..100 {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("closed after {text:?}"),
            ));
        }
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        let this = line.get(..3).and_then(|d| d.parse::<u16>().ok());
        if code.is_none() {
            code = this;
        }
        text.push_str(&line);
        text.push('\n');
        if code.is_some() && this == code && line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    let code = code.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, text.clone()))?;
    Ok((code, text))
}

#[test]
fn ready_lines() {
    assert_eq!(parse_ready("ready vsftpd port=40123 pid=777"), Some(40123));
    assert_eq!(parse_ready("ready pureftpd pid=1 port=2121"), Some(2121));
    assert_eq!(parse_ready("vsftpd ready on 127.0.0.1:21"), None);
    assert_eq!(parse_ready("ready x port=99999 pid=1"), None);
}
