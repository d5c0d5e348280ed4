//! The async client, written once against a small [`Runtime`] trait (connect, listen and
//! accept, timers) with `futures-io` streams: [`TokioClient`] on tokio, [`AsyncStdClient`]
//! on async-std or smol.
//!
//! The client spawns nothing: each method drives the protocol inline until its operation
//! ends. Downloads are [`AsyncRead`] streams and uploads [`AsyncWrite`] streams, each ended
//! by `finish().await`, which waits for the server's final reply.
//!
//! With TLS (feature `rustls`, `Config::tls`) the control connection
//! and the protected data connections run `futures-rustls` over the runtime's streams, so one
//! TLS path serves tokio and async-std/smol.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> ftp_client::Result<()> {
//! use futures_lite::AsyncReadExt;
//! use ftp_client::nonblocking::TokioClient;
//! use ftp_client::Config;
//!
//! let mut client = TokioClient::connect("127.0.0.1:21".parse().unwrap(), Config::default()).await?;
//! client.login("anna", "secret").await?;
//! client.store_from("hello.txt", &mut &b"hello\n"[..]).await?;
//! let mut download = client.retrieve("hello.txt", 0).await?;
//! let mut text = Vec::new();
//! download.read_to_end(&mut text).await?;
//! download.finish().await?;
//! client.quit().await?;
//! # Ok(())
//! # }
//! ```

pub mod runtime;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ftp_proto::client::{DataEvent, Features, ListFormat, OpId, Operation, Output};
use ftp_proto::listing::Entry;
use ftp_proto::reply::Reply;
use ftp_proto::time::FtpTime;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt, FutureExt};

use crate::engine::{self, bytes, opt_bytes, Engine, Flow, Next, Secure};
use crate::{Config, DataMode, Error, Listing, Result, TransferType};

#[cfg(feature = "tokio")]
pub use runtime::TokioRuntime;
#[cfg(feature = "async-std")]
pub use runtime::{AsyncListener, AsyncStdRuntime, AsyncStream};
pub use runtime::{Listener, Runtime, Stream};

/// The client on tokio.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub type TokioClient = AsyncClient<TokioRuntime>;

/// The client on async-std or smol (the `async-io` reactor).
#[cfg(feature = "async-std")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
pub type AsyncStdClient = AsyncClient<AsyncStdRuntime>;

/// What driving the session reached.
enum Step {
    /// The awaited transfer's data connection is ready.
    Ready,
    /// The awaited operation ended successfully.
    Done(Output),
}

/// What woke a wait on the control connection.
enum Woke<S> {
    Read(io::Result<usize>),
    Accept(io::Result<(S, SocketAddr)>),
    Timer,
}

/// `f`, failing with `TimedOut` after `limit`.
async fn timeout<R: Runtime, T>(
    rt: &R,
    limit: Duration,
    f: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let timer = rt.sleep_until(Instant::now() + limit);
    f.or(async {
        timer.await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}

/// A connection of the async client: a runtime stream, with TLS on it or not.
enum Conn<S> {
    Plain(S),
    #[cfg(feature = "rustls")]
    Tls(Box<futures_rustls::client::TlsStream<S>>),
    /// Consumed by a TLS handshake that failed.
    Gone,
}

impl<S: Stream> Conn<S> {
    /// Runs the TLS client handshake on a plain connection, within `limit`.
    async fn start_tls<R: Runtime>(
        &mut self,
        rt: &R,
        secure: &Secure,
        limit: Duration,
    ) -> io::Result<()> {
        let Conn::Plain(stream) = std::mem::replace(self, Conn::Gone) else {
            return Err(io::Error::other("TLS started twice on a connection"));
        };
        #[cfg(feature = "rustls")]
        {
            let connector =
                futures_rustls::TlsConnector::from(std::sync::Arc::clone(&secure.config));
            let tls = timeout(rt, limit, connector.connect(secure.name.clone(), stream)).await?;
            if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Full) {
                tracing::debug!("full TLS handshake (a data connection: not resumed)");
            }
            *self = Conn::Tls(Box::new(tls));
            Ok(())
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = (rt, limit, stream);
            match *secure {}
        }
    }

    /// After an upload's close (TLS: `close_notify` sent), reads until the server closes:
    /// the server's post-handshake messages (a TLS 1.3 session ticket, which the next data
    /// connection resumes with) are consumed, and the close sends no RST that could cost the
    /// server the end of the data. Nothing to do on a plain connection.
    async fn drain(&mut self) {
        #[cfg(feature = "rustls")]
        if let Conn::Tls(tls) = self {
            let mut sink = [0u8; 4096];
            loop {
                match tls.read(&mut sink).await {
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
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

impl<S: Stream> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            // Without the server's close_notify, the end of a protected download is
            // `UnexpectedEof` from rustls: a truncation, reported as an error.
            #[cfg(feature = "rustls")]
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl<S: Stream> AsyncWrite for Conn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    /// TLS: sends `close_notify`, then closes the sending side.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "rustls")]
            Conn::Tls(s) => Pin::new(s).poll_close(cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// An async FTP client on one control connection, generic over its [`Runtime`].
pub struct AsyncClient<R: Runtime> {
    rt: R,
    control: Conn<R::Stream>,
    engine: Engine,
    listener: Option<(OpId, R::Listener)>,
    data: Option<R::Stream>,
    buf: Box<[u8]>,
}

impl<R: Runtime> std::fmt::Debug for AsyncClient<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> AsyncClient<R> {
    /// Connects to the server (for at most `config.connect_timeout`) and reads its greeting.
    pub async fn connect(addr: SocketAddr, config: Config) -> Result<Self> {
        Self::connect_with(R::default(), addr, config).await
    }
}

impl<R: Runtime> AsyncClient<R> {
    /// Connects on runtime `rt` and reads the greeting.
    ///
    /// With TLS (`Config::tls`) the connection is secured before this
    /// returns: implicit TLS first, explicit TLS (`AUTH TLS`) after the greeting. The server's
    /// certificate must be valid for the `Tls`'s server name, or else for
    /// the IP address connected to.
    pub async fn connect_with(rt: R, addr: SocketAddr, config: Config) -> Result<Self> {
        let control = timeout(&rt, config.connect_timeout, rt.connect(addr)).await?;
        Self::from_stream(rt, control, config).await
    }

    /// Runs the client on an established control connection and reads the greeting (after
    /// the TLS handshake, in implicit TLS; followed by `AUTH TLS` and its handshake in
    /// explicit TLS).
    pub async fn from_stream(rt: R, control: R::Stream, config: Config) -> Result<Self> {
        let peer = control.peer_addr()?;
        let local = control.local_addr()?;
        let secure = config.secure(peer.ip())?;
        let mut control = Conn::Plain(control);
        if let (Some(secure), ftp_proto::client::TlsMode::Implicit) = (&secure, config.session.tls)
        {
            control
                .start_tls(&rt, secure, config.connect_timeout)
                .await?;
        }
        let engine = Engine::new(config, peer, local, secure);
        let mut client = AsyncClient {
            rt,
            control,
            engine,
            listener: None,
            data: None,
            buf: vec![0; 4096].into_boxed_slice(),
        };
        client.drive(None).await?;
        Ok(client)
    }

    /// Runs `op` to its end.
    async fn run(&mut self, op: Operation) -> Result<Output> {
        let id = self.engine.start(op)?;
        match self.drive(Some(id)).await? {
            Step::Done(output) => Ok(output),
            Step::Ready => Err(Error::usage("unexpected data connection")),
        }
    }

    /// Moves bytes until `op` is ready (transfers) or done.
    async fn drive(&mut self, op: Option<OpId>) -> Result<Step> {
        let data_timeout = self.engine.config.session.data_timeout;
        loop {
            match self.engine.next(op) {
                Next::Write => {
                    let out = self.engine.take_out();
                    let written = async {
                        self.control.write_all(&out).await?;
                        self.control.flush().await
                    };
                    if let Err(e) = written.await {
                        self.engine.eof(Some(e));
                    }
                }
                Next::CloseData => {
                    self.data = None;
                    self.listener = None;
                }
                Next::Connect(id, addr) => {
                    match timeout(&self.rt, data_timeout, self.rt.connect(addr)).await {
                        Ok(stream) => {
                            self.data = Some(stream);
                            self.engine.data(id, DataEvent::Connected);
                        }
                        Err(e) => self.engine.connect_failed(id, e),
                    }
                }
                Next::Listen(id, addr) => {
                    let bound = match self.rt.bind(addr).await {
                        Ok(l) => l.local_addr().map(|a| (a, l)),
                        Err(e) => Err(e),
                    };
                    match bound {
                        Ok((local, listener)) => {
                            self.listener = Some((id, listener));
                            self.engine.data(id, DataEvent::Listening(local));
                        }
                        Err(e) => self.engine.connect_failed(id, e),
                    }
                }
                Next::StartTls => {
                    let started = match self.engine.secure.as_ref() {
                        Some(secure) => {
                            let limit = self.engine.config.connect_timeout;
                            self.control.start_tls(&self.rt, secure, limit).await
                        }
                        None => Err(io::Error::other("TLS started without TLS settings")),
                    };
                    match started {
                        Ok(()) => self.engine.tls_established(),
                        Err(e) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            self.control = Conn::Gone;
                            self.engine.eof(Some(e));
                        }
                    }
                }
                Next::Ready => return Ok(Step::Ready),
                Next::Done(result) => return result.map(Step::Done),
                Next::Wait(deadline) => self.wait(deadline).await,
            }
        }
    }

    /// Waits for control input, the listener's connection or the deadline.
    async fn wait(&mut self, deadline: Option<Instant>) {
        let woke = {
            let AsyncClient {
                rt,
                control,
                buf,
                listener,
                ..
            } = self;
            let read = async { Woke::Read(control.read(buf).await) };
            let accept = async {
                match listener {
                    Some((_, l)) => Woke::Accept(l.accept().await),
                    None => future::pending().await,
                }
            };
            let timer = async {
                match deadline {
                    Some(d) => {
                        rt.sleep_until(d).await;
                        Woke::Timer
                    }
                    None => future::pending().await,
                }
            };
            read.or(accept).or(timer).await
        };
        match woke {
            Woke::Read(Ok(0)) => self.engine.eof(None),
            Woke::Read(Ok(n)) => self.engine.input(&self.buf[..n]),
            Woke::Read(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Woke::Read(Err(e)) => self.engine.eof(Some(e)),
            Woke::Accept(Ok((stream, from))) => {
                if let Some((id, _)) = &self.listener {
                    let id = *id;
                    if self.engine.accepts(from) {
                        self.listener = None;
                        self.data = Some(stream);
                        self.engine.data(id, DataEvent::Connected);
                    } else {
                        tracing::debug!(%from, "data connection from a stranger refused");
                    }
                }
            }
            Woke::Accept(Err(e)) => tracing::debug!(error = %e, "accept failed"),
            Woke::Timer => {}
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            self.engine.timeout();
        }
    }

    /// Starts a transfer and waits until its data connection is ready (and, when protected,
    /// its TLS handshake done, within `data_timeout`).
    async fn open(
        &mut self,
        op: Operation,
        download: bool,
        convert: bool,
    ) -> Result<(Conn<R::Stream>, Flow, Stall<R>)> {
        let id = self.engine.start(op)?;
        match self.drive(Some(id)).await? {
            Step::Ready => {}
            Step::Done(_) => return Err(Error::usage("the transfer ended before it began")),
        }
        let stream = self
            .data
            .take()
            .ok_or_else(|| Error::usage("no data connection"))?;
        let ascii = convert && self.engine.transfer_type == TransferType::Ascii;
        let mut flow = Flow::new(id, download, ascii);
        let mut stream = Conn::Plain(stream);
        if let Some(secure) = self.engine.data_tls() {
            let limit = self.engine.config.session.data_timeout;
            if let Err(e) = stream.start_tls(&self.rt, secure, limit).await {
                tracing::debug!(error = %e, "data connection TLS handshake failed");
                // The server's reply to the broken transfer closes the operation; the
                // handshake's error is the one reported.
                flow.fail(&mut self.engine, &e);
                return match self.drive(Some(id)).await {
                    Err(Error::Io(_)) | Ok(_) => Err(Error::Io(e)),
                    Err(other) => Err(other),
                };
            }
        }
        let stall = Stall::new(&self.rt, self.engine.config.session.data_timeout);
        Ok((stream, flow, stall))
    }

    async fn download(&mut self, op: Operation, convert: bool) -> Result<Download<'_, R>> {
        let (stream, flow, stall) = self.open(op, true, convert).await?;
        Ok(Download {
            client: self,
            stream: Some(stream),
            flow,
            stall,
            finished: false,
        })
    }

    /// Reads a whole listing (no conversion).
    async fn collect(&mut self, op: Operation) -> Result<Vec<u8>> {
        let mut download = self.download(op, false).await?;
        let mut data = Vec::new();
        download.read_to_end(&mut data).await?;
        download.finish().await?;
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
    pub async fn login(
        &mut self,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<()> {
        self.run(Operation::Login {
            user: bytes(user),
            password: bytes(password),
            account: None,
        })
        .await?;
        self.transfer_type(TransferType::Binary).await
    }

    /// Logs in as `anonymous`.
    pub async fn login_anonymous(&mut self) -> Result<()> {
        self.login("anonymous", "anonymous@").await
    }

    /// `QUIT`, then closes the control connection.
    pub async fn quit(&mut self) -> Result<()> {
        let result = self.run(Operation::Quit).await.map(drop);
        let _ = self.control.close().await;
        result
    }

    /// `NOOP`.
    pub async fn noop(&mut self) -> Result<()> {
        engine::unit(self.run(Operation::Noop).await?)
    }

    /// Chooses how later data connections are made.
    pub fn data_mode(&mut self, mode: DataMode) {
        self.engine.set_data_mode(mode);
    }

    /// `TYPE I` or `TYPE A`; in ASCII, downloads and uploads convert line endings.
    pub async fn transfer_type(&mut self, t: TransferType) -> Result<()> {
        engine::unit(self.run(engine::type_op(t)).await?)?;
        self.engine.transfer_type = t;
        Ok(())
    }

    /// Aborts a transfer left running by a dropped stream, if any (`ABOR`), and waits for it
    /// to end.
    pub async fn abort(&mut self) -> Result<()> {
        match self.engine.abort() {
            Ok(id) => {
                self.data = None;
                self.listener = None;
                let _ = self.drive(Some(id)).await;
                Ok(())
            }
            Err(Error::Usage(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------
    // Listings

    /// The entries of a directory: `MLSD` when `FEAT` announces `MLST` (`FEAT` is sent once,
    /// on the first listing), else `LIST`, parsed. Unparsable lines are counted and skipped.
    pub async fn list(&mut self, path: impl AsRef<[u8]>) -> Result<Listing> {
        if self.features().is_none() {
            self.feat().await?;
        }
        let format = self.engine.session().preferred_list_format();
        self.listing(path, format).await
    }

    /// `MLSD`, parsed.
    pub async fn mlsd(&mut self, path: impl AsRef<[u8]>) -> Result<Listing> {
        self.listing(path, ListFormat::Mlsd).await
    }

    async fn listing(&mut self, path: impl AsRef<[u8]>, format: ListFormat) -> Result<Listing> {
        let data = self
            .collect(Operation::List {
                path: opt_bytes(path),
                format,
            })
            .await?;
        Ok(engine::parse_listing(&data, format))
    }

    /// `LIST`: the lines as sent, line endings removed.
    pub async fn list_raw(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        let data = self
            .collect(Operation::List {
                path: opt_bytes(path),
                format: ListFormat::List,
            })
            .await?;
        Ok(engine::lines(&data).map(<[u8]>::to_vec).collect())
    }

    /// `NLST`: names.
    pub async fn nlst(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Bytes>> {
        let data = self
            .collect(Operation::List {
                path: opt_bytes(path),
                format: ListFormat::Nlst,
            })
            .await?;
        Ok(engine::lines(&data).map(Bytes::copy_from_slice).collect())
    }

    // -----------------------------------------------------------------------------------
    // Transfers

    /// `RETR` (after `REST offset` when `offset > 0`): the file's contents. Read it to its
    /// end, then call [`Download::finish`] for the server's final reply. A stream dropped
    /// early is aborted (`ABOR`) before the next operation.
    pub async fn retrieve(
        &mut self,
        path: impl AsRef<[u8]>,
        offset: u64,
    ) -> Result<Download<'_, R>> {
        let op = Operation::Retrieve {
            path: bytes(path),
            offset,
        };
        self.download(op, true).await
    }

    /// Downloads into `out`; returns the bytes written to `out`.
    pub async fn retrieve_to<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        path: impl AsRef<[u8]>,
        offset: u64,
        out: &mut W,
    ) -> Result<u64> {
        let mut download = self.retrieve(path, offset).await?;
        let n = copy_bulk(&mut download, &mut *out).await?;
        download.finish().await?;
        Ok(n)
    }

    /// `STOR` (after `REST offset` when `offset > 0`): write the contents, then call
    /// [`Upload::finish`]. A writer dropped without finishing is aborted.
    pub async fn store(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<Upload<'_, R>> {
        let op = Operation::Store {
            path: bytes(path),
            offset,
        };
        self.upload(op).await
    }

    /// `APPE`: write the contents, then call [`Upload::finish`].
    pub async fn append(&mut self, path: impl AsRef<[u8]>) -> Result<Upload<'_, R>> {
        self.upload(Operation::Append { path: bytes(path) }).await
    }

    async fn upload(&mut self, op: Operation) -> Result<Upload<'_, R>> {
        let (stream, flow, stall) = self.open(op, false, true).await?;
        Ok(Upload {
            client: self,
            stream: Some(stream),
            flow,
            stall,
            finished: false,
            closed: false,
        })
    }

    /// Uploads everything `input` holds; returns the bytes read from `input`.
    pub async fn store_from<I: AsyncRead + Unpin + ?Sized>(
        &mut self,
        path: impl AsRef<[u8]>,
        input: &mut I,
    ) -> Result<u64> {
        let mut upload = self.store(path, 0).await?;
        let n = copy_bulk(&mut *input, &mut upload).await?;
        upload.finish().await?;
        Ok(n)
    }

    // -----------------------------------------------------------------------------------
    // Directories and files

    /// `PWD`: the current directory.
    pub async fn pwd(&mut self) -> Result<Bytes> {
        engine::path(self.run(Operation::Pwd).await?)
    }

    /// `CWD`.
    pub async fn cwd(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Cwd(bytes(path))).await?)
    }

    /// `CDUP`.
    pub async fn cdup(&mut self) -> Result<()> {
        engine::unit(self.run(Operation::Cdup).await?)
    }

    /// `MKD`: the created directory, as the server names it.
    pub async fn mkdir(&mut self, path: impl AsRef<[u8]>) -> Result<Bytes> {
        engine::path(self.run(Operation::Mkd(bytes(path))).await?)
    }

    /// `RMD`.
    pub async fn rmdir(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Rmd(bytes(path))).await?)
    }

    /// `DELE`.
    pub async fn delete(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(self.run(Operation::Dele(bytes(path))).await?)
    }

    /// `RNFR` and `RNTO`.
    pub async fn rename(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<()> {
        engine::unit(
            self.run(Operation::Rename {
                from: bytes(from),
                to: bytes(to),
            })
            .await?,
        )
    }

    /// `SIZE` (in the current transfer type).
    pub async fn size(&mut self, path: impl AsRef<[u8]>) -> Result<u64> {
        engine::size(self.run(Operation::Size(bytes(path))).await?)
    }

    /// `MDTM`: the modification time, UTC.
    pub async fn mdtm(&mut self, path: impl AsRef<[u8]>) -> Result<FtpTime> {
        engine::modified(self.run(Operation::Mdtm(bytes(path))).await?)
    }

    /// `MFMT`: sets the modification time, UTC.
    pub async fn set_mtime(&mut self, path: impl AsRef<[u8]>, time: FtpTime) -> Result<()> {
        engine::unit(
            self.run(Operation::SetMtime {
                path: bytes(path),
                time,
            })
            .await?,
        )
    }

    /// `MLST`: the facts of one file.
    pub async fn mlst(&mut self, path: impl AsRef<[u8]>) -> Result<Entry> {
        engine::facts(self.run(Operation::Mlst(opt_bytes(path))).await?)
    }

    // -----------------------------------------------------------------------------------
    // Other commands

    /// `FEAT`: the server's features (also kept: [`features`](Self::features)).
    pub async fn feat(&mut self) -> Result<Features> {
        engine::features(self.run(Operation::Feat).await?)
    }

    /// `OPTS name [value]`.
    pub async fn opts(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(
            self.run(Operation::Opts {
                name: bytes(name),
                value: opt_bytes(value),
            })
            .await?,
        )
    }

    /// `SITE text`.
    pub async fn site(&mut self, text: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Site(bytes(text))).await?)
    }

    /// `STAT [path]`.
    pub async fn stat(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Stat(opt_bytes(path))).await?)
    }

    /// `SYST`.
    pub async fn syst(&mut self) -> Result<Reply> {
        engine::reply(self.run(Operation::Syst).await?)
    }

    /// `HELP [topic]`.
    pub async fn help(&mut self, topic: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(Operation::Help(opt_bytes(topic))).await?)
    }

    /// A raw command line (no CR LF), for commands without a data connection.
    pub async fn quote(&mut self, line: impl AsRef<[u8]>) -> Result<Reply> {
        engine::reply(self.run(engine::quote_op(line)?).await?)
    }
}

/// The stall timer of a data stream: fails it when no byte moved for `data_timeout`.
struct Stall<R: Runtime> {
    rt: R,
    limit: Duration,
    timer: R::Sleep,
    seen: u64,
}

impl<R: Runtime> Stall<R> {
    fn new(rt: &R, limit: Duration) -> Self {
        Stall {
            rt: rt.clone(),
            limit,
            timer: rt.sleep_until(Instant::now() + limit),
            seen: 0,
        }
    }

    /// Called while the stream is pending: an error once it stalled.
    fn poll(&mut self, cx: &mut Context<'_>, moved: u64) -> Option<io::Error> {
        while Pin::new(&mut self.timer).poll(cx).is_ready() {
            if moved == self.seen {
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "data connection stalled",
                ));
            }
            self.seen = moved;
            self.timer = self.rt.sleep_until(Instant::now() + self.limit);
        }
        None
    }
}

/// A download in progress: read it to its end, then [`finish`](Download::finish).
pub struct Download<'a, R: Runtime> {
    client: &'a mut AsyncClient<R>,
    stream: Option<Conn<R::Stream>>,
    flow: Flow,
    stall: Stall<R>,
    finished: bool,
}

impl<R: Runtime> std::fmt::Debug for Download<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Download<'_, R> {
    /// Reads the final reply after the end of the data; before the end, aborts the transfer
    /// (`ABOR`). Returns the bytes received over the data connection.
    pub async fn finish(mut self) -> Result<u64> {
        self.finished = true;
        self.stream = None;
        if !self.flow.at_eof() {
            return abort(self.client, &mut self.flow).await;
        }
        match self.client.drive(Some(self.flow.op)).await? {
            Step::Done(output) => engine::transferred(output),
            Step::Ready => Err(Error::usage("unexpected data connection")),
        }
    }

    /// Aborts the transfer (`ABOR`) and waits for the server to confirm.
    pub async fn abort(mut self) -> Result<u64> {
        self.finished = true;
        self.stream = None;
        abort(self.client, &mut self.flow).await
    }
}

/// Copies through an [`engine::COPY_BUF`] buffer (`futures_lite::io::copy` uses 8 KiB, a
/// system call per 8 KiB on bulk transfers); returns the bytes copied.
async fn copy_bulk<I, O>(reader: &mut I, writer: &mut O) -> io::Result<u64>
where
    I: AsyncRead + Unpin + ?Sized,
    O: AsyncWrite + Unpin + ?Sized,
{
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; engine::COPY_BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(buf.get(..n).unwrap_or_default()).await?;
        total += n as u64;
    }
}

/// Aborts the transfer of `flow` and waits for it to end.
async fn abort<R: Runtime>(client: &mut AsyncClient<R>, flow: &mut Flow) -> Result<u64> {
    flow.set_ended();
    client.engine.abort()?;
    let result = match client.drive(Some(flow.op)).await {
        Ok(Step::Done(output)) => engine::transferred(output),
        Ok(Step::Ready) => Err(Error::usage("unexpected data connection")),
        Err(e) => Err(e),
    };
    engine::aborted(result, flow.bytes())
}

impl<R: Runtime> AsyncRead for Download<'_, R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if let Some(n) = this.flow.take_converted(buf) {
                if n > 0 || !this.flow.at_eof() {
                    return Poll::Ready(Ok(n));
                }
            }
            if this.flow.ended() {
                return Poll::Ready(Ok(0));
            }
            let Some(stream) = this.stream.as_mut() else {
                return Poll::Ready(Ok(0));
            };
            match Pin::new(stream).poll_read(cx, this.flow.read_target(buf)) {
                Poll::Ready(Ok(n)) => {
                    if let Some(n) = this.flow.read_done(n, &mut this.client.engine) {
                        if n > 0 {
                            return Poll::Ready(Ok(n));
                        }
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    this.flow.fail(&mut this.client.engine, &e);
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    if let Some(e) = this.stall.poll(cx, this.flow.bytes()) {
                        this.flow.fail(&mut this.client.engine, &e);
                        return Poll::Ready(Err(e));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<R: Runtime> Drop for Download<'_, R> {
    fn drop(&mut self) {
        if !self.finished && !self.flow.ended() {
            // Abandoned: ABOR goes out before the next operation.
            self.stream = None;
            let _ = self.client.engine.abort();
        }
    }
}

/// An upload in progress: write the contents, then [`finish`](Upload::finish).
pub struct Upload<'a, R: Runtime> {
    client: &'a mut AsyncClient<R>,
    stream: Option<Conn<R::Stream>>,
    flow: Flow,
    stall: Stall<R>,
    finished: bool,
    /// The stream was closed (TLS: `close_notify` sent); it stays for [`Conn::drain`].
    closed: bool,
}

impl<R: Runtime> std::fmt::Debug for Upload<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Upload<'_, R> {
    /// Closes the data connection and waits for the server's final reply; returns the bytes
    /// sent over the data connection.
    pub async fn finish(mut self) -> Result<u64> {
        self.finished = true;
        match self.close().await {
            Ok(()) => {
                if let Some(stream) = self.stream.as_mut() {
                    let limit = self.client.engine.config.session.data_timeout;
                    let rt = self.client.rt.clone();
                    let drained = timeout(&rt, limit, async {
                        stream.drain().await;
                        Ok(())
                    });
                    if let Err(e) = drained.await {
                        tracing::debug!(error = %e, "the server kept the data connection open");
                    }
                }
                self.flow.end(&mut self.client.engine);
            }
            Err(e) => self.flow.fail(&mut self.client.engine, &e),
        }
        self.stream = None;
        match self.client.drive(Some(self.flow.op)).await? {
            Step::Done(output) => engine::transferred(output),
            Step::Ready => Err(Error::usage("unexpected data connection")),
        }
    }

    /// Aborts the transfer (`ABOR`) and waits for the server to confirm.
    pub async fn abort(mut self) -> Result<u64> {
        self.finished = true;
        self.stream = None;
        abort(self.client, &mut self.flow).await
    }

    /// Writes the converted bytes still pending.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.flow.pending().is_empty() {
            let Some(stream) = self.stream.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match Pin::new(stream).poll_write(cx, self.flow.pending()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.flow.wrote(n, &mut self.client.engine),
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.pending(cx),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The socket is not ready: pending, unless the transfer stalled.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.stall.poll(cx, self.flow.bytes()) {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Pending,
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Err(e) = std::task::ready!(self.poll_pending(cx)) {
            return Poll::Ready(Err(e));
        }
        if self.flow.convert(buf) {
            // Taken whole; written by the next call, flush or close.
            return Poll::Ready(Ok(buf.len()));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        match Pin::new(stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.flow.wrote(n, &mut self.client.engine);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<R: Runtime> AsyncWrite for Upload<'_, R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = std::task::ready!(this.poll_write_inner(cx, buf));
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                this.flow.fail(&mut this.client.engine, e);
            }
        }
        Poll::Ready(result)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_pending(cx))?;
        match this.stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(this.poll_pending(cx))?;
        match this.stream.as_mut() {
            Some(stream) => {
                std::task::ready!(Pin::new(stream).poll_close(cx))?;
                this.closed = true;
                Poll::Ready(Ok(()))
            }
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<R: Runtime> Drop for Upload<'_, R> {
    fn drop(&mut self) {
        if !self.finished && !self.flow.ended() {
            // Abandoned: ABOR goes out before the next operation.
            self.stream = None;
            let _ = self.client.engine.abort();
        }
    }
}
