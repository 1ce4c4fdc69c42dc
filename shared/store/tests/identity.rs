//! Identity storage against DynamoDB Local: unique e-mails, single-use
//! tokens, refresh-token rotation with reuse detection, throttle counters.

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
    for _ in 0..4 {
        assert!(tokens::record_failure(&s, "h3", 5).await.unwrap());
    }
    assert!(
        !tokens::record_failure(&s, "h3", 5).await.unwrap(),
        "fifth failure exhausts the challenge"
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
    };
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
    assert!(!sessions::family_active(&s, "fam1").await.unwrap());
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
