//! Interoperability with real FTP clients nobody here wrote: Python's `ftplib`, `curl` and
//! `lftp`, each in every data-connection mode (EPSV, PASV, PORT, EPRT) and address family the
//! mode applies to. Every cell checks transfers by comparing files, and prints one
//! `INTEROP client mode family: ok` line (uncaptured) so the CI log shows the matrix.
//!
//! A missing client prints `SKIP: <tool> not installed` (and fails when `CI` is set).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Epsv,
    Pasv,
    Port,
    Eprt,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Epsv => "EPSV",
            Mode::Pasv => "PASV",
            Mode::Port => "PORT",
            Mode::Eprt => "EPRT",
        }
    }
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// The cell's server, or `None` (with a SKIP line) when IPv6 is wanted and missing.
fn cell_server(client: &str, mode: Mode, v6: bool) -> Option<TestServer> {
    if v6 && !ipv6_available() {
        report(&format!(
            "SKIP: INTEROP {client} {} ipv6: IPv6 loopback not available",
            mode.name()
        ));
        return None;
    }
    Some(start(|b| b))
}

fn ok(client: &str, mode: Mode, v6: bool, note: &str) {
    report(&format!(
        "INTEROP {client} {} {}: ok{note}",
        mode.name(),
        family(v6)
    ));
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Python ftplib

fn ftplib_cell(mode: Mode, v6: bool) {
    if !have_tool("python3") {
        return;
    }
    let Some(s) = cell_server("ftplib", mode, v6) else {
        return;
    };
    let addr = s.addr(v6);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftplib_cell.py");
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(mode.name())
            .arg(&s.root)
            .arg(&s.work),
    );
    let text = stdout(&out);
    assert!(text.starts_with("OK"), "ftplib cell: {text}");
    ok("ftplib", mode, v6, "");
}

// ---------------------------------------------------------------------------------------------
// curl

struct Curl<'a> {
    mode_args: Vec<String>,
    base: String,
    work: &'a Path,
}

impl Curl<'_> {
    fn run(&self, extra: &[&str]) -> Output {
        run_ok(
            Command::new("curl")
                .current_dir(self.work)
                .args([
                    "-sS",
                    "-v",
                    "-g",
                    "--max-time",
                    "30",
                    "--connect-timeout",
                    "5",
                ])
                .args(["-u", "alice:secret"])
                .args(&self.mode_args)
                .args(extra),
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn curl_cell(mode: Mode, v6: bool) {
    if !have_tool("curl") {
        return;
    }
    let Some(s) = cell_server("curl", mode, v6) else {
        return;
    };
    let addr = s.addr(v6);
    let ip = addr.ip().to_string();
    let mode_args: Vec<String> = match mode {
        Mode::Epsv => vec!["--ftp-pasv".into()],
        Mode::Pasv => vec!["--ftp-pasv".into(), "--disable-epsv".into()],
        Mode::Port => vec!["-P".into(), ip.clone(), "--disable-eprt".into()],
        Mode::Eprt => vec!["-P".into(), ip.clone()],
    };
    let curl = Curl {
        mode_args,
        base: format!("ftp://{}/", url_host(addr)),
        work: &s.work,
    };
    let tag = format!("{}{}", mode.name(), if v6 { 6 } else { 4 });
    let orig = s.work_file("orig.bin");
    let up = s.work_file("up.bin");
    let tail = s.work_file("tail.bin");

    // LIST
    let o = curl.run(&[&curl.url("")]);
    let list = stdout(&o);
    assert!(
        list.lines()
            .any(|l| l.ends_with(" data.bin") && l.contains(&orig.len().to_string())),
        "LIST: {list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with('d') && l.ends_with(" dir")),
        "LIST: {list}"
    );
    let wire = format!("> {}", mode.name());
    assert!(
        stderr(&o).contains(&wire),
        "curl did not use {}: {}",
        mode.name(),
        stderr(&o)
    );
    // NLST
    let o = curl.run(&["-l", &curl.url("")]);
    let names: Vec<String> = stdout(&o)
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect();
    assert!(
        names.iter().any(|n| n == "data.bin") && names.iter().any(|n| n == "dir"),
        "NLST: {names:?}"
    );
    assert!(stderr(&o).contains("> NLST"), "{}", stderr(&o));
    // MLSD (curl's custom list command)
    let o = curl.run(&["-X", "MLSD", &curl.url("")]);
    let mlsd = stdout(&o);
    let line = mlsd
        .lines()
        .find(|l| l.ends_with(" data.bin"))
        .unwrap_or_else(|| panic!("MLSD: {mlsd}"));
    let lower = line.to_ascii_lowercase();
    assert!(
        lower.contains("type=file;") && lower.contains(&format!("size={};", orig.len())),
        "MLSD: {line}"
    );
    // MLST (raw, via -Q; the reply shows in the verbose log)
    let o = curl.run(&["-Q", "MLST data.bin", "-o", "/dev/null", &curl.url("")]);
    let log = stderr(&o).to_ascii_lowercase();
    assert!(
        log.contains("< 250-") && log.contains(&format!("size={};", orig.len())),
        "MLST: {log}"
    );

    // RETR, REST resume download
    let dl = format!("dl_{tag}.bin");
    curl.run(&["-o", &dl, &curl.url("data.bin")]);
    assert_same("curl RETR", &s.work_file(&dl), &orig);
    let part = format!("part_{tag}.bin");
    let off = orig.len() / 3 + 7;
    std::fs::write(s.work.join(&part), &orig[..off]).unwrap();
    let o = curl.run(&["-C", "-", "-o", &part, &curl.url("data.bin")]);
    assert!(
        stderr(&o).contains(&format!("> REST {off}")),
        "{}",
        stderr(&o)
    );
    assert_same("curl REST+RETR", &s.work_file(&part), &orig);
    // nested path, every --ftp-method
    for method in ["multicwd", "singlecwd", "nocwd"] {
        let o = curl.run(&["--ftp-method", method, &curl.url("dir/inner.txt")]);
        assert_eq!(o.stdout, b"inner file\n", "--ftp-method {method}");
    }

    // STOR, APPE
    let name = format!("up_{tag}.bin");
    curl.run(&["-T", "up.bin", &curl.url(&name)]);
    assert_same("curl STOR", &s.read(&name), &up);
    let o = curl.run(&["-T", "tail.bin", "--append", &curl.url(&name)]);
    assert!(stderr(&o).contains("> APPE"), "{}", stderr(&o));
    let mut both = up.clone();
    both.extend_from_slice(&tail);
    assert_same("curl APPE", &s.read(&name), &both);
    // resume upload: the server holds the first part, curl sends the rest
    let res = format!("res_{tag}.bin");
    let half = up.len() / 2 + 3;
    std::fs::write(s.work.join("half.bin"), &up[..half]).unwrap();
    curl.run(&["-T", "half.bin", &curl.url(&res)]);
    let o = curl.run(&["-C", "-", "-T", "up.bin", &curl.url(&res)]);
    let how = if stderr(&o).contains("> APPE") {
        "APPE"
    } else {
        "REST+STOR"
    };
    assert_same("curl resumed upload", &s.read(&res), &up);

    // SIZE and MDTM (curl -I asks both; -R sets the local time from MDTM)
    let o = curl.run(&["-I", &curl.url("data.bin")]);
    let head = stdout(&o);
    assert!(
        head.contains(&format!("Content-Length: {}", orig.len())),
        "curl -I: {head}"
    );
    assert!(
        head.contains("Last-Modified: Sat, 03 Feb 2001 04:05:06 GMT"),
        "curl -I: {head}"
    );
    let dl2 = format!("dl2_{tag}.bin");
    curl.run(&["-R", "-o", &dl2, &curl.url("data.bin")]);
    assert_eq!(mtime_secs(&s.work.join(&dl2)), DATA_MTIME, "curl -R (MDTM)");
    // SIZE depends on TYPE (550 in TYPE A, curl's state before a transfer): ask in TYPE I.
    let o = curl.run(&[
        "-Q",
        "TYPE I",
        "-Q",
        "SIZE data.bin",
        "-o",
        "/dev/null",
        &curl.url(""),
    ]);
    assert!(
        stderr(&o).contains(&format!("< 213 {}", orig.len())),
        "SIZE: {}",
        stderr(&o)
    );

    // RNFR/RNTO, DELE, MKD, RMD, --ftp-create-dirs
    let ren = format!("ren_{tag}.bin");
    curl.run(&[
        "-Q",
        &format!("RNFR {name}"),
        "-Q",
        &format!("RNTO {ren}"),
        "-o",
        "/dev/null",
        &curl.url(""),
    ]);
    assert!(!s.root.join(&name).exists());
    assert_same("renamed", &s.read(&ren), &both);
    curl.run(&[
        "-Q",
        &format!("DELE {ren}"),
        "-o",
        "/dev/null",
        &curl.url(""),
    ]);
    assert!(!s.root.join(&ren).exists(), "DELE");
    let d = format!("d_{tag}");
    curl.run(&["-Q", &format!("MKD {d}"), "-o", "/dev/null", &curl.url("")]);
    assert!(s.root.join(&d).is_dir(), "MKD");
    curl.run(&["-T", "tail.bin", &curl.url(&format!("{d}/x.bin"))]);
    assert_same("STOR in a directory", &s.read(&format!("{d}/x.bin")), &tail);
    curl.run(&[
        "-Q",
        &format!("DELE {d}/x.bin"),
        "-Q",
        &format!("RMD {d}"),
        "-o",
        "/dev/null",
        &curl.url(""),
    ]);
    assert!(!s.root.join(&d).exists(), "RMD");
    curl.run(&[
        "--ftp-create-dirs",
        "-T",
        "tail.bin",
        &curl.url(&format!("new_{tag}/a/b.bin")),
    ]);
    assert_same(
        "--ftp-create-dirs",
        &s.read(&format!("new_{tag}/a/b.bin")),
        &tail,
    );

    ok("curl", mode, v6, &format!(" (resume upload via {how})"));
}

// ---------------------------------------------------------------------------------------------
// lftp

fn lftp_cell(mode: Mode, v6: bool) {
    if !have_tool("lftp") {
        return;
    }
    if mode == Mode::Eprt && !v6 {
        // lftp sends EPRT only on IPv6 control connections (PORT on IPv4); nothing to set.
        report("INTEROP lftp EPRT ipv4: n/a (lftp uses EPRT only over IPv6)");
        return;
    }
    // On loopback lftp leaves its active data socket unbound and announces the unspecified
    // address (`EPRT |2|::|port|`; for IPv4 it substitutes the control address in PORT). The
    // server refuses that as FTP bounce (504); lftp then switches to passive mode by itself.
    let eprt_quirk = mode == Mode::Eprt && v6;
    let Some(s) = cell_server("lftp", mode, v6) else {
        return;
    };
    let addr = s.addr(v6);
    let tag = format!("{}{}", mode.name(), if v6 { 6 } else { 4 });
    let orig = s.work_file("orig.bin");
    let up = s.work_file("up.bin");
    let tail = s.work_file("tail.bin");
    let (passive, epsv) = match mode {
        Mode::Epsv => ("on", "yes"),
        Mode::Pasv => ("on", "no"),
        Mode::Port | Mode::Eprt => ("off", "no"),
    };
    // Prepared state: a partial download, a partial upload, a tree to mirror up.
    let off = orig.len() / 3 + 7;
    std::fs::write(s.work.join(format!("part_{tag}.bin")), &orig[..off]).unwrap();
    let half = up.len() / 2 + 3;
    std::fs::write(s.root.join(format!("res_{tag}.bin")), &up[..half]).unwrap();
    std::fs::create_dir_all(s.work.join("mir_src/sub")).unwrap();
    std::fs::write(s.work.join("mir_src/a.txt"), b"mirror a\n").unwrap();
    std::fs::write(s.work.join("mir_src/sub/b.bin"), &tail).unwrap();

    let script = format!(
        "set cmd:fail-exit yes
set net:max-retries {retries}
set net:timeout 5
set net:reconnect-interval-base 1
set net:persist-retries 0
set xfer:clobber yes
set ftp:passive-mode {passive}
set ftp:prefer-epsv {epsv}
set ftp:use-mlsd yes
debug -o lftp_{tag}.log 5
open -u alice,secret ftp://{host}
ls > ls_{tag}.txt
nlist > nlist_{tag}.txt
quote MLST data.bin > mlst_{tag}.txt
get data.bin -o dl_{tag}.bin
get -c data.bin -o part_{tag}.bin
get dir/inner.txt -o inner_{tag}.txt
put up.bin -o up_{tag}.bin
put -c up.bin -o res_{tag}.bin
quote SIZE data.bin > size_{tag}.txt
quote MDTM data.bin > mdtm_{tag}.txt
mv up_{tag}.bin ren_{tag}.bin
rm ren_{tag}.bin
mkdir d_{tag}
cd d_{tag}
put tail.bin -o x.bin
cd ..
rm d_{tag}/x.bin
rmdir d_{tag}
mirror -R mir_src mir_{tag}
mirror mir_{tag} mir_back_{tag}
bye
",
        host = url_host(addr),
        retries = if eprt_quirk { 3 } else { 1 },
    );
    let script_path = s.work.join(format!("lftp_{tag}.script"));
    std::fs::write(&script_path, script).unwrap();
    let out = run(
        Command::new("lftp")
            .current_dir(&s.work)
            .arg("-f")
            .arg(&script_path),
        TOOL_TIMEOUT,
    );
    let log = std::fs::read_to_string(s.work.join(format!("lftp_{tag}.log"))).unwrap_or_default();
    assert!(
        out.status.success(),
        "lftp failed: {}\n--- stdout\n{}\n--- stderr\n{}\n--- log\n{log}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    let wire = format!("---> {}", mode.name());
    assert!(
        log.contains(&wire),
        "lftp did not use {}:\n{log}",
        mode.name()
    );
    if eprt_quirk {
        assert!(
            log.contains("---> EPRT |2|::|") && log.contains("<--- 504"),
            "expected lftp's EPRT |2|::| to be refused:\n{log}"
        );
        assert!(
            log.contains("---> EPSV") || log.contains("---> PASV"),
            "no fallback:\n{log}"
        );
    }
    let file = |name: &str| {
        String::from_utf8_lossy(&s.work_file(&format!("{name}_{tag}.txt"))).into_owned()
    };

    let list = file("ls");
    assert!(
        list.lines()
            .any(|l| l.ends_with(" data.bin") && l.contains(&orig.len().to_string())),
        "ls: {list}"
    );
    let nlist = file("nlist");
    assert!(
        nlist.lines().any(|l| l == "data.bin") && nlist.lines().any(|l| l == "dir"),
        "nlist: {nlist}"
    );
    let mlst = file("mlst").to_ascii_lowercase();
    assert!(
        mlst.contains(&format!("size={};", orig.len())),
        "MLST: {mlst}"
    );
    assert!(
        file("size").contains(&format!("213 {}", orig.len())),
        "SIZE"
    );
    assert!(
        file("mdtm").contains("213 20010203040506"),
        "MDTM: {}",
        file("mdtm")
    );

    assert_same("lftp get", &s.work_file(&format!("dl_{tag}.bin")), &orig);
    assert!(
        log.contains(&format!("---> REST {off}")),
        "lftp get -c: no REST\n{log}"
    );
    assert_same(
        "lftp get -c",
        &s.work_file(&format!("part_{tag}.bin")),
        &orig,
    );
    assert_eq!(s.work_file(&format!("inner_{tag}.txt")), b"inner file\n");
    assert_same("lftp put -c", &s.read(&format!("res_{tag}.bin")), &up);
    let resume = if log.contains(&format!("---> REST {half}")) {
        "REST+STOR"
    } else {
        "APPE"
    };
    assert!(!s.root.join(format!("up_{tag}.bin")).exists(), "mv");
    assert!(!s.root.join(format!("ren_{tag}.bin")).exists(), "rm");
    assert!(!s.root.join(format!("d_{tag}")).exists(), "rmdir");
    assert!(log.contains("---> RNFR") && log.contains("---> RNTO"), "mv");
    assert!(log.contains(&format!("---> MKD d_{tag}")), "mkdir");
    // mirror up, then back down
    assert_eq!(s.read(&format!("mir_{tag}/a.txt")), b"mirror a\n");
    assert_same("mirror -R", &s.read(&format!("mir_{tag}/sub/b.bin")), &tail);
    assert_eq!(s.work_file(&format!("mir_back_{tag}/a.txt")), b"mirror a\n");
    assert_same(
        "mirror",
        &s.work_file(&format!("mir_back_{tag}/sub/b.bin")),
        &tail,
    );
    assert!(log.contains("---> MLSD"), "mirror did not use MLSD\n{log}");
    if eprt_quirk {
        report(
            "INTEROP lftp EPRT ipv6: refused as designed (lftp announces EPRT |2|::|port| on \
             loopback -> 504); lftp fell back to passive and the rest passed",
        );
        return;
    }
    ok("lftp", mode, v6, &format!(" (put -c via {resume})"));
}

// ---------------------------------------------------------------------------------------------
// The matrix: PASV and PORT are IPv4-only (RFC 959 addresses).

macro_rules! cells {
    ($($name:ident: $f:ident, $mode:ident, $v6:expr;)*) => {
        $(
            #[test]
            fn $name() {
                $f(Mode::$mode, $v6);
            }
        )*
    };
}

cells! {
    ftplib_epsv_ipv4: ftplib_cell, Epsv, false;
    ftplib_epsv_ipv6: ftplib_cell, Epsv, true;
    ftplib_pasv_ipv4: ftplib_cell, Pasv, false;
    ftplib_port_ipv4: ftplib_cell, Port, false;
    ftplib_eprt_ipv4: ftplib_cell, Eprt, false;
    ftplib_eprt_ipv6: ftplib_cell, Eprt, true;
    curl_epsv_ipv4: curl_cell, Epsv, false;
    curl_epsv_ipv6: curl_cell, Epsv, true;
    curl_pasv_ipv4: curl_cell, Pasv, false;
    curl_port_ipv4: curl_cell, Port, false;
    curl_eprt_ipv4: curl_cell, Eprt, false;
    curl_eprt_ipv6: curl_cell, Eprt, true;
    lftp_epsv_ipv4: lftp_cell, Epsv, false;
    lftp_epsv_ipv6: lftp_cell, Epsv, true;
    lftp_pasv_ipv4: lftp_cell, Pasv, false;
    lftp_port_ipv4: lftp_cell, Port, false;
    lftp_eprt_ipv4: lftp_cell, Eprt, false;
    lftp_eprt_ipv6: lftp_cell, Eprt, true;
}

// ---------------------------------------------------------------------------------------------
// TYPE A round trip: LF on disk, CRLF on the wire.

#[test]
fn ascii_round_trip() {
    let s = start(|b| b);
    let text = b"first line\nsecond line\n\nlast line without CR\n".to_vec();
    let crlf = b"first line\r\nsecond line\r\n\r\nlast line without CR\r\n".to_vec();
    let mut notes = Vec::new();

    // A raw client: CRLF on the wire in both directions, LF on disk.
    let mut c = s.login(false);
    c.expect("TYPE A", 200);
    upload(&mut c, DataMode::Epsv, "STOR raw.txt", &crlf);
    assert_eq!(s.read("raw.txt"), text, "TYPE A STOR must store LF");
    let wire = download(&mut c, DataMode::Epsv, "RETR raw.txt");
    assert_eq!(wire, crlf, "TYPE A RETR must send CRLF");
    // SIZE depends on TYPE (RFC 3659 §4): refused in TYPE A, exact in TYPE I.
    c.expect("SIZE raw.txt", 550);
    c.expect("TYPE I", 200);
    let r = c.expect("SIZE raw.txt", 213);
    assert_eq!(r.text(), format!("213 {}", text.len()));
    let binary = download(&mut c, DataMode::Epsv, "RETR raw.txt");
    assert_eq!(binary, text, "TYPE I RETR is the file as stored");
    notes.push("raw: STOR CRLF -> LF on disk, RETR -> CRLF on the wire");

    if have_tool("python3") {
        let script = format!(
            r#"
import ftplib, io
ftp = ftplib.FTP(timeout=20)
ftp.connect("127.0.0.1", {port})
ftp.login("alice", "secret")
ftp.storlines("STOR lines.txt", io.BytesIO({text:?}.encode()))
lines = []
ftp.retrlines("RETR lines.txt", lines.append)
assert lines == {text:?}.split("\n")[:-1], lines
ftp.quit()
print("OK")
"#,
            port = s.v4.port(),
            text = String::from_utf8(text.clone()).unwrap(),
        );
        let out = run_ok(Command::new("python3").args(["-c", &script]));
        assert!(stdout(&out).starts_with("OK"));
        assert_eq!(s.read("lines.txt"), text, "ftplib storlines must store LF");
        notes.push("ftplib storlines/retrlines");
    }
    if have_tool("curl") {
        let url = format!("ftp://{}/raw.txt", url_host(s.v4));
        let base = ["-sS", "--max-time", "30", "-u", "alice:secret"];
        // curl on Unix turns the wire's CRLF back into LF in ASCII mode; `;type=a` too.
        let o = run_ok(Command::new("curl").args(base).args(["--use-ascii", &url]));
        assert_eq!(o.stdout, text, "curl --use-ascii");
        let o = run_ok(
            Command::new("curl")
                .args(base)
                .arg(format!("{url};type=a"))
                .arg("-v"),
        );
        assert_eq!(o.stdout, text, "curl ;type=a");
        assert!(stderr(&o).contains("> TYPE A"), "{}", stderr(&o));
        std::fs::write(s.work.join("a.txt"), &text).unwrap();
        let up = format!("ftp://{}/curl.txt", url_host(s.v4));
        run_ok(Command::new("curl").current_dir(&s.work).args(base).args([
            "--use-ascii",
            "--crlf",
            "-T",
            "a.txt",
            &up,
        ]));
        assert_eq!(s.read("curl.txt"), text, "curl --use-ascii --crlf upload");
        notes.push("curl --use-ascii / ;type=a / --crlf upload");
    }
    report(&format!("INTEROP ascii TYPE A: ok ({})", notes.join("; ")));
}
