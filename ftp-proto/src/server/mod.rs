//! The server session: one FTP control connection as a sans-IO state machine.
//!
//! [`ServerSession`] takes control-connection bytes, timeouts and the results of work it asked
//! for, and produces reply bytes, [`Request`]s for the embedder and its next deadline. It never
//! touches a socket, a file or a clock; every decision about a reply code is taken here, from
//! typed results ([`Outcome`], [`TransferEvent`]).
//!
//! # Driving a session
//!
//! After **every** `handle_*` call, drain in this order: [`poll_transmit`] until `None`,
//! [`poll_request`] until `None`, then [`poll_timeout`] (re-arm the timer); close the
//! connection once [`is_closed`] and the bytes are written. Read input only while
//! [`wants_input`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//! use ftp_proto::server::{Outcome, Request, ServerConfig, ServerSession, UserInfo};
//!
//! let start = Instant::now(); // the embedder's clock; the session never reads one
//! let mut config = ServerConfig::default();
//! config.login_failure_delay = Duration::ZERO;
//! let mut s = ServerSession::new(
//!     Arc::new(config),
//!     "192.0.2.1:21".parse().unwrap(),
//!     "198.51.100.9:50000".parse().unwrap(),
//!     start,
//! );
//! let mut wire = Vec::new();
//! let mut drive = |s: &mut ServerSession, wire: &mut Vec<u8>| {
//!     while let Some(bytes) = s.poll_transmit() {
//!         wire.extend_from_slice(&bytes); // write to the control connection
//!     }
//!     while let Some(req) = s.poll_request() {
//!         match req {
//!             Request::Authenticate { id, user, password, .. } => {
//!                 let ok = &user[..] == b"anna" && password.expose() == b"secret";
//!                 let outcome = if ok {
//!                     Outcome::LoggedIn(UserInfo::new("/", false))
//!                 } else {
//!                     Outcome::Refused
//!                 };
//!                 s.handle_completion(id, outcome, start);
//!             }
//!             _ => {} // storage, data connections, ...
//!         }
//!     }
//!     // arm a timer for s.poll_timeout(); on expiry call s.handle_timeout(now)
//! };
//! drive(&mut s, &mut wire);
//! s.handle_input(b"USER anna\r\nPASS secret\r\nPWD\r\n", start);
//! drive(&mut s, &mut wire); // the login completion queues more replies...
//! drive(&mut s, &mut wire); // ...taken on the next turn
//! assert_eq!(
//!     wire,
//!     b"220 FTP server ready.\r\n331 Please specify the password.\r\n\
//!       230 Login successful.\r\n257 \"/\" is the current directory\r\n"
//! );
//! ```
//!
//! # State table
//!
//! Login phases are *Greeted* (after `220`, `REIN` or a failed login), *User* (after `331`),
//! *Acct* (after `332`) and *In* (after `230`). Every command is first checked against this
//! table (`table.rs`); a command refused here changes nothing.
//!
//! | command | Greeted | User | Acct | In | RFC |
//! |---|---|---|---|---|---|
//! | `USER` | `331` → User (`530` in cleartext when the TLS policy requires TLS for logins) | `331` → User | `331` → User | `530` (REIN first) | 959 §4.1.1; 2577 §5: `331` for every name |
//! | `PASS` | `503` | Authenticate → `230` In / `332` Acct / `530` Greeted after `login_failure_delay` | `503` | `503` | 959 §5.4 |
//! | `ACCT` | `503` | `503` | Authenticate → `230` / `530` | `202` | 959 §4.1.1 |
//! | `HOST` | `220` / `504` unknown host | `503` | `503` | `503` | 7151 §3 |
//! | `REIN` | `220` → Greeted | same | same | same (closes any passive listener) | 959 §4.1.1 |
//! | `QUIT` | `221`, close | same | same | same; during a transfer: `226`/`4xx` of the transfer, then `221` | 959 §4.1.1 |
//! | `FEAT` `HELP` `NOOP` `SYST` | `211-`…`211 End` / `214` / `200` / `215 UNIX Type: L8` | same | same | same | 2389 §3; 959 |
//! | `OPTS UTF8 ON\|OFF`, `OPTS MLST f;…` | `200` (`501` otherwise) | same | same | same | 2640 §3.1; 3659 §7.9 |
//! | `LANG [EN]` | `200` (others `504`) | same | same | same | 2640 §4 |
//! | `ABOR` (no transfer) | `225`, or `226` when a passive listener was closed | same | same | same | 959 §4.1.3 |
//! | `AUTH TLS` | `234`, input behind it discarded, StartTls request (no input taken until `handle_tls_established`); TLS off: `502`; already TLS: `503`; other mechanisms: `504` | same | same | same, and the login is reset | 2228 §3; 4217 §4 |
//! | `PBSZ n` | `200 PBSZ=0` under TLS, else `503` | same | same | same | 4217 §8 |
//! | `PROT C\|P` | `200` after PBSZ (else `503`); `S`/`E`: `536`; `C` when data TLS is required: `534` | same | same | same | 4217 §9 |
//! | `CCC` | `534` under TLS (refused by policy), else `533` | same | same | same | 4217 §6 |
//! | unknown verb | `500` | `500` | `500` | `500` | 959 §4.2 |
//! | any other command | `530` | `530` | `530` | below | 959 §5.4 |
//!
//! Logged in (*In*):
//!
//! | command | request | reply | RFC |
//! |---|---|---|---|
//! | `PWD` `XPWD` | — | `257 "path"` (inner `"` doubled) | 959 App. II; 775 |
//! | `CWD` `XCWD` `CDUP` `XCUP` | Metadata | `250` if a directory, else `550` | 959; 775 |
//! | `MKD` `XMKD` | MakeDir | `257 "path" created` | 959 App. II; 775 |
//! | `RMD` `XRMD`, `DELE` | RemoveDir, Delete | `250` | 959 |
//! | `RNFR` then `RNTO` | Metadata, Rename | `350`, then `250`; `RNTO` not right after `RNFR`: `503` | 959 §4.1.3 |
//! | `SIZE` | Metadata | `213 n`; TYPE A: `550` without asking storage (as vsftpd) | 3659 §4 |
//! | `MDTM` | Metadata | `213 YYYYMMDDHHMMSS` | 3659 §3 |
//! | `MFMT t path` | SetModified | `213 Modify=t; path` | draft-somers-ftp-mfxx |
//! | `MLST [path]` | Metadata | `250-`, one fact line starting with a space, `250 End` | 3659 §7 |
//! | `STAT` | — | `211-` status lines `211 End of status` | 959 §4.1.3 |
//! | `STAT path` | List | `213-` `ls -l` lines `213 End of status` | 959 §4.1.3 |
//! | `RETR` `STOR` `APPE` `STOU` `LIST` `NLST` `MLSD` | Transfer (`protected` after `PROT P`) | `150` (STOU: `150 FILE: name`) … `226`; `425` without PORT/PASV first; `521` without `PROT P` when data TLS is required | 959; 1123 §4.1.2.9; 3659 §7; 4217 §9 |
//! | `REST n` | — | `350`; applies only to the very next RETR/STOR/APPE | 959 §4.1.3; 3659 §5 |
//! | `TYPE A\|I\|L 8`, `MODE S`, `STRU F` | — | `200` (other values `504`) | 959; 1123 §4.1.2.2 |
//! | `ALLO` | — | `202` | 959 |
//! | `PASV`, `LPSV` | OpenPassive | `227` / `228`; PASV on an IPv6 control connection: `425` use EPSV | 959; 1639; 2428 |
//! | `EPSV [1\|2]` | OpenPassive | `229 (\|\|\|port\|)`; wrong protocol: `522`; `EPSV ALL`: `200`, afterwards PORT/PASV/EPRT/LPRT/LPSV `503` | 2428 §3–4 |
//! | `PORT` `EPRT` `LPRT` | — | `200`; not the control peer's IP or port < 1024: `504` and no connection (FTP bounce); `allow_active = false`: `502`; unknown EPRT family: `522` | 959; 2428; 1639; 2577 §3 |
//! | `SITE` | Site (if `site_enabled`) | the embedder's reply, else `502` | 959 |
//! | `ACCT` | — | `202` | 959 |
//!
//! While a transfer runs, `ABOR` (→ AbortTransfer, then `426` + `226`), `STAT` (→ `213`
//! progress) and `QUIT` (→ `221` after the transfer's reply) are answered at once; every other
//! command waits in a queue of `max_pipelined` entries (RFC 959 §4.1.3, RFC 1123 §4.1.2.5).
//! While an Authenticate or Storage request is outstanding, or a failed login's delay runs,
//! input waits unread in a bounded buffer.
//!
//! Transfers: Transfer → Opened (`150`) → Connected → Progress… → Finished (`226`) or Failed
//! (before `150`: the storage error's code; after: `452` no space, `552` quota, `451` storage,
//! `425` no data connection, `426` connection lost or aborted, `522` data TLS handshake failed
//! or did not resume the control connection's session). A passive listener serves one
//! transfer (RFC 1123 §4.1.2.6). Storage errors map as: NotFound, PermissionDenied,
//! AlreadyExists, NotADirectory, IsADirectory → `550`; NoSpace → `452`; QuotaExceeded → `552`;
//! InvalidName → `553`; InvalidOffset → `554`; Unsupported → `502`; Other → `451`.
//!
//! Errors and timeouts: an over-long line → `500`, the session continues; unknown verb →
//! `500`; a parse error → its own code (`501`, `502`, `504`…); idle for `idle_timeout` →
//! `421`, close; data connection not established within `data_timeout` → AbortTransfer, `425`;
//! no progress for `data_timeout` → AbortTransfer, `426`, `421`, close; `max_login_failures`
//! failed logins → `530`, `421`, close.
//!
//! [`poll_transmit`]: ServerSession::poll_transmit
//! [`poll_request`]: ServerSession::poll_request
//! [`poll_timeout`]: ServerSession::poll_timeout
//! [`is_closed`]: ServerSession::is_closed
//! [`wants_input`]: ServerSession::wants_input

mod config;
mod facts;
mod request;
mod session;
mod table;
#[cfg(test)]
mod tests;

pub use config::{ServerConfig, TlsPolicy};
pub use facts::MlstFacts;
pub use request::{
    DataChannel, ListFormat, Outcome, Request, RequestId, Secret, StorageError, StorageOp,
    TransferError, TransferEvent, TransferOp, UserInfo,
};
pub use session::ServerSession;
