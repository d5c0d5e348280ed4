//! Line framing + command parsing: any chunking gives the same lines, every parsed command
//! re-encodes to a line that parses back to the same command.
#![no_main]

use bytes::BytesMut;
use ftp_proto::command::Command;
use ftp_proto::line::LineDecoder;
use libfuzzer_sys::fuzz_target;

fn frame(chunks: &[&[u8]], max: usize) -> Vec<Result<Vec<u8>, ()>> {
    let mut decoder = LineDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(line)) => out.push(Ok(line.to_vec())),
                Ok(None) => break,
                Err(_) => out.push(Err(())),
            }
            assert!(buf.len() <= max + 2 || out.last().is_some(), "unbounded buffer");
        }
    }
    if let Ok(Some(line)) = decoder.decode_eof(&mut buf) {
        out.push(Ok(line.to_vec()));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let max = 64;
    let at = usize::from(split) % (data.len() + 1);
    let whole = frame(&[data], max);
    let (a, b) = data.split_at(at);
    assert_eq!(whole, frame(&[a, b], max), "framing depends on chunking");

    for line in whole.iter().flatten() {
        if let Ok(cmd) = Command::parse(line) {
            let _ = cmd.to_string();
            let mut wire = Vec::new();
            if cmd.encode(&mut wire).is_ok() {
                let mut buf = BytesMut::from(&wire[..]);
                let again = LineDecoder::new(usize::MAX)
                    .decode(&mut buf)
                    .expect("encoded line frames")
                    .expect("encoded line is complete");
                assert_eq!(Command::parse(&again).as_ref(), Ok(&cmd), "round trip");
            }
        }
    }
});
