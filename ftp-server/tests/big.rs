//! A 1 GiB file up and down with curl, byte-identical (SHA-256). Slow, so it runs only when
//! `FTP_BIG_TESTS=1` or `CI` is set; otherwise it prints a SKIP line.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

const GIB: usize = 1 << 30;

/// The SHA-256 (hex) and size of a file: `sha256sum` when installed (an unoptimised test build
/// hashes a GiB slowly), the `sha2` crate otherwise.
fn sha256_file(path: &Path) -> (String, u64) {
    let size = std::fs::metadata(path).unwrap().len();
    if let Ok(out) = Command::new("sha256sum").arg(path).output() {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            return (
                text.split_whitespace().next().unwrap_or("").to_owned(),
                size,
            );
        }
    }
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (hex, size)
}

#[test]
fn one_gib_up_and_down_with_curl() {
    let wanted =
        std::env::var("FTP_BIG_TESTS").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some();
    if !wanted {
        report("SKIP: 1 GiB transfer test (set FTP_BIG_TESTS=1 or CI to run it)");
        return;
    }
    if !have_tool("curl") {
        return;
    }
    let started = Instant::now();
    let s = start(|b| b.data_timeout(Duration::from_secs(60)));
    // A 1 MiB pseudo-random block, repeated, each copy stamped with its index.
    let block = pseudo_random(1 << 20, 42);
    let local = s.work.join("big.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&local).unwrap());
        let mut b = block.clone();
        for i in 0..(GIB >> 20) {
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            f.write_all(&b).unwrap();
        }
        f.flush().unwrap();
    }
    let (want, n) = sha256_file(&local);
    assert_eq!(n, GIB as u64);
    let url = format!("ftp://{}/big.bin", url_host(s.v4));
    let curl = |args: &[&str]| {
        let out = run(
            Command::new("curl")
                .current_dir(&s.work)
                .args(["-sS", "--max-time", "600", "-u", "alice:secret"])
                .args(args),
            Duration::from_secs(660),
        );
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let t = Instant::now();
    curl(&["-T", "big.bin", &url]);
    let up = t.elapsed();
    let (got, n) = sha256_file(&s.root.join("big.bin"));
    assert_eq!(n, GIB as u64, "stored size");
    assert_eq!(got, want, "the stored file's SHA-256");

    let t = Instant::now();
    curl(&["-o", "back.bin", &url]);
    let down = t.elapsed();
    let (got, n) = sha256_file(&s.work.join("back.bin"));
    assert_eq!(n, GIB as u64, "downloaded size");
    assert_eq!(got, want, "the downloaded file's SHA-256");

    let mbps = |d: Duration| GIB as f64 / d.as_secs_f64() / 1e6;
    report(&format!(
        "BIG 1 GiB via curl (EPSV): STOR {:.1} s ({:.0} MB/s), RETR {:.1} s ({:.0} MB/s), \
         SHA-256 identical both ways; test wall time {:.1} s",
        up.as_secs_f64(),
        mbps(up),
        down.as_secs_f64(),
        mbps(down),
        started.elapsed().as_secs_f64()
    ));
}
