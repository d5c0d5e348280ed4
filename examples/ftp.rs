//! `ftp`: a command-line FTP client built on `ftp-client`.
//!
//! ```text
//! cargo run --release --example ftp -- [OPTIONS] <COMMAND> ...
//!
//! ftp ls    URL [--raw]              list a directory (parsed and aligned; --raw: as sent)
//! ftp get   URL... [-o PATH]         download files; the last path segment may be a pattern
//!                                    (`*`, `?`, `[...]`); -o - writes to stdout
//! ftp put   FILE... URL              upload; several files go into a directory URL ending in /
//! ftp rm    URL                      delete a file
//! ftp mkdir URL                      create a directory
//! ftp rmdir URL                      remove a directory
//! ftp mv    URL NEW-PATH             rename (NEW-PATH as the server sees it; a relative one is
//!                                    relative to the login directory)
//!
//! options:  --mode auto|epsv|pasv|active   how the data connection is made (auto: EPSV, then PASV)
//!           --ascii                        transfer as text (TYPE A); a URL's ;type= wins
//!           --resume                       continue a partial download or upload (REST)
//!           --timeout SECS                 give up when the server is silent this long (30)
//!           --tls                          explicit FTPS: AUTH TLS before the login (ftp:// URLs)
//!           --cacert PEM                   trust the certificates in PEM (a private CA, a
//!                                          self-signed server) instead of the system's roots
//!           --insecure                     accept any server certificate (test servers only)
//!           --tls12                        offer TLS 1.2 only (ProFTPD: many uploads in one
//!                                          session; see ftp_client::tls)
//!           -v, --verbose                  print the control conversation on stderr
//! ```
//!
//! URLs are `ftp://[user[:password]@]host[:port]/path` or `ftps://...` (implicit TLS, port 990
//! by default): see `ftp_client::url`. Without a user the login is anonymous. Paths are
//! relative to the login directory; `ftp://host/%2Fetc/motd` is the absolute `/etc/motd`.
//! Quote patterns so the shell does not expand them: `ftp get 'ftp://host/logs/*.gz'`.
//!
//! TLS: with `--tls` (explicit, RFC 4217) the client sends `AUTH TLS` after the greeting and
//! never sends the password if the server refuses; an `ftps://` URL means implicit TLS, from
//! the first byte. Either way the server's certificate is verified (against the system's
//! trusted roots, or `--cacert`) for the URL's host, and the data connections are encrypted
//! too (`PBSZ 0`, `PROT P`), resuming the control connection's TLS session. `--insecure`
//! skips the certificate check: only for test servers with a self-signed certificate.
//!
//! With `--verbose` the commands are shown as `ftp -d` shows them, `---> USER slacker`, with
//! the password hidden (`---> PASS XXXX`), and each reply line as received.
//!
//! A progress bar is drawn on stderr when stderr is a terminal.
//!
//! Exit status: 0 on success; on failure the error goes to stderr (`ftp: <url>: 550 No such
//! file`) and the status is 5 for a 5yz reply, 4 for a 4yz reply, 3 for a timeout, 2 for a
//! usage error and 1 otherwise.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand, ValueEnum};
use ftp_client::blocking::Client;
use ftp_client::ftp_proto::listing::{self, EntryKind, ListLine, Modified};
use ftp_client::ftp_proto::time::FtpTime;
use ftp_client::tls::Tls;
use ftp_client::{Config, DataMode, Error, FtpUrl, Scheme, TlsMode, TransferType, TypeCode};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

// ---------------------------------------------------------------------------------------------
// Command line.

#[derive(Parser, Debug)]
#[command(name = "ftp", version, about = "A command-line FTP client")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// How the data connection is made.
    #[arg(long, value_enum, default_value_t = Mode::Auto, global = true)]
    mode: Mode,
    /// Transfer files as text (TYPE A); a URL's `;type=a|i` takes precedence.
    #[arg(long, global = true)]
    ascii: bool,
    /// Continue a partial transfer where it stopped (REST).
    #[arg(long, global = true)]
    resume: bool,
    /// Seconds without any sign from the server before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 30, global = true)]
    timeout: u64,
    /// Explicit FTPS: AUTH TLS after the greeting, before the login (`ftps://` URLs are
    /// implicit FTPS without this flag).
    #[arg(long, global = true)]
    tls: bool,
    /// Trust the certificates in this PEM file (a private CA, or the server's self-signed
    /// certificate) instead of the system's roots.
    #[arg(long, value_name = "PEM", global = true, conflicts_with = "insecure")]
    cacert: Option<PathBuf>,
    /// Accept any server certificate, unverified. For test servers only: anyone on the path
    /// can impersonate the server.
    #[arg(long, global = true)]
    insecure: bool,
    /// Offer TLS 1.2 only: ProFTPD sends no TLS 1.3 session ticket with uploads, so with
    /// TLS 1.3 its data connections are refused after an upload or two in one session.
    #[arg(long, global = true)]
    tls12: bool,
    /// Print the control conversation on stderr (passwords hidden).
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List a directory.
    Ls {
        /// The directory (or `;type=d` for bare names).
        url: String,
        /// Print the listing exactly as the server sent it.
        #[arg(long)]
        raw: bool,
    },
    /// Download files.
    Get {
        /// One or more files; the last path segment may hold `*`, `?` or `[...]`.
        #[arg(required = true)]
        urls: Vec<String>,
        /// Where to write: a file, a directory, or `-` for stdout.
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Upload files.
    Put {
        /// Local files, then the target URL (a directory ending in `/` for several files).
        #[arg(required = true, num_args = 2.., value_name = "FILE... URL")]
        args: Vec<OsString>,
    },
    /// Delete a file.
    Rm {
        /// The file.
        url: String,
    },
    /// Create a directory.
    Mkdir {
        /// The new directory.
        url: String,
    },
    /// Remove an empty directory.
    Rmdir {
        /// The directory.
        url: String,
    },
    /// Rename a file or directory.
    Mv {
        /// What to rename.
        url: String,
        /// The new path on the same server.
        new_path: OsString,
    },
}

/// How the data connection is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// EPSV, falling back to PASV when the server refuses it.
    Auto,
    /// EPSV only (RFC 2428).
    Epsv,
    /// PASV only (RFC 959).
    Pasv,
    /// The server connects to us (EPRT, or PORT on IPv4).
    Active,
}

impl Mode {
    /// The name used on the command line.
    fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Epsv => "epsv",
            Mode::Pasv => "pasv",
            Mode::Active => "active",
        }
    }
}

/// What every connection is opened with.
#[derive(Clone, Debug)]
struct Settings {
    mode: Mode,
    timeout: Duration,
    verbose: bool,
    /// Explicit TLS for `ftp://` URLs.
    tls: bool,
    /// Whom to trust.
    trust: Trust,
    /// Offer TLS 1.2 only.
    tls12: bool,
}

/// Whose certificates the client trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Trust {
    /// The system's roots (the webpki roots when the system has none).
    System,
    /// The certificates of this PEM file.
    CaFile(PathBuf),
    /// Anyone (`--insecure`).
    Anyone,
}

impl Settings {
    /// When TLS starts for `url`: implicit for `ftps://`, explicit with `--tls`.
    fn tls_mode(&self, url: &FtpUrl) -> TlsMode {
        match (url.scheme(), self.tls) {
            (Scheme::Ftps, _) => TlsMode::Implicit,
            (_, true) => TlsMode::Explicit,
            _ => TlsMode::Off,
        }
    }

    /// The TLS settings for `url`'s host.
    fn tls_for(&self, url: &FtpUrl) -> Result<Tls, Error> {
        let tls = match &self.trust {
            Trust::System => Tls::system_roots(),
            Trust::CaFile(path) => Tls::with_ca_file(path)?,
            Trust::Anyone => Tls::insecure(),
        };
        let tls = if self.tls12 { tls.tls12_only() } else { tls };
        tls.with_server_name(url.host())
    }
}

// ---------------------------------------------------------------------------------------------
// The network side: what this tool needs from a connection.

/// Whether a transfer is binary or text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// TYPE I.
    Binary,
    /// TYPE A: line endings converted.
    Ascii,
}

/// One logged-in control connection. Paths are bytes, as in the URL.
///
/// Implemented over the blocking `ftp-client` connection: [`BlockingRemote`], opened by
/// [`connect`].
trait Remote {
    /// `LIST path` (empty path: the login directory): the listing as sent.
    fn list(&mut self, path: &[u8]) -> Result<Vec<u8>, Error>;
    /// `NLST path`: the names as sent (some servers prefix them with `path/`).
    fn name_list(&mut self, path: &[u8]) -> Result<Vec<Vec<u8>>, Error>;
    /// `SIZE path` in the given type; `None` when the server does not support SIZE.
    fn size(&mut self, path: &[u8], kind: Kind) -> Result<Option<u64>, Error>;
    /// `REST offset` (if not 0) then `RETR path`, writing the data to `out`; `progress` gets
    /// the bytes received so far. Returns the byte count.
    fn retrieve(
        &mut self,
        path: &[u8],
        kind: Kind,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, Error>;
    /// `REST offset` (if not 0) then `STOR path`, sending `input` (already positioned at
    /// `offset`); `progress` gets the bytes sent so far. Returns the byte count.
    fn store(
        &mut self,
        path: &[u8],
        kind: Kind,
        offset: u64,
        input: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, Error>;
    /// `DELE path`.
    fn delete(&mut self, path: &[u8]) -> Result<(), Error>;
    /// `MKD path`.
    fn make_dir(&mut self, path: &[u8]) -> Result<(), Error>;
    /// `RMD path`.
    fn remove_dir(&mut self, path: &[u8]) -> Result<(), Error>;
    /// `RNFR from`, `RNTO to`.
    fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error>;
    /// `QUIT`.
    fn quit(&mut self) -> Result<(), Error>;
}

/// Opens and logs in a connection to `url`'s server.
///
/// The blocking client owns its control connection and exposes no hook for the raw bytes it
/// sends and receives, so `--verbose` shows the greeting as received, the commands each
/// operation sends as `ftp -d` does (`---> RETR f`, passwords hidden), and the server's reply
/// whenever it refuses one (the code and text the client reports); the replies to commands
/// that succeed are not available to print.
fn connect(url: &FtpUrl, settings: &Settings) -> Result<Box<dyn Remote>, Error> {
    let tls_mode = settings.tls_mode(url);
    // Certificates are read (and a bad --cacert reported) before any network.
    let tls = match tls_mode {
        TlsMode::Off => None,
        _ => Some(settings.tls_for(url)?),
    };
    if settings.verbose {
        let tls_note = match tls_mode {
            TlsMode::Implicit => ", implicit TLS",
            TlsMode::Explicit => ", explicit TLS",
            _ => "",
        };
        eprintln!(
            "Connecting to {} ({} data connections, timeout {}s{tls_note})",
            url.authority(),
            settings.mode.as_str(),
            settings.timeout.as_secs()
        );
    }
    let mut config = Config::default();
    if let Some(tls) = tls {
        config = config.tls(tls_mode, tls);
    }
    config.connect_timeout = settings.timeout;
    config.session.reply_timeout = settings.timeout;
    config.session.data_timeout = settings.timeout;
    config.data_mode = match settings.mode {
        Mode::Auto => DataMode::Auto,
        Mode::Epsv => DataMode::ExtendedPassive,
        Mode::Pasv => DataMode::Passive,
        Mode::Active => DataMode::Active { bind: None },
    };
    let client = Client::connect((url.host(), url.port()), config)?;
    let mut remote = BlockingRemote {
        client,
        kind: Kind::Binary,
        mode: settings.mode,
        verbose: settings.verbose,
    };
    if remote.verbose {
        eprintln!("Connected to {}.", remote.client.peer_addr());
        if let Some(greeting) = remote.client.greeting() {
            let mut text = Vec::new();
            greeting.encode(&mut text);
            Transcript::received(&text);
        }
        if tls_mode == TlsMode::Explicit {
            Transcript::sent(b"AUTH TLS");
        }
        if remote.client.is_secure() {
            eprintln!("TLS established with {}.", url.host());
        }
    }
    remote.sent(&[b"USER ", url.user()].concat());
    remote.sent(&[b"PASS ", url.password()].concat());
    if remote.client.is_secure() {
        remote.sent(b"PBSZ 0");
        remote.sent(b"PROT P");
    }
    remote.sent(b"TYPE I");
    let result = remote.client.login(url.user(), url.password());
    remote.traced(result)?;
    Ok(Box::new(remote))
}

/// [`Remote`] over the blocking `ftp-client` connection.
struct BlockingRemote {
    client: Client,
    /// The transfer type the session is in (login selects binary).
    kind: Kind,
    mode: Mode,
    verbose: bool,
}

impl BlockingRemote {
    /// Shows a command line in the `--verbose` transcript.
    fn sent(&self, line: &[u8]) {
        if self.verbose {
            Transcript::sent(line);
        }
    }

    /// Shows the server's refusal in the `--verbose` transcript; passes `result` on.
    fn traced<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if self.verbose {
            if let Err(Error::Reply { code, text }) = &result {
                Transcript::received(format!("{code} {text}").as_bytes());
            }
        }
        result
    }

    /// Runs one command with no data connection: shows `line`, runs `op`, shows a refusal.
    fn command<T>(
        &mut self,
        line: &[u8],
        op: impl FnOnce(&mut Client) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.sent(line);
        let result = op(&mut self.client);
        self.traced(result)
    }

    /// Selects the transfer type (`TYPE A` / `TYPE I`) if the session is not in it yet.
    fn set_kind(&mut self, kind: Kind) -> Result<(), Error> {
        if self.kind == kind {
            return Ok(());
        }
        let (line, t): (&[u8], _) = match kind {
            Kind::Ascii => (b"TYPE A", TransferType::Ascii),
            Kind::Binary => (b"TYPE I", TransferType::Binary),
        };
        self.command(line, |c| c.transfer_type(t))?;
        self.kind = kind;
        Ok(())
    }

    /// Shows the command that sets up the data connection, as the data mode makes it.
    fn data_command(&self) {
        if !self.verbose {
            return;
        }
        let v6 = self.client.local_addr().is_ipv6();
        let line: &[u8] = match self.mode {
            Mode::Auto => b"EPSV (PASV from now on if refused)",
            Mode::Epsv => b"EPSV",
            Mode::Pasv if v6 => b"EPSV",
            Mode::Pasv => b"PASV",
            Mode::Active if v6 => b"EPRT |2|...|",
            Mode::Active => b"PORT ...",
        };
        Transcript::sent(line);
    }

    /// Shows the commands of a transfer: data connection, `REST`, then `verb path`.
    fn transfer_commands(&self, verb: &[u8], path: &[u8], offset: u64) {
        if !self.verbose {
            return;
        }
        self.data_command();
        if offset > 0 {
            Transcript::sent(format!("REST {offset}").as_bytes());
        }
        Transcript::sent(&command_line(verb, path));
    }

    /// The `ftp`-style summary of a finished transfer.
    fn summary(&self, bytes: u64, direction: &str, started: Instant) {
        if self.verbose {
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            eprintln!(
                "{bytes} bytes {direction} in {secs:.3} secs ({:.1} KiB/s)",
                bytes as f64 / 1024.0 / secs
            );
        }
    }
}

/// `VERB path`, or just `VERB` for an empty path.
fn command_line(verb: &[u8], path: &[u8]) -> Vec<u8> {
    let mut line = verb.to_vec();
    if !path.is_empty() {
        line.push(b' ');
        line.extend_from_slice(path);
    }
    line
}

/// A writer that reports the bytes written through it so far.
struct Counting<'a, W: ?Sized> {
    inner: &'a mut W,
    total: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<W: Write + ?Sized> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.total += n as u64;
        (self.progress)(self.total);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that reports the bytes read through it so far.
struct CountingReader<'a, R: ?Sized> {
    inner: &'a mut R,
    total: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read + ?Sized> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        (self.progress)(self.total);
        Ok(n)
    }
}

impl Remote for BlockingRemote {
    fn list(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        self.transfer_commands(b"LIST", path, 0);
        let result = self.client.list_raw(path);
        let lines = self.traced(result)?;
        let mut out = Vec::new();
        for line in lines {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        Ok(out)
    }

    fn name_list(&mut self, path: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        self.transfer_commands(b"NLST", path, 0);
        let result = self.client.nlst(path);
        Ok(self.traced(result)?.into_iter().map(Vec::from).collect())
    }

    fn size(&mut self, path: &[u8], kind: Kind) -> Result<Option<u64>, Error> {
        if self.client.features().is_some_and(|f| !f.size()) {
            return Ok(None);
        }
        self.set_kind(kind)?;
        match self.command(&command_line(b"SIZE", path), |c| c.size(path)) {
            Ok(n) => Ok(Some(n)),
            // SIZE not implemented (500, 502, 504).
            Err(Error::Reply {
                code: 500 | 502 | 504,
                ..
            }) => Ok(None),
            // Some servers refuse SIZE in ASCII (vsftpd: 550); RETR tells whether the file
            // is there.
            Err(Error::Reply { code: 550, .. }) if kind == Kind::Ascii => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn retrieve(
        &mut self,
        path: &[u8],
        kind: Kind,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, Error> {
        self.set_kind(kind)?;
        self.transfer_commands(b"RETR", path, offset);
        let started = Instant::now();
        let mut counting = Counting {
            inner: out,
            total: 0,
            progress,
        };
        let result = self.client.retrieve_to(path, offset, &mut counting);
        let n = self.traced(result)?;
        self.summary(n, "received", started);
        Ok(n)
    }

    fn store(
        &mut self,
        path: &[u8],
        kind: Kind,
        offset: u64,
        input: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, Error> {
        self.set_kind(kind)?;
        self.transfer_commands(b"STOR", path, offset);
        let started = Instant::now();
        let result = (|| {
            let mut upload = self.client.store(path, offset)?;
            let mut counting = CountingReader {
                inner: input,
                total: 0,
                progress,
            };
            match io::copy(&mut counting, &mut upload) {
                Ok(n) => upload.finish().map(|_| n),
                // The server may have ended the transfer with a reply (552 over quota ...):
                // that reply says more than the broken pipe.
                Err(e) => match upload.finish() {
                    Err(refused @ Error::Reply { .. }) => Err(refused),
                    _ => Err(e.into()),
                },
            }
        })();
        let n = self.traced(result)?;
        self.summary(n, "sent", started);
        Ok(n)
    }

    fn delete(&mut self, path: &[u8]) -> Result<(), Error> {
        self.command(&command_line(b"DELE", path), |c| c.delete(path))
    }

    fn make_dir(&mut self, path: &[u8]) -> Result<(), Error> {
        let created = self.command(&command_line(b"MKD", path), |c| c.mkdir(path))?;
        if self.verbose {
            eprintln!("created {}", String::from_utf8_lossy(&created));
        }
        Ok(())
    }

    fn remove_dir(&mut self, path: &[u8]) -> Result<(), Error> {
        self.command(&command_line(b"RMD", path), |c| c.rmdir(path))
    }

    fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error> {
        self.sent(&command_line(b"RNFR", from));
        self.sent(&command_line(b"RNTO", to));
        let result = self.client.rename(from, to);
        self.traced(result)
    }

    fn quit(&mut self) -> Result<(), Error> {
        if self.client.is_closed() {
            return Ok(());
        }
        self.command(b"QUIT", Client::quit)
    }
}

/// The `--verbose` output: the control conversation as `ftp -d` prints it.
struct Transcript;

impl Transcript {
    /// A command line the client sent (without its CRLF).
    fn sent(line: &[u8]) {
        eprintln!("---> {}", String::from_utf8_lossy(&redact(line)));
    }

    /// A reply the server sent (all its lines, line endings included or not).
    fn received(reply: &[u8]) {
        for line in reply.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                eprintln!("{}", String::from_utf8_lossy(line));
            }
        }
    }
}

/// `PASS secret` → `PASS XXXX` (any case of the verb); other lines unchanged.
fn redact(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match line.get(..5) {
        Some(verb) if verb.eq_ignore_ascii_case(b"PASS ") => {
            let mut out = verb.to_vec();
            out.extend_from_slice(b"XXXX");
            out.into()
        }
        _ => line.into(),
    }
}

/// Keeps one connection open across the operations on the same server and login.
struct Connections {
    settings: Settings,
    current: Option<(String, Box<dyn Remote>)>,
}

impl Connections {
    fn new(settings: Settings) -> Self {
        Connections {
            settings,
            current: None,
        }
    }

    /// The connection for `url`, reusing the open one if it is to the same server and user.
    fn get(&mut self, url: &FtpUrl) -> Result<&mut dyn Remote, Error> {
        let key = format!(
            "{}://{}|{:?}",
            url.scheme().as_str(),
            url.authority(),
            url.user()
        );
        if self.current.as_ref().is_none_or(|(k, _)| *k != key) {
            self.close();
            let remote = connect(url, &self.settings)?;
            self.current = Some((key, remote));
        }
        match &mut self.current {
            Some((_, remote)) => Ok(remote.as_mut()),
            None => Err(Error::NotConnected),
        }
    }

    /// Sends QUIT on the open connection, if any (a failing QUIT changes nothing).
    fn close(&mut self) {
        if let Some((_, mut remote)) = self.current.take() {
            let _ = remote.quit();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// A failure with the URL or file it concerns.
struct Failure {
    what: String,
    error: Error,
}

impl Failure {
    fn new(what: impl std::fmt::Display, error: Error) -> Self {
        Failure {
            what: what.to_string(),
            error,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = Settings {
        mode: cli.mode,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        verbose: cli.verbose,
        tls: cli.tls,
        trust: match (&cli.cacert, cli.insecure) {
            (_, true) => Trust::Anyone,
            (Some(path), false) => Trust::CaFile(path.clone()),
            (None, false) => Trust::System,
        },
        tls12: cli.tls12,
    };
    let mut conns = Connections::new(settings);
    let result = run(&cli, &mut conns);
    conns.close();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failures) => {
            let mut code = 1;
            for f in &failures {
                if f.what.is_empty() {
                    eprintln!("ftp: {}", f.error);
                } else {
                    eprintln!("ftp: {}: {}", f.what, f.error);
                }
                code = f.error.exit_code();
            }
            ExitCode::from(code)
        }
    }
}

fn parse_url(s: &str) -> Result<FtpUrl, Failure> {
    FtpUrl::parse(s).map_err(|e| Failure::new(s, e.into()))
}

fn run(cli: &Cli, conns: &mut Connections) -> Result<(), Vec<Failure>> {
    let one = |r: Result<(), Failure>| r.map_err(|f| vec![f]);
    match &cli.command {
        Cmd::Ls { url, raw } => one(ls(conns, url, *raw)),
        Cmd::Get { urls, output } => get(cli, conns, urls, output.as_deref()),
        Cmd::Put { args } => put(cli, conns, args),
        Cmd::Rm { url } => one(simple(conns, url, |r, p| r.delete(p))),
        Cmd::Mkdir { url } => one(simple(conns, url, |r, p| r.make_dir(p))),
        Cmd::Rmdir { url } => one(simple(conns, url, |r, p| r.remove_dir(p))),
        Cmd::Mv { url, new_path } => {
            let to = os_bytes(new_path).map_err(|e| vec![Failure::new("", e)])?;
            one(simple(conns, url, |r, p| r.rename(p, &to)))
        }
    }
}

/// `rm`, `mkdir`, `rmdir`, `mv`: one command on one path.
fn simple(
    conns: &mut Connections,
    url: &str,
    op: impl FnOnce(&mut dyn Remote, &[u8]) -> Result<(), Error>,
) -> Result<(), Failure> {
    let url = parse_url(url)?;
    if url.path().is_empty() {
        return Err(Failure::new(&url, Error::usage("the URL names no path")));
    }
    // `mkdir ftp://h/new/` and `rmdir ftp://h/old/` name the directory with a slash.
    let path = match url.path() {
        [rest @ .., b'/'] if !rest.is_empty() => rest,
        p => p,
    };
    let remote = conns.get(&url).map_err(|e| Failure::new(&url, e))?;
    op(remote, path).map_err(|e| Failure::new(&url, e))
}

fn ls(conns: &mut Connections, url: &str, raw: bool) -> Result<(), Failure> {
    let url = parse_url(url)?;
    let fail = |e| Failure::new(&url, e);
    let remote = conns.get(&url).map_err(fail)?;
    let mut stdout = io::stdout().lock();
    if url.type_code() == Some(TypeCode::Directory) {
        for name in remote.name_list(url.path()).map_err(fail)? {
            stdout.write_all(&name).map_err(|e| fail(e.into()))?;
            stdout.write_all(b"\n").map_err(|e| fail(e.into()))?;
        }
        return Ok(());
    }
    let listing = remote.list(url.path()).map_err(fail)?;
    let out = if raw {
        listing
    } else {
        format_listing(&listing, now())
    };
    stdout.write_all(&out).map_err(|e| fail(e.into()))?;
    stdout.flush().map_err(|e| fail(e.into()))
}

/// Rewrites a LIST listing as aligned columns: type and permissions, size, time (UTC), name.
/// Lines that do not parse are kept as they are.
fn format_listing(listing: &[u8], now: Option<FtpTime>) -> Vec<u8> {
    let mut out = Vec::with_capacity(listing.len());
    for line in listing.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let entry = match listing::parse_list_line(line) {
            Ok(ListLine::Entry(entry)) => entry,
            Ok(_) => continue,
            Err(_) => {
                out.extend_from_slice(line);
                out.push(b'\n');
                continue;
            }
        };
        let kind = match entry.kind {
            EntryKind::Dir | EntryKind::CurrentDir | EntryKind::ParentDir => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::File => '-',
            _ => '?',
        };
        let perms = entry
            .permissions
            .map_or_else(|| "---------".to_owned(), mode_string);
        let size = entry.size.map_or_else(String::new, |s| s.to_string());
        let time = entry
            .modified
            .and_then(|m| match (m, now) {
                (Modified::Exact(t), _) => Some(t),
                (m, Some(now)) => m.resolve(now),
                (m, None) => m.with_year(1970),
            })
            .map_or_else(
                || " ".repeat(16),
                |t| {
                    format!(
                        "{:04}-{:02}-{:02} {:02}:{:02}",
                        t.year, t.month, t.day, t.hour, t.minute
                    )
                },
            );
        out.extend_from_slice(format!("{kind}{perms} {size:>12} {time} ").as_bytes());
        out.extend_from_slice(&entry.name);
        if let Some(target) = &entry.link_target {
            out.extend_from_slice(b" -> ");
            out.extend_from_slice(target);
        }
        out.push(b'\n');
    }
    out
}

/// `0o754` → `rwxr-xr--`.
fn mode_string(mode: u16) -> String {
    let mut s = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn now() -> Option<FtpTime> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    FtpTime::from_unix(i64::try_from(secs).ok()?, 0)
}

/// The transfer type for `url`: its `;type=` code, else `--ascii`.
fn kind_for(url: &FtpUrl, ascii: bool) -> Kind {
    match url.type_code() {
        Some(TypeCode::Ascii) => Kind::Ascii,
        Some(TypeCode::Image) => Kind::Binary,
        _ if ascii => Kind::Ascii,
        _ => Kind::Binary,
    }
}

/// Where a download goes.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Stdout,
    File(PathBuf),
}

/// The files a `get` argument stands for: itself, or the matches of its pattern.
fn expand(conns: &mut Connections, url: FtpUrl) -> Result<Vec<FtpUrl>, Failure> {
    let Some(pattern) = url.glob().cloned() else {
        if url.file_name().is_none() || url.type_code() == Some(TypeCode::Directory) {
            return Err(Failure::new(
                &url,
                Error::usage("names a directory, not a file (add a file name or a pattern)"),
            ));
        }
        return Ok(vec![url]);
    };
    let remote = conns.get(&url).map_err(|e| Failure::new(&url, e))?;
    let names = remote
        .name_list(url.parent())
        .map_err(|e| Failure::new(&url, e))?;
    let matches = matching_names(names, &pattern);
    if matches.is_empty() {
        return Err(Failure::new(&url, Error::usage("no file matches")));
    }
    Ok(matches.iter().map(|n| url.with_file_name(n)).collect())
}

/// The last segments of NLST `names` that match `pattern`, sorted, without duplicates.
fn matching_names(names: Vec<Vec<u8>>, pattern: &ftp_client::glob::Pattern) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = names
        .into_iter()
        .map(|n| {
            let n = n.strip_suffix(b"\r").unwrap_or(&n);
            let start = n.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
            n[start..].to_vec()
        })
        .filter(|n| !n.is_empty() && n != b"." && n != b".." && pattern.matches(n))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A remote name as a local file name: refused if it could leave the target directory.
fn local_name(name: &[u8]) -> Result<PathBuf, Error> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(Error::usage(format!(
            "refusing the remote name {:?} as a local file name",
            String::from_utf8_lossy(name)
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(OsStr::from_bytes(name)))
    }
    #[cfg(not(unix))]
    {
        match std::str::from_utf8(name) {
            Ok(s) if !s.contains(['\\', ':']) => Ok(PathBuf::from(s)),
            _ => Err(Error::usage(format!(
                "the remote name {:?} is not a valid local file name",
                String::from_utf8_lossy(name)
            ))),
        }
    }
}

/// A local path or argument as bytes (for remote paths and file names).
fn os_bytes(s: &OsStr) -> Result<Vec<u8>, Error> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(s.as_bytes().to_vec())
    }
    #[cfg(not(unix))]
    {
        s.to_str()
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| Error::usage(format!("{s:?} is not valid UTF-8")))
    }
}

/// Where each of `count` downloads named `name` goes, given `-o`.
fn target_for(output: Option<&Path>, several: bool, name: &[u8]) -> Result<Target, Error> {
    match output {
        Some(p) if p == Path::new("-") => Ok(Target::Stdout),
        Some(p) if p.is_dir() => Ok(Target::File(p.join(local_name(name)?))),
        Some(p) if several => Err(Error::usage(format!(
            "{}: several files need an existing directory (or - for stdout)",
            p.display()
        ))),
        Some(p) => Ok(Target::File(p.to_path_buf())),
        None => Ok(Target::File(local_name(name)?)),
    }
}

fn get(
    cli: &Cli,
    conns: &mut Connections,
    urls: &[String],
    output: Option<&Path>,
) -> Result<(), Vec<Failure>> {
    let mut failures = Vec::new();
    let mut files = Vec::new();
    let mut globbed = false;
    for s in urls {
        match parse_url(s) {
            Ok(url) => {
                globbed |= url.glob().is_some();
                match expand(conns, url) {
                    Ok(mut found) => files.append(&mut found),
                    Err(f) => failures.push(f),
                }
            }
            Err(f) => failures.push(f),
        }
    }
    let several = globbed || urls.len() > 1;
    if cli.resume && output == Some(Path::new("-")) {
        return Err(vec![Failure::new(
            "",
            Error::usage("--resume cannot write to stdout"),
        )]);
    }
    for url in files {
        let name = url.file_name().unwrap_or_default().to_vec();
        let result = target_for(output, several, &name)
            .and_then(|target| download(cli, conns, &url, &target));
        if let Err(e) = result {
            failures.push(Failure::new(&url, e));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

fn download(
    cli: &Cli,
    conns: &mut Connections,
    url: &FtpUrl,
    target: &Target,
) -> Result<(), Error> {
    let kind = kind_for(url, cli.ascii);
    let remote = conns.get(url)?;
    let size = remote.size(url.path(), kind)?;
    match target {
        Target::Stdout => {
            let bar = progress_bar(size, &url.to_string());
            let mut out = io::stdout().lock();
            let n = remote.retrieve(url.path(), kind, 0, &mut out, &mut |n| bar.set_position(n))?;
            out.flush()?;
            bar.finish_and_clear();
            let _ = n;
            Ok(())
        }
        Target::File(path) => {
            let offset = if cli.resume {
                match fs::metadata(path) {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                    Err(e) => return Err(e.into()),
                }
            } else {
                0
            };
            if let Some(size) = size {
                if cli.resume && offset == size {
                    if cli.verbose {
                        eprintln!("{}: already complete", path.display());
                    }
                    return Ok(());
                }
                if offset > size {
                    return Err(Error::usage(format!(
                        "{} is larger ({offset} bytes) than the remote file ({size} bytes)",
                        path.display()
                    )));
                }
            }
            let mut file = if offset > 0 {
                OpenOptions::new().append(true).open(path)?
            } else {
                File::create(path)?
            };
            let bar = progress_bar(size, &path.display().to_string());
            bar.set_position(offset);
            let mut out = io::BufWriter::with_capacity(256 * 1024, &mut file);
            remote.retrieve(url.path(), kind, offset, &mut out, &mut |n| {
                bar.set_position(offset + n)
            })?;
            out.flush()?;
            drop(out);
            file.sync_all()?;
            bar.finish_and_clear();
            Ok(())
        }
    }
}

fn put(cli: &Cli, conns: &mut Connections, args: &[OsString]) -> Result<(), Vec<Failure>> {
    let Some((url_arg, files)) = args.split_last() else {
        return Err(vec![Failure::new(
            "",
            Error::usage("put needs FILE... URL"),
        )]);
    };
    let url_str = url_arg.to_str().ok_or_else(|| {
        vec![Failure::new(
            url_arg.to_string_lossy(),
            Error::usage("the URL is not valid UTF-8 (percent-encode the path)"),
        )]
    })?;
    let url = parse_url(url_str).map_err(|f| vec![f])?;
    if url.glob().is_some() {
        return Err(vec![Failure::new(
            &url,
            Error::usage("an upload target cannot be a pattern"),
        )]);
    }
    if files.len() > 1 && !url.is_dir() {
        return Err(vec![Failure::new(
            &url,
            Error::usage("several files need a directory URL ending in /"),
        )]);
    }
    let mut failures = Vec::new();
    for file in files {
        let path = Path::new(file);
        let target = if url.is_dir() {
            match path.file_name().map(os_bytes) {
                Some(Ok(name)) => url.with_file_name(&name),
                Some(Err(e)) => {
                    failures.push(Failure::new(path.display(), e));
                    continue;
                }
                None => {
                    failures.push(Failure::new(
                        path.display(),
                        Error::usage("has no file name"),
                    ));
                    continue;
                }
            }
        } else {
            url.clone()
        };
        if let Err(e) = upload(cli, conns, path, &target) {
            failures.push(Failure::new(&target, e));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

fn upload(cli: &Cli, conns: &mut Connections, path: &Path, url: &FtpUrl) -> Result<(), Error> {
    let mut file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let len = file.metadata()?.len();
    let kind = kind_for(url, cli.ascii);
    let remote = conns.get(url)?;
    let offset = if cli.resume {
        match remote.size(url.path(), kind) {
            Ok(Some(n)) => n,
            // No SIZE support, or no such file yet (550): start from the beginning.
            Ok(None) | Err(Error::Reply { .. }) => 0,
            Err(e) => return Err(e),
        }
    } else {
        0
    };
    if offset == len && cli.resume {
        if cli.verbose {
            eprintln!("{url}: already complete");
        }
        return Ok(());
    }
    if offset > len {
        return Err(Error::usage(format!(
            "the remote file ({offset} bytes) is larger than {} ({len} bytes)",
            path.display()
        )));
    }
    file.seek(SeekFrom::Start(offset))?;
    let bar = progress_bar(Some(len), &path.display().to_string());
    bar.set_position(offset);
    let mut input = io::BufReader::with_capacity(256 * 1024, file);
    remote.store(url.path(), kind, offset, &mut input, &mut |n| {
        bar.set_position(offset + n)
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(len: Option<u64>, label: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if len.is_some() {
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(label.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_parses() {
        let cli = Cli::try_parse_from([
            "ftp",
            "-v",
            "--mode",
            "pasv",
            "get",
            "ftp://h/a",
            "ftp://h/b",
            "-o",
            "-",
        ])
        .unwrap();
        assert!(cli.verbose);
        assert_eq!(cli.mode, Mode::Pasv);
        assert!(matches!(cli.command, Cmd::Get { ref urls, .. } if urls.len() == 2));
        let cli = Cli::try_parse_from(["ftp", "put", "a", "b", "ftp://h/d/", "--resume"]).unwrap();
        assert!(cli.resume);
        assert!(matches!(cli.command, Cmd::Put { ref args } if args.len() == 3));
        assert!(Cli::try_parse_from(["ftp", "put", "ftp://h/d/"]).is_err());
        assert!(Cli::try_parse_from(["ftp", "get"]).is_err());
        assert!(Cli::try_parse_from(["ftp", "--mode", "bogus", "ls", "ftp://h/"]).is_err());
        let cli =
            Cli::try_parse_from(["ftp", "ls", "ftp://h/", "--tls", "--cacert", "ca.pem"]).unwrap();
        assert!(cli.tls && !cli.insecure);
        assert_eq!(cli.cacert, Some(PathBuf::from("ca.pem")));
        assert!(
            Cli::try_parse_from(["ftp", "--insecure", "--cacert", "a", "ls", "ftps://h/"]).is_err()
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(&*redact(b"PASS hunter2"), b"PASS XXXX");
        assert_eq!(&*redact(b"pass hunter2"), b"pass XXXX");
        assert_eq!(&*redact(b"USER slacker"), b"USER slacker");
        assert_eq!(&*redact(b"PASV"), b"PASV");
    }

    #[test]
    fn glob_matches_nlst_names() {
        let p = ftp_client::glob::Pattern::new(b"*.txt");
        let names = vec![
            b"b.txt".to_vec(),
            b"dir/a.txt".to_vec(),
            b"c.bin".to_vec(),
            b".hidden.txt".to_vec(),
            b"a.txt\r".to_vec(),
            b"..".to_vec(),
        ];
        assert_eq!(
            matching_names(names, &p),
            vec![b"a.txt".to_vec(), b"b.txt".to_vec()]
        );
    }

    #[test]
    fn local_names_cannot_escape() {
        assert!(local_name(b"..").is_err());
        assert!(local_name(b".").is_err());
        assert!(local_name(b"").is_err());
        assert!(local_name(b"a/b").is_err());
        assert!(local_name(b"a\0b").is_err());
        assert_eq!(local_name(b"ok.txt").unwrap(), PathBuf::from("ok.txt"));
    }

    #[test]
    fn targets() {
        let dir = std::env::temp_dir();
        assert_eq!(
            target_for(Some(Path::new("-")), true, b"x").unwrap(),
            Target::Stdout
        );
        assert_eq!(
            target_for(Some(&dir), true, b"x").unwrap(),
            Target::File(dir.join("x"))
        );
        assert_eq!(
            target_for(Some(Path::new("/nonexistent/out")), false, b"x").unwrap(),
            Target::File(PathBuf::from("/nonexistent/out"))
        );
        assert!(target_for(Some(Path::new("/nonexistent/out")), true, b"x").is_err());
        assert_eq!(
            target_for(None, true, b"x").unwrap(),
            Target::File(PathBuf::from("x"))
        );
        assert!(target_for(None, false, b"../x").is_err());
    }

    #[test]
    fn listing_is_reformatted() {
        let listing = b"total 8\r\n\
            drwxr-xr-x 2 ftp ftp 4096 Jan  2  2024 pub\r\n\
            -rw-r--r-- 1 ftp ftp 1234 Feb  3  2023 a file.txt\r\n\
            lrwxrwxrwx 1 ftp ftp    3 Feb  3  2023 l -> a\r\n\
            something else\r\n";
        let out = String::from_utf8(format_listing(listing, None)).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(lines[0], "drwxr-xr-x         4096 2024-01-02 00:00 pub");
        assert_eq!(
            lines[1],
            "-rw-r--r--         1234 2023-02-03 00:00 a file.txt"
        );
        assert!(lines[2].ends_with(" l -> a"), "{}", lines[2]);
        assert_eq!(lines[3], "something else");
        assert_eq!(mode_string(0o754), "rwxr-xr--");
    }

    #[test]
    fn type_codes_win_over_ascii() {
        let u = |s: &str| FtpUrl::parse(s).unwrap();
        assert_eq!(kind_for(&u("ftp://h/f"), false), Kind::Binary);
        assert_eq!(kind_for(&u("ftp://h/f"), true), Kind::Ascii);
        assert_eq!(kind_for(&u("ftp://h/f;type=i"), true), Kind::Binary);
        assert_eq!(kind_for(&u("ftp://h/f;type=a"), false), Kind::Ascii);
    }

    fn settings(mode: Mode) -> Settings {
        Settings {
            mode,
            timeout: Duration::from_secs(5),
            verbose: false,
            tls: false,
            trust: Trust::System,
            tls12: false,
        }
    }

    #[test]
    fn tls_modes_follow_the_scheme_and_the_flag() {
        let u = |s: &str| FtpUrl::parse(s).unwrap();
        let mut s = settings(Mode::Auto);
        assert_eq!(s.tls_mode(&u("ftp://h/")), TlsMode::Off);
        assert_eq!(s.tls_mode(&u("ftps://h/")), TlsMode::Implicit);
        assert_eq!(u("ftps://h/").port(), 990);
        s.tls = true;
        assert_eq!(s.tls_mode(&u("ftp://h/")), TlsMode::Explicit);
        assert_eq!(s.tls_mode(&u("ftps://h/")), TlsMode::Implicit);
        // The certificate must name the URL's host, an IPv6 literal included.
        let tls = s.tls_for(&u("ftps://[::1]:2990/")).unwrap();
        assert_eq!(
            tls.server_name().map(|n| n.to_str().into_owned()),
            Some("::1".to_owned())
        );
    }

    #[test]
    fn a_missing_cacert_fails_before_any_network() {
        let mut s = settings(Mode::Auto);
        s.trust = Trust::CaFile(PathBuf::from("/nonexistent/ca.pem"));
        let mut conns = Connections::new(s.clone());
        // Nothing listens on port 1: reaching the network would fail differently.
        let url = FtpUrl::parse("ftps://127.0.0.1:1/f").unwrap();
        match conns.get(&url) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("connected"),
        }
        // Plain FTP does not read it.
        s.tls = false;
        let mut conns = Connections::new(s);
        let url = FtpUrl::parse("ftp://127.0.0.1:1/f").unwrap();
        assert!(
            matches!(conns.get(&url), Err(Error::Io(e)) if e.kind() != io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn a_closed_port_fails_cleanly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut conns = Connections::new(settings(Mode::Auto));
        let url = FtpUrl::parse(&format!("ftp://127.0.0.1:{port}/f")).unwrap();
        let error = conns.get(&url).err().expect("nothing listens there");
        assert!(matches!(error, Error::Io(_)), "{error:?}");
        assert_eq!(error.exit_code(), 1);
    }

    /// This workspace's server on a thread of its own, serving `root`; stops when the sender
    /// is dropped.
    fn own_server(root: &Path) -> (u16, tokio::sync::oneshot::Sender<()>) {
        use ftp_server::auth::UserTable;
        use ftp_server::runtime::TokioRuntime;
        use ftp_server::storage::FsStorage;
        use ftp_server::Server;

        let mut users = UserTable::with_iterations(1_000);
        users.add_user("anna", b"secret").set_writable(true);
        let server = Server::builder(FsStorage::new(root).unwrap(), users)
            .listen("127.0.0.1:0".parse().unwrap())
            .shutdown_grace(Duration::from_secs(1))
            .build();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let bound = server.bind(TokioRuntime).await.unwrap();
                addr_tx.send(bound.local_addrs()).unwrap();
                let _ = bound
                    .serve(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addrs = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        (addrs[0].port(), stop_tx)
    }

    #[test]
    fn remote_round_trip_in_every_mode() {
        let dir = std::env::temp_dir().join(format!("ftp-example-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (port, _stop) = own_server(&dir);
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for mode in [Mode::Auto, Mode::Epsv, Mode::Pasv, Mode::Active] {
            let mut conns = Connections::new(settings(mode));
            let url = FtpUrl::parse(&format!("ftp://anna:secret@127.0.0.1:{port}/")).unwrap();
            let remote = conns.get(&url).unwrap();
            let name = format!("f-{}", mode.as_str());
            let mut sent = 0;
            let n = remote
                .store(name.as_bytes(), Kind::Binary, 0, &mut &data[..], &mut |n| {
                    sent = n
                })
                .unwrap();
            assert_eq!((n, sent), (data.len() as u64, data.len() as u64));
            assert_eq!(
                remote.size(name.as_bytes(), Kind::Binary).unwrap(),
                Some(data.len() as u64)
            );
            let mut got = Vec::new();
            remote
                .retrieve(name.as_bytes(), Kind::Binary, 1000, &mut got, &mut |_| {})
                .unwrap();
            assert_eq!(got, &data[1000..]);
            let listing = String::from_utf8(remote.list(b"").unwrap()).unwrap();
            assert!(listing.contains(&name), "{listing}");
            assert!(remote
                .name_list(b"")
                .unwrap()
                .contains(&name.as_bytes().to_vec()));
            remote.make_dir(b"d").unwrap();
            remote.rename(name.as_bytes(), b"d/moved").unwrap();
            remote.delete(b"d/moved").unwrap();
            remote.remove_dir(b"d").unwrap();
            let refused = remote.delete(b"d/moved").unwrap_err();
            assert_eq!(refused.exit_code(), 5, "{refused}");
            conns.close();
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
