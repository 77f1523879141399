//! A limit stated as requests per period (`50/s`, `20/min`).

use std::str::FromStr;
use std::time::Duration;

/// `requests` per `per`.
///
/// ```
/// use std::time::Duration;
/// use apiretry::RateLimit;
///
/// assert_eq!("50/s".parse::<RateLimit>().unwrap(), RateLimit::per_second(50));
/// assert_eq!("20/min".parse::<RateLimit>().unwrap(), RateLimit::new(20, Duration::from_secs(60)));
/// assert!("fast".parse::<RateLimit>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub(crate) requests: u32,
    pub(crate) per: Duration,
}

impl RateLimit {
    /// `requests` (at least 1) per `per`.
    pub fn new(requests: u32, per: Duration) -> Self {
        RateLimit {
            requests: requests.max(1),
            per,
        }
    }

    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// The spacing between requests.
    pub fn interval(&self) -> Duration {
        self.per / self.requests
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `N/s`, `N/min` (or `N/m`), `N/h`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a rate limit (use e.g. 50/s, 20/min, 1000/h)");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        Ok(RateLimit::new(n, Duration::from_secs(per)))
    }
}
