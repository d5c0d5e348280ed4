//! The server's transition table: which command runs in which login phase.
//!
//! This is the one place that decides whether a command is *admitted*; what an admitted command
//! does is in `session.rs`, one handler per row of the table in the [module docs](super).

/// Where the login exchange stands (RFC 959 §5.4 "Sequencing of commands and replies").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Greeting sent (or `REIN`, or a failed login): waiting for `USER`.
    Greeted,
    /// `USER` answered `331`: waiting for `PASS`.
    UserGiven,
    /// `PASS` answered `332`: waiting for `ACCT`.
    NeedAccount,
    /// `230` sent.
    LoggedIn,
}

/// Every verb the server knows, without arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    User,
    Pass,
    Acct,
    Host,
    Rein,
    Quit,
    Feat,
    Help,
    Noop,
    Syst,
    Opts,
    Lang,
    Abor,
    Security,
    /// A verb this server does not know (`Command::Other`).
    Unknown,
    /// Everything that touches files, data connections or transfer parameters.
    File,
}

/// The table's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Run the command's handler.
    Run,
    /// Answer this and do nothing else.
    Refuse(u16, &'static str),
}

/// Whether `verb` may run in `phase`. See the state table in the module docs.
pub(crate) fn admit(phase: Phase, verb: Verb) -> Gate {
    use Gate::{Refuse, Run};
    use Phase::*;
    match (verb, phase) {
        // RFC 959 §4.1.1: USER starts (or restarts) a login. Changing user after login needs
        // REIN first (as vsftpd), so a session never mixes two users' permissions.
        (Verb::User, LoggedIn) => Refuse(530, "Cannot change user; send REIN first."),
        (Verb::User, _) => Run,
        // PASS only right after USER (RFC 959 §5.4: 503 bad sequence; vsftpd, pyftpdlib).
        (Verb::Pass, UserGiven) => Run,
        (Verb::Pass, LoggedIn) => Refuse(503, "Already logged in."),
        (Verb::Pass, _) => Refuse(503, "Login with USER first."),
        // ACCT after 332; superfluous once logged in (RFC 959 §4.1.1: 202).
        (Verb::Acct, NeedAccount) => Run,
        (Verb::Acct, LoggedIn) => Refuse(202, "Account not needed."),
        (Verb::Acct, _) => Refuse(503, "Login with USER and PASS first."),
        // RFC 7151 §3: HOST before USER only.
        (Verb::Host, Greeted) => Run,
        (Verb::Host, _) => Refuse(503, "HOST must come before USER."),
        // Allowed in every phase: they reveal nothing and clients send them before logging in
        // (FEAT before login: RFC 2389 §3; OPTS UTF8 ON: RFC 2640).
        (
            Verb::Rein
            | Verb::Quit
            | Verb::Feat
            | Verb::Help
            | Verb::Noop
            | Verb::Syst
            | Verb::Opts
            | Verb::Lang
            | Verb::Abor
            | Verb::Security,
            _,
        ) => Run,
        // RFC 959 §4.2: an unknown verb is a syntax error in every phase (500), never a 530
        // that would suggest it exists.
        (Verb::Unknown, _) => Refuse(500, "Unknown command."),
        // RFC 959 §5.4: everything else needs a login (530).
        (Verb::File, LoggedIn) => Run,
        (Verb::File, _) => Refuse(530, "Please login with USER and PASS."),
    }
}

/// Whether a command is answered at once while a transfer runs, instead of waiting in the
/// pipeline queue (RFC 959 §4.1.3 ABOR, STAT; §4.1.1 QUIT lets the transfer finish;
/// RFC 1123 §4.1.2.5 for STAT during a transfer).
pub(crate) fn urgent_during_transfer(verb: Verb, is_stat: bool) -> bool {
    matches!(verb, Verb::Abor | Verb::Quit) || is_stat
}
