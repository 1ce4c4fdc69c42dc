//! Abuse limits of the public identity routes. They count what an attacker
//! does (failures, mail to one recipient, guesses against one account), not
//! what a crowd of honest users behind one address does: successful logins
//! from an office NAT never count against it, and IPv6 clients are counted
//! per /64, the block a single subscriber usually holds.
//!
//! | limit | subject | allowance |
//! |---|---|---|
//! | login guesses per account | e-mail (hashed) | 5 free, then a progressive delay ([`login_delay_secs`]) |
//! | login failures per address | IP /64 (hashed) | 100 per 15 min |
//! | accounts failing from one address | IP /64 | 10 per hour, then the address is blocked for an hour |
//! | MFA failures per account | user | 10 per hour, across challenges (5 per challenge) |
//! | bad tokens per address (verify-email, refresh, MFA, reset) | IP /64 | 50 per 15 min |
//! | account e-mails per recipient (register, forgot-password) | e-mail (hashed) | 5 per hour |
//! | account e-mails requested per address | IP /64 | 100 per hour |
//!
//! Every refusal is `429 throttled` with `Retry-After`.

use std::net::IpAddr;

use nexus_core::{Error, Timestamp};
use nexus_store::repos::throttle;

use crate::fingerprint;

/// A fixed-window limit on one kind of event per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub scope: &'static str,
    pub max: u64,
    pub secs: i64,
}

pub const LOGIN_FAILURES_PER_IP: Window = Window {
    scope: "login-fail-ip",
    max: 100,
    secs: 15 * 60,
};
pub const MFA_FAILURES_PER_USER: Window = Window {
    scope: "mfa-fail-user",
    max: 10,
    secs: 3600,
};
pub const TOKEN_FAILURES_PER_IP: Window = Window {
    scope: "token-fail-ip",
    max: 50,
    secs: 15 * 60,
};
pub const MAIL_PER_RECIPIENT: Window = Window {
    scope: "mail-recipient",
    max: 5,
    secs: 3600,
};
pub const MAIL_REQUESTS_PER_IP: Window = Window {
    scope: "mail-ip",
    max: 100,
    secs: 3600,
};

/// Login guesses an account allows before delays start.
pub const LOGIN_FREE_ATTEMPTS: u64 = 5;
/// The longest wait between two login attempts on one account.
pub const LOGIN_MAX_DELAY_SECS: i64 = 15 * 60;
/// A login streak (and its delay) is forgotten after a day without attempts.
pub const LOGIN_STREAK_SECS: i64 = 24 * 3600;
/// Scope of the per-account login streak.
pub const LOGIN_ACCOUNT: &str = "login-account";

/// An IP address as counted: IPv4 whole, IPv6 by its /64 prefix. Anything
/// unparsable (a test client without an address) counts as itself.
pub fn ip_bucket(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => ip.trim().to_owned(),
    }
}

/// The counted subject of a client address: the hashed bucket.
pub fn ip_subject(ip: &str) -> String {
    fingerprint(&ip_bucket(ip))
}

/// How long the `attempt`-th login attempt of a streak must wait after the
/// previous one: nothing for the first [`LOGIN_FREE_ATTEMPTS`], then 2 s,
/// 4 s, 8 s, … up to [`LOGIN_MAX_DELAY_SECS`]. An attacker gets a handful of
/// guesses an hour; the owner, who knows the password, waits seconds to
/// minutes instead of being locked out.
pub fn login_delay_secs(attempt: u64) -> i64 {
    if attempt <= LOGIN_FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (attempt - LOGIN_FREE_ATTEMPTS).min(20) as u32;
    (1_i64 << doublings).min(LOGIN_MAX_DELAY_SECS)
}

fn throttled(retry_after_secs: u64) -> Error {
    Error::Throttled {
        retry_after_secs: retry_after_secs.max(1),
    }
}

/// Refuse when `subject` already reached the window's maximum (counts nothing).
pub async fn check(
    store: &nexus_store::Store,
    w: Window,
    subject: &str,
    now: Timestamp,
) -> Result<(), Error> {
    if throttle::count(store, w.scope, subject, w.secs, now).await? >= w.max {
        return Err(throttled(window_left(w, now)));
    }
    Ok(())
}

/// Count one event for `subject`; refuse once the window's maximum is exceeded.
pub async fn hit(
    store: &nexus_store::Store,
    w: Window,
    subject: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let (n, left) = throttle::hit(store, w.scope, subject, w.secs, now).await?;
    if n > w.max {
        return Err(throttled(left));
    }
    Ok(())
}

/// Count one event for `subject` without refusing (failures counted after the fact).
pub async fn record(
    store: &nexus_store::Store,
    w: Window,
    subject: &str,
    now: Timestamp,
) -> Result<(), Error> {
    throttle::hit(store, w.scope, subject, w.secs, now).await?;
    Ok(())
}

fn window_left(w: Window, now: Timestamp) -> u64 {
    let end = (now.as_second() / w.secs + 1) * w.secs;
    (end - now.as_second()).max(1) as u64
}

/// Claim one login attempt on an account (hashed e-mail), before the
/// password is checked. Refused (with the wait) while the account's delay
/// runs; the caller resets the streak on success.
pub async fn claim_login(
    store: &nexus_store::Store,
    account: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let seen = throttle::streak(store, LOGIN_ACCOUNT, account, now)
        .await?
        .map_or(0, |s| s.attempts);
    // This claim will be attempt `seen + 1` (or later, if others race it);
    // it holds the account for the wait before the next one, never shorter
    // than the first delay, so racing claims at the boundary can't all slip
    // through (within the free attempts the hold is ignored).
    let hold = login_delay_secs((seen + 2).max(LOGIN_FREE_ATTEMPTS + 1));
    match throttle::claim(
        store,
        LOGIN_ACCOUNT,
        account,
        LOGIN_FREE_ATTEMPTS,
        now.as_second() + hold,
        now.as_second() + LOGIN_STREAK_SECS,
        now,
    )
    .await?
    {
        throttle::Claim::Granted { .. } => Ok(()),
        throttle::Claim::Refused { retry_after_secs } => Err(throttled(retry_after_secs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        assert_eq!(ip_bucket("203.0.113.7"), "203.0.113.7");
        assert_eq!(
            ip_bucket("2001:db8:1:2:aaaa::1"),
            ip_bucket("2001:db8:1:2:ffff:ffff:ffff:fffe")
        );
        assert_ne!(ip_bucket("2001:db8:1:2::1"), ip_bucket("2001:db8:1:3::1"));
        assert_eq!(ip_bucket("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        // IPv4-mapped IPv6 is the IPv4 address, not a /64 shared by everyone.
        assert_eq!(ip_bucket("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_bucket(""), "");
        assert_eq!(ip_subject("2001:db8:1:2::1"), ip_subject("2001:db8:1:2::9"));
    }

    #[test]
    fn login_delays_grow_after_the_free_attempts_and_stop_at_fifteen_minutes() {
        let delays: Vec<i64> = (1..=12).map(login_delay_secs).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(login_delay_secs(30), LOGIN_MAX_DELAY_SECS);
        assert_eq!(login_delay_secs(u64::MAX), LOGIN_MAX_DELAY_SECS);
        // Guesses an attacker gets in a day against one account: the free
        // ones, the climb, then one per 15 minutes.
        let mut t = 0;
        let mut n = 0;
        while t < 86_400 {
            n += 1;
            t += login_delay_secs(n + 1);
        }
        assert!(n < 110, "{n} guesses a day");
    }
}
