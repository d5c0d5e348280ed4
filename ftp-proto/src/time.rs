//! FTP timestamps: `YYYYMMDDHHMMSS[.sss]`, always UTC (RFC 3659 §2.3).
//!
//! Used by the `213` reply to MDTM, by MFMT/MFCT arguments and by the MLSD/MLST
//! `modify` and `create` facts. The type carries calendar fields, not a clock reading,
//! so it can be converted to and from Unix seconds without touching the system clock.

use std::fmt;

/// Why a timestamp could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Fewer than the 14 digits of `YYYYMMDDHHMMSS`, or a non-digit among them.
    #[error("timestamp must start with 14 digits YYYYMMDDHHMMSS")]
    Syntax,
    /// A field is out of its range (month 13, day 31 in April, hour 24...).
    #[error("timestamp field out of range")]
    OutOfRange,
    /// The fraction after `.` is empty, too long (more than 9 digits) or not digits.
    #[error("timestamp fraction must be 1 to 9 digits")]
    Fraction,
}

/// A UTC calendar time with optional sub-second precision, as FTP writes it.
///
/// ```
/// use ftp_proto::time::FtpTime;
/// // RFC 3659 §2.3: time-val = 14DIGIT [ "." 1*DIGIT ]
/// let t = FtpTime::parse(b"19980615100045.014").unwrap();
/// assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (1998, 6, 15, 10, 0, 45));
/// assert_eq!(t.nanos, 14_000_000);
/// assert_eq!(t.to_string(), "19980615100045.014");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FtpTime {
    /// Year, 0000–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31 (checked against the month and leap years).
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60 (60 allows a leap second as RFC 3659 does).
    pub second: u8,
    /// Nanoseconds, 0–999,999,999.
    pub nanos: u32,
}

fn is_leap(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

impl FtpTime {
    /// Builds a time from its fields, checking every range.
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanos: u32,
    ) -> Result<Self, TimeError> {
        let ok = year <= 9999
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second <= 60
            && nanos < 1_000_000_000;
        if ok {
            Ok(FtpTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                nanos,
            })
        } else {
            Err(TimeError::OutOfRange)
        }
    }

    /// Parses `YYYYMMDDHHMMSS` with an optional `.` and 1–9 fraction digits.
    ///
    /// The whole input must be the timestamp; surrounding text is an error.
    ///
    /// ```
    /// use ftp_proto::time::{FtpTime, TimeError};
    /// assert!(FtpTime::parse(b"20261125152700").is_ok());
    /// assert_eq!(FtpTime::parse(b"20261325152700"), Err(TimeError::OutOfRange));
    /// assert_eq!(FtpTime::parse(b"2026"), Err(TimeError::Syntax));
    /// ```
    pub fn parse(b: &[u8]) -> Result<Self, TimeError> {
        let (main, frac) = match b.split_at_checked(14) {
            Some(parts) => parts,
            None => return Err(TimeError::Syntax),
        };
        let field =
            |r: std::ops::Range<usize>| main.get(r).and_then(digits).ok_or(TimeError::Syntax);
        let year = field(0..4)? as u16;
        let month = field(4..6)? as u8;
        let day = field(6..8)? as u8;
        let hour = field(8..10)? as u8;
        let minute = field(10..12)? as u8;
        let second = field(12..14)? as u8;
        let nanos = match frac {
            [] => 0,
            [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
                let v = digits(rest).ok_or(TimeError::Fraction)?;
                v * 10u32.pow(9 - rest.len() as u32)
            }
            [b'.', ..] => return Err(TimeError::Fraction),
            _ => return Err(TimeError::Syntax),
        };
        Self::new(year, month, day, hour, minute, second, nanos)
    }

    /// Converts Unix time (seconds since 1970-01-01T00:00:00Z, and nanoseconds) to a calendar
    /// time. Returns `None` outside years 0–9999 or for `nanos` ≥ 10⁹.
    ///
    /// ```
    /// use ftp_proto::time::FtpTime;
    /// let t = FtpTime::from_unix(951_782_400, 0).unwrap(); // 2000-02-29
    /// assert_eq!(t.to_string(), "20000229000000");
    /// assert_eq!(t.to_unix(), 951_782_400);
    /// ```
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Self> {
        if nanos >= 1_000_000_000 {
            return None;
        }
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        Self::new(
            year as u16,
            month as u8,
            day as u8,
            (rem / 3600) as u8,
            (rem % 3600 / 60) as u8,
            (rem % 60) as u8,
            nanos,
        )
        .ok()
    }

    /// Seconds since the Unix epoch (a leap second 60 counts as the next second's start).
    pub fn to_unix(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

/// Writes `YYYYMMDDHHMMSS`, then `.` and the fraction without trailing zeros if `nanos` is not 0.
impl fmt::Display for FtpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], Result<&str, TimeError>)] = &[
            (b"19980615100045.014", Ok("19980615100045.014")),
            (b"20000229235960", Ok("20000229235960")),
            (b"19000229000000", Err(TimeError::OutOfRange)),
            (b"20260431000000", Err(TimeError::OutOfRange)),
            (b"20261125240000", Err(TimeError::OutOfRange)),
            (b"2026112515270", Err(TimeError::Syntax)),
            (b"2026112515270x", Err(TimeError::Syntax)),
            (b"20261125152700.", Err(TimeError::Fraction)),
            (b"20261125152700.1234567890", Err(TimeError::Fraction)),
            (b"20261125152700.12a", Err(TimeError::Fraction)),
            (b"20261125152700 ", Err(TimeError::Syntax)),
            (b"20261125152700.500000000", Ok("20261125152700.5")),
        ];
        for (input, want) in cases {
            let got = FtpTime::parse(input).map(|t| t.to_string());
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{:?}", input);
        }
    }

    #[test]
    fn unix_epoch_and_limits() {
        assert_eq!(
            FtpTime::from_unix(0, 0).unwrap().to_string(),
            "19700101000000"
        );
        assert_eq!(
            FtpTime::from_unix(-1, 0).unwrap().to_string(),
            "19691231235959"
        );
        assert!(FtpTime::from_unix(i64::MAX, 0).is_none());
        assert!(FtpTime::from_unix(i64::MIN, 0).is_none());
        assert!(FtpTime::from_unix(0, 1_000_000_000).is_none());
    }

    proptest! {
        #[test]
        fn unix_round_trip(secs in -62_167_219_200i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = FtpTime::from_unix(secs, nanos).unwrap();
            prop_assert_eq!(t.to_unix(), secs);
            let parsed = FtpTime::parse(t.to_string().as_bytes()).unwrap();
            prop_assert_eq!(parsed, t);
        }

        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = FtpTime::parse(&b);
        }
    }
}
