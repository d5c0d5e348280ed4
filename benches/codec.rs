//! Criterion benchmarks of the `ftp-proto` codec.
//!
//! Every input is generated in code, deterministically (fixed word lists and a seeded
//! xorshift generator): no files are read and nothing depends on the clock. Each group sets
//! a [`Throughput`], so criterion reports elements/s or bytes/s next to the time.
//!
//! | group | benchmark | what it measures | throughput |
//! |---|---|---|---|
//! | `command_parse` | `frame_and_parse` | a session of 31 command lines as clients send them (USER, PASS, TYPE, PASV, EPSV, PORT, EPRT, RETR/STOR with spaces in paths, LIST -la, MLSD, REST, an unknown verb, ...) as one CRLF byte stream, copied into a reused `BytesMut`, framed with `LineDecoder` and parsed with `Command::parse` | commands |
//! | `command_parse` | `parse_only` | `Command::parse` alone on the same lines, already split | commands |
//! | `command_encode` | `encode` | `Command::encode` of the same 31 commands into a reused `Vec` | commands |
//! | `reply_decode` | `single_line_x20` | `ReplyDecoder::decode` over a stream of 20 typical single-line replies (220, 331, 230, 227, 229, 150, 226, 213, 257, ...) | replies |
//! | `reply_decode` | `multi_line_feat_15` | one 15-line `211` FEAT reply | replies |
//! | `reply_decode` | `multi_line_help_40` | one 40-line `214` HELP reply | replies |
//! | `reply_encode` | same three names | `Reply::encode` of the same replies into a reused `Vec` | replies |
//! | `ascii` | `to_network` | `ToNetwork::convert` of 1 MiB of LF-terminated text (lines of 40–100 bytes) into a reused `Vec` | input bytes |
//! | `ascii` | `from_network` | `FromNetwork::convert` of the same text with CRLF line ends | input bytes |
//! | `ascii` | `plain_copy` | `Vec::clear` + `extend_from_slice` of the LF text, the baseline for the two above | input bytes |
//! | `ascii` | `to_network_slice_64k`, `from_network_slice_64k` | the `convert_slice` forms, draining the 1 MiB input through a fixed 64 KiB buffer | input bytes |
//! | `listing` | `parse_unix` | `parse_list_line` over 1,000 `ls -l` lines (directories, files, symlinks, dates with a year or a time, names with spaces) | lines |
//! | `listing` | `parse_mlsd` | `parse_mlsx_line` over 1,000 MLSD lines in several server styles | lines |
//! | `listing` | `parse_dos` | `parse_list_line` over 200 IIS-style DOS lines | lines |
//! | `listing` | `format_unix_line`, `format_mlsx_line` | formatting the 1,000 entries parsed from the MLSD lines, CRLF-terminated, into a reused `Vec` | lines |
//!
//! The ratio of `to_network` or `from_network` to `plain_copy` is meaningful because the
//! three run in the same group, on the same machine and in the same run.
//!
//! Run all of them with:
//!
//! ```text
//! cargo bench -p benches --bench codec
//! ```
//!
//! Criterion's usual arguments follow `--`: a filter (`cargo bench -p benches --bench codec
//! -- ascii`), `--quick`, or `--warm-up-time 2 --measurement-time 5`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ftp_proto::ascii::{FromNetwork, ToNetwork};
use ftp_proto::command::Command;
use ftp_proto::line::LineDecoder;
use ftp_proto::listing::{
    format_mlsx_line, format_unix_line, parse_list_line, parse_mlsx_line, Entry, ListLine,
};
use ftp_proto::reply::{Reply, ReplyDecoder};
use ftp_proto::time::FtpTime;

// ---------------------------------------------------------------------------------------
// Deterministic input generation.

/// A small xorshift64* generator with a fixed seed, so every run sees the same inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A value in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A file size spread over many orders of magnitude (0 bytes to 16 GiB).
    fn file_size(&mut self) -> u64 {
        let bits = self.range(1, 34);
        self.below(1 << bits)
    }

    /// One of the space-separated words of `list`.
    fn word<'a>(&mut self, list: &'a str) -> &'a str {
        let words: Vec<&str> = list.split_whitespace().collect();
        self.pick(&words)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items[i]
    }
}

/// Command lines in the order a typical client session sends them.
const COMMAND_LINES: &[&str] = &[
    "USER anonymous",
    "PASS anonymous@example.com",
    "SYST",
    "FEAT",
    "OPTS UTF8 ON",
    "CLNT FileZilla 3.66.4",
    "PWD",
    "TYPE I",
    "PASV",
    "LIST -la",
    "EPSV",
    "MLSD",
    "CWD /pub/linux/kernel/v6.x",
    "TYPE A",
    "PORT 192,168,1,23,195,80",
    "NLST",
    "SIZE linux-6.12.tar.xz",
    "MDTM linux-6.12.tar.xz",
    "REST 1048576",
    "RETR linux-6.12.tar.xz",
    "EPRT |2|::1|5282|",
    "RETR /home/user/My Documents/Quarterly Report 2024.pdf",
    "STOR uploads/holiday photos/IMG 0042.JPG",
    "CDUP",
    "MKD new folder",
    "DELE old backup.tar.gz",
    "RNFR draft notes.txt",
    "RNTO final notes.txt",
    "MFMT 20240315101500 final notes.txt",
    "noop",
    "QUIT",
];

/// The command lines as one CRLF-terminated byte stream.
fn command_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for line in COMMAND_LINES {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Single-line replies as a server sends them during a session.
const SINGLE_REPLIES: &[&str] = &[
    "220 ProFTPD Server (Debian) [192.0.2.10]",
    "331 Password required for anonymous",
    "230 User anonymous logged in",
    "215 UNIX Type: L8",
    "200 Type set to I",
    "227 Entering Passive Mode (192,168,1,10,195,149).",
    "150 Opening BINARY mode data connection for linux-6.12.tar.xz (146800640 bytes)",
    "226 Transfer complete",
    "229 Entering Extended Passive Mode (|||50000|)",
    "213 146800640",
    "213 20241117203316",
    "257 \"/pub/linux/kernel/v6.x\" is the current directory",
    "250 CWD command successful",
    "350 Restarting at 1048576. Send STORE or RETRIEVE to initiate transfer",
    "200 PORT command successful",
    "550 missing.txt: No such file or directory",
    "125 Data connection already open; transfer starting.",
    "226 Closing data connection.",
    "350 File or directory exists, ready for destination name",
    "221 Goodbye.",
];

fn single_reply_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for line in SINGLE_REPLIES {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A 15-line FEAT reply.
fn feat_reply() -> Vec<u8> {
    let features = [
        "EPRT",
        "EPSV",
        "MDTM",
        "MFMT",
        "MLST type*;size*;modify*;perm;unique;unix.mode;unix.owner;unix.group;",
        "PASV",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
        "AUTH TLS",
        "PBSZ",
        "PROT",
    ];
    let mut out = b"211-Features:\r\n".to_vec();
    for f in features {
        out.push(b' ');
        out.extend_from_slice(f.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"211 End\r\n");
    out
}

/// A 40-line HELP reply: a header, one line per command, a trailer.
fn help_reply() -> Vec<u8> {
    let verbs = [
        ("ABOR", ""),
        ("ACCT", "<sp> account-information"),
        ("ALLO", "<sp> size"),
        ("APPE", "<sp> file-name"),
        ("AUTH", "<sp> mechanism-name"),
        ("CCC", ""),
        ("CDUP", "(up one directory)"),
        ("CWD", "[ <sp> directory-name ]"),
        ("DELE", "<sp> file-name"),
        ("EPRT", "<sp> |proto|addr|port|"),
        ("EPSV", "[ <sp> proto | ALL ]"),
        ("FEAT", ""),
        ("HELP", "[ <sp> <string> ]"),
        ("LIST", "[ <sp> path-name ]"),
        ("MDTM", "<sp> path-name"),
        ("MFMT", "<sp> time <sp> path-name"),
        ("MKD", "<sp> path-name"),
        ("MLSD", "[ <sp> path-name ]"),
        ("MLST", "[ <sp> path-name ]"),
        ("MODE", "<sp> mode-code"),
        ("NLST", "[ <sp> path-name ]"),
        ("NOOP", ""),
        ("OPTS", "<sp> command [ <sp> options ]"),
        ("PASS", "<sp> password"),
        ("PASV", "(returns address/port)"),
        ("PBSZ", "<sp> protection buffer size"),
        ("PORT", "<sp> h1,h2,h3,h4,p1,p2"),
        ("PROT", "<sp> protection code"),
        ("PWD", "(return current directory)"),
        ("QUIT", "(terminate service)"),
        ("REIN", "(reinitialize server state)"),
        ("REST", "<sp> offset (restart command)"),
        ("RETR", "<sp> file-name"),
        ("RMD", "<sp> path-name"),
        ("RNFR", "<sp> file-name"),
        ("RNTO", "<sp> file-name"),
        ("SITE", "<sp> site-cmd"),
        ("SIZE", "<sp> path-name"),
    ];
    let mut out = b"214-The following commands are recognized (* =>'s unimplemented):\r\n".to_vec();
    for (verb, syntax) in verbs {
        out.extend_from_slice(format!("   {verb:<6}{syntax}\r\n").as_bytes());
    }
    out.extend_from_slice(b"214 Direct comments to root@example.com\r\n");
    out
}

/// Words the ASCII text is made of, separated by spaces.
const TEXT_WORDS: &str = "the server client transfer data connection reply command file directory \
     listing passive mode port binary ascii line end of and to a in is for with on that this from \
     by be are as at or an it not which control stream block record page structure user \
     password account restart marker 2024 error: warning: fn let mut return { } (x) 0x1f";

const MIB: usize = 1 << 20;

/// 1 MiB of text: lines of 40–100 bytes of words, each ended by `eol`; the buffer ends
/// with a complete `eol`.
fn text(eol: &[u8]) -> Vec<u8> {
    let mut rng = Rng::new(0x5eed_7e57);
    let words: Vec<&str> = TEXT_WORDS.split_whitespace().collect();
    let mut out = Vec::with_capacity(MIB + 128);
    let mut line = Vec::with_capacity(128);
    while out.len() < MIB {
        let target = usize::try_from(rng.range(40, 100)).unwrap_or(60);
        line.clear();
        while line.len() < target {
            if !line.is_empty() {
                line.push(b' ');
            }
            line.extend_from_slice(rng.pick(&words).as_bytes());
        }
        line.truncate(target);
        out.extend_from_slice(&line);
        out.extend_from_slice(eol);
    }
    out.truncate(MIB);
    let tail = MIB - eol.len();
    out[tail..].copy_from_slice(eol);
    out
}

/// Words file names are made of, separated by spaces.
const NAME_WORDS: &str =
    "linux kernel backup report photos holiday notes draft final My Documents \
     Quarterly Report IMG invoice readme release v2 src debian archive music Project old new data \
     export logs";

/// File name extensions, separated by spaces.
const EXTENSIONS: &str = ".tar.gz .txt .pdf .JPG .iso .zip .md .c .xlsx .mp3 .html .log";

/// A file or directory name of one to three words, sometimes with spaces between them.
fn gen_name(rng: &mut Rng, with_extension: bool) -> String {
    let words = rng.range(1, 3);
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push_str(rng.pick(&[" ", " ", "-", "_", "."]));
        }
        s.push_str(rng.word(NAME_WORDS));
    }
    if rng.below(3) == 0 {
        s.push_str(&format!(" {}", rng.range(1, 2024)));
    }
    if with_extension && rng.below(12) != 0 {
        s.push_str(rng.word(EXTENSIONS));
    }
    s
}

/// Month abbreviations as `ls` prints them, separated by spaces.
const MONTHS: &str = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";

/// `ls -l` lines with their expected names.
fn unix_lines(n: usize) -> Vec<(Vec<u8>, String)> {
    let mut rng = Rng::new(0x0015_1157);
    let users = ["ftp", "root", "1000", "www-data", "alice", "nobody"];
    (0..n)
        .map(|_| {
            let roll = rng.below(10);
            let (mode, links, size, file) = match roll {
                0 | 1 => (
                    rng.pick(&["drwxr-xr-x", "drwxrwxr-x", "drwx------"]),
                    rng.range(2, 40),
                    4096,
                    false,
                ),
                2 => ("lrwxrwxrwx", 1, rng.range(5, 60), true),
                _ => (
                    rng.pick(&[
                        "-rw-r--r--",
                        "-rw-rw-r--",
                        "-rwxr-xr-x",
                        "-rw-------",
                        "-rw-r--r--+",
                    ]),
                    1,
                    rng.file_size(),
                    true,
                ),
            };
            let owner = rng.pick(&users);
            let group = rng.pick(&users);
            let month = rng.word(MONTHS);
            let day = rng.range(1, 28);
            let date = if rng.below(2) == 0 {
                format!("{month} {day:>2} {:02}:{:02}", rng.below(24), rng.below(60))
            } else {
                format!("{month} {day:>2}  {}", rng.range(1998, 2024))
            };
            let name = gen_name(&mut rng, file && roll != 2);
            let mut line =
                format!("{mode} {links:>4} {owner:<8} {group:<8} {size:>12} {date} {name}");
            if roll == 2 {
                line.push_str(" -> ");
                line.push_str(&gen_name(&mut rng, true));
            }
            (line.into_bytes(), name)
        })
        .collect()
}

/// MLSD lines in the fact orders of several servers, with their expected names.
fn mlsd_lines(n: usize) -> Vec<(Vec<u8>, String)> {
    let mut rng = Rng::new(0x0000_3659);
    (0..n)
        .map(|i| {
            let modify = format!(
                "{}{:02}{:02}{:02}{:02}{:02}",
                rng.range(2015, 2025),
                rng.range(1, 12),
                rng.range(1, 28),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            );
            if i % 100 == 0 {
                let line = format!("type=cdir;modify={modify};perm=flcdmpe;unix.mode=0755; .");
                return (line.into_bytes(), ".".to_owned());
            }
            if i % 100 == 1 {
                let line = format!("type=pdir;modify={modify};perm=flcdmpe;unix.mode=0755; ..");
                return (line.into_bytes(), "..".to_owned());
            }
            let roll = rng.below(10);
            let name = gen_name(&mut rng, roll >= 3);
            let size = rng.file_size();
            let uid = rng.range(0, 1200);
            let line = match (roll, i % 3) {
                (0 | 1, 0) => format!(
                    "modify={modify};perm=flcdmpe;type=dir;unique=FD00U{uid:X};UNIX.group={uid};UNIX.mode=0755;UNIX.owner={uid}; {name}"
                ),
                (0 | 1, _) => format!("type=dir;modify={modify};UNIX.mode=0755;UNIX.uid={uid};UNIX.gid={uid};unique=803g{uid:x}; {name}"),
                (2, _) => format!(
                    "type=OS.unix=slink:/srv/ftp/{name};modify={modify};unix.mode=0777;unix.owner=root;unix.group=root; {name}"
                ),
                (_, 0) => format!(
                    "modify={modify};perm=adfrw;size={size};type=file;unique=FD00U{uid:X};UNIX.group={uid};UNIX.mode=0644;UNIX.owner={uid}; {name}"
                ),
                (_, 1) => format!("type=file;size={size};modify={modify};UNIX.mode=0644;UNIX.uid={uid};UNIX.gid={uid};unique=803g{uid:x}; {name}"),
                _ => format!("Type=file;Size={size};Modify={modify}.{:03};Perm=rw; {name}", rng.below(1000)),
            };
            (line.into_bytes(), name)
        })
        .collect()
}

/// IIS-style DOS lines with their expected names.
fn dos_lines(n: usize) -> Vec<(Vec<u8>, String)> {
    let mut rng = Rng::new(0x0000_0115);
    (0..n)
        .map(|i| {
            let (month, day) = (rng.range(1, 12), rng.range(1, 28));
            let date = if i % 2 == 0 {
                format!("{month:02}-{day:02}-{:02}", rng.range(0, 24))
            } else {
                format!("{month:02}-{day:02}-{}", rng.range(1998, 2024))
            };
            let time = format!(
                "{:02}:{:02}{}",
                rng.range(1, 12),
                rng.below(60),
                rng.pick(&["AM", "PM"])
            );
            let dir = rng.below(4) == 0;
            let name = gen_name(&mut rng, !dir);
            let line = if dir {
                format!("{date}  {time}       <DIR>          {name}")
            } else {
                format!("{date}  {time} {:>20} {name}", rng.file_size())
            };
            (line.into_bytes(), name)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Benchmarks.

fn bench_commands(c: &mut Criterion) {
    let stream = command_stream();
    let lines: Vec<&[u8]> = COMMAND_LINES.iter().map(|l| l.as_bytes()).collect();
    let commands: Vec<Command> = lines
        .iter()
        .map(|l| Command::parse(l).expect("benchmark command parses"))
        .collect();
    let n = commands.len() as u64;

    // Check once that framing yields every line and every line parses.
    let mut dec = LineDecoder::default();
    let mut buf = BytesMut::from(&stream[..]);
    let mut framed = 0;
    while let Some(line) = dec.decode(&mut buf).expect("line decodes") {
        Command::parse(&line).expect("framed command parses");
        framed += 1;
    }
    assert_eq!(framed, commands.len());

    let mut group = c.benchmark_group("command_parse");
    group.throughput(Throughput::Elements(n));
    group.bench_function("frame_and_parse", |b| {
        let mut dec = LineDecoder::default();
        let mut buf = BytesMut::with_capacity(stream.len());
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&stream));
            while let Ok(Some(line)) = dec.decode(&mut buf) {
                let _ = black_box(Command::parse(&line));
            }
        });
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(Command::parse(black_box(line)));
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("command_encode");
    group.throughput(Throughput::Elements(n));
    group.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(stream.len() * 2);
        b.iter(|| {
            out.clear();
            for cmd in black_box(&commands) {
                let _ = cmd.encode(&mut out);
            }
            black_box(&out);
        });
    });
    group.finish();
}

/// Decodes every reply in `wire`, checking that exactly `expected` come out.
fn decode_all(wire: &[u8], expected: usize) -> Vec<Reply> {
    let mut dec = ReplyDecoder::new();
    let mut buf = BytesMut::from(wire);
    let mut replies = Vec::new();
    while let Some(reply) = dec.decode(&mut buf).expect("reply decodes") {
        replies.push(reply);
    }
    assert!(buf.is_empty());
    assert_eq!(replies.len(), expected);
    replies
}

fn bench_replies(c: &mut Criterion) {
    let single = single_reply_stream();
    let feat = feat_reply();
    let help = help_reply();
    let cases: [(&str, &[u8], Vec<Reply>); 3] = [
        (
            "single_line_x20",
            &single,
            decode_all(&single, SINGLE_REPLIES.len()),
        ),
        ("multi_line_feat_15", &feat, decode_all(&feat, 1)),
        ("multi_line_help_40", &help, decode_all(&help, 1)),
    ];
    assert_eq!(cases[1].2[0].lines.len(), 15);
    assert_eq!(cases[2].2[0].lines.len(), 40);

    let mut group = c.benchmark_group("reply_decode");
    for (name, wire, replies) in &cases {
        group.throughput(Throughput::Elements(replies.len() as u64));
        group.bench_function(*name, |b| {
            let mut dec = ReplyDecoder::new();
            let mut buf = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(black_box(wire));
                while let Ok(Some(reply)) = dec.decode(&mut buf) {
                    black_box(reply);
                }
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("reply_encode");
    for (name, wire, replies) in &cases {
        group.throughput(Throughput::Elements(replies.len() as u64));
        group.bench_function(*name, |b| {
            let mut out = Vec::with_capacity(wire.len() * 2);
            b.iter(|| {
                out.clear();
                for reply in black_box(replies) {
                    reply.encode(&mut out);
                }
                black_box(&out);
            });
        });
    }
    group.finish();
}

fn bench_ascii(c: &mut Criterion) {
    let lf = text(b"\n");
    let crlf = text(b"\r\n");

    // Check the conversions against each other once.
    let mut check = Vec::new();
    ToNetwork::new().convert(&lf, &mut check);
    assert!(check.len() > lf.len());
    let mut back = Vec::new();
    let mut conv = FromNetwork::new();
    conv.convert(&check, &mut back);
    conv.finish(&mut back);
    assert_eq!(back, lf);

    let mut group = c.benchmark_group("ascii");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("plain_copy", |b| {
        let mut out: Vec<u8> = Vec::with_capacity(2 * MIB);
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&lf));
            black_box(&out);
        });
    });
    group.bench_function("to_network", |b| {
        let mut conv = ToNetwork::new();
        let mut out: Vec<u8> = Vec::with_capacity(2 * MIB);
        b.iter(|| {
            out.clear();
            conv.convert(black_box(&lf), &mut out);
            conv.finish(&mut out);
            black_box(&out);
        });
    });
    group.bench_function("from_network", |b| {
        let mut conv = FromNetwork::new();
        let mut out: Vec<u8> = Vec::with_capacity(2 * MIB);
        b.iter(|| {
            out.clear();
            conv.convert(black_box(&crlf), &mut out);
            conv.finish(&mut out);
            black_box(&out);
        });
    });
    group.bench_function("to_network_slice_64k", |b| {
        let mut conv = ToNetwork::new();
        let mut out = vec![0u8; 64 * 1024];
        b.iter(|| {
            let mut rest: &[u8] = black_box(&lf);
            while !rest.is_empty() {
                let (consumed, written) = conv.convert_slice(rest, &mut out);
                black_box(&out[..written]);
                rest = &rest[consumed..];
            }
            conv.finish(&mut Vec::new());
        });
    });
    group.bench_function("from_network_slice_64k", |b| {
        let mut conv = FromNetwork::new();
        let mut out = vec![0u8; 64 * 1024];
        b.iter(|| {
            let mut rest: &[u8] = black_box(&crlf);
            while !rest.is_empty() {
                let (consumed, written) = conv.convert_slice(rest, &mut out);
                black_box(&out[..written]);
                rest = &rest[consumed..];
            }
            black_box(conv.finish_slice(&mut out));
        });
    });
    group.finish();
}

fn bench_listing(c: &mut Criterion) {
    let unix = unix_lines(1000);
    let mlsd = mlsd_lines(1000);
    let dos = dos_lines(200);

    // Check once that every line parses to the name it was built with.
    for (line, name) in unix.iter().chain(&dos) {
        match parse_list_line(line) {
            Ok(ListLine::Entry(e)) => {
                assert_eq!(e.name, name.as_bytes(), "{}", String::from_utf8_lossy(line))
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(line)),
        }
    }
    let entries: Vec<Entry> = mlsd
        .iter()
        .map(|(line, name)| {
            let e = parse_mlsx_line(line).expect("MLSD line parses");
            assert_eq!(e.name, name.as_bytes());
            e
        })
        .collect();
    let now = FtpTime::new(2025, 6, 1, 12, 0, 0, 0)
        .expect("valid time")
        .to_unix();

    let mut group = c.benchmark_group("listing");
    let cases = [("parse_unix", &unix), ("parse_dos", &dos)];
    for (name, lines) in cases {
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for (line, _) in black_box(lines) {
                    let _ = black_box(parse_list_line(line));
                }
            });
        });
    }
    group.throughput(Throughput::Elements(mlsd.len() as u64));
    group.bench_function("parse_mlsd", |b| {
        b.iter(|| {
            for (line, _) in black_box(&mlsd) {
                let _ = black_box(parse_mlsx_line(line));
            }
        });
    });
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("format_unix_line", |b| {
        let mut out = Vec::with_capacity(entries.len() * 160);
        b.iter(|| {
            out.clear();
            for e in black_box(&entries) {
                format_unix_line(e, now, &mut out);
                out.extend_from_slice(b"\r\n");
            }
            black_box(&out);
        });
    });
    group.bench_function("format_mlsx_line", |b| {
        let mut out = Vec::with_capacity(entries.len() * 200);
        b.iter(|| {
            out.clear();
            for e in black_box(&entries) {
                format_mlsx_line(e, &mut out);
                out.extend_from_slice(b"\r\n");
            }
            black_box(&out);
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_commands,
    bench_replies,
    bench_ascii,
    bench_listing
);
criterion_main!(benches);
