//! The blocking client, over `std::net`: no runtime, no threads.
//!
//! The protocol is `ftp-proto`'s [`ClientSession`](ftp_proto::client::ClientSession); this
//! module only waits on sockets. The control connection is waited on with `poll(2)` until the
//! session's next deadline, together with the data listener in active mode (only the control
//! peer's host may connect). Data sockets time out after the configured `data_timeout`.
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
use std::time::Instant;

use bytes::Bytes;
use ftp_proto::client::{DataEvent, Features, ListFormat, OpId, Operation, Output};
use ftp_proto::listing::Entry;
use ftp_proto::reply::Reply;
use ftp_proto::time::FtpTime;
use rustix::event::{PollFd, PollFlags};

use crate::engine::{self, bytes, opt_bytes, Engine, Flow, Next};
use crate::{Config, DataMode, Error, Listing, Result, TransferType};

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
    control: TcpStream,
    engine: Engine,
    listener: Option<(OpId, TcpListener)>,
    data: Option<TcpStream>,
    buf: Box<[u8]>,
}

impl Client {
    /// Connects to the server (trying each address `addr` resolves to, each for at most
    /// `config.connect_timeout`) and reads its greeting.
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

    /// Runs the client on an established control connection and reads the greeting.
    pub fn from_stream(control: TcpStream, config: Config) -> Result<Client> {
        control.set_nodelay(true)?;
        let engine = Engine::new(config, control.peer_addr()?, control.local_addr()?);
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
                Next::Ready => return Ok(Step::Ready),
                Next::Done(result) => return result.map(Step::Done),
                Next::Wait(deadline) => self.wait(deadline)?,
            }
        }
    }

    /// Waits for control input, the listener's connection or the deadline.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<()> {
        let (control_ready, listener_ready) = {
            let timeout = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .map(|d| {
                    rustix::event::Timespec::try_from(d).unwrap_or(rustix::event::Timespec {
                        tv_sec: i64::MAX,
                        tv_nsec: 0,
                    })
                });
            let mut fds = Vec::with_capacity(2);
            fds.push(PollFd::new(&self.control, PollFlags::IN));
            if let Some((_, listener)) = &self.listener {
                fds.push(PollFd::from_borrowed_fd(listener.as_fd(), PollFlags::IN));
            }
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(()),
                Err(e) => return Err(Error::Io(e.into())),
            }
            let ready = |fd: &PollFd<'_>| !fd.revents().is_empty();
            (ready(&fds[0]), fds.get(1).is_some_and(ready))
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

    /// Starts a transfer and waits until its data connection is ready.
    fn open(&mut self, op: Operation, download: bool, convert: bool) -> Result<(TcpStream, Flow)> {
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
        Ok((stream, Flow::new(id, download, ascii)))
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
        let _ = self.control.shutdown(Shutdown::Both);
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
    stream: Option<TcpStream>,
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
    stream: Option<TcpStream>,
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
            Some(stream) => stream.shutdown(Shutdown::Write),
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
