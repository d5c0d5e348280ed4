//! Bad and hostile input against a real server on loopback, over raw sockets: every case
//! asserts the reply PROTOCOL.md ("What a robust server answers to bad or hostile input")
//! expects, and prints one uncaptured `HOSTILE <case>: <replies>` line for the CI log.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const LOCAL2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const LOCAL3: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

fn hostile(case: &str, result: &str) {
    report(&format!("HOSTILE {case}: {result}"));
}

/// A file of `mib` MiB (a 1 MiB pseudo-random block, each copy stamped with its index).
fn write_big(path: &Path, mib: usize) -> Vec<u8> {
    let block = pseudo_random(1 << 20, 7);
    let mut all = Vec::with_capacity(mib << 20);
    for i in 0..mib {
        let start = all.len();
        all.extend_from_slice(&block);
        all[start..start + 8].copy_from_slice(&(i as u64).to_le_bytes());
    }
    std::fs::write(path, &all).unwrap();
    all
}

fn port_cmd(ip: Ipv4Addr, port: u16) -> String {
    let o = ip.octets();
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

// ---------------------------------------------------------------------------------------------
// FTP bounce (RFC 2577 §3)

#[test]
fn port_and_eprt_to_a_foreign_address_are_refused_without_connecting() {
    let s = start(|b| b);
    let trap = TcpListener::bind((LOCAL2, 0)).unwrap();
    let port = trap.local_addr().unwrap().port();
    let mut c = s.login(false);
    let r1 = c.expect(&port_cmd(Ipv4Addr::new(127, 0, 0, 2), port), 504);
    let r2 = c.expect(&format!("EPRT |1|127.0.0.2|{port}|"), 504);
    let r3 = c.expect(
        &format!("LPRT 4,4,127,0,0,2,2,{},{}", port >> 8, port & 0xff),
        504,
    );
    // No data channel was accepted: the transfer has nowhere to go.
    let r4 = c.expect("RETR data.bin", 425);
    assert!(
        accept_within(&trap, Duration::from_millis(500)).is_none(),
        "the server connected to a foreign address"
    );
    let mut results = format!(
        "PORT 127.0.0.2 -> {}, EPRT -> {}, LPRT -> {}, then RETR -> {}",
        r1.code, r2.code, r3.code, r4.code
    );
    if let Some(v6) = s.v6 {
        // An IPv4 address from an IPv6 client is another host too.
        let mut c6 = Ctrl::connect(v6);
        c6.login(RW_USER, RW_PASS);
        let r = c6.expect(&format!("EPRT |1|127.0.0.2|{port}|"), 504);
        c6.expect("RETR data.bin", 425);
        results.push_str(&format!("; EPRT |1|127.0.0.2| over IPv6 -> {}", r.code));
    }
    assert!(accept_within(&trap, Duration::from_millis(200)).is_none());
    hostile(
        "PORT/EPRT/LPRT to a foreign IP",
        &format!("{results}; no connection"),
    );
}

#[test]
fn port_and_eprt_to_a_privileged_port_are_refused_without_connecting() {
    let s = start(|b| b);
    // Listening below 1024 needs privileges; without them only the replies are checked.
    let trap = TcpListener::bind(("127.0.0.1", 1023)).ok();
    let mut c = s.login(false);
    let r1 = c.expect(&port_cmd(Ipv4Addr::LOCALHOST, 1023), 504);
    let r2 = c.expect("EPRT |1|127.0.0.1|1023|", 504);
    let r3 = c.expect("EPRT |1|127.0.0.1|21|", 504);
    c.expect("RETR data.bin", 425);
    if let Some(trap) = &trap {
        assert!(
            accept_within(trap, Duration::from_millis(500)).is_none(),
            "the server connected to port 1023"
        );
    }
    // The boundary: 1024 is allowed.
    c.expect(&port_cmd(Ipv4Addr::LOCALHOST, 1024), 200);
    hostile(
        "PORT/EPRT to a port < 1024",
        &format!(
            "PORT :1023 -> {}, EPRT :1023 -> {}, EPRT :21 -> {}; {}; PORT :1024 -> 200",
            r1.code,
            r2.code,
            r3.code,
            if trap.is_some() {
                "no connection to the listening port 1023"
            } else {
                "(port 1023 not bindable here: no listener check)"
            }
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Passive port stealing (RFC 2577 §3, vsftpd)

fn steal(mode: DataMode) -> String {
    let s = start(|b| b);
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let addr = if mode == DataMode::Epsv {
        c.epsv()
    } else {
        c.pasv()
    };
    // The thief connects first, from another address of the machine.
    let mut thief = connect_from(LOCAL2, addr).expect("the thief's connect");
    thief
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    c.send("RETR data.bin");
    let r = c.reply();
    assert_eq!(r.code, 150, "{}", r.text());
    let mut stolen = Vec::new();
    let thief_result = thief.read_to_end(&mut stolen);
    assert!(
        stolen.is_empty(),
        "the thief received {} bytes of the file",
        stolen.len()
    );
    let dropped = match thief_result {
        Ok(_) => "closed",
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => panic!("the thief was kept open"),
        Err(_) => "reset",
    };
    // The rightful client still gets its file.
    let mut data = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_same("legitimate download", &got, &s.read("data.bin"));
    let r = c.reply();
    assert_eq!(r.code, 226, "{}", r.text());
    c.expect("NOOP", 200);
    format!("thief from 127.0.0.2 {dropped}, got 0 bytes; the client's download ok")
}

#[test]
fn passive_port_stealing_is_refused() {
    let mut c_res = Vec::new();
    for mode in [DataMode::Epsv, DataMode::Pasv] {
        c_res.push(format!("{mode:?}: {}", steal(mode)));
    }
    hostile("passive port stealing", &c_res.join("; "));
}

// ---------------------------------------------------------------------------------------------
// Paths: traversal, absolute paths, backslashes, links out of the root

/// Sends `line`, asserts its code is one of `allowed` and that the reply reveals no real path.
#[track_caller]
fn path_check(
    c: &mut Ctrl,
    line: &str,
    allowed: &[u16],
    real: &str,
    seen: &mut Vec<String>,
) -> Reply {
    let r = c.cmd(line);
    assert!(
        allowed.contains(&r.code),
        "{line:?} -> {} (expected one of {allowed:?})",
        r.text()
    );
    let text = r.text();
    assert!(
        !text.contains(real),
        "{line:?} revealed the real path: {text}"
    );
    assert!(
        !text.contains("os error"),
        "{line:?} revealed an OS error: {text}"
    );
    seen.push(format!("{line} -> {}", r.code));
    r
}

#[test]
fn paths_never_leave_the_root_nor_reveal_real_paths() {
    let s = start(|b| b);
    let outside = s.dir.path();
    std::fs::write(outside.join("secret.txt"), b"outside the root\n").unwrap();
    // A distinctive time on the outside file: no reply may show it.
    std::fs::File::options()
        .write(true)
        .open(outside.join("secret.txt"))
        .and_then(|f| f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000)))
        .unwrap();
    std::os::unix::fs::symlink("/etc", s.root.join("link_etc")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), s.root.join("link_secret")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", s.root.join("link_rel")).unwrap();
    std::os::unix::fs::symlink(outside, s.root.join("link_out")).unwrap();
    let real = outside.to_string_lossy().into_owned();
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let seen = &mut Vec::new();
    for line in [
        "RETR ../secret.txt",
        "RETR ../../etc/passwd",
        "RETR ../../../../../../etc/passwd",
        "RETR /etc/passwd",
        "RETR ..\\secret.txt",
        "RETR ..\\..\\etc\\passwd",
        "RETR link_etc/passwd",
        "RETR link_rel",
        "RETR link_out/secret.txt",
        "SIZE link_etc/passwd",
        "MLST link_etc/passwd",
        "CWD link_etc",
        "CWD link_out",
        "MKD link_out/planted",
        "DELE link_out/secret.txt",
        "RMD link_out/work",
    ] {
        if line.starts_with("RETR") {
            // A data channel first, so that a refusal is about the path, not a missing 425.
            c.epsv();
        }
        path_check(&mut c, line, &[550, 553], &real, seen);
    }
    // Transfers, with a data channel so the refusal is about the path.
    for line in [
        "RETR link_secret",
        "STOR link_out/planted.txt",
        "STOR link_secret",
        "APPE link_secret",
    ] {
        c.epsv();
        path_check(&mut c, line, &[550, 553], &real, seen);
    }
    // Listing a link that leaves the root: refused, or the link itself as one entry (its own
    // lstat), never the outside directory's contents.
    for line in [
        "LIST link_etc",
        "NLST link_out",
        "MLSD link_etc",
        "LIST link_out/",
    ] {
        let addr = c.epsv();
        let mut data = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        let r = path_check(&mut c, line, &[150, 501, 550], &real, seen);
        if r.code == 150 {
            let mut listing = Vec::new();
            data.read_to_end(&mut listing).unwrap();
            let text = String::from_utf8_lossy(&listing);
            for leak in ["passwd", "hosts", "secret.txt", "work", "root", &real] {
                assert!(
                    !text.contains(leak),
                    "{line} lists outside the root:\n{text}"
                );
            }
            assert!(text.lines().count() <= 1, "{line}:\n{text}");
            assert_eq!(c.reply().code, 226);
            let last = seen.pop().unwrap();
            seen.push(format!("{last}+226 listing only the link itself"));
        }
    }
    c.expect("RNFR data.bin", 350);
    path_check(&mut c, "RNTO link_out/stolen.bin", &[550, 553], &real, seen);
    // A link leaving the root may be described as the link itself (its own lstat), never as
    // its target: the outside file's time (2001-09-09 01:46:40) must not show.
    for line in ["MDTM link_secret", "MLST link_secret", "SIZE link_secret"] {
        let r = path_check(&mut c, line, &[213, 250, 550], &real, seen);
        assert!(
            !r.text().contains("20010909014640"),
            "{line} describes the file outside the root: {}",
            r.text()
        );
    }
    // `..` above the root is the root (never beyond it).
    for line in ["CWD /..", "CWD ../..", "CWD /../../.."] {
        let r = path_check(&mut c, line, &[250, 550], &real, seen);
        let pwd = c.expect("PWD", 257);
        assert!(
            pwd.text().starts_with("257 \"/\""),
            "{line} then PWD: {}",
            pwd.text()
        );
        if r.code == 250 {
            let names = download(&mut c, DataMode::Epsv, "NLST");
            assert!(
                String::from_utf8_lossy(&names)
                    .lines()
                    .any(|l| l == "data.bin"),
                "after {line} the listing is not the root's"
            );
        }
    }
    // Listings show no real path either (a link leaving the root shows no target).
    let list = download(&mut c, DataMode::Epsv, "LIST");
    let mlsd = download(&mut c, DataMode::Epsv, "MLSD");
    for (what, bytes) in [("LIST", &list), ("MLSD", &mlsd)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&real),
            "{what} reveals the real path:\n{text}"
        );
        assert!(
            !text.contains("-> /etc"),
            "{what} reveals a link target:\n{text}"
        );
    }
    assert!(!outside.join("planted.txt").exists() && !outside.join("planted").exists());
    assert!(!outside.join("stolen.bin").exists());
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"outside the root\n"
    );
    assert!(
        s.root.join("data.bin").exists(),
        "the refused rename moved the file"
    );
    hostile(
        "path traversal / absolute / backslash / links out",
        &format!("{}; no real path in any reply or listing", seen.join(", ")),
    );
}

// ---------------------------------------------------------------------------------------------
// CR, LF, NUL in names (RFC 2640 §3.1: a CR in a path travels as CR NUL)

#[test]
fn cr_lf_nul_in_names_are_never_emitted_raw() {
    let s = start(|b| b);
    std::fs::write(s.root.join("cr\rname.txt"), b"cr").unwrap();
    std::fs::write(s.root.join("lf\nname.txt"), b"lf").unwrap();
    std::fs::create_dir(s.root.join("dir\r\nwith")).unwrap();
    let mut c = s.login(false);
    let mut seen = Vec::new();

    c.send_raw(b"MKD a\r\0b\r\n");
    let r = c.reply();
    assert_clean_reply("MKD reply", &r.raw);
    seen.push(format!("MKD a<CR NUL>b -> {}", r.code));
    assert_eq!(r.code, 257, "{}", r.text());
    assert!(s.root.join("a\rb").is_dir(), "CR NUL should stand for CR");
    c.send_raw(b"CWD a\r\0b\r\n");
    let r = c.reply();
    assert_eq!(r.code, 250, "{}", r.text());
    let r = c.expect("PWD", 257);
    assert_clean_reply("PWD reply", &r.raw);
    seen.push(format!("PWD inside it -> 257 {:?}", r.text()));
    c.expect("CWD /", 250);

    // A NUL alone cannot be part of a Unix name: refused, and not echoed raw.
    c.send_raw(b"MKD nu\0l\r\n");
    let r = c.reply();
    assert_clean_reply("MKD NUL reply", &r.raw);
    assert_eq!(r.class(), 5, "MKD with a NUL: {}", r.text());
    seen.push(format!("MKD nu<NUL>l -> {}", r.code));

    for cmd in ["LIST", "NLST", "MLSD", "LIST -a"] {
        let data = download(&mut c, DataMode::Epsv, cmd);
        assert_no_raw_controls(cmd, &data);
        let lines = String::from_utf8_lossy(&data).lines().count();
        assert!(lines >= 5, "{cmd}: too few lines");
    }
    for cmd in ["STAT /", "MLST cr\r\0name.txt", "STAT cr\r\0name.txt"] {
        c.send_raw(format!("{cmd}\r\n").as_bytes());
        let r = c.reply();
        assert_clean_reply(cmd, &r.raw);
        assert!(r.class() == 2, "{cmd:?} -> {}", r.text());
        seen.push(format!(
            "{} -> {}",
            cmd.replace('\r', "<CR>").replace('\0', "<NUL>"),
            r.code
        ));
    }
    hostile(
        "CR/LF/NUL in names",
        &format!(
            "{}; LIST/NLST/MLSD/STAT/MLST lines hold no raw CR, LF or NUL",
            seen.join(", ")
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Over-long command lines

#[test]
fn an_over_long_line_gets_500_and_the_connection_survives() {
    let s = start(|b| b);
    let mut c = s.ctrl(false);
    let long = format!("NOOP {}\r\n", "A".repeat(10 * 1024));
    c.send_raw(long.as_bytes());
    let r1 = c.reply();
    assert_eq!(r1.code, 500, "{}", r1.text());
    c.expect("NOOP", 200);
    c.login(RW_USER, RW_PASS);
    // 100 KB in one line, with the next command pipelined behind it.
    let huge = format!("RETR {}\r\nPWD\r\n", "B".repeat(100 * 1024));
    c.send_raw(huge.as_bytes());
    let r2 = c.reply();
    assert_eq!(r2.code, 500, "{}", r2.text());
    let pwd = c.reply();
    assert_eq!(pwd.code, 257, "{}", pwd.text());
    c.expect("NOOP", 200);
    hostile(
        "over-long command line",
        &format!(
            "10 KB before login -> {}, 100 KB after -> {} then PWD -> 257; connection alive",
            r1.code, r2.code
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Connection caps (421 at accept)

#[test]
fn connections_over_the_caps_get_421_at_accept() {
    let s = start(|b| b.max_connections(4).max_per_ip(2));
    let mut a1 = s.ctrl(false);
    let _a2 = s.ctrl(false);
    let mut a3 = Ctrl::connect_raw(s.v4);
    let r_ip = a3.reply();
    assert_eq!(r_ip.code, 421, "third from 127.0.0.1: {}", r_ip.text());
    assert!(
        a3.closed_within(Duration::from_secs(3)),
        "421 but not closed"
    );
    let mut b1 = Ctrl::connect_from(LOCAL2, s.v4);
    assert_eq!(b1.reply().code, 220);
    let mut b2 = Ctrl::connect_from(LOCAL2, s.v4);
    assert_eq!(b2.reply().code, 220);
    let mut c1 = Ctrl::connect_from(LOCAL3, s.v4);
    let r_total = c1.reply();
    assert_eq!(r_total.code, 421, "fifth overall: {}", r_total.text());
    assert!(c1.closed_within(Duration::from_secs(3)));
    // A slot freed is a slot available again.
    a1.expect("QUIT", 221);
    assert!(a1.closed_within(Duration::from_secs(3)));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut again = Ctrl::connect_raw(s.v4);
        let r = again.reply();
        if r.code == 220 {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    hostile(
        "connection flood",
        &format!(
            "max_per_ip 2: 3rd from 127.0.0.1 -> {} {:?}; max_connections 4: 5th -> {} {:?}; \
             slot reusable after QUIT",
            r_ip.code,
            r_ip.text(),
            r_total.code,
            r_total.text()
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Logins

#[test]
fn failed_logins_are_delayed_then_421_and_do_not_block_others() {
    let delay = Duration::from_millis(600);
    let s = start(|b| b.login_failure_delay(delay).max_login_failures(3));
    let mut a = s.ctrl(false);
    let mut codes = Vec::new();
    for attempt in 1..=3 {
        a.expect("USER alice", 331);
        let t = Instant::now();
        a.send("PASS wrong");
        if attempt == 1 {
            // Meanwhile, another session logs in at full speed.
            let t_b = Instant::now();
            let mut b = s.ctrl(false);
            b.login(RW_USER, RW_PASS);
            b.expect("PWD", 257);
            let took = t_b.elapsed();
            assert!(
                took < delay / 2,
                "another session's login took {took:?} while a failed login was delayed"
            );
        }
        let r = a.reply();
        let took = t.elapsed();
        assert_eq!(r.code, 530, "attempt {attempt}: {}", r.text());
        assert!(
            took >= delay - Duration::from_millis(50),
            "530 after only {took:?}"
        );
        codes.push(format!("530 after {} ms", took.as_millis()));
    }
    let r = a.reply();
    assert_eq!(r.code, 421, "after 3 failures: {}", r.text());
    assert!(
        a.closed_within(Duration::from_secs(3)),
        "421 but not closed"
    );
    hostile(
        "login brute force",
        &format!(
            "{}; then 421 {:?} and close; a parallel login was not delayed",
            codes.join(", "),
            r.text()
        ),
    );
}

#[test]
fn unknown_users_get_the_same_331_and_a_delayed_530() {
    let delay = Duration::from_millis(300);
    let s = start(|b| b.login_failure_delay(delay));
    let mut known = s.ctrl(false);
    let mut unknown = s.ctrl(false);
    let r1 = known.expect("USER alice", 331);
    let r2 = unknown.expect("USER nobody-here", 331);
    assert_eq!(
        r1.raw, r2.raw,
        "a known and an unknown user must look alike"
    );
    let t = Instant::now();
    let r = unknown.expect("PASS whatever", 530);
    assert!(t.elapsed() >= delay - Duration::from_millis(50));
    // And the pre-login sequence errors:
    let mut c = s.ctrl(false);
    let p = c.expect("PASS secret", 503);
    c.login(RW_USER, RW_PASS);
    let p2 = c.expect("PASS secret", 503);
    hostile(
        "unknown user / PASS before USER / second PASS",
        &format!(
            "USER known -> {:?}, USER unknown -> {:?} (identical), PASS -> {} after {} ms; \
             PASS before USER -> {}; PASS after login -> {}",
            r1.text(),
            r2.text(),
            r.code,
            t.elapsed().as_millis(),
            p.code,
            p2.code
        ),
    );
}

#[test]
fn commands_before_login_get_530() {
    let s = start(|b| b);
    let mut c = s.ctrl(false);
    let mut seen = Vec::new();
    for line in [
        "RETR data.bin",
        "STOR x",
        "APPE x",
        "LIST",
        "NLST",
        "MLSD",
        "MLST data.bin",
        "CWD dir",
        "CDUP",
        "PWD",
        "MKD x",
        "RMD dir",
        "DELE data.bin",
        "RNFR data.bin",
        "SIZE data.bin",
        "MDTM data.bin",
        "PASV",
        "EPSV",
        "PORT 127,0,0,1,4,0",
        "EPRT |1|127.0.0.1|1024|",
        "REST 10",
        "STAT data.bin",
        "SITE CHMOD 777 data.bin",
    ] {
        let r = c.cmd(line);
        assert_eq!(r.code, 530, "{line} before login: {}", r.text());
        seen.push(line.split(' ').next().unwrap().to_owned());
    }
    // These work before login.
    c.expect("NOOP", 200);
    c.expect("SYST", 215);
    c.expect("FEAT", 211);
    assert!(s.root.join("data.bin").exists() && s.root.join("dir").exists());
    hostile(
        "file commands before login",
        &format!("{} -> 530 each; NOOP/SYST/FEAT answered", seen.join(" ")),
    );
}

#[test]
fn rnto_without_rnfr_gets_503() {
    let s = start(|b| b);
    let mut c = s.login(false);
    let r1 = c.expect("RNTO b.bin", 503);
    c.expect("RNFR data.bin", 350);
    c.expect("NOOP", 200);
    let r2 = c.expect("RNTO b.bin", 503);
    let r3 = c.expect("RNFR missing.bin", 550);
    let r4 = c.expect("RNTO b.bin", 503);
    assert!(s.root.join("data.bin").exists() && !s.root.join("b.bin").exists());
    hostile(
        "RNTO without RNFR",
        &format!(
            "RNTO alone -> {}; RNFR, NOOP, RNTO -> {}; RNFR missing -> {}, RNTO -> {}",
            r1.code, r2.code, r3.code, r4.code
        ),
    );
}

#[test]
fn the_read_only_user_cannot_change_anything() {
    let s = start(|b| b);
    let mut c = s.ctrl(false);
    c.login(RO_USER, RO_PASS);
    c.expect("TYPE I", 200);
    let data = download(&mut c, DataMode::Epsv, "RETR data.bin");
    assert_same("read-only RETR", &data, &s.read("data.bin"));
    let mut seen = Vec::new();
    for line in [
        "STOR new.bin",
        "APPE data.bin",
        "STOU",
        "DELE data.bin",
        "MKD newdir",
        "RMD dir",
        "MFMT 20200101000000 data.bin",
    ] {
        c.epsv();
        let r = c.cmd(line);
        assert_eq!(r.code, 550, "{line} as a read-only user: {}", r.text());
        seen.push(format!("{} -> {}", line.split(' ').next().unwrap(), r.code));
    }
    let r = c.cmd("RNFR data.bin");
    if r.code == 350 {
        let r = c.expect("RNTO moved.bin", 550);
        seen.push(format!("RNFR -> 350, RNTO -> {}", r.code));
    } else {
        assert_eq!(r.code, 550, "RNFR as a read-only user: {}", r.text());
        seen.push(format!("RNFR -> {}", r.code));
    }
    assert_same("untouched", &s.read("data.bin"), &s.work_file("orig.bin"));
    assert!(!s.root.join("new.bin").exists() && !s.root.join("newdir").exists());
    assert!(s.root.join("dir").is_dir() && !s.root.join("moved.bin").exists());
    hostile("read-only user", &seen.join(", "));
}

#[test]
fn address_family_rules_of_rfc_2428() {
    let s = start(|b| b);
    let mut results = Vec::new();
    if let Some(v6) = s.v6 {
        let mut c = Ctrl::connect(v6);
        c.login(RW_USER, RW_PASS);
        let r = c.expect("PASV", 425);
        results.push(format!("PASV over IPv6 -> {} {:?}", r.code, r.text()));
        let r = c.expect("EPSV 1", 522);
        results.push(format!("EPSV 1 over IPv6 -> {}", r.code));
        c.expect("EPSV 2", 229);
    }
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let r = c.expect("EPRT |3|x|1|", 522);
    results.push(format!("EPRT family 3 -> {}", r.code));
    c.expect("EPSV ALL", 200);
    for line in [
        "PASV",
        "PORT 127,0,0,1,4,0",
        "EPRT |1|127.0.0.1|1024|",
        "LPSV",
    ] {
        let r = c.cmd(line);
        assert_eq!(r.code, 503, "{line} after EPSV ALL: {}", r.text());
    }
    results.push("after EPSV ALL: PASV/PORT/EPRT/LPSV -> 503".to_owned());
    let data = download(&mut c, DataMode::Epsv, "RETR data.bin");
    assert_same("EPSV after EPSV ALL", &data, &s.read("data.bin"));
    hostile("RFC 2428 families", &results.join("; "));
}

// ---------------------------------------------------------------------------------------------
// Timeouts

#[test]
fn an_idle_session_gets_421() {
    let s = start(|b| b.idle_timeout(Duration::from_secs(1)));
    let mut before = s.ctrl(false);
    let mut after = s.login(false);
    let t = Instant::now();
    let r1 = after.reply();
    let took = t.elapsed();
    assert_eq!(r1.code, 421, "{}", r1.text());
    assert!(
        took >= Duration::from_millis(800),
        "421 after only {took:?}"
    );
    assert!(
        after.closed_within(Duration::from_secs(3)),
        "421 but not closed"
    );
    let r2 = before.reply();
    assert_eq!(r2.code, 421, "before login: {}", r2.text());
    assert!(before.closed_within(Duration::from_secs(3)));
    hostile(
        "idle session (idle_timeout 1 s)",
        &format!("421 {:?} after {} ms, closed", r1.text(), took.as_millis()),
    );
}

#[test]
fn a_passive_port_never_connected_gets_425() {
    let s = start(|b| b.data_timeout(Duration::from_secs(1)));
    let mut c = s.login(false);
    c.epsv();
    let t = Instant::now();
    c.send("RETR data.bin");
    let mut r = c.reply();
    if r.class() == 1 {
        r = c.reply();
    }
    let took = t.elapsed();
    assert_eq!(r.code, 425, "{}", r.text());
    assert!(
        took >= Duration::from_millis(800),
        "425 after only {took:?}"
    );
    c.expect("NOOP", 200);
    hostile(
        "passive port never connected (data_timeout 1 s)",
        &format!(
            "425 {:?} after {} ms; session continues",
            r.text(),
            took.as_millis()
        ),
    );
}

#[test]
fn a_stalled_data_connection_gets_426_then_421() {
    let s = start(|b| b.data_timeout(Duration::from_secs(1)));
    write_big(&s.root.join("big.bin"), 64);
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    // Connect, then never read: the server's writes stop making progress.
    let (_data, _) = open_data(&mut c, DataMode::Epsv, "RETR big.bin");
    let t = Instant::now();
    let r1 = c.reply();
    assert_eq!(r1.code, 426, "{}", r1.text());
    let r2 = c.reply();
    assert_eq!(r2.code, 421, "{}", r2.text());
    assert!(c.closed_within(Duration::from_secs(3)));
    hostile(
        "stalled data connection (data_timeout 1 s)",
        &format!("426 then 421 after {} ms, closed", t.elapsed().as_millis()),
    );
}

// ---------------------------------------------------------------------------------------------
// ABOR, QUIT, and cut-off uploads

#[test]
fn abor_mid_transfer_gets_426_then_226() {
    let s = start(|b| b);
    let big = write_big(&s.root.join("big.bin"), 64);
    let mut results = Vec::new();
    for (what, abor) in [
        ("ABOR", b"ABOR\r\n".to_vec()),
        // Telnet IP + Synch sent in-band (no urgent data): IAC IP IAC DM ABOR.
        ("IAC IP IAC DM ABOR", b"\xff\xf4\xff\xf2ABOR\r\n".to_vec()),
    ] {
        let mut c = s.login(false);
        c.expect("TYPE I", 200);
        let (mut data, _) = open_data(&mut c, DataMode::Epsv, "RETR big.bin");
        let mut first = vec![0u8; 64 * 1024];
        data.read_exact(&mut first).unwrap();
        c.send_raw(&abor);
        let r1 = c.reply();
        let r2 = c.reply();
        assert_eq!(
            (r1.code, r2.code),
            (426, 226),
            "{what}: {} / {}",
            r1.text(),
            r2.text()
        );
        // The data connection is closed (after whatever was in flight).
        let mut rest = Vec::new();
        let _ = data.read_to_end(&mut rest);
        assert!(
            first.len() + rest.len() < big.len(),
            "{what}: the whole file arrived anyway"
        );
        c.expect("NOOP", 200);
        results.push(format!("{what} -> {} then {}", r1.code, r2.code));
    }
    // With no transfer: 225 (or 226).
    let mut c = s.login(false);
    let r = c.cmd("ABOR");
    assert!(matches!(r.code, 225 | 226), "{}", r.text());
    results.push(format!("ABOR idle -> {}", r.code));
    hostile("ABOR mid-transfer", &results.join("; "));
}

/// RFC 959 §4.1.3: ABOR is sent after Telnet IP and Synch, the Synch's DM byte as TCP urgent
/// data; Python's `ftplib.FTP.abort()` sends `ABOR\r\n` itself with MSG_OOB (its LF is the
/// urgent byte). Without SO_OOBINLINE the urgent byte is dropped from the stream; with it, a
/// read stops short at the urgent mark, and a runtime that takes a short read for "drained"
/// (tokio clears its edge-triggered readiness then) never reads the rest.
fn abor_with_urgent_data(rt: Rt) {
    let s = start_on(rt, |b| b);
    write_big(&s.root.join("big.bin"), 64);
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let (mut data, _) = open_data(&mut c, DataMode::Epsv, "RETR big.bin");
    let mut first = vec![0u8; 64 * 1024];
    data.read_exact(&mut first).unwrap();
    c.send_raw(b"\xff\xf4\xff");
    let sock = socket2::SockRef::from(&c.stream);
    sock.send_out_of_band(b"\xf2").unwrap();
    c.send_raw(b"ABOR\r\n");
    c.set_read_timeout(Duration::from_secs(5));
    let r1 = c.reply();
    let r2 = c.reply();
    assert_eq!((r1.code, r2.code), (426, 226));
    c.expect("NOOP", 200);
    drop(data);

    if !have_tool("python3") {
        return;
    }
    let script = format!(
        r#"
import ftplib
ftp = ftplib.FTP(timeout=5)
ftp.connect("127.0.0.1", {port})
ftp.login("alice", "secret")
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
resp = ftp.abort()
assert resp[:3] in ("426", "225", "226"), resp
if resp[:3] == "426":
    assert ftp.getline()[:3] == "226"
conn.close()
assert ftp.sendcmd("NOOP")[:3] == "200"
print("OK")
"#,
        port = s.v4.port()
    );
    let out = run(Command::new("python3").args(["-c", &script]), TOOL_TIMEOUT);
    assert!(
        out.status.success(),
        "ftplib abort(): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    hostile(
        &format!("ABOR with urgent data ({rt:?})"),
        "IAC IP, IAC DM as MSG_OOB, ABOR -> 426 then 226; ftplib abort() answered",
    );
}

#[test]
fn abor_with_urgent_data_tokio() {
    abor_with_urgent_data(Rt::Tokio);
}

#[cfg(feature = "async-std")]
#[test]
fn abor_with_urgent_data_async_std() {
    abor_with_urgent_data(Rt::AsyncStd);
}

#[test]
fn quit_mid_transfer_finishes_it_then_221() {
    let s = start(|b| b);
    let big = write_big(&s.root.join("big.bin"), 32);
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let (mut data, _) = open_data(&mut c, DataMode::Epsv, "RETR big.bin");
    let mut got = vec![0u8; 64 * 1024];
    data.read_exact(&mut got).unwrap();
    c.send("QUIT");
    std::thread::sleep(Duration::from_millis(200));
    data.read_to_end(&mut got).unwrap();
    assert_same("download around QUIT", &got, &big);
    let r1 = c.reply();
    let r2 = c.reply();
    assert_eq!(
        (r1.code, r2.code),
        (226, 221),
        "{} / {}",
        r1.text(),
        r2.text()
    );
    assert!(c.closed_within(Duration::from_secs(3)));
    hostile(
        "QUIT mid-transfer",
        &format!(
            "transfer completed ({} bytes), {} then {}, closed",
            got.len(),
            r1.code,
            r2.code
        ),
    );
}

#[test]
fn a_client_cut_off_mid_stor_keeps_the_previous_file() {
    let s = start(|b| b);
    let old = pseudo_random(1 << 20, 10);
    std::fs::write(s.root.join("keep.bin"), &old).unwrap();
    let new = pseudo_random(4 << 20, 11);
    let mut c = s.login(false);
    c.expect("TYPE I", 200);
    let (mut data, _) = open_data(&mut c, DataMode::Epsv, "STOR keep.bin");
    data.write_all(&new[..new.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    reset(data);
    let r = c.reply();
    assert_eq!(r.class(), 4, "cut-off STOR: {}", r.text());
    assert_same("the previous version", &s.read("keep.bin"), &old);
    // No temporary file is left visible.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let names: Vec<String> = std::fs::read_dir(&s.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if !names.iter().any(|n| n.starts_with('.')) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "temporary upload left behind: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    c.expect("NOOP", 200);
    hostile(
        "client reset mid-STOR",
        &format!(
            "{} {:?}; previous keep.bin intact; no temporary file left",
            r.code,
            r.text()
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Shutdown

#[test]
fn graceful_shutdown_lets_a_transfer_finish_and_sends_421_to_idle_sessions() {
    let mut s = start(|b| b.shutdown_grace(Duration::from_secs(20)));
    let big = write_big(&s.root.join("big.bin"), 32);
    let mut idle = s.login(false);
    let mut busy = s.login(false);
    busy.expect("TYPE I", 200);
    let (mut data, _) = open_data(&mut busy, DataMode::Epsv, "RETR big.bin");
    let mut got = vec![0u8; 64 * 1024];
    data.read_exact(&mut got).unwrap();

    s.shutdown();
    let t = Instant::now();
    let r_idle = idle.reply();
    assert_eq!(r_idle.code, 421, "idle session: {}", r_idle.text());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "421 came late: {:?}",
        t.elapsed()
    );
    assert!(idle.closed_within(Duration::from_secs(3)));

    data.read_to_end(&mut got).unwrap();
    assert_same("download across the shutdown", &got, &big);
    let r1 = busy.reply();
    assert_eq!(r1.code, 226, "the running transfer: {}", r1.text());
    let r2 = busy.reply();
    assert_eq!(r2.code, 421, "after the transfer: {}", r2.text());
    assert!(busy.closed_within(Duration::from_secs(3)));
    hostile(
        "graceful shutdown",
        &format!(
            "idle session -> 421 {:?} at once; running RETR completed -> {} then {}",
            r_idle.text(),
            r1.code,
            r2.code
        ),
    );
}

#[test]

fn shutdown_returns_once_the_sessions_are_gone() {
    let mut s = start(|b| b.shutdown_grace(Duration::from_secs(20)));
    let mut c = s.login(false);
    c.expect("NOOP", 200);
    let t = Instant::now();
    s.shutdown();
    assert_eq!(c.reply().code, 421);
    let stopped = s.wait_stopped(Duration::from_secs(5));
    assert!(
        stopped.is_some(),
        "serve() did not return within 5 s although no session was left ({:?})",
        t.elapsed()
    );
}

#[test]

fn no_new_connection_is_served_after_shutdown() {
    let mut s = start(|b| b.shutdown_grace(Duration::from_secs(20)));
    let mut c = s.login(false);
    s.shutdown();
    assert_eq!(c.reply().code, 421);
    std::thread::sleep(Duration::from_millis(200));
    match TcpStream::connect_timeout(&s.v4, Duration::from_secs(2)) {
        Err(_) => {} // refused: the listener is closed
        Ok(stream) => {
            let mut late = Ctrl::from_stream(stream);
            late.set_read_timeout(Duration::from_secs(3));
            match late.try_reply() {
                Ok(r) => assert_eq!(r.code, 421, "a late client: {}", r.text()),
                Err(e) => assert!(
                    e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut,
                    "a client connecting after shutdown hangs without a reply"
                ),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connect/reset storms

/// Sockets of the server's side of `port` still open (established or waiting to be closed),
/// from /proc/net/tcp{,6}.
fn server_side_sockets(port: u16) -> usize {
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (f.get(1), f.get(3)) else {
                continue;
            };
            let lport = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 01 = ESTABLISHED, 08 = CLOSE_WAIT: still open in the server process (the
            // FIN_WAIT and TIME_WAIT states are the kernel's after the server closed).
            if lport == Some(port) && (*state == "01" || *state == "08") {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_connect_reset_storm_leaves_no_sockets_behind() {
    let s = start(|b| b);
    let port = s.v4.port();
    for i in 0..200 {
        let stream = TcpStream::connect(s.v4).unwrap();
        if i % 2 == 0 {
            reset(stream);
        } else {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
    // Data ports too: open passive listeners and reset connections into them. The sessions of
    // the storm end on their own (their greeting fails or they read EOF); until they have, the
    // per-IP cap may still count them.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut c = loop {
        let mut c = Ctrl::connect_raw(s.v4);
        let r = c.reply();
        if r.code == 220 {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the storm's sessions still hold the per-IP slots after 5 s: {}",
            r.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    c.login(RW_USER, RW_PASS);
    c.expect("TYPE I", 200);
    for _ in 0..50 {
        let addr = c.epsv();
        let stream = TcpStream::connect(addr).unwrap();
        reset(stream);
        let addr = c.epsv();
        drop(TcpStream::connect(addr).unwrap());
    }
    let data = download(&mut c, DataMode::Epsv, "RETR data.bin");
    assert_same("after the storm", &data, &s.read("data.bin"));
    c.expect("QUIT", 221);
    assert!(c.closed_within(Duration::from_secs(3)));
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(5);
    let left = loop {
        let n = server_side_sockets(port);
        if n == 0 || Instant::now() >= deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(left, 0, "the server still holds {left} control sockets");
    hostile(
        "connect/reset storm",
        "200 control + 100 data connects reset; server serves; 0 control sockets left open",
    );
}
