//! Reply decoding: the same replies for one shot and for a split input; bounded buffering;
//! every decoded reply re-encodes to bytes that decode to the same code and line count.
#![no_main]

use bytes::BytesMut;
use ftp_proto::reply::{Reply, ReplyDecoder};
use libfuzzer_sys::fuzz_target;

const MAX_LINE: usize = 128;
const MAX_REPLY: usize = 1024;

fn decode(chunks: &[&[u8]]) -> Vec<Result<Reply, ()>> {
    let mut decoder = ReplyDecoder::new()
        .with_max_line_len(MAX_LINE)
        .with_max_reply_len(MAX_REPLY);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(reply)) => out.push(Ok(reply)),
                Ok(None) => break,
                Err(_) => {
                    out.push(Err(()));
                    decoder.reset();
                }
            }
            assert!(decoder.buffered_len() <= MAX_REPLY, "decoder holds too much");
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) % (data.len() + 1);
    let whole = decode(&[data]);
    let (a, b) = data.split_at(at);
    assert_eq!(whole, decode(&[a, b]), "decoding depends on chunking");

    for reply in whole.iter().flatten() {
        let wire = reply.to_vec();
        let mut buf = BytesMut::from(&wire[..]);
        let again = ReplyDecoder::new()
            .decode(&mut buf)
            .expect("encoded reply decodes")
            .expect("encoded reply is complete");
        assert_eq!(again.code, reply.code);
        assert_eq!(again.lines.len(), reply.lines.len());
        assert!(buf.is_empty(), "encoded reply is exactly one reply");
    }
});
