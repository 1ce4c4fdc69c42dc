//! Identity storage against DynamoDB Local: unique e-mails, single-use
//! tokens with atomically counted attempts, refresh-token rotation with reuse
//! detection and per-user session cut-offs, throttle counters and streaks.

use nexus_core::cursor::CursorKey;
use nexus_core::ids::UserId;
use nexus_core::user::{AccountType, Email};
use nexus_core::Timestamp;
use nexus_devenv::CreateTable;
use nexus_store::repos::sessions::{self, Family, RefreshToken, Rotation};
use nexus_store::repos::tokens::{self, OneTimeToken, Purpose};
use nexus_store::repos::{throttle, users};
use nexus_store::{Store, Tx};

async fn store() -> Store {
    let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
    let client = aws_sdk_dynamodb::Client::new(&nexus_devenv::local_sdk_config(&endpoint).await);
    let name = format!(
        "nexus-test-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    nexus_devenv::load_template()
        .unwrap()
        .table()
        .unwrap()
        .create(&client, &name)
        .await
        .unwrap();
    Store::new(client, name, CursorKey::new("k"))
}

fn user(email: &str) -> users::UserRecord {
    let now = Timestamp::now();
    users::UserRecord {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: "Jane".into(),
        account_type: AccountType::Brand,
        password_hash: "$argon2id$…".into(),
        email_verified_at: None,
        staff: false,
        mfa: Default::default(),
        known_ips: vec![],
        sessions_valid_after_ms: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

#[tokio::test]
async fn one_account_per_email_and_lookup_by_email() {
    let s = store().await;
    let a = user("jane@example.com");
    users::create(&s, &a, Tx::new()).await.unwrap();
    let err = users::create(&s, &user("jane@example.com"), Tx::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            nexus_core::Error::Conflict {
                code: "email-taken",
                ..
            }
        ),
        "{err:?}"
    );
    let found = users::find_by_email(&s, &Email::parse("JANE@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, a.id);
    assert!(
        users::find_by_email(&s, &Email::parse("bob@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let mut changed = found.clone();
    changed.name = "Jane D".into();
    let saved = users::save(&s, &changed, found.version, Tx::new())
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert!(
        users::save(&s, &changed, found.version, Tx::new())
            .await
            .is_err(),
        "stale version refused"
    );
}

#[tokio::test]
async fn tokens_are_single_use_even_concurrently_and_expire() {
    let s = store().await;
    let now = Timestamp::now();
    let t = OneTimeToken {
        hash: "h1".into(),
        purpose: Purpose::VerifyEmail,
        subject: "usr_1".into(),
        data: serde_json::json!({}),
        expires_at: now.as_second() + 600,
        used_at: None,
        attempts: 0,
    };
    s.commit(Tx::new().write(nexus_store::Write::create(&t).unwrap()))
        .await
        .unwrap();
    assert!(
        tokens::consume(&s, "h1", Purpose::PasswordReset, now)
            .await
            .unwrap()
            .is_none(),
        "other purpose"
    );
    let uses = futures::future::join_all(
        (0..5).map(|_| tokens::consume(&s, "h1", Purpose::VerifyEmail, now)),
    )
    .await;
    assert_eq!(uses.iter().filter(|u| matches!(u, Ok(Some(_)))).count(), 1);

    let expired = OneTimeToken {
        hash: "h2".into(),
        expires_at: now.as_second() - 1,
        ..t.clone()
    };
    s.commit(Tx::new().write(nexus_store::Write::create(&expired).unwrap()))
        .await
        .unwrap();
    assert!(tokens::consume(&s, "h2", Purpose::VerifyEmail, now)
        .await
        .unwrap()
        .is_none());

    let c = OneTimeToken {
        hash: "h3".into(),
        purpose: Purpose::MfaChallenge,
        ..t
    };
    s.commit(Tx::new().write(nexus_store::Write::create(&c).unwrap()))
        .await
        .unwrap();
    // Twelve concurrent attempts on a 5-attempt challenge: five are granted.
    let claims = futures::future::join_all(
        (0..12).map(|_| tokens::claim_attempt(&s, "h3", Purpose::MfaChallenge, 5, now)),
    )
    .await;
    let granted: Vec<u32> = claims
        .iter()
        .filter_map(|c| c.as_ref().unwrap().as_ref().map(|t| t.attempts))
        .collect();
    assert_eq!(granted.len(), 5, "{claims:?}");
    assert!(granted.iter().all(|n| (1..=5).contains(n)));
    // Spent attempts: consuming within the limit still works; past it, no.
    assert!(
        tokens::consume_within(&s, "h3", Purpose::MfaChallenge, Some(4), now)
            .await
            .unwrap()
            .is_none(),
        "five attempts counted, four allowed"
    );
    assert!(
        tokens::consume_within(&s, "h3", Purpose::MfaChallenge, Some(5), now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tokens::claim_attempt(&s, "h3", Purpose::MfaChallenge, 5, now)
            .await
            .unwrap()
            .is_none(),
        "a used token takes no attempt"
    );
}

#[tokio::test]
async fn refresh_rotation_detects_reuse_and_revokes_the_family() {
    let s = store().await;
    let now = Timestamp::now();
    let uid = UserId::new();
    let fam = Family {
        id: "fam1".into(),
        user_id: uid.clone(),
        created_at: now,
        expires_at: now.as_second() + 3600,
        reauthenticated_at: None,
    };
    let mut u = user("fam@example.com");
    u.id = uid.clone();
    users::create(&s, &u, Tx::new()).await.unwrap();
    let rt = |h: &str| RefreshToken {
        hash: h.into(),
        family: "fam1".into(),
        user_id: uid.clone(),
        org: None,
        issued_at: now,
        expires_at: now.as_second() + 3600,
        rotated_at: None,
    };
    sessions::start(&s, &fam, &rt("r1"), Tx::new())
        .await
        .unwrap();

    assert!(matches!(
        sessions::rotate(&s, "r1", rt("r2"), now).await.unwrap(),
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        sessions::rotate(&s, "r2", rt("r3"), now).await.unwrap(),
        Rotation::Rotated(_)
    ));
    // r1 again: stolen. The family dies, so even the latest token (r3) stops working.
    assert!(matches!(
        sessions::rotate(&s, "r1", rt("r4"), now).await.unwrap(),
        Rotation::Reused { .. }
    ));
    assert_eq!(
        sessions::rotate(&s, "r3", rt("r5"), now).await.unwrap(),
        Rotation::Revoked
    );
    assert!(sessions::live_family(&s, "fam1", &uid, now)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        sessions::rotate(&s, "nope", rt("r6"), now).await.unwrap(),
        Rotation::Invalid
    );
}

#[tokio::test]
async fn throttle_windows_distinct_sets_and_blocks() {
    let s = store().await;
    let now = Timestamp::now();
    for i in 1..=3 {
        assert_eq!(
            throttle::hit(&s, "login-ip", "1.2.3.4", 900, now)
                .await
                .unwrap()
                .0,
            i
        );
    }
    assert_eq!(
        throttle::count(&s, "login-ip", "1.2.3.4", 900, now)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        throttle::count(&s, "login-ip", "5.6.7.8", 900, now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        throttle::add_distinct(&s, "fail-accounts", "1.2.3.4", "a", 3600, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        throttle::add_distinct(&s, "fail-accounts", "1.2.3.4", "a", 3600, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        throttle::add_distinct(&s, "fail-accounts", "1.2.3.4", "b", 3600, now)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        throttle::blocked_for(&s, "ip", "1.2.3.4", now)
            .await
            .unwrap(),
        None
    );
    throttle::block(
        &s,
        "ip",
        "1.2.3.4",
        now.checked_add(jiff::SignedDuration::from_secs(600))
            .unwrap(),
    )
    .await
    .unwrap();
    let left = throttle::blocked_for(&s, "ip", "1.2.3.4", now)
        .await
        .unwrap()
        .unwrap();
    assert!((599..=600).contains(&left));
    let later = now
        .checked_add(jiff::SignedDuration::from_secs(601))
        .unwrap();
    assert_eq!(
        throttle::blocked_for(&s, "ip", "1.2.3.4", later)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_user_cut_off_ends_older_sessions_in_the_issuing_transaction() {
    let s = store().await;
    let t0 = Timestamp::now();
    let later = |secs: i64| {
        t0.checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap()
    };
    let mut u = user("cut@example.com");
    users::create(&s, &u, Tx::new()).await.unwrap();
    let uid = u.id.clone();
    let family = |id: &str, at: Timestamp| Family {
        id: id.into(),
        user_id: uid.clone(),
        created_at: at,
        expires_at: at.as_second() + 3600,
        reauthenticated_at: None,
    };
    let rt = |h: &str, fam: &str| RefreshToken {
        hash: h.into(),
        family: fam.into(),
        user_id: uid.clone(),
        org: None,
        issued_at: t0,
        expires_at: t0.as_second() + 3600,
        rotated_at: None,
    };
    let (old, mine) = (family("old", t0), family("mine", t0));
    sessions::start(&s, &old, &rt("o1", "old"), Tx::new())
        .await
        .unwrap();
    sessions::start(&s, &mine, &rt("m1", "mine"), Tx::new())
        .await
        .unwrap();

    // A second-factor change at t0+10 from session `mine`: the cut-off and
    // the re-authentication commit together.
    let v = u.version;
    u.end_sessions(later(10));
    let u = users::save(
        &s,
        &u,
        v,
        Tx::new().write(sessions::reauthenticate("mine", later(10))),
    )
    .await
    .unwrap();
    assert_eq!(
        sessions::rotate(&s, "o1", rt("o2", ""), later(11))
            .await
            .unwrap(),
        Rotation::Revoked,
        "started before the cut-off"
    );
    assert!(matches!(
        sessions::rotate(&s, "m1", rt("m2", ""), later(11))
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    // Extending (switch-org) checks the same.
    let old = sessions::live_family(&s, "old", &u.id, later(11))
        .await
        .unwrap()
        .expect("not revoked, only cut off");
    assert!(!sessions::extend(&s, &old, rt("o3", ""), Tx::new())
        .await
        .unwrap());
    let mine = sessions::live_family(&s, "mine", &u.id, later(11))
        .await
        .unwrap()
        .unwrap();
    assert!(sessions::extend(&s, &mine, rt("m3", ""), Tx::new())
        .await
        .unwrap());
    // A session started after the cut-off lives; someone else's family is not live for this user.
    sessions::start(&s, &family("new", later(12)), &rt("n1", "new"), Tx::new())
        .await
        .unwrap();
    assert!(matches!(
        sessions::rotate(&s, "n1", rt("n2", ""), later(13))
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    assert!(sessions::live_family(&s, "new", &UserId::new(), later(13))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_streak_grants_free_attempts_then_one_per_wait_even_under_concurrency() {
    let s = store().await;
    let now = Timestamp::now().as_second();
    let at = |secs: i64| Timestamp::from_second(now + secs).unwrap();
    // 20 concurrent claims with 5 free: five granted, the rest refused with the wait.
    let claims = futures::future::join_all(
        (0..20).map(|_| throttle::claim(&s, "acct", "a", 5, now + 2, now + 86_400, at(0))),
    )
    .await;
    let granted = claims
        .iter()
        .filter(|c| matches!(c, Ok(throttle::Claim::Granted { .. })))
        .count();
    assert_eq!(granted, 5, "{claims:?}");
    assert!(claims.iter().all(|c| match c {
        Ok(throttle::Claim::Refused { retry_after_secs }) => *retry_after_secs == 2,
        Ok(throttle::Claim::Granted { .. }) => true,
        Err(_) => false,
    }));
    // After the wait, exactly one more.
    let more = futures::future::join_all(
        (0..5).map(|_| throttle::claim(&s, "acct", "a", 5, now + 6, now + 86_400, at(2))),
    )
    .await;
    assert_eq!(
        more.iter()
            .filter(|c| matches!(c, Ok(throttle::Claim::Granted { attempts: 6 })))
            .count(),
        1,
        "{more:?}"
    );
    assert_eq!(
        throttle::streak(&s, "acct", "a", at(2))
            .await
            .unwrap()
            .map(|st| st.attempts),
        Some(6)
    );
    // Reset ends it; an expired streak is forgotten.
    throttle::reset(&s, "acct", "a").await.unwrap();
    assert_eq!(
        throttle::streak(&s, "acct", "a", at(2)).await.unwrap(),
        None
    );
    throttle::claim(&s, "acct", "b", 5, now, now + 10, at(0))
        .await
        .unwrap();
    assert_eq!(
        throttle::streak(&s, "acct", "b", at(11)).await.unwrap(),
        None
    );
}
