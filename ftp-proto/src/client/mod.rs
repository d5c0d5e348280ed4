//! The client session: one FTP control connection as a sans-IO state machine.
//!
//! [`ClientSession`] takes reply bytes, data-connection events and timeouts, and produces
//! command bytes, [`Event`]s for the adapter and the application, and its next deadline. It
//! never touches a socket, a file or a clock. The application queues [`Operation`]s; each
//! ends with one [`Event::Done`] carrying a typed [`Output`] or a [`ClientError`].
//!
//! # Driving a session
//!
//! After **every** `handle_*`, [`start`] or [`abort`] call, drain in this order:
//! [`poll_transmit`] until `None`, [`poll_event`] until `None`, then [`poll_timeout`]
//! (re-arm the timer). After [`Event::Closed`], close the control connection once the bytes
//! are written.
//!
//! ```
//! use std::time::Instant;
//! use ftp_proto::client::{ClientConfig, ClientSession, Event, Operation, Output};
//!
//! let now = Instant::now(); // the adapter's clock; the session never reads one
//! let mut c = ClientSession::new(
//!     ClientConfig::default(),
//!     "192.0.2.1:21".parse().unwrap(),
//!     "198.51.100.9:50000".parse().unwrap(),
//!     now,
//! );
//! let login = Operation::Login {
//!     user: "anna".into(),
//!     password: "secret".into(),
//!     account: None,
//! };
//! let op = c.start(login, now).unwrap(); // waits for the greeting
//! assert_eq!(c.poll_transmit(), None);
//!
//! c.handle_input(b"220 ready\r\n", now);
//! assert_eq!(c.poll_transmit().unwrap(), &b"USER anna\r\n"[..]);
//! c.handle_input(b"331 password please\r\n", now);
//! assert_eq!(c.poll_transmit().unwrap(), &b"PASS secret\r\n"[..]);
//! c.handle_input(b"230 welcome\r\n", now);
//! match c.poll_event() {
//!     Some(Event::Done { op: id, result: Ok(Output::Reply(r)) }) => {
//!         assert_eq!((id, r.code.get()), (op, 230));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert!(c.is_logged_in());
//! ```
//!
//! # State table
//!
//! Replies are judged by their class (RFC 959 §4.2.1) wherever servers differ in the exact
//! code (`200` where `250` is expected, `125` where `150` is): `1yz` waits for the next
//! reply, `2yz` succeeds, `4yz`/`5yz` is [`ClientError::Refused`], a `3yz` where no
//! intermediate reply belongs is [`ClientError::BadReply`]. A `421` at any time fails the
//! running operation with [`ClientError::Unavailable`] and closes the session. A reply while
//! no command awaits one is ignored.
//!
//! | operation | command → reply | result | RFC |
//! |---|---|---|---|
//! | (greeting) | — → `120`… `220` | session ready; `4yz`/`5yz`: [`Event::Closed`] | 959 §5.4 |
//! | Login | `USER` → `2yz` done / `331` (any `3yz`) → `PASS` → `2yz` / `332` → `ACCT` → `2yz` | the reply; `332` without account: [`ClientError::AccountRequired`] | 959 §4.1.1, §5.4 |
//! | Quit | `QUIT` → `221` | the reply; the session closes | 959 §4.1.1 |
//! | Noop Cwd Cdup Rmd Dele Type Opts Site Stat Syst Help SetMtime | one command → `2yz` | the reply | 959; 2389; MFMT draft |
//! | Pwd, Mkd | `PWD`/`MKD` → `257 "path"` | the path, `""` undone (MKD without path: its argument) | 959 App. II |
//! | Rename | `RNFR` → `350` → `RNTO` → `2yz` | the reply | 959 §4.1.3 |
//! | Size, Mdtm | → `213 n` / `213 YYYYMMDDHHMMSS[.sss]` | `u64` / [`FtpTime`](crate::time::FtpTime) | 3659 §3–4 |
//! | Feat | → `211-` feature lines `211 End`; `500`/`502` | [`Features`] (empty for `500`/`502`) | 2389 §3 |
//! | Mlst | → `250-`, ` facts; name`, `250 End` | [`Entry`](crate::listing::Entry) | 3659 §7 |
//! | Quote | the command → `2yz` or `3yz` | the reply (data-transfer verbs refused) | — |
//!
//! Transfers (Retrieve, Store, Append, List) first set up the data connection:
//!
//! | step | client | server / adapter | next | RFC |
//! |---|---|---|---|---|
//! | passive, extended | `EPSV` | `229 (<d><d><d>port<d>)`, any delimiter | ConnectData(control peer IP, port) | 2428 §3 |
//! | — refused (Auto, IPv4) | | `500` `501` `502` `504` `522`, text naming EPSV, unreadable `229` | `PASV`, and PASV for the rest of the session | 2428 §3 |
//! | passive | `PASV` (never on IPv6: EPSV) | `227` scanned for `h1,…,p2` | ConnectData(control peer IP, port) with the NAT workaround, else the announced address | 959; 1123 §4.1.2.6 |
//! | connecting | — | Connected → next; ConnectFailed after EPSV (Auto, IPv4) → `PASV`; otherwise fail | | |
//! | active | — | ListenData → Listening(addr) | `PORT` (IPv4) / `EPRT` (IPv6, or `active_eprt`) → `200` | 959; 2428 §2 |
//! | restart | `REST n` (offset > 0) | `350` | the transfer command | 3659 §5 |
//! | transfer | `RETR` `STOR` `APPE` `LIST` `NLST` `MLSD` | `150`/`125`: DataReady once also connected | | 959 §4.1.3 |
//! | end | — | final `2yz` **and** data Closed, in either order | Done(Transferred) | 959 |
//! | failure | — | `4yz`/`5yz` before or after the `150` (`425`, `426`, `451`, `550`…) | CloseData, Done(Refused) | 959 §4.2 |
//! | abort | `ABOR` | `426` then `226`; or `226`/`225` alone (then `NOOP`, swallowing a late `225`/`226`, tells the two apart) | CloseData, Done(Aborted) | 959 §4.1.3 |
//!
//! Timeouts: no reply within `reply_timeout` (stopped while a transfer runs after its `1yz`,
//! restarted when the data side ends) → [`Timeout::Reply`] and the session closes; no data
//! connection within `data_timeout` → [`Timeout::DataConnect`]; no
//! [`DataEvent::Progress`] for `data_timeout` → [`Timeout::DataStalled`] and `ABOR`.
//!
//! Memory is bounded: reply bytes are framed by a [`ReplyDecoder`](crate::reply::ReplyDecoder)
//! with the caps of [`ClientConfig`] (a broken reply stream closes the session with
//! [`ClientError::Syntax`]), and at most `max_queued` operations wait.
//!
//! [`start`]: ClientSession::start
//! [`abort`]: ClientSession::abort
//! [`poll_transmit`]: ClientSession::poll_transmit
//! [`poll_event`]: ClientSession::poll_event
//! [`poll_timeout`]: ClientSession::poll_timeout

mod config;
mod features;
mod op;
mod session;
#[cfg(test)]
mod tests;

pub use config::{ClientConfig, DataMode, TlsMode};
pub use features::{Feature, Features};
pub use op::{
    ClientError, DataEvent, DataFailure, Event, ListFormat, OpId, Operation, Output, Timeout,
    UsageError,
};
pub use session::ClientSession;
