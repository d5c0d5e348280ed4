//! Session tests: an in-memory driver with a virtual clock and a fake storage.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

#[allow(unused_imports)]
use super::MlstFacts;
use super::*;
use crate::listing::{Entry, EntryKind, Modified};
use crate::path::VirtualPath;
use crate::time::FtpTime;

const LOCAL: &str = "192.0.2.1:21";
const PEER: &str = "198.51.100.9:50000";
const LOCAL6: &str = "[2001:db8::1]:21";
const PEER6: &str = "[2001:db8::9]:50000";

fn mtime() -> FtpTime {
    FtpTime::new(2024, 2, 29, 12, 30, 15, 0).unwrap()
}

/// Builds a listing entry; the one place that knows `Entry`'s shape.
fn entry(name: &[u8], dir: bool, size: u64, modified: FtpTime) -> Entry {
    let kind = if dir { EntryKind::Dir } else { EntryKind::File };
    let mut e = Entry::new(Bytes::copy_from_slice(name), kind);
    e.size = Some(size);
    e.modified = Some(Modified::Exact(modified));
    e
}

#[derive(Clone)]
struct Node {
    dir: bool,
    data: Vec<u8>,
    mtime: FtpTime,
}

/// A tiny in-memory file tree answering storage requests.
struct FakeFs {
    nodes: BTreeMap<Vec<u8>, Node>,
}

impl FakeFs {
    fn new() -> Self {
        let mut fs = FakeFs {
            nodes: BTreeMap::new(),
        };
        for d in [
            &b"/"[..],
            b"/home",
            b"/home/anna",
            b"/pub",
            b"/empty",
            b"/full",
            b"/quota",
        ] {
            fs.put(d, true, b"");
        }
        fs.put(b"/pub/a.txt", false, b"hello\nworld\n");
        fs.put(b"/pub/say \"hi\".txt", false, b"x");
        fs.put(b"/home/anna/notes", false, b"0123456789");
        fs
    }

    fn put(&mut self, p: &[u8], dir: bool, data: &[u8]) {
        self.nodes.insert(
            p.to_vec(),
            Node {
                dir,
                data: data.to_vec(),
                mtime: mtime(),
            },
        );
    }

    fn entry(&self, p: &VirtualPath) -> Result<Entry, StorageError> {
        let n = self.nodes.get(p.as_bytes()).ok_or(StorageError::NotFound)?;
        Ok(entry(
            p.file_name().unwrap_or(b"/"),
            n.dir,
            n.data.len() as u64,
            n.mtime,
        ))
    }

    fn is_dir(&self, p: &VirtualPath) -> bool {
        self.nodes.get(p.as_bytes()).is_some_and(|n| n.dir)
    }

    fn children(&self, p: &VirtualPath) -> Vec<Entry> {
        self.nodes
            .iter()
            .filter_map(|(k, n)| {
                let kp = VirtualPath::new(k).ok()?;
                (!kp.is_root() && kp.parent() == *p).then(|| {
                    entry(
                        kp.file_name().unwrap_or(b""),
                        n.dir,
                        n.data.len() as u64,
                        n.mtime,
                    )
                })
            })
            .collect()
    }

    fn check_space(p: &VirtualPath) -> Result<(), StorageError> {
        if p.starts_with(&VirtualPath::new(b"/full").unwrap()) {
            Err(StorageError::NoSpace)
        } else if p.starts_with(&VirtualPath::new(b"/quota").unwrap()) {
            Err(StorageError::QuotaExceeded)
        } else {
            Ok(())
        }
    }

    fn op(&mut self, op: StorageOp) -> Outcome {
        let r = match op {
            StorageOp::Metadata(p) => self.entry(&p).map(Outcome::Metadata),
            StorageOp::List(p) => {
                if self.is_dir(&p) {
                    Ok(Outcome::Listing {
                        entries: self.children(&p),
                        now_unix: 1_750_000_000,
                    })
                } else {
                    self.entry(&p).map(|e| Outcome::Listing {
                        entries: vec![e],
                        now_unix: 1_750_000_000,
                    })
                }
            }
            StorageOp::MakeDir(p) => {
                if self.nodes.contains_key(p.as_bytes()) {
                    Err(StorageError::AlreadyExists)
                } else if !self.is_dir(&p.parent()) {
                    Err(StorageError::NotFound)
                } else {
                    Self::check_space(&p).map(|()| {
                        self.put(p.as_bytes(), true, b"");
                        Outcome::Done
                    })
                }
            }
            StorageOp::RemoveDir(p) => match self.nodes.get(p.as_bytes()) {
                None => Err(StorageError::NotFound),
                Some(n) if !n.dir => Err(StorageError::NotADirectory),
                Some(_) if !self.children(&p).is_empty() => Err(StorageError::PermissionDenied),
                Some(_) => {
                    self.nodes.remove(p.as_bytes());
                    Ok(Outcome::Done)
                }
            },
            StorageOp::Delete(p) => match self.nodes.get(p.as_bytes()) {
                None => Err(StorageError::NotFound),
                Some(n) if n.dir => Err(StorageError::IsADirectory),
                Some(_) => {
                    self.nodes.remove(p.as_bytes());
                    Ok(Outcome::Done)
                }
            },
            StorageOp::Rename { from, to } => match self.nodes.remove(from.as_bytes()) {
                None => Err(StorageError::NotFound),
                Some(n) => {
                    self.nodes.insert(to.as_bytes().to_vec(), n);
                    Ok(Outcome::Done)
                }
            },
            StorageOp::SetModified { path, time } => match self.nodes.get_mut(path.as_bytes()) {
                None => Err(StorageError::NotFound),
                Some(n) => {
                    n.mtime = time;
                    Ok(Outcome::Done)
                }
            },
            #[allow(unreachable_patterns)]
            _ => Err(StorageError::Unsupported),
        };
        r.unwrap_or_else(Outcome::Failed)
    }

    /// The whole life of a transfer, as a well-behaved adapter would report it.
    fn transfer(&mut self, op: &TransferOp) -> Vec<TransferEvent> {
        use TransferEvent::*;
        let fail = |e| vec![Failed(TransferError::Storage(e))];
        match op {
            TransferOp::Retr { path, offset } => match self.nodes.get(path.as_bytes()) {
                None => fail(StorageError::NotFound),
                Some(n) if n.dir => fail(StorageError::IsADirectory),
                Some(n) if *offset > n.data.len() as u64 => fail(StorageError::InvalidOffset),
                Some(n) => {
                    let len = n.data.len() as u64 - offset;
                    vec![
                        Opened {
                            size: Some(n.data.len() as u64),
                            name: None,
                        },
                        Connected,
                        Progress(len),
                        Finished { bytes: len },
                    ]
                }
            },
            TransferOp::Stor { path, .. } | TransferOp::Appe { path } => {
                if let Err(e) = Self::check_space(path) {
                    return vec![
                        Opened {
                            size: None,
                            name: None,
                        },
                        Connected,
                        Failed(TransferError::Storage(e)),
                    ];
                }
                if !self.is_dir(&path.parent()) {
                    return fail(StorageError::NotFound);
                }
                self.put(path.as_bytes(), false, b"uploaded");
                vec![
                    Opened {
                        size: None,
                        name: None,
                    },
                    Connected,
                    Finished { bytes: 8 },
                ]
            }
            TransferOp::Stou { dir } => {
                let name = b"stou.1";
                let Some(p) = dir.join(name) else {
                    return fail(StorageError::InvalidName);
                };
                self.put(p.as_bytes(), false, b"u");
                vec![
                    Opened {
                        size: None,
                        name: Some(Bytes::from_static(name)),
                    },
                    Connected,
                    Finished { bytes: 1 },
                ]
            }
            TransferOp::List { path, .. } => {
                if !self.nodes.contains_key(path.as_bytes()) {
                    return fail(StorageError::NotFound);
                }
                vec![
                    Opened {
                        size: None,
                        name: None,
                    },
                    Connected,
                    Finished { bytes: 100 },
                ]
            }
            #[allow(unreachable_patterns)]
            _ => fail(StorageError::Unsupported),
        }
    }
}

/// How the driver answers `Transfer` requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Run the transfer to its end at once.
    Auto,
    /// Only record it; the test sends the events.
    Manual,
}

/// Drives a session against `FakeFs` with a virtual clock.
struct Driver {
    s: ServerSession,
    now: Instant,
    fs: FakeFs,
    wire: Vec<u8>,
    mode: Mode,
    /// Every request seen, in order.
    log: Vec<Request>,
    /// The transfer started in manual mode, if any.
    running: Option<RequestId>,
    /// Answers to deliver on the next step.
    answers: VecDeque<(RequestId, Answer)>,
    /// When set, requests are recorded but not answered.
    hold: bool,
    /// When set, a StartTls request is not followed by `handle_tls_established`.
    hold_tls: bool,
    /// A StartTls request to answer on the next step.
    establish_tls: bool,
    next_port: u16,
}

enum Answer {
    Done(Outcome),
    Event(TransferEvent),
}

fn config() -> ServerConfig {
    ServerConfig {
        login_failure_delay: Duration::from_secs(2),
        ..ServerConfig::default()
    }
}

impl Driver {
    fn new() -> Self {
        Self::with(config(), LOCAL, PEER)
    }

    fn with(config: ServerConfig, local: &str, peer: &str) -> Self {
        // The virtual clock's origin; from here on time only moves when a test advances it.
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let s = ServerSession::new(
            Arc::new(config),
            local.parse().unwrap(),
            peer.parse().unwrap(),
            now,
        );
        let mut d = Driver {
            s,
            now,
            fs: FakeFs::new(),
            wire: Vec::new(),
            mode: Mode::Auto,
            log: Vec::new(),
            running: None,
            answers: VecDeque::new(),
            hold: false,
            hold_tls: false,
            establish_tls: false,
            next_port: 40000,
        };
        d.run();
        d
    }

    /// Drains the session and answers its requests until nothing moves. Bounded, so a
    /// livelock fails instead of hanging.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(b) = self.s.poll_transmit() {
                self.wire.extend_from_slice(&b);
                moved = true;
            }
            while let Some(req) = self.s.poll_request() {
                moved = true;
                self.answer(&req);
                self.log.push(req);
            }
            if let Some(t) = self.s.poll_timeout() {
                if t <= self.now {
                    self.s.handle_timeout(self.now);
                    moved = true;
                }
            }
            if std::mem::take(&mut self.establish_tls) {
                self.s.handle_tls_established(self.now);
                moved = true;
            }
            if let Some((id, a)) = self.answers.pop_front() {
                moved = true;
                match a {
                    Answer::Done(o) => self.s.handle_completion(id, o, self.now),
                    Answer::Event(e) => self.s.handle_transfer_event(id, e, self.now),
                }
            }
            if !moved {
                return;
            }
        }
        panic!("session did not settle (livelock?)");
    }

    fn answer(&mut self, req: &Request) {
        if self.hold {
            return;
        }
        match req {
            Request::Authenticate {
                id,
                user,
                password,
                account,
                ..
            } => {
                let o = match (&user[..], password.expose(), account.as_deref()) {
                    (b"anna", b"secret", _) => Outcome::LoggedIn(UserInfo::new("/home/anna", true)),
                    (b"ro", b"ro", _) => Outcome::LoggedIn(UserInfo::new("/pub", false)),
                    (b"acct", b"pw", None) => Outcome::NeedAccount,
                    (b"acct", b"pw", Some(b"dept")) => Outcome::LoggedIn(UserInfo::new("/", true)),
                    _ => Outcome::Refused,
                };
                self.answers.push_back((*id, Answer::Done(o)));
            }
            Request::Storage { id, op } => {
                let o = self.fs.op(op.clone());
                self.answers.push_back((*id, Answer::Done(o)));
            }
            Request::OpenPassive { id, ipv6 } => {
                self.next_port += 1;
                let ip = if *ipv6 { "2001:db8::1" } else { "192.0.2.1" };
                let addr = SocketAddr::new(ip.parse().unwrap(), self.next_port);
                self.answers
                    .push_back((*id, Answer::Done(Outcome::PassiveOpened(addr))));
            }
            Request::Transfer { id, op, data, .. } => {
                if let DataChannel::Active(a) = data {
                    let peer: SocketAddr = self.s.peer();
                    assert_eq!(a.ip(), peer.ip(), "bounce");
                }
                match self.mode {
                    Mode::Auto => {
                        for e in self.fs.transfer(op) {
                            self.answers.push_back((*id, Answer::Event(e)));
                        }
                    }
                    Mode::Manual => self.running = Some(*id),
                }
            }
            Request::StartTls if !self.hold_tls => self.establish_tls = true,
            Request::Site { id, command } => {
                let o = if &command[..] == b"HELLO" {
                    Outcome::SiteReply {
                        code: 200,
                        text: Bytes::from_static(b"hello"),
                    }
                } else {
                    Outcome::SiteReply {
                        code: 999,
                        text: Bytes::from_static(b"bad code"),
                    }
                };
                self.answers.push_back((*id, Answer::Done(o)));
            }
            _ => {}
        }
    }

    fn take_wire(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.wire)
    }

    /// Sends one line, runs, and returns the final codes of the replies it produced.
    fn send(&mut self, line: &str) -> Vec<u16> {
        self.input(format!("{line}\r\n").as_bytes());
        codes(&self.take_wire())
    }

    fn input(&mut self, b: &[u8]) {
        self.s.handle_input(b, self.now);
        self.run();
    }

    fn advance(&mut self, d: Duration) -> Vec<u16> {
        self.now += d;
        self.run();
        codes(&self.take_wire())
    }

    fn event(&mut self, e: TransferEvent) -> Vec<u16> {
        let id = self.running.expect("a running transfer");
        self.s.handle_transfer_event(id, e, self.now);
        self.run();
        codes(&self.take_wire())
    }

    fn login(&mut self) {
        self.take_wire();
        assert_eq!(self.send("USER anna"), [331]);
        assert_eq!(self.send("PASS secret"), [230]);
    }

    fn requests(&self, f: impl Fn(&Request) -> bool) -> usize {
        self.log.iter().filter(|r| f(r)).count()
    }
}

/// Splits reply bytes into replies (multi-line aware) and returns their codes.
fn codes(wire: &[u8]) -> Vec<u16> {
    replies(wire).into_iter().map(|(c, _)| c).collect()
}

/// Splits reply bytes into `(code, lines)`.
fn replies(wire: &[u8]) -> Vec<(u16, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut cur: Option<(u16, Vec<Vec<u8>>)> = None;
    let text = wire.strip_suffix(b"\r\n").unwrap_or(wire);
    if text.is_empty() {
        return out;
    }
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
        let bare_cr = line.windows(2).any(|w| w[0] == b'\r' && w[1] != 0) || line.ends_with(b"\r");
        assert!(!bare_cr, "bare CR in {:?}", line.escape_ascii().to_string());
        let code: Option<u16> = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse().ok());
        match cur.take() {
            Some((c, mut lines)) => {
                let last = code == Some(c) && line.get(3) == Some(&b' ');
                lines.push(line);
                if last {
                    out.push((c, lines));
                } else {
                    cur = Some((c, lines));
                }
            }
            None => {
                let c = code
                    .unwrap_or_else(|| panic!("no code: {:?}", line.escape_ascii().to_string()));
                match line.get(3) {
                    Some(b'-') => cur = Some((c, vec![line])),
                    _ => out.push((c, vec![line])),
                }
            }
        }
    }
    assert!(cur.is_none(), "unterminated multi-line reply");
    out
}

/// Runs a conversation: each client line with the reply codes it must produce.
fn conversation(d: &mut Driver, script: &[(&str, &[u16])]) {
    for (line, want) in script {
        assert_eq!(d.send(line), *want, "after {line:?}");
    }
}

fn logged_in() -> Driver {
    let mut d = Driver::new();
    d.login();
    d
}

#[test]
fn greeting_and_login() {
    let mut d = Driver::new();
    assert_eq!(d.take_wire(), b"220 FTP server ready.\r\n");
    conversation(
        &mut d,
        &[
            ("PWD", &[530]),
            ("PASS secret", &[503]),
            ("ACCT x", &[503]),
            ("FEAT", &[211]),
            ("SYST", &[215]),
            ("NOOP", &[200]),
            ("OPTS UTF8 ON", &[200]),
            ("HELP", &[214]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("PASS secret", &[503]),
            ("USER bob", &[530]),
            ("ACCT x", &[202]),
            ("PWD", &[257]),
        ],
    );
    assert_eq!(d.s.cwd().as_bytes(), b"/home/anna");
    assert_eq!(d.s.user(), Some(&b"anna"[..]));
}

#[test]
fn unknown_user_gets_331_and_delayed_530() {
    let mut d = Driver::new();
    d.take_wire();
    assert_eq!(d.send("USER nobody"), [331]);
    // The 530 waits for the delay; nothing blocks, and queued input waits too.
    assert_eq!(d.send("PASS guess"), Vec::<u16>::new());
    assert_eq!(d.send("NOOP"), Vec::<u16>::new());
    assert!(d.s.poll_timeout().is_some());
    assert_eq!(d.advance(Duration::from_millis(1999)), Vec::<u16>::new());
    assert_eq!(d.advance(Duration::from_millis(1)), [530, 200]);
    assert_eq!(d.send("PWD"), [530]);
}

#[test]
fn too_many_failures_close_with_421() {
    let mut d = Driver::new();
    d.take_wire();
    for round in 0..3 {
        assert_eq!(d.send("USER anna"), [331]);
        d.send("PASS wrong");
        let want: &[u16] = if round < 2 { &[530] } else { &[530, 421] };
        assert_eq!(d.advance(Duration::from_secs(2)), want);
    }
    assert!(d.s.is_closed());
    assert_eq!(d.requests(|r| matches!(r, Request::Close)), 1);
    assert_eq!(d.s.poll_timeout(), None);
    // Input after close is ignored.
    assert_eq!(d.send("USER anna"), Vec::<u16>::new());
}

#[test]
fn success_resets_failure_count() {
    let mut d = Driver::new();
    d.take_wire();
    for _ in 0..2 {
        d.send("USER anna");
        d.send("PASS wrong");
        assert_eq!(d.advance(Duration::from_secs(2)), [530]);
    }
    conversation(
        &mut d,
        &[
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("REIN", &[220]),
        ],
    );
    d.send("USER anna");
    d.send("PASS wrong");
    assert_eq!(d.advance(Duration::from_secs(2)), [530]);
    assert!(!d.s.is_closed());
}

#[test]
fn account_exchange() {
    let mut d = Driver::new();
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("USER acct", &[331]),
            ("PASS pw", &[332]),
            ("PWD", &[530]),
            ("PASS pw", &[503]),
        ],
    );
    // The PASS above broke nothing: ACCT is still expected.
    conversation(&mut d, &[("ACCT dept", &[230]), ("PWD", &[257])]);
}

#[test]
fn host_before_login_only() {
    let mut d = Driver::new();
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("HOST ftp.example.com", &[220]),
            ("USER anna", &[331]),
            ("HOST ftp.example.com", &[503]),
            ("PASS secret", &[230]),
            ("HOST x", &[503]),
        ],
    );
    assert!(matches!(
        d.log.iter().find(|r| matches!(r, Request::Authenticate { .. })),
        Some(Request::Authenticate { host: Some(h), .. }) if &h[..] == b"ftp.example.com"
    ));
    let mut c = config();
    c.virtual_hosts = vec![Bytes::from_static(b"FTP.Example.com")];
    let mut d = Driver::with(c, LOCAL, PEER);
    d.take_wire();
    conversation(
        &mut d,
        &[("HOST other", &[504]), ("HOST ftp.example.COM", &[220])],
    );
}

#[test]
fn rein_resets_session() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("CWD /pub", &[250]),
            ("TYPE I", &[200]),
            ("PASV", &[227]),
            ("REIN", &[220]),
            ("PWD", &[530]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("PWD", &[257]),
            ("SIZE /pub/a.txt", &[550]), // back to TYPE A
        ],
    );
    assert_eq!(d.s.cwd().as_bytes(), b"/home/anna");
    assert_eq!(d.requests(|r| matches!(r, Request::ClosePassive)), 1);
}

#[test]
fn quit() {
    let mut d = Driver::new();
    d.take_wire();
    assert_eq!(d.send("QUIT"), [221]);
    assert!(d.s.is_closed());
    assert!(!d.s.wants_input());
}

#[test]
fn directories() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("PWD", &[257]),
            ("CWD /pub", &[250]),
            ("XPWD", &[257]),
            ("CWD a.txt", &[550]),
            ("CWD /nope", &[550]),
            ("CDUP", &[250]),
            ("XCUP", &[250]),
            ("XCUP", &[250]),
            ("CWD ../../..", &[250]),
            ("XCWD pub", &[250]),
            ("MKD new", &[257]),
            ("XMKD new", &[550]),
            ("MKD /nope/x", &[550]),
            ("MKD /full/x", &[452]),
            ("MKD /quota/x", &[552]),
            ("RMD new", &[250]),
            ("XRMD new", &[550]),
            ("RMD a.txt", &[550]),
            ("DELE a.txt", &[250]),
            ("DELE a.txt", &[550]),
            ("DELE /pub", &[550]),
        ],
    );
    assert_eq!(d.s.cwd().as_bytes(), b"/pub");
    d.send("MKD q\"uote");
    d.send("CWD q\"uote");
    d.send("PWD");
    // (the replies were taken by send; check the wire text through a fresh PWD)
    d.input(b"PWD\r\n");
    assert_eq!(
        d.take_wire(),
        b"257 \"/pub/q\"\"uote\" is the current directory\r\n"
    );
    d.input(b"MKD /pub/x\"y\r\n");
    assert_eq!(d.take_wire(), b"257 \"/pub/x\"\"y\" created\r\n");
}

#[test]
fn paths_never_escape_root() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[("CWD ../../../../..", &[250]), ("CWD ..\\..", &[550])],
    );
    assert_eq!(d.s.cwd().as_bytes(), b"/");
    assert_eq!(d.send("CWD a\0b"), [553]);
    // Over the line cap: 500. Under it but resolving past MAX_PATH_LEN: 553.
    let long = format!("CWD {}", "x/".repeat(2100));
    assert_eq!(d.send(&long), [500]);
    let mut c = config();
    c.max_line_len = 8192;
    let mut d2 = Driver::with(c, LOCAL, PEER);
    d2.login();
    assert_eq!(d2.send(&long), [553]);
    for r in &d.log {
        if let Request::Storage {
            op: StorageOp::Metadata(p),
            ..
        } = r
        {
            assert!(p.segments().all(|s| s != b".."));
        }
    }
}

#[test]
fn rename() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("RNTO x", &[503]),
            ("RNFR /nope", &[550]),
            ("RNTO x", &[503]),
            ("RNFR /pub/a.txt", &[350]),
            ("NOOP", &[200]),
            ("RNTO /pub/b.txt", &[503]), // RNTO must follow RNFR at once
            ("RNFR /pub/a.txt", &[350]),
            ("RNTO /pub/b.txt", &[250]),
            ("SIZE /pub/b.txt", &[550]), // TYPE A
            ("TYPE I", &[200]),
            ("SIZE /pub/b.txt", &[213]),
            ("SIZE /pub/a.txt", &[550]),
        ],
    );
}

#[test]
fn size_mdtm_mfmt_mlst() {
    let mut d = logged_in();
    conversation(&mut d, &[("TYPE I", &[200]), ("SIZE /pub", &[550])]);
    d.input(b"SIZE /pub/a.txt\r\nMDTM /pub/a.txt\r\nMFMT 20200101000000 /pub/a.txt\r\nMDTM /pub/a.txt\r\n");
    assert_eq!(
        d.take_wire(),
        b"213 12\r\n213 20240229123015\r\n213 Modify=20200101000000; /pub/a.txt\r\n213 20200101000000\r\n"
    );
    conversation(
        &mut d,
        &[
            ("MDTM /nope", &[550]),
            ("MFMT 2020 /pub/a.txt", &[501]),
            ("MFMT 20200101000000 /nope", &[550]),
        ],
    );
    d.input(b"MLST /pub/a.txt\r\n");
    let r = replies(&d.take_wire());
    assert_eq!(r.len(), 1);
    let (code, lines) = &r[0];
    assert_eq!(*code, 250);
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with(b"250-"));
    assert!(lines[1].starts_with(b" ") && !lines[1].starts_with(b"  "));
    assert!(lines[1].ends_with(b" /pub/a.txt"));
    assert_eq!(lines[2], b"250 End");
    assert_eq!(d.send("MLST /nope"), [550]);
    assert_eq!(d.send("MLST"), [250]);
}

#[test]
fn read_only_user() {
    let mut d = Driver::new();
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("USER ro", &[331]),
            ("PASS ro", &[230]),
            ("PASV", &[227]),
            ("STOR x", &[550]),
            ("APPE x", &[550]),
            ("STOU", &[550]),
            ("DELE a.txt", &[550]),
            ("MKD d", &[550]),
            ("RMD /empty", &[550]),
            ("RNFR a.txt", &[550]),
            ("MFMT 20200101000000 a.txt", &[550]),
            ("RETR a.txt", &[150, 226]),
        ],
    );
    let writes = d.requests(|r| {
        matches!(
            r,
            Request::Storage {
                op: StorageOp::Delete(_) | StorageOp::MakeDir(_) | StorageOp::RemoveDir(_),
                ..
            }
        )
    });
    assert_eq!(writes, 0);
}

#[test]
fn transfers_passive() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("RETR /pub/a.txt", &[425]), // no PASV/PORT yet
            ("PASV", &[227]),
            ("RETR /pub/a.txt", &[150, 226]),
            ("RETR /pub/a.txt", &[425]), // PASV serves one transfer
            ("EPSV", &[229]),
            ("RETR /nope", &[550]),
            ("EPSV", &[229]),
            ("STOR /pub/up", &[150, 226]),
            ("EPSV", &[229]),
            ("APPE /pub/up", &[150, 226]),
            ("EPSV", &[229]),
            ("STOR /full/f", &[150, 452]),
            ("EPSV", &[229]),
            ("STOR /quota/f", &[150, 552]),
            ("EPSV", &[229]),
            ("STOR /nope/f", &[550]),
            ("EPSV", &[229]),
            ("LIST", &[150, 226]),
            ("EPSV", &[229]),
            ("NLST /pub", &[150, 226]),
            ("EPSV", &[229]),
            ("MLSD /pub", &[150, 226]),
            ("EPSV", &[229]),
            ("LIST -la /pub", &[150, 226]),
            ("EPSV", &[229]),
            ("RETR /pub", &[550]),
        ],
    );
    let lists: Vec<_> = d
        .log
        .iter()
        .filter_map(|r| match r {
            Request::Transfer {
                op: TransferOp::List { path, format, all },
                ascii,
                ..
            } => Some((path.to_string(), *format, *all, *ascii)),
            _ => None,
        })
        .collect();
    assert_eq!(lists[0].0, "/home/anna");
    assert_eq!(lists[0].1, ListFormat::Unix);
    assert_eq!(lists[1].1, ListFormat::Nlst);
    assert!(matches!(lists[2].1, ListFormat::Mlsd(_)));
    assert_eq!((lists[3].0.as_str(), lists[3].2), ("/pub", true));
    assert!(lists.iter().all(|l| l.3));
}

#[test]
fn pasv_reply_text_and_nat() {
    let mut d = logged_in();
    d.input(b"PASV\r\n");
    assert_eq!(
        d.take_wire(),
        b"227 Entering Passive Mode (192,0,2,1,156,65).\r\n"
    );
    d.input(b"EPSV\r\n");
    assert_eq!(
        d.take_wire(),
        b"229 Entering Extended Passive Mode (|||40002|)\r\n"
    );
    d.input(b"LPSV\r\n");
    assert_eq!(
        d.take_wire(),
        b"228 Entering Long Passive Mode (4,4,192,0,2,1,2,156,67)\r\n"
    );
    // Each new passive command closed the previous listener.
    assert_eq!(d.requests(|r| matches!(r, Request::ClosePassive)), 2);

    let mut c = config();
    c.passive_public_addr = Some("203.0.113.7".parse().unwrap());
    let mut d = Driver::with(c, LOCAL, PEER);
    d.login();
    d.input(b"PASV\r\n");
    assert_eq!(
        d.take_wire(),
        b"227 Entering Passive Mode (203,0,113,7,156,65).\r\n"
    );
}

#[test]
fn retr_text_and_stou() {
    let mut d = logged_in();
    d.input(b"TYPE I\r\nPASV\r\n");
    d.take_wire();
    d.input(b"RETR /pub/a.txt\r\n");
    assert_eq!(
        d.take_wire(),
        b"150 Opening BINARY mode data connection for /pub/a.txt (12 bytes).\r\n226 Transfer complete.\r\n"
    );
    d.input(b"PASV\r\n");
    d.take_wire();
    d.input(b"STOU\r\n");
    assert_eq!(
        d.take_wire(),
        b"150 FILE: stou.1\r\n226 Transfer complete.\r\n"
    );
    assert!(d.fs.nodes.contains_key(&b"/home/anna/stou.1"[..]));
}

#[test]
fn rest_applies_to_next_transfer_only() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("PASV", &[227]),
            ("REST 5", &[350]),
            ("RETR /pub/a.txt", &[150, 226]),
            ("PASV", &[227]),
            ("RETR /pub/a.txt", &[150, 226]),
            ("REST 3", &[350]),
            ("PASV", &[227]), // clears REST
            ("RETR /pub/a.txt", &[150, 226]),
            ("PASV", &[227]),
            ("REST 99", &[350]),
            ("RETR /pub/a.txt", &[554]),
            ("REST x", &[501]),
            ("REST 18446744073709551615", &[350]),
        ],
    );
    let offsets: Vec<u64> = d
        .log
        .iter()
        .filter_map(|r| match r {
            Request::Transfer {
                op: TransferOp::Retr { offset, .. },
                ..
            } => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(offsets, [5, 0, 0, 99]);
}

#[test]
fn type_mode_stru_allo() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("TYPE A", &[200]),
            ("TYPE I", &[200]),
            ("TYPE L 8", &[200]),
            ("TYPE E", &[504]),
            ("TYPE", &[501]),
            ("MODE S", &[200]),
            ("MODE B", &[504]),
            ("STRU F", &[200]),
            ("STRU R", &[504]),
            ("ALLO 100", &[202]),
        ],
    );
    assert_eq!(d.send("SIZE /pub/a.txt"), [213], "TYPE L 8 is binary");
}

#[test]
fn active_mode_and_bounce() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("PORT 198,51,100,9,200,10", &[200]),
            ("RETR /pub/a.txt", &[150, 226]),
            ("PORT 203,0,113,5,200,10", &[504]), // another host
            ("PORT 198,51,100,9,0,21", &[504]),  // privileged port
            ("PORT 198,51,100,9,3,255", &[504]), // 1023
            ("PORT 198,51,100,9,4,0", &[200]),   // 1024
            ("EPRT |1|198.51.100.9|50001|", &[200]),
            ("EPRT |1|127.0.0.1|50001|", &[504]),
            ("EPRT |2|::ffff:198.51.100.9|50002|", &[200]), // v4-mapped equals v4
            ("EPRT |3|x|1|", &[522]),
            ("PORT 1,2,3", &[501]),
        ],
    );
    let actives: Vec<SocketAddr> = d
        .log
        .iter()
        .filter_map(|r| match r {
            Request::Transfer {
                data: DataChannel::Active(a),
                ..
            } => Some(*a),
            _ => None,
        })
        .collect();
    assert_eq!(actives, ["198.51.100.9:51210".parse().unwrap()]);

    let mut c = config();
    c.allow_active = false;
    let mut d = Driver::with(c, LOCAL, PEER);
    d.login();
    conversation(
        &mut d,
        &[("PORT 198,51,100,9,200,10", &[502]), ("FEAT", &[211])],
    );
    d.input(b"FEAT\r\n");
    let feat = d.take_wire();
    assert!(!feat.windows(5).any(|w| w == b" EPRT"));
}

#[test]
fn ipv6_control() {
    let mut d = Driver::with(config(), LOCAL6, PEER6);
    d.login();
    conversation(
        &mut d,
        &[
            ("PASV", &[425]),
            ("EPSV 1", &[522]),
            ("EPSV 2", &[229]),
            ("EPSV", &[229]),
            ("EPRT |2|2001:db8::9|50001|", &[200]),
            ("EPRT |2|2001:db8::10|50001|", &[504]),
            ("EPRT |1|198.51.100.9|50001|", &[504]),
        ],
    );
    assert!(d
        .log
        .iter()
        .any(|r| matches!(r, Request::OpenPassive { ipv6: true, .. })));
    // IPv4-mapped control connection: PASV works.
    let mut d = Driver::with(
        config(),
        "[::ffff:192.0.2.1]:21",
        "[::ffff:198.51.100.9]:5000",
    );
    d.login();
    d.input(b"PASV\r\n");
    assert_eq!(
        d.take_wire(),
        b"227 Entering Passive Mode (192,0,2,1,156,65).\r\n"
    );
    conversation(
        &mut d,
        &[("PORT 198,51,100,9,200,10", &[200]), ("EPSV 2", &[522])],
    );
}

#[test]
fn epsv_all_refuses_others() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("EPSV ALL", &[200]),
            ("PASV", &[503]),
            ("LPSV", &[503]),
            ("PORT 198,51,100,9,200,10", &[503]),
            ("EPRT |1|198.51.100.9|50001|", &[503]),
            ("EPSV", &[229]),
            ("EPSV 3", &[522]),
        ],
    );
}

#[test]
fn abor_without_transfer() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("ABOR", &[225]),
            ("PASV", &[227]),
            ("ABOR", &[226]),
            ("RETR x", &[425]),
        ],
    );
    assert_eq!(d.requests(|r| matches!(r, Request::ClosePassive)), 1);
}

fn manual() -> Driver {
    let mut d = logged_in();
    d.mode = Mode::Manual;
    assert_eq!(d.send("PASV"), [227]);
    d
}

#[test]
fn abor_mid_transfer() {
    let mut d = manual();
    assert_eq!(d.send("RETR /pub/a.txt"), Vec::<u16>::new());
    assert_eq!(
        d.event(TransferEvent::Opened {
            size: Some(12),
            name: None
        }),
        [150]
    );
    assert_eq!(d.event(TransferEvent::Connected), Vec::<u16>::new());
    assert_eq!(d.send("ABOR"), Vec::<u16>::new());
    let id = d.running.unwrap();
    assert!(d.log.iter().any(|r| *r == Request::AbortTransfer { id }));
    assert_eq!(
        d.event(TransferEvent::Failed(TransferError::Aborted)),
        [426, 226]
    );
    // Late events for the finished transfer are ignored.
    assert_eq!(
        d.event(TransferEvent::Finished { bytes: 1 }),
        Vec::<u16>::new()
    );
    assert_eq!(d.send("NOOP"), [200]);
}

#[test]
fn abor_preceded_by_telnet_ip_synch() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    // IAC IP, IAC DM (Synch), then ABOR (RFC 959 §4.1.3).
    d.input(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(codes(&d.take_wire()), Vec::<u16>::new());
    assert_eq!(
        d.event(TransferEvent::Failed(TransferError::Aborted)),
        [426, 226]
    );
}

#[test]
fn abor_racing_completion() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    d.send("ABOR");
    assert_eq!(d.event(TransferEvent::Finished { bytes: 12 }), [226, 226]);
}

#[test]
fn abor_unconfirmed_times_out() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    d.send("ABOR");
    assert_eq!(d.advance(Duration::from_secs(60)), [426, 226]);
    assert!(!d.s.is_closed());
}

#[test]
fn stat_and_pipelining_during_transfer() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    d.event(TransferEvent::Progress(7));
    // Pipelined commands wait; STAT is answered at once with the progress.
    d.input(b"NOOP\r\nPWD\r\nSTAT\r\n");
    let r = replies(&d.take_wire());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 213);
    assert!(r[0].1.iter().any(|l| l.ends_with(b"/pub/a.txt: 7 bytes")));
    assert_eq!(
        d.event(TransferEvent::Finished { bytes: 12 }),
        [226, 200, 257]
    );
}

#[test]
fn quit_during_transfer_finishes_first() {
    let mut d = manual();
    d.send("STOR /pub/up");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    assert_eq!(d.send("QUIT"), Vec::<u16>::new());
    assert!(!d.s.is_closed());
    assert_eq!(d.send("NOOP"), Vec::<u16>::new()); // ignored after QUIT
    assert_eq!(d.event(TransferEvent::Finished { bytes: 3 }), [226, 221]);
    assert!(d.s.is_closed());
}

#[test]
fn pipeline_queue_is_bounded() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    let many = "NOOP\r\n".repeat(40);
    assert!(d.s.wants_input());
    d.input(many.as_bytes());
    assert!(!d.s.wants_input());
    assert!(!d.s.is_closed());
    let c = d.event(TransferEvent::Finished { bytes: 12 });
    assert_eq!(c.len(), 41);
    assert!(d.s.wants_input());
    // Ignoring backpressure with a flood closes the session.
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    let flood = "NOOP\r\n".repeat(10_000);
    d.input(flood.as_bytes());
    assert_eq!(codes(&d.take_wire()), [421]);
    assert!(d.s.is_closed());
}

#[test]
fn transfer_failures() {
    let cases: &[(&[TransferEvent], &[u16])] = &[
        (
            &[TransferEvent::Failed(TransferError::Storage(
                StorageError::NotFound,
            ))],
            &[550],
        ),
        (
            &[TransferEvent::Failed(TransferError::Storage(
                StorageError::PermissionDenied,
            ))],
            &[550],
        ),
        (
            &[TransferEvent::Failed(TransferError::Storage(
                StorageError::InvalidName,
            ))],
            &[553],
        ),
        (
            &[TransferEvent::Failed(TransferError::Storage(
                StorageError::Other,
            ))],
            &[451],
        ),
        (&[TransferEvent::Failed(TransferError::DataConnect)], &[425]),
        (
            &[
                TransferEvent::Opened {
                    size: None,
                    name: None,
                },
                TransferEvent::Failed(TransferError::DataConnect),
            ],
            &[150, 425],
        ),
        (
            &[
                TransferEvent::Opened {
                    size: None,
                    name: None,
                },
                TransferEvent::Connected,
                TransferEvent::Failed(TransferError::ConnectionLost),
            ],
            &[150, 426],
        ),
        (
            &[
                TransferEvent::Opened {
                    size: None,
                    name: None,
                },
                TransferEvent::Failed(TransferError::Storage(StorageError::Other)),
            ],
            &[150, 451],
        ),
        (
            &[
                TransferEvent::Opened {
                    size: None,
                    name: None,
                },
                TransferEvent::Failed(TransferError::Storage(StorageError::NoSpace)),
            ],
            &[150, 452],
        ),
        (&[TransferEvent::Finished { bytes: 0 }], &[150, 226]),
    ];
    for (events, want) in cases {
        let mut d = manual();
        d.send("STOR /pub/x");
        let mut got = Vec::new();
        for e in events.iter() {
            got.extend(d.event(e.clone()));
        }
        assert_eq!(got, *want, "{events:?}");
        assert_eq!(d.send("NOOP"), [200]);
    }
}

#[test]
fn passive_never_connected_425() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    assert_eq!(d.advance(Duration::from_secs(59)), Vec::<u16>::new());
    assert_eq!(d.advance(Duration::from_secs(1)), [425]);
    assert_eq!(
        d.requests(|r| matches!(r, Request::AbortTransfer { .. })),
        1
    );
    assert!(!d.s.is_closed());
    assert_eq!(d.send("RETR /pub/a.txt"), [425]); // the listener went with it
}

#[test]
fn stalled_transfer_426_then_421() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    d.event(TransferEvent::Connected);
    for _ in 0..5 {
        d.now += Duration::from_secs(50);
        d.event(TransferEvent::Progress(100));
    }
    assert!(
        !d.s.is_closed(),
        "progress keeps it alive well past data_timeout"
    );
    assert_eq!(d.advance(Duration::from_secs(60)), [426, 421]);
    assert!(d.s.is_closed());
    assert_eq!(
        d.requests(|r| matches!(r, Request::AbortTransfer { .. })),
        1
    );
}

#[test]
fn idle_timeout() {
    let mut d = logged_in();
    assert_eq!(d.advance(Duration::from_secs(299)), Vec::<u16>::new());
    assert_eq!(d.send("NOOP"), [200]); // activity pushes the deadline
    assert_eq!(d.advance(Duration::from_secs(299)), Vec::<u16>::new());
    assert_eq!(d.advance(Duration::from_secs(1)), [421]);
    assert!(d.s.is_closed());
    // Before login too.
    let mut d = Driver::new();
    d.take_wire();
    assert_eq!(d.advance(Duration::from_secs(300)), [421]);
}

#[test]
fn long_transfer_is_not_idle() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    for _ in 0..20 {
        d.now += Duration::from_secs(30);
        d.event(TransferEvent::Progress(1));
    }
    assert!(!d.s.is_closed());
    assert_eq!(d.event(TransferEvent::Finished { bytes: 1 }), [226]);
}

#[test]
fn eof() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.s.handle_eof(d.now);
    d.run();
    assert!(d.s.is_closed());
    assert!(d
        .log
        .iter()
        .any(|r| matches!(r, Request::AbortTransfer { .. })));
    assert!(matches!(d.log.last(), Some(Request::Close)));
    assert_eq!(d.take_wire(), b"");
}

#[test]
fn feat_lines() {
    let mut d = Driver::new();
    d.take_wire();
    d.input(b"FEAT\r\n");
    let r = replies(&d.take_wire());
    let (code, lines) = &r[0];
    assert_eq!(*code, 211);
    assert!(lines[0].starts_with(b"211-"));
    assert_eq!(lines.last().unwrap(), b"211 End");
    for l in &lines[1..lines.len() - 1] {
        assert!(
            l.starts_with(b" ") && !l.starts_with(b"  "),
            "{:?}",
            l.escape_ascii().to_string()
        );
    }
    let has = |f: &[u8]| {
        lines.iter().any(|l| {
            l.get(1..) == Some(f)
                || l.get(1..)
                    .is_some_and(|x| x.starts_with(f) && x.get(f.len()) == Some(&b' '))
        })
    };
    for f in [
        &b"EPRT"[..],
        b"EPSV",
        b"MDTM",
        b"SIZE",
        b"REST STREAM",
        b"UTF8",
        b"MLST",
        b"MFMT",
        b"HOST",
        b"TVFS",
    ] {
        assert!(has(f), "{}", f.escape_ascii());
    }
    assert!(!has(b"AUTH"), "AUTH is not implemented yet");
}

#[test]
fn opts_lang_security_site() {
    let mut d = Driver::new();
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("OPTS UTF8 ON", &[200]),
            ("OPTS UTF8 MAYBE", &[501]),
            ("OPTS FOO", &[501]),
            ("OPTS MLST type;size;", &[200]),
            ("LANG", &[200]),
            ("LANG EN", &[200]),
            ("LANG fr", &[504]),
            // TLS is disabled by default.
            ("AUTH TLS", &[502]),
            ("PBSZ 0", &[503]),
            ("PROT P", &[503]),
            ("CCC", &[533]),
            ("ADAT abc", &[502]),
            ("SITE CHMOD 777 x", &[530]),
        ],
    );
    d.login();
    assert_eq!(d.send("SITE CHMOD 777 x"), [502]);
    assert_eq!(d.requests(|r| matches!(r, Request::Site { .. })), 0);
    let mut c = config();
    c.site_enabled = true;
    let mut d = Driver::with(c, LOCAL, PEER);
    d.login();
    conversation(&mut d, &[("SITE HELLO", &[200]), ("SITE OTHER", &[500])]);
}

#[test]
fn stat() {
    let mut d = logged_in();
    assert_eq!(d.send("STAT"), [211]);
    d.input(b"STAT /pub\r\n");
    let r = replies(&d.take_wire());
    assert_eq!(r[0].0, 213);
    assert!(r[0].1.len() >= 4);
    assert!(r[0].1.iter().any(|l| l.ends_with(b"a.txt")));
    assert_eq!(d.send("STAT /nope"), [550]);
    assert_eq!(d.send("STAT -la /pub"), [213]);
}

#[test]
fn bad_input() {
    let mut d = logged_in();
    let long = format!("NOOP {}", "x".repeat(5000));
    conversation(
        &mut d,
        &[
            ("FOO", &[500]),
            ("", &[500]),
            (&long, &[500]),
            ("NOOP", &[200]),
            ("SMNT /x", &[502]),
            ("CWD", &[501]),
        ],
    );
    // A long line split across inputs, then a normal line.
    d.input(&[b'A'; 3000]);
    d.input(&[b'B'; 3000]);
    d.input(b"\r\nNOOP\r\n");
    assert_eq!(codes(&d.take_wire()), [500, 200]);
}

#[test]
fn passwords_never_in_debug() {
    let mut d = Driver::new();
    d.hold = true;
    d.input(b"USER anna\r\nPASS hunter2\r\n");
    let dbg = format!("{:?} {:?}", d.s, d.log);
    assert!(!dbg.contains("hunter2"), "{dbg}");
    let mut d = Driver::new();
    d.input(b"USER acct\r\nPASS hunter2\r\n");
    assert!(!format!("{:?} {:?}", d.s, d.log).contains("hunter2"));
}

#[test]
fn wrong_ids_are_ignored() {
    let mut d = logged_in();
    d.hold = true;
    d.input(b"CWD /pub\r\n");
    let Some(Request::Storage { id, .. }) = d.log.last().cloned() else {
        panic!()
    };
    d.s.handle_completion(RequestId(id.get() + 100), Outcome::Done, d.now);
    d.s.handle_transfer_event(id, TransferEvent::Connected, d.now);
    d.run();
    assert_eq!(d.take_wire(), b"");
    d.s.handle_completion(id, Outcome::Done, d.now); // wrong kind of answer
    d.run();
    assert_eq!(codes(&d.take_wire()), [451]);
}

/// The same script, fed whole and byte by byte, gives the same bytes.
#[test]
fn byte_by_byte_same_replies() {
    let script: &[u8] =
        b"FEAT\r\nUSER anna\r\nPASS secret\r\nPWD\r\nCWD /pub\nTYPE I\r\nSIZE a.txt\r\n\
        PASV\r\nRETR a.txt\r\nMLST a.txt\r\nRNFR a.txt\r\nRNTO b.txt\r\nBOGUS\r\nQUIT\r\n";
    let mut whole = Driver::new();
    whole.input(script);
    let mut bytes = Driver::new();
    for b in script {
        bytes.input(std::slice::from_ref(b));
    }
    assert_eq!(whole.wire, bytes.wire);
    assert_eq!(
        codes(&whole.wire),
        [220, 211, 331, 230, 257, 250, 200, 213, 227, 150, 226, 250, 350, 250, 500, 221]
    );
}

fn known_line() -> impl Strategy<Value = Vec<u8>> {
    const VERBS: &[&str] = &[
        "USER anna",
        "PASS secret",
        "PASS x",
        "ACCT a",
        "CWD /pub",
        "CDUP",
        "PWD",
        "REIN",
        "PORT 198,51,100,9,200,1",
        "PORT 10,0,0,1,0,21",
        "PASV",
        "EPSV",
        "EPSV ALL",
        "LPSV",
        "EPRT |1|198.51.100.9|6000|",
        "TYPE I",
        "TYPE A",
        "RETR a.txt",
        "RETR /pub/a.txt",
        "STOR x",
        "STOU",
        "APPE y",
        "REST 3",
        "RNFR x",
        "RNTO y",
        "ABOR",
        "DELE x",
        "RMD d",
        "MKD d",
        "LIST",
        "NLST",
        "MLSD",
        "MLST",
        "STAT",
        "STAT /",
        "SIZE a",
        "MDTM a",
        "HELP",
        "NOOP",
        "FEAT",
        "QUIT",
        "HOST h",
        "SITE X",
        "OPTS UTF8 ON",
        "MFMT 20200101000000 a",
    ];
    prop_oneof![
        proptest::sample::select(VERBS).prop_map(|v| v.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary input, chunked arbitrarily, with time passing: no panic, no livelock, replies
    /// stay well-formed and no connection goes anywhere but the peer.
    #[test]
    fn arbitrary_input_never_panics(
        lines in proptest::collection::vec(known_line(), 0..30),
        cuts in proptest::collection::vec(1usize..50, 1..20),
        sep in proptest::sample::select(vec![&b"\r\n"[..], b"\n", b"\r", b""]),
        ticks in proptest::collection::vec(0u64..100, 0..30),
        manual in any::<bool>(),
    ) {
        let mut c = config();
        c.max_line_len = 64;
        let mut d = Driver::with(c, LOCAL, PEER);
        if manual {
            d.mode = Mode::Manual;
        }
        let mut input = Vec::new();
        for l in &lines {
            input.extend_from_slice(l);
            input.extend_from_slice(sep);
        }
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            d.input(chunk);
            if let Some(t) = ticks.get(i) {
                d.advance(Duration::from_secs(*t));
            }
            if manual && i % 3 == 0 {
                if let Some(id) = d.running.take() {
                    d.s.handle_transfer_event(id, TransferEvent::Finished { bytes: 1 }, d.now);
                    d.run();
                }
            }
            rest = tail;
            i += 1;
        }
        d.s.handle_eof(d.now);
        d.run();
        let _ = replies(&d.wire); // well-formed
        prop_assert!(d.s.is_closed());
        for r in &d.log {
            if let Request::Transfer { data: DataChannel::Active(a), .. } = r {
                prop_assert_eq!(a.ip(), d.s.peer().ip());
                prop_assert!(a.port() >= 1024);
            }
        }
    }
}

#[test]
fn unknown_and_unimplemented_verbs() {
    let mut d = Driver::new();
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("XYZZY", &[500]), // 500 before login too, not 530
            ("STAT", &[530]),
            ("MFCT 20200101000000 a", &[530]),
            ("ADAT abc", &[502]),
            ("MIC x", &[502]),
            ("PROT X", &[504]),
            ("12AB", &[500]),
        ],
    );
    d.login();
    conversation(
        &mut d,
        &[
            ("XYZZY plugh", &[500]),
            ("MFCT 20200101000000 a", &[502]),
            ("MFF Modify=20200101000000; a", &[502]),
            ("SMNT /x", &[502]),
            ("TYPE A T", &[504]),
            ("TYPE E", &[504]),
            ("TYPE L 7", &[504]),
            ("TYPE A N", &[200]),
            ("STRU P", &[504]),
            ("MODE C", &[504]),
        ],
    );
}

#[test]
fn long_mode_lprt_lpsv() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[
            ("LPRT 4,4,198,51,100,9,2,200,10", &[200]),
            ("RETR /pub/a.txt", &[150, 226]),
            ("LPRT 4,4,10,0,0,1,2,200,10", &[504]),
            ("LPRT 4,4,198,51,100,9,2,0,80", &[504]),
            ("LPRT 9,1,1,2,0,1", &[521]),
            ("LPSV", &[228]),
            ("RETR /pub/a.txt", &[150, 226]),
        ],
    );
    let mut d = Driver::with(config(), LOCAL6, PEER6);
    d.login();
    d.input(b"LPSV\r\n");
    let w = d.take_wire();
    assert!(
        w.starts_with(b"228 Entering Long Passive Mode (6,16,32,1,13,184,"),
        "{}",
        w.escape_ascii()
    );
    assert!(d
        .log
        .iter()
        .any(|r| matches!(r, Request::OpenPassive { ipv6: true, .. })));
}

#[test]
fn mlst_fact_selection() {
    let mut d = logged_in();
    assert_eq!(d.send("OPTS MLST size;bogus;"), [200]);
    d.input(b"MLST /pub/a.txt\r\n");
    let r = replies(&d.take_wire());
    assert_eq!(r[0].1[1], b" size=12; /pub/a.txt");
    d.input(b"FEAT\r\n");
    let feat = d.take_wire();
    assert!(
        feat.windows(14).any(|w| w == b" MLST type;siz"),
        "{}",
        feat.escape_ascii()
    );
    d.input(b"PASV\r\nMLSD /pub\r\n");
    let facts = d.log.iter().find_map(|r| match r {
        Request::Transfer {
            op:
                TransferOp::List {
                    format: ListFormat::Mlsd(f),
                    ..
                },
            ..
        } => Some(*f),
        _ => None,
    });
    assert_eq!(facts, Some(MlstFacts::parse_selection(b"size;")));
    d.take_wire();
    assert_eq!(d.send("OPTS MLST"), [200]);
    d.input(b"MLST /pub\r\n");
    let r = replies(&d.take_wire());
    assert_eq!(
        r[0].1[1], b"  /pub",
        "no facts: a space, then the empty fact list's space"
    );
}

#[test]
fn names_with_line_breaks_never_inject() {
    let mut d = logged_in();
    // A directory whose name holds CR LF and a fake reply.
    d.fs.put(b"/pub/x\r\n226 fake", true, b"");
    d.input(b"CWD /pub/x\r\0\n226 fake\r\n");
    // The line ended at the LF: CWD "/pub/x\r" (not found), then the verb "226" (500).
    assert_eq!(codes(&d.take_wire()), [550, 500]);
    d.input(b"MKD /pub/a\r\0b\r\n");
    let w = d.take_wire();
    assert_eq!(w, b"257 \"/pub/a\r\0b\" created\r\n");
    assert_eq!(codes(&w), [257]);
}

#[test]
fn cdup_at_root_and_home() {
    let mut d = logged_in();
    conversation(
        &mut d,
        &[("CDUP", &[250]), ("CDUP", &[250]), ("CDUP", &[250])],
    );
    assert!(d.s.cwd().is_root());
}

#[test]
fn shutdown_when_idle_answers_421_and_closes() {
    let mut d = logged_in();
    d.s.handle_shutdown(d.now);
    d.run();
    assert_eq!(codes(&d.take_wire()), [421]);
    assert!(d.s.is_closed());
    assert_eq!(d.requests(|r| matches!(r, Request::Close)), 1);
}

#[test]
fn shutdown_lets_a_running_transfer_finish() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    assert_eq!(
        d.event(TransferEvent::Opened {
            size: None,
            name: None
        }),
        [150]
    );
    d.s.handle_shutdown(d.now);
    d.run();
    assert_eq!(codes(&d.take_wire()), Vec::<u16>::new());
    assert!(!d.s.wants_input());
    // Commands sent during the grace period are not read.
    assert_eq!(d.send("NOOP"), Vec::<u16>::new());
    assert_eq!(d.event(TransferEvent::Finished { bytes: 12 }), [226, 421]);
    assert!(d.s.is_closed());
}

#[test]
fn shutdown_deadline_aborts_the_transfer() {
    let mut d = manual();
    d.send("RETR /pub/a.txt");
    d.event(TransferEvent::Opened {
        size: None,
        name: None,
    });
    d.s.handle_shutdown(d.now);
    d.s.handle_shutdown_deadline(d.now);
    d.run();
    assert_eq!(codes(&d.take_wire()), [426, 421]);
    let id = d.running.unwrap();
    assert!(d.log.iter().any(|r| *r == Request::AbortTransfer { id }));
    assert!(d.s.is_closed());
}

#[test]
fn command_log_hides_passwords_and_is_off_by_default() {
    let mut d = Driver::new();
    d.login();
    assert!(d.s.poll_command().is_none(), "off by default");
    d.s.set_command_log(true);
    d.take_wire();
    d.send("REIN");
    d.send("USER anna");
    d.send("PASS secret");
    let logged: Vec<String> = std::iter::from_fn(|| d.s.poll_command())
        .map(|c| c.to_string())
        .collect();
    assert_eq!(logged, ["REIN", "USER anna", "PASS ****"]);
}

// ----------------------------------------------------------------------------------------------
// TLS (RFC 2228, RFC 4217)
// ----------------------------------------------------------------------------------------------

fn tls_config(policy: TlsPolicy) -> ServerConfig {
    let mut c = config();
    c.tls = policy;
    c
}

/// The `protected` flag of the last transfer request.
fn last_transfer_protected(d: &Driver) -> Option<bool> {
    d.log.iter().rev().find_map(|r| match r {
        Request::Transfer { protected, .. } => Some(*protected),
        _ => None,
    })
}

#[test]
fn feat_and_help_list_tls_only_when_enabled() {
    let feat = |policy| {
        let mut d = Driver::with(tls_config(policy), LOCAL, PEER);
        d.take_wire();
        d.input(b"FEAT\r\nHELP\r\n");
        String::from_utf8(d.take_wire()).unwrap()
    };
    let off = feat(TlsPolicy::Disabled);
    assert!(!off.contains("AUTH"), "{off}");
    assert!(!off.contains("PBSZ"), "{off}");
    let on = feat(TlsPolicy::Optional);
    for line in ["\r\n AUTH TLS\r\n", "\r\n PBSZ\r\n", "\r\n PROT\r\n"] {
        assert!(on.contains(line), "{line:?} missing from {on}");
    }
    assert!(on.contains(" AUTH ") && on.contains(" CCC "), "{on}");
}

#[test]
fn auth_tls_discards_pipelined_plaintext_and_asks_for_the_handshake() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    d.take_wire();
    assert!(!d.s.is_secure());
    conversation(
        &mut d,
        &[
            ("PBSZ 0", &[503]),
            ("PROT P", &[503]),
            ("CCC", &[533]),
            ("AUTH KERBEROS_V4", &[504]),
        ],
    );
    // A man in the middle appends commands behind AUTH in the cleartext stream (the STARTTLS
    // injection): they must never run.
    d.input(b"AUTH TLS\r\nUSER anna\r\nPASS secret\r\nDELE /home/anna/notes\r\n");
    assert_eq!(codes(&d.take_wire()), [234]);
    assert_eq!(d.requests(|r| matches!(r, Request::StartTls)), 1);
    assert_eq!(d.requests(|r| matches!(r, Request::Authenticate { .. })), 0);
    assert_eq!(d.requests(|r| matches!(r, Request::Storage { .. })), 0);
    assert!(d.s.is_secure());
    assert!(!d.s.data_protected());
    conversation(
        &mut d,
        &[
            ("AUTH TLS", &[503]),
            ("PROT P", &[503]), // PBSZ first (RFC 4217 §8)
            ("PBSZ 0", &[200]),
            ("PROT S", &[536]),
            ("PROT E", &[536]),
            ("PROT X", &[504]),
            ("PROT P", &[200]),
            ("CCC", &[534]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("CWD /pub", &[250]),
            ("PASV", &[227]),
            ("RETR a.txt", &[150, 226]),
        ],
    );
    assert!(d.s.data_protected());
    assert_eq!(last_transfer_protected(&d), Some(true));
    conversation(
        &mut d,
        &[
            ("PROT C", &[200]),
            ("PASV", &[227]),
            ("RETR a.txt", &[150, 226]),
        ],
    );
    assert_eq!(last_transfer_protected(&d), Some(false));
    let wire = {
        d.input(b"STAT\r\n");
        String::from_utf8(d.take_wire()).unwrap()
    };
    assert!(
        wire.contains("Control connection: TLS; data connections: cleartext"),
        "{wire}"
    );
}

#[test]
fn nothing_is_read_between_234_and_the_handshake() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    d.hold_tls = true;
    d.take_wire();
    assert_eq!(d.send("AUTH TLS"), [234]);
    assert!(!d.s.wants_input());
    // Cleartext injected behind AUTH in a later segment, before the handshake: ignored.
    d.input(b"USER anna\r\nPASS secret\r\n");
    assert!(d.take_wire().is_empty());
    assert_eq!(d.requests(|r| matches!(r, Request::Authenticate { .. })), 0);
    d.s.handle_tls_established(d.now);
    d.run();
    assert!(d.s.wants_input());
    conversation(&mut d, &[("PWD", &[530]), ("USER anna", &[331])]);
}

#[test]
fn pbsz_answers_zero_whatever_it_is_given() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    d.send("AUTH TLS");
    d.input(b"PBSZ 16384\r\n");
    assert_eq!(d.take_wire(), b"200 PBSZ=0\r\n");
}

#[test]
fn legacy_auth_ssl_protects_data_by_default() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    d.take_wire();
    assert_eq!(d.send("AUTH SSL"), [234]);
    assert!(d.s.data_protected());
}

#[test]
fn auth_after_login_requires_a_new_login() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    d.login();
    conversation(
        &mut d,
        &[
            ("PASV", &[227]),
            ("AUTH TLS", &[234]),
            ("PWD", &[530]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("RETR notes", &[425]), // the passive listener went with the old login
        ],
    );
    assert_eq!(d.requests(|r| matches!(r, Request::ClosePassive)), 1);
}

#[test]
fn tls_required_for_login_refuses_cleartext_user() {
    let mut d = Driver::with(tls_config(TlsPolicy::RequiredForLogin), LOCAL, PEER);
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("USER anna", &[530]),
            ("PASS secret", &[503]),
            ("AUTH TLS", &[234]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            // Cleartext data is the client's choice under this policy.
            ("PASV", &[227]),
            ("RETR notes", &[150, 226]),
        ],
    );
    assert_eq!(d.requests(|r| matches!(r, Request::Authenticate { .. })), 1);
    assert_eq!(last_transfer_protected(&d), Some(false));
}

#[test]
fn tls_required_for_data_refuses_cleartext_transfers() {
    let mut d = Driver::with(tls_config(TlsPolicy::Required), LOCAL, PEER);
    d.take_wire();
    conversation(
        &mut d,
        &[
            ("USER anna", &[530]),
            ("AUTH TLS", &[234]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("PASV", &[227]),
            ("RETR notes", &[521]),
            ("LIST", &[521]),
            ("STOR up", &[521]),
            ("PBSZ 0", &[200]),
            ("PROT C", &[534]),
            ("RETR notes", &[521]),
            ("PROT P", &[200]),
            ("RETR notes", &[150, 226]),
        ],
    );
    assert_eq!(d.requests(|r| matches!(r, Request::Transfer { .. })), 1);
    assert_eq!(last_transfer_protected(&d), Some(true));
}

#[test]
fn implicit_tls_starts_protected() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let s = ServerSession::new_implicit_tls(
        Arc::new(tls_config(TlsPolicy::Required)),
        LOCAL.parse().unwrap(),
        PEER.parse().unwrap(),
        now,
    );
    let mut d = Driver::with(config(), LOCAL, PEER);
    d.take_wire();
    d.s = s;
    d.now = now;
    d.run();
    assert_eq!(d.take_wire(), b"220 FTP server ready.\r\n");
    assert!(d.s.is_secure() && d.s.data_protected());
    conversation(
        &mut d,
        &[
            ("AUTH TLS", &[503]),
            ("USER anna", &[331]),
            ("PASS secret", &[230]),
            ("PBSZ 0", &[200]),
            ("PROT P", &[200]),
            ("PASV", &[227]),
            ("RETR notes", &[150, 226]),
        ],
    );
    assert_eq!(d.requests(|r| matches!(r, Request::StartTls)), 0);
    assert_eq!(last_transfer_protected(&d), Some(true));
}

#[test]
fn data_tls_failures_answer_522() {
    for error in [TransferError::TlsHandshake, TransferError::TlsNotResumed] {
        let mut d = Driver::with(tls_config(TlsPolicy::Required), LOCAL, PEER);
        d.mode = Mode::Manual;
        d.take_wire();
        for line in [
            "AUTH TLS",
            "PBSZ 0",
            "PROT P",
            "USER anna",
            "PASS secret",
            "PASV",
        ] {
            d.send(line);
        }
        assert_eq!(d.send("RETR notes"), [] as [u16; 0]);
        assert_eq!(
            d.event(TransferEvent::Opened {
                size: Some(10),
                name: None
            }),
            [150]
        );
        assert_eq!(d.event(TransferEvent::Failed(error)), [522]);
        // The session goes on.
        assert_eq!(d.send("NOOP"), [200]);
    }
}

#[test]
fn rein_keeps_tls_and_resets_data_protection() {
    let mut d = Driver::with(tls_config(TlsPolicy::Optional), LOCAL, PEER);
    for line in ["AUTH TLS", "PBSZ 0", "PROT P", "USER anna", "PASS secret"] {
        d.send(line);
    }
    assert!(d.s.data_protected());
    assert_eq!(d.send("REIN"), [220]);
    assert!(d.s.is_secure());
    assert!(!d.s.data_protected());
    assert_eq!(d.send("PROT P"), [503]);
}
