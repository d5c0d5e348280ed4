//! [`Features`]: the extensions a server announces in its `FEAT` reply (RFC 2389).

use bytes::Bytes;

use crate::reply::Reply;

use super::op::ListFormat;

/// One line of a `FEAT` reply: a feature name and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Feature {
    /// The feature name, upper-cased (feature names are case-insensitive, RFC 2389 §3.2).
    pub name: Bytes,
    /// Everything after the space that follows the name, as received (may be empty).
    pub params: Bytes,
}

/// The feature set of a server, from its `FEAT` reply.
///
/// Typed accessors cover the features a client acts on; [`get`](Self::get) reaches any other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    list: Vec<Feature>,
}

impl Features {
    /// Reads the feature lines of a `211` reply.
    ///
    /// RFC 2389 §3.2: the reply is `211-` text, then one feature per line, each starting with
    /// a space, then `211 End`. Lines without a leading space are text and skipped (a few
    /// servers indent with more than one space; that is accepted). A single-line reply
    /// announces no feature.
    ///
    /// ```
    /// use ftp_proto::client::Features;
    /// use ftp_proto::reply::ReplyDecoder;
    /// use bytes::BytesMut;
    /// // RFC 2389 §3.2: "211-Extensions supported" SP feature CRLF ... "211 END"
    /// let mut buf = BytesMut::from(&b"211-Features:\r\n MDTM\r\n REST STREAM\r\n mlst type*;size*;\r\n UTF8\r\n211 End\r\n"[..]);
    /// let reply = ReplyDecoder::new().decode(&mut buf).unwrap().unwrap();
    /// let f = Features::parse(&reply);
    /// assert!(f.mdtm() && f.rest_stream() && f.mlst() && f.utf8());
    /// assert!(!f.size() && !f.epsv());
    /// assert_eq!(&f.get(b"MLST").unwrap().params[..], b"type*;size*;");
    /// ```
    pub fn parse(reply: &Reply) -> Features {
        let mut list = Vec::new();
        let n = reply.lines.len();
        if n < 2 {
            return Features { list };
        }
        for line in reply.lines.iter().take(n - 1).skip(1) {
            let Some(body) = line.strip_prefix(b" ") else {
                continue;
            };
            let body = body.trim_ascii_start();
            if body.is_empty() {
                continue;
            }
            let split = memchr::memchr(b' ', body).unwrap_or(body.len());
            let (name, rest) = body.split_at(split);
            let params = rest.get(1..).unwrap_or_default().trim_ascii_end();
            list.push(Feature {
                name: Bytes::from(name.to_ascii_uppercase()),
                params: Bytes::copy_from_slice(params),
            });
        }
        Features { list }
    }

    /// Every announced feature, in the order of the reply.
    pub fn iter(&self) -> impl Iterator<Item = &Feature> {
        self.list.iter()
    }

    /// The feature with this name (compared without case).
    pub fn get(&self, name: &[u8]) -> Option<&Feature> {
        self.list.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Whether the feature is announced.
    pub fn has(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Whether some parameter of `name`, separated by spaces, `;` or `,`, equals `param`
    /// (without case).
    fn has_param(&self, name: &[u8], param: &[u8]) -> bool {
        self.get(name).is_some_and(|f| {
            f.params
                .split(|&b| b == b' ' || b == b';' || b == b',')
                .any(|p| p.eq_ignore_ascii_case(param))
        })
    }

    /// `MLST` (and with it `MLSD`, RFC 3659 §7.8).
    pub fn mlst(&self) -> bool {
        self.has(b"MLST")
    }
    /// `SIZE` (RFC 3659 §4).
    pub fn size(&self) -> bool {
        self.has(b"SIZE")
    }
    /// `MDTM` (RFC 3659 §3).
    pub fn mdtm(&self) -> bool {
        self.has(b"MDTM")
    }
    /// `UTF8` (RFC 2640 §3.3).
    pub fn utf8(&self) -> bool {
        self.has(b"UTF8")
    }
    /// `EPSV` (RFC 2428; announced by some servers, although RFC 2428 predates FEAT).
    pub fn epsv(&self) -> bool {
        self.has(b"EPSV")
    }
    /// `EPRT`.
    pub fn eprt(&self) -> bool {
        self.has(b"EPRT")
    }
    /// `REST STREAM` (RFC 3659 §5.3).
    pub fn rest_stream(&self) -> bool {
        self.has_param(b"REST", b"STREAM")
    }
    /// `AUTH TLS` (RFC 4217 §6).
    pub fn auth_tls(&self) -> bool {
        self.has_param(b"AUTH", b"TLS")
    }
    /// `MFMT` (draft-somers-ftp-mfxx).
    pub fn mfmt(&self) -> bool {
        self.has(b"MFMT")
    }
    /// `TVFS` (RFC 3659 §6).
    pub fn tvfs(&self) -> bool {
        self.has(b"TVFS")
    }
    /// `PBSZ` (RFC 4217 §6).
    pub fn pbsz(&self) -> bool {
        self.has(b"PBSZ")
    }
    /// `PROT` (RFC 4217 §6).
    pub fn prot(&self) -> bool {
        self.has(b"PROT")
    }
    /// `HOST` (RFC 7151 §3.2).
    pub fn host(&self) -> bool {
        self.has(b"HOST")
    }

    /// The listing to ask for: `MLSD` when `MLST` is announced (machine-readable facts,
    /// RFC 3659 §7), else `LIST`.
    pub fn list_format(&self) -> ListFormat {
        if self.mlst() {
            ListFormat::Mlsd
        } else {
            ListFormat::List
        }
    }
}
