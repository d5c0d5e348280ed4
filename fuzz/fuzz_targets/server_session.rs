//! The server session as a whole: arbitrary control bytes in arbitrary chunks, with the
//! adapter's answers (logins, storage results, transfer events, timeouts) also chosen by the
//! input. The session must never panic, every reply it writes must be well formed, it must stay
//! within its input bounds, and nothing may follow its close.
#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::listing::{Entry, EntryKind};
use ftp_proto::server::{
    Outcome, Request, ServerConfig, ServerSession, StorageError, StorageOp, TlsPolicy,
    TransferError, TransferEvent, UserInfo,
};
use libfuzzer_sys::fuzz_target;

/// The input's next byte, or 0 once it is used up.
struct Dice<'a>(&'a [u8]);

impl Dice<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn chunk(&mut self) -> &[u8] {
        let n = usize::from(self.byte() % 64);
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

fn storage_error(b: u8) -> StorageError {
    match b % 6 {
        0 => StorageError::NotFound,
        1 => StorageError::PermissionDenied,
        2 => StorageError::NoSpace,
        3 => StorageError::IsADirectory,
        4 => StorageError::InvalidOffset,
        _ => StorageError::Unsupported,
    }
}

fn transfer_error(b: u8) -> TransferError {
    match b % 6 {
        0 => TransferError::DataConnect,
        1 => TransferError::ConnectionLost,
        2 => TransferError::Aborted,
        3 => TransferError::TlsHandshake,
        4 => TransferError::TlsNotResumed,
        _ => TransferError::Storage(StorageError::NoSpace),
    }
}

fn entry(name: &[u8], dir: bool) -> Entry {
    let kind = if dir { EntryKind::Dir } else { EntryKind::File };
    let mut e = Entry::new(Bytes::copy_from_slice(name), kind);
    e.size = Some(42);
    e
}

/// Checks the reply bytes: CRLF lines (a CR inside only as CR NUL), each starting with a
/// code, multi-line replies closed.
fn check_replies(wire: &[u8]) {
    assert!(
        wire.is_empty() || wire.ends_with(b"\r\n"),
        "unterminated reply"
    );
    let mut open: Option<[u8; 3]> = None;
    for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line.strip_suffix(b"\r").expect("LF without CR");
        // RFC 2640 §3.1: a CR inside the text (from a path) travels as CR NUL.
        let bare_cr = line
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && line.get(i + 1) != Some(&0));
        assert!(
            !bare_cr,
            "bare CR in reply line {:?}",
            line.escape_ascii().to_string()
        );
        let code = line.get(..3).and_then(|c| <[u8; 3]>::try_from(c).ok());
        match (open, code) {
            (Some(o), Some(c)) if c == o && line.get(3) == Some(&b' ') => open = None,
            (Some(_), _) => {}
            (None, Some(c)) => {
                assert!(c.iter().all(u8::is_ascii_digit), "reply without a code");
                assert!((b'1'..=b'6').contains(&c[0]), "code out of range");
                match line.get(3) {
                    Some(b'-') => open = Some(c),
                    Some(b' ') | None => {}
                    _ => panic!("bad separator after the code"),
                }
            }
            (None, None) => panic!("reply line without a code"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut dice = Dice(data);
    let mut config = ServerConfig::default();
    config.tls = match dice.byte() % 4 {
        0 => TlsPolicy::Disabled,
        1 => TlsPolicy::Optional,
        2 => TlsPolicy::RequiredForLogin,
        _ => TlsPolicy::Required,
    };
    config.max_line_len = 64;
    config.max_buffered_input = 256;
    config.login_failure_delay = Duration::from_millis(u64::from(dice.byte()));
    config.site_enabled = dice.byte() & 1 == 1;
    let local: SocketAddr = "192.0.2.1:21".parse().unwrap();
    let peer: SocketAddr = "198.51.100.9:50000".parse().unwrap();
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut s = if dice.byte() & 1 == 1 {
        ServerSession::new_implicit_tls(Arc::new(config), local, peer, now)
    } else {
        ServerSession::new(Arc::new(config), local, peer, now)
    };
    let mut closed_seen = false;
    let mut running = Vec::new();
    for _ in 0..256 {
        if dice.0.is_empty() {
            break;
        }
        match dice.byte() % 8 {
            0..=3 => {
                let chunk = dice.chunk().to_vec();
                s.handle_input(&chunk, now);
            }
            4 => {
                now += Duration::from_millis(u64::from(dice.byte()) * 500);
                s.handle_timeout(now);
            }
            5 => {
                if let Some(id) = running.pop() {
                    let event = match dice.byte() % 5 {
                        0 => TransferEvent::Opened {
                            size: Some(7),
                            name: None,
                        },
                        1 => TransferEvent::Connected,
                        2 => TransferEvent::Progress(u64::from(dice.byte())),
                        3 => TransferEvent::Finished { bytes: 7 },
                        _ => TransferEvent::Failed(transfer_error(dice.byte())),
                    };
                    let done = matches!(
                        event,
                        TransferEvent::Finished { .. } | TransferEvent::Failed(_)
                    );
                    s.handle_transfer_event(id, event, now);
                    if !done {
                        running.push(id);
                    }
                }
            }
            6 => s.handle_shutdown(now),
            _ => s.handle_eof(now),
        }
        // Drain as an adapter must.
        let mut wire = Vec::new();
        for _ in 0..64 {
            while let Some(b) = s.poll_transmit() {
                assert!(!closed_seen, "bytes after the session closed");
                wire.extend_from_slice(&b);
            }
            let Some(req) = s.poll_request() else { break };
            let pick = dice.byte();
            match req {
                Request::Authenticate { id, user, .. } => {
                    let outcome = match pick % 3 {
                        0 => Outcome::LoggedIn(UserInfo::new("/", pick & 4 == 4)),
                        1 => Outcome::NeedAccount,
                        _ => Outcome::Refused,
                    };
                    let _ = user;
                    s.handle_completion(id, outcome, now);
                }
                Request::Storage { id, op } => {
                    let outcome = if pick % 4 == 0 {
                        Outcome::Failed(storage_error(dice.byte()))
                    } else {
                        match op {
                            StorageOp::Metadata(_) => Outcome::Metadata(entry(b"f", pick & 8 == 8)),
                            StorageOp::List(_) => Outcome::Listing {
                                entries: vec![entry(b"a", false), entry(b"d", true)],
                                now_unix: 1_700_000_000,
                            },
                            _ => Outcome::Done,
                        }
                    };
                    s.handle_completion(id, outcome, now);
                }
                Request::OpenPassive { id, ipv6 } => {
                    let addr: SocketAddr = if ipv6 {
                        "[2001:db8::1]:40000".parse().unwrap()
                    } else {
                        "192.0.2.1:40000".parse().unwrap()
                    };
                    s.handle_completion(id, Outcome::PassiveOpened(addr), now);
                }
                Request::Transfer { id, .. } => running.push(id),
                Request::Site { id, .. } => s.handle_completion(
                    id,
                    Outcome::SiteReply {
                        code: u16::from(pick) * 3,
                        text: Bytes::from_static(b"site\r\nreply"),
                    },
                    now,
                ),
                Request::StartTls => {
                    if pick & 1 == 1 {
                        s.handle_tls_established(now);
                    }
                }
                Request::Close => closed_seen = true,
                _ => {}
            }
        }
        check_replies(&wire);
        if s.is_closed() {
            assert!(s.poll_timeout().is_none(), "a deadline after close");
        }
    }
});
