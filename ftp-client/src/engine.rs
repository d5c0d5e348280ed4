//! What every client shares, whatever moves its bytes: the options, the driving of the
//! [`ClientSession`] (draining its output into buffers and its events into actions for the
//! adapter), the mapping of results and errors, listing parsing, and the bookkeeping of a
//! data stream (byte counts, progress reports, ASCII conversion).
//!
//! Nothing here touches a socket: an adapter asks [`Engine::next`] what to do, does it, and
//! reports back through [`Engine::input`], [`Engine::eof`], [`Engine::timeout`] and
//! [`Engine::data`].

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::ascii::{FromNetwork, ToNetwork};
use ftp_proto::client::{
    ClientConfig, ClientError, ClientSession, DataEvent, Event, Features, ListFormat, OpId,
    Operation, Output, TlsMode, UsageError,
};
use ftp_proto::command::{FormatControl, TransferType as WireType};
use ftp_proto::listing::{parse_list_line, parse_mlsx_line, Entry, ListLine};
use ftp_proto::reply::Reply;
use ftp_proto::time::FtpTime;

use crate::error::{Error, ProtocolError};

/// How the data connection of a transfer is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DataMode {
    /// Passive, `EPSV` first, falling back to `PASV` for the rest of the session when the
    /// server refuses `EPSV` or its port cannot be reached (IPv4 only).
    #[default]
    Auto,
    /// `EPSV` only (RFC 2428).
    ExtendedPassive,
    /// `PASV` (RFC 959); `EPSV` on an IPv6 connection.
    Passive,
    /// Active: the client listens and sends `PORT` (IPv4) or `EPRT` (IPv6); only connections
    /// from the server's IP are accepted.
    Active {
        /// The local IP to listen on; `None` for the control connection's local IP.
        bind: Option<IpAddr>,
    },
}

impl DataMode {
    fn wire(self) -> ftp_proto::client::DataMode {
        use ftp_proto::client::DataMode as M;
        match self {
            DataMode::Auto => M::Auto,
            DataMode::ExtendedPassive => M::ExtendedPassive,
            DataMode::Passive => M::Passive,
            DataMode::Active { .. } => M::Active,
        }
    }

    fn bind(self) -> Option<IpAddr> {
        match self {
            DataMode::Active { bind } => bind,
            _ => None,
        }
    }
}

/// How file contents are transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransferType {
    /// `TYPE I`: bytes as they are.
    #[default]
    Binary,
    /// `TYPE A`: text. Line endings are CRLF on the wire and LF locally: the client converts
    /// them on download and upload.
    Ascii,
}

/// Settings of a client connection. Start from [`Config::default`] and change fields.
///
/// ```
/// use std::time::Duration;
/// use ftp_client::{Config, DataMode};
/// let mut config = Config::default();
/// config.connect_timeout = Duration::from_secs(5);
/// config.data_mode = DataMode::Active { bind: None };
/// config.session.reply_timeout = Duration::from_secs(10);
/// ```
///
/// With the `rustls` feature, `Config::tls` turns on FTPS (see the `tls` module).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The longest wait for the control connection to be established, TLS handshake
    /// included. Default 30 s.
    pub connect_timeout: Duration,
    /// How data connections are made. Default [`DataMode::Auto`].
    pub data_mode: DataMode,
    /// The protocol settings: reply and data timeouts, reply size caps, NAT workaround, TLS
    /// mode and data protection. Its `data_mode` is replaced by [`Config::data_mode`].
    ///
    /// Its `tls` field ([`TlsMode`]) is set by `Config::tls` (feature `rustls`); set
    /// directly to `Explicit` or `Implicit`, the server is verified against the system's
    /// roots (`Tls::system_roots`), and without the `rustls` feature connecting fails with
    /// [`Error::Usage`]. Its `protect_data` (default `true`) runs the data connections
    /// through TLS too (`PBSZ 0`, `PROT P`).
    pub session: ClientConfig,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::Tls>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connect_timeout: Duration::from_secs(30),
            data_mode: DataMode::Auto,
            session: ClientConfig::default(),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl Config {
    /// Turns on FTPS: `mode` says when TLS starts ([`TlsMode::Explicit`]: `AUTH TLS` after
    /// the greeting; [`TlsMode::Implicit`]: at once), `tls` whom to trust
    /// ([`Tls`](crate::tls::Tls)). [`TlsMode::Off`] turns TLS off again.
    ///
    /// ```
    /// use ftp_client::tls::Tls;
    /// use ftp_client::{Config, TlsMode};
    /// let config = Config::default().tls(TlsMode::Explicit, Tls::webpki_roots());
    /// assert_eq!(config.session.tls, TlsMode::Explicit);
    /// assert!(config.session.protect_data);
    /// ```
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls(mut self, mode: TlsMode, tls: crate::tls::Tls) -> Config {
        self.session.tls = mode;
        self.tls = Some(tls);
        self
    }

    /// The TLS settings of a connection to `peer`, when TLS is on.
    pub(crate) fn secure(&self, peer: IpAddr) -> Result<Option<Secure>, Error> {
        if self.session.tls == TlsMode::Off {
            return Ok(None);
        }
        #[cfg(feature = "rustls")]
        {
            let tls = self.tls.clone().unwrap_or_default();
            // A session cache of its own: the data connections resume this control
            // connection's session, never one of another FTP session (ProFTPD refuses that),
            // and the control connection starts a session of its own.
            let mut config = rustls::ClientConfig::clone(tls.rustls_config());
            config.resumption = rustls::client::Resumption::in_memory_sessions(4);
            Ok(Some(Secure {
                name: tls.name_for(peer),
                config: std::sync::Arc::new(config),
            }))
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = peer;
            Err(Error::usage(
                "TLS was asked for, but ftp-client was built without its `rustls` feature",
            ))
        }
    }
}

/// What a connection is secured with: the rustls configuration (and its session cache,
/// shared by the control and the data connections) and the name the server's certificate
/// must carry.
#[cfg(feature = "rustls")]
#[derive(Debug, Clone)]
pub(crate) struct Secure {
    pub(crate) config: std::sync::Arc<rustls::ClientConfig>,
    pub(crate) name: rustls_pki_types::ServerName<'static>,
}

/// Without the `rustls` feature there is nothing to secure a connection with.
#[cfg(not(feature = "rustls"))]
#[derive(Debug, Clone)]
pub(crate) enum Secure {}

/// A parsed directory listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries, in the order the server sent them (`.` and `..` included when sent).
    pub entries: Vec<Entry>,
    /// How many lines could not be parsed and were left out.
    pub skipped: usize,
}

/// How long a data stream may go between two progress reports to the session.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The size of the buffer a converting (ASCII) data stream reads into.
const RAW_BUF: usize = 16 * 1024;

/// What the adapter must do next for the operation it waits on.
#[derive(Debug)]
pub(crate) enum Next {
    /// Write [`Engine::take_out`] to the control connection.
    Write,
    /// Close the data connection (and stop listening).
    CloseData,
    /// Connect the data connection of `op` to this address; report `Connected` or
    /// `ConnectFailed`.
    Connect(OpId, SocketAddr),
    /// Listen on this address (port 0) for the data connection of `op`; report `Listening`.
    Listen(OpId, SocketAddr),
    /// Run the TLS handshake on the control connection (after `234`), then call
    /// [`Engine::tls_established`]; on failure, [`Engine::eof`] with the error.
    StartTls,
    /// The data connection of the awaited transfer is ready to move bytes.
    Ready,
    /// The awaited operation ended.
    Done(Result<Output, Error>),
    /// Wait for control input (and the listener's connection, if listening) until the
    /// deadline, then call [`Engine::timeout`].
    Wait(Option<Instant>),
}

/// One client session and the output it produced that the adapter has not acted on yet.
#[derive(Debug)]
pub(crate) struct Engine {
    session: ClientSession,
    out: Vec<u8>,
    actions: VecDeque<Next>,
    ready: Option<OpId>,
    done: VecDeque<(OpId, Result<Output, ClientError>)>,
    closed: bool,
    /// Why the session closed, if not by `QUIT`.
    close_error: Option<ClientError>,
    bind: Option<IpAddr>,
    /// The TLS settings, when TLS is on.
    pub(crate) secure: Option<Secure>,
    /// The data connection's I/O error, reported instead of the session's generic one.
    data_error: Option<io::Error>,
    /// The control connection's I/O error, reported instead of "connection closed".
    control_error: Option<io::Error>,
    /// The operation, address and direction (`true`: listening) of the last data connection
    /// the adapter was asked for, named in the message when it fails.
    data_target: Option<(OpId, SocketAddr, bool)>,
    pub(crate) config: Config,
    pub(crate) transfer_type: TransferType,
}

impl Engine {
    /// A session on a control connection just established from `local` to `peer`, secured
    /// with `secure` when TLS is on (implicit TLS: the handshake is done).
    pub(crate) fn new(
        config: Config,
        peer: SocketAddr,
        local: SocketAddr,
        secure: Option<Secure>,
    ) -> Engine {
        let mut session = config.session.clone();
        session.data_mode = config.data_mode.wire();
        Engine {
            session: ClientSession::new(session, peer, local, Instant::now()),
            out: Vec::new(),
            actions: VecDeque::new(),
            ready: None,
            done: VecDeque::new(),
            closed: false,
            close_error: None,
            bind: config.data_mode.bind(),
            secure,
            data_error: None,
            control_error: None,
            data_target: None,
            config,
            transfer_type: TransferType::Binary,
        }
    }

    /// The protocol session (for its getters).
    pub(crate) fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Whether the session is over.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Changes the data mode of later transfers.
    pub(crate) fn set_data_mode(&mut self, mode: DataMode) {
        self.config.data_mode = mode;
        self.bind = mode.bind();
        self.session.set_data_mode(mode.wire());
    }

    /// Queues an operation.
    pub(crate) fn start(&mut self, op: Operation) -> Result<OpId, Error> {
        // `Operation`'s Debug redacts passwords and accounts.
        tracing::debug!(?op, "ftp operation");
        let id = self
            .session
            .start(op, Instant::now())
            .map_err(usage_error)?;
        self.drain();
        Ok(id)
    }

    /// Aborts the running transfer (`ABOR`).
    pub(crate) fn abort(&mut self) -> Result<OpId, Error> {
        let id = self.session.abort(Instant::now()).map_err(usage_error)?;
        self.drain();
        Ok(id)
    }

    /// Reply bytes from the control connection.
    pub(crate) fn input(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, Instant::now());
        self.drain();
    }

    /// The control connection ended, with this error if it broke.
    pub(crate) fn eof(&mut self, error: Option<io::Error>) {
        if error.is_some() {
            self.control_error = error;
        }
        self.session.handle_eof(Instant::now());
        self.drain();
    }

    /// The TLS handshake of [`Next::StartTls`] succeeded.
    pub(crate) fn tls_established(&mut self) {
        self.session.handle_tls_established(Instant::now());
        self.drain();
    }

    /// The TLS settings of protected data connections, when they are protected.
    pub(crate) fn data_tls(&self) -> Option<&Secure> {
        self.secure
            .as_ref()
            .filter(|_| self.session.data_protected())
    }

    /// The deadline of [`Next::Wait`] passed.
    pub(crate) fn timeout(&mut self) {
        self.session.handle_timeout(Instant::now());
        self.drain();
    }

    /// What happened to the data connection of `op`.
    pub(crate) fn data(&mut self, op: OpId, event: DataEvent) {
        self.session.handle_data(op, event, Instant::now());
        self.drain();
    }

    /// The data connection of `op` could not be established. A plain error (a system call's,
    /// such as a refused or timed-out connect) keeps its kind and gets a message that names
    /// the address connected to (or listened on); an error that wraps another one (which
    /// callers may want to inspect) is kept as it is.
    pub(crate) fn connect_failed(&mut self, op: OpId, error: io::Error) {
        tracing::debug!(%error, "data connection failed");
        let context = match self.data_target.take() {
            Some((id, addr, false)) if id == op => format!("data connection to {addr}"),
            Some((id, addr, true)) if id == op => {
                format!("listening for the data connection on {addr}")
            }
            _ => "data connection".to_owned(),
        };
        self.data_error = Some(if error.get_ref().is_some() {
            error
        } else {
            io::Error::new(error.kind(), format!("{context}: {error}"))
        });
        self.data(op, DataEvent::ConnectFailed);
    }

    /// The data connection of `op` broke.
    pub(crate) fn data_failed(&mut self, op: OpId, error: &io::Error) {
        tracing::debug!(%error, "data connection broke");
        self.data_error = Some(io::Error::new(error.kind(), error.to_string()));
        self.data(op, DataEvent::Failed);
    }

    /// Whether a data connection from `from` may be accepted: only the control peer's host
    /// may connect (anyone else could inject or steal the data).
    pub(crate) fn accepts(&self, from: SocketAddr) -> bool {
        from.ip().to_canonical() == self.session.peer().ip().to_canonical()
    }

    /// The control bytes to write.
    pub(crate) fn take_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn drain(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            self.out.extend_from_slice(&bytes);
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::ConnectData { op, addr } => self.actions.push_back(Next::Connect(op, addr)),
                Event::ListenData { op, ip } => {
                    let ip = self.bind.unwrap_or(ip);
                    self.actions
                        .push_back(Next::Listen(op, SocketAddr::new(ip, 0)));
                }
                Event::DataReady { op } => self.ready = Some(op),
                Event::CloseData { op } => {
                    if self.ready == Some(op) {
                        self.ready = None;
                    }
                    self.actions.push_back(Next::CloseData);
                }
                Event::Done { op, result } => self.done.push_back((op, result)),
                Event::StartTls => self.actions.push_back(Next::StartTls),
                Event::Closed { error } => {
                    if let Some(e) = &error {
                        tracing::debug!(error = %e, "session closed");
                    }
                    self.closed = true;
                    self.close_error = error;
                }
                _ => {}
            }
        }
    }

    /// What to do next while waiting for `op` to become ready (transfers) or done; with no
    /// `op`, for the greeting (done with the greeting as its reply) and, in explicit TLS,
    /// the `AUTH TLS` handshake after it.
    pub(crate) fn next(&mut self, op: Option<OpId>) -> Next {
        if !self.out.is_empty() {
            return Next::Write;
        }
        if let Some(action) = self.actions.pop_front() {
            match action {
                Next::Connect(op, addr) => self.data_target = Some((op, addr, false)),
                Next::Listen(op, addr) => self.data_target = Some((op, addr, true)),
                _ => {}
            }
            return action;
        }
        if op.is_none() {
            // A session closed by a refused AUTH TLS (or a failed handshake) ends with its
            // error below.
            let handshaking =
                self.config.session.tls == TlsMode::Explicit && !self.session.is_secure();
            if let Some(greeting) = self.session.greeting().filter(|_| !handshaking) {
                return Next::Done(Ok(Output::Reply(greeting.clone())));
            }
        }
        while let Some((id, result)) = self.done.pop_front() {
            if Some(id) == op {
                return Next::Done(result.map_err(|e| self.error(e)));
            }
            // The result of a transfer whose stream was dropped.
            tracing::debug!(op = id.get(), ?result, "result of an abandoned transfer");
        }
        if self.ready.is_some() && self.ready == op {
            self.ready = None;
            return Next::Ready;
        }
        if self.closed {
            let e = match self.close_error.take() {
                Some(e) => self.error(e),
                None => self
                    .control_error
                    .take()
                    .map_or(Error::NotConnected, Error::Io),
            };
            return Next::Done(Err(e));
        }
        Next::Wait(self.session.poll_timeout())
    }

    /// The client error for a session error.
    fn error(&mut self, e: ClientError) -> Error {
        match e {
            ClientError::Refused(r)
            | ClientError::Unavailable(r)
            | ClientError::AccountRequired(r) => Error::from_reply(&r),
            ClientError::TlsRefused(r) => Error::tls_refused(&r),
            ClientError::BadReply { reply, reason } => Error::Protocol(ProtocolError::Unexpected {
                code: reply.code.get(),
                what: reason,
            }),
            ClientError::Syntax(e) => e.into(),
            ClientError::Timeout(t) => Error::Timeout(t),
            ClientError::Data(_) => Error::Io(self.data_error.take().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::ConnectionAborted, "data connection failed")
            })),
            ClientError::Aborted => Error::Io(io::Error::new(
                io::ErrorKind::Interrupted,
                "transfer aborted",
            )),
            ClientError::ConnectionClosed => match self.control_error.take() {
                Some(e) => Error::Io(e),
                None => Error::Protocol(ProtocolError::UnexpectedEof),
            },
            ClientError::SessionClosed => Error::NotConnected,
            other => Error::Io(io::Error::other(other.to_string())),
        }
    }
}

fn usage_error(e: UsageError) -> Error {
    match e {
        UsageError::Encode(e) => e.into(),
        UsageError::Closed => Error::NotConnected,
        other => Error::usage(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------
// Operations and their results, shared by every client.

pub(crate) fn bytes(b: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(b.as_ref())
}

/// An optional argument: empty means none.
pub(crate) fn opt_bytes(b: impl AsRef<[u8]>) -> Option<Bytes> {
    let b = b.as_ref();
    (!b.is_empty()).then(|| Bytes::copy_from_slice(b))
}

/// The `TYPE` operation for a transfer type.
pub(crate) fn type_op(t: TransferType) -> Operation {
    Operation::Type(match t {
        TransferType::Binary => WireType::Image,
        TransferType::Ascii => WireType::Ascii(FormatControl::NonPrint),
    })
}

/// `quote`: a raw command line, parsed (and so checked) as a command.
pub(crate) fn quote_op(line: impl AsRef<[u8]>) -> Result<Operation, Error> {
    let line = line.as_ref();
    let line = line.strip_suffix(b"\r\n").unwrap_or(line);
    let command = ftp_proto::command::Command::parse(line)
        .map_err(|e| Error::usage(format!("not a command: {e}")))?;
    Ok(Operation::Quote(command))
}

fn unexpected(what: &'static str) -> Error {
    Error::Protocol(ProtocolError::Unexpected { code: 0, what })
}

pub(crate) fn reply(o: Output) -> Result<Reply, Error> {
    match o {
        Output::Reply(r) => Ok(r),
        _ => Err(unexpected("a reply")),
    }
}

pub(crate) fn unit(o: Output) -> Result<(), Error> {
    reply(o).map(drop)
}

pub(crate) fn path(o: Output) -> Result<Bytes, Error> {
    match o {
        Output::Path(p) => Ok(p),
        _ => Err(unexpected("a path")),
    }
}

pub(crate) fn size(o: Output) -> Result<u64, Error> {
    match o {
        Output::Size(n) => Ok(n),
        _ => Err(unexpected("a size")),
    }
}

pub(crate) fn modified(o: Output) -> Result<FtpTime, Error> {
    match o {
        Output::Modified(t) => Ok(t),
        _ => Err(unexpected("a time")),
    }
}

pub(crate) fn features(o: Output) -> Result<Features, Error> {
    match o {
        Output::Features(f) => Ok(f),
        _ => Err(unexpected("features")),
    }
}

pub(crate) fn facts(o: Output) -> Result<Entry, Error> {
    match o {
        Output::Facts(e) => Ok(*e),
        _ => Err(unexpected("facts")),
    }
}

/// The buffer of the `*_to` / `*_from` conveniences: large enough that a bulk transfer costs
/// a system call per 256 KiB, not per 8 KiB as `io::copy` would.
pub(crate) const COPY_BUF: usize = 256 * 1024;

/// Copies `reader` to `writer` through a [`COPY_BUF`] buffer; returns the bytes copied.
pub(crate) fn copy_bulk(
    reader: &mut impl io::Read,
    writer: &mut impl io::Write,
) -> io::Result<u64> {
    let mut buf = vec![0u8; COPY_BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(buf.get(..n).unwrap_or_default())?;
        total += n as u64;
    }
}

/// The result of aborting a transfer: an abort that took effect is a success, having moved
/// `moved` bytes; a transfer that completed before the abort reports its own count.
pub(crate) fn aborted(result: Result<u64, Error>, moved: u64) -> Result<u64, Error> {
    match result {
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => Ok(moved),
        other => other,
    }
}

pub(crate) fn transferred(o: Output) -> Result<u64, Error> {
    match o {
        Output::Transferred { bytes } => Ok(bytes),
        _ => Err(unexpected("a transfer")),
    }
}

/// The lines of a listing, line endings removed, empty lines left out.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (!line.is_empty()).then_some(line)
    })
}

/// Parses a `LIST` or `MLSD` listing.
pub(crate) fn parse_listing(data: &[u8], format: ListFormat) -> Listing {
    let mut listing = Listing::default();
    for line in lines(data) {
        let parsed = match format {
            ListFormat::Mlsd => parse_mlsx_line(line).map(Some),
            _ => parse_list_line(line).map(|l| match l {
                ListLine::Entry(e) => Some(e),
                _ => None,
            }),
        };
        match parsed {
            Ok(Some(entry)) => listing.entries.push(entry),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "listing line skipped");
                listing.skipped += 1;
            }
        }
    }
    listing
}

// ---------------------------------------------------------------------------------------
// Data streams.

/// The bookkeeping of one data stream: bytes moved, progress reports, end, conversion.
#[derive(Debug)]
pub(crate) struct Flow {
    pub(crate) op: OpId,
    bytes: u64,
    unreported: u64,
    last_report: Instant,
    /// The end (or a failure) was reported to the session.
    ended: bool,
    /// Download, ASCII: wire bytes read and not yet converted are `raw[pos..len]`.
    /// Upload, ASCII: converted bytes not yet written are `raw[pos..len]`.
    raw: Vec<u8>,
    pos: usize,
    len: usize,
    from: Option<FromNetwork>,
    to: Option<ToNetwork>,
    /// Download: EOF was read.
    eof: bool,
}

impl Flow {
    /// A download (`from_network`: ASCII conversion) or upload stream for `op`.
    pub(crate) fn new(op: OpId, download: bool, ascii: bool) -> Flow {
        Flow {
            op,
            bytes: 0,
            unreported: 0,
            last_report: Instant::now(),
            ended: false,
            raw: if ascii { vec![0; RAW_BUF] } else { Vec::new() },
            pos: 0,
            len: 0,
            from: (ascii && download).then(FromNetwork::new),
            to: (ascii && !download).then(ToNetwork::new),
            eof: false,
        }
    }

    /// Whether the end or a failure was reported.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Marks the stream as over without telling the session (it is being aborted).
    pub(crate) fn set_ended(&mut self) {
        self.ended = true;
    }

    /// Wire bytes moved so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// `n` wire bytes moved.
    pub(crate) fn moved(&mut self, n: usize, engine: &mut Engine) {
        self.bytes += n as u64;
        self.unreported += n as u64;
        if self.last_report.elapsed() >= PROGRESS_EVERY {
            self.report(engine);
        }
    }

    fn report(&mut self, engine: &mut Engine) {
        if self.unreported > 0 {
            engine.data(self.op, DataEvent::Progress(self.unreported));
            self.unreported = 0;
        }
        self.last_report = Instant::now();
    }

    /// The stream reached its end (EOF read, or the upload shut down).
    pub(crate) fn end(&mut self, engine: &mut Engine) {
        if !self.ended {
            self.report(engine);
            self.ended = true;
            engine.data(self.op, DataEvent::Closed { bytes: self.bytes });
        }
    }

    /// The stream broke.
    pub(crate) fn fail(&mut self, engine: &mut Engine, error: &io::Error) {
        if !self.ended {
            self.ended = true;
            engine.data_failed(self.op, error);
        }
    }

    // Downloads.

    /// Download: bytes for the caller from what was read and not yet converted; `None` when
    /// the socket must be read (into [`read_target`](Self::read_target)).
    pub(crate) fn take_converted(&mut self, out: &mut [u8]) -> Option<usize> {
        let from = self.from.as_mut()?;
        if self.pos < self.len {
            let (used, written) = from.convert_slice(&self.raw[self.pos..self.len], out);
            self.pos += used;
            if written > 0 || self.pos < self.len {
                return Some(written);
            }
            // A CR held back: more input decides.
        }
        if self.eof {
            return Some(from.finish_slice(out));
        }
        None
    }

    /// Download: whether EOF was read and every byte handed out.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof && self.pos >= self.len && !self.from.as_ref().is_some_and(|f| f.has_pending_cr())
    }

    /// Download: where to read the socket into: the caller's buffer, or the raw buffer when
    /// converting.
    pub(crate) fn read_target<'a>(&'a mut self, out: &'a mut [u8]) -> &'a mut [u8] {
        if self.from.is_some() {
            &mut self.raw[..]
        } else {
            out
        }
    }

    /// Download: `n` bytes were read into the [`read_target`](Self::read_target); returns
    /// the bytes now in the caller's buffer (`None` when converting: call
    /// [`take_converted`](Self::take_converted)).
    pub(crate) fn read_done(&mut self, n: usize, engine: &mut Engine) -> Option<usize> {
        if n == 0 {
            self.eof = true;
            self.end(engine);
        } else {
            self.moved(n, engine);
        }
        if self.from.is_some() {
            self.pos = 0;
            self.len = n;
            None
        } else {
            Some(n)
        }
    }

    // Uploads.

    /// Upload: the converted bytes still to write (empty when not converting).
    pub(crate) fn pending(&self) -> &[u8] {
        &self.raw[self.pos..self.len]
    }

    /// Upload: `n` pending (or, when not converting, caller's) bytes were written.
    pub(crate) fn wrote(&mut self, n: usize, engine: &mut Engine) {
        if self.to.is_some() {
            self.pos += n;
            if self.pos >= self.len {
                self.pos = 0;
                self.len = 0;
                self.raw.clear();
            }
        }
        self.moved(n, engine);
    }

    /// Upload: converts the caller's bytes into the pending buffer when converting (call
    /// only with nothing pending); returns `false` when the bytes go to the socket as they are.
    pub(crate) fn convert(&mut self, input: &[u8]) -> bool {
        let Some(to) = self.to.as_mut() else {
            return false;
        };
        self.raw.clear();
        to.convert(input, &mut self.raw);
        self.pos = 0;
        self.len = self.raw.len();
        true
    }
}
