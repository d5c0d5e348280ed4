//! The same core session on every runtime the crate supports: tokio (default) and async-std
//! (feature `async-std`; `cargo test -p ftp-server --all-features` runs it). Login, LIST, RETR
//! and STOR, passive (EPSV) and active (EPRT, and PORT on IPv4), over IPv4 and IPv6; plus curl
//! in both modes when it is installed.

mod common;

use std::process::Command;

use common::*;

fn core_subset(rt: Rt) {
    let s = start_on(rt, |b| b);
    let orig = s.read("data.bin");
    let up = s.work_file("up.bin");
    let mut families = vec![false];
    if s.v6.is_some() {
        families.push(true);
    }
    for v6 in families {
        let mut modes = vec![DataMode::Epsv, DataMode::Eprt];
        if !v6 {
            modes.extend([DataMode::Pasv, DataMode::Port]);
        }
        for mode in modes {
            let mut c = s.login(v6);
            c.expect("TYPE I", 200);
            let list = download(&mut c, mode, "LIST");
            let list = String::from_utf8_lossy(&list);
            assert!(
                list.lines().any(|l| l.ends_with(" data.bin")),
                "LIST: {list}"
            );
            let data = download(&mut c, mode, "RETR data.bin");
            assert_same("RETR", &data, &orig);
            let name = format!("up_{mode:?}_{v6}.bin");
            upload(&mut c, mode, &format!("STOR {name}"), &up);
            assert_same("STOR", &s.read(&name), &up);
            c.expect("QUIT", 221);
        }
    }
    if have_tool("curl") {
        let url = format!("ftp://{}/", url_host(s.v4));
        for active in [false, true] {
            let mut cmd = Command::new("curl");
            cmd.current_dir(&s.work)
                .args(["-sS", "--max-time", "30", "-u", "alice:secret"]);
            if active {
                cmd.args(["-P", "127.0.0.1"]);
            }
            let name = format!("curl_{active}.bin");
            run_ok(cmd.args(["-T", "up.bin", &format!("{url}{name}")]));
            assert_same("curl STOR", &s.read(&name), &up);
            let mut cmd = Command::new("curl");
            cmd.args(["-sS", "--max-time", "30", "-u", "alice:secret"]);
            if active {
                cmd.args(["-P", "127.0.0.1"]);
            }
            let out = run_ok(cmd.arg(format!("{url}data.bin")));
            assert_same("curl RETR", &out.stdout, &orig);
        }
    }
    report(&format!(
        "RUNTIME {rt:?}: login, LIST, RETR, STOR in EPSV/EPRT (IPv4{}) and PASV/PORT (IPv4): ok",
        if s.v6.is_some() { ", IPv6" } else { "" }
    ));
}

#[test]
fn tokio_core_subset() {
    core_subset(Rt::Tokio);
}

#[cfg(feature = "async-std")]
#[test]
fn async_std_core_subset() {
    core_subset(Rt::AsyncStd);
}

/// Shutdown on async-std too: an idle session gets 421 and `serve` returns.
#[cfg(feature = "async-std")]
#[test]
fn async_std_graceful_shutdown() {
    let mut s = start_on(Rt::AsyncStd, |b| b);
    let mut c = s.login(false);
    s.shutdown();
    assert_eq!(c.reply().code, 421);
    assert!(
        s.wait_stopped(std::time::Duration::from_secs(10)).is_some(),
        "serve() on async-std did not return"
    );
}
