//! FTPS (RFC 4217): every client adapter against real TLS servers, and against scripted
//! hostile ones.
//!
//! Real servers (through `tools/peers/peers.py`), each with a certificate issued by a private
//! CA made here with rcgen; the client trusts that CA file ([`Tls::with_ca_file`]), so the
//! server's certificate is really verified:
//!
//! - vsftpd, explicit (`AUTH TLS`), with `force_local_logins_ssl`, `force_local_data_ssl` and
//!   `require_ssl_reuse` (a data connection that does not resume the control connection's
//!   TLS session gets `522` and the session is dropped);
//! - vsftpd, implicit (`implicit_ssl`), the same requirements;
//! - pyftpdlib's `TLS_FTPHandler`, explicit, TLS required;
//! - ProFTPD's mod_tls, explicit and implicit, session reuse required (its default).
//!
//! - this workspace's server, FTPS required (session reuse required), explicit and implicit.
//!
//! Each cell (client: blocking, tokio, async-std × data connection: EPSV, PASV, active) logs in,
//! uploads 1 MiB (compared on disk: a TLS 1.3 upload closed without reading the server's
//! ticket can lose its tail to an RST, see `shared/PEERS.md`), downloads it back, lists the
//! directory, then runs six more transfers in a row on the same session, so that ticket
//! consumption and session resumption are proven to keep working. It prints
//! `CLIENT-TLS <server> <tls> <client> <data>: ok ...` to stderr.
//!
//! Scripted servers cover what no real server does on purpose: a refused `AUTH TLS`, an
//! untrusted certificate, a certificate for another name, and a protected download cut
//! without `close_notify` (a truncation, which must be an error).
#![cfg(all(feature = "rustls", feature = "tokio"))]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{PeerTls, TestServer};
use ftp_client::blocking::Client;
use ftp_client::nonblocking::{AsyncClient, Runtime, TokioClient, TokioRuntime};
use ftp_client::tls::Tls;
use ftp_client::{Config, DataMode, Error, TlsMode};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The data modes of every cell.
const MODES: [(&str, DataMode); 3] = [
    ("epsv", DataMode::ExtendedPassive),
    ("pasv", DataMode::Passive),
    ("active", DataMode::Active { bind: None }),
];

/// The size of the big file of each cell.
const BIG: usize = 1 << 20;

// -------------------------------------------------------------------------------------------
// Certificates.

/// A private certificate authority and a server certificate it issued (for `localhost`,
/// `127.0.0.1` and `::1`, `CA:FALSE`, server authentication), as files and as DER.
struct Pki {
    ca_pem: PathBuf,
    cert_pem: PathBuf,
    key_pem: PathBuf,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    // Last, so the files go after everything that uses them.
    _dir: tempfile::TempDir,
}

impl Pki {
    fn new(name: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut leaf = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &*ca).unwrap();

        let dir = tempfile::Builder::new()
            .prefix(&format!("ftp-client-tls-{name}-"))
            .tempdir()
            .unwrap();
        let ca_pem = dir.path().join("ca.pem");
        let cert_pem = dir.path().join("cert.pem");
        let key_pem = dir.path().join("key.pem");
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        std::fs::write(&cert_pem, cert.pem()).unwrap();
        std::fs::write(&key_pem, key.serialize_pem()).unwrap();
        Pki {
            ca_pem,
            cert_pem,
            key_pem,
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
            _dir: dir,
        }
    }

    /// A client that trusts this CA only.
    fn client(&self) -> Tls {
        Tls::with_ca_file(&self.ca_pem).unwrap()
    }

    /// A client that trusts this CA only and speaks only `version`.
    fn client_only(&self, version: &'static rustls::SupportedProtocolVersion) -> Tls {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&self.ca_pem).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Tls::from_rustls(Arc::new(config))
    }

    /// A rustls server with this certificate, for the scripted servers.
    fn server(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![self.cert_der.clone()], key)
        .unwrap();
        Arc::new(config)
    }

    /// `peers.py`'s TLS options for this certificate.
    fn peer(&self, implicit: bool, reuse: Option<bool>) -> PeerTls {
        PeerTls {
            cert: self.cert_pem.clone(),
            key: self.key_pem.clone(),
            required: true,
            reuse,
            implicit,
        }
    }
}

use rustls_pki_types::pem::PemObject;

// -------------------------------------------------------------------------------------------
// The cells.

fn config(tls: &Tls, mode: TlsMode, data: DataMode) -> Config {
    let mut config = Config::default().tls(mode, tls.clone());
    config.connect_timeout = Duration::from_secs(20);
    config.session.reply_timeout = Duration::from_secs(30);
    config.session.data_timeout = Duration::from_secs(30);
    config.data_mode = data;
    config
}

/// Deterministic bytes that differ per `seed`.
fn random_bytes(len: usize, seed: &str) -> Vec<u8> {
    let mut x = seed.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn same(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b);
    Err(format!(
        "{what}: {} bytes, expected {} (first difference at {at:?})",
        got.len(),
        want.len()
    ))
}

/// Where to connect in `mode`: the implicit-FTPS port of a server that has one of its own.
fn control_addr(server: &TestServer, mode: TlsMode) -> SocketAddr {
    match (mode, server.implicit_port) {
        (TlsMode::Implicit, Some(port)) => SocketAddr::from(([127, 0, 0, 1], port)),
        _ => server.addr(),
    }
}

fn served(server: &TestServer, name: &str) -> Result<Vec<u8>, String> {
    std::fs::read(server.root.join(name)).map_err(|e| format!("served {name}: {e}"))
}

fn fail(step: &'static str) -> impl Fn(Error) -> String {
    move |e| format!("{step}: {e}")
}

/// What a cell runs with.
struct Cell<'a> {
    server: &'a TestServer,
    /// `explicit` or `implicit`, and any note (`tls12`, `name`).
    tls_tag: String,
    tls: Tls,
    mode: TlsMode,
    client: &'static str,
    data: (&'static str, DataMode),
}

impl Cell<'_> {
    fn tag(&self) -> String {
        format!("{}-{}-{}", self.tls_tag, self.client, self.data.0)
    }

    fn line(&self, result: &Result<String, String>) -> String {
        let head = format!(
            "CLIENT-TLS {} {} {} {}:",
            self.server.name, self.tls_tag, self.client, self.data.0
        );
        match result {
            Ok(note) => format!("{head} ok {note}"),
            Err(why) => format!("{head} FAIL {why}"),
        }
    }
}

fn blocking_cell(cell: &Cell<'_>) -> Result<String, String> {
    let server = cell.server;
    let tag = cell.tag();
    let addr = control_addr(server, cell.mode);
    let mut c = Client::connect(addr, config(&cell.tls, cell.mode, cell.data.1))
        .map_err(fail("connect"))?;
    if !c.is_secure() {
        return Err("the control connection is not secure".into());
    }
    c.login(&server.user, &server.password)
        .map_err(fail("login"))?;
    if !c.is_data_protected() {
        return Err("PROT P not in effect after the login".into());
    }
    let big = random_bytes(BIG, &tag);
    let name = format!("big-{tag}.bin");
    let sent = c.store_from(&name, &mut &big[..]).map_err(fail("put"))?;
    if sent != BIG as u64 {
        return Err(format!("put: {sent} bytes sent"));
    }
    same("put (on disk)", &served(server, &name)?, &big)?;
    let mut got = Vec::new();
    c.retrieve_to(&name, 0, &mut got).map_err(fail("get"))?;
    same("get", &got, &big)?;
    let listing = c.list("").map_err(fail("ls"))?;
    let listed = listing
        .entries
        .iter()
        .find(|e| e.name == name.as_bytes())
        .ok_or_else(|| format!("ls: {name} missing"))?;
    if listed.size != Some(BIG as u64) {
        return Err(format!("ls: size {:?}", listed.size));
    }
    // Six more transfers on the same session: each data connection resumes the session
    // with a ticket the previous ones left (TLS 1.3 tickets are single-use).
    for i in 0..3 {
        let small = random_bytes(64 * 1024 + i, &format!("{tag}-{i}"));
        let small_name = format!("small-{tag}-{i}.bin");
        c.store_from(&small_name, &mut &small[..])
            .map_err(fail("put (series)"))?;
        same(
            "put (series, on disk)",
            &served(server, &small_name)?,
            &small,
        )?;
        let mut got = Vec::new();
        c.retrieve_to(&small_name, 0, &mut got)
            .map_err(fail("get (series)"))?;
        same("get (series)", &got, &small)?;
    }
    // A download abandoned part-way (ABOR), then the session goes on (ProFTPD may answer
    // ABOR's 226 before the transfer's 426: the session stays in step).
    let mut download = c.retrieve(&name, 0).map_err(fail("abort"))?;
    let mut head = vec![0u8; 100_000];
    download
        .read_exact(&mut head)
        .map_err(|e| format!("abort: {e}"))?;
    same("abort (head)", &head, &big[..head.len()])?;
    download.abort().map_err(fail("abort"))?;
    let mut got = Vec::new();
    c.retrieve_to(&name, 0, &mut got)
        .map_err(fail("get (after abort)"))?;
    same("get (after abort)", &got, &big)?;
    c.quit().map_err(fail("quit"))?;
    Ok("login put get ls +6 transfers abort get".into())
}

async fn async_cell<R: Runtime + Default>(cell: &Cell<'_>) -> Result<String, String> {
    use futures_lite::AsyncReadExt;
    let server = cell.server;
    let tag = cell.tag();
    let addr = control_addr(server, cell.mode);
    let mut c = AsyncClient::<R>::connect(addr, config(&cell.tls, cell.mode, cell.data.1))
        .await
        .map_err(fail("connect"))?;
    if !c.is_secure() {
        return Err("the control connection is not secure".into());
    }
    c.login(&server.user, &server.password)
        .await
        .map_err(fail("login"))?;
    if !c.is_data_protected() {
        return Err("PROT P not in effect after the login".into());
    }
    let big = random_bytes(BIG, &tag);
    let name = format!("big-{tag}.bin");
    let sent = c
        .store_from(&name, &mut &big[..])
        .await
        .map_err(fail("put"))?;
    if sent != BIG as u64 {
        return Err(format!("put: {sent} bytes sent"));
    }
    same("put (on disk)", &served(server, &name)?, &big)?;
    let mut download = c.retrieve(&name, 0).await.map_err(fail("get"))?;
    let mut got = Vec::new();
    download
        .read_to_end(&mut got)
        .await
        .map_err(|e| format!("get: {e}"))?;
    download.finish().await.map_err(fail("get (final reply)"))?;
    same("get", &got, &big)?;
    let listing = c.list("").await.map_err(fail("ls"))?;
    if !listing.entries.iter().any(|e| e.name == name.as_bytes()) {
        return Err(format!("ls: {name} missing"));
    }
    for i in 0..3 {
        let small = random_bytes(64 * 1024 + i, &format!("{tag}-{i}"));
        let small_name = format!("small-{tag}-{i}.bin");
        c.store_from(&small_name, &mut &small[..])
            .await
            .map_err(fail("put (series)"))?;
        same(
            "put (series, on disk)",
            &served(server, &small_name)?,
            &small,
        )?;
        let mut got = Vec::new();
        c.retrieve_to(&small_name, 0, &mut got)
            .await
            .map_err(fail("get (series)"))?;
        same("get (series)", &got, &small)?;
    }
    c.quit().await.map_err(fail("quit"))?;
    Ok("login put get ls +6 transfers".into())
}

/// Runs the blocking and tokio cells in every data mode with `tls`, plus `extra` blocking
/// cells; fails with every failure after printing every line.
fn matrix(server: &TestServer, tls: &Tls, tls_tag: &str, mode: TlsMode, extra: Vec<(String, Tls)>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut run = |cell: Cell<'_>, result: Result<String, String>| {
        eprintln!("{}", cell.line(&result));
        if result.is_err() {
            failures.push(cell.line(&result));
        }
    };
    for data in MODES {
        let cell = Cell {
            server,
            tls_tag: tls_tag.to_owned(),
            tls: tls.clone(),
            mode,
            client: "blocking",
            data,
        };
        let result = blocking_cell(&cell);
        run(cell, result);
        let cell = Cell {
            client: "tokio",
            tls: tls.clone(),
            tls_tag: tls_tag.to_owned(),
            server,
            mode,
            data,
        };
        let result = runtime.block_on(async_cell::<TokioRuntime>(&cell));
        run(cell, result);
        #[cfg(feature = "async-std")]
        {
            let cell = Cell {
                client: "async-std",
                tls: tls.clone(),
                tls_tag: tls_tag.to_owned(),
                server,
                mode,
                data,
            };
            let result = futures_lite::future::block_on(async_cell::<
                ftp_client::nonblocking::AsyncStdRuntime,
            >(&cell));
            run(cell, result);
        }
    }
    for (note, tls) in extra {
        let cell = Cell {
            server,
            tls_tag: format!("{tls_tag}-{note}"),
            tls,
            mode,
            client: "blocking",
            data: MODES[1],
        };
        let result = blocking_cell(&cell);
        run(cell, result);
    }
    if !failures.is_empty() {
        panic!(
            "{} failed:\n{}\n--- {} log ---\n{}",
            server.name,
            failures.join("\n"),
            server.name,
            server.log()
        );
    }
}

/// The extra cells: TLS 1.2 only (session-ID or ticket resumption), TLS 1.3 only, and the
/// certificate verified for the name `localhost` rather than the IP address.
fn extras(pki: &Pki) -> Vec<(String, Tls)> {
    vec![
        ("tls12".into(), pki.client_only(&rustls::version::TLS12)),
        ("tls13".into(), pki.client_only(&rustls::version::TLS13)),
        (
            "name".into(),
            pki.client().with_server_name("localhost").unwrap(),
        ),
    ]
}

/// Runs the matrix against the real server `peer`, started with explicit or implicit TLS and
/// (`Some(true)`) session reuse required; `tls12` pins the client to TLS 1.2 and leaves out
/// the extra cells.
fn peer_matrix(peer: &'static str, implicit: bool, reuse: Option<bool>, tls12: bool) {
    let tag = if implicit { "implicit" } else { "explicit" };
    let pki = Pki::new(&format!("{peer}-{tag}"));
    let Some(server) = common::start_tls(peer, &pki.peer(implicit, reuse)) else {
        return;
    };
    let mode = if implicit {
        TlsMode::Implicit
    } else {
        TlsMode::Explicit
    };
    if tls12 {
        let label = format!("{tag}-tls12");
        matrix(
            &server,
            &pki.client().tls12_only(),
            &label,
            mode,
            Vec::new(),
        );
    } else {
        matrix(&server, &pki.client(), tag, mode, extras(&pki));
    }
}

#[test]
fn vsftpd_explicit() {
    peer_matrix("vsftpd", false, Some(true), false);
}

#[test]
fn vsftpd_implicit() {
    peer_matrix("vsftpd", true, Some(true), false);
}

#[test]
fn pyftpdlib_explicit() {
    peer_matrix("pyftpdlib", false, None, false);
}

/// This workspace's server, FTPS required (with session reuse), explicit and implicit.
#[test]
fn own_server() {
    let pki = Pki::new("own");
    let server = common::start_own_tls(&pki.cert_pem, &pki.key_pem);
    assert!(server.implicit_port.is_some());
    matrix(
        &server,
        &pki.client(),
        "explicit",
        TlsMode::Explicit,
        extras(&pki),
    );
    matrix(
        &server,
        &pki.client(),
        "implicit",
        TlsMode::Implicit,
        extras(&pki),
    );
}

// ProFTPD sends no TLS 1.3 session ticket on upload connections, and rustls uses each
// ticket once: its matrix runs TLS 1.2 (see the `tls` module docs and the test after these).

#[test]
fn proftpd_explicit() {
    peer_matrix("proftpd", false, Some(true), true);
}

#[test]
fn proftpd_implicit() {
    peer_matrix("proftpd", true, Some(true), true);
}

/// The limit the `tls` module documents: in TLS 1.3, ProFTPD's upload connections bring no
/// ticket. Downloads and listings bring one each, so they go on forever; uploads use up the
/// control connection's two. Prints what happened to the uploads (a later ProFTPD may send
/// tickets) and requires the rest.
#[test]
fn proftpd_tls13_tickets() {
    let pki = Pki::new("proftpd-tickets");
    let Some(server) = common::start_tls("proftpd", &pki.peer(false, Some(true))) else {
        return;
    };
    let connect = |tls: Tls| {
        let config = config(&tls, TlsMode::Explicit, DataMode::ExtendedPassive);
        let mut c = Client::connect(server.addr(), config).unwrap();
        c.login(&server.user, &server.password).unwrap();
        c
    };
    let data = random_bytes(10_000, "tickets");
    let mut c = connect(pki.client_only(&rustls::version::TLS13));
    c.store_from("t.bin", &mut &data[..]).unwrap();
    for i in 0..8 {
        let mut got = Vec::new();
        c.retrieve_to("t.bin", 0, &mut got)
            .unwrap_or_else(|e| panic!("TLS 1.3 download {i}: {e}"));
        assert_eq!(got, data);
        c.list("")
            .unwrap_or_else(|e| panic!("TLS 1.3 listing {i}: {e}"));
    }
    let uploads: Vec<String> = (0..4)
        .map(
            |i| match c.store_from(format!("u{i}.bin"), &mut &data[..]) {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            },
        )
        .collect();
    eprintln!("CLIENT-TLS proftpd explicit-tls13 uploads after the downloads: {uploads:?}");
    let _ = c.quit();

    let mut c = connect(pki.client().tls12_only());
    for i in 0..8 {
        c.store_from(format!("v{i}.bin"), &mut &data[..])
            .unwrap_or_else(|e| panic!("TLS 1.2 upload {i}: {e}"));
    }
    c.quit().unwrap();
}

// -------------------------------------------------------------------------------------------
// Scripted servers.

/// Reads one line (CRLF or LF) from `stream`, keeping what follows in `pending`; `None` at
/// the end or on an error.
fn read_line(stream: &mut impl Read, pending: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            return Some(String::from_utf8_lossy(&line).trim_end().to_owned());
        }
        let mut buf = [0u8; 1024];
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads whatever `stream` sends until it closes (or stays silent for a few seconds).
fn read_rest(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
    }
}

fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A server that greets, answers `AUTH TLS` with `reply` (or, with `tls`, `234` and a TLS
/// handshake with that configuration) and records every byte the client sends.
fn auth_server(tls: Option<Arc<rustls::ServerConfig>>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let (listener, addr) = listener();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"220 scripted server\r\n").unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return seen,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        match tls {
            None => {
                let _ = s.write_all(b"502 TLS is not offered here\r\n");
                read_rest(&mut s, &mut seen);
            }
            Some(config) => {
                s.write_all(b"234 go ahead\r\n").unwrap();
                // Record the raw bytes while the handshake runs.
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let mut raw = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = match s.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    raw.extend_from_slice(&chunk[..n]);
                    let _ = conn.read_tls(&mut &chunk[..n]);
                    let processed = conn.process_new_packets();
                    while conn.wants_write() {
                        if conn.write_tls(&mut s).is_err() {
                            break;
                        }
                    }
                    if processed.is_err() {
                        read_rest(&mut s, &mut raw);
                        break;
                    }
                }
                seen.extend_from_slice(&raw);
            }
        }
        seen
    });
    (addr, handle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_refused_auth_tls_sends_no_credentials() {
    // Blocking.
    let (addr, server) = auth_server(None);
    let config = Config::default().tls(TlsMode::Explicit, Tls::insecure());
    match Client::connect(addr, config.clone()) {
        Err(Error::TlsRefused { code, text }) => {
            assert_eq!(code, 502);
            assert_eq!(text, "TLS is not offered here");
        }
        Err(e) => panic!("expected TlsRefused, got {e:?}"),
        Ok(_) => panic!("connected without TLS"),
    }
    assert_eq!(server.join().unwrap(), b"AUTH TLS\r\n");

    // Tokio.
    let (addr, server) = auth_server(None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match runtime.block_on(TokioClient::connect(addr, config)) {
        Err(e @ Error::TlsRefused { .. }) => {
            assert_eq!(e.reply_code(), Some(502));
            assert_eq!(e.exit_code(), 5);
        }
        Err(e) => panic!("expected TlsRefused, got {e:?}"),
        Ok(_) => panic!("connected without TLS"),
    }
    assert_eq!(server.join().unwrap(), b"AUTH TLS\r\n");
}

/// The rustls error of a failed connection.
fn certificate_error(result: Result<impl std::fmt::Debug, Error>) -> rustls::CertificateError {
    let e = result.expect_err("the handshake must fail");
    match e.tls_error() {
        Some(rustls::Error::InvalidCertificate(why)) => why.clone(),
        other => panic!("expected a certificate error, got {other:?} from {e:?}"),
    }
}

#[test]
fn an_untrusted_certificate_fails_before_the_login() {
    let server_pki = Pki::new("scripted-server");
    let other_pki = Pki::new("scripted-other");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for client in ["blocking", "tokio"] {
        // Issued by a CA the client does not trust.
        let (addr, server) = auth_server(Some(server_pki.server()));
        let config = Config::default().tls(TlsMode::Explicit, other_pki.client());
        let why = match client {
            "blocking" => certificate_error(Client::connect(addr, config)),
            _ => certificate_error(runtime.block_on(TokioClient::connect(addr, config))),
        };
        assert_eq!(why, rustls::CertificateError::UnknownIssuer, "{client}");
        let seen = server.join().unwrap();
        assert!(seen.starts_with(b"AUTH TLS\r\n"), "{client}: {seen:?}");
        assert!(
            !contains(&seen, b"USER") && !contains(&seen, b"PASS"),
            "{client}"
        );

        // Trusted, but for other names.
        let (addr, server) = auth_server(Some(server_pki.server()));
        let tls = server_pki
            .client()
            .with_server_name("ftp.example.com")
            .unwrap();
        let config = Config::default().tls(TlsMode::Explicit, tls);
        let why = match client {
            "blocking" => certificate_error(Client::connect(addr, config)),
            _ => certificate_error(runtime.block_on(TokioClient::connect(addr, config))),
        };
        assert!(
            matches!(
                why,
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ),
            "{client}: {why:?}"
        );
        let seen = server.join().unwrap();
        assert!(
            !contains(&seen, b"USER") && !contains(&seen, b"PASS"),
            "{client}"
        );
    }
}

/// An implicit-TLS server that serves one `RETR` of `payload` over a protected data
/// connection, then ends the data connection with or without `close_notify`.
fn truncating_server(
    config: Arc<rustls::ServerConfig>,
    payload: Vec<u8>,
    close_notify: bool,
) -> (SocketAddr, JoinHandle<()>) {
    let (control, addr) = listener();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = control.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut pending = Vec::new();
        let mut data: Option<TcpListener> = None;
        let _ = s.write_all(b"220 scripted implicit server\r\n");
        while let Some(line) = read_line(&mut s, &mut pending) {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "USER" => b"331 password\r\n",
                "PASS" => b"230 in\r\n",
                "PBSZ" => b"200 PBSZ=0\r\n",
                "PROT" => b"200 private\r\n",
                "TYPE" => b"200 type\r\n",
                "EPSV" => {
                    let (l, a) = listener();
                    data = Some(l);
                    let text = format!("229 Entering Extended Passive Mode (|||{}|)\r\n", a.port());
                    let _ = s.write_all(text.as_bytes());
                    continue;
                }
                "RETR" => {
                    let _ = s.write_all(b"150 here it comes\r\n");
                    if let Some(l) = data.take() {
                        let (tcp, _) = l.accept().unwrap();
                        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                        let mut d = rustls::StreamOwned::new(conn, tcp);
                        let _ = d.write_all(&payload);
                        if close_notify {
                            d.conn.send_close_notify();
                        }
                        let _ = d.flush();
                        // No close_notify: the TCP connection just ends.
                        let _ = d.sock.shutdown(Shutdown::Both);
                    }
                    b"226 done\r\n"
                }
                "QUIT" => {
                    let _ = s.write_all(b"221 bye\r\n");
                    let _ = s.flush();
                    return;
                }
                _ => b"502 not scripted\r\n",
            };
            let _ = s.write_all(reply);
        }
    });
    (addr, handle)
}

#[test]
fn a_protected_download_cut_without_close_notify_is_an_error() {
    use futures_lite::AsyncReadExt;
    let pki = Pki::new("truncation");
    let payload = random_bytes(200_000, "truncation");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for close_notify in [true, false] {
        let config = config(&pki.client(), TlsMode::Implicit, DataMode::ExtendedPassive);

        // Blocking.
        let (addr, server) = truncating_server(pki.server(), payload.clone(), close_notify);
        let mut c = Client::connect(addr, config.clone()).unwrap();
        c.login("anna", "secret").unwrap();
        assert!(c.is_data_protected());
        let mut got = Vec::new();
        let result = c.retrieve_to("f", 0, &mut got);
        if close_notify {
            assert_eq!(result.unwrap(), payload.len() as u64);
            assert_eq!(got, payload);
        } else {
            match result {
                Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
                other => panic!("a truncated download must fail, got {other:?}"),
            }
        }
        c.quit().unwrap();
        server.join().unwrap();

        // Tokio.
        let (addr, server) = truncating_server(pki.server(), payload.clone(), close_notify);
        runtime.block_on(async {
            let mut c = TokioClient::connect(addr, config.clone()).await.unwrap();
            c.login("anna", "secret").await.unwrap();
            let mut download = c.retrieve("f", 0).await.unwrap();
            let mut got = Vec::new();
            let read = download.read_to_end(&mut got).await;
            if close_notify {
                read.unwrap();
                assert_eq!(download.finish().await.unwrap(), payload.len() as u64);
                assert_eq!(got, payload);
            } else {
                let e = read.expect_err("a truncated download must fail");
                assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
                drop(download);
            }
            c.quit().await.unwrap();
        });
        server.join().unwrap();
    }
}

/// The same with this workspace's server, which hands out eight TLS 1.3 tickets at login and
/// a new one with each upload once the client runs short: a dozen uploads in one session
/// resume, in TLS 1.3 and in TLS 1.2.
#[test]
fn own_server_many_uploads() {
    let pki = Pki::new("own-uploads");
    let server = common::start_own_tls(&pki.cert_pem, &pki.key_pem);
    let data = random_bytes(10_000, "uploads");
    let uploads = |tls: Tls| -> Vec<String> {
        let config = config(&tls, TlsMode::Explicit, DataMode::ExtendedPassive);
        let mut c = Client::connect(server.addr(), config).unwrap();
        c.login(&server.user, &server.password).unwrap();
        let results = (0..12)
            .map(
                |i| match c.store_from(format!("m{i}.bin"), &mut &data[..]) {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                },
            )
            .collect();
        let _ = c.quit();
        results
    };
    // TLS 1.3: rustls spends each ticket once; the server hands out new ones on uploads when
    // the client runs short, so a long run of uploads keeps resuming.
    let tls13 = uploads(pki.client_only(&rustls::version::TLS13));
    eprintln!("CLIENT-TLS own explicit-tls13 twelve uploads: {tls13:?}");
    assert!(tls13.iter().all(|r| r == "ok"), "TLS 1.3: {tls13:?}");
    let tls12 = uploads(pki.client().tls12_only());
    assert!(tls12.iter().all(|r| r == "ok"), "TLS 1.2: {tls12:?}");
}
