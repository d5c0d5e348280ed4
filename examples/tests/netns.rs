//! Active vs passive FTP through real firewalls and real NAT.
//!
//! Runs `tools/netns/netns.py`, which builds small networks out of Linux network namespaces (a
//! client, a router running nftables, a server), starts the `ftp-server` example in the server
//! namespace and runs the `ftp` example, curl and Python's ftplib from the client namespace.
//! Every scenario states its prediction; the script prints one `NETNS ...` verdict line per
//! case straight to this process's stdout, so the table shows in the log even when libtest
//! captures output, and exits non-zero when an observation differs from its prediction.
//!
//! It needs root, `ip`, `nft`, `curl` and `python3` (`tools/peers/install.sh` installs them).
//! Where it cannot run, the test prints `SKIP: ...` and passes, unless the environment variable
//! `CI` is set (to anything but `false`, `0` or nothing): then it fails.
//!
//! The example binaries are built first (`cargo build --workspace --example ftp --example
//! ftp-server` into this test's target directory: the features `cargo test --workspace`
//! selects, so it finds them built), so a stale binary is never tested. The
//! namespaces are named after this process and a random tag, and are removed when the script
//! ends, and again by this test whatever happens (a panic included).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The exit status with which the script reports that it cannot run on this machine.
const EXIT_SKIP: i32 = 77;
/// The longest the whole script may take (it bounds every step itself; this is the backstop).
const DEADLINE: Duration = Duration::from_secs(180);

/// Writes a line to stderr past libtest's output capture.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether the run is CI's, where a skip is a failure.
fn strict() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Skips with a visible line (unless the script printed it already), or fails under CI.
fn skip(why: &str, reported: bool) {
    if strict() {
        panic!("FTP firewall/NAT scenarios cannot run and CI is set: {why}");
    }
    if !reported {
        report(&format!("SKIP: FTP firewall/NAT scenarios: {why}"));
    }
}

/// The repository root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ lies inside the repository")
        .to_path_buf()
}

/// The profile directory this test was built into (`.../target/debug`): the test binary lies
/// in its `deps/` folder.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lies in <target>/<profile>/deps/")
        .to_path_buf()
}

/// Builds the `ftp` and `ftp-server` examples of this test's profile; returns their folder.
fn build_examples() -> Result<PathBuf, String> {
    let profile = profile_dir();
    let target = profile
        .parent()
        .ok_or("the profile directory has no parent")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    build
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", target)
        .args(["build", "--quiet", "--workspace"])
        .args(["--example", "ftp", "--example", "ftp-server"]);
    match profile.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => return Err(format!("odd profile directory {}", profile.display())),
    }
    let status = build
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("building the examples failed: {status}"));
    }
    Ok(profile.join("examples"))
}

/// The Python interpreter: the system's when present (the script needs only the standard
/// library), else `python3` from `PATH`.
fn python() -> Option<PathBuf> {
    let system = PathBuf::from("/usr/bin/python3");
    if system.is_file() {
        return Some(system);
    }
    Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .ok()
        .filter(ExitStatus::success)
        .map(|_| PathBuf::from("python3"))
}

/// Removes this run's namespaces when dropped, whatever happened before.
struct Cleanup {
    python: PathBuf,
    script: PathBuf,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(&self.python)
            .arg(&self.script)
            .args(["cleanup", "--prefix", &self.prefix])
            .status();
    }
}

/// Waits for `child` until `deadline`; kills it when the deadline passes.
fn wait_bounded(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[test]
fn active_passive_firewall_and_nat_scenarios() {
    let Some(python) = python() else {
        return skip("python3 is not installed", false);
    };
    let script = repo_root().join("tools/netns/netns.py");
    let bin_dir = match build_examples() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };

    let owner = std::process::id();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = format!("{:06x}", nanos & 0xff_ffff);
    let _cleanup = Cleanup {
        python: python.clone(),
        script: script.clone(),
        prefix: format!("ftpnet-{owner}-{tag}-"),
    };

    let started = Instant::now();
    let mut child = Command::new(&python)
        .arg(&script)
        .arg("run")
        .arg("--bin-dir")
        .arg(&bin_dir)
        .args([
            "--timeout",
            "5",
            "--owner",
            &owner.to_string(),
            "--tag",
            &tag,
        ])
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let status = wait_bounded(&mut child, DEADLINE);
    let took = started.elapsed().as_secs_f64();
    match status.and_then(|s| s.code()) {
        Some(0) => report(&format!("netns scenarios: all as predicted ({took:.1}s)")),
        Some(EXIT_SKIP) => skip("see the SKIP line above", true),
        Some(code) => panic!(
            "netns scenarios: exit status {code} after {took:.1}s: an observation differs from \
             its prediction (FAIL lines above) or the harness failed"
        ),
        None => panic!(
            "netns scenarios: no exit status after {took:.1}s (killed by a signal, or still \
             running at the {}s deadline)",
            DEADLINE.as_secs()
        ),
    }
}
