//! Per-address budgets for the farmer API: who a client is (its address, IPv6 by /64, or the address a
//! trusted reverse proxy forwards), how many connections it may hold at once, and how fast it may open
//! connections or send requests.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use warp::http::HeaderMap;

/// The bucket an address is counted in: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, since
/// one home connection is usually given a whole /64.
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Whether `peer` is one of the configured reverse proxies (compared as plain addresses).
pub fn is_trusted(peer: IpAddr, trusted: &[IpAddr]) -> bool {
    let peer = canonical(peer);
    trusted.iter().any(|t| canonical(*t) == peer)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client a request is from. Only a trusted proxy's `X-Forwarded-For` is believed: the right-most
/// address that is not itself a trusted proxy (the ones left of it are whatever the client claimed).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match parse_hop(part.trim()) {
                Some(ip) => hops.push(ip),
                None => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip, trusted))
        .unwrap_or(peer)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

/// A token bucket per address bucket: `per_sec` sustained, bursts of ten times that.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    pub fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec.max(1));
        Self {
            per_sec,
            burst: per_sec * 10.0,
            buckets: HashMap::new(),
        }
    }

    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.buckets.len() > 100_000 {
            // Forget addresses whose buckets have refilled: they would start full anyway.
            let (per_sec, burst) = (self.per_sec, self.burst);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = self.buckets.entry(bucket(ip)).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_sec)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Open connections per address bucket, each at most `cap`; a guard gives its place back when dropped.
pub struct ConnectionCounts {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

pub struct ConnectionGuard {
    counts: Arc<ConnectionCounts>,
    key: IpAddr,
}

impl ConnectionCounts {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `ip`, or None when its bucket is full.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionGuard> {
        let key = bucket(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(ConnectionGuard {
            counts: Arc::clone(self),
            key,
        })
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_limiter_allows_bursts_and_refills() {
        let mut limiter = RateLimiter::new(10);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let t0 = Instant::now();
        assert_eq!(
            (0..150).filter(|_| limiter.allow(ip, t0)).count(),
            100,
            "a burst of ten seconds' worth"
        );
        assert!(limiter.allow(other, t0), "addresses have their own buckets");
        assert!(!limiter.allow(ip, t0));
        assert!(
            limiter.allow(ip, t0 + Duration::from_millis(100)),
            "one more after a tenth of a second"
        );
        assert!(!limiter.allow(ip, t0 + Duration::from_millis(100)));
    }

    #[test]
    fn ipv6_shares_a_bucket_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(bucket(mapped), IpAddr::from([10, 0, 0, 1]));
        let counts = ConnectionCounts::new(2);
        let g1 = counts.try_acquire(a).unwrap();
        let _g2 = counts.try_acquire(b).unwrap();
        assert!(counts.try_acquire(a).is_none(), "the /64 is full");
        assert!(counts.try_acquire(c).is_some(), "another /64 is not");
        drop(g1);
        assert!(counts.try_acquire(b).is_some(), "a place is given back");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let stranger: IpAddr = [198, 51, 100, 7].into();
        let trusted = [proxy];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "10.9.9.9, 203.0.113.5, 127.0.0.1".parse().unwrap(),
        );
        assert_eq!(
            client_address(proxy, &headers, &trusted),
            IpAddr::from([203, 0, 113, 5]),
            "the right-most address the proxy did not add itself"
        );
        assert_eq!(client_address(stranger, &headers, &trusted), stranger);
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(client_address(proxy, &headers, &trusted), proxy);
        headers.insert("x-forwarded-for", "[2001:db8::5]:443".parse().unwrap());
        assert_eq!(
            client_address(proxy, &headers, &trusted),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
