//! The open-file limit and how many connections fit in it. Every connection is a file descriptor; at the
//! usual soft limit of 1 024 a pool configured for thousands of connections would fail to accept (or to open
//! its database) long before reaching them, so at start the soft limit is raised to the hard one.

/// Descriptors kept for everything that is not a farmer connection: the database, node and wallet
/// connections, log files, the listener.
const RESERVED: u64 = 128;

/// Raises the soft open-file limit as far as the hard limit allows; the limit now in force, if known
/// (Windows has no per-process descriptor limit of this kind for sockets).
pub fn raise_open_file_limit() -> Option<u64> {
    crate::platform::raise_open_file_limit()
}

/// `configured` connections, lowered to what `open_files` descriptors can hold (with a warning).
pub fn connection_budget(configured: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return configured;
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED))
        .unwrap_or(usize::MAX)
        .max(1);
    if configured > fits {
        tracing::warn!(
            "[server] max_connections = {configured} but the open-file limit is {limit}: serving at most {fits} \
             connections. Raise the hard limit (ulimit -Hn, LimitNOFILE= in a systemd unit) or lower max_connections"
        );
        fits
    } else {
        configured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_fits_the_limit() {
        assert_eq!(
            connection_budget(4096, Some(1024)),
            1024 - RESERVED as usize
        );
        assert_eq!(connection_budget(100, Some(1024)), 100);
        assert_eq!(connection_budget(4096, None), 4096);
        assert_eq!(connection_budget(10, Some(5)), 1);
    }

    #[cfg(unix)]
    #[test]
    fn raising_reaches_the_hard_limit() {
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        let now = raise_open_file_limit().unwrap();
        assert!(now > 0 && now <= hard, "{now} of {hard}");
    }
}
