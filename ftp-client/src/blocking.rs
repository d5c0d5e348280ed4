//! The blocking client, over `std::net`: no runtime, no threads.
//!
//! The protocol is `ftp-proto`'s [`ClientSession`](ftp_proto::client::ClientSession); this
//! module only waits on sockets. The control connection is waited on with `poll(2)` until the
//! session's next deadline, together with the data listener in active mode (only the control
//! peer's host may connect). Data sockets time out after the configured `data_timeout`.
//!
//! With TLS (feature `rustls`, `Config::tls`) the control connection
//! runs rustls over the same socket (the handshake bounded by `connect_timeout`) and protected
//! data connections are `rustls::StreamOwned` streams (their handshake bounded by
//! `data_timeout`); plaintext transfers keep their plain sockets.
//!
//! ```no_run
//! use std::io::Read;
//! use ftp_client::blocking::Client;
//! use ftp_client::Config;
//!
//! # fn main() -> ftp_client::Result<()> {
//! let mut client = Client::connect("127.0.0.1:21", Config::default())?;
//! client.login("anna", "secret")?;
//! client.store_from("hello.txt", &mut &b"hello\n"[..])?;
//! let mut text = Vec::new();
//! client.retrieve("hello.txt", 0)?.read_to_end(&mut text)?;
//! for entry in client.list("")?.entries {
//!     println!("{}", String::from_utf8_lossy(&entry.name));
//! }
//! client.quit()?;
//! # Ok(())
//! # }
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::client::{DataEvent, Features, ListFormat, OpId, Operation, Output};
use ftp_proto::listing::Entry;
use ftp_proto::reply::Reply;
use ftp_proto::time::FtpTime;
use rustix::event::{PollFd, PollFlags};

use crate::engine::{self, bytes, opt_bytes, Engine, Flow, Next, Secure};
use crate::{Config, DataMode, Error, Listing, Result, TransferType};

/// The control connection: a socket, with a TLS session on it once TLS started.
///
/// TLS is driven by hand rather than through `rustls::Stream`, so that a read never blocks
/// past what `poll(2)` announced: one socket read per wake-up, then whatever plaintext it
/// completed.
#[derive(Debug)]
struct Control {
    tcp: TcpStream,
    #[cfg(feature = "rustls")]
    tls: Option<Box<rustls::ClientConnection>>,
}

impl Control {
    fn new(tcp: TcpStream) -> Control {
        Control {
            tcp,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// Writes all of `bytes` (through TLS when on).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = self.tls.as_mut() {
            tls.writer().write_all(bytes)?;
            while tls.wants_write() {
                tls.write_tls(&mut self.tcp)?;
            }
            return Ok(());
        }
        self.tcp.write_all(bytes)
    }

    /// Whether bytes can be read without waiting on the socket (TLS plaintext already
    /// decrypted, or an error to report).
    fn buffered(&mut self) -> bool {
        #[cfg(feature = "rustls")]
        if let Some(tls) = self.tls.as_mut() {
            return tls
                .process_new_packets()
                .map_or(true, |state| state.plaintext_bytes_to_read() > 0);
        }
        false
    }

    /// Reads after `poll(2)` found the socket readable: at most one socket read. `Ok(0)` is
    /// the end of the connection; `WouldBlock` means that no plaintext is complete yet.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = self.tls.as_mut() {
            let mut socket_read = false;
            loop {
                match tls.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    // The server closed the control connection without close_notify: replies
                    // are framed, so nothing can be truncated unnoticed. The session decides
                    // whether the end was expected.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && !socket_read => {}
                    Err(e) => return Err(e),
                }
                socket_read = true;
                tls.read_tls(&mut self.tcp)?;
                let processed = tls.process_new_packets();
                // An alert or a post-handshake message may want an answer.
                while tls.wants_write() {
                    if tls.write_tls(&mut self.tcp).is_err() {
                        break;
                    }
                }
                if let Err(e) = processed {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
        }
        self.tcp.read(buf)
    }

    /// Runs the TLS client handshake on the connection within `timeout`.
    fn start_tls(&mut self, secure: &Secure, timeout: Duration) -> io::Result<()> {
        #[cfg(feature = "rustls")]
        {
            let tls = handshake(&mut self.tcp, secure, Some(timeout))?;
            // Replies are read after poll(2): no read timeout on the control socket.
            self.tcp.set_read_timeout(None)?;
            self.tcp.set_write_timeout(None)?;
            self.tls = Some(Box::new(tls));
            Ok(())
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = timeout;
            match *secure {}
        }
    }

    /// Ends the connection: TLS `close_notify` first, when on.
    fn shutdown(&mut self) {
        #[cfg(feature = "rustls")]
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            while tls.wants_write() {
                if tls.write_tls(&mut self.tcp).is_err() {
                    break;
                }
            }
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// Runs a TLS client handshake on `tcp` within `timeout` (`None`: no limit); leaves the
/// socket's read and write timeouts set to what remained of it.
#[cfg(feature = "rustls")]
fn handshake(
    tcp: &mut TcpStream,
    secure: &Secure,
    timeout: Option<Duration>,
) -> io::Result<rustls::ClientConnection> {
    let mut tls =
        rustls::ClientConnection::new(std::sync::Arc::clone(&secure.config), secure.name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    while tls.is_handshaking() {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            tcp.set_read_timeout(Some(left))?;
            tcp.set_write_timeout(Some(left))?;
        }
        match tls.complete_io(tcp) {
            Ok((0, 0)) if tls.is_handshaking() => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during the TLS handshake",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ))
            }
            Err(e) => return Err(e),
        }
    }
    // The Finished message (and anything queued with it) must be out before the first
    // command is written.
    while tls.wants_write() {
        tls.write_tls(tcp)?;
    }
    Ok(tls)
}

/// A data connection: plain, or TLS (a protected one).
#[derive(Debug)]
enum DataStream {
    Plain(TcpStream),
    #[cfg(feature = "rustls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl DataStream {
    /// Runs the TLS handshake on a new data connection when `secure` is given (its read and
    /// write timeouts are already set); plain otherwise.
    fn new(tcp: TcpStream, secure: Option<&Secure>) -> io::Result<DataStream> {
        let Some(secure) = secure else {
            return Ok(DataStream::Plain(tcp));
        };
        #[cfg(feature = "rustls")]
        {
            let mut tcp = tcp;
            let timeout = tcp.read_timeout()?;
            let tls = handshake(&mut tcp, secure, timeout)?;
            if tls.handshake_kind() == Some(rustls::HandshakeKind::Full) {
                tracing::debug!("the data connection did not resume the control's TLS session");
            }
            // Back to the data timeout (the handshake shortened the socket timeouts).
            tcp.set_read_timeout(timeout)?;
            tcp.set_write_timeout(timeout)?;
            Ok(DataStream::Tls(Box::new(rustls::StreamOwned::new(
                tls, tcp,
            ))))
        }
        #[cfg(not(feature = "rustls"))]
        {
            drop(tcp);
            match *secure {}
        }
    }

    /// Ends an upload. Plain: shuts the sending side down. TLS: sends `close_notify`, then
    /// reads until the server closes, so that the server's post-handshake messages (a TLS 1.3
    /// session ticket, the next data connection's resumption) are consumed and the close
    /// sends no RST that could cost the server the end of the data.
    fn finish_upload(self) -> io::Result<()> {
        match self {
            DataStream::Plain(tcp) => tcp.shutdown(Shutdown::Write),
            #[cfg(feature = "rustls")]
            DataStream::Tls(mut tls) => {
                tls.conn.send_close_notify();
                tls.flush()?;
                while tls.conn.wants_write() {
                    tls.conn.write_tls(&mut tls.sock)?;
                }
                let _ = tls.sock.shutdown(Shutdown::Write);
                let mut sink = [0u8; 4096];
                loop {
                    match tls.read(&mut sink) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // The data is out; the server's final reply says whether it arrived.
                        Err(e) => {
                            tracing::debug!(error = %e, "after the upload's close_notify");
                            break;
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

impl Read for DataStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            DataStream::Plain(s) => s.read(buf),
            // Without the server's close_notify, the end of a protected download is
            // `UnexpectedEof` from rustls: a truncation, reported as an error.
            #[cfg(feature = "rustls")]
            DataStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for DataStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            DataStream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            DataStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            DataStream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            DataStream::Tls(s) => s.flush(),
        }
    }
}

/// What driving the session reached.
enum Step {
    /// The awaited transfer's data connection is ready.
    Ready,
    /// The awaited operation ended successfully.
    Done(Output),
}

/// A blocking FTP client on one control connection.
#[derive(Debug)]
pub struct Client {
    control: Control,
    engine: Engine,
    listener: Option<(OpId, TcpListener)>,
    data: Option<TcpStream>,
    buf: Box<[u8]>,
}

impl Client {
    /// Connects to the server (trying each address `addr` resolves to, each for at most
    /// `config.connect_timeout`) and reads its greeting.
    ///
    /// With TLS (`Config::tls`) the connection is secured before this
    /// returns: implicit TLS first, explicit TLS (`AUTH TLS`) after the greeting. The server's
    /// certificate must be valid for the `Tls`'s server name, or else for
    /// the IP address connected to.
    pub fn connect(addr: impl ToSocketAddrs, config: Config) -> Result<Client> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, config.connect_timeout) {
                Ok(stream) => return Client::from_stream(stream, config),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Io(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        })))
    }

    /// Runs the client on an established control connection and reads the greeting (after
    /// the TLS handshake, in implicit TLS; followed by `AUTH TLS` and its handshake in
    /// explicit TLS).
    pub fn from_stream(control: TcpStream, config: Config) -> Result<Client> {
        control.set_nodelay(true)?;
        let peer = control.peer_addr()?;
        let secure = config.secure(peer.ip())?;
        let mut control = Control::new(control);
        if let (Some(secure), ftp_proto::client::TlsMode::Implicit) = (&secure, config.session.tls)
        {
            control.start_tls(secure, config.connect_timeout)?;
        }
        let engine = Engine::new(config, peer, control.tcp.local_addr()?, secure);
        let mut client = Client {
            control,
            engine,
            listener: None,
            data: None,
            buf: vec![0; 4096].into_boxed_slice(),
        };
        client.drive(None)?;
        Ok(client)
    }

    /// Runs `op` to its end.
    fn run(&mut self, op: Operation) -> Result<Output> {
        let id = self.engine.start(op)?;
        match self.drive(Some(id))? {
            Step::Done(output) => Ok(output),
            // A transfer is never started through here.
            Step::Ready => Err(Error::usage("unexpected data connection")),
        }
    }

    /// Moves bytes until `op` is ready (transfers) or done.
    fn drive(&mut self, op: Option<OpId>) -> Result<Step> {
        let data_timeout = self.engine.config.session.data_timeout;
        loop {
            match self.engine.next(op) {
                Next::Write => {
                    let out = self.engine.take_out();
                    if let Err(e) = self.control.write_all(&out) {
                        self.engine.eof(Some(e));
                    }
                }
                Next::CloseData => {
                    self.data = None;
                    self.listener = None;
                }
                Next::Connect(id, addr) => match TcpStream::connect_timeout(&addr, data_timeout) {
                    Ok(stream) => {
                        self.data = Some(stream);
                        self.engine.data(id, DataEvent::Connected);
                    }
                    Err(e) => self.engine.connect_failed(id, e),
                },
                Next::Listen(id, addr) => {
                    match TcpListener::bind(addr).and_then(|l| Ok((l.local_addr()?, l))) {
                        Ok((local, listener)) => {
                            self.listener = Some((id, listener));
                            self.engine.data(id, DataEvent::Listening(local));
                        }
                        Err(e) => self.engine.connect_failed(id, e),
                    }
                }
                Next::StartTls => {
                    let started = match self.engine.secure.as_ref() {
                        Some(secure) => self
                            .control
                            .start_tls(secure, self.engine.config.connect_timeout),
                        None => Err(io::Error::other("TLS started without TLS settings")),
                    };
                    match started {
                        Ok(()) => self.engine.tls_established(),
                        Err(e) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            self.control.shutdown();
                            self.engine.eof(Some(e));
                        }
                    }
                }
                Next::Ready => return Ok(Step::Ready),
                Next::Done(result) => return result.map(Step::Done),
                Next::Wait(deadline) => self.wait(deadline)?,
            }
        }
    }

    /// Waits for control input, the listener's connection or the deadline.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<()> {
        // TLS may hold decrypted replies the socket no longer announces.
        let buffered = self.control.buffered();
        let (control_ready, listener_ready) = {
            let timeout = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .map(|d| if buffered { Duration::ZERO } else { d })
                .or(buffered.then_some(Duration::ZERO))
                .map(|d| {
                    rustix::event::Timespec::try_from(d).unwrap_or(rustix::event::Timespec {
                        tv_sec: i64::MAX,
                        tv_nsec: 0,
                    })
                });
            let mut fds = Vec::with_capacity(2);
            fds.push(PollFd::new(&self.control.tcp, PollFlags::IN));
            if let Some((_, listener)) = &self.listener {
                fds.push(PollFd::from_borrowed_fd(listener.as_fd(), PollFlags::IN));
            }
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(Error::Io(e.into())),
            }
            let ready = |fd: &PollFd<'_>| !fd.revents().is_empty();
            (buffered || ready(&fds[0]), fds.get(1).is_some_and(ready))
        };
        if control_ready {
            match self.control.read(&mut self.buf) {
                Ok(0) => self.engine.eof(None),
                Ok(n) => self.engine.input(&self.buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => self.engine.eof(Some(e)),
            }
        }
        if listener_ready {
            if let Some((id, listener)) = &self.listener {
                let id = *id;
                match listener.accept() {
                    Ok((stream, from)) if self.engine.accepts(from) => {
                        self.listener = None;
                        self.data = Some(stream);
                        self.engine.data(id, DataEvent::Connected);
                    }
                    Ok((_, from)) => {
                        tracing::debug!(%from, "data connection from a stranger refused")
                    }
                    Err(e) => tracing::debug!(error = %e, "accept failed"),
                }
            }
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            self.engine.timeout();
        }
        Ok(())
    }

    /// Starts a transfer and waits until its data connection is ready (and, when protected,
    /// its TLS handshake done).
    fn open(&mut self, op: Operation, download: bool, convert: bool) -> Result<(DataStream, Flow)> {
        let id = self.engine.start(op)?;
        match self.drive(Some(id))? {
            Step::Ready => {}
            Step::Done(_) => return Err(Error::usage("the transfer ended before it began")),
        }
        let stream = self
            .data
            .take()
            .ok_or_else(|| Error::usage("no data connection"))?;
        let timeout = Some(self.engine.config.session.data_timeout).filter(|t| !t.is_zero());
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        let ascii = convert && self.engine.transfer_type == TransferType::Ascii;
        let mut flow = Flow::new(id, download, ascii);
        match DataStream::new(stream, self.engine.data_tls()) {
            Ok(stream) => Ok((stream, flow)),
            Err(e) => {
                tracing::debug!(error = %e, "data connection TLS handshake failed");
                // The server's reply to the broken transfer closes the operation; the
                // handshake's error is the one reported.
                flow.fail(&mut self.engine, &e);
                match self.drive(Some(id)) {
                    Err(Error::Io(_)) | Ok(_) => Err(Error::Io(e)),
                    Err(other) => Err(other),
                }
            }
        }
    }

    /// Reads a whole listing (no conversion).
    fn collect(&mut self, op: Operation) -> Result<Vec<u8>> {
        let (stream, flow) = self.open(op, true, false)?;
        let mut download = Download {
            client: self,
            stream: Some(stream),
            flow,
            result: None,
        };
        let mut data = Vec::new();
        download.read_to_end(&mut data)?;
        download.finish()?;
        Ok(data)
    }

    // -----------------------------------------------------------------------------------
    // Session

    /// The server's greeting.
    pub fn greeting(&self) -> Option<&Reply> {
        self.engine.session().greeting()
    }

    /// The features announced by the last [`feat`](Self::feat).
    pub fn features(&self) -> Option<&Features> {
        self.engine.session().features()
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.engine.session().peer()
    }

    /// The local address of the control connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.engine.session().local()
    }

    /// Whether the session has ended (after `QUIT`, a `421`, a timeout or a broken connection).
    pub fn is_closed(&self) -> bool {
        self.engine.is_closed()
    }

    /// Whether the control connection runs TLS (implicit, or after `AUTH TLS`).
    pub fn is_secure(&self) -> bool {
        self.engine.session().is_secure()
    }

    /// Whether data connections run TLS (`PROT P` was accepted after the login).
    pub fn is_data_protected(&self) -> bool {
        self.engine.session().data_protected()
    }

    /// Logs in (`USER`, then `PASS` if asked), then selects binary transfers (`TYPE I`; the
    /// protocol's default is ASCII).
    pub fn login(&mut self, user: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> Result<()> {
        self.run(Operation::Login {
            user: bytes(user),
            password: bytes(password),
            account: None,
        })?;
        self.transfer_type(TransferType::Binary)
    }

    /// Logs in as `anonymous`.
    pub fn login_anonymous(&mut self) -> Result<()> {
        self.login("anonymous", "anonymous@")
    }

    /// `QUIT`, then closes the control connection.
    pub fn quit(&mut self) -> Result<()> {
        let result = self.run(Operation::Quit).map(drop);
        self.control.shutdown();
        result
    }

    /// `NOOP`.
    pub fn noop(&mut self) -> Result<()> {
        engine::unit(self.run(Operation::Noop)?)
    }

    /// Chooses how later data connections are made.
    pub fn data_mode(&mut self, mode: DataMode) {
        self.engine.set_data_mode(mode);
    }

    /// `TYPE I` or `TYPE A`; in ASCII, downloads and uploads convert line endings.
    pub fn transfer_type(&mut self, t: TransferType) -> Result<()> {
        engine::unit(self.run(engine::type_op(t))?)?;
        self.engine.transfer_type = t;
        Ok(())
    }

    /// Aborts a transfer left running by a dropped stream, if any (`ABOR`), and waits for it
    /// to end.
    pub fn abort(&mut self) -> Result<()> {
        match self.engine.abort() {
            Ok(id) => {
                self.data = None;
                self.listener = None;
                let _ = self.drive(Some(id));
                Ok(())
            }
            Err(Error::Usage(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------
    // Directories and files

    /// `PWD`: the current directory.
    pub fn pwd(&mut self) -> Result<Bytes> {
        engine::path(self.run(Operation::Pwd)?)
    }

    /// `CWD`.
    pub fn cwd(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Cwd(bytes(path)))?)
    }

    /// `CDUP`.
    pub fn cdup(&mut self) -> Result<()> {
        engine::unit(self.run(Operation::Cdup)?)
    }

    /// `MKD`: the created directory, as the server names it.
    pub fn mkdir(&mut self, path: impl AsRef<[u8]>) -> Result<Bytes> {
        engine::path(self.run(Operation::Mkd(bytes(path)))?)
    }

    /// `RMD`.
    pub fn rmdir(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Rmd(bytes(path)))?)
    }

    /// `DELE`.
    pub fn delete(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Dele(bytes(path)))?)
    }

    /// `RNFR` and `RNTO`.
    pub fn rename(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Rename {
            from: bytes(from),
            to: bytes(to),
        })?)
    }

    /// `SIZE` (in the current transfer type).
    pub fn size(&mut self, path: impl AsRef<[u8]>) -> Result<u64> {
        engine::size(self.run(Operation::Size(bytes(path)))?)
    }

    /// `MDTM`: the modification time, UTC.
    pub fn mdtm(&mut self, path: impl AsRef<[u8]>) -> Result<FtpTime> {
        engine::modified(self.run(Operation::Mdtm(bytes(path)))?)
    }

    /// `MFMT`: sets the modification time, UTC.
    pub fn set_mtime(&mut self, path: impl AsRef<[u8]>, time: FtpTime) -> Result<()> {
        engine::unit(self.run(Operation::SetMtime {
            path: bytes(path),
            time,
        })?)
    }

    /// `MLST`: the facts of one file.
    pub fn mlst(&mut self, path: impl AsRef<[u8]>) -> Result<Entry> {
        engine::facts(self.run(Operation::Mlst(opt_bytes(path)))?)
    }

    // -----------------------------------------------------------------------------------
    // Listings

    /// The entries of a directory: `MLSD` when `FEAT` announces `MLST` (`FEAT` is sent once,
    /// on the first listing), else `LIST`, parsed. Unparsable lines are counted and skipped.
    pub fn list(&mut self, path: impl AsRef<[u8]>) -> Result<Listing> {
        if self.features().is_none() {
            self.feat()?;
        }
        let format = self.engine.session().preferred_list_format();
        self.listing(path, format)
    }

    /// `MLSD`, parsed.
    pub fn mlsd(&mut self, path: impl AsRef<[u8]>) -> Result<Listing> {
        self.listing(path, ListFormat::Mlsd)
    }

    fn listing(&mut self, path: impl AsRef<[u8]>, format: ListFormat) -> Result<Listing> {
        let data = self.collect(Operation::List {
            path: opt_bytes(path),
            format,
        })?;
        Ok(engine::parse_listing(&data, format))
    }

    /// `LIST`: the lines as sent, line endings removed.
    pub fn list_raw(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        let data = self.collect(Operation::List {
            path: opt_bytes(path),
            format: ListFormat::List,
        })?;
        Ok(engine::lines(&data).map(<[u8]>::to_vec).collect())
    }

    /// `NLST`: names.
    pub fn nlst(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Bytes>> {
        let data = self.collect(Operation::List {
            path: opt_bytes(path),
            format: ListFormat::Nlst,
        })?;
        Ok(engine::lines(&data).map(Bytes::copy_from_slice).collect())
    }

    // -----------------------------------------------------------------------------------
    // Transfers

    /// `RETR` (after `REST offset` when `offset > 0`): the file's contents. Read it to its
    /// end: the end also reads the server's final reply, and a refusal there is a read
    /// error. [`Download::finish`] returns the byte count; dropping the stream early aborts
    /// the transfer before the next operation.
    pub fn retrieve(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<Download<'_>> {
        let (stream, flow) = self.open(
            Operation::Retrieve {
                path: bytes(path),
                offset,
            },
            true,
            true,
        )?;
        Ok(Download {
            client: self,
            stream: Some(stream),
            flow,
            result: None,
        })
    }

    /// Downloads into `out`; returns the bytes written to `out`.
    pub fn retrieve_to(
        &mut self,
        path: impl AsRef<[u8]>,
        offset: u64,
        out: &mut impl Write,
    ) -> Result<u64> {
        let mut download = self.retrieve(path, offset)?;
        match engine::copy_bulk(&mut download, out) {
            Ok(n) => download.finish().map(|_| n),
            // A refusal in the final reply, or the data connection's own error.
            Err(e) => match download.result.take() {
                Some(Err(refused)) => Err(refused),
                _ => Err(Error::Io(e)),
            },
        }
    }

    /// `STOR` (after `REST offset` when `offset > 0`): write the contents, then call
    /// [`Upload::finish`]. Dropping the writer without finishing aborts the transfer.
    pub fn store(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<Upload<'_>> {
        let op = Operation::Store {
            path: bytes(path),
            offset,
        };
        self.upload(op)
    }

    /// `APPE`: write the contents, then call [`Upload::finish`].
    pub fn append(&mut self, path: impl AsRef<[u8]>) -> Result<Upload<'_>> {
        self.upload(Operation::Append { path: bytes(path) })
    }

    fn upload(&mut self, op: Operation) -> Result<Upload<'_>> {
        let (stream, flow) = self.open(op, false, true)?;
        Ok(Upload {
            client: self,
            stream: Some(stream),
            flow,
        })
    }

    /// Uploads everything `input` holds; returns the bytes read from `input`.
    pub fn store_from(&mut self, path: impl AsRef<[u8]>, input: &mut impl Read) -> Result<u64> {
        let mut upload = self.store(path, 0)?;
        // `io::copy` into a large `BufWriter` writes a slice input straight through (no copy)
        // and fills the buffer from any other reader: 256 KiB per write either way.
        let n = {
            let mut writer = io::BufWriter::with_capacity(engine::COPY_BUF, &mut upload);
            let n = io::copy(input, &mut writer)?;
            writer.flush()?;
            n
        };
        upload.finish()?;
        Ok(n)
    }

    // -----------------------------------------------------------------------------------
    // Other commands

    /// `FEAT`: the server's features (also kept: [`features`](Self::features)).
    pub fn feat(&mut self) -> Result<Features> {
        engine::features(self.run(Operation::Feat)?)
    }

    /// `OPTS name [value]`.
    pub fn opts(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Opts {
            name: bytes(name),
            value: opt_bytes(value),
        })?)
    }

    /// `SITE text`.
    pub fn site(&mut self, text: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Site(bytes(text)))?)
    }

    /// `STAT [path]`.
    pub fn stat(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Stat(opt_bytes(path)))?)
    }

    /// `SYST`.
    pub fn syst(&mut self) -> Result<Reply> {
        engine::reply(self.run(Operation::Syst)?)
    }

    /// `HELP [topic]`.
    pub fn help(&mut self, topic: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Help(opt_bytes(topic)))?)
    }

    /// A raw command line (no CR LF), for commands without a data connection.
    pub fn quote(&mut self, line: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(engine::quote_op(line)?)?)
    }
}

/// A download in progress: read it to its end.
#[derive(Debug)]
pub struct Download<'a> {
    client: &'a mut Client,
    stream: Option<DataStream>,
    flow: Flow,
    /// The operation's result, once read.
    result: Option<Result<u64>>,
}

impl Download<'_> {
    /// Reads the final reply after the end of the data; before the end, aborts the transfer
    /// (`ABOR`). Returns the bytes received over the data connection.
    pub fn finish(mut self) -> Result<u64> {
        if !self.flow.at_eof() {
            return self.abort();
        }
        self.complete();
        self.result.take().unwrap_or(Err(Error::NotConnected))
    }

    /// Aborts the transfer (`ABOR`) and waits for the server to confirm.
    pub fn abort(mut self) -> Result<u64> {
        self.stream = None;
        self.flow.set_ended();
        self.result = Some(Ok(0));
        let moved = self.flow.bytes();
        engine::aborted(abort(self.client, self.flow.op), moved)
    }

    /// Waits for the final reply once the data ended.
    fn complete(&mut self) {
        if self.result.is_none() {
            self.stream = None;
            let result = self
                .client
                .drive(Some(self.flow.op))
                .and_then(|step| match step {
                    Step::Done(output) => engine::transferred(output),
                    Step::Ready => Err(Error::usage("unexpected data connection")),
                });
            self.result = Some(result);
        }
    }
}

/// Aborts transfer `op` and waits for it to end.
fn abort(client: &mut Client, op: OpId) -> Result<u64> {
    client.engine.abort()?;
    match client.drive(Some(op))? {
        Step::Done(output) => engine::transferred(output),
        Step::Ready => Err(Error::usage("unexpected data connection")),
    }
}

impl Read for Download<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.flow.take_converted(buf) {
                if n > 0 || !self.flow.at_eof() {
                    return Ok(n);
                }
            }
            if self.flow.ended() {
                // The end of the data: the final reply decides whether it was all.
                self.complete();
                return match &self.result {
                    Some(Err(e)) => Err(io::Error::other(e.to_string())),
                    _ => Ok(0),
                };
            }
            let Some(stream) = self.stream.as_mut() else {
                return Ok(0);
            };
            match stream.read(self.flow.read_target(buf)) {
                Ok(n) => {
                    if let Some(n) = self.flow.read_done(n, &mut self.client.engine) {
                        if n > 0 {
                            return Ok(n);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.flow.fail(&mut self.client.engine, &e);
                    return Err(e);
                }
            }
        }
    }
}

impl Drop for Download<'_> {
    fn drop(&mut self) {
        if self.result.is_none() && !self.flow.ended() {
            // Abandoned: ABOR goes out before the next operation.
            self.stream = None;
            let _ = self.client.engine.abort();
        }
    }
}

/// An upload in progress: write the contents, then [`finish`](Upload::finish).
#[derive(Debug)]
pub struct Upload<'a> {
    client: &'a mut Client,
    stream: Option<DataStream>,
    flow: Flow,
}

impl Upload<'_> {
    /// Closes the data connection and waits for the server's final reply; returns the bytes
    /// sent over the data connection.
    pub fn finish(mut self) -> Result<u64> {
        if let Err(e) = self.flush_pending().and_then(|()| self.shut_down()) {
            self.flow.fail(&mut self.client.engine, &e);
        } else {
            self.flow.end(&mut self.client.engine);
        }
        self.stream = None;
        match self.client.drive(Some(self.flow.op))? {
            Step::Done(output) => engine::transferred(output),
            Step::Ready => Err(Error::usage("unexpected data connection")),
        }
    }

    /// Aborts the transfer (`ABOR`) and waits for the server to confirm.
    pub fn abort(mut self) -> Result<u64> {
        self.stream = None;
        self.flow.set_ended();
        let moved = self.flow.bytes();
        engine::aborted(abort(self.client, self.flow.op), moved)
    }

    fn shut_down(&mut self) -> io::Result<()> {
        match self.stream.take() {
            Some(stream) => stream.finish_upload(),
            None => Ok(()),
        }
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        while !self.flow.pending().is_empty() {
            match stream.write(self.flow.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.flow.wrote(n, &mut self.client.engine),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.flush_pending().and_then(|()| {
            if self.flow.convert(buf) {
                self.flush_pending().map(|()| buf.len())
            } else {
                let stream = self.stream.as_mut().ok_or(io::ErrorKind::NotConnected)?;
                let n = stream.write(buf)?;
                self.flow.wrote(n, &mut self.client.engine);
                Ok(n)
            }
        });
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                self.flow.fail(&mut self.client.engine, e);
            }
        }
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        match self.stream.as_mut() {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if !self.flow.ended() {
            // Abandoned: ABOR goes out before the next operation.
            self.stream = None;
            let _ = self.client.engine.abort();
        }
    }
}
