//! [`UserTable`]: accounts with salted PBKDF2-HMAC-SHA256 password hashes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use base64ct::{Base64Unpadded, Encoding};
use bytes::Bytes;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Account, AuthError, Authenticator, Lossy};

/// The PBKDF2 iteration count used unless another is chosen: 600,000, the OWASP
/// recommendation for PBKDF2-HMAC-SHA256.
///
/// Each login costs that many HMAC computations on the blocking thread pool (a fraction of a
/// second); a server expecting bursts of logins can choose fewer with
/// [`UserTable::with_iterations`].
pub const DEFAULT_ITERATIONS: u32 = 600_000;

const ALGORITHM: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// Output lengths accepted in a PHC string (those of the `pbkdf2` crate).
const HASH_LENS: std::ops::RangeInclusive<usize> = 10..=64;
const SALT_LENS: std::ops::RangeInclusive<usize> = 8..=64;

/// Why a PHC string was not accepted by [`UserTable::add_user_hashed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordHashError {
    /// The string is not of the form `$pbkdf2-sha256$i=N[,l=L]$SALT$HASH`.
    #[error("not a $pbkdf2-sha256$ PHC string")]
    Format,
    /// A parameter is unknown, repeated, or has a bad value (`i` must be at least 1, `l` must
    /// match the hash length).
    #[error("invalid PHC parameter")]
    Param,
    /// The salt or the hash is not unpadded standard base64.
    #[error("invalid base64 in PHC string")]
    Base64,
    /// The salt (8 to 64 bytes) or the hash (10 to 64 bytes) has an unsupported length.
    #[error("salt or hash length out of range")]
    Length,
}

/// A parsed PHC hash.
#[derive(Clone)]
struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    fn new(password: &[u8], iterations: u32) -> Self {
        let mut salt = vec![0; SALT_LEN];
        getrandom::fill(&mut salt).expect("the operating system's random source failed");
        let iterations = iterations.max(1);
        let mut hash = vec![0; HASH_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, iterations, &mut hash);
        PasswordHash {
            iterations,
            salt,
            hash,
        }
    }

    /// A hash no password matches (its hash bytes are random), for unknown users.
    fn dummy(iterations: u32) -> Self {
        let mut salt = vec![0; SALT_LEN];
        let mut hash = vec![0; HASH_LEN];
        // Without randomness the dummy still costs the same time; it just is not secret.
        let _ = getrandom::fill(&mut salt);
        let _ = getrandom::fill(&mut hash);
        PasswordHash {
            iterations: iterations.max(1),
            salt,
            hash,
        }
    }

    fn parse(phc: &str) -> Result<Self, PasswordHashError> {
        let mut fields = phc.split('$');
        let (Some(""), Some(ALGORITHM), Some(params), Some(salt), Some(hash), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(PasswordHashError::Format);
        };
        let mut iterations = None;
        let mut length = None;
        for param in params.split(',') {
            let (name, value) = param.split_once('=').ok_or(PasswordHashError::Param)?;
            let value: u32 = value.parse().map_err(|_| PasswordHashError::Param)?;
            let slot = match name {
                "i" => &mut iterations,
                "l" => &mut length,
                _ => return Err(PasswordHashError::Param),
            };
            if slot.replace(value).is_some() {
                return Err(PasswordHashError::Param);
            }
        }
        let iterations = iterations
            .filter(|&i| i >= 1)
            .ok_or(PasswordHashError::Param)?;
        let salt = Base64Unpadded::decode_vec(salt).map_err(|_| PasswordHashError::Base64)?;
        let hash = Base64Unpadded::decode_vec(hash).map_err(|_| PasswordHashError::Base64)?;
        if !SALT_LENS.contains(&salt.len()) || !HASH_LENS.contains(&hash.len()) {
            return Err(PasswordHashError::Length);
        }
        if length.is_some_and(|l| l as usize != hash.len()) {
            return Err(PasswordHashError::Param);
        }
        Ok(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    fn to_phc(&self) -> String {
        format!(
            "${ALGORITHM}$i={},l={}${}${}",
            self.iterations,
            self.hash.len(),
            Base64Unpadded::encode_string(&self.salt),
            Base64Unpadded::encode_string(&self.hash),
        )
    }

    /// Whether `password` matches, in time independent of where the hashes differ.
    fn verify(&self, password: &[u8]) -> bool {
        let mut computed = vec![0; self.hash.len()];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, self.iterations, &mut computed);
        computed.ct_eq(&self.hash).into()
    }
}

/// Hashes `password` with a random salt and [`DEFAULT_ITERATIONS`], as a PHC string
/// `$pbkdf2-sha256$i=600000,l=32$SALT$HASH` (salt and hash in unpadded standard base64, the
/// format of the `pbkdf2` crate and of passlib's PHC strings).
///
/// This is slow on purpose; call it while configuring, not on an async thread.
///
/// # Panics
///
/// When the operating system's random source fails.
///
/// ```no_run
/// let phc = ftp_server::auth::hash_password(b"correct horse");
/// assert!(phc.starts_with("$pbkdf2-sha256$i=600000,l=32$"));
/// ```
pub fn hash_password(password: &[u8]) -> String {
    hash_password_with_iterations(password, DEFAULT_ITERATIONS)
}

/// Like [`hash_password`], with a chosen iteration count (at least 1).
///
/// # Panics
///
/// When the operating system's random source fails.
///
/// ```
/// let phc = ftp_server::auth::hash_password_with_iterations(b"pw", 1_000);
/// assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$"));
/// ```
pub fn hash_password_with_iterations(password: &[u8], iterations: u32) -> String {
    PasswordHash::new(password, iterations).to_phc()
}

/// One account of a [`UserTable`]; its settings are changed through the `&mut User` that
/// [`UserTable::add_user`] returns.
#[derive(Clone)]
pub struct User {
    name: Bytes,
    hash: Arc<PasswordHash>,
    home: Bytes,
    writable: bool,
    /// A keyed fast hash of the password last verified for this user (see
    /// [`UserTable`]'s "Verified-password cache").
    verified: Arc<Mutex<Option<[u8; 32]>>>,
}

impl User {
    /// Lets the user change the storage, or not (new users are read-only).
    pub fn set_writable(&mut self, writable: bool) -> &mut Self {
        self.writable = writable;
        self
    }

    /// Sets the virtual directory the user's sessions start in (default `/`).
    pub fn set_home(&mut self, home: impl Into<Bytes>) -> &mut Self {
        self.home = home.into();
        self
    }

    /// The user name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether the user may change the storage.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The virtual directory the user's sessions start in.
    pub fn home(&self) -> &[u8] {
        &self.home
    }

    /// The password hash as a PHC string, to store in a configuration file.
    pub fn password_hash(&self) -> String {
        self.hash.to_phc()
    }

    fn account(&self) -> Account {
        Account {
            name: self.name.clone(),
            home: self.home.clone(),
            writable: self.writable,
        }
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &Lossy(&self.name))
            .field("home", &Lossy(&self.home))
            .field("writable", &self.writable)
            .field("password", &format_args!("<hidden>"))
            .finish()
    }
}

/// Accounts with passwords stored as salted PBKDF2-HMAC-SHA256 hashes.
///
/// A login hashes the given password on the blocking thread pool and compares the result in
/// constant time. An unknown user name costs the same: the password is hashed against a dummy
/// hash with the table's iteration count, so response times do not reveal which accounts
/// exist (provided stored hashes use that same count).
///
/// Users are read-only and start in `/` unless configured otherwise.
///
/// # Verified-password cache
///
/// A slow hash makes every login cost tens of milliseconds of CPU, which caps a busy server's
/// logins per second. After a successful login the table remembers, for that user only, an
/// HMAC-SHA256 of the password under a random key made when the table was created and never
/// stored. A later login with the same password matches that value (in constant time) and
/// skips the slow hash; any other password — wrong, or a guess — still pays the full cost, so
/// online guessing is not made cheaper. The cache lives in memory only, one value per user.
///
/// ```
/// use ftp_server::auth::{Authenticator, UserTable};
///
/// # futures_lite::future::block_on(async {
/// let mut users = UserTable::with_iterations(1_000);
/// users.add_user("alice", b"secret").set_writable(true).set_home("/alice");
/// let phc = users.hash_password(b"hunter2");
/// users.add_user_hashed("bob", &phc)?;
///
/// let alice = users.authenticate(b"alice", b"secret").await.unwrap();
/// assert!(alice.writable);
/// assert_eq!(&alice.home[..], b"/alice");
/// assert!(users.authenticate(b"bob", b"hunter2").await.is_ok());
/// assert!(users.authenticate(b"bob", b"secret").await.is_err());
/// assert!(users.authenticate(b"mallory", b"secret").await.is_err());
/// # Ok::<(), ftp_server::auth::PasswordHashError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct UserTable {
    users: HashMap<Bytes, User>,
    iterations: u32,
    dummy: Arc<PasswordHash>,
    /// The secret key of the verified-password cache, random per table.
    cache_key: [u8; 32],
}

impl Default for UserTable {
    fn default() -> Self {
        UserTable::new()
    }
}

impl UserTable {
    /// An empty table hashing with [`DEFAULT_ITERATIONS`].
    pub fn new() -> Self {
        UserTable::with_iterations(DEFAULT_ITERATIONS)
    }

    /// An empty table hashing new passwords, and unknown users' attempts, with `iterations`
    /// (at least 1).
    pub fn with_iterations(iterations: u32) -> Self {
        let iterations = iterations.max(1);
        let mut cache_key = [0u8; 32];
        getrandom::fill(&mut cache_key).expect("the operating system's random source failed");
        UserTable {
            users: HashMap::new(),
            iterations,
            dummy: Arc::new(PasswordHash::dummy(iterations)),
            cache_key,
        }
    }

    /// The iteration count of this table.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Adds (or replaces) a user with this password, hashed now with a random salt.
    ///
    /// Hashing is slow on purpose: call this while configuring, not on an async thread.
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails.
    pub fn add_user(&mut self, name: impl Into<Bytes>, password: &[u8]) -> &mut User {
        let hash = PasswordHash::new(password, self.iterations);
        self.insert(name.into(), hash)
    }

    /// Adds (or replaces) a user whose password hash is the PHC string `phc`, as made by
    /// [`hash_password`] or [`UserTable::hash_password`].
    ///
    /// # Errors
    ///
    /// A [`PasswordHashError`] when `phc` is not a `$pbkdf2-sha256$` PHC string.
    pub fn add_user_hashed(
        &mut self,
        name: impl Into<Bytes>,
        phc: &str,
    ) -> Result<&mut User, PasswordHashError> {
        let hash = PasswordHash::parse(phc)?;
        Ok(self.insert(name.into(), hash))
    }

    fn insert(&mut self, name: Bytes, hash: PasswordHash) -> &mut User {
        let user = User {
            name: name.clone(),
            hash: Arc::new(hash),
            home: Bytes::from_static(b"/"),
            writable: false,
            verified: Arc::new(Mutex::new(None)),
        };
        self.users.insert(name.clone(), user);
        self.users
            .get_mut(&name)
            .expect("the user was inserted just above")
    }

    /// Removes a user; tells whether it existed.
    pub fn remove_user(&mut self, name: &[u8]) -> bool {
        self.users.remove(name).is_some()
    }

    /// The user called `name`.
    pub fn user(&self, name: &[u8]) -> Option<&User> {
        self.users.get(name)
    }

    /// The user called `name`, to change its settings.
    pub fn user_mut(&mut self, name: &[u8]) -> Option<&mut User> {
        self.users.get_mut(name)
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the table has no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Hashes `password` with this table's iteration count, as a PHC string for
    /// [`UserTable::add_user_hashed`].
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails.
    pub fn hash_password(&self, password: &[u8]) -> String {
        hash_password_with_iterations(password, self.iterations)
    }
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&User> = self.users.values().collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        f.debug_struct("UserTable")
            .field("users", &users)
            .field("iterations", &self.iterations)
            .finish()
    }
}

/// HMAC-SHA256 of the cache key under the password (PBKDF2 with one iteration is exactly
/// that): cheap, and useless without the per-table key.
fn fast_hash(key: &[u8; 32], password: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, key, 1, &mut out);
    out
}

impl Authenticator for UserTable {
    fn authenticate(
        &self,
        user: &[u8],
        password: &[u8],
    ) -> impl Future<Output = Result<Account, AuthError>> + Send {
        let fast = fast_hash(&self.cache_key, password);
        let (hash, account, verified) = match self.users.get(user) {
            Some(user) => (
                Arc::clone(&user.hash),
                Some(user.account()),
                Some(Arc::clone(&user.verified)),
            ),
            None => (Arc::clone(&self.dummy), None, None),
        };
        let cached = verified.as_ref().is_some_and(|v| {
            v.lock()
                .ok()
                .and_then(|v| *v)
                .is_some_and(|known| bool::from(known.ct_eq(&fast)))
        });
        let password = password.to_vec();
        async move {
            let matches = cached || blocking::unblock(move || hash.verify(&password)).await;
            match account {
                Some(account) if matches => {
                    if let Some(Ok(mut v)) = verified.as_ref().map(|v| v.lock()) {
                        *v = Some(fast);
                    }
                    Ok(account)
                }
                _ => Err(AuthError::Rejected),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn verified_password_cache_only_matches_the_same_password() {
        let mut table = UserTable::with_iterations(1_000);
        table.add_user("alice", b"pw");
        assert!(block_on(table.authenticate(b"alice", b"pw")).is_ok());
        let cached = table
            .users
            .get(&b"alice"[..])
            .unwrap()
            .verified
            .lock()
            .unwrap()
            .is_some();
        assert!(cached, "a successful login fills the cache");
        assert!(block_on(table.authenticate(b"alice", b"pw")).is_ok());
        assert!(block_on(table.authenticate(b"alice", b"wrong")).is_err());
        assert!(block_on(table.authenticate(b"bob", b"pw")).is_err());
    }

    #[test]
    fn rfc_7914_test_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1), first 32 bytes.
        let hash = PasswordHash {
            iterations: 1,
            salt: b"salt".to_vec(),
            hash: vec![
                0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44,
                0xb6, 0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57,
                0xc2, 0x0d, 0xac, 0xbc,
            ],
        };
        assert!(hash.verify(b"passwd"));
        assert!(!hash.verify(b"passwe"));
    }

    #[test]
    fn phc_strings_round_trip() {
        let phc = hash_password_with_iterations(b"pw", 1_000);
        let parsed = PasswordHash::parse(&phc).unwrap();
        assert_eq!(parsed.iterations, 1_000);
        assert_eq!(parsed.salt.len(), SALT_LEN);
        assert_eq!(parsed.hash.len(), HASH_LEN);
        assert_eq!(parsed.to_phc(), phc);
        assert!(parsed.verify(b"pw"));
        assert!(!parsed.verify(b"pw "));
        // Salts are random.
        assert_ne!(phc, hash_password_with_iterations(b"pw", 1_000));
    }

    #[test]
    fn phc_without_length_parameter_is_accepted() {
        let phc = hash_password_with_iterations(b"pw", 1_000).replace(",l=32", "");
        assert!(PasswordHash::parse(&phc).unwrap().verify(b"pw"));
    }

    #[test]
    fn bad_phc_strings_are_refused() {
        let good = hash_password_with_iterations(b"pw", 1_000);
        let cases = [
            ("", PasswordHashError::Format),
            (
                "pbkdf2-sha256$i=1$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Format,
            ),
            (
                "$pbkdf2-sha512$i=1$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Format,
            ),
            ("$pbkdf2-sha256$i=1$c2FsdHNhbHQ", PasswordHashError::Format),
            (
                "$pbkdf2-sha256$i=1$c2FsdHNhbHQ$AAAAAAAAAAAAAA$x",
                PasswordHashError::Format,
            ),
            (
                "$pbkdf2-sha256$i=0$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$i=x$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$i=1,i=2$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$r=1$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$l=10$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$i=1,l=11$c2FsdHNhbHQ$AAAAAAAAAAAAAA",
                PasswordHashError::Param,
            ),
            (
                "$pbkdf2-sha256$i=1$c2FsdHNhbHQ$AA*A",
                PasswordHashError::Base64,
            ),
            (
                "$pbkdf2-sha256$i=1$c2FsdA$AAAAAAAAAAAAAA",
                PasswordHashError::Length,
            ),
            (
                "$pbkdf2-sha256$i=1$c2FsdHNhbHQ$AAAA",
                PasswordHashError::Length,
            ),
        ];
        for (phc, expected) in cases {
            assert_eq!(PasswordHash::parse(phc).err(), Some(expected), "{phc}");
        }
        assert!(PasswordHash::parse(&good).is_ok());
        let mut table = UserTable::with_iterations(1_000);
        assert!(table.add_user_hashed("x", "nonsense").is_err());
        assert!(table.is_empty());
    }

    #[test]
    fn logins() {
        block_on(async {
            let mut table = UserTable::with_iterations(1_000);
            table.add_user("ro", b"pw1");
            table
                .add_user(&b"\xffrw"[..], b"pw\xff2")
                .set_writable(true)
                .set_home("/rw");
            let phc = table.hash_password(b"pw3");
            table.add_user_hashed("hashed", &phc).unwrap();
            assert_eq!(table.len(), 3);

            let ro = table.authenticate(b"ro", b"pw1").await.unwrap();
            assert_eq!(ro, Account::new("ro", "/", false));
            let rw = table.authenticate(b"\xffrw", b"pw\xff2").await.unwrap();
            assert_eq!(rw, Account::new(&b"\xffrw"[..], "/rw", true));
            assert!(table.authenticate(b"hashed", b"pw3").await.is_ok());

            for (user, password) in [
                (&b"ro"[..], &b"pw2"[..]),
                (b"ro", b""),
                (b"RO", b"pw1"),
                (b"nobody", b"pw1"),
                (b"", b""),
            ] {
                assert!(matches!(
                    table.authenticate(user, password).await,
                    Err(AuthError::Rejected)
                ));
            }

            assert!(table.remove_user(b"ro"));
            assert!(table.authenticate(b"ro", b"pw1").await.is_err());
            table.user_mut(b"hashed").unwrap().set_writable(true);
            assert!(table.user(b"hashed").unwrap().is_writable());
            assert_eq!(table.user(b"hashed").unwrap().password_hash(), phc);
        });
    }

    #[test]
    fn debug_output_hides_passwords_and_hashes() {
        let mut table = UserTable::with_iterations(1_000);
        let user = table.add_user("alice", b"sup3rsecret");
        let hash = user.password_hash();
        let encoded_hash = hash.rsplit('$').next().unwrap().to_owned();
        let encoded_salt = hash.split('$').nth(3).unwrap().to_owned();
        let debug = format!("{table:?} {:?}", table.user(b"alice").unwrap());
        assert!(debug.contains("alice"), "{debug}");
        assert!(!debug.contains("sup3rsecret"), "{debug}");
        assert!(!debug.contains(&encoded_hash), "{debug}");
        assert!(!debug.contains(&encoded_salt), "{debug}");
    }
}
