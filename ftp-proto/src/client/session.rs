//! [`ClientSession`]: one control connection, from greeting to close.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::config::{ClientConfig, DataMode, TlsMode};
use super::features::Features;
use super::op::{
    ClientError, DataEvent, DataFailure, Event, ListFormat, OpId, Operation, Output, Timeout,
    UsageError,
};
use crate::address;
use crate::command::{Command, EncodeError};
use crate::listing;
use crate::reply::{self, Reply, ReplyCode, ReplyDecoder};
use crate::time::FtpTime;

/// Encodes one command line (CRLF included); refuses CR, LF and NUL in arguments.
fn encode(cmd: &Command) -> Result<Bytes, EncodeError> {
    let mut out = Vec::new();
    cmd.encode(&mut out)?;
    Ok(Bytes::from(out))
}

/// An encoded command line holding a secret (PASS, ACCT). `Debug` never shows it.
#[derive(Clone)]
struct SecretLine(Bytes);

impl fmt::Debug for SecretLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the final reply of a single-command operation becomes its output.
#[derive(Debug, Clone)]
enum Expect {
    /// `2yz` → the reply.
    Reply,
    /// `2yz` or `3yz` → the reply (a quoted command may be the first of a sequence).
    Quote,
    /// `257 "path"` → the path; the fallback is MKD's argument.
    Path(Option<Bytes>),
    /// `213 n`.
    Size,
    /// `213 YYYYMMDDHHMMSS[.sss]`.
    Mdtm,
    /// `211-` feature lines; `500`/`502` mean no features (RFC 2389 §3).
    Feat,
    /// `250-` with one fact line starting with a space (RFC 3659 §7.2).
    Mlst,
}

/// An operation, checked and encoded, waiting its turn.
#[derive(Debug)]
enum Plan {
    Login {
        user: Bytes,
        pass: SecretLine,
        acct: Option<SecretLine>,
    },
    Single {
        line: Bytes,
        expect: Expect,
    },
    Rename {
        rnfr: Bytes,
        rnto: Bytes,
    },
    Transfer {
        line: Bytes,
        rest: Option<Bytes>,
    },
    Quit(Bytes),
}

fn plan(op: Operation) -> Result<Plan, UsageError> {
    use Operation as O;
    let single = |cmd: Command, expect: Expect| -> Result<Plan, UsageError> {
        Ok(Plan::Single {
            line: encode(&cmd)?,
            expect,
        })
    };
    let transfer = |cmd: Command, offset: u64| -> Result<Plan, UsageError> {
        let rest = if offset > 0 {
            Some(encode(&Command::Rest(offset))?)
        } else {
            None
        };
        Ok(Plan::Transfer {
            line: encode(&cmd)?,
            rest,
        })
    };
    match op {
        O::Login {
            user,
            password,
            account,
        } => Ok(Plan::Login {
            user: encode(&Command::User(user))?,
            pass: SecretLine(encode(&Command::Pass(password))?),
            acct: match account {
                Some(a) => Some(SecretLine(encode(&Command::Acct(a))?)),
                None => None,
            },
        }),
        O::Quit => Ok(Plan::Quit(encode(&Command::Quit)?)),
        O::Noop => single(Command::Noop, Expect::Reply),
        O::Pwd => single(Command::Pwd, Expect::Path(None)),
        O::Cwd(p) => single(Command::Cwd(p), Expect::Reply),
        O::Cdup => single(Command::Cdup, Expect::Reply),
        O::Mkd(p) => single(Command::Mkd(p.clone()), Expect::Path(Some(p))),
        O::Rmd(p) => single(Command::Rmd(p), Expect::Reply),
        O::Dele(p) => single(Command::Dele(p), Expect::Reply),
        O::Rename { from, to } => Ok(Plan::Rename {
            rnfr: encode(&Command::Rnfr(from))?,
            rnto: encode(&Command::Rnto(to))?,
        }),
        O::Size(p) => single(Command::Size(p), Expect::Size),
        O::Mdtm(p) => single(Command::Mdtm(p), Expect::Mdtm),
        O::SetMtime { path, time } => single(Command::Mfmt { time, path }, Expect::Reply),
        O::Feat => single(Command::Feat, Expect::Feat),
        O::Opts { name, value } => single(Command::Opts { name, value }, Expect::Reply),
        O::Site(t) => single(Command::Site(t), Expect::Reply),
        O::Stat(p) => single(Command::Stat(p), Expect::Reply),
        O::Syst => single(Command::Syst, Expect::Reply),
        O::Help(t) => single(Command::Help(t), Expect::Reply),
        O::Type(t) => single(Command::Type(t), Expect::Reply),
        O::Quote(cmd) => match cmd {
            Command::Retr(_)
            | Command::Stor(_)
            | Command::Stou(_)
            | Command::Appe(_)
            | Command::List(_)
            | Command::Nlst(_)
            | Command::Mlsd(_) => Err(UsageError::NeedsDataConnection),
            cmd => single(cmd, Expect::Quote),
        },
        O::Retrieve { path, offset } => transfer(Command::Retr(path), offset),
        O::Store { path, offset } => transfer(Command::Stor(path), offset),
        O::Append { path } => transfer(Command::Appe(path), 0),
        O::List { path, format } => {
            let cmd = match format {
                ListFormat::List => Command::List(path),
                ListFormat::Nlst => Command::Nlst(path),
                ListFormat::Mlsd => Command::Mlsd(path),
            };
            transfer(cmd, 0)
        }
        O::Mlst(p) => single(Command::Mlst(p), Expect::Mlst),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginStage {
    User,
    Pass,
    Acct,
}

/// Where a transfer stands; see the transfer table in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// `EPSV` sent, waiting for `229`.
    Epsv,
    /// `PASV` sent, waiting for `227`.
    Pasv,
    /// `ConnectData` emitted, waiting for `Connected`.
    Connecting,
    /// `ListenData` emitted, waiting for `Listening`.
    Listening,
    /// `PORT`/`EPRT` sent, waiting for `200`.
    Port,
    /// `REST` sent, waiting for `350`.
    Rest,
    /// The transfer command is sent.
    Sent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Epsv,
    Pasv,
    Active,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataEnd {
    Closed,
    Failed,
}

#[derive(Debug)]
enum Abort {
    No,
    /// Requested while a setup command (EPSV, PASV, PORT, REST) awaits its reply.
    Pending(ClientError),
    /// `ABOR` sent; `transfer_reply` once the transfer's own negative reply came in.
    Sent {
        error: ClientError,
        transfer_reply: bool,
    },
}

#[derive(Debug)]
struct Transfer {
    line: Bytes,
    rest: Option<Bytes>,
    stage: Stage,
    via: Via,
    /// `ConnectData` or `ListenData` was emitted: failures must emit `CloseData`.
    data_requested: bool,
    connected: bool,
    data_end: Option<DataEnd>,
    bytes: u64,
    /// A `1yz` came.
    prelim: bool,
    ready_sent: bool,
    /// The positive final reply, once in (the transfer then waits for the data side).
    final_ok: bool,
    deadline: Option<(Instant, Timeout)>,
    abort: Abort,
}

#[derive(Debug)]
enum Task {
    /// Waiting for `220` (RFC 959 §5.4: `120` first is possible).
    Greeting,
    Login {
        stage: LoginStage,
        pass: SecretLine,
        acct: Option<SecretLine>,
    },
    Single(Expect),
    /// `rnto` is `Some` until the reply to RNFR.
    Rename {
        rnto: Option<Bytes>,
    },
    Transfer(Box<Transfer>),
    /// `AUTH TLS` sent after the greeting, waiting for `234`.
    AuthTls,
    /// `StartTls` emitted, waiting for [`ClientSession::handle_tls_established`].
    Handshake,
    /// Logged in; `PBSZ 0` (`prot: false`) or `PROT P` (`prot: true`) sent. `welcome` is the
    /// login's reply, the operation's output.
    Protect {
        prot: bool,
        welcome: Reply,
    },
    Quit,
    /// `NOOP` after an `ABOR` answered by a single `2yz`: swallows a late `225`/`226`.
    Resync,
}

#[derive(Debug)]
struct Current {
    id: OpId,
    task: Task,
    /// No `Done` event is due for this task (greeting, resync).
    silent: bool,
}

/// What a handler decided.
enum Flow {
    /// Keep running this task.
    Keep(Task),
    /// The operation ended.
    Finish(Result<Output, ClientError>),
    /// The operation ended; run this internal task before the next one.
    Chain(Result<Output, ClientError>, Task),
    /// The operation ended and the session closes in order (QUIT).
    Quit(Result<Output, ClientError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Epsv {
    Unknown,
    Works,
    Refused,
}

/// The error for a final reply that is not the positive one expected.
fn not_positive(reply: Reply) -> ClientError {
    if reply.code.is_negative() {
        ClientError::Refused(reply)
    } else {
        ClientError::BadReply {
            reply,
            reason: "not the reply this command expects",
        }
    }
}

/// Whether a refused `EPSV` should make an automatic client fall back to `PASV`: the
/// command is unknown or unimplemented (`500`, `501`, `502`, `504`), the protocol is not
/// supported (`522`, RFC 2428 §3), or the text names EPSV.
fn epsv_refusal(reply: &Reply) -> bool {
    matches!(reply.code.get(), 500 | 501 | 502 | 504 | 522)
        || reply
            .iter_lines()
            .any(|l| l.windows(4).any(|w| w.eq_ignore_ascii_case(b"EPSV")))
}

/// The first line of `reply` for which `f` succeeds (passive replies may spread their
/// address over several lines).
fn scan_lines<T, E>(reply: &Reply, f: impl Fn(&[u8]) -> Result<T, E>) -> Option<T> {
    reply.iter_lines().find_map(|l| f(l).ok())
}

/// Where to connect for a `227` address.
///
/// With the NAT workaround (the default, as curl's `--ftp-skip-pasv-ip`), always the control
/// peer's IP with the announced port: this handles `0,0,0,0`, a private address announced
/// behind NAT, and refuses a server's attempt to direct the client at a third host.
/// Without it, the announced address, unless it is `0.0.0.0`.
fn pasv_target(announced: std::net::SocketAddrV4, peer: SocketAddr, nat: bool) -> SocketAddr {
    if nat || announced.ip().is_unspecified() {
        SocketAddr::new(peer.ip(), announced.port())
    } else {
        SocketAddr::V4(announced)
    }
}

/// A reply with `code` and no text.
fn reply_of(code: ReplyCode) -> Reply {
    Reply::new(code, Bytes::new())
}

/// The first whitespace-separated word of a reply's text.
fn first_word(text: &[u8]) -> &[u8] {
    let t = text.trim_ascii_start();
    let end = t
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(t.len());
    t.get(..end).unwrap_or_default()
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The client side of one FTP control connection, as a sans-IO state machine.
///
/// Construct it once the control connection is established; it waits for the greeting.
/// Queue [`Operation`]s with [`start`](Self::start); feed it with the `handle_*` methods and,
/// after every `handle_*`, [`start`](Self::start) or [`abort`](Self::abort) call, drain its
/// output in this order:
///
/// 1. [`poll_transmit`](Self::poll_transmit) until `None`: write the bytes to the control
///    connection;
/// 2. [`poll_event`](Self::poll_event) until `None`: open, listen on or close data
///    connections, move data, deliver results;
/// 3. [`poll_timeout`](Self::poll_timeout): (re)arm the single timer; when it fires call
///    [`handle_timeout`](Self::handle_timeout);
/// 4. after [`Event::Closed`], close the control connection once the bytes are written.
///
/// See the [module documentation](super) for the state tables.
pub struct ClientSession {
    config: ClientConfig,
    peer: SocketAddr,
    local: SocketAddr,

    decoder: ReplyDecoder,
    /// Reply bytes not yet decoded: at most one partial reply line (the decoder's caps).
    inbuf: BytesMut,
    /// Encoded commands not yet taken by `poll_transmit`.
    out: Vec<u8>,
    events: VecDeque<Event>,
    /// Operations waiting behind the current one (bounded by `max_queued`).
    queue: VecDeque<(OpId, Plan)>,
    current: Option<Current>,
    /// A command awaits its final reply; a reply arriving otherwise is unsolicited.
    awaiting: bool,
    reply_deadline: Option<Instant>,
    next_id: u64,
    closed: bool,

    greeting: Option<Reply>,
    logged_in: bool,
    features: Option<Features>,
    epsv: Epsv,
    /// The control connection runs TLS.
    secure: bool,
    /// `PROT P` was accepted: data connections run TLS.
    protected: bool,
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Plans and tasks hold PASS/ACCT lines only as `SecretLine`, whose Debug is redacted.
        f.debug_struct("ClientSession")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("current", &self.current)
            .field("queued", &self.queue.len())
            .field("logged_in", &self.logged_in)
            .field("epsv", &self.epsv)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// A session on a freshly established control connection from `control_local` to
    /// `control_peer`, waiting for the server's greeting (for at most `reply_timeout`).
    pub fn new(
        config: ClientConfig,
        control_peer: SocketAddr,
        control_local: SocketAddr,
        now: Instant,
    ) -> Self {
        let decoder = ReplyDecoder::new()
            .with_max_line_len(config.max_reply_line_len)
            .with_max_reply_len(config.max_reply_len)
            .with_max_lines(config.max_reply_lines);
        let reply_deadline = Some(now + config.reply_timeout);
        let config_tls = config.tls;
        ClientSession {
            config,
            peer: control_peer,
            local: control_local,
            decoder,
            inbuf: BytesMut::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            current: Some(Current {
                id: OpId(0),
                task: Task::Greeting,
                silent: true,
            }),
            awaiting: true,
            reply_deadline,
            next_id: 1,
            closed: false,
            greeting: None,
            logged_in: false,
            features: None,
            epsv: Epsv::Unknown,
            secure: config_tls == TlsMode::Implicit,
            protected: false,
        }
    }

    // -----------------------------------------------------------------------------------
    // Getters
    // -----------------------------------------------------------------------------------

    /// The control connection's peer.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The control connection's local address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The `220` greeting, once received.
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// The features of the last [`Operation::Feat`], if one ran.
    pub fn features(&self) -> Option<&Features> {
        self.features.as_ref()
    }

    /// The listing to ask for: `MLSD` if FEAT announced `MLST`, else `LIST` (also before FEAT
    /// ran).
    pub fn preferred_list_format(&self) -> ListFormat {
        self.features
            .as_ref()
            .map_or(ListFormat::List, Features::list_format)
    }

    /// Whether the last login succeeded.
    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// Whether the control connection runs TLS (implicit, or after `AUTH TLS`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether data connections run TLS (`PROT P` was accepted): the adapter wraps each data
    /// connection in TLS at [`Event::DataReady`].
    pub fn data_protected(&self) -> bool {
        self.secure && self.protected
    }

    /// Whether the server refused `EPSV` (or its data connection) in automatic mode, so
    /// transfers use `PASV`.
    pub fn epsv_refused(&self) -> bool {
        self.epsv == Epsv::Refused
    }

    /// Whether no operation runs or waits (the greeting counts as running).
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// Whether the session is over ([`Event::Closed`] was queued).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Changes how the data connections of later transfers are set up; a transfer already
    /// running keeps its own. An earlier EPSV refusal in [`DataMode::Auto`] is remembered.
    pub fn set_data_mode(&mut self, mode: DataMode) {
        self.config.data_mode = mode;
    }

    // -----------------------------------------------------------------------------------
    // Application calls
    // -----------------------------------------------------------------------------------

    /// Queues an operation; it runs when the ones before it (and the greeting) are done.
    ///
    /// Arguments are encoded here: a path with CR, LF or NUL is refused with
    /// [`UsageError::Encode`] and nothing is sent.
    pub fn start(&mut self, op: Operation, now: Instant) -> Result<OpId, UsageError> {
        if self.closed {
            return Err(UsageError::Closed);
        }
        let plan = plan(op)?;
        if self.queue.len() >= self.config.max_queued {
            return Err(UsageError::QueueFull);
        }
        let id = OpId(self.next_id);
        self.next_id += 1;
        self.queue.push_back((id, plan));
        self.start_next(now);
        Ok(id)
    }

    /// Aborts the running transfer.
    ///
    /// Before the transfer command is sent, the operation ends at once (or when the reply
    /// to the setup command in flight arrives). Once it is sent, `ABOR` is sent (RFC 959
    /// §4.1.3) as a plain line: servers read it in-band; an adapter that wants the Telnet
    /// IP + Synch prefix sends it as urgent data itself before the bytes of
    /// [`poll_transmit`](Self::poll_transmit). The operation ends with
    /// [`ClientError::Aborted`] after `426` then `226`, or `226`/`225` alone.
    pub fn abort(&mut self, now: Instant) -> Result<OpId, UsageError> {
        let Some(cur) = self.current.take() else {
            return Err(UsageError::NothingToAbort);
        };
        let Current { id, task, silent } = cur;
        let t = match task {
            Task::Transfer(t) if !silent && matches!(t.abort, Abort::No) => t,
            task => {
                self.current = Some(Current { id, task, silent });
                return Err(UsageError::NothingToAbort);
            }
        };
        let flow = self.abort_transfer(id, t, ClientError::Aborted, now);
        self.apply(id, silent, flow);
        self.start_next(now);
        Ok(id)
    }

    // -----------------------------------------------------------------------------------
    // Input
    // -----------------------------------------------------------------------------------

    /// Reply bytes from the control connection, in chunks of any size.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.closed {
            return;
        }
        if let Some(Current {
            task: Task::Handshake,
            ..
        }) = &self.current
        {
            // Cleartext between 234 and the handshake is not the server speaking through TLS:
            // none of it may become part of a later reply.
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        while !self.closed {
            match self.decoder.decode(&mut self.inbuf) {
                Ok(Some(reply)) => self.on_reply(reply, now),
                Ok(None) => break,
                Err(e) => {
                    self.close(Some(ClientError::Syntax(e)), Some(ClientError::Syntax(e)));
                }
            }
        }
        self.start_next(now);
    }

    /// The control connection reached EOF. A reply cut short by the EOF is still read.
    pub fn handle_eof(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Ok(Some(reply)) = self.decoder.decode_eof(&mut self.inbuf) {
            self.on_reply(reply, now);
        }
        if self.closed {
            return;
        }
        let quitting = matches!(
            self.current,
            Some(Current {
                task: Task::Quit,
                ..
            })
        );
        let reason = (!quitting).then_some(ClientError::ConnectionClosed);
        self.close(Some(ClientError::ConnectionClosed), reason);
    }

    /// The timer armed from [`poll_timeout`](Self::poll_timeout) fired (calling it early
    /// does nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.reply_deadline.is_some_and(|d| d <= now) {
            // The reply stream can no longer be matched with commands.
            let e = ClientError::Timeout(Timeout::Reply);
            self.close(Some(e.clone()), Some(e));
            return;
        }
        if let Some(Current {
            id,
            task: Task::Transfer(t),
            silent,
        }) = self.current.take()
        {
            let flow = match t.deadline {
                Some((d, kind)) if d <= now => self.transfer_timeout(id, t, kind, now),
                _ => Flow::Keep(Task::Transfer(t)),
            };
            self.apply(id, silent, flow);
        }
        self.start_next(now);
    }

    /// The TLS handshake asked for by [`Event::StartTls`] succeeded: every later byte of the
    /// control connection goes through TLS. Calls at any other time are ignored.
    pub fn handle_tls_established(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(Current {
            task: Task::Handshake,
            ..
        }) = &self.current
        {
            self.current = None;
            self.secure = true;
            self.start_next(now);
        }
    }

    /// What happened to the data connection of transfer `op`. Events for an operation that
    /// is no longer running are ignored.
    pub fn handle_data(&mut self, op: OpId, event: DataEvent, now: Instant) {
        if self.closed {
            return;
        }
        match self.current.take() {
            Some(Current {
                id,
                task: Task::Transfer(t),
                silent: false,
            }) if id == op => {
                let flow = self.transfer_data(id, t, event, now);
                self.apply(id, false, flow);
            }
            other => self.current = other,
        }
        self.start_next(now);
    }

    // -----------------------------------------------------------------------------------
    // Output
    // -----------------------------------------------------------------------------------

    /// Bytes to write to the control connection.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() {
            None
        } else {
            Some(Bytes::from(std::mem::take(&mut self.out)))
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let data = match &self.current {
            Some(Current {
                task: Task::Transfer(t),
                ..
            }) => t.deadline.map(|(d, _)| d),
            _ => None,
        };
        match (self.reply_deadline, data) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // -----------------------------------------------------------------------------------
    // Machinery
    // -----------------------------------------------------------------------------------

    fn send(&mut self, line: &[u8], now: Instant) {
        self.out.extend_from_slice(line);
        self.awaiting = true;
        self.reply_deadline = Some(now + self.config.reply_timeout);
    }

    /// The same command will get another final reply (ABOR after a transfer's `426`, the
    /// NOOP of a resync after a late `226`).
    fn expect_more(&mut self, now: Instant) {
        self.awaiting = true;
        self.reply_deadline = Some(now + self.config.reply_timeout);
    }

    fn apply(&mut self, id: OpId, silent: bool, flow: Flow) {
        match flow {
            Flow::Keep(task) => self.current = Some(Current { id, task, silent }),
            Flow::Finish(result) => {
                if !silent {
                    self.events.push_back(Event::Done { op: id, result });
                }
            }
            Flow::Chain(result, task) => {
                if !silent {
                    self.events.push_back(Event::Done { op: id, result });
                }
                self.current = Some(Current {
                    id,
                    task,
                    silent: true,
                });
            }
            Flow::Quit(result) => {
                self.events.push_back(Event::Done { op: id, result });
                self.close(None, None);
            }
        }
    }

    /// Ends the session: the running operation fails with `current` (or
    /// [`ClientError::SessionClosed`]), queued ones with `SessionClosed`.
    fn close(&mut self, current: Option<ClientError>, reason: Option<ClientError>) {
        if self.closed {
            return;
        }
        if let Some(cur) = self.current.take() {
            if !cur.silent {
                if let Task::Transfer(t) = &cur.task {
                    if t.data_requested {
                        self.events.push_back(Event::CloseData { op: cur.id });
                    }
                }
                let error = current.unwrap_or(ClientError::SessionClosed);
                self.events.push_back(Event::Done {
                    op: cur.id,
                    result: Err(error),
                });
            }
        }
        for (id, _) in self.queue.drain(..) {
            self.events.push_back(Event::Done {
                op: id,
                result: Err(ClientError::SessionClosed),
            });
        }
        self.events.push_back(Event::Closed { error: reason });
        self.closed = true;
        self.awaiting = false;
        self.reply_deadline = None;
        self.inbuf = BytesMut::new();
    }

    fn start_next(&mut self, now: Instant) {
        while self.current.is_none() && !self.closed {
            let Some((id, plan)) = self.queue.pop_front() else {
                return;
            };
            let flow = self.begin(id, plan, now);
            self.apply(id, false, flow);
        }
    }

    fn begin(&mut self, id: OpId, plan: Plan, now: Instant) -> Flow {
        match plan {
            Plan::Login { user, pass, acct } => {
                self.logged_in = false;
                self.send(&user, now);
                Flow::Keep(Task::Login {
                    stage: LoginStage::User,
                    pass,
                    acct,
                })
            }
            Plan::Single { line, expect } => {
                self.send(&line, now);
                Flow::Keep(Task::Single(expect))
            }
            Plan::Rename { rnfr, rnto } => {
                self.send(&rnfr, now);
                Flow::Keep(Task::Rename { rnto: Some(rnto) })
            }
            Plan::Quit(line) => {
                self.send(&line, now);
                Flow::Keep(Task::Quit)
            }
            Plan::Transfer { line, rest } => {
                let mut t = Box::new(Transfer {
                    line,
                    rest,
                    stage: Stage::Epsv,
                    via: Via::Epsv,
                    data_requested: false,
                    connected: false,
                    data_end: None,
                    bytes: 0,
                    prelim: false,
                    ready_sent: false,
                    final_ok: false,
                    deadline: None,
                    abort: Abort::No,
                });
                let via = self.choose_via();
                self.setup(id, &mut t, via, now);
                Flow::Keep(Task::Transfer(t))
            }
        }
    }

    fn peer_is_v6(&self) -> bool {
        match self.peer.ip() {
            IpAddr::V4(_) => false,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().is_none(),
        }
    }

    /// Whether a refused or unusable EPSV may fall back to PASV.
    fn can_fall_back(&self) -> bool {
        self.config.data_mode == DataMode::Auto && !self.peer_is_v6()
    }

    fn choose_via(&self) -> Via {
        let v6 = self.peer_is_v6();
        match self.config.data_mode {
            DataMode::Active => Via::Active,
            DataMode::ExtendedPassive => Via::Epsv,
            DataMode::Passive if v6 => Via::Epsv,
            DataMode::Passive => Via::Pasv,
            _ if v6 || self.epsv != Epsv::Refused => Via::Epsv,
            _ => Via::Pasv,
        }
    }

    fn setup(&mut self, id: OpId, t: &mut Transfer, via: Via, now: Instant) {
        t.via = via;
        match via {
            Via::Epsv => {
                self.send(b"EPSV\r\n", now);
                t.stage = Stage::Epsv;
            }
            Via::Pasv => {
                self.send(b"PASV\r\n", now);
                t.stage = Stage::Pasv;
            }
            Via::Active => {
                t.stage = Stage::Listening;
                t.data_requested = true;
                t.deadline = Some((now + self.config.data_timeout, Timeout::DataConnect));
                self.events.push_back(Event::ListenData {
                    op: id,
                    ip: self.local.ip(),
                });
            }
        }
    }

    fn connect(&mut self, id: OpId, t: &mut Transfer, addr: SocketAddr, now: Instant) {
        t.stage = Stage::Connecting;
        t.data_requested = true;
        t.deadline = Some((now + self.config.data_timeout, Timeout::DataConnect));
        self.events.push_back(Event::ConnectData { op: id, addr });
    }

    /// Sends REST (once) or the transfer command.
    fn send_transfer_command(&mut self, t: &mut Transfer, now: Instant) {
        if let Some(rest) = t.rest.take() {
            self.send(&rest, now);
            t.stage = Stage::Rest;
        } else {
            let line = t.line.clone();
            self.send(&line, now);
            t.stage = Stage::Sent;
        }
    }

    /// Ends a transfer with an error, telling the adapter to drop its data connection.
    fn fail_transfer(&mut self, id: OpId, t: &Transfer, error: ClientError) -> Flow {
        if t.data_requested {
            self.events.push_back(Event::CloseData { op: id });
        }
        Flow::Finish(Err(error))
    }

    /// The transfer's result, if both the final reply and the data side are in.
    fn transfer_outcome(&mut self, id: OpId, t: Box<Transfer>) -> Flow {
        match (t.final_ok, t.data_end) {
            (true, Some(DataEnd::Closed)) => {
                Flow::Finish(Ok(Output::Transferred { bytes: t.bytes }))
            }
            (true, Some(DataEnd::Failed)) => {
                self.fail_transfer(id, &t, ClientError::Data(DataFailure::Lost))
            }
            _ => Flow::Keep(Task::Transfer(t)),
        }
    }

    fn maybe_ready(&mut self, id: OpId, t: &mut Transfer) {
        if !t.ready_sent && t.connected && (t.prelim || t.final_ok) && t.data_end.is_none() {
            t.ready_sent = true;
            self.events.push_back(Event::DataReady { op: id });
        }
    }

    /// Starts an abort (by the application or a data timeout).
    fn abort_transfer(
        &mut self,
        id: OpId,
        mut t: Box<Transfer>,
        error: ClientError,
        now: Instant,
    ) -> Flow {
        t.deadline = None;
        match t.stage {
            // No command in flight: nothing to tell the server.
            Stage::Connecting | Stage::Listening => self.fail_transfer(id, &t, error),
            // A setup command awaits its reply: end when it comes.
            Stage::Epsv | Stage::Pasv | Stage::Port | Stage::Rest => {
                t.abort = Abort::Pending(error);
                Flow::Keep(Task::Transfer(t))
            }
            // The server finished; only the data side was still draining.
            Stage::Sent if t.final_ok => self.fail_transfer(id, &t, error),
            Stage::Sent => {
                // RFC 959 §4.1.3: ABOR; the server answers 426 then 226, or 226 (225).
                self.send(b"ABOR\r\n", now);
                if t.data_requested {
                    self.events.push_back(Event::CloseData { op: id });
                    t.data_requested = false;
                }
                t.abort = Abort::Sent {
                    error,
                    transfer_reply: false,
                };
                Flow::Keep(Task::Transfer(t))
            }
        }
    }

    fn transfer_timeout(
        &mut self,
        id: OpId,
        mut t: Box<Transfer>,
        kind: Timeout,
        now: Instant,
    ) -> Flow {
        t.deadline = None;
        match t.stage {
            Stage::Sent | Stage::Connecting | Stage::Listening => {
                self.abort_transfer(id, t, ClientError::Timeout(kind), now)
            }
            _ => Flow::Keep(Task::Transfer(t)),
        }
    }

    // -----------------------------------------------------------------------------------
    // Replies
    // -----------------------------------------------------------------------------------

    fn on_reply(&mut self, reply: Reply, now: Instant) {
        // RFC 959 §4.2: 421 may answer any command; the server is closing the connection.
        if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE {
            let e = ClientError::Unavailable(reply);
            self.close(Some(e.clone()), Some(e));
            return;
        }
        if !self.awaiting {
            // Unsolicited (or late after a failure): nothing is waiting for it.
            return;
        }
        let Some(Current { id, task, silent }) = self.current.take() else {
            return;
        };
        if !reply.code.is_preliminary() {
            self.awaiting = false;
            self.reply_deadline = None;
        }
        let flow = match task {
            Task::Greeting => {
                let code = reply.code;
                if code.is_preliminary() {
                    // RFC 959 §5.4: 120 "ready in nnn minutes", then 220.
                    self.reply_deadline = Some(now + self.config.reply_timeout);
                    Flow::Keep(Task::Greeting)
                } else if code.is_completion() {
                    self.greeting = Some(reply);
                    if self.config.tls == TlsMode::Explicit {
                        // RFC 4217 §4: AUTH before USER, so no password goes out in clear.
                        let line = encode(&Command::Auth(Bytes::from_static(b"TLS")));
                        match line {
                            Ok(line) => {
                                self.send(&line, now);
                                Flow::Keep(Task::AuthTls)
                            }
                            Err(_) => Flow::Finish(Ok(Output::Reply(reply_of(code)))),
                        }
                    } else {
                        Flow::Finish(Ok(Output::Reply(reply_of(code))))
                    }
                } else {
                    let e = not_positive(reply);
                    self.close(None, Some(e));
                    return;
                }
            }
            Task::Login { stage, pass, acct } => self.login_reply(stage, pass, acct, reply, now),
            Task::AuthTls => {
                if reply.code.is_preliminary() {
                    Flow::Keep(Task::AuthTls)
                } else if reply.code.get() == 234 {
                    // Whatever follows the 234 in cleartext is not the server speaking through
                    // TLS: drop it (the STARTTLS injection, from the server's side).
                    self.inbuf.clear();
                    self.decoder = ReplyDecoder::new()
                        .with_max_line_len(self.config.max_reply_line_len)
                        .with_max_reply_len(self.config.max_reply_len)
                        .with_max_lines(self.config.max_reply_lines);
                    self.awaiting = false;
                    self.reply_deadline = None;
                    self.events.push_back(Event::StartTls);
                    Flow::Keep(Task::Handshake)
                } else {
                    let e = ClientError::TlsRefused(reply);
                    self.close(Some(e.clone()), Some(e));
                    return;
                }
            }
            Task::Handshake => {
                // Replies are not expected before the handshake; the stream is untrustworthy.
                let e = ClientError::BadReply {
                    reply,
                    reason: "a reply in cleartext after 234",
                };
                self.close(Some(e.clone()), Some(e));
                return;
            }
            Task::Protect { prot, welcome } => self.protect_reply(prot, welcome, reply, now),
            Task::Single(expect) => {
                if reply.code.is_preliminary() {
                    Flow::Keep(Task::Single(expect))
                } else {
                    Flow::Finish(self.single_reply(expect, reply))
                }
            }
            Task::Rename { rnto } => self.rename_reply(rnto, reply, now),
            Task::Quit => {
                if reply.code.is_preliminary() {
                    Flow::Keep(Task::Quit)
                } else if reply.code.is_completion() {
                    Flow::Quit(Ok(Output::Reply(reply)))
                } else {
                    Flow::Quit(Err(not_positive(reply)))
                }
            }
            Task::Resync => match reply.code.get() {
                100..=199 => Flow::Keep(Task::Resync),
                // ABOR's 225/226 after the transfer's 226, or the transfer's 425/426/451
                // after ABOR's 226 (ProFTPD sends that order).
                225 | 226 | 425 | 426 | 451 => {
                    // The late reply of the aborted transfer; NOOP's own is still due.
                    self.expect_more(now);
                    Flow::Keep(Task::Resync)
                }
                _ => Flow::Finish(Ok(Output::Reply(reply))),
            },
            Task::Transfer(t) => self.transfer_reply(id, t, reply, now),
        };
        self.apply(id, silent, flow);
    }

    fn login_reply(
        &mut self,
        stage: LoginStage,
        pass: SecretLine,
        mut acct: Option<SecretLine>,
        reply: Reply,
        now: Instant,
    ) -> Flow {
        let code = reply.code;
        if code.is_preliminary() {
            return Flow::Keep(Task::Login { stage, pass, acct });
        }
        // RFC 959 §5.4 (USER: 230 / 331 / 332; PASS: 230 202 / 332; ACCT: 230 202).
        if code.is_completion() {
            self.logged_in = true;
            if self.secure && self.config.protect_data && !self.protected {
                // RFC 4217 §8–9: PBSZ 0 then PROT P.
                if let Ok(line) = encode(&Command::Pbsz(0)) {
                    self.send(&line, now);
                    return Flow::Keep(Task::Protect {
                        prot: false,
                        welcome: reply,
                    });
                }
            }
            return Flow::Finish(Ok(Output::Reply(reply)));
        }
        if code == ReplyCode::NEED_ACCOUNT_FOR_LOGIN && stage != LoginStage::Acct {
            return match acct.take() {
                Some(line) => {
                    self.send(&line.0, now);
                    Flow::Keep(Task::Login {
                        stage: LoginStage::Acct,
                        pass,
                        acct,
                    })
                }
                None => Flow::Finish(Err(ClientError::AccountRequired(reply))),
            };
        }
        if code.is_intermediate() && stage == LoginStage::User {
            self.send(&pass.0, now);
            return Flow::Keep(Task::Login {
                stage: LoginStage::Pass,
                pass,
                acct,
            });
        }
        Flow::Finish(Err(not_positive(reply)))
    }

    fn protect_reply(&mut self, prot: bool, welcome: Reply, reply: Reply, now: Instant) -> Flow {
        if reply.code.is_preliminary() {
            return Flow::Keep(Task::Protect { prot, welcome });
        }
        if !reply.code.is_completion() {
            return Flow::Finish(Err(not_positive(reply)));
        }
        if prot {
            self.protected = true;
            return Flow::Finish(Ok(Output::Reply(welcome)));
        }
        match encode(&Command::Prot(crate::command::ProtectionLevel::Private)) {
            Ok(line) => {
                self.send(&line, now);
                Flow::Keep(Task::Protect {
                    prot: true,
                    welcome,
                })
            }
            Err(_) => Flow::Finish(Err(ClientError::BadReply {
                reply: welcome,
                reason: "PROT P could not be encoded",
            })),
        }
    }

    fn rename_reply(&mut self, rnto: Option<Bytes>, reply: Reply, now: Instant) -> Flow {
        let code = reply.code;
        if code.is_preliminary() {
            return Flow::Keep(Task::Rename { rnto });
        }
        match rnto {
            // RFC 959 §4.1.3: RNFR → 350, then RNTO → 250.
            Some(line) if code.is_intermediate() => {
                self.send(&line, now);
                Flow::Keep(Task::Rename { rnto: None })
            }
            Some(_) => Flow::Finish(Err(not_positive(reply))),
            None if code.is_completion() => Flow::Finish(Ok(Output::Reply(reply))),
            None => Flow::Finish(Err(not_positive(reply))),
        }
    }

    fn single_reply(&mut self, expect: Expect, reply: Reply) -> Result<Output, ClientError> {
        let code = reply.code;
        let bad = |reply: Reply, reason: &'static str| ClientError::BadReply { reply, reason };
        match expect {
            Expect::Quote if code.is_completion() || code.is_intermediate() => {
                return Ok(Output::Reply(reply))
            }
            Expect::Feat if matches!(code.get(), 500 | 502) => {
                // RFC 2389 §3: a server without FEAT answers 500 or 502.
                self.features = Some(Features::default());
                return Ok(Output::Features(Features::default()));
            }
            _ if !code.is_completion() => return Err(not_positive(reply)),
            _ => {}
        }
        match expect {
            Expect::Reply | Expect::Quote => Ok(Output::Reply(reply)),
            Expect::Path(fallback) => {
                // RFC 959 Appendix II: 257 "path" (inner quotes doubled).
                let path = reply.iter_lines().find_map(reply::parse_quoted_path);
                match path {
                    Some(p) => Ok(Output::Path(p)),
                    None => match fallback {
                        Some(p) => Ok(Output::Path(p)),
                        None => Err(bad(reply, "257 without a quoted path")),
                    },
                }
            }
            // RFC 3659 §4.2: 213 SP 1*DIGIT.
            Expect::Size => match parse_u64(first_word(reply.text())) {
                Some(n) => Ok(Output::Size(n)),
                None => Err(bad(reply, "213 without a size")),
            },
            // RFC 3659 §3.2: 213 SP time-val.
            Expect::Mdtm => match FtpTime::parse(first_word(reply.text())) {
                Ok(t) => Ok(Output::Modified(t)),
                Err(_) => Err(bad(reply, "213 without a time")),
            },
            Expect::Feat => {
                let f = Features::parse(&reply);
                self.features = Some(f.clone());
                Ok(Output::Features(f))
            }
            Expect::Mlst => {
                // RFC 3659 §7.2: the fact line is an interior line starting with a space.
                let n = reply.lines.len();
                let line = reply
                    .lines
                    .iter()
                    .take(n.saturating_sub(1))
                    .skip(1)
                    .find(|l| l.first() == Some(&b' '));
                match line.map(|l| listing::parse_mlsx_line(l)) {
                    Some(Ok(entry)) => Ok(Output::Facts(Box::new(entry))),
                    _ => Err(bad(reply, "250 without a fact line")),
                }
            }
        }
    }

    fn fall_back_to_pasv(&mut self, t: &mut Transfer, now: Instant) {
        self.epsv = Epsv::Refused;
        t.via = Via::Pasv;
        self.send(b"PASV\r\n", now);
        t.stage = Stage::Pasv;
    }

    fn transfer_reply(
        &mut self,
        id: OpId,
        mut t: Box<Transfer>,
        reply: Reply,
        now: Instant,
    ) -> Flow {
        let code = reply.code;
        match std::mem::replace(&mut t.abort, Abort::No) {
            Abort::No => {}
            Abort::Pending(error) => {
                if code.is_preliminary() {
                    t.abort = Abort::Pending(error);
                    return Flow::Keep(Task::Transfer(t));
                }
                return self.fail_transfer(id, &t, error);
            }
            Abort::Sent {
                error,
                transfer_reply,
            } => {
                if code.is_preliminary() {
                    t.abort = Abort::Sent {
                        error,
                        transfer_reply,
                    };
                    return Flow::Keep(Task::Transfer(t));
                }
                if !transfer_reply && code.is_negative() {
                    // The transfer's own reply (426, 451...); ABOR's (226/225) follows.
                    self.expect_more(now);
                    t.abort = Abort::Sent {
                        error,
                        transfer_reply: true,
                    };
                    return Flow::Keep(Task::Transfer(t));
                }
                if !transfer_reply && code.is_completion() {
                    // 226 alone, or the transfer's 226 with ABOR's still to come: NOOP
                    // tells them apart (a late 225/226 is swallowed before NOOP's 200).
                    self.send(b"NOOP\r\n", now);
                    return Flow::Chain(Err(error), Task::Resync);
                }
                return Flow::Finish(Err(error));
            }
        }
        match t.stage {
            Stage::Epsv => {
                if code.is_preliminary() {
                    return Flow::Keep(Task::Transfer(t));
                }
                if code.is_completion() {
                    // RFC 2428 §3: connect to the control connection's peer.
                    if let Some(port) = scan_lines(&reply, address::parse_epsv_reply) {
                        if self.epsv == Epsv::Unknown {
                            self.epsv = Epsv::Works;
                        }
                        let addr = SocketAddr::new(self.peer.ip(), port);
                        self.connect(id, &mut t, addr, now);
                        return Flow::Keep(Task::Transfer(t));
                    }
                    if self.can_fall_back() {
                        self.fall_back_to_pasv(&mut t, now);
                        return Flow::Keep(Task::Transfer(t));
                    }
                    return Flow::Finish(Err(ClientError::BadReply {
                        reply,
                        reason: "229 without a port",
                    }));
                }
                if self.can_fall_back() && epsv_refusal(&reply) {
                    self.fall_back_to_pasv(&mut t, now);
                    return Flow::Keep(Task::Transfer(t));
                }
                Flow::Finish(Err(not_positive(reply)))
            }
            Stage::Pasv => {
                if code.is_preliminary() {
                    return Flow::Keep(Task::Transfer(t));
                }
                if !code.is_completion() {
                    return Flow::Finish(Err(not_positive(reply)));
                }
                // RFC 1123 §4.1.2.6: scan the reply for the six numbers.
                match scan_lines(&reply, address::parse_pasv_reply) {
                    Some(a) => {
                        let addr = pasv_target(a, self.peer, self.config.nat_workaround);
                        self.connect(id, &mut t, addr, now);
                        Flow::Keep(Task::Transfer(t))
                    }
                    None => Flow::Finish(Err(ClientError::BadReply {
                        reply,
                        reason: "227 without an address",
                    })),
                }
            }
            Stage::Port => {
                if code.is_preliminary() {
                    return Flow::Keep(Task::Transfer(t));
                }
                if code.is_completion() {
                    self.send_transfer_command(&mut t, now);
                    return Flow::Keep(Task::Transfer(t));
                }
                self.fail_transfer(id, &t, not_positive(reply))
            }
            Stage::Rest => {
                if code.is_preliminary() {
                    return Flow::Keep(Task::Transfer(t));
                }
                // RFC 3659 §5.3: REST → 350.
                if !code.is_intermediate() {
                    return self.fail_transfer(id, &t, not_positive(reply));
                }
                if t.data_end == Some(DataEnd::Failed) {
                    return self.fail_transfer(id, &t, ClientError::Data(DataFailure::Lost));
                }
                self.send_transfer_command(&mut t, now);
                Flow::Keep(Task::Transfer(t))
            }
            Stage::Sent => {
                if code.is_preliminary() {
                    // 150 or 125 (RFC 959 §4.2): the transfer runs; its final reply may
                    // take as long as the data, so the reply timer stops and the data
                    // timers take over.
                    if !t.prelim {
                        t.prelim = true;
                        if t.data_end.is_some() {
                            self.reply_deadline = Some(now + self.config.reply_timeout);
                        } else {
                            self.reply_deadline = None;
                            let kind = if t.connected {
                                Timeout::DataStalled
                            } else {
                                Timeout::DataConnect
                            };
                            t.deadline = Some((now + self.config.data_timeout, kind));
                        }
                        self.maybe_ready(id, &mut t);
                    }
                    return Flow::Keep(Task::Transfer(t));
                }
                if code.is_completion() {
                    // 226 or 250; the data side may still be draining.
                    t.final_ok = true;
                    if t.data_end.is_none() && t.deadline.is_none() {
                        let kind = if t.connected {
                            Timeout::DataStalled
                        } else {
                            Timeout::DataConnect
                        };
                        t.deadline = Some((now + self.config.data_timeout, kind));
                    }
                    self.maybe_ready(id, &mut t);
                    return self.transfer_outcome(id, t);
                }
                // 425, 426, 451, 550... before or after the 150.
                self.fail_transfer(id, &t, not_positive(reply))
            }
            // No command is in flight in these stages (`awaiting` is false).
            Stage::Connecting | Stage::Listening => Flow::Keep(Task::Transfer(t)),
        }
    }

    fn transfer_data(
        &mut self,
        id: OpId,
        mut t: Box<Transfer>,
        event: DataEvent,
        now: Instant,
    ) -> Flow {
        if !matches!(t.abort, Abort::No) {
            return Flow::Keep(Task::Transfer(t));
        }
        match event {
            DataEvent::Listening(addr) => {
                if t.stage != Stage::Listening {
                    return Flow::Keep(Task::Transfer(t));
                }
                let ip = if addr.ip().is_unspecified() {
                    self.local.ip()
                } else {
                    addr.ip()
                };
                let addr = SocketAddr::new(ip, addr.port());
                let mut line = Vec::with_capacity(64);
                match addr {
                    SocketAddr::V4(a) if !self.config.active_eprt => {
                        line.extend_from_slice(b"PORT ");
                        address::write_port(a, &mut line);
                    }
                    _ => {
                        line.extend_from_slice(b"EPRT ");
                        address::write_eprt(addr, &mut line);
                    }
                }
                line.extend_from_slice(b"\r\n");
                t.deadline = None;
                t.stage = Stage::Port;
                self.send(&line, now);
                Flow::Keep(Task::Transfer(t))
            }
            DataEvent::Connected => {
                if t.connected || t.data_end.is_some() {
                    return Flow::Keep(Task::Transfer(t));
                }
                t.connected = true;
                match t.stage {
                    Stage::Connecting => {
                        t.deadline = None;
                        self.send_transfer_command(&mut t, now);
                    }
                    Stage::Sent if t.prelim || t.final_ok => {
                        t.deadline = Some((now + self.config.data_timeout, Timeout::DataStalled));
                        self.maybe_ready(id, &mut t);
                    }
                    _ => {}
                }
                Flow::Keep(Task::Transfer(t))
            }
            DataEvent::ConnectFailed if t.stage == Stage::Connecting => {
                if t.via == Via::Epsv && self.can_fall_back() {
                    // As curl: an EPSV port that cannot be reached (a firewall, a broken
                    // NAT helper) is retried with PASV, and PASV is used from then on.
                    t.deadline = None;
                    self.fall_back_to_pasv(&mut t, now);
                    return Flow::Keep(Task::Transfer(t));
                }
                self.fail_transfer(id, &t, ClientError::Data(DataFailure::ConnectFailed))
            }
            DataEvent::Progress(n) => {
                t.bytes = t.bytes.saturating_add(n);
                if t.stage == Stage::Sent && t.data_end.is_none() && t.connected {
                    t.deadline = Some((now + self.config.data_timeout, Timeout::DataStalled));
                }
                Flow::Keep(Task::Transfer(t))
            }
            DataEvent::Closed { bytes } => {
                if t.data_end.is_some() {
                    return Flow::Keep(Task::Transfer(t));
                }
                t.bytes = bytes;
                t.data_end = Some(DataEnd::Closed);
                self.data_ended(id, t, now)
            }
            DataEvent::Failed | DataEvent::ConnectFailed => {
                if t.data_end.is_some() {
                    return Flow::Keep(Task::Transfer(t));
                }
                t.data_end = Some(DataEnd::Failed);
                if t.stage == Stage::Connecting || t.stage == Stage::Listening {
                    return self.fail_transfer(id, &t, ClientError::Data(DataFailure::Lost));
                }
                self.data_ended(id, t, now)
            }
        }
    }

    /// The data side is over; the final reply may still be due.
    fn data_ended(&mut self, id: OpId, mut t: Box<Transfer>, now: Instant) -> Flow {
        t.deadline = None;
        if t.final_ok {
            return self.transfer_outcome(id, t);
        }
        if t.stage == Stage::Sent && self.awaiting {
            // The final reply is bounded again by the reply timeout.
            self.reply_deadline = Some(now + self.config.reply_timeout);
        }
        Flow::Keep(Task::Transfer(t))
    }
}
