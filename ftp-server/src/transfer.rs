//! One data transfer: open the storage side, obtain the data connection, move the bytes.
//!
//! Binary downloads of plain files go through `sendfile` (no copy through user space); TYPE A
//! data goes through `ftp_proto::ascii`. Binary uploads into an [`Upload`] that exposes its file
//! ([`Upload::direct_file`]) over a stream that can become blocking ([`Stream::into_blocking`])
//! run as a blocking loop on a thread of their own (`splice` socket → pipe → file on Linux,
//! `read`/`write` elsewhere or when `splice` is refused); other uploads stream into the
//! [`Upload`] through `AsyncWrite`. Either way the upload is committed only when the client
//! closed the data connection cleanly.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftp_proto::ascii::{FromNetwork, ToNetwork};
use ftp_proto::listing::Entry;
use ftp_proto::server::{
    DataChannel, ListFormat, RequestId, TransferError, TransferEvent, TransferOp,
};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info};

use crate::auth::Authenticator;
use crate::connection::{same_host, TransferReport};
use crate::convert::{entry, file_name, now_unix, storage_error};
use crate::runtime::{Listener, Runtime, Stream};
use crate::server::Shared;
use crate::storage::{ReadSource, Storage, Upload, WriteMode};
use crate::stream::MaybeTls;

/// Buffer size for copied (not `sendfile`d) data.
const BUF: usize = 256 * 1024;
/// Buffer size of the blocking upload loop.
const UPLOAD_BUF: usize = 256 * 1024;
/// Stack size of an upload or download thread (buffers are on the heap).
const COPY_THREAD_STACK: usize = 128 * 1024;
/// The most one `sendfile` call is asked to send.
const SENDFILE_CHUNK: usize = 4 * 1024 * 1024;
/// How often a running transfer tells its session it is alive.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Everything a transfer task needs.
pub(crate) struct TransferJob<L> {
    pub id: RequestId,
    pub op: TransferOp,
    pub data: DataChannel,
    pub ascii: bool,
    pub passive: Option<L>,
    pub control_peer: IpAddr,
    pub control_local: IpAddr,
    pub reports: async_channel::Sender<TransferReport>,
    /// Closed when the session wants the transfer stopped.
    pub abort: async_channel::Receiver<()>,
    /// `PROT P`: the data connection runs TLS, with the control connection's session cache.
    #[cfg(feature = "rustls")]
    pub tls: Option<crate::tls::ConnectionTls>,
}

/// Runs a transfer to its end and reports `Finished` or `Failed`.
pub(crate) async fn run<R, S, A>(shared: Arc<Shared<R, S, A>>, job: TransferJob<R::Listener>)
where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    let started = Instant::now();
    let id = job.id;
    let reports = job.reports.clone();
    let abort = job.abort.clone();
    let what = describe(&job.op);
    let body = transfer(&shared, job);
    let stopped = async {
        let _ = abort.recv().await;
        Err(TransferError::Aborted)
    };
    let result = future::or(body, stopped).await;
    let event = match result {
        Ok(bytes) => {
            let secs = started.elapsed().as_secs_f64();
            info!(
                transfer = %what,
                bytes,
                secs,
                mb_per_s = (bytes as f64 / secs.max(1e-9) / 1e6),
                "transfer complete"
            );
            TransferEvent::Finished { bytes }
        }
        Err(e) => {
            info!(transfer = %what, "transfer failed: {e}");
            TransferEvent::Failed(e)
        }
    };
    let _ = reports.send(TransferReport { id, event }).await;
}

fn describe(op: &TransferOp) -> String {
    match op {
        TransferOp::Retr { path, .. } => format!("RETR {path}"),
        TransferOp::Stor { path, .. } => format!("STOR {path}"),
        TransferOp::Appe { path } => format!("APPE {path}"),
        TransferOp::Stou { dir } => format!("STOU {dir}"),
        TransferOp::List { path, .. } => format!("LIST {path}"),
        _ => "transfer".to_owned(),
    }
}

/// The storage side of a transfer, opened before `150`.
enum Source<U> {
    Read(ReadSource, u64),
    Write(U),
    Listing(Vec<u8>),
}

async fn transfer<R, S, A>(
    shared: &Shared<R, S, A>,
    job: TransferJob<R::Listener>,
) -> Result<u64, TransferError>
where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    let report = |event| {
        let reports = job.reports.clone();
        async move {
            let _ = reports.send(TransferReport { id: job.id, event }).await;
        }
    };
    let storage = &shared.storage;
    let fail = |e: io::Error| TransferError::Storage(storage_error(&e));

    // 1. The storage side.
    let (source, size, name) = match &job.op {
        TransferOp::Retr { path, offset } => {
            let src = storage.read(path.as_bytes(), *offset).await.map_err(fail)?;
            let size = match &src {
                ReadSource::File(f) => f.metadata().ok().map(|m| m.len()),
                _ => None,
            };
            (Source::Read(src, *offset), size, None)
        }
        TransferOp::Stor { path, offset } => {
            let mode = if *offset == 0 {
                WriteMode::Replace
            } else {
                WriteMode::Resume(*offset)
            };
            let up = storage.write(path.as_bytes(), mode).await.map_err(fail)?;
            (Source::Write(up), None, None)
        }
        TransferOp::Appe { path } => {
            let up = storage
                .write(path.as_bytes(), WriteMode::Append)
                .await
                .map_err(fail)?;
            (Source::Write(up), None, None)
        }
        TransferOp::Stou { dir } => {
            let suggested = dir.join(b"upload").ok_or(TransferError::Storage(
                ftp_proto::server::StorageError::InvalidName,
            ))?;
            let up = storage
                .write(suggested.as_bytes(), WriteMode::Unique)
                .await
                .map_err(fail)?;
            let name = file_name(up.path());
            (Source::Write(up), None, Some(name))
        }
        TransferOp::List { path, format, all } => {
            if matches!(format, ListFormat::Mlsd(_))
                && !storage
                    .metadata(path.as_bytes())
                    .await
                    .map_err(fail)?
                    .is_dir()
            {
                // RFC 3659 §7.1: MLSD lists directories only (MLST describes a file).
                return Err(TransferError::Storage(
                    ftp_proto::server::StorageError::NotADirectory,
                ));
            }
            let entries = list_entries(storage, path.as_bytes()).await.map_err(fail)?;
            let mut text = Vec::with_capacity(entries.len() * 64);
            format.write_listing(entries, *all, now_unix(), &mut text);
            let len = text.len() as u64;
            (Source::Listing(text), Some(len), None)
        }
        _ => {
            return Err(TransferError::Storage(
                ftp_proto::server::StorageError::Unsupported,
            ))
        }
    };
    report(TransferEvent::Opened { size, name }).await;

    // 2. The data connection. For PROT P a TLS handshake follows (after 150, the server being
    // the TLS server in both modes; RFC 4217 §9): here for the async copy paths, on the copy
    // thread for the blocking ones (binary transfers of files).
    let upload = matches!(source, Source::Write(_));
    let mut data = MaybeTls::Plain(connect(shared, &job).await?);
    #[cfg(feature = "rustls")]
    let mut tls: Option<PendingTls> = job.tls.as_ref().map(|t| t.data(upload));
    #[cfg(not(feature = "rustls"))]
    let mut tls: Option<PendingTls> = None;
    let blocking = !job.ascii
        && match &source {
            Source::Read(ReadSource::File(_), _) => true,
            Source::Write(u) => u.direct_file().is_some(),
            _ => false,
        };
    if !blocking {
        start_tls(&mut data, tls.take()).await?;
    }
    report(TransferEvent::Connected).await;

    // 3. The bytes.
    let mut progress = Progress {
        reports: job.reports.clone(),
        id: job.id,
        last: Instant::now(),
        bytes: 0,
    };
    let moved = match source {
        // Binary from a file: `sendfile` in a blocking loop of its own when the stream can
        // become a plain socket (as for uploads), which also closes the data connection.
        Source::Read(ReadSource::File(file), offset) if !job.ascii => {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            match data.into_blocking() {
                Ok(socket) => {
                    let socket = socket.map_err(|_| TransferError::ConnectionLost)?;
                    return send_blocking(socket, file, offset, progress, tls).await;
                }
                Err(stream) => data = stream,
            }
            start_tls(&mut data, tls.take()).await?;
            send(
                &mut data,
                ReadSource::File(file),
                offset,
                false,
                &mut progress,
            )
            .await?
        }
        Source::Read(src, offset) => send(&mut data, src, offset, job.ascii, &mut progress).await?,
        Source::Listing(text) => {
            data.write_all(&text)
                .await
                .map_err(|_| TransferError::ConnectionLost)?;
            text.len() as u64
        }
        Source::Write(upload) => {
            // Binary into a file that can be written directly: a blocking loop of its own,
            // which also closes the data connection.
            let direct = match upload.direct_file() {
                Some(file) if !job.ascii => Some(file.try_clone().map_err(fail)?),
                _ => None,
            };
            match direct {
                Some(file) => match data.into_blocking() {
                    Ok(socket) => {
                        let socket = socket.map_err(|_| TransferError::ConnectionLost)?;
                        return receive_blocking(socket, file, upload, progress, tls).await;
                    }
                    Err(stream) => {
                        data = stream;
                        start_tls(&mut data, tls.take()).await?;
                        receive(&mut data, upload, job.ascii, &mut progress).await?
                    }
                },
                None => receive(&mut data, upload, job.ascii, &mut progress).await?,
            }
        }
    };
    // A clean close tells the client the data is complete (RFC 959 §3.3, stream mode; with
    // TLS, close_notify first). An upload is already committed: a client that closed first
    // does not undo it.
    let closed = data.close().await;
    if closed.is_err() && !upload {
        return Err(TransferError::ConnectionLost);
    }
    Ok(moved)
}

/// The TLS a data connection still has to start (`PROT P`); none exists without the `rustls`
/// feature.
#[cfg(feature = "rustls")]
type PendingTls = crate::tls::DataTls;
#[cfg(not(feature = "rustls"))]
type PendingTls = std::convert::Infallible;

/// Runs the data connection's TLS handshake on the async stream, if one is pending.
async fn start_tls<S: Stream>(
    data: &mut MaybeTls<S>,
    tls: Option<PendingTls>,
) -> Result<(), TransferError> {
    match tls {
        None => Ok(()),
        #[cfg(feature = "rustls")]
        Some(tls) => tls.accept(data).await,
        #[cfg(not(feature = "rustls"))]
        Some(never) => {
            let _ = data;
            match never {}
        }
    }
}

/// Accepts on the passive listener (only from the control connection's peer: port stealing,
/// RFC 2577 §3) or connects to the active address.
async fn connect<R, S, A>(
    shared: &Shared<R, S, A>,
    job: &TransferJob<R::Listener>,
) -> Result<R::Stream, TransferError>
where
    R: Runtime,
    S: Storage,
    A: Authenticator,
{
    match job.data {
        DataChannel::Passive => {
            let listener = job.passive.as_ref().ok_or(TransferError::DataConnect)?;
            loop {
                let (stream, from) = listener
                    .accept()
                    .await
                    .map_err(|_| TransferError::DataConnect)?;
                if same_host(from.ip(), job.control_peer) {
                    return Ok(stream);
                }
                tracing::warn!(%from, "data connection from a foreign address dropped");
            }
        }
        DataChannel::Active(addr) => {
            let from = SocketAddr::new(job.control_local, shared.options.active_source_port);
            shared.rt.connect(addr, Some(from)).await.map_err(|e| {
                debug!(%addr, "active data connection failed: {e}");
                TransferError::DataConnect
            })
        }
        _ => Err(TransferError::DataConnect),
    }
}

struct Progress {
    reports: async_channel::Sender<TransferReport>,
    id: RequestId,
    last: Instant,
    bytes: u64,
}

impl Progress {
    /// [`Progress::add`] for a blocking thread (the report channel is unbounded).
    fn add_now(&mut self, n: u64) {
        self.bytes += n;
        let now = Instant::now();
        if now.duration_since(self.last) >= PROGRESS_EVERY {
            self.last = now;
            let _ = self.reports.try_send(TransferReport {
                id: self.id,
                event: TransferEvent::Progress(self.bytes),
            });
        }
    }

    async fn add(&mut self, n: u64) {
        self.bytes += n;
        let now = Instant::now();
        if now.duration_since(self.last) >= PROGRESS_EVERY {
            self.last = now;
            let _ = self
                .reports
                .send(TransferReport {
                    id: self.id,
                    event: TransferEvent::Progress(self.bytes),
                })
                .await;
        }
    }
}

async fn send<D: Stream>(
    data: &mut D,
    source: ReadSource,
    offset: u64,
    ascii: bool,
    progress: &mut Progress,
) -> Result<u64, TransferError> {
    let lost = |_| TransferError::ConnectionLost;
    if let (ReadSource::File(file), false) = (&source, ascii) {
        let mut pos = offset;
        loop {
            match data.send_file(file, pos, SENDFILE_CHUNK).await {
                Ok(Some(0)) => return Ok(progress.bytes),
                Ok(Some(n)) => {
                    pos += n as u64;
                    progress.add(n as u64).await;
                }
                // This stream cannot sendfile: copy instead (the file is at `offset`).
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(TransferError::ConnectionLost),
            }
        }
    }
    let mut reader = source.into_async_read();
    let mut buf = vec![0u8; BUF];
    let mut converter = ascii.then(ToNetwork::new);
    let mut converted = Vec::new();
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Storage(storage_error(&e))),
        };
        let chunk = match buf.get(..n) {
            Some(c) => c,
            None => break,
        };
        let out: &[u8] = match converter.as_mut() {
            Some(c) => {
                converted.clear();
                c.convert(chunk, &mut converted);
                &converted
            }
            None => chunk,
        };
        data.write_all(out).await.map_err(lost)?;
        progress.add(out.len() as u64).await;
    }
    Ok(progress.bytes)
}

async fn receive<D: Stream, U: Upload>(
    data: &mut D,
    mut upload: U,
    ascii: bool,
    progress: &mut Progress,
) -> Result<u64, TransferError> {
    let store_err = |e: io::Error| TransferError::Storage(storage_error(&e));
    let mut buf = vec![0u8; BUF];
    let mut converter = ascii.then(FromNetwork::new);
    let mut converted = Vec::new();
    loop {
        let n = match data.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Cut off mid-upload: dropping the upload keeps the previous file (STOR).
            Err(_) => return Err(TransferError::ConnectionLost),
        };
        progress.add(n as u64).await;
        let chunk = match buf.get(..n) {
            Some(c) => c,
            None => break,
        };
        let out: &[u8] = match converter.as_mut() {
            Some(c) => {
                converted.clear();
                c.convert(chunk, &mut converted);
                &converted
            }
            None => chunk,
        };
        upload.write_all(out).await.map_err(store_err)?;
    }
    if let Some(c) = converter.as_mut() {
        converted.clear();
        c.finish(&mut converted);
        upload.write_all(&converted).await.map_err(store_err)?;
    }
    upload.flush().await.map_err(store_err)?;
    upload.commit().await.map_err(store_err)?;
    Ok(progress.bytes)
}

/// Stops a blocking upload loop when dropped while armed: the transfer future was dropped
/// (ABOR, the data timeout, shutdown), so the loop's blocked `read` must return now.
struct StopOnDrop {
    /// A second handle on the loop's socket.
    socket: TcpStream,
    /// Tells the loop that the end of its stream is a stop, not the client's end of file.
    stopped: Arc<AtomicBool>,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.stopped.store(true, Ordering::SeqCst);
            let _ = self.socket.shutdown(Shutdown::Both);
        }
    }
}

/// Runs `copy` over a blocking socket on a thread of its own and gives the socket back with
/// its result. Dropping this future (ABOR, the data timeout, shutdown) shuts the socket down,
/// so the loop's blocked call returns at once, and sets the flag `copy` is given, so it reports
/// the stop rather than an end of file.
async fn on_copy_thread<F>(
    name: &str,
    socket: TcpStream,
    copy: F,
) -> Result<(Result<u64, TransferError>, TcpStream), TransferError>
where
    F: FnOnce(&TcpStream, &AtomicBool) -> Result<u64, TransferError> + Send + 'static,
{
    let stopped = Arc::new(AtomicBool::new(false));
    let mut guard = StopOnDrop {
        socket: socket
            .try_clone()
            .map_err(|_| TransferError::ConnectionLost)?,
        stopped: stopped.clone(),
        armed: true,
    };
    let (done_tx, done_rx) = async_channel::bounded(1);
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(COPY_THREAD_STACK)
        .spawn(move || {
            let result = copy(&socket, &stopped);
            let _ = done_tx.send_blocking((result, socket));
        })
        .map_err(|e| TransferError::Storage(storage_error(&e)))?;
    let done = done_rx
        .recv()
        .await
        .map_err(|_| TransferError::ConnectionLost)?;
    guard.armed = false;
    Ok(done)
}

/// A binary upload as one blocking loop on a thread of its own ([`copy_to_file`]), with no
/// hand-off between threads per chunk. ABOR, the data timeout and shutdown drop this future,
/// which shuts the socket down so the loop's blocked call returns at once. The upload itself
/// stays here: it is committed after a clean end of file, and dropped (which
/// discards a replacing upload) on any error or when this future is dropped.
async fn receive_blocking<U: Upload>(
    socket: TcpStream,
    file: File,
    mut upload: U,
    progress: Progress,
    tls: Option<PendingTls>,
) -> Result<u64, TransferError> {
    let store_err = |e: io::Error| TransferError::Storage(storage_error(&e));
    let (result, socket) = on_copy_thread("ftp-upload", socket, move |socket, stopped| match tls {
        None => copy_to_file(socket, &file, stopped, progress),
        #[cfg(feature = "rustls")]
        Some(tls) => tls_copy_to_file(tls, socket, &file, stopped, progress),
        #[cfg(not(feature = "rustls"))]
        Some(never) => match never {},
    })
    .await?;
    let bytes = result?;
    upload.flush().await.map_err(store_err)?;
    upload.commit().await.map_err(store_err)?;
    // A clean close tells the client the data is complete (RFC 959 §3.3, stream mode). The
    // upload is committed: a client that closed first does not undo it.
    let _ = socket.shutdown(Shutdown::Write);
    Ok(bytes)
}

/// A binary download as one blocking `sendfile` loop on a thread of its own, like
/// [`receive_blocking`]: the kernel moves the file's pages to the socket, the thread sleeps in
/// the call while the socket is full, and there is no wake-up through the runtime per chunk.
/// ABOR, the data timeout and shutdown drop this future, which shuts the socket down so the
/// blocked call returns at once.
#[cfg(any(target_os = "linux", target_os = "android"))]
async fn send_blocking(
    socket: TcpStream,
    file: File,
    offset: u64,
    progress: Progress,
    tls: Option<PendingTls>,
) -> Result<u64, TransferError> {
    let (result, socket) =
        on_copy_thread("ftp-download", socket, move |socket, stopped| match tls {
            None => sendfile_loop(socket, &file, offset, stopped, progress),
            #[cfg(feature = "rustls")]
            Some(tls) => tls_send_loop(tls, socket, &file, offset, stopped, progress),
            #[cfg(not(feature = "rustls"))]
            Some(never) => match never {},
        })
        .await?;
    let bytes = result?;
    // A clean close tells the client the data is complete (RFC 959 §3.3, stream mode).
    socket
        .shutdown(Shutdown::Write)
        .map_err(|_| TransferError::ConnectionLost)?;
    Ok(bytes)
}

/// The loop of [`send_blocking`]: `sendfile` from `offset` until the end of the file.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sendfile_loop(
    socket: &TcpStream,
    file: &File,
    offset: u64,
    stopped: &AtomicBool,
    mut progress: Progress,
) -> Result<u64, TransferError> {
    use rustix::io::Errno;
    let mut pos = offset;
    loop {
        if stopped.load(Ordering::SeqCst) {
            return Err(TransferError::Aborted);
        }
        match rustix::fs::sendfile(socket, file, Some(&mut pos), SENDFILE_CHUNK) {
            Ok(0) => return Ok(progress.bytes),
            Ok(n) => progress.add_now(n as u64),
            Err(Errno::INTR) => {}
            Err(_) if stopped.load(Ordering::SeqCst) => return Err(TransferError::Aborted),
            Err(_) => return Err(TransferError::ConnectionLost),
        }
    }
}

/// The TLS loop of [`send_blocking`]: the handshake, then the file from `offset` encrypted in
/// 256 KiB chunks, then close_notify.
#[cfg(feature = "rustls")]
fn tls_send_loop(
    tls: PendingTls,
    mut socket: &TcpStream,
    file: &File,
    offset: u64,
    stopped: &AtomicBool,
    mut progress: Progress,
) -> Result<u64, TransferError> {
    use std::os::unix::fs::FileExt;
    let lost = |_| {
        if stopped.load(Ordering::SeqCst) {
            TransferError::Aborted
        } else {
            TransferError::ConnectionLost
        }
    };
    let mut conn = tls.accept_blocking(socket)?;
    let mut buf = vec![0u8; BUF];
    let mut pos = offset;
    loop {
        if stopped.load(Ordering::SeqCst) {
            return Err(TransferError::Aborted);
        }
        let n = match file.read_at(&mut buf, pos) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Storage(storage_error(&e))),
        };
        let mut chunk = buf.get(..n).unwrap_or_default();
        while !chunk.is_empty() {
            let taken = conn.writer().write(chunk).map_err(lost)?;
            chunk = chunk.get(taken..).unwrap_or_default();
            while conn.wants_write() {
                conn.write_tls(&mut socket).map_err(lost)?;
            }
        }
        pos += n as u64;
        progress.add_now(n as u64);
    }
    conn.send_close_notify();
    while conn.wants_write() {
        conn.write_tls(&mut socket).map_err(lost)?;
    }
    Ok(progress.bytes)
}

/// The TLS loop of [`receive_blocking`]: the handshake, then records until the client's
/// close_notify (a TCP end of file without one is a truncated upload), then ours.
#[cfg(feature = "rustls")]
fn tls_copy_to_file(
    tls: PendingTls,
    mut socket: &TcpStream,
    mut file: &File,
    stopped: &AtomicBool,
    mut progress: Progress,
) -> Result<u64, TransferError> {
    let store_err = |e: io::Error| TransferError::Storage(storage_error(&e));
    let lost = || {
        if stopped.load(Ordering::SeqCst) {
            TransferError::Aborted
        } else {
            TransferError::ConnectionLost
        }
    };
    let mut conn = tls.accept_blocking(socket)?;
    // rustls reads a few KiB per call: serve those from one big read of the socket.
    let mut wire = io::BufReader::with_capacity(UPLOAD_BUF, socket);
    let mut buf = vec![0u8; UPLOAD_BUF];
    loop {
        match conn.reader().read(&mut buf) {
            // The client's close_notify: the upload is complete.
            Ok(0) => break,
            Ok(n) => {
                progress.add_now(n as u64);
                file.write_all(buf.get(..n).unwrap_or_default())
                    .map_err(store_err)?;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // An end of file without close_notify: truncated (RFC 4217 §10 wants the
            // close_notify exchange); dropping the upload keeps the previous file.
            Err(_) => return Err(lost()),
        }
        // A stop shuts the socket down, which reads as an end of file: never commit on it.
        if stopped.load(Ordering::SeqCst) {
            return Err(TransferError::Aborted);
        }
        match conn.read_tls(&mut wire) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(lost()),
        }
        conn.process_new_packets().map_err(|e| {
            debug!("TLS error on the data connection: {e}");
            lost()
        })?;
    }
    if stopped.load(Ordering::SeqCst) {
        return Err(TransferError::Aborted);
    }
    // The deferred session ticket, then close_notify.
    conn.send_close_notify();
    while conn.wants_write() {
        if conn.write_tls(&mut socket).is_err() {
            // The client may close first; the upload is complete all the same.
            break;
        }
    }
    Ok(progress.bytes)
}

/// The loop of [`receive_blocking`]: until end of file, a socket error, a file error or a stop.
///
/// On Linux the bytes go socket → pipe → file with `splice` (the socket's pages are moved into
/// the pipe, not copied through user space); a file opened for appending (`splice` refuses
/// those) or a socket or file system without `splice` gets a `read`/`write` loop instead.
fn copy_to_file(
    socket: &TcpStream,
    file: &File,
    stopped: &AtomicBool,
    mut progress: Progress,
) -> Result<u64, TransferError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(end) = splice_to_file(socket, file, stopped, &mut progress) {
        return end.map(|()| progress.bytes);
    }
    read_write_to_file(socket, file, stopped, &mut progress, &[])
}

/// The `splice` loop of [`copy_to_file`]; `None` when `splice` cannot be used (before or after
/// some bytes went through it: the rest is then for [`read_write_to_file`]).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn splice_to_file(
    socket: &TcpStream,
    file: &File,
    stopped: &AtomicBool,
    progress: &mut Progress,
) -> Option<Result<(), TransferError>> {
    use rustix::io::Errno;
    use rustix::pipe::{splice, SpliceFlags};

    let appending = rustix::fs::fcntl_getfl(file).ok()?;
    if appending.contains(rustix::fs::OFlags::APPEND) {
        return None;
    }
    let (from_pipe, to_pipe) = rustix::pipe::pipe().ok()?;
    // Best effort: a bigger pipe means fewer calls; the default (64 KiB) works too.
    let _ = rustix::pipe::fcntl_setpipe_size(&to_pipe, UPLOAD_BUF);
    let mut first = true;
    loop {
        let n = match splice(socket, None, &to_pipe, None, UPLOAD_BUF, SpliceFlags::MOVE) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) if first => return None,
            Err(_) if stopped.load(Ordering::SeqCst) => return Some(Err(TransferError::Aborted)),
            // Cut off mid-upload: dropping the upload keeps the previous file (STOR).
            Err(_) => return Some(Err(TransferError::ConnectionLost)),
        };
        // A stop shuts the socket down, which reads as an end of file: never commit on it.
        if stopped.load(Ordering::SeqCst) {
            return Some(Err(TransferError::Aborted));
        }
        if n == 0 {
            return Some(Ok(()));
        }
        progress.add_now(n as u64);
        let mut left = n;
        while left > 0 {
            match splice(&from_pipe, None, file, None, left, SpliceFlags::MOVE) {
                Ok(0) => return Some(Err(TransferError::Storage(storage_error(&no_progress())))),
                Ok(m) => left = left.saturating_sub(m),
                Err(Errno::INTR) => {}
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) if first => {
                    // This file system takes no `splice`: write what the pipe holds, then
                    // carry on with `read`/`write`.
                    let mut held = vec![0u8; left];
                    let drained = rustix::io::read(&from_pipe, &mut held)
                        .map_err(io::Error::from)
                        .and_then(|got| {
                            if got == left {
                                Ok(())
                            } else {
                                Err(no_progress())
                            }
                        });
                    if let Err(e) = drained {
                        return Some(Err(TransferError::Storage(storage_error(&e))));
                    }
                    return Some(
                        read_write_to_file(socket, file, stopped, progress, &held).map(|_| ()),
                    );
                }
                Err(e) => return Some(Err(TransferError::Storage(storage_error(&e.into())))),
            }
        }
        first = false;
    }
}

/// A write that made no progress.
fn no_progress() -> io::Error {
    io::Error::from(io::ErrorKind::WriteZero)
}

/// The `read`/`write` loop of [`copy_to_file`], after writing `held` (bytes already received
/// and counted).
fn read_write_to_file(
    mut socket: &TcpStream,
    mut file: &File,
    stopped: &AtomicBool,
    progress: &mut Progress,
    held: &[u8],
) -> Result<u64, TransferError> {
    let store_err = |e: io::Error| TransferError::Storage(storage_error(&e));
    file.write_all(held).map_err(store_err)?;
    let mut buf = vec![0u8; UPLOAD_BUF];
    loop {
        let n = match socket.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) if stopped.load(Ordering::SeqCst) => return Err(TransferError::Aborted),
            // Cut off mid-upload: dropping the upload keeps the previous file (STOR).
            Err(_) => return Err(TransferError::ConnectionLost),
        };
        // A stop shuts the socket down, which reads as an end of file: never commit on it.
        if stopped.load(Ordering::SeqCst) {
            return Err(TransferError::Aborted);
        }
        let Some(chunk) = buf.get(..n) else {
            return Err(TransferError::ConnectionLost);
        };
        if chunk.is_empty() {
            return Ok(progress.bytes);
        }
        progress.add_now(n as u64);
        file.write_all(chunk).map_err(store_err)?;
    }
}

/// The entries of a directory, or the single entry of a file (`LIST file`, `STAT file`).
pub(crate) async fn list_entries<S: Storage>(storage: &S, path: &[u8]) -> io::Result<Vec<Entry>> {
    let meta = storage.metadata(path).await?;
    if !meta.is_dir() {
        return Ok(vec![entry(file_name(path), &meta)]);
    }
    let list = storage.list(path).await?;
    Ok(list
        .iter()
        .map(|e| entry(e.name.clone(), &e.metadata))
        .collect())
}

#[cfg(test)]
mod tests {
    //! Uploads on the blocking path, on both runtimes: complete, aborted, stalled.

    use std::io::{BufRead, BufReader, Seek};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::auth::UserTable;
    use crate::storage::FsStorage;
    use crate::Server;

    #[derive(Debug, Clone, Copy)]
    enum Rt {
        Tokio,
        #[cfg(feature = "async-std")]
        AsyncStd,
    }

    fn runtimes() -> Vec<Rt> {
        vec![
            Rt::Tokio,
            #[cfg(feature = "async-std")]
            Rt::AsyncStd,
        ]
    }

    /// A server on `rt` serving `root`; dropping the sender stops it.
    fn serve(
        rt: Rt,
        root: &Path,
        data_timeout: Duration,
    ) -> (SocketAddr, async_channel::Sender<()>) {
        let mut users = UserTable::with_iterations(1_000);
        users.add_user("u", b"p").set_writable(true);
        let server = Server::builder(FsStorage::new(root).unwrap(), users)
            .listen("127.0.0.1:0".parse().unwrap())
            .data_timeout(data_timeout)
            .build();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        std::thread::spawn(move || {
            let stop = async move {
                let _ = stop_rx.recv().await;
            };
            match rt {
                Rt::Tokio => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        let bound = server.bind(crate::runtime::TokioRuntime).await.unwrap();
                        addr_tx.send(bound.local_addrs()[0]).unwrap();
                        bound.serve(stop).await
                    }),
                #[cfg(feature = "async-std")]
                Rt::AsyncStd => future::block_on(async {
                    let bound = server.bind(crate::runtime::AsyncStdRuntime).await.unwrap();
                    addr_tx.send(bound.local_addrs()[0]).unwrap();
                    bound.serve(stop).await
                }),
            }
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        (addr, stop_tx)
    }

    struct Control {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Control {
        fn login(addr: SocketAddr) -> Control {
            let stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut c = Control {
                reader: BufReader::new(stream.try_clone().unwrap()),
                writer: stream,
            };
            assert_eq!(c.reply().0, 220);
            assert_eq!(c.cmd("USER u").0, 331);
            assert_eq!(c.cmd("PASS p").0, 230);
            assert_eq!(c.cmd("TYPE I").0, 200);
            c
        }

        /// The next reply: its code and its last line.
        fn reply(&mut self) -> (u16, String) {
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                let code = line.get(..3).and_then(|c| c.parse().ok());
                if let (Some(code), Some(" ")) = (code, line.get(3..4)) {
                    return (code, line);
                }
                assert!(!line.is_empty(), "control connection closed");
            }
        }

        fn cmd(&mut self, line: &str) -> (u16, String) {
            self.writer
                .write_all(format!("{line}\r\n").as_bytes())
                .unwrap();
            self.reply()
        }

        /// EPSV, then `line`; the data connection once `150` arrived.
        fn data(&mut self, line: &str) -> TcpStream {
            self.data_after(None, line)
        }

        /// EPSV, then `before` (REST must come right before the transfer), then `line`.
        fn data_after(&mut self, before: Option<(&str, u16)>, line: &str) -> TcpStream {
            let (code, text) = self.cmd("EPSV");
            assert_eq!(code, 229, "{text}");
            let port: u16 = text
                .split("|||")
                .nth(1)
                .and_then(|p| p.split('|').next())
                .and_then(|p| p.parse().ok())
                .unwrap();
            let addr = SocketAddr::new(self.writer.peer_addr().unwrap().ip(), port);
            if let Some((cmd, expected)) = before {
                assert_eq!(self.cmd(cmd).0, expected, "{cmd}");
            }
            self.writer
                .write_all(format!("{line}\r\n").as_bytes())
                .unwrap();
            let data = TcpStream::connect(addr).unwrap();
            let (code, text) = self.reply();
            assert_eq!(code, 150, "{text}");
            data
        }
    }

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Waits until no hidden (temporary) file is left in `root`.
    fn no_temporary_file(root: &PathBuf) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let hidden = std::fs::read_dir(root)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().as_encoded_bytes()[0] == b'.')
                .count();
            if hidden == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "temporary upload left behind");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connected pair: (the server's side, the client's side).
    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (listener.accept().unwrap().0, client)
    }

    fn progress() -> (Progress, async_channel::Receiver<TransferReport>) {
        let (tx, rx) = async_channel::unbounded();
        // A request id, from a session asked to authenticate.
        let addr: SocketAddr = "127.0.0.1:21".parse().unwrap();
        let now = Instant::now();
        let mut session = ftp_proto::server::ServerSession::new(
            Arc::new(crate::ServerConfig::default()),
            addr,
            addr,
            now,
        );
        session.handle_input(b"USER u\r\nPASS p\r\n", now);
        let id = std::iter::from_fn(|| session.poll_request())
            .find_map(|r| match r {
                ftp_proto::server::Request::Authenticate { id, .. } => Some(id),
                _ => None,
            })
            .unwrap();
        let p = Progress {
            reports: tx,
            id,
            last: Instant::now(),
            bytes: 0,
        };
        (p, rx)
    }

    #[test]
    fn the_copy_loop_writes_every_byte_in_both_file_modes() {
        let body = bytes(5 << 20, 7);
        for append in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, b"head").unwrap();
            let file = std::fs::OpenOptions::new()
                .write(true)
                .append(append)
                .open(&path)
                .unwrap();
            (&file).seek(io::SeekFrom::End(0)).unwrap();
            let (server, mut client) = socket_pair();
            let sent = body.clone();
            let writer = std::thread::spawn(move || client.write_all(&sent));
            let (p, _rx) = progress();
            let n = copy_to_file(&server, &file, &AtomicBool::new(false), p).unwrap();
            writer.join().unwrap().unwrap();
            assert_eq!(n, body.len() as u64);
            let mut expected = b"head".to_vec();
            expected.extend_from_slice(&body);
            assert!(std::fs::read(&path).unwrap() == expected, "append {append}");
        }
    }

    #[test]
    fn a_full_disk_in_the_copy_loop_is_storage_full() {
        // Linux's /dev/full fails every write with ENOSPC.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let (server, mut client) = socket_pair();
        let writer = std::thread::spawn(move || {
            let _ = client.write_all(&[1; 1 << 20]);
        });
        let (p, _rx) = progress();
        let result = copy_to_file(&server, &full, &AtomicBool::new(false), p);
        drop(server);
        writer.join().unwrap();
        assert!(
            matches!(
                result,
                Err(TransferError::Storage(
                    ftp_proto::server::StorageError::NoSpace
                ))
            ),
            "{result:?}"
        );
    }

    #[test]
    fn a_stopped_copy_loop_never_reports_end_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let (server, _client) = socket_pair();
        let stopped = AtomicBool::new(false);
        let (p, _rx) = progress();
        std::thread::scope(|scope| {
            let copy = scope.spawn(|| copy_to_file(&server, &file, &stopped, p));
            std::thread::sleep(Duration::from_millis(100));
            stopped.store(true, Ordering::SeqCst);
            server.shutdown(Shutdown::Both).unwrap();
            assert!(matches!(copy.join().unwrap(), Err(TransferError::Aborted)));
        });
    }

    #[test]
    fn uploads_complete_append_and_resume() {
        for rt in runtimes() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            let (addr, _stop) = serve(rt, &root, Duration::from_secs(10));
            let mut c = Control::login(addr);
            let body = bytes(3 << 20, 1);
            let mut data = c.data("STOR f.bin");
            data.write_all(&body).unwrap();
            drop(data);
            assert_eq!(c.reply().0, 226, "{rt:?}");
            assert!(std::fs::read(root.join("f.bin")).unwrap() == body, "{rt:?}");

            let tail = bytes(100_000, 2);
            let mut data = c.data("APPE f.bin");
            data.write_all(&tail).unwrap();
            drop(data);
            assert_eq!(c.reply().0, 226, "{rt:?}");
            let mut both = body.clone();
            both.extend_from_slice(&tail);
            assert!(std::fs::read(root.join("f.bin")).unwrap() == both, "{rt:?}");

            let mut data = c.data_after(Some(("REST 1000", 350)), "STOR f.bin");
            data.write_all(&tail).unwrap();
            drop(data);
            assert_eq!(c.reply().0, 226, "{rt:?}");
            let mut resumed = body[..1000].to_vec();
            resumed.extend_from_slice(&tail);
            assert!(
                std::fs::read(root.join("f.bin")).unwrap() == resumed,
                "{rt:?}"
            );
            no_temporary_file(&root);
        }
    }

    #[test]
    fn abor_mid_stor_stops_it_and_keeps_the_previous_file() {
        for rt in runtimes() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            let old = bytes(1 << 20, 3);
            std::fs::write(root.join("keep.bin"), &old).unwrap();
            let (addr, _stop) = serve(rt, &root, Duration::from_secs(10));
            let mut c = Control::login(addr);
            let mut data = c.data("STOR keep.bin");
            data.write_all(&bytes(1 << 20, 4)).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            let started = Instant::now();
            c.writer.write_all(b"ABOR\r\n").unwrap();
            assert_eq!((c.reply().0, c.reply().0), (426, 226), "{rt:?}");
            assert!(started.elapsed() < Duration::from_secs(2), "{rt:?}");
            // The server closed its side of the data connection.
            data.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut rest = Vec::new();
            let _ = data.read_to_end(&mut rest);
            assert!(
                std::fs::read(root.join("keep.bin")).unwrap() == old,
                "{rt:?}"
            );
            no_temporary_file(&root);
            assert_eq!(c.cmd("NOOP").0, 200, "{rt:?}");
        }
    }

    #[test]
    fn a_stalled_stor_times_out_and_keeps_the_previous_file() {
        for rt in runtimes() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            let old = bytes(1 << 20, 5);
            std::fs::write(root.join("keep.bin"), &old).unwrap();
            let (addr, _stop) = serve(rt, &root, Duration::from_secs(1));
            let mut c = Control::login(addr);
            let mut data = c.data("STOR keep.bin");
            data.write_all(&bytes(64 * 1024, 6)).unwrap();
            let started = Instant::now();
            let (code, text) = c.reply();
            assert_eq!(code, 426, "{rt:?}: {text}");
            assert!(started.elapsed() < Duration::from_secs(4), "{rt:?}");
            assert!(
                std::fs::read(root.join("keep.bin")).unwrap() == old,
                "{rt:?}"
            );
            no_temporary_file(&root);
            drop(data);
        }
    }
}
