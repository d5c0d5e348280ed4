//! FTPS (RFC 4217) against real clients — curl, lftp, Python's `ftplib.FTP_TLS` — and the
//! hostile cases, with certificates made by the test (a CA and a leaf for 127.0.0.1, verified
//! by every client: no verification is turned off).
#![cfg(feature = "rustls")]

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ftp_server::tls::TlsConfig;
use ftp_server::TlsPolicy;
use rustls::pki_types::{CertificateDer, ServerName};

// ---------------------------------------------------------------------------------------------
// Certificates and servers

struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    ca_der: CertificateDer<'static>,
}

/// A CA and a server certificate it signed, for localhost, 127.0.0.1 and ::1.
fn certs() -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ftp-rs test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let mut params = CertificateParams::new(names).unwrap();
    params.is_ca = IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();

    let c = Certs {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        ca_der: ca_cert.der().clone(),
        _dir: dir,
    };
    std::fs::write(&c.ca, ca_cert.pem()).unwrap();
    std::fs::write(&c.cert, cert.pem()).unwrap();
    std::fs::write(&c.key, key.serialize_pem()).unwrap();
    c
}

/// A server offering TLS under `policy`, with an implicit-TLS listener too.
fn tls_server(policy: TlsPolicy) -> (TestServer, Certs) {
    tls_server_on(Rt::Tokio, policy)
}

fn tls_server_on(rt: Rt, policy: TlsPolicy) -> (TestServer, Certs) {
    let c = certs();
    let tls = TlsConfig::from_pem_files(&c.cert, &c.key).expect("load the test certificate");
    let s = start_on(rt, |b| {
        b.tls(tls)
            .tls_policy(policy)
            .listen_implicit_tls("127.0.0.1:0".parse().unwrap())
    });
    (s, c)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn verdict(client: &str, tls: &str, mode: &str) {
    report(&format!("FTPS interop: {client:<7} {tls:<8} {mode:<7} OK"));
}

// ---------------------------------------------------------------------------------------------
// curl

fn curl(c: &Certs, work: &Path, args: &[&str]) -> Output {
    run_ok(
        Command::new("curl")
            .current_dir(work)
            .args(["-sS", "-g", "--max-time", "30", "--connect-timeout", "5"])
            .args(["-u", "alice:secret", "--ssl-reqd", "--cacert"])
            .arg(&c.ca)
            .args(args),
    )
}

/// curl's explicit (`--ssl-reqd`) and implicit (`ftps://`) FTPS in passive modes; curl 7.88
/// cannot do active-mode FTPS at all (its issue #10666), so active is covered by lftp and
/// ftplib.
fn curl_cell(implicit: bool, epsv: bool) {
    if !have_tool("curl") {
        return;
    }
    let (s, c) = tls_server(TlsPolicy::Required);
    let base = if implicit {
        format!("ftps://127.0.0.1:{}", s.implicit.unwrap().port())
    } else {
        format!("ftp://127.0.0.1:{}", s.v4.port())
    };
    let mode = if epsv { "--ftp-pasv" } else { "--disable-epsv" };
    curl(
        &c,
        &s.work,
        &[mode, &format!("{base}/data.bin"), "-o", "curl.bin"],
    );
    assert_same(
        "curl download",
        &s.work_file("curl.bin"),
        &s.read("data.bin"),
    );
    curl(
        &c,
        &s.work,
        &[mode, "-T", "up.bin", &format!("{base}/curl-up.bin")],
    );
    assert_same(
        "curl upload",
        &s.read("curl-up.bin"),
        &s.work_file("up.bin"),
    );
    let list = curl(&c, &s.work, &[mode, &format!("{base}/")]);
    assert!(stdout(&list).contains("curl-up.bin"), "{}", stdout(&list));
    let tls = if implicit { "implicit" } else { "explicit" };
    verdict("curl", tls, if epsv { "epsv" } else { "pasv" });
}

#[test]
fn curl_explicit_epsv() {
    curl_cell(false, true);
}

#[test]
fn curl_explicit_pasv() {
    curl_cell(false, false);
}

#[test]
fn curl_implicit_epsv() {
    curl_cell(true, true);
}

// ---------------------------------------------------------------------------------------------
// lftp

fn lftp_cell(implicit: bool, passive: bool) {
    if !have_tool("lftp") {
        return;
    }
    let (s, c) = tls_server(TlsPolicy::Required);
    let url = if implicit {
        format!("ftps://127.0.0.1:{}", s.implicit.unwrap().port())
    } else {
        format!("ftp://127.0.0.1:{}", s.v4.port())
    };
    let script = format!(
        "set ssl:ca-file {ca}; set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ftp:passive-mode {passive}; set ftp:prefer-epsv {passive}; \
         set net:max-retries 1; set net:timeout 10; set xfer:clobber on; \
         open -u alice,secret {url}; get data.bin -o lftp.bin; put up.bin -o lftp-up.bin; \
         get data.bin -o lftp2.bin; cls -1",
        ca = c.ca.display(),
        passive = if passive { "on" } else { "off" },
    );
    let out = run_ok(
        Command::new("lftp")
            .current_dir(&s.work)
            .env("HOME", &s.work)
            .args(["-c", &script]),
    );
    assert_same(
        "lftp download",
        &s.work_file("lftp.bin"),
        &s.read("data.bin"),
    );
    assert_same(
        "lftp 2nd download",
        &s.work_file("lftp2.bin"),
        &s.read("data.bin"),
    );
    assert_same(
        "lftp upload",
        &s.read("lftp-up.bin"),
        &s.work_file("up.bin"),
    );
    assert!(stdout(&out).contains("lftp-up.bin"), "{}", stdout(&out));
    let tls = if implicit { "implicit" } else { "explicit" };
    verdict("lftp", tls, if passive { "epsv" } else { "active" });
}

#[test]
fn lftp_explicit_passive() {
    lftp_cell(false, true);
}

#[test]
fn lftp_explicit_active() {
    lftp_cell(false, false);
}

#[test]
fn lftp_implicit_passive() {
    lftp_cell(true, true);
}

// ---------------------------------------------------------------------------------------------
// Python ftplib.FTP_TLS

fn ftplib_tls(s: &TestServer, c: &Certs, mode: &str, implicit: bool, reuse: bool) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ftplib_tls.py");
    let port = if implicit {
        s.implicit.unwrap().port()
    } else {
        s.v4.port()
    };
    let out = run_ok(
        Command::new("python3")
            .arg(script)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .arg(mode)
            .arg(if implicit { "implicit" } else { "explicit" })
            .arg(if reuse { "reuse" } else { "plain" })
            .arg(&c.ca)
            .arg(&s.root)
            .arg(&s.work),
    );
    stdout(&out)
}

fn ftplib_cell(mode: &str, implicit: bool) {
    ftplib_cell_on(Rt::Tokio, mode, implicit);
}

fn ftplib_cell_on(rt: Rt, mode: &str, implicit: bool) {
    if !have_tool("python3") {
        return;
    }
    let (s, c) = tls_server_on(rt, TlsPolicy::Required);
    let text = ftplib_tls(&s, &c, mode, implicit, true);
    assert!(text.starts_with("OK"), "ftplib: {text}");
    verdict(
        "ftplib",
        if implicit { "implicit" } else { "explicit" },
        mode,
    );
}

#[test]
fn ftplib_explicit_epsv() {
    ftplib_cell("epsv", false);
}

#[test]
fn ftplib_explicit_pasv() {
    ftplib_cell("pasv", false);
}

#[test]
fn ftplib_explicit_active() {
    ftplib_cell("active", false);
}

#[test]
fn ftplib_implicit_pasv() {
    ftplib_cell("pasv", true);
}

#[test]
fn ftplib_implicit_active() {
    ftplib_cell("active", true);
}

/// The same TLS code serves every runtime: the futures-io streams go through futures-rustls.
#[cfg(feature = "async-std")]
#[test]
fn ftplib_on_async_std() {
    ftplib_cell_on(Rt::AsyncStd, "epsv", false);
    ftplib_cell_on(Rt::AsyncStd, "active", true);
}

/// Stock `FTP_TLS` does not resume the control connection's session on data connections: with
/// TLS required, the server refuses them with 522 (vsftpd's `require_ssl_reuse`).
#[test]
fn a_data_connection_that_does_not_resume_the_session_gets_522() {
    if !have_tool("python3") {
        return;
    }
    let (s, c) = tls_server(TlsPolicy::Required);
    let text = ftplib_tls(&s, &c, "pasv", false, false);
    assert!(text.starts_with("REFUSED 522"), "ftplib: {text}");
    report(&format!(
        "FTPS hostile: data connection without session reuse -> {}",
        text.trim()
    ));
}

// ---------------------------------------------------------------------------------------------
// Hostile cases, with a raw control connection and rustls as the client

fn client_config(c: &Certs, resume: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(c.ca_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !resume {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(config)
}

type TlsSocket = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn handshake(config: &Arc<rustls::ClientConfig>, tcp: TcpStream) -> io::Result<TlsSocket> {
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// A control connection over TLS.
struct TlsCtrl {
    tls: BufReader<TlsSocket>,
}

impl TlsCtrl {
    /// Takes over a plain control connection after its `234`.
    fn upgrade(ctrl: Ctrl, config: &Arc<rustls::ClientConfig>) -> TlsCtrl {
        let tls = handshake(config, ctrl.stream).expect("control TLS handshake");
        TlsCtrl {
            tls: BufReader::new(tls),
        }
    }

    fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .tls
                .read_line(&mut line)
                .expect("read a reply over TLS");
            assert!(n > 0, "control connection closed; so far: {text}");
            text.push_str(&line);
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return (line[..3].parse().unwrap(), text);
            }
        }
    }

    fn cmd(&mut self, line: &str) -> (u16, String) {
        self.tls
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write over TLS");
        self.reply()
    }

    fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line);
        assert_eq!(got, code, "{line} -> {text}");
        text
    }

    fn epsv(&mut self) -> SocketAddr {
        let text = self.expect("EPSV", 229);
        let inner = text.split("(|||").nth(1).unwrap();
        let port: u16 = inner.split('|').next().unwrap().parse().unwrap();
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// Connects, sends `AUTH TLS`, checks `234` and runs the handshake.
fn secure_ctrl(s: &TestServer, config: &Arc<rustls::ClientConfig>) -> TlsCtrl {
    let mut ctrl = s.ctrl(false);
    ctrl.expect("AUTH TLS", 234);
    TlsCtrl::upgrade(ctrl, config)
}

#[test]
fn plaintext_pipelined_behind_auth_tls_is_discarded() {
    let (s, c) = tls_server(TlsPolicy::Optional);
    let mut ctrl = s.ctrl(false);
    // What a man in the middle would append to the cleartext stream (STARTTLS injection).
    ctrl.send_raw(b"AUTH TLS\r\nUSER alice\r\nPASS secret\r\nMKD injected\r\n");
    assert_eq!(ctrl.reply().code, 234);
    let mut tls = TlsCtrl::upgrade(ctrl, &client_config(&c, true));
    let (code, text) = tls.cmd("PWD");
    assert_eq!(code, 530, "the injected login must not have run: {text}");
    assert!(!s.root.join("injected").exists());
    tls.expect("USER alice", 331);
    tls.expect("PASS secret", 230);
    report("FTPS hostile: plaintext pipelined after AUTH TLS -> discarded (PWD after the handshake: 530)");
}

#[test]
fn cleartext_user_is_refused_when_tls_is_required() {
    let (s, c) = tls_server(TlsPolicy::RequiredForLogin);
    let mut ctrl = s.ctrl(false);
    let refused = ctrl.cmd("USER alice");
    assert_eq!(refused.code, 530, "{}", refused.text());
    ctrl.expect("PASS secret", 503);
    ctrl.expect("AUTH TLS", 234);
    let mut tls = TlsCtrl::upgrade(ctrl, &client_config(&c, true));
    tls.expect("USER alice", 331);
    tls.expect("PASS secret", 230);
    report(&format!(
        "FTPS hostile: USER before AUTH with TLS required -> {}",
        refused.text().trim()
    ));
}

#[test]
fn security_commands_out_of_order() {
    let (s, c) = tls_server(TlsPolicy::Optional);
    let mut ctrl = s.ctrl(false);
    let pbsz = ctrl.cmd("PBSZ 0");
    let prot = ctrl.cmd("PROT P");
    assert_eq!((pbsz.code, prot.code), (503, 503));
    ctrl.expect("AUTH NONSENSE", 504);
    ctrl.expect("AUTH TLS", 234);
    let mut tls = TlsCtrl::upgrade(ctrl, &client_config(&c, true));
    let second = tls.expect("AUTH TLS", 503);
    let early_prot = tls.expect("PROT P", 503);
    tls.expect("PBSZ 0", 200);
    tls.expect("PROT S", 536);
    tls.expect("PROT P", 200);
    let ccc = tls.expect("CCC", 534);
    report(&format!(
        "FTPS hostile: PBSZ/PROT before AUTH -> 503/503; second AUTH -> {}; PROT before PBSZ -> {}; CCC -> {}",
        second.trim(),
        early_prot.trim(),
        ccc.trim()
    ));
}

#[test]
fn cleartext_data_is_refused_when_tls_is_required() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let mut tls = secure_ctrl(&s, &client_config(&c, true));
    tls.expect("USER alice", 331);
    tls.expect("PASS secret", 230);
    tls.expect("TYPE I", 200);
    tls.epsv();
    let no_prot = tls.expect("RETR data.bin", 521);
    tls.expect("PBSZ 0", 200);
    let prot_c = tls.expect("PROT C", 534);
    tls.expect("RETR data.bin", 521);
    report(&format!(
        "FTPS hostile: RETR without PROT P -> {}; PROT C -> {}",
        no_prot.trim(),
        prot_c.trim()
    ));
}

/// Logs in over TLS with PROT P and opens a passive data connection for `command`, returning
/// the data connection after its handshake (made with `data_config`).
fn protected_transfer(
    tls: &mut TlsCtrl,
    command: &str,
    data_config: &Arc<rustls::ClientConfig>,
) -> io::Result<TlsSocket> {
    let addr = tls.epsv();
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(15)))?;
    let (code, text) = tls.cmd(command);
    assert_eq!(code, 150, "{command} -> {text}");
    handshake(data_config, tcp)
}

fn login_protected(tls: &mut TlsCtrl) {
    tls.expect("USER alice", 331);
    tls.expect("PASS secret", 230);
    tls.expect("PBSZ 0", 200);
    tls.expect("PROT P", 200);
    tls.expect("TYPE I", 200);
}

#[test]
fn data_connections_resume_the_control_session_again_and_again() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let config = client_config(&c, true);
    let mut tls = secure_ctrl(&s, &config);
    login_protected(&mut tls);
    let want = s.read("data.bin");
    // More transfers than the control handshake handed out tickets: each resumed data
    // connection hands out the next.
    for round in 0..8 {
        let mut data = protected_transfer(&mut tls, "RETR data.bin", &config).unwrap();
        assert_eq!(
            data.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "round {round}"
        );
        let mut got = Vec::new();
        data.read_to_end(&mut got).expect("read to close_notify");
        assert_same("protected RETR", &got, &want);
        assert_eq!(tls.reply().0, 226);
    }
}

#[test]
fn a_data_handshake_without_resumption_is_refused_with_522() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let mut tls = secure_ctrl(&s, &client_config(&c, true));
    login_protected(&mut tls);
    // A fresh session: what a client that stole the passive port would have to do.
    let stranger = client_config(&c, false);
    if let Ok(mut data) = protected_transfer(&mut tls, "RETR data.bin", &stranger) {
        let mut sink = Vec::new();
        let _ = data.read_to_end(&mut sink);
        assert!(
            sink.is_empty(),
            "data sent over a connection that did not resume"
        );
    }
    let (code, text) = tls.reply();
    assert_eq!(code, 522, "{text}");
    // The session goes on.
    tls.expect("NOOP", 200);
}

#[test]
fn a_tls_upload_cut_without_close_notify_keeps_the_previous_file() {
    let (s, c) = tls_server(TlsPolicy::Optional);
    let config = client_config(&c, true);
    let mut tls = secure_ctrl(&s, &config);
    login_protected(&mut tls);
    let before = s.read("data.bin");
    let mut data = protected_transfer(&mut tls, "STOR data.bin", &config).unwrap();
    data.write_all(&pseudo_random(200 * 1024, 9)).unwrap();
    data.flush().unwrap();
    // A truncation attack (or a crash): TCP FIN with no close_notify.
    data.sock.shutdown(Shutdown::Write).unwrap();
    let (code, text) = tls.reply();
    assert_eq!(code, 426, "{text}");
    assert_same(
        "data.bin after a truncated upload",
        &s.read("data.bin"),
        &before,
    );
    report(&format!(
        "FTPS hostile: upload ended without close_notify -> {}",
        text.trim()
    ));

    // The same upload, closed properly, replaces the file.
    let body = pseudo_random(200 * 1024, 10);
    let mut data = protected_transfer(&mut tls, "STOR data.bin", &config).unwrap();
    data.write_all(&body).unwrap();
    data.conn.send_close_notify();
    data.flush().unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    assert_eq!(tls.reply().0, 226);
    assert_same(
        "data.bin after a complete upload",
        &s.read("data.bin"),
        &body,
    );
}

#[test]
fn uploads_in_a_row_resume_with_the_login_tickets() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let config = client_config(&c, true);
    let mut tls = secure_ctrl(&s, &config);
    login_protected(&mut tls);
    for round in 0..8u64 {
        let body = pseudo_random(64 * 1024, 20 + round);
        let mut data = protected_transfer(&mut tls, "STOR row.bin", &config).unwrap();
        assert_eq!(
            data.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "upload {round}"
        );
        data.write_all(&body).unwrap();
        data.conn.send_close_notify();
        data.flush().unwrap();
        let mut rest = Vec::new();
        let _ = data.read_to_end(&mut rest);
        let (code, text) = tls.reply();
        assert_eq!(code, 226, "upload {round}: {text}");
        assert_same("row.bin", &s.read("row.bin"), &body);
    }
}

/// Many uploads in one curl session. TLS 1.2: curl resumes the control connection's session
/// (a session ID) for every data connection, and every upload arrives whole. TLS 1.3: curl
/// (OpenSSL) resumes with each ticket once and never reads an upload connection, so it has a
/// fresh ticket only for its first upload; later ones are refused with 522 (the server
/// requires resumption). Nothing may arrive partially either way: the server holds an
/// upload's ticket back until the client's close_notify, so curl's close never resets a
/// connection with data in flight.
#[test]
fn curl_many_uploads_in_one_session() {
    if !have_tool("curl") {
        return;
    }
    for version in ["1.2", "1.3"] {
        let (s, c) = tls_server(TlsPolicy::Required);
        let names: Vec<String> = (0..12).map(|i| format!("many{i}.bin")).collect();
        for (i, name) in names.iter().enumerate() {
            let body = pseudo_random(300 * 1024 + i, 40 + i as u64);
            std::fs::write(s.work.join(name), body).unwrap();
        }
        // One invocation: one control connection for every URL (curl reuses it).
        let mut args = vec![
            "-sS".to_owned(),
            "-v".into(),
            "-u".into(),
            "alice:secret".into(),
            "--ssl-reqd".into(),
            "--cacert".into(),
            c.ca.to_string_lossy().into_owned(),
            "--tls-max".into(),
            version.into(),
            format!("--tlsv{version}"),
        ];
        for name in &names {
            args.push("-T".into());
            args.push(name.clone());
            args.push(format!("ftp://127.0.0.1:{}/{name}", s.v4.port()));
        }
        let out = run(
            Command::new("curl").current_dir(&s.work).args(&args),
            TOOL_TIMEOUT,
        );
        let log = String::from_utf8_lossy(&out.stderr);
        let stored: Vec<&String> = names
            .iter()
            .filter(|name| s.root.join(name.as_str()).exists())
            .collect();
        for name in &stored {
            assert_same(name, &s.read(name), &s.work_file(name));
        }
        assert!(
            !log.contains("got 426"),
            "TLS {version}: an upload was cut:\n{log}"
        );
        if version == "1.2" {
            assert!(out.status.success(), "TLS 1.2:\n{log}");
            assert_eq!(stored.len(), names.len());
        } else {
            assert!(
                s.root.join("many0.bin").exists(),
                "TLS 1.3: first upload:\n{log}"
            );
        }
        report(&format!(
            "FTPS interop: curl    explicit 12 STOR in one session, TLS {version}: {} stored whole, \
             the rest refused ({})",
            stored.len(),
            if log.contains("got 522") { "522" } else { "none" }
        ));
    }
}

/// A data connection whose TLS handshake never starts holds nothing for long: the transfer
/// ends with a 4yz once the data timeout (10 s in these tests) passes.
#[test]
fn a_data_handshake_that_never_comes_times_out() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let config = client_config(&c, true);
    let mut tls = secure_ctrl(&s, &config);
    login_protected(&mut tls);
    let addr = tls.epsv();
    let silent = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let started = std::time::Instant::now();
    let (code, text) = tls.cmd("RETR data.bin");
    assert_eq!(code, 150, "{text}");
    // Nothing is sent on `silent`: no ClientHello.
    let (code, text) = tls.reply();
    assert_eq!(code / 100, 4, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
    report(&format!(
        "FTPS hostile: data connection without a ClientHello -> {} after {:.1}s",
        text.trim(),
        started.elapsed().as_secs_f64()
    ));
}

/// TYPE A transfers take the async TLS path (line endings converted on the fly): an upload's
/// CRLFs are stored as LF, a download's LFs are sent as CRLF, both through TLS.
#[test]
fn ascii_transfers_over_tls() {
    let (s, c) = tls_server(TlsPolicy::Required);
    let config = client_config(&c, true);
    let mut tls = secure_ctrl(&s, &config);
    login_protected(&mut tls);
    tls.expect("TYPE A", 200);
    let mut data = protected_transfer(&mut tls, "STOR lines.txt", &config).unwrap();
    data.write_all(b"one\r\ntwo\r\nthree\r\n").unwrap();
    data.conn.send_close_notify();
    data.flush().unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    assert_eq!(tls.reply().0, 226);
    assert_eq!(s.read("lines.txt"), b"one\ntwo\nthree\n");

    let mut data = protected_transfer(&mut tls, "RETR lines.txt", &config).unwrap();
    let mut got = Vec::new();
    data.read_to_end(&mut got).expect("read to close_notify");
    assert_eq!(tls.reply().0, 226);
    assert_eq!(got, b"one\r\ntwo\r\nthree\r\n");
}
