//! The interoperability matrix: every client adapter against every real server, in every data
//! mode.
//!
//! For each server (vsftpd, pure-ftpd, ProFTPD, pyftpdlib and this workspace's own server) ×
//! client (blocking, tokio) × data mode (EPSV, PASV, active) one cell runs, on one control
//! connection:
//!
//! - `put`: `STOR` of a few hundred KiB of random bytes, compared with the file in the served
//!   directory;
//! - `ls`: the parsed listing ([`list`](ftp_client::blocking::Client::list): `MLSD` where `FEAT`
//!   announces `MLST`, else `LIST`) and the parsed `LIST` must both show that file with its
//!   size;
//! - `get`: `RETR`, byte-identical;
//! - `resume`: a download abandoned part-way (`ABOR`), then `REST n` + `RETR` for the rest; and an
//!   upload of the first half, `SIZE`, then `REST n` + `STOR` of the rest (`APPE` where the
//!   server refuses that), compared on disk;
//! - `rename/delete`: `RNFR`/`RNTO` into a new directory, `DELE`, checked on disk;
//! - `mkdir/rmdir`: `MKD` and `RMD`, checked on disk.
//!
//! Each server also gets an ASCII (`TYPE A`) round trip. Each cell prints one line to stderr,
//! `CLIENT-INTEROP <server> <client> <mode>: put ok ls ok[mlsd] ...`, so the CI log shows the
//! matrix (run with `--nocapture` to see it locally). A server is started once per test
//! function; the cells of a function share it.
//!
//! What differs between servers, and is recorded rather than failed on, is in [`Expect`].

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use common::TestServer;
use ftp_client::ftp_proto::listing::{parse_list_line, EntryKind, ListLine};
use ftp_client::{Config, DataMode, Error, Listing};

/// The data modes of the matrix.
const MODES: [(&str, DataMode); 3] = [
    ("epsv", DataMode::ExtendedPassive),
    ("pasv", DataMode::Passive),
    ("active", DataMode::Active { bind: None }),
];

/// The size of the transferred file: a few hundred KiB, not a multiple of any buffer size.
const FILE_LEN: usize = 300 * 1024 + 3;

/// How much of the file the abandoned download reads before `ABOR`.
const HEAD_LEN: usize = 100_000;

/// A text with LF line endings (and no CR), for the ASCII round trip.
const TEXT: &[u8] = b"first line\nsecond line\n\nlast line, no CR anywhere\n";

/// What a server is known to do where servers differ.
struct Expect {
    /// `FEAT` announces `MLST`, so the listing is `MLSD` (vsftpd: no MLSD at all).
    mlsd: bool,
    /// `REST n` + `STOR` continues an upload.
    rest_stor: bool,
    /// In `TYPE A` an upload's CRLF become LF on disk.
    ascii_store_converts: bool,
}

fn expect(server: &str) -> Expect {
    match server {
        // vsftpd has no MLSD/MLST; ascii_upload_enable defaults to NO (stored as sent).
        "vsftpd" => Expect {
            mlsd: false,
            rest_stor: true,
            ascii_store_converts: false,
        },
        _ => Expect {
            mlsd: true,
            rest_stor: true,
            ascii_store_converts: true,
        },
    }
}

// -------------------------------------------------------------------------------------------
// Recording.

/// One step's outcome: `Ok(note)` or `Err(why it failed)`.
type Step = Result<String, String>;

/// One cell of the matrix.
struct Cell {
    server: &'static str,
    client: &'static str,
    mode: &'static str,
    steps: Vec<(&'static str, Step)>,
}

impl Cell {
    fn new(server: &'static str, client: &'static str, mode: &'static str) -> Cell {
        Cell {
            server,
            client,
            mode,
            steps: Vec::new(),
        }
    }

    fn record(&mut self, name: &'static str, step: Step) {
        self.steps.push((name, step));
    }

    /// `CLIENT-INTEROP vsftpd blocking epsv: put ok ls ok[list] ...`
    fn line(&self) -> String {
        let mut line = format!(
            "CLIENT-INTEROP {} {} {}:",
            self.server, self.client, self.mode
        );
        for (name, step) in &self.steps {
            match step {
                Ok(note) if note.is_empty() => line.push_str(&format!(" {name} ok")),
                Ok(note) => line.push_str(&format!(" {name} ok[{note}]")),
                Err(why) => line.push_str(&format!(" {name} FAIL[{why}]")),
            }
        }
        line
    }

    /// Prints the line; returns the failures.
    fn report(&self) -> Vec<String> {
        eprintln!("{}", self.line());
        self.steps
            .iter()
            .filter_map(|(name, step)| {
                step.as_ref().err().map(|why| {
                    format!(
                        "{} {} {} {name}: {why}",
                        self.server, self.client, self.mode
                    )
                })
            })
            .collect()
    }
}

/// Fails the test with every failure of every cell (after all were printed).
fn conclude(server: &TestServer, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failing cell steps:\n{}\n--- server log ---\n{}",
        failures.len(),
        failures.join("\n"),
        server.log()
    );
}

// -------------------------------------------------------------------------------------------
// Shared helpers.

/// Deterministic pseudo-random bytes (xorshift64*), different per `seed`.
fn random_bytes(len: usize, seed: &str) -> Vec<u8> {
    let mut x = seed.bytes().fold(0x9E37_79B9_7F4A_7C15_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    }) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn config(mode: DataMode) -> Config {
    let mut config = Config::default();
    config.connect_timeout = Duration::from_secs(10);
    config.data_mode = mode;
    config.session.reply_timeout = Duration::from_secs(20);
    config.session.data_timeout = Duration::from_secs(20);
    config
}

/// A served file's contents, read directly from the served directory.
fn served(server: &TestServer, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(server.root.join(path)).map_err(|e| format!("on disk: {path}: {e}"))
}

/// Compares bytes, describing the first difference.
fn same(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "{what}: {} bytes, want {}, first difference at {at}",
        got.len(),
        want.len()
    ))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Checks that a parsed listing shows `name` as a file of `len` bytes.
fn listed(listing: &Listing, name: &str, len: usize) -> Result<(), String> {
    let entry = listing
        .entries
        .iter()
        .find(|e| e.name == name.as_bytes())
        .ok_or_else(|| {
            let names: Vec<_> = listing
                .entries
                .iter()
                .map(|e| String::from_utf8_lossy(&e.name).into_owned())
                .collect();
            format!(
                "{name} not listed (entries {names:?}, {} lines skipped)",
                listing.skipped
            )
        })?;
    if entry.kind != EntryKind::File {
        return Err(format!("{name} listed as {:?}", entry.kind));
    }
    if entry.size != Some(len as u64) {
        return Err(format!(
            "{name} listed with size {:?}, want {len}",
            entry.size
        ));
    }
    Ok(())
}

/// Parses raw `LIST` lines.
fn parse_raw_list(lines: &[Vec<u8>]) -> Listing {
    let mut listing = Listing::default();
    for line in lines {
        match parse_list_line(line) {
            Ok(ListLine::Entry(e)) => listing.entries.push(e),
            Ok(_) => {}
            Err(_) => listing.skipped += 1,
        }
    }
    listing
}

/// The ASCII upload as it is on disk: converted to LF, or kept as sent (CRLF).
fn ascii_stored(on_disk: &[u8], converts: bool) -> Step {
    let crlf: Vec<u8> = TEXT
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|l| {
            let mut l = l.strip_suffix(b"\n").unwrap_or(l).to_vec();
            l.extend_from_slice(b"\r\n");
            l
        })
        .collect();
    match (on_disk == TEXT, on_disk == crlf.as_slice(), converts) {
        (true, _, true) => Ok("stored LF".into()),
        (_, true, false) => Ok("stored as sent (CRLF)".into()),
        (true, _, false) => Ok("stored LF (converts, unexpected but fine)".into()),
        _ => Err(format!(
            "ASCII upload stored as {:?}",
            String::from_utf8_lossy(on_disk)
        )),
    }
}

// -------------------------------------------------------------------------------------------
// The blocking client.

mod blocking_cells {
    use super::*;
    use ftp_client::blocking::Client;
    use ftp_client::TransferType;

    fn connect(server: &TestServer, mode: DataMode) -> Result<Client, String> {
        let mut client = Client::connect(server.addr(), config(mode)).map_err(err)?;
        client
            .login(&server.user, &server.password)
            .map_err(|e| format!("login: {e}"))?;
        Ok(client)
    }

    /// One cell of the matrix.
    pub fn cell(server: &TestServer, mode_name: &'static str, mode: DataMode) -> Cell {
        let mut cell = Cell::new(server.name, "blocking", mode_name);
        let expect = expect(server.name);
        let mut client = match connect(server, mode) {
            Ok(c) => c,
            Err(e) => {
                cell.record("login", Err(e));
                return cell;
            }
        };
        let name = format!("put-blocking-{mode_name}.bin");
        let data = random_bytes(FILE_LEN, &format!("{}{name}", server.name));

        macro_rules! step {
            ($label:literal, $body:expr) => {{
                let result: Step = $body;
                cell.record($label, result);
                if client.is_closed() {
                    // Later steps get a fresh connection, so one failure hides no other.
                    match connect(server, mode) {
                        Ok(c) => client = c,
                        Err(e) => {
                            cell.record("reconnect", Err(e));
                            return cell;
                        }
                    }
                }
            }};
        }

        step!("put", put(&mut client, server, &name, &data));
        step!("ls", ls(&mut client, &name, data.len(), expect.mlsd));
        step!("get", get(&mut client, &name, &data));
        step!("empty", empty(&mut client, server, mode_name));
        step!("resume-get", resume_get(&mut client, &name, &data));
        step!(
            "resume-put",
            resume_put(&mut client, server, mode_name, &data, expect.rest_stor)
        );
        step!(
            "rename/delete",
            rename_delete(&mut client, server, mode_name, &name, &data)
        );
        step!("mkdir/rmdir", mkdir_rmdir(&mut client, server, mode_name));
        if let Err(e) = client.quit() {
            cell.record("quit", Err(err(e)));
        }
        cell
    }

    fn put(c: &mut Client, server: &TestServer, name: &str, data: &[u8]) -> Step {
        let n = c.store_from(name, &mut &data[..]).map_err(err)?;
        if n != data.len() as u64 {
            return Err(format!("store_from returned {n}"));
        }
        same("on disk", &served(server, name)?, data)?;
        Ok(String::new())
    }

    fn ls(c: &mut Client, name: &str, len: usize, mlsd: bool) -> Step {
        let listing = c.list("").map_err(|e| format!("list: {e}"))?;
        let used_mlsd = c.features().is_some_and(|f| f.mlst());
        listed(&listing, name, len).map_err(|e| format!("list: {e}"))?;
        if used_mlsd != mlsd {
            return Err(format!("listed with MLSD = {used_mlsd}, expected {mlsd}"));
        }
        let raw = c.list_raw("").map_err(|e| format!("LIST: {e}"))?;
        listed(&parse_raw_list(&raw), name, len).map_err(|e| format!("LIST: {e}"))?;
        Ok(if used_mlsd { "mlsd+list" } else { "list" }.into())
    }

    fn get(c: &mut Client, name: &str, data: &[u8]) -> Step {
        let mut got = Vec::new();
        let n = c.retrieve_to(name, 0, &mut got).map_err(err)?;
        same("RETR", &got, data)?;
        if n != data.len() as u64 {
            return Err(format!("retrieve_to returned {n}"));
        }
        // A refused RETR leaves the session (and, in active mode, no listener) behind.
        let missing = c.retrieve_to("no-such-file.bin", 0, &mut Vec::new());
        let code = missing.as_ref().err().and_then(Error::reply_code);
        if code != Some(550) {
            return Err(format!("RETR of a missing file: {missing:?}, want 550"));
        }
        Ok(String::new())
    }

    /// `STOR` and `RETR` of an empty file.
    fn empty(c: &mut Client, server: &TestServer, mode: &str) -> Step {
        let name = format!("empty-blocking-{mode}");
        c.store_from(&name, &mut &b""[..])
            .map_err(|e| format!("STOR: {e}"))?;
        same("on disk", &served(server, &name)?, b"")?;
        let mut got = Vec::new();
        c.retrieve_to(&name, 0, &mut got)
            .map_err(|e| format!("RETR: {e}"))?;
        same("RETR", &got, b"")?;
        c.delete(&name).map_err(|e| format!("DELE: {e}"))?;
        Ok(String::new())
    }

    /// Reads the head of the file, abandons the download (`ABOR`), then fetches the rest
    /// with `REST`.
    fn resume_get(c: &mut Client, name: &str, data: &[u8]) -> Step {
        let mut head = vec![0; HEAD_LEN];
        // Abandoned by dropping the stream: ABOR goes out before the next command.
        {
            let mut download = c.retrieve(name, 0).map_err(err)?;
            download
                .read_exact(&mut head[..1000])
                .map_err(|e| format!("dropped download: {e}"))?;
        }
        let size = c
            .size(name)
            .map_err(|e| format!("SIZE after a dropped download: {e}"))?;
        if size != data.len() as u64 {
            return Err(format!("SIZE {size} after a dropped download"));
        }
        let mut download = c.retrieve(name, 0).map_err(err)?;
        download
            .read_exact(&mut head)
            .map_err(|e| format!("head: {e}"))?;
        let aborted = match download.abort() {
            Ok(_) => "abor ok".to_owned(),
            Err(e) => return Err(format!("ABOR failed: {e}")),
        };
        if c.is_closed() {
            return Err(format!("the session closed after ABOR ({aborted})"));
        }
        let mut rest = Vec::new();
        c.retrieve_to(name, HEAD_LEN as u64, &mut rest)
            .map_err(|e| format!("REST {HEAD_LEN} + RETR: {e} ({aborted})"))?;
        head.extend_from_slice(&rest);
        same("head + rest", &head, data)?;
        Ok(aborted)
    }

    /// Uploads the first half, asks `SIZE`, then continues with `REST` + `STOR` (or `APPE`).
    fn resume_put(
        c: &mut Client,
        server: &TestServer,
        mode: &str,
        data: &[u8],
        rest_stor: bool,
    ) -> Step {
        let name = format!("resume-blocking-{mode}.bin");
        let half = data.len() / 2 + 7;
        let mut upload = c.store(&name, 0).map_err(err)?;
        upload.write_all(&data[..half]).map_err(err)?;
        upload.finish().map_err(|e| format!("first half: {e}"))?;
        same("first half on disk", &served(server, &name)?, &data[..half])?;
        let size = c.size(&name).map_err(|e| format!("SIZE: {e}"))?;
        if size != half as u64 {
            return Err(format!("SIZE {size}, want {half}"));
        }
        let continued = c.store(&name, size).and_then(|mut upload| {
            upload.write_all(&data[half..])?;
            upload.finish()
        });
        let note = match continued {
            Ok(_) => "rest+stor".to_owned(),
            Err(e) if !rest_stor => {
                let refused = format!("REST+STOR refused: {e}");
                let mut upload = c
                    .append(&name)
                    .map_err(|e| format!("{refused}; APPE: {e}"))?;
                upload.write_all(&data[half..]).map_err(err)?;
                upload
                    .finish()
                    .map_err(|e| format!("{refused}; APPE: {e}"))?;
                format!("{refused}; appe")
            }
            Err(e) => return Err(format!("REST {size} + STOR: {e}")),
        };
        same("resumed upload on disk", &served(server, &name)?, data)?;
        c.delete(&name).map_err(|e| format!("DELE: {e}"))?;
        Ok(note)
    }

    fn rename_delete(
        c: &mut Client,
        server: &TestServer,
        mode: &str,
        name: &str,
        data: &[u8],
    ) -> Step {
        let dir = format!("moved-blocking-{mode}");
        c.mkdir(&dir).map_err(|e| format!("MKD: {e}"))?;
        let to = format!("{dir}/renamed.bin");
        c.rename(name, &to).map_err(|e| format!("RNFR/RNTO: {e}"))?;
        if server.root.join(name).exists() {
            return Err(format!("{name} still there after the rename"));
        }
        same("renamed on disk", &served(server, &to)?, data)?;
        c.delete(&to).map_err(|e| format!("DELE: {e}"))?;
        if server.root.join(&to).exists() {
            return Err(format!("{to} still there after DELE"));
        }
        let refused = c.delete(&to);
        if !matches!(refused, Err(Error::Reply { code: 550, .. })) {
            return Err(format!("DELE of a missing file: {refused:?}, want 550"));
        }
        c.rmdir(&dir).map_err(|e| format!("RMD: {e}"))?;
        Ok(String::new())
    }

    fn mkdir_rmdir(c: &mut Client, server: &TestServer, mode: &str) -> Step {
        let dir = format!("dir-blocking-{mode}");
        let created = c.mkdir(&dir).map_err(|e| format!("MKD: {e}"))?;
        if !server.root.join(&dir).is_dir() {
            return Err(format!("{dir} not on disk after MKD"));
        }
        c.cwd(&dir).map_err(|e| format!("CWD: {e}"))?;
        c.cdup().map_err(|e| format!("CDUP: {e}"))?;
        c.rmdir(&dir).map_err(|e| format!("RMD: {e}"))?;
        if server.root.join(&dir).exists() {
            return Err(format!("{dir} still there after RMD"));
        }
        Ok(format!("MKD said {:?}", String::from_utf8_lossy(&created)))
    }

    /// `TYPE A`: an upload and a download of LF text.
    pub fn ascii(server: &TestServer) -> Cell {
        let mut cell = Cell::new(server.name, "blocking", "ascii");
        let expect = expect(server.name);
        let step = (|| -> Step {
            let mut c = connect(server, DataMode::ExtendedPassive)?;
            c.transfer_type(TransferType::Ascii).map_err(err)?;
            c.store_from("ascii-up-blocking.txt", &mut &TEXT[..])
                .map_err(|e| format!("STOR: {e}"))?;
            let stored = ascii_stored(
                &served(server, "ascii-up-blocking.txt")?,
                expect.ascii_store_converts,
            )?;
            server.write("ascii-down-blocking.txt", TEXT);
            let mut got = Vec::new();
            c.retrieve_to("ascii-down-blocking.txt", 0, &mut got)
                .map_err(|e| format!("RETR: {e}"))?;
            same("ASCII download", &got, TEXT)?;
            c.transfer_type(ftp_client::TransferType::Binary)
                .map_err(err)?;
            let _ = c.quit();
            Ok(stored)
        })();
        cell.record("ascii put/get", step);
        cell
    }
}

/// All cells of the blocking client against `name`.
fn blocking_matrix(name: &'static str) {
    let Some(server) = common::start(name) else {
        return;
    };
    let mut failures = Vec::new();
    for (mode_name, mode) in MODES {
        failures.extend(blocking_cells::cell(&server, mode_name, mode).report());
    }
    failures.extend(blocking_cells::ascii(&server).report());
    conclude(&server, failures);
}

#[test]
fn vsftpd_blocking() {
    blocking_matrix("vsftpd");
}

#[test]
fn pureftpd_blocking() {
    blocking_matrix("pureftpd");
}

#[test]
fn proftpd_blocking() {
    blocking_matrix("proftpd");
}

#[test]
fn pyftpdlib_blocking() {
    blocking_matrix("pyftpdlib");
}

#[test]
fn own_blocking() {
    blocking_matrix(common::OWN);
}

// -------------------------------------------------------------------------------------------
// The tokio client.

#[cfg(feature = "tokio")]
mod tokio_cells {
    use super::*;
    use ftp_client::nonblocking::TokioClient;
    use ftp_client::TransferType;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    async fn connect(server: &TestServer, mode: DataMode) -> Result<TokioClient, String> {
        let mut client = TokioClient::connect(server.addr(), config(mode))
            .await
            .map_err(err)?;
        client
            .login(&server.user, &server.password)
            .await
            .map_err(|e| format!("login: {e}"))?;
        Ok(client)
    }

    /// One cell of the matrix.
    pub async fn cell(server: &TestServer, mode_name: &'static str, mode: DataMode) -> Cell {
        let mut cell = Cell::new(server.name, "tokio", mode_name);
        let expect = expect(server.name);
        let mut client = match connect(server, mode).await {
            Ok(c) => c,
            Err(e) => {
                cell.record("login", Err(e));
                return cell;
            }
        };
        let name = format!("put-tokio-{mode_name}.bin");
        let data = random_bytes(FILE_LEN, &format!("{}{name}", server.name));

        macro_rules! step {
            ($label:literal, $body:expr) => {{
                let result: Step = $body;
                cell.record($label, result);
                if client.is_closed() {
                    match connect(server, mode).await {
                        Ok(c) => client = c,
                        Err(e) => {
                            cell.record("reconnect", Err(e));
                            return cell;
                        }
                    }
                }
            }};
        }

        step!("put", put(&mut client, server, &name, &data).await);
        step!("ls", ls(&mut client, &name, data.len(), expect.mlsd).await);
        step!("get", get(&mut client, &name, &data).await);
        step!("empty", empty(&mut client, server, mode_name).await);
        step!("resume-get", resume_get(&mut client, &name, &data).await);
        step!(
            "resume-put",
            resume_put(&mut client, server, mode_name, &data, expect.rest_stor).await
        );
        step!(
            "rename/delete",
            rename_delete(&mut client, server, mode_name, &name, &data).await
        );
        step!(
            "mkdir/rmdir",
            mkdir_rmdir(&mut client, server, mode_name).await
        );
        if let Err(e) = client.quit().await {
            cell.record("quit", Err(err(e)));
        }
        cell
    }

    async fn put(c: &mut TokioClient, server: &TestServer, name: &str, data: &[u8]) -> Step {
        let n = c.store_from(name, &mut &data[..]).await.map_err(err)?;
        if n != data.len() as u64 {
            return Err(format!("store_from returned {n}"));
        }
        same("on disk", &served(server, name)?, data)?;
        Ok(String::new())
    }

    async fn ls(c: &mut TokioClient, name: &str, len: usize, mlsd: bool) -> Step {
        let listing = c.list("").await.map_err(|e| format!("list: {e}"))?;
        let used_mlsd = c.features().is_some_and(|f| f.mlst());
        listed(&listing, name, len).map_err(|e| format!("list: {e}"))?;
        if used_mlsd != mlsd {
            return Err(format!("listed with MLSD = {used_mlsd}, expected {mlsd}"));
        }
        let raw = c.list_raw("").await.map_err(|e| format!("LIST: {e}"))?;
        listed(&parse_raw_list(&raw), name, len).map_err(|e| format!("LIST: {e}"))?;
        Ok(if used_mlsd { "mlsd+list" } else { "list" }.into())
    }

    async fn get(c: &mut TokioClient, name: &str, data: &[u8]) -> Step {
        let mut got = Vec::new();
        let n = c.retrieve_to(name, 0, &mut got).await.map_err(err)?;
        same("RETR", &got, data)?;
        if n != data.len() as u64 {
            return Err(format!("retrieve_to returned {n}"));
        }
        let missing = c
            .retrieve_to("no-such-file.bin", 0, &mut Vec::<u8>::new())
            .await;
        let code = missing.as_ref().err().and_then(Error::reply_code);
        if code != Some(550) {
            return Err(format!("RETR of a missing file: {missing:?}, want 550"));
        }
        Ok(String::new())
    }

    async fn empty(c: &mut TokioClient, server: &TestServer, mode: &str) -> Step {
        let name = format!("empty-tokio-{mode}");
        c.store_from(&name, &mut &b""[..])
            .await
            .map_err(|e| format!("STOR: {e}"))?;
        same("on disk", &served(server, &name)?, b"")?;
        let mut got = Vec::new();
        c.retrieve_to(&name, 0, &mut got)
            .await
            .map_err(|e| format!("RETR: {e}"))?;
        same("RETR", &got, b"")?;
        c.delete(&name).await.map_err(|e| format!("DELE: {e}"))?;
        Ok(String::new())
    }

    async fn resume_get(c: &mut TokioClient, name: &str, data: &[u8]) -> Step {
        let mut head = vec![0; HEAD_LEN];
        {
            let mut download = c.retrieve(name, 0).await.map_err(err)?;
            download
                .read_exact(&mut head[..1000])
                .await
                .map_err(|e| format!("dropped download: {e}"))?;
        }
        let size = c
            .size(name)
            .await
            .map_err(|e| format!("SIZE after a dropped download: {e}"))?;
        if size != data.len() as u64 {
            return Err(format!("SIZE {size} after a dropped download"));
        }
        let mut download = c.retrieve(name, 0).await.map_err(err)?;
        download
            .read_exact(&mut head)
            .await
            .map_err(|e| format!("head: {e}"))?;
        let aborted = match download.abort().await {
            Ok(_) => "abor ok".to_owned(),
            Err(e) => return Err(format!("ABOR failed: {e}")),
        };
        if c.is_closed() {
            return Err(format!("the session closed after ABOR ({aborted})"));
        }
        let mut rest = Vec::new();
        c.retrieve_to(name, HEAD_LEN as u64, &mut rest)
            .await
            .map_err(|e| format!("REST {HEAD_LEN} + RETR: {e} ({aborted})"))?;
        head.extend_from_slice(&rest);
        same("head + rest", &head, data)?;
        Ok(aborted)
    }

    async fn store_part(
        c: &mut TokioClient,
        name: &str,
        offset: u64,
        part: &[u8],
    ) -> ftp_client::Result<u64> {
        let mut upload = c.store(name, offset).await?;
        upload.write_all(part).await?;
        upload.finish().await
    }

    async fn resume_put(
        c: &mut TokioClient,
        server: &TestServer,
        mode: &str,
        data: &[u8],
        rest_stor: bool,
    ) -> Step {
        let name = format!("resume-tokio-{mode}.bin");
        let half = data.len() / 2 + 7;
        store_part(c, &name, 0, &data[..half])
            .await
            .map_err(|e| format!("first half: {e}"))?;
        same("first half on disk", &served(server, &name)?, &data[..half])?;
        let size = c.size(&name).await.map_err(|e| format!("SIZE: {e}"))?;
        if size != half as u64 {
            return Err(format!("SIZE {size}, want {half}"));
        }
        let note = match store_part(c, &name, size, &data[half..]).await {
            Ok(_) => "rest+stor".to_owned(),
            Err(e) if !rest_stor => {
                let refused = format!("REST+STOR refused: {e}");
                let mut upload = c
                    .append(&name)
                    .await
                    .map_err(|e| format!("{refused}; APPE: {e}"))?;
                upload.write_all(&data[half..]).await.map_err(err)?;
                upload
                    .finish()
                    .await
                    .map_err(|e| format!("{refused}; APPE: {e}"))?;
                format!("{refused}; appe")
            }
            Err(e) => return Err(format!("REST {size} + STOR: {e}")),
        };
        same("resumed upload on disk", &served(server, &name)?, data)?;
        c.delete(&name).await.map_err(|e| format!("DELE: {e}"))?;
        Ok(note)
    }

    async fn rename_delete(
        c: &mut TokioClient,
        server: &TestServer,
        mode: &str,
        name: &str,
        data: &[u8],
    ) -> Step {
        let dir = format!("moved-tokio-{mode}");
        c.mkdir(&dir).await.map_err(|e| format!("MKD: {e}"))?;
        let to = format!("{dir}/renamed.bin");
        c.rename(name, &to)
            .await
            .map_err(|e| format!("RNFR/RNTO: {e}"))?;
        if server.root.join(name).exists() {
            return Err(format!("{name} still there after the rename"));
        }
        same("renamed on disk", &served(server, &to)?, data)?;
        c.delete(&to).await.map_err(|e| format!("DELE: {e}"))?;
        if server.root.join(&to).exists() {
            return Err(format!("{to} still there after DELE"));
        }
        let refused = c.delete(&to).await;
        if !matches!(refused, Err(Error::Reply { code: 550, .. })) {
            return Err(format!("DELE of a missing file: {refused:?}, want 550"));
        }
        c.rmdir(&dir).await.map_err(|e| format!("RMD: {e}"))?;
        Ok(String::new())
    }

    async fn mkdir_rmdir(c: &mut TokioClient, server: &TestServer, mode: &str) -> Step {
        let dir = format!("dir-tokio-{mode}");
        let created = c.mkdir(&dir).await.map_err(|e| format!("MKD: {e}"))?;
        if !server.root.join(&dir).is_dir() {
            return Err(format!("{dir} not on disk after MKD"));
        }
        c.cwd(&dir).await.map_err(|e| format!("CWD: {e}"))?;
        c.cdup().await.map_err(|e| format!("CDUP: {e}"))?;
        c.rmdir(&dir).await.map_err(|e| format!("RMD: {e}"))?;
        if server.root.join(&dir).exists() {
            return Err(format!("{dir} still there after RMD"));
        }
        Ok(format!("MKD said {:?}", String::from_utf8_lossy(&created)))
    }

    async fn ascii_step(server: &TestServer) -> Step {
        let expect = expect(server.name);
        let mut c = connect(server, DataMode::ExtendedPassive).await?;
        c.transfer_type(TransferType::Ascii).await.map_err(err)?;
        c.store_from("ascii-up-tokio.txt", &mut &TEXT[..])
            .await
            .map_err(|e| format!("STOR: {e}"))?;
        let stored = ascii_stored(
            &served(server, "ascii-up-tokio.txt")?,
            expect.ascii_store_converts,
        )?;
        server.write("ascii-down-tokio.txt", TEXT);
        let mut got = Vec::new();
        c.retrieve_to("ascii-down-tokio.txt", 0, &mut got)
            .await
            .map_err(|e| format!("RETR: {e}"))?;
        same("ASCII download", &got, TEXT)?;
        let _ = c.quit().await;
        Ok(stored)
    }

    /// `TYPE A`: an upload and a download of LF text.
    pub async fn ascii(server: &TestServer) -> Cell {
        let mut cell = Cell::new(server.name, "tokio", "ascii");
        cell.record("ascii put/get", ascii_step(server).await);
        cell
    }
}

/// All cells of the tokio client against `name`.
#[cfg(feature = "tokio")]
fn tokio_matrix(name: &'static str) {
    let Some(server) = common::start(name) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let failures = runtime.block_on(async {
        let mut failures = Vec::new();
        for (mode_name, mode) in MODES {
            failures.extend(tokio_cells::cell(&server, mode_name, mode).await.report());
        }
        failures.extend(tokio_cells::ascii(&server).await.report());
        failures
    });
    conclude(&server, failures);
}

#[cfg(feature = "tokio")]
#[test]
fn vsftpd_tokio() {
    tokio_matrix("vsftpd");
}

#[cfg(feature = "tokio")]
#[test]
fn pureftpd_tokio() {
    tokio_matrix("pureftpd");
}

#[cfg(feature = "tokio")]
#[test]
fn proftpd_tokio() {
    tokio_matrix("proftpd");
}

#[cfg(feature = "tokio")]
#[test]
fn pyftpdlib_tokio() {
    tokio_matrix("pyftpdlib");
}

#[cfg(feature = "tokio")]
#[test]
fn own_tokio() {
    tokio_matrix(common::OWN);
}

#[test]
fn random_bytes_differ_by_seed() {
    let a = random_bytes(64, "a");
    assert_eq!(a, random_bytes(64, "a"));
    assert_ne!(a, random_bytes(64, "b"));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).is_dir());
}
