//! FTPS (RFC 4217): the TLS settings of a client, with rustls.
//!
//! A [`Tls`] says which servers to trust and under which name, and holds the
//! `rustls::ClientConfig` every connection of a session uses: the control connection and each
//! data connection. Give it to [`Config::tls`](crate::Config::tls) with the
//! [`TlsMode`](crate::TlsMode):
//!
//! - [`TlsMode::Explicit`](crate::TlsMode::Explicit): the client connects in cleartext, reads
//!   the greeting, sends `AUTH TLS` and runs the handshake before anything else. A server that
//!   refuses `AUTH TLS` ends the session with [`Error::TlsRefused`]
//!   before any `USER` or `PASS` went out.
//! - [`TlsMode::Implicit`](crate::TlsMode::Implicit): the handshake runs as soon as the TCP
//!   connection is up (port 990, `ftps://` URLs).
//!
//! After the login the client sends `PBSZ 0` and `PROT P` (unless
//! `config.session.protect_data` is `false`) and runs every data connection through TLS as
//! the TLS client, also in active mode, resuming the control connection's TLS session:
//! servers such as vsftpd (`require_ssl_reuse`) and ProFTPD refuse data connections that do not.
//! A protected download that ends without the server's TLS `close_notify` is an error (a
//! truncation), not a short file; a protected upload ends with the client's `close_notify`.
//!
//! TLS 1.2 and 1.3, with rustls's `ring` provider (never the process-wide default provider).
//!
//! ```no_run
//! use ftp_client::blocking::Client;
//! use ftp_client::tls::Tls;
//! use ftp_client::{Config, TlsMode};
//!
//! # fn main() -> ftp_client::Result<()> {
//! // The system's trusted roots, and the name the server's certificate must carry.
//! let tls = Tls::system_roots().with_server_name("ftp.example.com")?;
//! let config = Config::default().tls(TlsMode::Explicit, tls);
//! let mut ftp = Client::connect("ftp.example.com:21", config)?;
//! assert!(ftp.is_secure());
//! ftp.login("anna", "secret")?; // through TLS only
//! # Ok(())
//! # }
//! ```
//!
//! A private certificate authority (or a self-signed server certificate) is trusted with
//! [`Tls::with_ca_file`]; [`Tls::insecure`] accepts any certificate, for test servers only.
//! An embedder with needs of its own (client certificates, other roots, TLS 1.3 only) builds
//! the `rustls::ClientConfig` and hands it over with [`Tls::from_rustls`].
//!
//! A failed handshake is an [`Error::Io`] whose inner error is the
//! `rustls::Error` (an untrusted certificate, a name mismatch, ...):
//! [`Error::tls_error`] finds it.
//!
//! # Session resumption and TLS 1.3 tickets
//!
//! A data connection resumes the control connection's session with a TLS 1.3 session ticket
//! (or, in TLS 1.2, the session ID). rustls uses each ticket once, as RFC 8446 recommends, so
//! every protected data connection needs a ticket the server sent before: two come after the
//! control connection's handshake (OpenSSL's default), and the client reads the one each data
//! connection brings (after an upload it sends `close_notify` and reads until the server
//! closes, so that ticket is not lost). vsftpd and pyftpdlib send one on every data
//! connection. **ProFTPD (1.3.8) sends none on upload connections**: downloads and listings
//! replace the ticket they use, but each upload uses one of the control connection's two for
//! good, so in TLS 1.3 a session with ProFTPD (which requires resumption by default) has its
//! data connections refused (`425`) after one or two uploads. This workspace's `ftp-server`
//! hands out eight tickets at login, one with each download, and one with an upload whenever
//! the client is running short, so its sessions never run dry. TLS 1.2 session IDs have no
//! such limit: use [`Tls::tls12_only`] for upload-heavy sessions with servers like ProFTPD.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::{Error, Result};

/// The rustls this crate is built with (for [`Tls::from_rustls`]).
pub use rustls;

/// How a client secures its connections: whom it trusts, under which server name, and the
/// rustls configuration of the control and the data connections (each control connection
/// with a session cache of its own, shared with its data connections, which resume its TLS
/// session through it).
///
/// Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
    trust: Trust,
    server_name: Option<ServerName<'static>>,
}

/// Whom a configuration built here trusts (to rebuild it for other protocol versions).
#[derive(Clone)]
enum Trust {
    Roots(Arc<RootCertStore>),
    Anyone,
    /// [`Tls::from_rustls`]: the embedder's.
    Custom,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Default for Tls {
    /// [`Tls::system_roots`].
    fn default() -> Self {
        Tls::system_roots()
    }
}

/// The provider every configuration built here uses: ring, explicitly.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS 1.2 and 1.3.
const DEFAULT_VERSIONS: &[&rustls::SupportedProtocolVersion] = rustls::DEFAULT_VERSIONS;

/// A configuration for `trust` with `versions` (`None` for [`Trust::Custom`]).
fn build(trust: &Trust, versions: &[&'static rustls::SupportedProtocolVersion]) -> Option<Tls> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .ok()?;
    let config = match trust {
        Trust::Roots(roots) => builder.with_root_certificates(Arc::clone(roots)),
        Trust::Anyone => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider))),
        Trust::Custom => return None,
    }
    .with_no_client_auth();
    Some(Tls {
        config: Arc::new(config),
        trust: trust.clone(),
        server_name: None,
    })
}

/// A configuration that verifies servers against `roots`, TLS 1.2 and 1.3.
fn with_roots(roots: RootCertStore) -> Tls {
    build(&Trust::Roots(Arc::new(roots)), DEFAULT_VERSIONS)
        .expect("the ring provider supports TLS 1.2 and 1.3")
}

/// The Mozilla root programme's certificates, as the `webpki-roots` crate ships them.
fn webpki_store() -> RootCertStore {
    RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
}

impl Tls {
    /// Trusts the certificate authorities of the operating system's store (read through
    /// `rustls-native-certs`: `SSL_CERT_FILE` / `SSL_CERT_DIR`, then the system bundle); when
    /// that store is empty or unreadable, the Mozilla roots of [`Tls::webpki_roots`].
    pub fn system_roots() -> Tls {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::debug!(%error, "system certificate store");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        if ignored > 0 {
            tracing::debug!(ignored, "unparsable system certificates ignored");
        }
        if added == 0 {
            tracing::debug!("no system certificates: using the webpki roots");
            roots = webpki_store();
        }
        with_roots(roots)
    }

    /// Trusts the Mozilla root programme's certificate authorities (compiled in, from the
    /// `webpki-roots` crate): the same on every machine.
    pub fn webpki_roots() -> Tls {
        with_roots(webpki_store())
    }

    /// Trusts exactly the certificates in a PEM file (`-----BEGIN CERTIFICATE-----` blocks;
    /// other blocks are skipped): a private certificate authority, or a self-signed server
    /// certificate (which must be an end-entity one, `CA:FALSE`: rustls refuses a CA
    /// certificate as the server's own).
    ///
    /// Fails when the file cannot be read or holds no usable certificate.
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<Tls> {
        let path = path.as_ref();
        let pem_error = |e: rustls_pki_types::pem::Error| -> Error {
            let kind = match &e {
                rustls_pki_types::pem::Error::Io(e) => e.kind(),
                _ => std::io::ErrorKind::InvalidData,
            };
            Error::Io(std::io::Error::new(
                kind,
                format!("{}: {e}", path.display()),
            ))
        };
        let mut certs = Vec::new();
        for cert in CertificateDer::pem_file_iter(path).map_err(pem_error)? {
            certs.push(cert.map_err(pem_error)?);
        }
        Tls::with_ca_certs(certs).map_err(|e| match e {
            Error::Usage(why) => Error::usage(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    /// Trusts exactly these certificates (DER), as [`with_ca_file`](Self::with_ca_file) does.
    pub fn with_ca_certs(certs: impl IntoIterator<Item = CertificateDer<'static>>) -> Result<Tls> {
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::usage(if ignored > 0 {
                "no usable CA certificate (none could be parsed)"
            } else {
                "no CA certificate found"
            }));
        }
        Ok(with_roots(roots))
    }

    /// **Accepts any server certificate**: expired, self-signed, issued for another name or by
    /// anyone at all. For test servers only: it protects against eavesdropping but not against
    /// an active attacker, who can present a certificate of their own. The handshake's
    /// signatures are still checked (with the provider's algorithms), so the server must hold
    /// the key of the certificate it shows.
    pub fn insecure() -> Tls {
        build(&Trust::Anyone, DEFAULT_VERSIONS).expect("the ring provider supports TLS 1.2 and 1.3")
    }

    /// A configuration built by the embedder (other roots, client certificates, protocol
    /// versions, a key log). Its `resumption` setting is not used: each control connection
    /// gets a session cache of its own, through which its data connections resume its
    /// session (servers such as vsftpd and ProFTPD refuse data connections that do not, and
    /// ProFTPD also refuses one that resumes the session of another control connection).
    pub fn from_rustls(config: Arc<ClientConfig>) -> Tls {
        Tls {
            config,
            trust: Trust::Custom,
            server_name: None,
        }
    }

    /// The same trust, offering only TLS 1.2: see the [module documentation](self) for the
    /// servers that need it (ProFTPD, for sessions with many uploads). A configuration
    /// from [`from_rustls`](Self::from_rustls) is not changed: choose its versions when
    /// building it.
    ///
    /// ```no_run
    /// use ftp_client::tls::Tls;
    /// use ftp_client::{Config, TlsMode};
    /// # fn main() -> ftp_client::Result<()> {
    /// let tls = Tls::with_ca_file("ca.pem")?.tls12_only();
    /// let config = Config::default().tls(TlsMode::Explicit, tls);
    /// # Ok(()) }
    /// ```
    pub fn tls12_only(self) -> Tls {
        match build(&self.trust, &[&rustls::version::TLS12]) {
            Some(mut tls) => {
                tls.server_name = self.server_name;
                tls
            }
            None => self,
        }
    }

    /// The name the server's certificate must be valid for: a DNS name, or an IP address
    /// literal. Without one the client uses the IP address it connected to, which a
    /// certificate for a host name does not match: set it when connecting by host name.
    ///
    /// ```
    /// use ftp_client::tls::Tls;
    /// assert!(Tls::webpki_roots().with_server_name("ftp.example.com").is_ok());
    /// assert!(Tls::webpki_roots().with_server_name("::1").is_ok());
    /// assert!(Tls::webpki_roots().with_server_name("not a name").is_err());
    /// ```
    pub fn with_server_name(mut self, name: &str) -> Result<Tls> {
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| Error::usage(format!("invalid TLS server name {name:?}: {e}")))?;
        self.server_name = Some(name);
        Ok(self)
    }

    /// The server name set with [`with_server_name`](Self::with_server_name), if any.
    pub fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }

    /// The rustls configuration.
    pub fn rustls_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// The name to verify the server at `peer` against.
    pub(crate) fn name_for(&self, peer: IpAddr) -> ServerName<'static> {
        match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::IpAddress(peer.to_canonical().into()),
        }
    }
}

/// The verifier of [`Tls::insecure`]: any certificate, but real handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls error inside an I/O error from a TLS stream, if any.
pub(crate) fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_name_themselves() {
        let tls = Tls::webpki_roots();
        assert_eq!(
            tls.name_for("127.0.0.1".parse().unwrap()),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        // An IPv4-mapped IPv6 peer is the IPv4 address its certificate names.
        assert_eq!(
            tls.name_for("::ffff:10.0.0.1".parse().unwrap()),
            ServerName::try_from("10.0.0.1").unwrap()
        );
        let tls = tls.with_server_name("[::1]").unwrap();
        assert_eq!(
            tls.name_for("127.0.0.1".parse().unwrap()),
            ServerName::try_from("::1").unwrap()
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, b"nothing here\n").unwrap();
        assert!(matches!(Tls::with_ca_file(&empty), Err(Error::Usage(_))));
        let missing = dir.path().join("missing.pem");
        match Tls::with_ca_file(&missing) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_constructor_builds() {
        for tls in [
            Tls::webpki_roots(),
            Tls::system_roots(),
            Tls::insecure(),
            Tls::default(),
        ] {
            assert!(tls.server_name().is_none());
            assert!(!tls
                .rustls_config()
                .crypto_provider()
                .cipher_suites
                .is_empty());
        }
    }
}
