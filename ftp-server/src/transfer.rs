//! One data transfer: open the storage side, obtain the data connection, move the bytes.
//!
//! Binary downloads of plain files go through `sendfile` (no copy through user space); TYPE A
//! data goes through `ftp_proto::ascii`; uploads stream into the storage's [`Upload`], which is
//! committed only when the client closed the data connection cleanly.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftp_proto::ascii::{FromNetwork, ToNetwork};
use ftp_proto::listing::{format_mlsx_line, format_unix_line, Entry};
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

/// Buffer size for copied (not `sendfile`d) data.
const BUF: usize = 256 * 1024;
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
            let text = format_listing(entries, *format, *all);
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

    // 2. The data connection.
    let mut data = connect(shared, &job).await?;
    report(TransferEvent::Connected).await;

    // 3. The bytes.
    let mut progress = Progress {
        reports: job.reports.clone(),
        id: job.id,
        last: Instant::now(),
        bytes: 0,
    };
    let moved = match source {
        Source::Read(src, offset) => send(&mut data, src, offset, job.ascii, &mut progress).await?,
        Source::Listing(text) => {
            data.write_all(&text)
                .await
                .map_err(|_| TransferError::ConnectionLost)?;
            text.len() as u64
        }
        Source::Write(upload) => receive(&mut data, upload, job.ascii, &mut progress).await?,
    };
    // A clean close tells the client the data is complete (RFC 959 §3.3, stream mode).
    data.close()
        .await
        .map_err(|_| TransferError::ConnectionLost)?;
    Ok(moved)
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

/// Formats a listing for the data connection, CRLF-terminated (listings are TYPE A).
fn format_listing(entries: Vec<Entry>, format: ListFormat, all: bool) -> Vec<u8> {
    let now = now_unix();
    let mut out = Vec::with_capacity(entries.len() * 64);
    let hidden = |e: &Entry| e.name.first() == Some(&b'.');
    for mut e in entries {
        match format {
            ListFormat::Unix => {
                if !all && hidden(&e) {
                    continue;
                }
                format_unix_line(&e, now, &mut out);
            }
            ListFormat::Nlst => {
                if !all && hidden(&e) {
                    continue;
                }
                out.extend(e.name.iter().map(|&b| match b {
                    b'\r' | b'\n' | 0 => b'?',
                    b => b,
                }));
            }
            ListFormat::Mlsd(facts) => {
                facts.apply(&mut e);
                format_mlsx_line(&e, &mut out);
            }
            _ => format_unix_line(&e, now, &mut out),
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}
