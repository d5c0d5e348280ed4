//! Session tests: a scripted in-memory server, a virtual clock and a bounded step loop.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::command::{Command, EncodeError, TransferType};
use crate::listing::EntryKind;
use crate::reply::ReplyCode;
use crate::time::FtpTime;

/// A public server and client, so the NAT workaround has something to compare against.
const PEER: &str = "203.0.113.5:21";
const LOCAL: &str = "198.51.100.9:50000";
const PEER6: &str = "[2001:db8::5]:21";
const LOCAL6: &str = "[2001:db8::9]:50000";

/// Drives a [`ClientSession`] against a script: the test plays the server, reading the
/// commands the client sent and feeding replies; the driver plays the adapter.
struct Driver {
    c: ClientSession,
    now: Instant,
    /// Bytes the client sent that the script has not read yet.
    sent: Vec<u8>,
    events: Vec<Event>,
    /// Answer every ConnectData with Connected at once.
    auto_connect: bool,
}

fn config() -> ClientConfig {
    ClientConfig::default()
}

fn login_op() -> Operation {
    Operation::Login {
        user: "anna".into(),
        password: "secret".into(),
        account: None,
    }
}

impl Driver {
    fn new() -> Self {
        Self::with(config(), PEER, LOCAL)
    }

    fn with(config: ClientConfig, peer: &str, local: &str) -> Self {
        // The virtual clock's origin; from here on time only moves when a test advances it.
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let c = ClientSession::new(config, peer.parse().unwrap(), local.parse().unwrap(), now);
        let mut d = Driver {
            c,
            now,
            sent: Vec::new(),
            events: Vec::new(),
            auto_connect: true,
        };
        d.settle();
        d
    }

    /// A session past the greeting and logged in, with nothing left to read.
    fn ready() -> Self {
        Self::ready_with(config(), PEER, LOCAL)
    }

    fn ready_with(config: ClientConfig, peer: &str, local: &str) -> Self {
        let mut d = Self::with(config, peer, local);
        d.input(b"220 ready\r\n");
        let op = d.start(login_op());
        d.expect("USER anna", "331 pw\r\n");
        d.expect("PASS secret", "230 ok\r\n");
        assert!(d.result(op).is_ok());
        d.events.clear();
        d
    }

    /// Drains the session, plays the adapter and fires due timers until nothing moves.
    /// Bounded, so a livelock fails instead of hanging.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(b) = self.c.poll_transmit() {
                self.sent.extend_from_slice(&b);
                moved = true;
            }
            while let Some(e) = self.c.poll_event() {
                moved = true;
                if let Event::ConnectData { op, .. } = e {
                    if self.auto_connect {
                        self.c.handle_data(op, DataEvent::Connected, self.now);
                    }
                }
                self.events.push(e);
            }
            if let Some(t) = self.c.poll_timeout() {
                if t <= self.now {
                    self.c.handle_timeout(self.now);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("session did not settle (livelock?)");
    }

    fn input(&mut self, bytes: &[u8]) {
        self.c.handle_input(bytes, self.now);
        self.settle();
    }

    fn start(&mut self, op: Operation) -> OpId {
        let id = self.c.start(op, self.now).expect("start");
        self.settle();
        id
    }

    fn data(&mut self, op: OpId, ev: DataEvent) {
        self.c.handle_data(op, ev, self.now);
        self.settle();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.settle();
    }

    /// The next command line the client sent, without CRLF.
    fn line(&mut self) -> Option<String> {
        let i = self.sent.windows(2).position(|w| w == b"\r\n")?;
        let line: Vec<u8> = self.sent.drain(..i + 2).collect();
        Some(String::from_utf8_lossy(&line[..i]).into_owned())
    }

    /// Reads the next command, checks it, and answers.
    fn expect(&mut self, cmd: &str, reply: &str) {
        assert_eq!(
            self.line().as_deref(),
            Some(cmd),
            "events: {:?}",
            self.events
        );
        self.input(reply.as_bytes());
    }

    fn nothing_sent(&self) {
        assert!(
            self.sent.is_empty(),
            "unexpected: {:?}",
            String::from_utf8_lossy(&self.sent)
        );
    }

    fn done(&self, op: OpId) -> Option<&Result<Output, ClientError>> {
        self.events.iter().find_map(|e| match e {
            Event::Done { op: id, result } if *id == op => Some(result),
            _ => None,
        })
    }

    fn result(&self, op: OpId) -> Result<Output, ClientError> {
        self.done(op)
            .cloned()
            .unwrap_or_else(|| panic!("op {op:?} not done; events: {:?}", self.events))
    }

    fn connects(&self) -> Vec<SocketAddr> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ConnectData { addr, .. } => Some(*addr),
                _ => None,
            })
            .collect()
    }

    fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    fn closed_error(&self) -> Option<Option<ClientError>> {
        self.events.iter().find_map(|e| match e {
            Event::Closed { error } => Some(error.clone()),
            _ => None,
        })
    }
}

fn retr(path: &str) -> Operation {
    Operation::Retrieve {
        path: Bytes::copy_from_slice(path.as_bytes()),
        offset: 0,
    }
}

fn transferred(bytes: u64) -> Result<Output, ClientError> {
    Ok(Output::Transferred { bytes })
}

fn code(r: &Result<Output, ClientError>) -> Option<u16> {
    match r {
        Ok(Output::Reply(r)) => Some(r.code.get()),
        Err(e) => e.code().map(ReplyCode::get),
        _ => None,
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Greeting and login
// ---------------------------------------------------------------------------------------

#[test]
fn greeting_120_then_220() {
    let mut d = Driver::new();
    let op = d.start(Operation::Noop);
    d.nothing_sent(); // waits for the greeting
    d.input(b"120 ready in 1 minute\r\n");
    d.nothing_sent();
    d.advance(Duration::from_secs(50));
    d.input(b"220-Welcome\r\n220 ready\r\n");
    assert_eq!(d.c.greeting().unwrap().code.get(), 220);
    d.expect("NOOP", "200 ok\r\n");
    assert_eq!(code(&d.result(op)), Some(200));
}

#[test]
fn greeting_421_closes() {
    let mut d = Driver::new();
    let op = d.start(login_op());
    d.input(b"421 too many connections\r\n");
    d.nothing_sent();
    assert!(d.c.is_closed());
    assert_eq!(d.result(op), Err(ClientError::SessionClosed));
    assert!(matches!(
        d.closed_error(),
        Some(Some(ClientError::Unavailable(r))) if r.code.get() == 421
    ));
    assert_eq!(d.c.start(Operation::Noop, d.now), Err(UsageError::Closed));
    assert_eq!(d.c.poll_timeout(), None);
}

#[test]
fn greeting_refused_and_timed_out() {
    let mut d = Driver::new();
    d.input(b"520 go away\r\n");
    assert!(matches!(
        d.closed_error(),
        Some(Some(ClientError::Refused(_)))
    ));

    let mut d = Driver::new();
    d.advance(Duration::from_secs(59));
    assert!(!d.c.is_closed());
    d.advance(Duration::from_secs(1));
    assert_eq!(
        d.closed_error(),
        Some(Some(ClientError::Timeout(Timeout::Reply)))
    );
}

#[test]
fn login_paths() {
    // 331 then 230.
    let d = Driver::ready();
    assert!(d.c.is_logged_in());

    // 230 directly after USER.
    let mut d = Driver::new();
    d.input(b"220 hi\r\n");
    let op = d.start(login_op());
    d.expect("USER anna", "230 no password needed\r\n");
    assert_eq!(code(&d.result(op)), Some(230));
    d.nothing_sent();
    assert!(d.c.is_logged_in());

    // 332 after PASS, then ACCT.
    let mut d = Driver::new();
    d.input(b"220 hi\r\n");
    let op = d.start(Operation::Login {
        user: "anna".into(),
        password: "secret".into(),
        account: Some("dept".into()),
    });
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "332 account?\r\n");
    d.expect("ACCT dept", "202 fine\r\n");
    assert_eq!(code(&d.result(op)), Some(202));

    // 332 and no account.
    let mut d = Driver::new();
    d.input(b"220 hi\r\n");
    let op = d.start(login_op());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "332 account?\r\n");
    assert!(matches!(d.result(op), Err(ClientError::AccountRequired(_))));
    d.nothing_sent();

    // 530.
    let mut d = Driver::new();
    d.input(b"220 hi\r\n");
    let op = d.start(login_op());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "530 Login incorrect.\r\n");
    assert_eq!(code(&d.result(op)), Some(530));
    assert!(matches!(d.result(op), Err(ClientError::Refused(_))));
    assert!(!d.c.is_logged_in());
    assert!(!d.c.is_closed());
}

#[test]
fn passwords_never_in_debug() {
    let op = Operation::Login {
        user: "anna".into(),
        password: "hunter2".into(),
        account: Some("acct-secret".into()),
    };
    let s = format!("{op:?}");
    assert!(!s.contains("hunter2") && !s.contains("acct-secret"), "{s}");
    let q = Operation::Quote(Command::Pass("hunter2".into()));
    assert!(!format!("{q:?}").contains("hunter2"));

    let mut d = Driver::new();
    d.input(b"220 hi\r\n");
    d.start(op);
    d.expect("USER anna", "331 pw\r\n");
    let s = format!("{:?}", d.c);
    assert!(!s.contains("hunter2") && !s.contains("acct-secret"), "{s}");
}

// ---------------------------------------------------------------------------------------
// Simple operations
// ---------------------------------------------------------------------------------------

#[test]
fn pwd_and_mkd_paths() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Pwd);
    d.expect("PWD", "257 \"/a \"\"b\"\" c\" is the current directory\r\n");
    assert_eq!(
        d.result(op),
        Ok(Output::Path(Bytes::from_static(b"/a \"b\" c")))
    );

    let op = d.start(Operation::Mkd("new".into()));
    d.expect("MKD new", "257 created\r\n");
    assert_eq!(d.result(op), Ok(Output::Path(Bytes::from_static(b"new"))));

    let op = d.start(Operation::Pwd);
    d.expect("PWD", "257 no quotes\r\n");
    assert!(matches!(d.result(op), Err(ClientError::BadReply { .. })));

    // Judged by class: 200 where 250 is usual.
    let op = d.start(Operation::Cwd("x".into()));
    d.expect("CWD x", "200 ok\r\n");
    assert_eq!(code(&d.result(op)), Some(200));
}

#[test]
fn size_mdtm_mlst_rename_quote() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Size("f".into()));
    d.expect("SIZE f", "213 123456789012\r\n");
    assert_eq!(d.result(op), Ok(Output::Size(123_456_789_012)));

    let op = d.start(Operation::Size("f".into()));
    d.expect("SIZE f", "213 lots\r\n");
    assert!(matches!(d.result(op), Err(ClientError::BadReply { .. })));

    let op = d.start(Operation::Mdtm("f".into()));
    d.expect("MDTM f", "213 20240229123015.5\r\n");
    assert_eq!(
        d.result(op),
        Ok(Output::Modified(
            FtpTime::new(2024, 2, 29, 12, 30, 15, 500_000_000).unwrap()
        ))
    );

    let op = d.start(Operation::Mlst(Some("a b".into())));
    d.expect(
        "MLST a b",
        "250-Listing a b\r\n type=file;size=5;modify=20240229123015; a b\r\n250 End\r\n",
    );
    match d.result(op) {
        Ok(Output::Facts(e)) => {
            assert_eq!(
                (&e.name[..], e.kind.clone(), e.size),
                (&b"a b"[..], EntryKind::File, Some(5))
            );
        }
        other => panic!("{other:?}"),
    }

    let op = d.start(Operation::Rename {
        from: "a".into(),
        to: "b".into(),
    });
    d.expect("RNFR a", "350 ready\r\n");
    d.expect("RNTO b", "250 renamed\r\n");
    assert_eq!(code(&d.result(op)), Some(250));

    let op = d.start(Operation::Rename {
        from: "a".into(),
        to: "b".into(),
    });
    d.expect("RNFR a", "550 no such file\r\n");
    assert_eq!(code(&d.result(op)), Some(550));
    d.nothing_sent(); // no RNTO

    let op = d.start(Operation::Quote(Command::Rest(5)));
    d.expect("REST 5", "350 restarting\r\n");
    assert_eq!(code(&d.result(op)), Some(350));
    assert_eq!(
        d.c.start(Operation::Quote(Command::Retr("x".into())), d.now),
        Err(UsageError::NeedsDataConnection)
    );

    let op = d.start(Operation::Type(TransferType::Image));
    d.expect("TYPE I", "200 binary\r\n");
    assert!(d.result(op).is_ok());

    let op = d.start(Operation::SetMtime {
        path: "f".into(),
        time: FtpTime::new(2020, 1, 1, 0, 0, 0, 0).unwrap(),
    });
    d.expect("MFMT 20200101000000 f", "213 Modify=20200101000000; f\r\n");
    assert_eq!(code(&d.result(op)), Some(213));

    let op = d.start(Operation::Quit);
    d.expect("QUIT", "221 bye\r\n");
    assert_eq!(code(&d.result(op)), Some(221));
    assert_eq!(d.closed_error(), Some(None));
}

#[test]
fn multiline_reply_with_digit_lines() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Stat(None));
    d.expect(
        "STAT",
        "211-status of server\r\n213 not the end\r\n211x nor this\r\n 211 nor this\r\n211 End\r\n",
    );
    match d.result(op) {
        Ok(Output::Reply(r)) => {
            assert_eq!(r.code.get(), 211);
            assert_eq!(r.lines.len(), 5);
            assert_eq!(&r.lines[1][..], b"213 not the end");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn feat_parsing_and_list_helper() {
    let mut d = Driver::ready();
    assert_eq!(d.c.preferred_list_format(), ListFormat::List);
    let op = d.start(Operation::Feat);
    d.expect(
        "FEAT",
        "211-Extensions supported:\r\n EPSV\r\n EPRT\r\n MDTM\r\n MLST type*;size*;modify*;\r\n \
         SIZE\r\n REST STREAM\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n TVFS\r\n MFMT\r\n HOST\r\n211 End\r\n",
    );
    let f = match d.result(op) {
        Ok(Output::Features(f)) => f,
        other => panic!("{other:?}"),
    };
    assert!(f.epsv() && f.eprt() && f.mdtm() && f.mlst() && f.size() && f.rest_stream());
    assert!(f.auth_tls() && f.pbsz() && f.prot() && f.utf8() && f.tvfs() && f.mfmt() && f.host());
    assert_eq!(f.iter().count(), 13);
    assert_eq!(d.c.features(), Some(&f));
    assert_eq!(d.c.preferred_list_format(), ListFormat::Mlsd);

    // A server without FEAT supports nothing (RFC 2389 §3).
    let op = d.start(Operation::Feat);
    d.expect("FEAT", "500 unknown command\r\n");
    assert_eq!(d.result(op), Ok(Output::Features(Features::default())));
    assert_eq!(d.c.preferred_list_format(), ListFormat::List);
}

#[test]
fn crlf_in_names_refused_before_sending() {
    let mut d = Driver::ready();
    for op in [
        Operation::Dele("x\r\nRMD /".into()),
        Operation::Cwd("a\nb".into()),
        retr("a\0b"),
        Operation::Rename {
            from: "ok".into(),
            to: "bad\r".into(),
        },
        Operation::Login {
            user: "u".into(),
            password: "p\r\nDELE x".into(),
            account: None,
        },
    ] {
        let r = d.c.start(op, d.now);
        assert!(
            matches!(
                r,
                Err(UsageError::Encode(EncodeError::ForbiddenByte { .. }))
            ),
            "{r:?}"
        );
    }
    d.settle();
    d.nothing_sent();
    assert!(d.events.is_empty());
    assert!(d.c.is_idle());
}

#[test]
fn unsolicited_replies_ignored_and_421_anytime() {
    let mut d = Driver::ready();
    d.input(b"200 stray\r\n");
    assert!(d.events.is_empty());
    let a = d.start(Operation::Noop);
    let b = d.start(Operation::Pwd);
    d.expect("NOOP", "421 shutting down\r\n");
    assert!(matches!(d.result(a), Err(ClientError::Unavailable(_))));
    assert_eq!(d.result(b), Err(ClientError::SessionClosed));
    assert!(d.c.is_closed());
    d.nothing_sent();
}

#[test]
fn operations_queue_in_order() {
    let mut d = Driver::ready();
    let a = d.start(Operation::Noop);
    let b = d.start(Operation::Syst);
    d.expect("NOOP", "200 ok\r\n");
    d.expect("SYST", "215 UNIX Type: L8\r\n");
    assert_eq!(code(&d.result(a)), Some(200));
    assert_eq!(code(&d.result(b)), Some(215));
    assert!(d.c.is_idle());
}

#[test]
fn queue_is_bounded() {
    let mut c = config();
    c.max_queued = 2;
    let mut d = Driver::with(c, PEER, LOCAL);
    d.start(Operation::Noop);
    d.start(Operation::Noop);
    assert_eq!(
        d.c.start(Operation::Noop, d.now),
        Err(UsageError::QueueFull)
    );
}

// ---------------------------------------------------------------------------------------
// Data connections
// ---------------------------------------------------------------------------------------

fn passive() -> ClientConfig {
    let mut c = config();
    c.data_mode = DataMode::Passive;
    c
}

/// Runs a PASV retrieve whose 227 has this text; returns where the client connected.
fn pasv_target_for(config: ClientConfig, reply: &str) -> SocketAddr {
    let mut d = Driver::ready_with(config, PEER, LOCAL);
    let op = d.start(retr("f"));
    d.expect("PASV", reply);
    d.expect("RETR f", "150 here\r\n");
    d.data(op, DataEvent::Closed { bytes: 3 });
    d.input(b"226 done\r\n");
    assert_eq!(d.result(op), transferred(3));
    let c = d.connects();
    assert_eq!(c.len(), 1);
    c[0]
}

#[test]
fn pasv_reply_shapes() {
    let cases = [
        "227 Entering Passive Mode (203,0,113,5,195,149).\r\n",
        "227 Entering Passive Mode 203,0,113,5,195,149\r\n",
        "227 =203,0,113,5,195,149 and some text after\r\n",
        "227-Entering Passive Mode\r\n 203,0,113,5,195,149\r\n227 ok\r\n",
        "227 Entering Passive Mode (0,0,0,0,195,149)\r\n",
        "227 Entering Passive Mode (10,0,0,7,195,149)\r\n",
        "227 Entering Passive Mode (192,0,2,99,195,149)\r\n",
    ];
    for reply in cases {
        assert_eq!(
            pasv_target_for(passive(), reply),
            sa("203.0.113.5:50069"),
            "{reply}"
        );
    }
    // Opt-out: the announced address, except 0.0.0.0.
    let mut c = passive();
    c.nat_workaround = false;
    assert_eq!(
        pasv_target_for(
            c.clone(),
            "227 Entering Passive Mode (10,0,0,7,195,149)\r\n"
        ),
        sa("10.0.0.7:50069")
    );
    assert_eq!(
        pasv_target_for(c, "227 Entering Passive Mode (0,0,0,0,195,149)\r\n"),
        sa("203.0.113.5:50069")
    );
}

#[test]
fn pasv_without_address_is_bad_reply() {
    let mut d = Driver::ready_with(passive(), PEER, LOCAL);
    let op = d.start(retr("f"));
    d.expect("PASV", "227 Entering Passive Mode\r\n");
    assert!(matches!(d.result(op), Err(ClientError::BadReply { .. })));
    d.nothing_sent();
    assert!(d.connects().is_empty());
}

#[test]
fn epsv_delimiters() {
    for reply in [
        "229 Entering Extended Passive Mode (|||6446|)\r\n",
        "229 Entering Extended Passive Mode (!!!6446!)\r\n",
        "229 ok ###6446# trailing\r\n",
    ] {
        let mut d = Driver::ready();
        let op = d.start(retr("f"));
        d.expect("EPSV", reply);
        d.expect("RETR f", "150 go\r\n");
        d.data(op, DataEvent::Closed { bytes: 0 });
        d.input(b"226 done\r\n");
        assert_eq!(d.result(op), transferred(0));
        assert_eq!(d.connects(), vec![sa("203.0.113.5:6446")], "{reply}");
    }
}

#[test]
fn ipv6_uses_epsv_even_in_passive_mode() {
    let mut d = Driver::ready_with(passive(), PEER6, LOCAL6);
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    d.data(op, DataEvent::Closed { bytes: 1 });
    d.input(b"226 done\r\n");
    assert_eq!(d.connects(), vec![sa("[2001:db8::5]:6446")]);

    // Auto on IPv6: a refused EPSV does not fall back to PASV.
    let mut d = Driver::ready_with(config(), PEER6, LOCAL6);
    let op = d.start(retr("f"));
    d.expect("EPSV", "500 unknown\r\n");
    assert_eq!(code(&d.result(op)), Some(500));
    d.nothing_sent();
}

#[test]
fn epsv_refused_falls_back_to_pasv_and_remembers() {
    for refusal in [
        "500 'EPSV': command not understood\r\n",
        "502 not implemented\r\n",
        "522 Network protocol not supported, use (1)\r\n",
        "550 EPSV disabled\r\n",
        "229 Entering Extended Passive Mode (nonsense)\r\n",
    ] {
        let mut d = Driver::ready();
        let op = d.start(retr("f"));
        d.expect("EPSV", refusal);
        d.expect("PASV", "227 Entering Passive Mode (203,0,113,5,4,1)\r\n");
        d.expect("RETR f", "150 go\r\n");
        d.input(b"226 done\r\n");
        d.data(op, DataEvent::Closed { bytes: 9 });
        assert_eq!(d.result(op), transferred(9));
        assert!(d.c.epsv_refused());
        // The next transfer goes straight to PASV.
        let op = d.start(Operation::List {
            path: None,
            format: ListFormat::Mlsd,
        });
        d.expect("PASV", "227 Entering Passive Mode (203,0,113,5,4,2)\r\n");
        d.expect("MLSD", "150 go\r\n");
        d.data(op, DataEvent::Closed { bytes: 1 });
        d.input(b"226 done\r\n");
        assert_eq!(d.result(op), transferred(1), "{refusal}");
    }
}

#[test]
fn epsv_works_is_kept_and_other_refusals_fail() {
    let mut d = Driver::ready();
    let op = d.start(retr("f"));
    d.expect("EPSV", "530 not logged in\r\n");
    assert_eq!(code(&d.result(op)), Some(530));
    d.nothing_sent();
    assert!(!d.c.epsv_refused());

    let mut c = config();
    c.data_mode = DataMode::ExtendedPassive;
    let mut d = Driver::ready_with(c, PEER, LOCAL);
    let op = d.start(retr("f"));
    d.expect("EPSV", "502 no\r\n");
    assert_eq!(code(&d.result(op)), Some(502));
    d.nothing_sent();
}

#[test]
fn epsv_connect_failure_retries_with_pasv() {
    let mut d = Driver::ready();
    d.auto_connect = false;
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.nothing_sent(); // waits for the connection before RETR
    d.data(op, DataEvent::ConnectFailed);
    d.expect("PASV", "227 (203,0,113,5,4,1)\r\n");
    d.data(op, DataEvent::Connected);
    d.expect("RETR f", "150 go\r\n");
    d.data(op, DataEvent::Closed { bytes: 2 });
    d.input(b"226 done\r\n");
    assert_eq!(d.result(op), transferred(2));
    assert!(d.c.epsv_refused());

    // In Passive mode, a failed connection fails the transfer.
    let mut d = Driver::ready_with(passive(), PEER, LOCAL);
    d.auto_connect = false;
    let op = d.start(retr("f"));
    d.expect("PASV", "227 (203,0,113,5,4,1)\r\n");
    d.data(op, DataEvent::ConnectFailed);
    assert_eq!(
        d.result(op),
        Err(ClientError::Data(DataFailure::ConnectFailed))
    );
    d.nothing_sent();
}

#[test]
fn final_reply_and_data_close_in_both_orders() {
    // 226 first: Done only once the data side is drained.
    let mut d = Driver::ready();
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.expect("RETR f", "150 Opening BINARY mode data connection\r\n");
    assert_eq!(d.count(|e| matches!(e, Event::DataReady { .. })), 1);
    d.data(op, DataEvent::Progress(10));
    d.input(b"226 Transfer complete\r\n");
    assert!(d.done(op).is_none());
    d.data(op, DataEvent::Closed { bytes: 20 });
    assert_eq!(d.result(op), transferred(20));

    // Data close first.
    let op = d.start(retr("g"));
    d.expect("EPSV", "229 (|||6447|)\r\n");
    d.expect("RETR g", "150 go\r\n");
    d.data(op, DataEvent::Closed { bytes: 5 });
    assert!(d.done(op).is_none());
    d.input(b"226 Transfer complete\r\n");
    assert_eq!(d.result(op), transferred(5));

    // 125 instead of 150, 250 instead of 226.
    let op = d.start(Operation::Store {
        path: "up".into(),
        offset: 0,
    });
    d.expect("EPSV", "229 (|||6448|)\r\n");
    d.expect(
        "STOR up",
        "125 Data connection already open; transfer starting\r\n",
    );
    assert_eq!(
        d.count(|e| matches!(e, Event::DataReady { op: o } if *o == op)),
        1
    );
    d.data(op, DataEvent::Closed { bytes: 7 });
    d.input(b"250 stored\r\n");
    assert_eq!(d.result(op), transferred(7));
}

#[test]
fn errors_before_and_after_150() {
    let mut d = Driver::ready();
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    d.input(b"425 Can't open data connection\r\n");
    assert_eq!(code(&d.result(op)), Some(425));
    assert_eq!(
        d.count(|e| matches!(e, Event::CloseData { op: o } if *o == op)),
        1
    );
    // Late data events are ignored.
    d.data(op, DataEvent::Closed { bytes: 1 });
    assert_eq!(d.count(|e| matches!(e, Event::Done { .. })), 1);

    let op = d.start(retr("missing"));
    d.expect("EPSV", "229 (|||6447|)\r\n");
    d.expect("RETR missing", "550 No such file\r\n");
    assert_eq!(code(&d.result(op)), Some(550));

    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6448|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    d.data(op, DataEvent::Failed);
    d.input(b"426 Connection closed; transfer aborted\r\n");
    assert_eq!(code(&d.result(op)), Some(426));

    // A positive final reply with a broken data connection is still a failure.
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6449|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    d.data(op, DataEvent::Failed);
    d.input(b"226 done\r\n");
    assert_eq!(d.result(op), Err(ClientError::Data(DataFailure::Lost)));
    assert!(d.c.is_idle());
}

#[test]
fn data_connected_after_150_in_active_mode() {
    let mut c = config();
    c.data_mode = DataMode::Active;
    let mut d = Driver::ready_with(c, PEER, LOCAL);
    let op = d.start(Operation::List {
        path: Some("dir".into()),
        format: ListFormat::List,
    });
    d.nothing_sent();
    assert!(d.events.iter().any(|e| matches!(
        e,
        Event::ListenData { op: o, ip } if *o == op && *ip == "198.51.100.9".parse::<IpAddr>().unwrap()
    )));
    d.data(op, DataEvent::Listening(sa("0.0.0.0:40001")));
    d.expect("PORT 198,51,100,9,156,65", "200 PORT ok\r\n");
    d.expect("LIST dir", "150 Here comes the listing\r\n");
    assert_eq!(d.count(|e| matches!(e, Event::DataReady { .. })), 0);
    d.data(op, DataEvent::Connected);
    assert_eq!(d.count(|e| matches!(e, Event::DataReady { .. })), 1);
    d.data(op, DataEvent::Closed { bytes: 100 });
    d.input(b"226 done\r\n");
    assert_eq!(d.result(op), transferred(100));

    // IPv6: EPRT.
    let mut c = config();
    c.data_mode = DataMode::Active;
    let mut d = Driver::ready_with(c, PEER6, LOCAL6);
    let op = d.start(retr("f"));
    d.data(op, DataEvent::Listening(sa("[2001:db8::9]:40002")));
    d.expect("EPRT |2|2001:db8::9|40002|", "200 ok\r\n");
    d.data(op, DataEvent::Connected); // the server connects before its 150
    d.expect("RETR f", "150 go\r\n");
    assert_eq!(d.count(|e| matches!(e, Event::DataReady { .. })), 1);
    d.input(b"226 done\r\n");
    d.data(op, DataEvent::Closed { bytes: 1 });
    assert_eq!(d.result(op), transferred(1));

    // PORT refused.
    let mut c = config();
    c.data_mode = DataMode::Active;
    let mut d = Driver::ready_with(c, PEER, LOCAL);
    let op = d.start(retr("f"));
    d.data(op, DataEvent::Listening(sa("198.51.100.9:40003")));
    d.expect("PORT 198,51,100,9,156,67", "500 Illegal PORT command\r\n");
    assert_eq!(code(&d.result(op)), Some(500));
    assert_eq!(d.count(|e| matches!(e, Event::CloseData { .. })), 1);
}

#[test]
fn rest_resume() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Retrieve {
        path: "big".into(),
        offset: 1000,
    });
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.expect("REST 1000", "350 Restarting at 1000\r\n");
    d.expect("RETR big", "150 go\r\n");
    d.data(op, DataEvent::Closed { bytes: 24 });
    d.input(b"226 done\r\n");
    assert_eq!(d.result(op), transferred(24));

    let op = d.start(Operation::Store {
        path: "big".into(),
        offset: 7,
    });
    d.expect("EPSV", "229 (|||6447|)\r\n");
    d.expect("REST 7", "502 REST not implemented\r\n");
    assert_eq!(code(&d.result(op)), Some(502));
    assert_eq!(
        d.count(|e| matches!(e, Event::CloseData { op: o } if *o == op)),
        1
    );
    d.nothing_sent();
}

// ---------------------------------------------------------------------------------------
// ABOR
// ---------------------------------------------------------------------------------------

fn running_retr(d: &mut Driver) -> OpId {
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    op
}

#[test]
fn abort_426_then_226() {
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    assert_eq!(d.c.abort(d.now), Ok(op));
    d.settle();
    assert_eq!(d.count(|e| matches!(e, Event::CloseData { .. })), 1);
    d.expect("ABOR", "426 Transfer aborted\r\n");
    assert!(d.done(op).is_none());
    d.input(b"226 Abort successful\r\n");
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    // In sync: the next command gets its own reply.
    let n = d.start(Operation::Noop);
    d.expect("NOOP", "200 ok\r\n");
    assert_eq!(code(&d.result(n)), Some(200));
    assert_eq!(d.c.abort(d.now), Err(UsageError::NothingToAbort));
}

#[test]
fn abort_226_alone_and_226_twice() {
    // 226 alone: a NOOP resynchronises.
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    let n = d.start(Operation::Pwd);
    d.c.abort(d.now).unwrap();
    d.settle();
    d.expect("ABOR", "226 ABOR successful\r\n");
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    d.expect("NOOP", "200 ok\r\n");
    d.expect("PWD", "257 \"/\"\r\n");
    assert_eq!(d.result(n), Ok(Output::Path(Bytes::from_static(b"/"))));

    // The transfer's 226 and ABOR's 225: the late one is swallowed.
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    d.c.abort(d.now).unwrap();
    d.settle();
    d.expect("ABOR", "226 Transfer complete\r\n");
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    d.expect("NOOP", "225 No transfer to abort\r\n200 ok\r\n");
    let n = d.start(Operation::Noop);
    d.expect("NOOP", "200 ok\r\n");
    assert_eq!(code(&d.result(n)), Some(200));
}

#[test]
fn abort_226_then_a_late_426_stays_in_step() {
    // ProFTPD may answer ABOR's 226 before the transfer's 426.
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    let n = d.start(Operation::Pwd);
    d.c.abort(d.now).unwrap();
    d.settle();
    d.expect("ABOR", "226 Abort successful\r\n");
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    d.expect("NOOP", "426 Transfer aborted. Data connection closed\r\n");
    d.nothing_sent(); // NOOP's own reply is still due
    d.input(b"200 ok\r\n");
    d.expect("PWD", "257 \"/\"\r\n");
    assert_eq!(d.result(n), Ok(Output::Path(Bytes::from_static(b"/"))));
}

#[test]
fn abort_before_transfer_command() {
    // During EPSV: ends when its reply arrives, nothing more is sent.
    let mut d = Driver::ready();
    let op = d.start(retr("f"));
    d.c.abort(d.now).unwrap();
    d.settle();
    d.expect("EPSV", "229 (|||6446|)\r\n");
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    assert!(d.connects().is_empty());
    d.nothing_sent();

    // While connecting: at once.
    let mut d = Driver::ready();
    d.auto_connect = false;
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.c.abort(d.now).unwrap();
    d.settle();
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    assert_eq!(d.count(|e| matches!(e, Event::CloseData { .. })), 1);
    d.nothing_sent();

    // After the 226, while the data drains: no ABOR needed.
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    d.input(b"226 done\r\n");
    d.c.abort(d.now).unwrap();
    d.settle();
    assert_eq!(d.result(op), Err(ClientError::Aborted));
    d.nothing_sent();
}

// ---------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------

#[test]
fn reply_timeout_closes() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Noop);
    assert_eq!(d.line().as_deref(), Some("NOOP"));
    d.advance(Duration::from_secs(59));
    assert!(d.done(op).is_none());
    d.advance(Duration::from_secs(1));
    assert_eq!(d.result(op), Err(ClientError::Timeout(Timeout::Reply)));
    assert!(d.c.is_closed());
}

#[test]
fn data_connect_timeout() {
    let mut d = Driver::ready();
    d.auto_connect = false;
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||6446|)\r\n");
    d.advance(Duration::from_secs(60));
    assert_eq!(
        d.result(op),
        Err(ClientError::Timeout(Timeout::DataConnect))
    );
    assert_eq!(d.count(|e| matches!(e, Event::CloseData { .. })), 1);
    assert!(!d.c.is_closed());
    d.nothing_sent();
}

#[test]
fn stalled_transfer_is_aborted() {
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    // A long transfer with progress is fine, although it outlasts the reply timeout.
    for _ in 0..5 {
        d.advance(Duration::from_secs(50));
        d.data(op, DataEvent::Progress(1000));
    }
    assert!(d.done(op).is_none());
    d.nothing_sent();
    d.advance(Duration::from_secs(60));
    d.expect("ABOR", "426 aborted\r\n226 ok\r\n");
    assert_eq!(
        d.result(op),
        Err(ClientError::Timeout(Timeout::DataStalled))
    );
    assert!(!d.c.is_closed());

    // Data closed, final reply never comes: the reply timeout applies again.
    let mut d = Driver::ready();
    let op = running_retr(&mut d);
    d.data(op, DataEvent::Closed { bytes: 1 });
    d.advance(Duration::from_secs(60));
    assert_eq!(d.result(op), Err(ClientError::Timeout(Timeout::Reply)));
}

// ---------------------------------------------------------------------------------------
// Chunking, EOF and hostile input
// ---------------------------------------------------------------------------------------

/// A conversation, with every reply fed in the given chunking; returns the events.
fn conversation(split: impl Fn(&[u8]) -> Vec<Vec<u8>>) -> Vec<Event> {
    let mut d = Driver::new();
    let feed = |d: &mut Driver, cmd: Option<&str>, reply: &[u8]| {
        if let Some(cmd) = cmd {
            assert_eq!(d.line().as_deref(), Some(cmd));
        }
        for chunk in split(reply) {
            d.c.handle_input(&chunk, d.now);
            d.settle();
        }
    };
    d.start(login_op());
    d.start(Operation::Feat);
    d.start(Operation::Pwd);
    feed(&mut d, None, b"220-Welcome\r\n220 ready\r\n");
    feed(&mut d, Some("USER anna"), b"331 pw\r\n");
    feed(&mut d, Some("PASS secret"), b"230 in\n");
    feed(
        &mut d,
        Some("FEAT"),
        b"211-Features\r\n MLST type*;\r\n213 not the end\r\n SIZE\r\n211 End\r\n",
    );
    feed(&mut d, Some("PWD"), b"257 \"/h\"\"q\"\r\n");
    let op = d.start(retr("f"));
    feed(
        &mut d,
        Some("EPSV"),
        b"229 Entering Extended Passive Mode (|||6446|)\r\n",
    );
    feed(&mut d, Some("RETR f"), b"150 go\r\n");
    d.data(op, DataEvent::Closed { bytes: 4 });
    feed(&mut d, None, b"226-done\r\n226 bye\r\n");
    d.events
}

#[test]
fn replies_split_at_every_byte_give_the_same_result() {
    let whole = conversation(|r| vec![r.to_vec()]);
    assert_eq!(
        whole
            .iter()
            .filter(|e| matches!(e, Event::Done { result: Ok(_), .. }))
            .count(),
        4
    );
    for k in 0..60 {
        let split = conversation(move |r: &[u8]| {
            let k = k.min(r.len());
            vec![r[..k].to_vec(), r[k..].to_vec()]
        });
        assert_eq!(split, whole, "split at {k}");
    }
    let bytewise = conversation(|r| r.iter().map(|b| vec![*b]).collect());
    assert_eq!(bytewise, whole);
}

#[test]
fn eof_and_malformed_stream() {
    let mut d = Driver::ready();
    let op = d.start(Operation::Noop);
    d.c.handle_eof(d.now);
    d.settle();
    assert_eq!(d.result(op), Err(ClientError::ConnectionClosed));
    assert_eq!(d.closed_error(), Some(Some(ClientError::ConnectionClosed)));

    // QUIT then EOF: an orderly close; a last reply without line ending is still read.
    let mut d = Driver::ready();
    let op = d.start(Operation::Quit);
    assert_eq!(d.line().as_deref(), Some("QUIT"));
    d.input(b"221 bye");
    d.c.handle_eof(d.now);
    d.settle();
    assert_eq!(code(&d.result(op)), Some(221));
    assert_eq!(d.closed_error(), Some(None));

    let mut d = Driver::ready();
    let op = d.start(Operation::Noop);
    d.input(b"hello there\r\n");
    assert!(matches!(d.result(op), Err(ClientError::Syntax(_))));
    assert!(d.c.is_closed());

    // A line with no end is capped.
    let mut c = config();
    c.max_reply_line_len = 64;
    let mut d = Driver::ready_with(c, PEER, LOCAL);
    let op = d.start(Operation::Noop);
    d.input(&[b'2'; 1000]);
    assert!(matches!(d.result(op), Err(ClientError::Syntax(_))));
}

fn server_chunk() -> impl Strategy<Value = Vec<u8>> {
    const REPLIES: &[&str] = &[
        "220 hi\r\n",
        "120 wait\r\n",
        "331 pw\r\n",
        "230 ok\r\n",
        "332 acct\r\n",
        "150 go\r\n",
        "125 go\r\n",
        "226 done\r\n",
        "225 none\r\n",
        "200 ok\r\n",
        "229 (|||6446|)\r\n",
        "227 (1,2,3,4,5,6)\r\n",
        "350 more\r\n",
        "257 \"/x\"\r\n",
        "213 12\r\n",
        "211-f\r\n SIZE\r\n211 End\r\n",
        "425 no\r\n",
        "426 aborted\r\n",
        "500 what\r\n",
        "421 bye\r\n",
    ];
    prop_oneof![
        4 => proptest::sample::select(REPLIES).prop_map(|r| r.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn any_op() -> impl Strategy<Value = Operation> {
    prop_oneof![
        Just(login_op()),
        Just(Operation::Noop),
        Just(Operation::Pwd),
        Just(Operation::Feat),
        Just(retr("f")),
        Just(Operation::Retrieve {
            path: "g".into(),
            offset: 3
        }),
        Just(Operation::Rename {
            from: "a".into(),
            to: "b".into()
        }),
        Just(Operation::List {
            path: None,
            format: ListFormat::Nlst
        }),
        Just(Operation::Quit),
    ]
}

fn any_data_event() -> impl Strategy<Value = DataEvent> {
    prop_oneof![
        Just(DataEvent::Connected),
        Just(DataEvent::ConnectFailed),
        Just(DataEvent::Failed),
        (0u64..100).prop_map(DataEvent::Progress),
        (0u64..100).prop_map(|bytes| DataEvent::Closed { bytes }),
        Just(DataEvent::Listening(sa("0.0.0.0:40000"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary server bytes, chunked arbitrarily, with operations, data events, aborts and
    /// time passing: no panic, no livelock, every operation ends exactly once by EOF.
    #[test]
    fn arbitrary_server_bytes_never_panic(
        chunks in proptest::collection::vec(server_chunk(), 0..40),
        ops in proptest::collection::vec(any_op(), 0..6),
        data in proptest::collection::vec(any_data_event(), 0..20),
        ticks in proptest::collection::vec(0u64..90, 0..40),
        active in any::<bool>(),
        abort_at in proptest::option::of(0usize..40),
    ) {
        let mut c = config();
        c.max_reply_line_len = 128;
        c.max_reply_len = 1024;
        if active {
            c.data_mode = DataMode::Active;
        }
        let mut d = Driver::with(c, PEER, LOCAL);
        let mut ids = Vec::new();
        for op in ops {
            if let Ok(id) = d.c.start(op, d.now) {
                ids.push(id);
            }
        }
        d.settle();
        for (i, chunk) in chunks.iter().enumerate() {
            d.sent.clear();
            d.input(chunk);
            if let (Some(ev), Some(id)) = (data.get(i), ids.first()) {
                for id in [*id, OpId(id.get() + 1)] {
                    d.data(id, *ev);
                }
            }
            if abort_at == Some(i) {
                let _ = d.c.abort(d.now);
                d.settle();
            }
            if let Some(t) = ticks.get(i) {
                d.advance(Duration::from_secs(*t));
            }
        }
        d.c.handle_eof(d.now);
        d.settle();
        prop_assert!(d.c.is_closed());
        prop_assert_eq!(d.c.poll_timeout(), None);
        for id in ids {
            let n = d.count(|e| matches!(e, Event::Done { op, .. } if *op == id));
            prop_assert_eq!(n, 1, "op {:?}: {:?}", id, d.events);
        }
        prop_assert_eq!(d.count(|e| matches!(e, Event::Closed { .. })), 1);
        for a in d.connects() {
            prop_assert_eq!(a.ip(), d.c.peer().ip());
        }
    }
}

// ---------------------------------------------------------------------------------------
// TLS (RFC 4217)
// ---------------------------------------------------------------------------------------

fn tls_config(tls: TlsMode) -> ClientConfig {
    let mut c = config();
    c.tls = tls;
    c
}

#[test]
fn explicit_tls_runs_auth_before_anything_else() {
    let mut d = Driver::with(tls_config(TlsMode::Explicit), PEER, LOCAL);
    let login = d.start(login_op());
    d.nothing_sent();
    d.input(b"220 ready\r\n");
    // The server's 234 followed by bytes injected in cleartext: they must be dropped.
    d.expect("AUTH TLS", "234 go ahead\r\n230 injected\r\n");
    assert_eq!(d.count(|e| matches!(e, Event::StartTls)), 1);
    assert!(!d.c.is_secure());
    d.nothing_sent(); // nothing before the handshake, the USER least of all
    d.c.handle_tls_established(d.now);
    d.settle();
    assert!(d.c.is_secure());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "230 ok\r\n");
    assert!(
        d.done(login).is_none(),
        "login waits for the data protection"
    );
    d.expect("PBSZ 0", "200 PBSZ=0\r\n");
    assert!(!d.c.data_protected());
    d.expect("PROT P", "200 ok\r\n");
    assert_eq!(code(&d.result(login)), Some(230));
    assert!(d.c.data_protected());
    // Later transfers go on as usual; the adapter reads data_protected() at DataReady.
    let op = d.start(retr("f"));
    d.expect("EPSV", "229 (|||4000|)\r\n");
    d.expect("RETR f", "150 go\r\n");
    assert_eq!(d.count(|e| matches!(e, Event::DataReady { .. })), 1);
    d.data(op, DataEvent::Closed { bytes: 3 });
    d.input(b"226 ok\r\n");
    assert_eq!(d.result(op), transferred(3));
}

#[test]
fn a_refused_auth_tls_closes_without_sending_credentials() {
    for refusal in [
        "502 no TLS\r\n",
        "504 unknown\r\n",
        "530 no\r\n",
        "200 what\r\n",
    ] {
        let mut d = Driver::with(tls_config(TlsMode::Explicit), PEER, LOCAL);
        let login = d.start(login_op());
        d.input(b"220 ready\r\n");
        d.expect("AUTH TLS", refusal);
        d.nothing_sent();
        assert!(matches!(
            d.closed_error(),
            Some(Some(ClientError::TlsRefused(_)))
        ));
        assert!(d.result(login).is_err());
        assert_eq!(d.count(|e| matches!(e, Event::StartTls)), 0);
    }
}

#[test]
fn a_cleartext_reply_during_the_handshake_is_not_taken_as_an_answer() {
    let mut d = Driver::with(tls_config(TlsMode::Explicit), PEER, LOCAL);
    let login = d.start(login_op());
    d.input(b"220 ready\r\n");
    d.expect("AUTH TLS", "234 go\r\n");
    d.input(b"230 sneaky\r\n");
    d.nothing_sent();
    assert!(d.done(login).is_none());
    assert!(!d.c.is_logged_in());
    // A partial line injected in cleartext must not prefix the first protected reply.
    d.input(b"530 inject");
    d.c.handle_tls_established(d.now);
    d.settle();
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "230 ok\r\n");
    d.expect("PBSZ 0", "200 PBSZ=0\r\n");
    d.expect("PROT P", "200 ok\r\n");
    assert_eq!(code(&d.result(login)), Some(230));
}

#[test]
fn implicit_tls_protects_after_login_without_auth() {
    let mut d = Driver::with(tls_config(TlsMode::Implicit), PEER, LOCAL);
    assert!(d.c.is_secure());
    d.input(b"220 ready\r\n");
    let login = d.start(login_op());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "230 ok\r\n");
    d.expect("PBSZ 0", "200 PBSZ=0\r\n");
    d.expect("PROT P", "200 ok\r\n");
    assert_eq!(code(&d.result(login)), Some(230));
    assert!(d.c.data_protected());
}

#[test]
fn a_refused_prot_p_fails_the_login_and_leaves_data_clear() {
    let mut d = Driver::with(tls_config(TlsMode::Implicit), PEER, LOCAL);
    d.input(b"220 ready\r\n");
    let login = d.start(login_op());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "230 ok\r\n");
    d.expect("PBSZ 0", "200 PBSZ=0\r\n");
    d.expect("PROT P", "536 not supported\r\n");
    assert_eq!(code(&d.result(login)), Some(536));
    assert!(!d.c.data_protected());
}

#[test]
fn tls_without_data_protection_skips_pbsz_and_prot() {
    let mut c = tls_config(TlsMode::Implicit);
    c.protect_data = false;
    let mut d = Driver::with(c, PEER, LOCAL);
    d.input(b"220 ready\r\n");
    let login = d.start(login_op());
    d.expect("USER anna", "331 pw\r\n");
    d.expect("PASS secret", "230 ok\r\n");
    assert_eq!(code(&d.result(login)), Some(230));
    d.nothing_sent();
    assert!(d.c.is_secure() && !d.c.data_protected());
}
