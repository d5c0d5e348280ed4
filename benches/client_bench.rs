//! Client benchmark: our FTP clients against `curl` and `suppaftp`, on the same local vsftpd.
//!
//! Measures, in one run and against one vsftpd started by the benchmark itself, the download
//! (`RETR`) and upload (`STOR`) throughput of a large file (1 GiB by default) and the client's
//! CPU time per GiB moved, for four clients:
//!
//! | client | how it transfers |
//! |---|---|
//! | `blocking` | [`ftp_client::blocking::Client`]: `retrieve_to` into [`std::io::sink`], `store_from` an in-memory buffer |
//! | `tokio` | [`ftp_client::nonblocking::TokioClient`] on a current-thread tokio runtime: `retrieve_to` into `futures_lite::io::sink`, `store_from` an in-memory buffer |
//! | `curl` | the `curl` binary: `-o /dev/null`, and `-T` of the served file (in the page cache) |
//! | `suppaftp` | the `suppaftp` crate's sync `FtpStream`: `retr_as_stream` copied into [`std::io::sink`], `put_file` from an in-memory buffer |
//!
//! Every client uses extended passive mode (`EPSV`) and binary type (`TYPE I`). Each sample is
//! one whole session, timed from connect to `QUIT` (login included); the file is checked for
//! its size (downloads: bytes received; uploads: size on disk, then deleted).
//!
//! CPU: the in-process clients run on the benchmark's main thread (the tokio client on a
//! current-thread runtime, so its reactor runs there too); their CPU is the thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`) over the session, split into user and system time in the
//! proportion of the thread's clock ticks in `/proc/thread-self/stat`. curl's is its user + system time from `/usr/bin/time` (or bash's
//! `times` when `/usr/bin/time` is missing). The server's CPU is not counted.
//!
//! Rounds alternate the clients, in an order rotated each round (all downloads, then all
//! uploads). The tables give the median over rounds with min–max, and the ratios of each of
//! our clients to curl and to suppaftp (throughput: above 1 means ours is faster; CPU: below 1
//! means ours uses less). MB = 10^6 bytes.
//!
//! # Running
//!
//! ```sh
//! sudo tools/peers/install.sh                                      # once: vsftpd, curl
//! cargo bench -p benches --bench client                            # 5 rounds, 1 GiB
//! FTP_CLIENT_BENCH_SIZE_MB=64 FTP_CLIENT_BENCH_ROUNDS=1 cargo bench -p benches --bench client
//! ```
//!
//! Environment: `FTP_CLIENT_BENCH_ROUNDS` (default 5), `FTP_CLIENT_BENCH_SIZE_MB` (file size in
//! MiB, default 1024), `FTP_CLIENT_BENCH_DIR` (parent of the temporary served folder, default
//! the system temporary folder; needs the file's size twice in free space),
//! `FTP_CLIENT_BENCH_CLIENTS` (a comma-separated subset of `blocking,tokio,curl,suppaftp`, for
//! profiling one client; the ratios need both sides), `FTP_CLIENT_BENCH_TLS` (`1.3` or `1.2`:
//! FTPS, see below).
//!
//! # FTPS
//!
//! With `FTP_CLIENT_BENCH_TLS=1.3` (or `1.2`) vsftpd requires TLS for logins and data
//! (`force_local_*_ssl`, `require_ssl_reuse`), with a CA and server certificate made for the
//! run; every client uses explicit `AUTH TLS` and `PROT P` at that TLS version, verifying the
//! certificate against the CA (ours: `Config::tls`; curl: `--ssl-reqd --cacert`, `--tls-max`).
//! suppaftp is left out (it is built without TLS here). curl 7.88 closes a TLS 1.3 upload
//! without reading vsftpd's session ticket, and the reset that follows sometimes costs vsftpd
//! the upload's tail (`426`): such a sample is repeated, at most three times, and the number
//! of repeats is reported.
//!
//! ```sh
//! FTP_CLIENT_BENCH_TLS=1.3 cargo bench -p benches --bench client
//! ```
//!
//! vsftpd is started with `tools/peers/peers.py` (user `ftpbench`), which needs root; without
//! root, vsftpd, python3 or `peers.py` the benchmark prints why and exits successfully. The
//! server is stopped and the served folder removed on exit, on error and on panic. When run
//! without `--bench` (as `cargo test --all-targets` does), it does nothing.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ftp_client::blocking::Client;
use ftp_client::nonblocking::TokioClient;
use ftp_client::tls::Tls;
use ftp_client::{Config, DataMode, TlsMode};
use suppaftp::types::FileType;
use suppaftp::{FtpStream, Mode};

/// The login `peers.py` creates (its defaults).
const USER: &str = "ftpbench";
const PASSWORD: &str = "ftpbench-pw";
/// The served file every client downloads.
const BIG: &str = "big.bin";
const MB: f64 = 1e6;
const GIB: f64 = (1u64 << 30) as f64;

/// The clients, in their base order.
const CLIENTS: [Kind; 4] = [Kind::Blocking, Kind::Tokio, Kind::Curl, Kind::Suppaftp];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blocking,
    Tokio,
    Curl,
    Suppaftp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Blocking => "blocking",
            Kind::Tokio => "tokio",
            Kind::Curl => "curl",
            Kind::Suppaftp => "suppaftp",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Blocking => "ours: `blocking::Client`",
            Kind::Tokio => "ours: `TokioClient` (current-thread)",
            Kind::Curl => "curl",
            Kind::Suppaftp => "suppaftp `FtpStream`",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Download,
    Upload,
}

/// One session's figures.
#[derive(Clone, Copy)]
struct Sample {
    /// Wall-clock seconds, connect to `QUIT`.
    wall: f64,
    /// The client's CPU seconds (user + system).
    cpu: f64,
    /// Of which system seconds, when known.
    sys: Option<f64>,
}

type Res<T> = Result<T, String>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("client bench: not run outside `cargo bench -p benches --bench client`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("client bench failed: {e}");
        std::process::exit(1);
    }
}

fn env_num(name: &str, default: u64) -> Res<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name}={v}: expected a positive integer")),
        Err(_) => Ok(default),
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches lives in the workspace")
        .to_path_buf()
}

/// Why the benchmark cannot run here, if it cannot.
fn missing_prerequisite(peers: &Path) -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("needs root (vsftpd switches to the system user `ftpbench`)".into());
    }
    if !Path::new("/usr/sbin/vsftpd").exists() {
        return Some("/usr/sbin/vsftpd not found (install: sudo tools/peers/install.sh)".into());
    }
    if !peers.exists() {
        return Some(format!("{} not found", peers.display()));
    }
    if !runs("python3", &["--version"]) {
        return Some("python3 not found".into());
    }
    None
}

/// Whether `program args` runs and exits 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run() -> Res<()> {
    let rounds = env_num("FTP_CLIENT_BENCH_ROUNDS", 5)? as usize;
    let size = env_num("FTP_CLIENT_BENCH_SIZE_MB", 1024)? << 20;
    let peers = workspace().join("tools/peers/peers.py");
    if let Some(why) = missing_prerequisite(&peers) {
        println!("client bench skipped: {why}");
        return Ok(());
    }
    let curl = runs("curl", &["--version"]);
    if !curl {
        eprintln!("curl not found: its rows are left out");
    }
    let time_bin = Path::new("/usr/bin/time").exists();
    let tls_version = match std::env::var("FTP_CLIENT_BENCH_TLS").ok().as_deref() {
        None | Some("") | Some("0") => None,
        Some("1.2") => Some(TlsVersion::V12),
        Some("1.3") | Some("1") => Some(TlsVersion::V13),
        Some(other) => return Err(format!("FTP_CLIENT_BENCH_TLS={other:?}: use 1.3 or 1.2")),
    };

    // Dropped last: the server is stopped before its folder goes.
    let parent = std::env::var_os("FTP_CLIENT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = TempDir::create(&parent)?;
    let root = work.0.join("root");
    fs::create_dir(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    fs::set_permissions(&work.0, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;

    eprintln!("creating {} MiB test file", size >> 20);
    let data = test_data(size as usize);
    let big = root.join(BIG);
    {
        let mut f = fs::File::create(&big).map_err(|e| format!("{}: {e}", big.display()))?;
        f.write_all(&data).map_err(|e| e.to_string())?;
        // Written back now, not during the first samples.
        f.sync_all().map_err(|e| e.to_string())?;
    }

    let tls = match tls_version {
        Some(version) => Some(BenchTls::create(&work.0, version)?),
        None => None,
    };
    let server = Server::start(&peers, &root, &work.0, tls.as_ref())?;
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    eprintln!(
        "vsftpd ready on {addr}{}",
        if tls.is_some() { " (FTPS)" } else { "" }
    );

    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let only = std::env::var("FTP_CLIENT_BENCH_CLIENTS").ok();
    let clients: Vec<Kind> = CLIENTS
        .into_iter()
        .filter(|&k| k != Kind::Curl || curl)
        .filter(|&k| k != Kind::Suppaftp || tls.is_none())
        .filter(|k| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|n| n.trim() == k.name()))
        })
        .collect();
    if clients.is_empty() {
        return Err(format!(
            "FTP_CLIENT_BENCH_CLIENTS={only:?}: no known client"
        ));
    }
    let env = Env {
        addr,
        root: root.clone(),
        work: work.0.clone(),
        data: &data,
        size: size as usize,
        tokio: &tokio_rt,
        time_bin,
        tls: tls.as_ref(),
        repeats: std::cell::Cell::new(0),
    };

    // results[dir][client] = samples
    let mut results: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); clients.len()]; 2];
    for round in 0..rounds {
        for (d, dir) in [Dir::Download, Dir::Upload].into_iter().enumerate() {
            for i in 0..clients.len() {
                let c = (i + round) % clients.len();
                let kind = clients[c];
                let mut attempt = 0;
                let s = loop {
                    match env.sample(kind, dir) {
                        Ok(s) => break s,
                        // See the module documentation (FTPS): curl's TLS 1.3 upload race.
                        Err(e) if env.tls.is_some() && kind == Kind::Curl && attempt < 3 => {
                            attempt += 1;
                            env.repeats.set(env.repeats.get() + 1);
                            eprintln!("round {}: curl {}: {e}; repeated", round + 1, dir_name(dir));
                        }
                        Err(e) => {
                            return Err(format!(
                                "round {}: {} {}: {e}",
                                round + 1,
                                kind.name(),
                                dir_name(dir)
                            ))
                        }
                    }
                };
                eprintln!(
                    "round {}/{rounds} {:9} {:8} {:8.1} MB/s  {:.3} CPU s/GiB",
                    round + 1,
                    dir_name(dir),
                    kind.name(),
                    size as f64 / s.wall / MB,
                    s.cpu / (size as f64 / GIB),
                );
                results[d][c].push(s);
            }
        }
    }
    drop(server);

    report(&env, &clients, &results, rounds, curl);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TlsVersion {
    V12,
    V13,
}

/// The run's certificates: a CA and a server certificate it signed, as PEM files.
struct BenchTls {
    version: TlsVersion,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl BenchTls {
    fn create(dir: &Path, version: TlsVersion) -> Res<BenchTls> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let e = |e: rcgen::Error| e.to_string();
        let ca_key = KeyPair::generate().map_err(e)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, "client bench CA");
        let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().map_err(e)?;
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".into()]).map_err(e)?;
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = leaf.signed_by(&key, &issuer).map_err(e)?;
        let t = BenchTls {
            version,
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        for (path, text) in [
            (&t.ca, ca_cert.pem()),
            (&t.cert, cert.pem()),
            (&t.key, key.serialize_pem()),
        ] {
            fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(t)
    }

    /// Our clients' TLS settings.
    fn client(&self) -> Res<Tls> {
        let tls = Tls::with_ca_file(&self.ca).map_err(|e| e.to_string())?;
        Ok(match self.version {
            TlsVersion::V12 => tls.tls12_only(),
            TlsVersion::V13 => tls,
        })
    }

    /// curl's arguments.
    fn curl_args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec!["--ssl-reqd".into(), "--cacert".into()];
        args.push(self.ca.to_string_lossy().into_owned());
        args.push("--tls-max".into());
        args.push(match self.version {
            TlsVersion::V12 => "1.2".into(),
            TlsVersion::V13 => "1.3".into(),
        });
        args
    }
}

fn dir_name(dir: Dir) -> &'static str {
    match dir {
        Dir::Download => "download",
        Dir::Upload => "upload",
    }
}

/// `size` bytes of varied content (xorshift), so nothing on the path can compress it.
fn test_data(size: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(size);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let word = x.to_le_bytes();
        let n = word.len().min(size - data.len());
        data.extend_from_slice(&word[..n]);
    }
    data
}

/// A temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn create(parent: &Path) -> Res<TempDir> {
        let path = parent.join(format!("ftp-client-bench-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// vsftpd, run by `peers.py start` in the foreground; stopped (SIGTERM to `peers.py`, which
/// stops the server) on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(peers: &Path, root: &Path, work: &Path, tls: Option<&BenchTls>) -> Res<Server> {
        let log = work.join("peers.log");
        let log_file = fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("python3");
        cmd.arg(peers)
            .args(["start", "vsftpd", "--port", "0", "--user", USER])
            .args(["--password", PASSWORD, "--root"])
            .arg(root);
        if let Some(tls) = tls {
            cmd.arg("--tls-cert")
                .arg(&tls.cert)
                .arg("--tls-key")
                .arg(&tls.key)
                .args(["--tls-required", "--tls-reuse"]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("python3 {}: {e}", peers.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut server = Server { child, port: 0 };
        // "ready vsftpd port=N pid=P"
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(port) = line
                .strip_prefix("ready ")
                .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("port=")))
            {
                server.port = port
                    .parse()
                    .map_err(|_| format!("bad ready line: {line}"))?;
                return Ok(server);
            }
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        Err(format!("vsftpd did not start:\n{}", text.trim_end()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(15);
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.wait();
    }
}

/// What every sample needs.
struct Env<'a> {
    addr: SocketAddr,
    root: PathBuf,
    work: PathBuf,
    data: &'a [u8],
    size: usize,
    tokio: &'a tokio::runtime::Runtime,
    time_bin: bool,
    /// FTPS, when the run asks for it.
    tls: Option<&'a BenchTls>,
    /// Samples repeated after curl's TLS 1.3 upload race.
    repeats: std::cell::Cell<u32>,
}

/// The calling thread's CPU time, in seconds.
fn thread_cpu() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// The calling thread's user and system clock ticks, from `/proc/thread-self/stat`.
fn thread_ticks() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The fields after the command name (which ends with the last ')'), from field 3 (state):
    // utime is field 14, stime 15.
    let mut fields = stat[stat.rfind(')')? + 2..].split_whitespace().skip(11);
    let user = fields.next()?.parse().ok()?;
    let sys = fields.next()?.parse().ok()?;
    Some((user, sys))
}

fn config(tls: Option<&BenchTls>) -> Res<Config> {
    let mut config = Config::default();
    config.data_mode = DataMode::ExtendedPassive;
    Ok(match tls {
        Some(tls) => config.tls(TlsMode::Explicit, tls.client()?),
        None => config,
    })
}

impl Env<'_> {
    fn upload_name(kind: Kind) -> String {
        format!("up-{}.bin", kind.name())
    }

    fn sample(&self, kind: Kind, dir: Dir) -> Res<Sample> {
        let up = Self::upload_name(kind);
        let sample = if kind == Kind::Curl {
            self.curl(dir, &up)?
        } else {
            let cpu0 = thread_cpu();
            let ticks0 = thread_ticks();
            let t0 = Instant::now();
            let moved = match kind {
                Kind::Blocking => self.blocking(dir, &up),
                Kind::Tokio => self.tokio(dir, &up),
                Kind::Suppaftp => self.suppaftp(dir, &up),
                Kind::Curl => unreachable!(),
            }?;
            let wall = t0.elapsed().as_secs_f64();
            let cpu = thread_cpu() - cpu0;
            // The system share of the ticks, applied to the precise CPU clock.
            let sys = ticks0.zip(thread_ticks()).and_then(|((u0, s0), (u1, s1))| {
                let (user, sys) = (u1 - u0, s1 - s0);
                (user + sys > 0).then(|| cpu * sys as f64 / (user + sys) as f64)
            });
            if moved != self.size as u64 {
                return Err(format!("moved {moved} bytes, expected {}", self.size));
            }
            Sample { wall, cpu, sys }
        };
        if dir == Dir::Upload {
            let path = self.root.join(&up);
            let len = fs::metadata(&path).map_err(|e| e.to_string())?.len();
            fs::remove_file(&path).map_err(|e| e.to_string())?;
            if len != self.size as u64 {
                return Err(format!(
                    "{up} has {len} bytes on disk, expected {}",
                    self.size
                ));
            }
        }
        Ok(sample)
    }

    fn blocking(&self, dir: Dir, up: &str) -> Res<u64> {
        let e = |e: ftp_client::Error| e.to_string();
        let mut client = Client::connect(self.addr, config(self.tls)?).map_err(e)?;
        client.login(USER, PASSWORD).map_err(e)?; // also TYPE I
        let n = match dir {
            Dir::Download => client.retrieve_to(BIG, 0, &mut io::sink()),
            Dir::Upload => client.store_from(up, &mut &self.data[..]),
        }
        .map_err(e)?;
        client.quit().map_err(e)?;
        Ok(n)
    }

    fn tokio(&self, dir: Dir, up: &str) -> Res<u64> {
        let config = config(self.tls)?;
        self.tokio
            .block_on(async {
                let mut client = TokioClient::connect(self.addr, config).await?;
                client.login(USER, PASSWORD).await?; // also TYPE I
                let n = match dir {
                    Dir::Download => {
                        client
                            .retrieve_to(BIG, 0, &mut futures_lite::io::sink())
                            .await
                    }
                    Dir::Upload => client.store_from(up, &mut &self.data[..]).await,
                }?;
                client.quit().await?;
                Ok::<_, ftp_client::Error>(n)
            })
            .map_err(|e| e.to_string())
    }

    fn suppaftp(&self, dir: Dir, up: &str) -> Res<u64> {
        let e = |e: suppaftp::FtpError| e.to_string();
        let mut ftp = FtpStream::connect(self.addr).map_err(e)?;
        ftp.set_mode(Mode::ExtendedPassive);
        ftp.login(USER, PASSWORD).map_err(e)?;
        ftp.transfer_type(FileType::Binary).map_err(e)?;
        let n = match dir {
            Dir::Download => {
                let mut stream = ftp.retr_as_stream(BIG).map_err(e)?;
                let n = io::copy(&mut stream, &mut io::sink()).map_err(|e| e.to_string())?;
                stream.finish().map_err(e)?;
                n
            }
            Dir::Upload => ftp.put_file(up, &mut &self.data[..]).map_err(e)?,
        };
        ftp.quit().map_err(e)?;
        Ok(n)
    }

    /// curl in its own process: wall clock around it, CPU from `/usr/bin/time` or `times`.
    fn curl(&self, dir: Dir, up: &str) -> Res<Sample> {
        let url = |name: &str| {
            format!(
                "ftp://{USER}:{PASSWORD}@127.0.0.1:{}/{name}",
                self.addr.port()
            )
        };
        // EPSV and TYPE I are curl's defaults; said anyway.
        let mut curl: Vec<String> = ["curl", "-s", "-S", "--ftp-pasv", "--epsv"]
            .map(String::from)
            .into();
        if let Some(tls) = self.tls {
            curl.extend(tls.curl_args());
        }
        match dir {
            Dir::Download => curl.extend(["-o".into(), "/dev/null".into(), url(BIG)]),
            Dir::Upload => {
                let file = self.root.join(BIG).to_string_lossy().into_owned();
                curl.extend(["-T".into(), file, url(up)]);
            }
        }
        let times = self.work.join("curl.time");
        let mut cmd = if self.time_bin {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.args(["-f", "%U %S", "-o"]).arg(&times).args(&curl);
            cmd
        } else {
            // Children's user and system time, after curl: "0m1.234s 0m0.567s".
            let mut cmd = Command::new("bash");
            cmd.arg("-c")
                .arg(r#""$@"; rc=$?; times | tail -n 1 > "$T"; exit $rc"#)
                .arg("bash")
                .args(&curl)
                .env("T", &times);
            cmd
        };
        let t0 = Instant::now();
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let wall = t0.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "curl: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = fs::read_to_string(&times).map_err(|e| e.to_string())?;
        let secs: Vec<f64> = text
            .split_whitespace()
            .filter_map(
                |w| match w.strip_suffix('s').and_then(|w| w.split_once('m')) {
                    Some((m, s)) => Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?),
                    None => w.parse().ok(),
                },
            )
            .collect();
        let [user, sys] = secs[..] else {
            return Err(format!("cannot read curl's CPU times: {text:?}"));
        };
        Ok(Sample {
            wall,
            cpu: user + sys,
            sys: Some(sys),
        })
    }
}

/// Median, min and max.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

/// The figures of one client in one direction: MB/s, CPU s/GiB, system share of the CPU.
struct Figures {
    mbps: (f64, f64, f64),
    cpu: (f64, f64, f64),
    sys_share: Option<f64>,
}

fn figures(samples: &[Sample], size: usize) -> Figures {
    let gib = size as f64 / GIB;
    let sys: Option<Vec<f64>> = samples.iter().map(|s| s.sys).collect();
    let total: f64 = samples.iter().map(|s| s.cpu).sum();
    Figures {
        mbps: stats(samples.iter().map(|s| size as f64 / s.wall / MB).collect()),
        cpu: stats(samples.iter().map(|s| s.cpu / gib).collect()),
        sys_share: sys
            .filter(|_| total > 0.0)
            .map(|v| v.iter().sum::<f64>() / total),
    }
}

fn curl_version() -> String {
    Command::new("curl")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "curl ?".into())
}

/// The locked version of `suppaftp`, from the workspace's `Cargo.lock`.
fn suppaftp_version() -> String {
    let lock = fs::read_to_string(workspace().join("Cargo.lock")).unwrap_or_default();
    lock.split("[[package]]")
        .find(|p| p.contains("name = \"suppaftp\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "?".into())
}

fn report(
    env: &Env<'_>,
    clients: &[Kind],
    results: &[Vec<Vec<Sample>>],
    rounds: usize,
    curl: bool,
) {
    let size = env.size;
    let fig: Vec<Vec<Figures>> = results
        .iter()
        .map(|per| per.iter().map(|s| figures(s, size)).collect())
        .collect();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    let mode = match env.tls.map(|t| t.version) {
        None => String::new(),
        Some(TlsVersion::V12) => " over FTPS (TLS 1.2, PROT P)".into(),
        Some(TlsVersion::V13) => " over FTPS (TLS 1.3, PROT P)".into(),
    };
    println!(
        "## FTP clients against vsftpd{mode}: {} MiB file, {rounds} round(s), medians (min–max)",
        size >> 20
    );
    if env.repeats.get() > 0 {
        println!();
        println!(
            "curl samples repeated after a failed upload (see the FTPS notes): {}",
            env.repeats.get()
        );
    }
    println!();
    println!(
        "Linux {}, {cores} cores, {}, suppaftp {}. MB = 10^6 bytes; CPU = the client's user + \
         system seconds per GiB moved (sys = system share).",
        kernel.trim(),
        if curl {
            curl_version()
        } else {
            "no curl".into()
        },
        suppaftp_version(),
    );
    println!();
    println!("| client | download MB/s | download CPU s/GiB | upload MB/s | upload CPU s/GiB |");
    println!("|---|---|---|---|---|");
    let range =
        |(m, lo, hi): (f64, f64, f64), prec: usize| format!("{m:.prec$} ({lo:.prec$}–{hi:.prec$})");
    let cpu = |f: &Figures| {
        let sys = f
            .sys_share
            .map_or(String::new(), |s| format!(", sys {:.0}%", s * 100.0));
        format!("{}{sys}", range(f.cpu, 3))
    };
    for (c, kind) in clients.iter().enumerate() {
        let (d, u) = (&fig[0][c], &fig[1][c]);
        println!(
            "| {} | {} | {} | {} | {} |",
            kind.label(),
            range(d.mbps, 0),
            cpu(d),
            range(u.mbps, 0),
            cpu(u),
        );
    }
    println!();
    println!("Ratios of medians (MB/s: above 1 = ours faster; CPU: below 1 = ours uses less CPU):");
    println!();
    println!("| ours / peer | download MB/s | download CPU | upload MB/s | upload CPU |");
    println!("|---|---|---|---|---|");
    let index = |k: Kind| clients.iter().position(|&c| c == k);
    for ours in [Kind::Blocking, Kind::Tokio] {
        for peer in [Kind::Curl, Kind::Suppaftp] {
            let (Some(o), Some(p)) = (index(ours), index(peer)) else {
                continue;
            };
            let r = |d: usize, f: fn(&Figures) -> f64| {
                let (a, b) = (f(&fig[d][o]), f(&fig[d][p]));
                if b > 0.0 {
                    format!("{:.2}", a / b)
                } else {
                    "–".into()
                }
            };
            println!(
                "| {} / {} | {} | {} | {} | {} |",
                ours.name(),
                peer.name(),
                r(0, |f| f.mbps.0),
                r(0, |f| f.cpu.0),
                r(1, |f| f.mbps.0),
                r(1, |f| f.cpu.0),
            );
        }
    }
}
