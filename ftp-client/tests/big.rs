//! A 1 GiB file up (`store_from`) and down (`retrieve_to`) with the blocking client against
//! this workspace's own server in-process: byte-identical (SHA-256 by `sha256sum`) and in flat
//! memory (the process's resident set grows by less than [`MAX_RSS_GROWTH`] while the transfers
//! stream file to socket and socket to file). Slow, so it runs only when `FTP_BIG_TESTS=1` or
//! `CI` is set; otherwise it prints a SKIP line and passes.

mod common;

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ftp_client::blocking::Client;
use ftp_client::{Config, DataMode, TransferType};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// The most the resident set may grow during the transfers (client and server together).
const MAX_RSS_GROWTH: u64 = 64 * MIB;

/// Writes to stderr outside the test harness's capture, so the line shows in a normal run.
fn report(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
        * 1024
}

/// Samples `VmRSS` every 20 ms on its own thread, keeping the maximum.
struct RssSampler {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let max = Arc::new(AtomicU64::new(status_bytes("VmRSS")));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(status_bytes("VmRSS"), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler {
            max,
            stop,
            thread: Some(thread),
        }
    }

    /// The largest `VmRSS` seen so far (a fresh sample included).
    fn max(&self) -> u64 {
        self.max.fetch_max(status_bytes("VmRSS"), Ordering::Relaxed);
        self.max.load(Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The SHA-256 (hex) of a file, by `sha256sum` (an unoptimised test build hashes a GiB slowly).
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum (coreutils) must be installed");
    assert!(out.status.success(), "sha256sum {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Writes `size` bytes of reproducible pseudo-random data, 1 MiB at a time (each block stamped
/// with its index, so a misplaced block changes the hash).
fn write_big_file(path: &Path, size: u64) {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut block: Vec<u8> = (0..MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let mut f = BufWriter::new(std::fs::File::create(path).expect("create the local file"));
    for i in 0..size / MIB {
        block[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&block).expect("write the local file");
    }
    f.flush().expect("flush the local file");
}

#[test]
fn one_gib_get_and_put_in_flat_memory() {
    let wanted =
        std::env::var("FTP_BIG_TESTS").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some();
    if !wanted {
        report("SKIP: set FTP_BIG_TESTS=1 for the 1 GiB client test");
        return;
    }
    let started = Instant::now();
    let server = common::start(common::OWN).expect("the workspace's own server");

    let local = server.work.join("big.bin");
    write_big_file(&local, GIB);
    let want = sha256sum(&local);

    let mut config = Config::default();
    config.data_mode = DataMode::ExtendedPassive;
    config.connect_timeout = Duration::from_secs(10);
    config.session.reply_timeout = Duration::from_secs(60);
    config.session.data_timeout = Duration::from_secs(60);
    let mut client = Client::connect(server.addr(), config).expect("connect");
    client.login(&server.user, &server.password).expect("login");
    client.transfer_type(TransferType::Binary).expect("TYPE I");

    // The baseline: server running, client connected, nothing transferred yet.
    let before = status_bytes("VmRSS");
    let sampler = RssSampler::start();

    let t = Instant::now();
    let mut input = std::fs::File::open(&local).expect("open the local file");
    let sent = client.store_from("big.bin", &mut input).expect("STOR");
    let up = t.elapsed();
    drop(input);
    let after_put = status_bytes("VmRSS");
    assert_eq!(sent, GIB, "bytes sent");
    let stored = server.root.join("big.bin");
    assert_eq!(std::fs::metadata(&stored).expect("stored").len(), GIB);
    assert_eq!(sha256sum(&stored), want, "the stored file's SHA-256");
    // Room for the download: the served copy is the source now.
    std::fs::remove_file(&local).expect("remove the local file");

    let back = server.work.join("back.bin");
    let t = Instant::now();
    let mut output = std::fs::File::create(&back).expect("create the download");
    let received = client.retrieve_to("big.bin", 0, &mut output).expect("RETR");
    output.sync_all().expect("sync the download");
    drop(output);
    let down = t.elapsed();
    let after_get = status_bytes("VmRSS");
    assert_eq!(received, GIB, "bytes received");
    assert_eq!(std::fs::metadata(&back).expect("back").len(), GIB);
    assert_eq!(sha256sum(&back), want, "the downloaded file's SHA-256");
    client.quit().expect("QUIT");

    let peak = sampler.max();
    drop(sampler);
    let hwm = status_bytes("VmHWM");
    let growth = peak.saturating_sub(before);
    let mib = |b: u64| b as f64 / MIB as f64;
    let mbps = |d: Duration| GIB as f64 / d.as_secs_f64() / 1e6;
    report(&format!(
        "BIG 1 GiB blocking client (EPSV): STOR {:.1} s ({:.0} MB/s), RETR {:.1} s ({:.0} MB/s), \
         SHA-256 identical both ways; VmRSS before {:.1} MiB, after STOR {:.1} MiB, after RETR \
         {:.1} MiB, sampled peak {:.1} MiB (growth {:.1} MiB, limit {:.0} MiB), VmHWM {:.1} MiB; \
         test wall time {:.1} s",
        up.as_secs_f64(),
        mbps(up),
        down.as_secs_f64(),
        mbps(down),
        mib(before),
        mib(after_put),
        mib(after_get),
        mib(peak),
        mib(growth),
        mib(MAX_RSS_GROWTH),
        mib(hwm),
        started.elapsed().as_secs_f64()
    ));
    // VmHWM is the kernel's own peak, so a spike between two samples cannot hide.
    assert!(
        growth < MAX_RSS_GROWTH && hwm.saturating_sub(before) < MAX_RSS_GROWTH,
        "resident memory grew by {:.1} MiB (VmHWM {:.1} MiB) during 1 GiB transfers (limit \
         {:.0} MiB): the transfers do not stream",
        mib(growth),
        mib(hwm),
        mib(MAX_RSS_GROWTH)
    );
}
