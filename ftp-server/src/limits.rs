//! How many connections are accepted: in total, and per client address.
//!
//! A server asks the [`ConnectionLimiter`] for a [`ConnectionGuard`] as soon as it accepts a
//! control connection; a refusal means replying `421` and closing (vsftpd's `max_clients` and
//! `max_per_ip`). The guard gives the slot back when it is dropped, however the session ends.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Counts open connections and refuses those over a cap.
///
/// Clones share the same counts. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack
/// listener reports IPv4 clients) count as the IPv4 address.
///
/// ```
/// use ftp_server::limits::{ConnectionLimiter, LimitExceeded};
/// use std::net::IpAddr;
///
/// let limiter = ConnectionLimiter::new(100, 2);
/// let ip: IpAddr = "192.0.2.7".parse().unwrap();
/// let first = limiter.try_acquire(ip).unwrap();
/// let _second = limiter.try_acquire(ip).unwrap();
/// assert_eq!(limiter.try_acquire(ip).unwrap_err(), LimitExceeded::PerIp { max: 2 });
/// drop(first);
/// assert!(limiter.try_acquire(ip).is_ok());
/// ```
#[derive(Clone)]
pub struct ConnectionLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The server already has `max` connections.
    #[error("too many connections (at most {max})")]
    Total {
        /// The cap on all connections.
        max: usize,
    },
    /// This client address already has `max` connections.
    #[error("too many connections from this address (at most {max})")]
    PerIp {
        /// The cap on connections from one address.
        max: usize,
    },
}

impl ConnectionLimiter {
    /// A limiter accepting at most `max_total` connections, and `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        ConnectionLimiter {
            shared: Arc::new(Shared {
                max_total,
                max_per_ip,
                counts: Mutex::new(Counts::default()),
            }),
        }
    }

    /// The cap on all connections.
    pub fn max_total(&self) -> usize {
        self.shared.max_total
    }

    /// The cap on connections from one address.
    pub fn max_per_ip(&self) -> usize {
        self.shared.max_per_ip
    }

    /// Takes a slot for a connection from `ip`, or tells which cap is reached (the total cap
    /// is checked first).
    ///
    /// # Errors
    ///
    /// [`LimitExceeded`] when the connection must be refused.
    pub fn try_acquire(&self, ip: IpAddr) -> Result<ConnectionGuard, LimitExceeded> {
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        if counts.total >= self.shared.max_total {
            return Err(LimitExceeded::Total {
                max: self.shared.max_total,
            });
        }
        let per_ip = counts.per_ip.entry(ip).or_insert(0);
        if *per_ip >= self.shared.max_per_ip {
            if *per_ip == 0 {
                counts.per_ip.remove(&ip);
            }
            return Err(LimitExceeded::PerIp {
                max: self.shared.max_per_ip,
            });
        }
        *per_ip += 1;
        counts.total += 1;
        Ok(ConnectionGuard {
            shared: Arc::clone(&self.shared),
            ip,
        })
    }

    /// The number of open connections.
    pub fn total(&self) -> usize {
        self.lock().total
    }

    /// The number of open connections from `ip`.
    pub fn count_for(&self, ip: IpAddr) -> usize {
        self.lock()
            .per_ip
            .get(&ip.to_canonical())
            .copied()
            .unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        lock(&self.shared.counts)
    }
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    // Counts are updated in single statements; a panic elsewhere does not spoil them.
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl fmt::Debug for ConnectionLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.lock();
        f.debug_struct("ConnectionLimiter")
            .field("max_total", &self.shared.max_total)
            .field("max_per_ip", &self.shared.max_per_ip)
            .field("total", &counts.total)
            .field("addresses", &counts.per_ip.len())
            .finish()
    }
}

/// One accepted connection's slot in a [`ConnectionLimiter`], given back on drop.
pub struct ConnectionGuard {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl ConnectionGuard {
    /// The client address the slot counts for (an IPv4-mapped address as IPv4).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl fmt::Debug for ConnectionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionGuard")
            .field("ip", &self.ip)
            .finish()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut counts = lock(&self.shared.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn total_cap() {
        let limiter = ConnectionLimiter::new(3, 10);
        let guards: Vec<_> = (1..=3)
            .map(|i| limiter.try_acquire(v4(i)).unwrap())
            .collect();
        assert_eq!(limiter.total(), 3);
        assert_eq!(
            limiter.try_acquire(v4(4)).unwrap_err(),
            LimitExceeded::Total { max: 3 }
        );
        drop(guards);
        assert_eq!(limiter.total(), 0);
        assert!(limiter.try_acquire(v4(4)).is_ok());
    }

    #[test]
    fn per_ip_cap() {
        let limiter = ConnectionLimiter::new(10, 2);
        let a = limiter.try_acquire(v4(1)).unwrap();
        let _b = limiter.try_acquire(v4(1)).unwrap();
        assert_eq!(
            limiter.try_acquire(v4(1)).unwrap_err(),
            LimitExceeded::PerIp { max: 2 }
        );
        // Other addresses are not affected.
        let _c = limiter.try_acquire(v4(2)).unwrap();
        assert_eq!(limiter.count_for(v4(1)), 2);
        drop(a);
        assert_eq!(limiter.count_for(v4(1)), 1);
        assert!(limiter.try_acquire(v4(1)).is_ok());
    }

    #[test]
    fn total_cap_is_reported_first() {
        let limiter = ConnectionLimiter::new(1, 1);
        let _a = limiter.try_acquire(v4(1)).unwrap();
        assert_eq!(
            limiter.try_acquire(v4(1)).unwrap_err(),
            LimitExceeded::Total { max: 1 }
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        let limiter = ConnectionLimiter::new(10, 1);
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        let guard = limiter.try_acquire(mapped).unwrap();
        assert_eq!(guard.ip(), v4(1));
        assert_eq!(
            limiter.try_acquire(v4(1)).unwrap_err(),
            LimitExceeded::PerIp { max: 1 }
        );
        assert_eq!(limiter.count_for(v4(1)), 1);
        assert_eq!(limiter.count_for(mapped), 1);
        // A real IPv6 address is its own client.
        assert!(limiter.try_acquire(IpAddr::V6(Ipv6Addr::LOCALHOST)).is_ok());
    }

    #[test]
    fn zero_caps_refuse_everything_and_leave_no_entries() {
        let limiter = ConnectionLimiter::new(5, 0);
        assert!(limiter.try_acquire(v4(1)).is_err());
        assert_eq!(limiter.count_for(v4(1)), 0);
        assert!(format!("{limiter:?}").contains("addresses: 0"));
        let limiter = ConnectionLimiter::new(0, 5);
        assert_eq!(
            limiter.try_acquire(v4(1)).unwrap_err(),
            LimitExceeded::Total { max: 0 }
        );
    }

    #[test]
    fn guards_work_across_threads() {
        let limiter = ConnectionLimiter::new(1000, 1000);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        let _g = limiter.try_acquire(v4(t)).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(limiter.total(), 0);
    }

    #[test]
    fn errors_say_which_cap() {
        assert_eq!(
            LimitExceeded::PerIp { max: 3 }.to_string(),
            "too many connections from this address (at most 3)"
        );
        assert_eq!(
            LimitExceeded::Total { max: 9 }.to_string(),
            "too many connections (at most 9)"
        );
    }
}
