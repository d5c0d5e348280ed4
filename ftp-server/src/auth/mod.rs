//! Who may log in: the [`Authenticator`] trait, a [`UserTable`] of hashed passwords and the
//! opt-in [`Anonymous`] login.
//!
//! User names and passwords are bytes, as they arrive in USER and PASS. No type of this module
//! prints a password or a password hash in its `Debug` output.

use std::fmt;
use std::future::{ready, Future};

use bytes::Bytes;

mod users;

pub use users::{
    hash_password, hash_password_with_iterations, PasswordHashError, User, UserTable,
    DEFAULT_ITERATIONS,
};

/// Checks a user name and password and tells which account they open.
///
/// Implementations must take about the same time whether or not the user exists, so timing
/// does not tell which accounts exist (RFC 2577 §5), and must not block the async thread with
/// slow work such as password hashing.
///
/// # Examples
///
/// An authenticator of one's own:
///
/// ```
/// use ftp_server::auth::{Account, AuthError, Authenticator};
/// use std::future::{ready, Future};
///
/// struct Guest;
///
/// impl Authenticator for Guest {
///     fn authenticate(
///         &self,
///         user: &[u8],
///         _password: &[u8],
///     ) -> impl Future<Output = Result<Account, AuthError>> + Send {
///         ready(if user == b"guest" {
///             Ok(Account::new("guest", "/guest", false))
///         } else {
///             Err(AuthError::Rejected)
///         })
///     }
/// }
///
/// let account = futures_lite::future::block_on(Guest.authenticate(b"guest", b"")).unwrap();
/// assert_eq!(&account.home[..], b"/guest");
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Checks `user` and `password`; on success gives the account they open.
    fn authenticate(
        &self,
        user: &[u8],
        password: &[u8],
    ) -> impl Future<Output = Result<Account, AuthError>> + Send;
}

impl<A: Authenticator> Authenticator for std::sync::Arc<A> {
    fn authenticate(
        &self,
        user: &[u8],
        password: &[u8],
    ) -> impl Future<Output = Result<Account, AuthError>> + Send {
        (**self).authenticate(user, password)
    }
}

/// A logged-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The account's name, as logs show it.
    pub name: Bytes,
    /// The virtual directory the session starts in (an absolute path of the storage).
    pub home: Bytes,
    /// Whether the account may change the storage (STOR, DELE, MKD, RNFR, ...).
    pub writable: bool,
}

impl Account {
    /// An account with this name, home directory and write permission.
    ///
    /// ```
    /// use ftp_server::auth::Account;
    ///
    /// let account = Account::new("alice", "/home/alice", true);
    /// assert!(account.writable);
    /// ```
    pub fn new(name: impl Into<Bytes>, home: impl Into<Bytes>, writable: bool) -> Self {
        Account {
            name: name.into(),
            home: home.into(),
            writable,
        }
    }
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The user name or the password is wrong; which one is deliberately not told (530).
    #[error("login incorrect")]
    Rejected,
    /// The account store could not be consulted (421 or 530, and a log line).
    #[error("authentication backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The anonymous login: accepts the user names `anonymous` and `ftp` (in any case) with any
/// password, traditionally an e-mail address.
///
/// Nothing enables it by default: a server offers it only when given this authenticator,
/// alone or combined with another through [`Or`]. The account is read-only unless
/// [`Anonymous::writable`] says otherwise, and starts in `/` unless [`Anonymous::home`] says
/// otherwise.
///
/// ```
/// use ftp_server::auth::{Anonymous, Authenticator};
///
/// # futures_lite::future::block_on(async {
/// let anonymous = Anonymous::new().home("/pub");
/// let account = anonymous.authenticate(b"FTP", b"me@example.com").await.unwrap();
/// assert_eq!(&account.name[..], b"anonymous");
/// assert!(!account.writable);
/// assert!(anonymous.authenticate(b"root", b"").await.is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Anonymous {
    home: Bytes,
    writable: bool,
}

impl Default for Anonymous {
    fn default() -> Self {
        Anonymous::new()
    }
}

impl Anonymous {
    /// The anonymous login, read-only, starting in `/`.
    pub fn new() -> Self {
        Anonymous {
            home: Bytes::from_static(b"/"),
            writable: false,
        }
    }

    /// Sets the virtual directory anonymous sessions start in.
    pub fn home(mut self, home: impl Into<Bytes>) -> Self {
        self.home = home.into();
        self
    }

    /// Lets anonymous sessions change the storage (off by default).
    pub fn writable(mut self, writable: bool) -> Self {
        self.writable = writable;
        self
    }

    /// Whether `user` is one of the anonymous user names.
    pub fn is_anonymous_user(user: &[u8]) -> bool {
        user.eq_ignore_ascii_case(b"anonymous") || user.eq_ignore_ascii_case(b"ftp")
    }
}

impl Authenticator for Anonymous {
    fn authenticate(
        &self,
        user: &[u8],
        _password: &[u8],
    ) -> impl Future<Output = Result<Account, AuthError>> + Send {
        ready(if Anonymous::is_anonymous_user(user) {
            Ok(Account {
                name: Bytes::from_static(b"anonymous"),
                home: self.home.clone(),
                writable: self.writable,
            })
        } else {
            Err(AuthError::Rejected)
        })
    }
}

/// Tries one authenticator, then another when the first rejects the login.
///
/// A [`AuthError::Backend`] failure of the first is returned as it is. Put the cheap one
/// first: with `Or::new(Anonymous::new(), table)`, anonymous logins never pay for hashing.
///
/// ```
/// use ftp_server::auth::{Anonymous, Authenticator, Or, UserTable};
///
/// # futures_lite::future::block_on(async {
/// let mut table = UserTable::with_iterations(1_000);
/// table.add_user("alice", b"secret").set_writable(true);
/// let auth = Or::new(Anonymous::new(), table);
/// assert!(auth.authenticate(b"anonymous", b"x").await.is_ok());
/// assert!(auth.authenticate(b"alice", b"secret").await.unwrap().writable);
/// assert!(auth.authenticate(b"alice", b"wrong").await.is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Or<A, B> {
    first: A,
    second: B,
}

impl<A, B> Or<A, B> {
    /// Tries `first`, then `second`.
    pub fn new(first: A, second: B) -> Self {
        Or { first, second }
    }
}

impl<A: Authenticator, B: Authenticator> Authenticator for Or<A, B> {
    async fn authenticate(&self, user: &[u8], password: &[u8]) -> Result<Account, AuthError> {
        match self.first.authenticate(user, password).await {
            Err(AuthError::Rejected) => self.second.authenticate(user, password).await,
            other => other,
        }
    }
}

/// Shows a byte string in `Debug` output, lossily.
struct Lossy<'a>(&'a [u8]);

impl fmt::Debug for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.0), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn anonymous_accepts_only_its_names() {
        block_on(async {
            let anon = Anonymous::new();
            for user in [&b"anonymous"[..], b"ANONYMOUS", b"ftp", b"Ftp"] {
                let account = anon.authenticate(user, b"guest@").await.unwrap();
                assert_eq!(&account.home[..], b"/");
                assert!(!account.writable);
            }
            for user in [&b"root"[..], b"", b"anon", b"ftpuser"] {
                assert!(matches!(
                    anon.authenticate(user, b"").await,
                    Err(AuthError::Rejected)
                ));
            }
            let writable = Anonymous::new().writable(true).home("/incoming");
            let account = writable.authenticate(b"ftp", b"").await.unwrap();
            assert!(account.writable);
            assert_eq!(&account.home[..], b"/incoming");
        });
    }

    struct Broken;

    impl Authenticator for Broken {
        fn authenticate(
            &self,
            _: &[u8],
            _: &[u8],
        ) -> impl Future<Output = Result<Account, AuthError>> + Send {
            ready(Err(AuthError::Backend("down".into())))
        }
    }

    #[test]
    fn or_falls_through_only_on_rejection() {
        block_on(async {
            let auth = Or::new(Broken, Anonymous::new());
            assert!(matches!(
                auth.authenticate(b"ftp", b"").await,
                Err(AuthError::Backend(_))
            ));
            let auth = Or::new(Anonymous::new(), Broken);
            assert!(auth.authenticate(b"ftp", b"").await.is_ok());
            assert!(matches!(
                auth.authenticate(b"bob", b"").await,
                Err(AuthError::Backend(_))
            ));
        });
    }
}
