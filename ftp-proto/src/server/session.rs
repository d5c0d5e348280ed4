//! [`ServerSession`]: one control connection, from greeting to close.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::config::ServerConfig;
use super::facts::MlstFacts;
use super::request::{
    DataChannel, ListFormat, Outcome, Request, RequestId, Secret, StorageError, StorageOp,
    TransferError, TransferEvent, TransferOp, UserInfo,
};
use super::table::{self, Gate, Phase, Verb};
use crate::address;
use crate::command::{
    Command, CommandError, EpsvArg, FormatControl, ProtectionLevel, Structure, TransferMode,
    TransferType,
};
use crate::line::{LineDecoder, LineError};
use crate::listing::{self, EntryKind, Modified};
use crate::path::{PathError, VirtualPath};
use crate::reply::{Reply, ReplyCode};

/// A reply code from a number this module chose (always 100–599).
fn code_of(code: u16) -> ReplyCode {
    ReplyCode::new(code).unwrap_or(ReplyCode::LOCAL_ERROR)
}

fn is_dir(e: &crate::listing::Entry) -> bool {
    matches!(e.kind, EntryKind::Dir | EntryKind::CurrentDir)
}

/// How many received commands [`ServerSession::poll_command`] keeps at most.
const COMMAND_LOG_CAP: usize = 64;

/// The server side of one FTP control connection, as a sans-IO state machine.
///
/// Construct it when a connection is accepted, feed it with the `handle_*` methods and, after
/// every `handle_*` call, drain its output in this order:
///
/// 1. [`poll_transmit`](Self::poll_transmit) until `None`: write the bytes to the control
///    connection;
/// 2. [`poll_request`](Self::poll_request) until `None`: start the work (results come back
///    through [`handle_completion`](Self::handle_completion) and
///    [`handle_transfer_event`](Self::handle_transfer_event), possibly later);
/// 3. [`poll_timeout`](Self::poll_timeout): (re)arm the single timer; when it fires call
///    [`handle_timeout`](Self::handle_timeout);
/// 4. if [`is_closed`](Self::is_closed), close the control connection once the bytes are
///    written.
///
/// Read from the control connection only while [`wants_input`](Self::wants_input) is `true`
/// (backpressure: pipelined commands wait in a bounded queue). See the [module
/// documentation](super) for the state table and a complete drive loop.
pub struct ServerSession {
    config: Arc<ServerConfig>,
    local: SocketAddr,
    peer: SocketAddr,

    decoder: LineDecoder,
    /// Raw control bytes not yet framed into lines. Bounded by `input_cap`.
    inbuf: BytesMut,
    input_cap: usize,
    /// Commands received while a transfer runs (bounded by `max_pipelined`).
    queue: VecDeque<Queued>,
    /// Encoded replies not yet taken by `poll_transmit`.
    out: Vec<u8>,
    requests: VecDeque<Request>,
    /// Commands received, for the embedder's log (only when enabled).
    command_log: Option<VecDeque<Command>>,
    next_id: u64,
    closed: bool,

    auth: Auth,
    login_failures: u32,
    /// A failed login's `530`, held back until the delay has passed (RFC 2577 §5).
    login_delay: Option<Instant>,
    host: Option<Bytes>,

    cwd: VirtualPath,
    ascii: bool,
    epsv_all: bool,
    data: DataSetup,
    rest: Option<u64>,
    rename_from: Option<VirtualPath>,
    mlst_facts: MlstFacts,
    /// The control connection runs over TLS (after `AUTH TLS`, or implicit TLS).
    secure: bool,
    /// `PBSZ` was accepted after TLS started (RFC 4217 §8: it must precede `PROT`).
    pbsz: bool,
    /// `PROT P`: data connections run TLS.
    protect_data: bool,
    /// `234` sent, the handshake not yet reported done: no input is taken (anything the client
    /// sends before the handshake is not protected).
    tls_pending: bool,

    pending: Option<(RequestId, Pending)>,
    transfer: Option<Transfer>,
    quit_after_transfer: bool,
    /// The server is shutting down: close with `421` once the running transfer ends.
    shutdown_after_transfer: bool,
    idle_deadline: Option<Instant>,
}

/// Where the login stands. The password is kept only while an `ACCT` may still follow.
enum Auth {
    Greeted,
    UserGiven { user: Bytes },
    NeedAccount { user: Bytes, password: Secret },
    Authenticating { user: Bytes, password: Secret },
    LoggedIn { user: Bytes, info: UserInfo },
}

/// The data connection the next transfer uses (RFC 959 §3.2–3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataSetup {
    None,
    Passive(SocketAddr),
    Active(SocketAddr),
}

/// A line framed while a transfer runs, waiting its turn.
enum Queued {
    Line(Result<Command, CommandError>),
    TooLong,
}

/// What the reply to an outstanding request depends on.
#[derive(Debug)]
enum Pending {
    Auth,
    Cwd(VirtualPath),
    Mkd(VirtualPath),
    /// RMD, DELE, RNTO, which answer `250` with a fixed text.
    Done(&'static str),
    Rnfr(VirtualPath),
    Size,
    Mdtm,
    Mfmt(crate::time::FtpTime, VirtualPath),
    Mlst(VirtualPath),
    StatPath(VirtualPath),
    Passive(PassiveKind),
    Site,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassiveKind {
    /// `PASV` → 227 (RFC 959).
    Pasv,
    /// `EPSV` → 229 (RFC 2428).
    Epsv,
    /// `LPSV` → 228 (RFC 1639).
    Lpsv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferKind {
    Retr,
    Stor,
    Appe,
    Stou,
    List,
}

#[derive(Debug)]
struct Transfer {
    id: RequestId,
    kind: TransferKind,
    label: Bytes,
    opened: bool,
    connected: bool,
    bytes: u64,
    aborting: bool,
    deadline: Instant,
}

impl fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately lists no password: `Auth` is summarised by its phase.
        f.debug_struct("ServerSession")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("phase", &self.phase())
            .field("cwd", &self.cwd)
            .field("ascii", &self.ascii)
            .field("data", &self.data)
            .field("pending", &self.pending)
            .field("transfer", &self.transfer)
            .field("queued", &self.queue.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// Compares addresses as RFC 2428 §2 asks: an IPv4-mapped IPv6 address equals its IPv4 form.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn map_storage_error(e: StorageError) -> (u16, &'static str) {
    match e {
        StorageError::NotFound => (550, "No such file or directory."),
        StorageError::PermissionDenied => (550, "Permission denied."),
        StorageError::AlreadyExists => (550, "File exists."),
        StorageError::NotADirectory => (550, "Not a directory."),
        StorageError::IsADirectory => (550, "Is a directory."),
        StorageError::NotEmpty => (550, "Directory not empty."),
        StorageError::NoSpace => (452, "Insufficient storage space."),
        StorageError::QuotaExceeded => (552, "Quota exceeded."),
        StorageError::InvalidName => (553, "File name not allowed."),
        StorageError::InvalidOffset => (554, "Invalid restart position."),
        StorageError::Unsupported => (502, "Not supported."),
        _ => (451, "Local error in processing."),
    }
}

/// The `LIST`/`NLST` argument: leading `-xyz` option words, then the path (as `ls` does).
fn split_list_options(arg: &[u8]) -> (bool, &[u8]) {
    let mut all = false;
    let mut rest = arg;
    while let Some(opts) = rest.strip_prefix(b"-") {
        let end = memchr::memchr(b' ', opts).unwrap_or(opts.len());
        let (word, tail) = opts.split_at(end);
        all |= word.contains(&b'a');
        rest = tail.strip_prefix(b" ").unwrap_or(tail);
    }
    (all, rest)
}

impl ServerSession {
    /// Starts a session on a just-accepted control connection and queues the `220` greeting
    /// (RFC 959 §5.4: "Connection Establishment: 120, 220, 421").
    ///
    /// `local` and `peer` are the control connection's addresses: `peer` is the only address
    /// active-mode data connections may go to (RFC 2577 §3), and `local` chooses between
    /// `PASV` and `EPSV` behaviour.
    pub fn new(
        config: Arc<ServerConfig>,
        local: SocketAddr,
        peer: SocketAddr,
        now: Instant,
    ) -> Self {
        let input_cap = config.max_buffered_input.max(2 * (config.max_line_len + 2));
        let mut s = ServerSession {
            decoder: LineDecoder::new(config.max_line_len),
            inbuf: BytesMut::new(),
            input_cap,
            queue: VecDeque::new(),
            out: Vec::new(),
            requests: VecDeque::new(),
            command_log: None,
            next_id: 0,
            closed: false,
            auth: Auth::Greeted,
            login_failures: 0,
            login_delay: None,
            host: None,
            cwd: VirtualPath::root(),
            ascii: true,
            epsv_all: false,
            data: DataSetup::None,
            rest: None,
            rename_from: None,
            mlst_facts: MlstFacts::default(),
            secure: false,
            pbsz: false,
            protect_data: false,
            tls_pending: false,
            pending: None,
            transfer: None,
            quit_after_transfer: false,
            shutdown_after_transfer: false,
            idle_deadline: None,
            local,
            peer,
            config,
        };
        let greeting = s.config.greeting.clone();
        s.reply(220, greeting);
        s.touch_idle(now);
        s
    }

    /// Starts a session on a control connection that runs TLS from its first byte (implicit
    /// FTPS, port 990 style): the adapter has completed the handshake before this call.
    ///
    /// The connection counts as protected as if `AUTH TLS` had succeeded, and data
    /// connections are protected (`PROT P`) until the client sends `PROT C`, as implicit
    /// FTPS clients expect.
    pub fn new_implicit_tls(
        config: Arc<ServerConfig>,
        local: SocketAddr,
        peer: SocketAddr,
        now: Instant,
    ) -> Self {
        let mut s = Self::new(config, local, peer, now);
        s.secure = true;
        s.protect_data = true;
        s
    }

    // ----------------------------------------------------------------------------------------
    // Input
    // ----------------------------------------------------------------------------------------

    /// Feeds bytes read from the control connection, split anywhere.
    ///
    /// Complete lines run at once, unless a request or transfer is outstanding: then they wait
    /// (bounded). A client that keeps sending after [`wants_input`](Self::wants_input) turned
    /// `false` and overflows the input buffer gets `421` and the session closes.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.closed {
            return;
        }
        if self.quit_after_transfer || self.shutdown_after_transfer {
            // RFC 959 §4.1.1 QUIT: nothing after it is read (nor during a shutdown).
            return;
        }
        if self.tls_pending {
            // Cleartext that arrived behind AUTH TLS before the handshake: never a command
            // (RFC 4217 §4, the STARTTLS injection).
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        self.pump(now);
        if !self.closed && self.inbuf.len() > self.input_cap {
            self.reply(421, "Too much pipelined input; closing control connection.");
            self.close();
        }
    }

    /// Whether the adapter should read more from the control connection.
    ///
    /// `false` once the session is closed or while its pipeline queue and input buffer are
    /// full; reading resumes when it turns `true` again after a later `handle_*` call.
    pub fn wants_input(&self) -> bool {
        !self.closed
            && !self.tls_pending
            && !self.quit_after_transfer
            && !self.shutdown_after_transfer
            && self.queue.len() < self.config.max_pipelined
            && self.inbuf.len() < self.input_cap / 2
    }

    /// The TLS handshake asked for by [`Request::StartTls`] succeeded: input is read again,
    /// now through TLS. Until this call the session takes no input at all.
    pub fn handle_tls_established(&mut self, now: Instant) {
        if self.closed || !self.tls_pending {
            return;
        }
        self.tls_pending = false;
        self.touch_idle(now);
        self.pump(now);
    }

    /// The client closed its side of the control connection.
    ///
    /// Any running transfer is abandoned and the session closes without a reply (there is
    /// nobody to read it).
    pub fn handle_eof(&mut self, _now: Instant) {
        if self.closed {
            return;
        }
        if let Some(t) = self.transfer.take() {
            self.requests.push_back(Request::AbortTransfer { id: t.id });
        }
        self.close();
    }

    /// The server is shutting down (RFC 959 §5.4: `421 Service not available, closing control
    /// connection`).
    ///
    /// With no transfer running the session answers `421` and closes now. A running transfer
    /// may finish first: its reply is sent, then `421` (or the `221` of a pending `QUIT`), and
    /// no further command is read. Call [`handle_shutdown_deadline`] when the embedder's grace
    /// period is over.
    ///
    /// [`handle_shutdown_deadline`]: Self::handle_shutdown_deadline
    pub fn handle_shutdown(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.transfer.is_some() {
            self.shutdown_after_transfer = true;
            self.queue.clear();
            self.inbuf.clear();
        } else {
            self.reply(
                421,
                "Service closing control connection: server shutting down.",
            );
            self.close();
        }
        self.pump(now);
    }

    /// The shutdown grace period is over: a running transfer is aborted (`426`), then the
    /// session answers `421` and closes.
    pub fn handle_shutdown_deadline(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(t) = self.transfer.take() {
            self.requests.push_back(Request::AbortTransfer { id: t.id });
            self.reply(426, "Connection closed; transfer aborted.");
        }
        self.reply(
            421,
            "Service closing control connection: server shutting down.",
        );
        self.close();
        self.pump(now);
    }

    /// The deadline from [`poll_timeout`](Self::poll_timeout) has passed (calling it early is
    /// harmless: nothing that is not due happens).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.login_delay.is_some_and(|t| now >= t) {
            self.login_delay = None;
            self.finish_failed_login(now);
        }
        if let Some(t) = &self.transfer {
            if now >= t.deadline {
                self.transfer_timed_out(now);
            }
        }
        if !self.closed && self.transfer.is_none() && self.idle_deadline.is_some_and(|t| now >= t) {
            // RFC 1123 §4.1.3.2: an idle control connection may be closed, with 421.
            self.reply(421, "Timeout: closing control connection.");
            self.close();
        }
        self.pump(now);
    }

    /// The result of a request carrying `id` (other than `Transfer`). Results for unknown or
    /// already-answered ids are ignored.
    pub fn handle_completion(&mut self, id: RequestId, outcome: Outcome, now: Instant) {
        if self.closed {
            return;
        }
        let Some((pid, pending)) = self.pending.take() else {
            return;
        };
        if pid != id {
            self.pending = Some((pid, pending));
            return;
        }
        self.touch_idle(now);
        self.complete(pending, outcome, now);
        self.pump(now);
    }

    /// Something happened to the transfer `id`. Events for unknown or finished transfers are
    /// ignored.
    pub fn handle_transfer_event(&mut self, id: RequestId, event: TransferEvent, now: Instant) {
        if self.closed {
            return;
        }
        let data_timeout = self.config.data_timeout;
        let Some(t) = self.transfer.as_mut().filter(|t| t.id == id) else {
            return;
        };
        match event {
            TransferEvent::Opened { size, name } => {
                if t.opened || t.aborting {
                    return;
                }
                t.opened = true;
                t.deadline = now + data_timeout;
                let text = self.preliminary_text(size, name);
                self.reply(150, text);
            }
            TransferEvent::Connected => {
                t.connected = true;
                t.deadline = now + data_timeout;
            }
            TransferEvent::Progress(bytes) => {
                t.connected = true;
                t.bytes = t.bytes.max(bytes);
                t.deadline = now + data_timeout;
            }
            TransferEvent::Finished { bytes } => {
                t.bytes = t.bytes.max(bytes);
                self.end_transfer(Ok(()), now);
            }
            TransferEvent::Failed(e) => self.end_transfer(Err(e), now),
        }
        self.pump(now);
    }

    // ----------------------------------------------------------------------------------------
    // Output
    // ----------------------------------------------------------------------------------------

    /// Reply bytes to write on the control connection, in order.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() {
            None
        } else {
            Some(Bytes::from(std::mem::take(&mut self.out)))
        }
    }

    /// The next piece of work for the adapter.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// Starts or stops recording received commands for [`poll_command`](Self::poll_command)
    /// (off by default, so a session that nobody logs keeps no copies).
    pub fn set_command_log(&mut self, enabled: bool) {
        self.command_log = enabled.then(VecDeque::new);
    }

    /// The next command received since the last call, for logging, when
    /// [`set_command_log`](Self::set_command_log) is on. Log it with its `Display` form, which
    /// hides the `PASS` argument. At most 64 are kept; older ones are dropped.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.command_log.as_mut()?.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let transfer = self.transfer.as_ref().map(|t| t.deadline);
        let idle = if self.transfer.is_none() {
            self.idle_deadline
        } else {
            None
        };
        [self.login_delay, transfer, idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether the session is over (after `221`, `421` or EOF). The adapter writes what
    /// [`poll_transmit`](Self::poll_transmit) still returns, then closes the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ----------------------------------------------------------------------------------------
    // Getters
    // ----------------------------------------------------------------------------------------

    /// The current working directory.
    pub fn cwd(&self) -> &VirtualPath {
        &self.cwd
    }

    /// The logged-in user name, if any.
    pub fn user(&self) -> Option<&[u8]> {
        match &self.auth {
            Auth::LoggedIn { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The control connection's peer address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether a data transfer is running.
    pub fn is_transferring(&self) -> bool {
        self.transfer.is_some()
    }

    /// Whether the control connection runs over TLS (after `AUTH TLS`, or implicit TLS).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the next data connections run TLS (`PROT P`).
    pub fn data_protected(&self) -> bool {
        self.secure && self.protect_data
    }

    // ----------------------------------------------------------------------------------------
    // Machinery
    // ----------------------------------------------------------------------------------------

    fn phase(&self) -> Phase {
        match self.auth {
            Auth::Greeted => Phase::Greeted,
            Auth::UserGiven { .. } | Auth::Authenticating { .. } => Phase::UserGiven,
            Auth::NeedAccount { .. } => Phase::NeedAccount,
            Auth::LoggedIn { .. } => Phase::LoggedIn,
        }
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn reply(&mut self, code: u16, text: impl Into<Bytes>) {
        Reply::new(code_of(code), text).encode(&mut self.out);
    }

    fn reply_lines(&mut self, code: u16, lines: Vec<Bytes>) {
        Reply::multiline(code_of(code), lines).encode(&mut self.out);
    }

    fn touch_idle(&mut self, now: Instant) {
        self.idle_deadline = Some(now + self.config.idle_timeout);
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.transfer = None;
        self.pending = None;
        self.login_delay = None;
        self.queue.clear();
        self.inbuf.clear();
        self.requests.push_back(Request::Close);
    }

    fn busy(&self) -> bool {
        self.pending.is_some() || self.login_delay.is_some() || self.transfer.is_some()
    }

    fn frame(&mut self) -> Option<Queued> {
        match self.decoder.decode(&mut self.inbuf) {
            Ok(Some(line)) => {
                let parsed = Command::parse(&line);
                if let (Some(log), Ok(cmd)) = (self.command_log.as_mut(), &parsed) {
                    // Bounded like the input: the oldest entries give way.
                    if log.len() >= COMMAND_LOG_CAP {
                        log.pop_front();
                    }
                    log.push_back(cmd.clone());
                }
                Some(Queued::Line(parsed))
            }
            Ok(None) => None,
            Err(LineError::TooLong { .. }) => Some(Queued::TooLong),
            #[allow(unreachable_patterns)]
            Err(_) => Some(Queued::TooLong),
        }
    }

    /// Runs queued and buffered lines for as long as nothing is outstanding.
    fn pump(&mut self, now: Instant) {
        // Each turn consumes a queued or buffered line, so the loop ends.
        while !self.closed {
            if self.transfer.is_some() && self.pending.is_none() && self.login_delay.is_none() {
                if self.quit_after_transfer || self.queue.len() >= self.config.max_pipelined {
                    return;
                }
                let Some(item) = self.frame() else { return };
                let urgent = match &item {
                    Queued::Line(Ok(cmd)) => {
                        let aborting = self.transfer.as_ref().is_some_and(|t| t.aborting);
                        let verb = verb_of(cmd);
                        table::urgent_during_transfer(verb, matches!(cmd, Command::Stat(_)))
                            && !(aborting && verb == Verb::Abor)
                            // QUIT keeps its place behind commands already waiting.
                            && (verb != Verb::Quit || self.queue.is_empty())
                    }
                    _ => false,
                };
                if urgent {
                    self.execute(item, now);
                } else {
                    self.queue.push_back(item);
                }
                continue;
            }
            if self.busy() {
                return;
            }
            let item = match self.queue.pop_front() {
                Some(item) => item,
                None => match self.frame() {
                    Some(item) => item,
                    None => return,
                },
            };
            self.execute(item, now);
        }
    }

    fn execute(&mut self, item: Queued, now: Instant) {
        self.touch_idle(now);
        match item {
            // RFC 959 §4.2: 500 "Syntax error, command unrecognized" covers "command line too
            // long"; the decoder has already skipped the rest of the line.
            Queued::TooLong => self.reply(500, "Command line too long."),
            Queued::Line(Err(e)) => {
                self.rest = None;
                self.rename_from = None;
                self.reply(e.reply_code(), e.to_string());
            }
            Queued::Line(Ok(cmd)) => self.command(cmd, now),
        }
    }

    /// One admitted command: the rows of the state table.
    fn command(&mut self, cmd: Command, now: Instant) {
        // RFC 959 §4.1.3: REST and RNFR apply to the very next command only.
        let rest = self.rest.take();
        let rename_from = self.rename_from.take();
        let verb = verb_of(&cmd);
        if self.transfer.is_some() {
            // Only ABOR, STAT and QUIT get here while a transfer runs.
            match cmd {
                Command::Abor => self.abort_running(now),
                Command::Quit => self.quit_after_transfer = true,
                _ => self.stat_during_transfer(),
            }
            return;
        }
        if let Gate::Refuse(code, text) = table::admit(self.phase(), verb) {
            self.reply(code, text);
            return;
        }
        match cmd {
            Command::User(user) => self.on_user(user),
            Command::Pass(pass) => self.on_pass(pass),
            Command::Acct(acct) => self.on_acct(acct),
            Command::Host(host) => self.on_host(host),
            Command::Rein => self.on_rein(),
            Command::Quit => {
                self.reply(221, "Goodbye.");
                self.close();
            }
            Command::Feat => self.on_feat(),
            Command::Help(_) => self.on_help(),
            Command::Noop => self.reply(200, "NOOP ok."),
            Command::Syst => self.reply(215, "UNIX Type: L8"),
            Command::Opts { name, value } => self.on_opts(&name, value.as_deref().unwrap_or(b"")),
            Command::Lang(arg) => self.on_lang(arg.as_deref()),
            Command::Abor => self.abort_idle(),
            Command::Auth(mechanism) => self.on_auth(&mechanism),
            Command::Pbsz(_) => self.on_pbsz(),
            Command::Prot(level) => self.on_prot(level),
            Command::Ccc => self.on_ccc(),
            Command::Adat(_) | Command::Mic(_) | Command::Conf(_) | Command::Enc(_) => {
                self.reply(502, "Not used with TLS.")
            }
            Command::Pwd | Command::Xpwd => self.on_pwd(),
            Command::Cwd(arg) | Command::Xcwd(arg) => self.on_cwd(&arg),
            Command::Cdup | Command::Xcup => self.on_cwd(b".."),
            Command::Mkd(arg) | Command::Xmkd(arg) => self.on_write_op(&arg, WriteOp::Mkd),
            Command::Rmd(arg) | Command::Xrmd(arg) => self.on_write_op(&arg, WriteOp::Rmd),
            Command::Dele(arg) => self.on_write_op(&arg, WriteOp::Dele),
            Command::Rnfr(arg) => self.on_write_op(&arg, WriteOp::Rnfr),
            Command::Rnto(arg) => self.on_rnto(&arg, rename_from),
            Command::Mfmt { time, path } => self.on_write_op(&path, WriteOp::Mfmt(time)),
            Command::Size(arg) => self.on_size(&arg),
            Command::Mdtm(arg) => self.on_stat_op(&arg, Pending::Mdtm),
            Command::Mlst(arg) => self.on_mlst(arg.as_deref().unwrap_or(b"")),
            Command::Stat(None) => self.on_status(),
            Command::Stat(Some(arg)) => self.on_stat_path(&arg),
            Command::Retr(arg) => self.on_transfer(TransferKind::Retr, &arg, rest, None, now),
            Command::Stor(arg) => self.on_transfer(TransferKind::Stor, &arg, rest, None, now),
            Command::Appe(arg) => self.on_transfer(TransferKind::Appe, &arg, rest, None, now),
            Command::Stou(_) => self.on_transfer(TransferKind::Stou, b"", None, None, now),
            Command::List(arg) => {
                let (all, path) = split_list_options(arg.as_deref().unwrap_or(b""));
                let format = ListFormat::Unix;
                self.on_transfer(TransferKind::List, path, None, Some((format, all)), now)
            }
            Command::Nlst(arg) => {
                let (all, path) = split_list_options(arg.as_deref().unwrap_or(b""));
                let format = ListFormat::Nlst;
                self.on_transfer(TransferKind::List, path, None, Some((format, all)), now)
            }
            Command::Mlsd(arg) => {
                let format = ListFormat::Mlsd(self.mlst_facts);
                let path = arg.unwrap_or_default();
                self.on_transfer(TransferKind::List, &path, None, Some((format, true)), now)
            }
            Command::Rest(offset) => {
                self.rest = Some(offset);
                self.reply(
                    350,
                    format!("Restarting at {offset}. Send RETR, STOR or APPE."),
                );
            }
            Command::Allo { .. } => self.reply(202, "ALLO not needed."),
            Command::Site(arg) => self.on_site(arg),
            Command::Type(t) => self.on_type(t),
            // RFC 959 §5.1 minimum implementation: MODE S and STRU F; the rest are 504.
            Command::Mode(TransferMode::Stream) => self.reply(200, "Mode set to S."),
            Command::Mode(_) => self.reply(504, "Only MODE S is supported."),
            Command::Stru(Structure::File) => self.reply(200, "Structure set to F."),
            Command::Stru(_) => self.reply(504, "Only STRU F is supported."),
            Command::Pasv => self.on_passive(PassiveKind::Pasv),
            Command::Lpsv => self.on_passive(PassiveKind::Lpsv),
            Command::Epsv(arg) => self.on_epsv(arg),
            Command::Port(addr) => self.on_active(SocketAddr::V4(addr), "PORT"),
            Command::Eprt(addr) => self.on_active(addr, "EPRT"),
            Command::Lprt(addr) => self.on_active(addr, "LPRT"),
            Command::Other { .. } => self.reply(500, "Unknown command."),
            // SMNT, MFCT, MFF and anything added to `Command` later.
            _ => self.reply(502, "Command not implemented."),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Login (RFC 959 §4.1.1, RFC 2577 §5, RFC 7151)
    // ----------------------------------------------------------------------------------------

    fn on_user(&mut self, user: Bytes) {
        if self.config.tls.login_required() && !self.secure {
            // Refused before any password can follow in cleartext (vsftpd's
            // force_local_logins_ssl).
            self.auth = Auth::Greeted;
            self.reply(530, "TLS required: send AUTH TLS before logging in.");
            return;
        }
        // RFC 2577 §5: the same 331 for every name, known or not.
        self.auth = Auth::UserGiven { user };
        self.reply(331, "Please specify the password.");
    }

    fn on_pass(&mut self, password: Bytes) {
        let Auth::UserGiven { user } = std::mem::replace(&mut self.auth, Auth::Greeted) else {
            self.reply(503, "Login with USER first.");
            return;
        };
        let password = Secret::new(password);
        self.authenticate(user, password, None);
    }

    fn on_acct(&mut self, account: Bytes) {
        let Auth::NeedAccount { user, password } = std::mem::replace(&mut self.auth, Auth::Greeted)
        else {
            self.reply(503, "Login with USER and PASS first.");
            return;
        };
        self.authenticate(user, password, Some(account));
    }

    fn authenticate(&mut self, user: Bytes, password: Secret, account: Option<Bytes>) {
        let id = self.next_id();
        self.requests.push_back(Request::Authenticate {
            id,
            user: user.clone(),
            password: password.clone(),
            account,
            host: self.host.clone(),
        });
        self.auth = Auth::Authenticating { user, password };
        self.pending = Some((id, Pending::Auth));
    }

    fn on_host(&mut self, host: Bytes) {
        let known = self.config.virtual_hosts.is_empty()
            || self
                .config
                .virtual_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&host));
        if known {
            self.host = Some(host);
            self.reply(220, "Host accepted.");
        } else {
            // RFC 7151 §3.2: 504 for a host the server does not serve.
            self.reply(504, "Unknown host.");
        }
    }

    fn login_failed(&mut self, now: Instant) {
        self.auth = Auth::Greeted;
        self.login_failures = self.login_failures.saturating_add(1);
        let delay = self.config.login_failure_delay;
        if delay.is_zero() {
            self.finish_failed_login(now);
        } else {
            self.login_delay = Some(now + delay);
        }
    }

    fn finish_failed_login(&mut self, now: Instant) {
        self.reply(530, "Login incorrect.");
        if self.login_failures >= self.config.max_login_failures {
            // RFC 2577 §5: after a few failures, close the connection.
            self.reply(421, "Too many failed logins; closing control connection.");
            self.close();
        }
        self.touch_idle(now);
    }

    fn on_rein(&mut self) {
        // RFC 959 §4.1.1 REIN: back to the state right after the greeting; a running transfer
        // has already finished (REIN waits in the queue while one runs).
        if matches!(self.data, DataSetup::Passive(_)) {
            self.requests.push_back(Request::ClosePassive);
        }
        self.auth = Auth::Greeted;
        self.host = None;
        self.cwd = VirtualPath::root();
        self.ascii = true;
        self.epsv_all = false;
        self.data = DataSetup::None;
        self.mlst_facts = MlstFacts::default();
        // The control connection keeps its TLS (RFC 4217 offers no way back to cleartext
        // short of CCC, which this server refuses); the data protection is negotiated again.
        self.pbsz = false;
        self.protect_data = false;
        self.reply(220, "Service ready for new user.");
    }

    // ----------------------------------------------------------------------------------------
    // Informational commands
    // ----------------------------------------------------------------------------------------

    fn on_feat(&mut self) {
        // RFC 2389 §3.2: each feature line starts with exactly one space.
        let mut lines: Vec<Bytes> = vec![Bytes::from_static(b"Features:")];
        let mut feat = |s: &str| lines.push(Bytes::from(format!(" {s}")));
        if self.config.allow_active {
            feat("EPRT");
        }
        feat("EPSV");
        if self.config.tls.enabled() {
            // RFC 4217 §6.
            feat("AUTH TLS");
        }
        feat("HOST");
        feat("LANG EN*");
        feat("MDTM");
        feat("MFMT");
        feat(&format!("MLST {}", self.mlst_facts.feat_line()));
        if self.config.tls.enabled() {
            feat("PBSZ");
            feat("PROT");
        }
        feat("REST STREAM");
        feat("SIZE");
        feat("TVFS");
        feat("UTF8");
        lines.push(Bytes::from_static(b"End"));
        self.reply_lines(211, lines);
    }

    fn on_help(&mut self) {
        const PLAIN: &[&str] = &[
            "ABOR", "ACCT", "ALLO", "APPE", "CDUP", "CWD", "DELE", "EPRT", "EPSV", "FEAT", "HELP",
            "HOST", "LANG", "LIST", "LPRT", "LPSV", "MDTM", "MFMT", "MKD", "MLSD", "MLST", "MODE",
            "NLST", "NOOP", "OPTS", "PASS", "PASV", "PORT", "PWD", "QUIT", "REIN", "REST", "RETR",
            "RMD", "RNFR", "RNTO", "SITE", "SIZE", "STAT", "STOR", "STOU", "STRU", "SYST", "TYPE",
            "USER", "XCUP", "XCWD", "XMKD", "XPWD", "XRMD",
        ];
        const TLS: &[&str] = &["AUTH", "CCC", "PBSZ", "PROT"];
        let mut verbs: Vec<&str> = PLAIN.to_vec();
        if self.config.tls.enabled() {
            verbs.extend_from_slice(TLS);
            verbs.sort_unstable();
        }
        let mut lines = vec![Bytes::from_static(
            b"The following commands are recognized.",
        )];
        for row in verbs.chunks(12) {
            let mut line = String::new();
            for verb in row {
                line.push_str(&format!(" {verb:<4}"));
            }
            lines.push(Bytes::from(line.trim_end().to_owned()));
        }
        lines.push(Bytes::from_static(b"Help OK."));
        self.reply_lines(214, lines);
    }

    fn on_type(&mut self, t: TransferType) {
        // RFC 959 §3.1.1; RFC 1123 §4.1.2.2: TYPE L 8 is TYPE I. Only the non-print format
        // control is supported for TYPE A (RFC 959 §5.1 minimum implementation).
        match t {
            TransferType::Ascii(FormatControl::NonPrint) => {
                self.ascii = true;
                self.reply(200, "Switching to ASCII mode.");
            }
            TransferType::Image | TransferType::Local(8) => {
                self.ascii = false;
                self.reply(200, "Switching to Binary mode.");
            }
            _ => self.reply(504, "TYPE not supported."),
        }
    }

    fn on_opts(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"UTF8") {
            // RFC 2640 §3.1: paths are bytes here, so UTF8 ON (or OFF) changes nothing.
            if value.eq_ignore_ascii_case(b"ON") || value.eq_ignore_ascii_case(b"OFF") {
                self.reply(200, "Always in UTF8 mode.");
            } else {
                self.reply(501, "OPTS UTF8 takes ON or OFF.");
            }
        } else if name.eq_ignore_ascii_case(b"MLST") {
            // RFC 3659 §7.9: select facts; unknown ones are ignored.
            self.mlst_facts = MlstFacts::parse_selection(value);
            let text = format!("MLST OPTS {}", self.mlst_facts);
            self.reply(200, text);
        } else {
            self.reply(501, "Option not understood.");
        }
    }

    fn on_lang(&mut self, arg: Option<&[u8]>) {
        // RFC 2640 §4.1: LANG without argument returns to the default; only EN is offered.
        match arg {
            None => self.reply(200, "Language set to EN."),
            Some(tag)
                if tag.eq_ignore_ascii_case(b"EN")
                    || tag.len() > 2
                        && tag.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"EN-")) =>
            {
                self.reply(200, "Language set to EN.")
            }
            Some(_) => self.reply(504, "Unsupported language."),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Security (RFC 2228, RFC 4217)
    // ----------------------------------------------------------------------------------------

    fn on_auth(&mut self, mechanism: &[u8]) {
        if !self.config.tls.enabled() {
            self.reply(502, "TLS not available.");
            return;
        }
        if self.secure {
            self.reply(503, "Already using TLS.");
            return;
        }
        // `TLS` (RFC 4217); `TLS-C`, `SSL` and `TLS-P` from the drafts before it, the last
        // two with protected data connections by default.
        let protect_data = if mechanism.eq_ignore_ascii_case(b"TLS")
            || mechanism.eq_ignore_ascii_case(b"TLS-C")
        {
            false
        } else if mechanism.eq_ignore_ascii_case(b"SSL") || mechanism.eq_ignore_ascii_case(b"TLS-P")
        {
            true
        } else {
            self.reply(504, "AUTH mechanism not supported; use AUTH TLS.");
            return;
        };
        self.reply(234, "Proceed with negotiation.");
        // RFC 4217 §4 (and the STARTTLS injection attack): nothing the client sent behind
        // AUTH before the handshake is trusted; the next command comes through TLS.
        self.inbuf.clear();
        self.queue.clear();
        self.decoder = LineDecoder::new(self.config.max_line_len);
        self.requests.push_back(Request::StartTls);
        self.tls_pending = true;
        self.secure = true;
        self.pbsz = false;
        self.protect_data = protect_data;
        // RFC 2228 §3 AUTH: an accepted AUTH requires the user to log in again.
        if !matches!(self.auth, Auth::Greeted) {
            if matches!(self.data, DataSetup::Passive(_)) {
                self.requests.push_back(Request::ClosePassive);
            }
            self.data = DataSetup::None;
            self.auth = Auth::Greeted;
            self.cwd = VirtualPath::root();
        }
    }

    fn on_pbsz(&mut self) {
        if !self.secure {
            self.reply(503, "PBSZ requires AUTH TLS first.");
            return;
        }
        // RFC 4217 §8: the buffer size is meaningless for TLS; any value is answered 0.
        self.pbsz = true;
        self.reply(200, "PBSZ=0");
    }

    fn on_prot(&mut self, level: ProtectionLevel) {
        if !self.secure {
            self.reply(503, "PROT requires AUTH TLS first.");
            return;
        }
        if !self.pbsz {
            self.reply(503, "PROT requires PBSZ first.");
            return;
        }
        match level {
            ProtectionLevel::Private => {
                self.protect_data = true;
                self.reply(200, "Protection level set to P.");
            }
            ProtectionLevel::Clear if self.config.tls.data_required() => {
                self.reply(534, "Data connections must be protected: use PROT P.");
            }
            ProtectionLevel::Clear => {
                self.protect_data = false;
                self.reply(200, "Protection level set to C.");
            }
            _ => self.reply(536, "Only PROT C and PROT P are supported."),
        }
    }

    fn on_ccc(&mut self) {
        if !self.secure {
            // RFC 2228 §4: 533 for a command that needs a protected control connection.
            self.reply(533, "CCC requires a TLS control connection.");
        } else {
            // RFC 4217 §6: a server may refuse to clear the control connection.
            self.reply(534, "CCC refused: the control connection stays protected.");
        }
    }

    fn on_status(&mut self) {
        let mut lines = vec![Bytes::from_static(b"FTP server status:")];
        lines.push(Bytes::from(format!(" Connected to {}", self.peer.ip())));
        match &self.auth {
            Auth::LoggedIn { user, .. } => {
                let mut l = b" Logged in as ".to_vec();
                l.extend_from_slice(user);
                lines.push(Bytes::from(l));
            }
            _ => lines.push(Bytes::from_static(b" Not logged in")),
        }
        lines.push(Bytes::from_static(if self.ascii {
            b" TYPE: ASCII"
        } else {
            b" TYPE: BINARY"
        }));
        lines.push(Bytes::from_static(match self.data {
            DataSetup::None => b" Data connection: none",
            DataSetup::Passive(_) => b" Data connection: passive",
            DataSetup::Active(_) => b" Data connection: active",
        }));
        lines.push(Bytes::from_static(
            match (self.secure, self.data_protected()) {
                (false, _) => b" Control connection: cleartext",
                (true, false) => b" Control connection: TLS; data connections: cleartext",
                (true, true) => b" Control connection: TLS; data connections: TLS",
            },
        ));
        lines.push(Bytes::from_static(b"End of status"));
        self.reply_lines(211, lines);
    }

    fn stat_during_transfer(&mut self) {
        // RFC 959 §4.1.3 STAT: "if sent during a file transfer, the server shall respond with
        // the status of the operation in progress".
        let Some(t) = &self.transfer else { return };
        let mut l = b" Transferring ".to_vec();
        l.extend_from_slice(&t.label);
        l.extend_from_slice(format!(": {} bytes", t.bytes).as_bytes());
        let lines = vec![
            Bytes::from_static(b"Transfer status:"),
            Bytes::from(l),
            Bytes::from_static(b"End of status"),
        ];
        self.reply_lines(213, lines);
    }

    // ----------------------------------------------------------------------------------------
    // Files and directories
    // ----------------------------------------------------------------------------------------

    fn resolve(&mut self, arg: &[u8]) -> Option<VirtualPath> {
        match self.cwd.resolve(arg) {
            Ok(p) => Some(p),
            Err(PathError::TooLong) => {
                self.reply(553, "Path too long.");
                None
            }
            Err(_) => {
                self.reply(553, "File name not allowed.");
                None
            }
        }
    }

    fn storage(&mut self, op: StorageOp, pending: Pending) {
        let id = self.next_id();
        self.requests.push_back(Request::Storage { id, op });
        self.pending = Some((id, pending));
    }

    fn writable(&mut self) -> bool {
        let ok = matches!(&self.auth, Auth::LoggedIn { info, .. } if info.writable);
        if !ok {
            self.reply(550, "Permission denied.");
        }
        ok
    }

    fn on_pwd(&mut self) {
        // RFC 959 Appendix II: 257 "<path>" with embedded quotes doubled.
        let mut text = Vec::new();
        crate::reply::quote_path(self.cwd.as_bytes(), &mut text);
        text.extend_from_slice(b" is the current directory");
        self.reply(257, text);
    }

    fn on_cwd(&mut self, arg: &[u8]) {
        if let Some(path) = self.resolve(arg) {
            self.storage(StorageOp::Metadata(path.clone()), Pending::Cwd(path));
        }
    }

    fn on_write_op(&mut self, arg: &[u8], op: WriteOp) {
        if !self.writable() {
            return;
        }
        let Some(path) = self.resolve(arg) else {
            return;
        };
        match op {
            WriteOp::Mkd => self.storage(StorageOp::MakeDir(path.clone()), Pending::Mkd(path)),
            WriteOp::Rmd => self.storage(
                StorageOp::RemoveDir(path),
                Pending::Done("Directory removed."),
            ),
            WriteOp::Dele => self.storage(StorageOp::Delete(path), Pending::Done("File deleted.")),
            WriteOp::Rnfr => self.storage(StorageOp::Metadata(path.clone()), Pending::Rnfr(path)),
            WriteOp::Mfmt(time) => self.storage(
                StorageOp::SetModified {
                    path: path.clone(),
                    time,
                },
                Pending::Mfmt(time, path),
            ),
        }
    }

    fn on_rnto(&mut self, arg: &[u8], from: Option<VirtualPath>) {
        let Some(from) = from else {
            // RFC 959 §4.1.3: RNTO must immediately follow RNFR.
            self.reply(503, "RNFR required first.");
            return;
        };
        if !self.writable() {
            return;
        }
        let Some(to) = self.resolve(arg) else { return };
        self.storage(
            StorageOp::Rename { from, to },
            Pending::Done("Rename successful."),
        );
    }

    fn on_size(&mut self, arg: &[u8]) {
        // RFC 3659 §4: SIZE depends on TYPE. In ASCII mode the size would need reading the
        // whole file; like vsftpd this server refuses it with 550.
        if self.ascii {
            self.reply(550, "SIZE not allowed in ASCII mode.");
            return;
        }
        self.on_stat_op(arg, Pending::Size);
    }

    fn on_stat_op(&mut self, arg: &[u8], pending: Pending) {
        if let Some(path) = self.resolve(arg) {
            self.storage(StorageOp::Metadata(path), pending);
        }
    }

    fn on_mlst(&mut self, arg: &[u8]) {
        if let Some(path) = self.resolve(arg) {
            self.storage(StorageOp::Metadata(path.clone()), Pending::Mlst(path));
        }
    }

    fn on_stat_path(&mut self, arg: &[u8]) {
        let (_, arg) = split_list_options(arg);
        if let Some(path) = self.resolve(arg) {
            self.storage(StorageOp::List(path.clone()), Pending::StatPath(path));
        }
    }

    fn on_site(&mut self, command: Bytes) {
        if !self.config.site_enabled {
            self.reply(502, "SITE not implemented.");
            return;
        }
        let id = self.next_id();
        self.requests.push_back(Request::Site { id, command });
        self.pending = Some((id, Pending::Site));
    }

    /// Builds the reply to a completed request.
    fn complete(&mut self, pending: Pending, outcome: Outcome, now: Instant) {
        if let Outcome::Failed(e) = outcome {
            return self.failed(pending, e, now);
        }
        match (pending, outcome) {
            (Pending::Auth, Outcome::LoggedIn(info)) => {
                let user = match std::mem::replace(&mut self.auth, Auth::Greeted) {
                    Auth::Authenticating { user, .. } => user,
                    _ => Bytes::new(),
                };
                self.cwd = VirtualPath::new(&info.home).unwrap_or_default();
                self.login_failures = 0;
                self.auth = Auth::LoggedIn { user, info };
                self.reply(230, "Login successful.");
            }
            (Pending::Auth, Outcome::NeedAccount) => {
                match std::mem::replace(&mut self.auth, Auth::Greeted) {
                    Auth::Authenticating { user, password } => {
                        self.auth = Auth::NeedAccount { user, password };
                        self.reply(332, "Need account for login.");
                    }
                    _ => self.login_failed(now),
                }
            }
            (Pending::Auth, _) => self.login_failed(now),
            (Pending::Cwd(path), Outcome::Metadata(e)) => {
                if is_dir(&e) {
                    self.cwd = path;
                    self.reply(250, "Directory successfully changed.");
                } else {
                    self.reply(550, "Not a directory.");
                }
            }
            (Pending::Mkd(path), Outcome::Done) => {
                let mut text = Vec::new();
                crate::reply::quote_path(path.as_bytes(), &mut text);
                text.extend_from_slice(b" created");
                self.reply(257, text);
            }
            (Pending::Done(text), Outcome::Done) => self.reply(250, text),
            (Pending::Rnfr(path), Outcome::Metadata(_)) => {
                self.rename_from = Some(path);
                self.reply(350, "Ready for RNTO.");
            }
            (Pending::Size, Outcome::Metadata(e)) => match e.size {
                Some(size) if e.kind == EntryKind::File => self.reply(213, size.to_string()),
                _ => self.reply(550, "Not a regular file."),
            },
            (Pending::Mdtm, Outcome::Metadata(e)) => match e.modified {
                // RFC 3659 §3: 213 YYYYMMDDHHMMSS, UTC.
                Some(Modified::Exact(t)) => self.reply(213, t.to_string()),
                _ => self.reply(550, "Modification time unknown."),
            },
            (Pending::Mfmt(time, path), Outcome::Done) => {
                // draft-somers-ftp-mfxx §3: 213 Modify=YYYYMMDDHHMMSS; path
                let mut text = format!("Modify={time}; ").into_bytes();
                text.extend_from_slice(path.as_bytes());
                self.reply(213, text);
            }
            (Pending::Mlst(path), Outcome::Metadata(mut e)) => {
                // RFC 3659 §7.2: 250-, one fact line starting with a space, 250 End. The
                // name in the fact line is the full pathname.
                e.name = path.to_bytes();
                self.mlst_facts.apply(&mut e);
                let mut fact = vec![b' '];
                listing::format_mlsx_line(&e, &mut fact);
                let mut first = b"Listing ".to_vec();
                first.extend_from_slice(path.as_bytes());
                let lines = vec![
                    Bytes::from(first),
                    Bytes::from(fact),
                    Bytes::from_static(b"End"),
                ];
                self.reply_lines(250, lines);
            }
            (Pending::StatPath(path), Outcome::Listing { entries, now_unix }) => {
                // RFC 959 §4.1.3 STAT pathname: a listing over the control connection.
                let mut first = b"Status of ".to_vec();
                first.extend_from_slice(path.as_bytes());
                first.push(b':');
                let mut lines = vec![Bytes::from(first)];
                let max = self.config.max_stat_entries;
                for e in entries.iter().take(max) {
                    let mut l = Vec::new();
                    listing::format_unix_line(e, now_unix, &mut l);
                    lines.push(Bytes::from(l));
                }
                if entries.len() > max {
                    lines.push(Bytes::from(format!(
                        " ... {} more entries",
                        entries.len() - max
                    )));
                }
                lines.push(Bytes::from_static(b"End of status"));
                self.reply_lines(213, lines);
            }
            (Pending::Passive(kind), Outcome::PassiveOpened(addr)) => {
                self.passive_opened(kind, addr)
            }
            (Pending::Site, Outcome::SiteReply { code, text }) => {
                let code = if (200..600).contains(&code) {
                    code
                } else {
                    500
                };
                self.reply(code, text);
            }
            (Pending::Passive(_), _) => self.reply(425, "Cannot open passive connection."),
            // An answer of the wrong kind is the embedder's bug; tell the client plainly.
            _ => self.reply(451, "Local error in processing."),
        }
    }

    fn failed(&mut self, pending: Pending, e: StorageError, now: Instant) {
        match pending {
            Pending::Auth => self.login_failed(now),
            Pending::Passive(_) => self.reply(425, "Cannot open passive connection."),
            Pending::Cwd(_) if e == StorageError::NotFound => {
                self.reply(550, "Failed to change directory.")
            }
            _ => {
                let (code, text) = map_storage_error(e);
                self.reply(code, text);
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Data connections (RFC 959 §3.2–3.3, RFC 1639, RFC 2428, RFC 2577)
    // ----------------------------------------------------------------------------------------

    fn control_is_v6(&self) -> bool {
        matches!(canonical_ip(self.local.ip()), IpAddr::V6(_))
    }

    fn on_passive(&mut self, kind: PassiveKind) {
        if self.epsv_all {
            // RFC 2428 §4: after EPSV ALL, every other data setup command is refused.
            self.reply(503, "EPSV ALL in effect; use EPSV.");
            return;
        }
        if kind == PassiveKind::Pasv && self.control_is_v6() {
            // 227 can only carry an IPv4 address (RFC 2428 §1).
            self.reply(425, "PASV on IPv6; use EPSV.");
            return;
        }
        self.open_passive(kind, self.control_is_v6());
    }

    fn on_epsv(&mut self, arg: Option<EpsvArg>) {
        let v6 = self.control_is_v6();
        match arg {
            Some(EpsvArg::All) => {
                self.epsv_all = true;
                self.reply(200, "EPSV ALL ok.");
            }
            None => self.open_passive(PassiveKind::Epsv, v6),
            Some(EpsvArg::Protocol(1)) if !v6 => self.open_passive(PassiveKind::Epsv, false),
            Some(EpsvArg::Protocol(2)) if v6 => self.open_passive(PassiveKind::Epsv, true),
            // RFC 2428 §3: 522 names the protocols the server supports here.
            _ => self.reply(
                522,
                if v6 {
                    "Network protocol not supported, use (2)"
                } else {
                    "Network protocol not supported, use (1)"
                },
            ),
        }
    }

    fn open_passive(&mut self, kind: PassiveKind, ipv6: bool) {
        // RFC 1123 §4.1.2.6: a new PASV replaces the previous listener.
        if matches!(self.data, DataSetup::Passive(_)) {
            self.requests.push_back(Request::ClosePassive);
        }
        self.data = DataSetup::None;
        let id = self.next_id();
        self.requests.push_back(Request::OpenPassive { id, ipv6 });
        self.pending = Some((id, Pending::Passive(kind)));
    }

    fn passive_opened(&mut self, kind: PassiveKind, bound: SocketAddr) {
        self.data = DataSetup::Passive(bound);
        let port = bound.port();
        match kind {
            PassiveKind::Pasv => {
                let ip = self.config.passive_public_addr.unwrap_or_else(|| {
                    match canonical_ip(self.local.ip()) {
                        IpAddr::V4(v4) => v4,
                        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                    }
                });
                let mut text = Vec::new();
                address::write_pasv_reply(SocketAddrV4::new(ip, port), &mut text);
                self.reply(227, text);
            }
            PassiveKind::Epsv => {
                let mut text = Vec::new();
                address::write_epsv_reply(port, &mut text);
                self.reply(229, text);
            }
            PassiveKind::Lpsv => {
                let ip = match (
                    self.config.passive_public_addr,
                    canonical_ip(self.local.ip()),
                ) {
                    (Some(public), _) => IpAddr::V4(public),
                    (None, ip) => ip,
                };
                let mut text = Vec::new();
                address::write_lpsv_reply(SocketAddr::new(ip, port), &mut text);
                self.reply(228, text);
            }
        }
    }

    fn on_active(&mut self, addr: SocketAddr, verb: &str) {
        if self.epsv_all {
            self.reply(503, "EPSV ALL in effect; use EPSV.");
            return;
        }
        if !self.config.allow_active {
            self.reply(502, "Active mode is disabled; use PASV or EPSV.");
            return;
        }
        // RFC 2577 §3 (FTP bounce): only the control peer, only unprivileged ports. Never ask
        // the adapter to connect anywhere else.
        if canonical_ip(addr.ip()) != canonical_ip(self.peer.ip()) || addr.port() < 1024 {
            self.reply(
                504,
                "Refused: the address must be yours and the port 1024 or above.",
            );
            return;
        }
        if matches!(self.data, DataSetup::Passive(_)) {
            self.requests.push_back(Request::ClosePassive);
        }
        self.data = DataSetup::Active(addr);
        self.reply(200, format!("{verb} command successful."));
    }

    fn on_transfer(
        &mut self,
        kind: TransferKind,
        arg: &[u8],
        rest: Option<u64>,
        list: Option<(ListFormat, bool)>,
        now: Instant,
    ) {
        let writes = matches!(
            kind,
            TransferKind::Stor | TransferKind::Appe | TransferKind::Stou
        );
        if writes && !self.writable() {
            return;
        }
        let Some(path) = self.resolve(arg) else {
            return;
        };
        if self.config.tls.data_required() && !self.data_protected() {
            // RFC 4217 §9: the data connection cannot be opened with this PROT setting.
            self.reply(
                521,
                "Data connections must be protected: send PBSZ 0 and PROT P.",
            );
            return;
        }
        let data = match self.data {
            DataSetup::None => {
                self.reply(425, "Use PORT, PASV or EPSV first.");
                return;
            }
            DataSetup::Passive(_) => DataChannel::Passive,
            DataSetup::Active(addr) => DataChannel::Active(addr),
        };
        let offset = rest.unwrap_or(0);
        let op = match (kind, list) {
            (TransferKind::Retr, _) => TransferOp::Retr {
                path: path.clone(),
                offset,
            },
            (TransferKind::Stor, _) => TransferOp::Stor {
                path: path.clone(),
                offset,
            },
            (TransferKind::Appe, _) => TransferOp::Appe { path: path.clone() },
            (TransferKind::Stou, _) => TransferOp::Stou { dir: path.clone() },
            (TransferKind::List, Some((format, all))) => TransferOp::List {
                path: path.clone(),
                format,
                all,
            },
            (TransferKind::List, None) => TransferOp::List {
                path: path.clone(),
                format: ListFormat::Unix,
                all: false,
            },
        };
        let id = self.next_id();
        // Listings are always sent as ASCII (RFC 959 §4.1.3 LIST: "transferred ... over the
        // data connection in ASCII type or type EBCDIC"); files follow TYPE.
        let ascii = kind == TransferKind::List || self.ascii;
        let protected = self.data_protected();
        self.requests.push_back(Request::Transfer {
            id,
            op,
            data,
            ascii,
            protected,
        });
        self.transfer = Some(Transfer {
            id,
            kind,
            label: path.to_bytes(),
            opened: false,
            connected: false,
            bytes: 0,
            aborting: false,
            deadline: now + self.config.data_timeout,
        });
    }

    fn preliminary_text(&self, size: Option<u64>, name: Option<Bytes>) -> Vec<u8> {
        let Some(t) = &self.transfer else {
            return b"Ok to send data.".to_vec();
        };
        match t.kind {
            // RFC 1123 §4.1.2.9: STOU answers "150 FILE: name".
            TransferKind::Stou => {
                let mut text = b"FILE: ".to_vec();
                text.extend_from_slice(name.as_deref().unwrap_or(b""));
                text
            }
            TransferKind::List => b"Here comes the directory listing.".to_vec(),
            TransferKind::Retr => {
                let mut text = format!(
                    "Opening {} mode data connection for ",
                    if self.ascii { "ASCII" } else { "BINARY" }
                )
                .into_bytes();
                text.extend_from_slice(&t.label);
                if let Some(size) = size {
                    text.extend_from_slice(format!(" ({size} bytes)").as_bytes());
                }
                text.push(b'.');
                text
            }
            TransferKind::Stor | TransferKind::Appe => b"Ok to send data.".to_vec(),
        }
    }

    fn end_transfer(&mut self, result: Result<(), TransferError>, now: Instant) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        // RFC 1123 §4.1.2.6: a passive listener serves one transfer.
        self.data = DataSetup::None;
        if t.aborting {
            // RFC 959 §4.1.3 ABOR: 426 for the aborted transfer (or 226 if it had completed),
            // then 226 for ABOR itself.
            match result {
                Ok(()) => self.reply(226, "Transfer complete."),
                Err(_) => self.reply(426, "Connection closed; transfer aborted."),
            }
            self.reply(226, "ABOR successful.");
        } else {
            match result {
                Ok(()) => {
                    if !t.opened {
                        self.reply(150, "Ok.");
                    }
                    self.reply(226, "Transfer complete.");
                }
                Err(e) => self.transfer_error(e, t.opened),
            }
        }
        self.touch_idle(now);
        if self.shutdown_after_transfer && !self.quit_after_transfer {
            self.reply(
                421,
                "Service closing control connection: server shutting down.",
            );
            self.close();
        }
        if self.quit_after_transfer {
            // RFC 959 §4.1.1 QUIT: "if a file transfer is in progress, the connection will
            // remain open for result response and the server will then close it".
            self.reply(221, "Goodbye.");
            self.close();
        }
    }

    fn transfer_error(&mut self, e: TransferError, opened: bool) {
        let (code, text) = match e {
            TransferError::Storage(s) if !opened => map_storage_error(s),
            TransferError::Storage(StorageError::NoSpace) => (452, "Insufficient storage space."),
            TransferError::Storage(StorageError::QuotaExceeded) => (552, "Quota exceeded."),
            TransferError::Storage(_) => (451, "Local error; transfer aborted."),
            TransferError::DataConnect => (425, "Cannot open data connection."),
            TransferError::TlsHandshake => (522, "TLS negotiation on the data connection failed."),
            TransferError::TlsNotResumed => (
                522,
                "TLS session of the data connection must resume the control connection's.",
            ),
            _ => (426, "Connection closed; transfer aborted."),
        };
        self.reply(code, text);
    }

    fn abort_running(&mut self, now: Instant) {
        let data_timeout = self.config.data_timeout;
        if let Some(t) = self.transfer.as_mut() {
            t.aborting = true;
            // Wait (bounded) for the adapter to confirm the data connection is closed.
            t.deadline = now + data_timeout;
            let id = t.id;
            self.requests.push_back(Request::AbortTransfer { id });
        }
    }

    fn abort_idle(&mut self) {
        // RFC 959 §4.1.3 ABOR with nothing running: 225 "data connection open; no transfer in
        // progress", or 226 when a passive listener was closed.
        if matches!(self.data, DataSetup::Passive(_)) {
            self.requests.push_back(Request::ClosePassive);
            self.data = DataSetup::None;
            self.reply(226, "ABOR successful; passive connection closed.");
        } else {
            self.reply(225, "No transfer to abort.");
        }
    }

    fn transfer_timed_out(&mut self, now: Instant) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        self.data = DataSetup::None;
        if t.aborting {
            self.reply(426, "Connection closed; transfer aborted.");
            self.reply(226, "ABOR successful.");
        } else if !t.connected {
            // The data connection never came (RFC 1123 §4.1.3.2): 425, session continues.
            self.requests.push_back(Request::AbortTransfer { id: t.id });
            self.reply(425, "Data connection not established in time.");
        } else {
            // Stalled mid-transfer: abort, 426, then give up on the session (421).
            self.requests.push_back(Request::AbortTransfer { id: t.id });
            self.reply(426, "Data connection stalled; transfer aborted.");
            self.reply(421, "Timeout: closing control connection.");
            self.close();
            return;
        }
        self.touch_idle(now);
        if self.quit_after_transfer {
            self.reply(221, "Goodbye.");
            self.close();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum WriteOp {
    Mkd,
    Rmd,
    Dele,
    Rnfr,
    Mfmt(crate::time::FtpTime),
}

/// The table row a command belongs to.
fn verb_of(cmd: &Command) -> Verb {
    match cmd {
        Command::User(_) => Verb::User,
        Command::Pass(_) => Verb::Pass,
        Command::Acct(_) => Verb::Acct,
        Command::Host(_) => Verb::Host,
        Command::Rein => Verb::Rein,
        Command::Quit => Verb::Quit,
        Command::Feat => Verb::Feat,
        Command::Help(_) => Verb::Help,
        Command::Noop => Verb::Noop,
        Command::Syst => Verb::Syst,
        Command::Opts { .. } => Verb::Opts,
        Command::Lang(_) => Verb::Lang,
        Command::Abor => Verb::Abor,
        Command::Auth(_)
        | Command::Adat(_)
        | Command::Pbsz(_)
        | Command::Prot(_)
        | Command::Ccc
        | Command::Mic(_)
        | Command::Conf(_)
        | Command::Enc(_) => Verb::Security,
        Command::Other { .. } => Verb::Unknown,
        _ => Verb::File,
    }
}
