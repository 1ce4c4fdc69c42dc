//! The store against DynamoDB Local: conditions, transactions, the outbox,
//! pagination and idempotency records behave as DynamoDB makes them behave.
//! Each test gets its own table, created from `template.yaml`.

use aws_sdk_dynamodb::types::AttributeValue;
use nexus_core::cursor::CursorKey;
use nexus_core::ids::{OrgId, UserId};
use nexus_core::org::{self, Membership, NewOrganization};
use nexus_core::principal::Role;
use nexus_core::{Error, Timestamp};
use nexus_devenv::conflicts::ConflictingDynamo;
use nexus_devenv::race::race;
use nexus_devenv::CreateTable;
use nexus_store::idempotency::IdemTiming;
use nexus_store::repos::{audit, orgs};
use nexus_store::tx::unique_key;
use nexus_store::{Claim, StoreError, StoredResponse, Tx, Write};
use nexus_store::{ConflictRetry, Key, Store};

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
    Store::new(client, name, CursorKey::new("test-cursor-key"))
}

fn new_org(name: &str, by: &UserId) -> org::OrgCreated {
    org::create(
        NewOrganization::parse(Some(name.into()), Some("brand".into())).unwrap(),
        by.clone(),
        Timestamp::now(),
    )
}

async fn count_outbox(s: &Store) -> usize {
    let out = s
        .client()
        .scan()
        .table_name(s.table_name())
        .filter_expression("#k = :o")
        .expression_attribute_names("#k", "_kind")
        .expression_attribute_values(":o", AttributeValue::S("OUTBOX".into()))
        .send()
        .await
        .unwrap();
    out.count() as usize
}

#[tokio::test]
async fn creating_an_org_writes_org_membership_and_event_atomically() {
    let s = store().await;
    let user = UserId::new();
    let c = new_org("Acme", &user);
    orgs::create(&s, &c).await.unwrap();

    let got = orgs::get(&s, &c.org.id).await.unwrap().unwrap();
    assert_eq!(got, c.org);
    let m = orgs::membership(&s, &c.org.id, &user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.role, Role::Owner);
    assert_eq!(count_outbox(&s).await, 1);

    // The same org again: the condition fails and nothing (not even the event) is written.
    let mut again = c.clone();
    again.event = new_org("Other", &user).event;
    let err = orgs::create(&s, &again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(
        count_outbox(&s).await,
        1,
        "a cancelled transaction leaves no event behind"
    );
}

#[tokio::test]
async fn unique_values_are_claimed_once_even_under_concurrency() {
    let (s, _front) = contended_store(ConflictRetry::default(), 5).await;
    let attempts = (0..8).map(|i| {
        let s = s.clone();
        async move {
            let tx = Tx::new().write(Write::Unique {
                kind: "email",
                value: "a@example.com".into(),
                owner: format!("usr_{i}"),
            });
            s.commit(tx).await
        }
    });
    let results = race(attempts.collect()).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        match r {
            Err(StoreError::ConditionFailed { label }) => assert_eq!(label, "unique email"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(s
        .get_raw(&unique_key("email", "a@example.com"))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn replace_is_refused_for_a_stale_version() {
    let s = store().await;
    let c = new_org("Versioned", &UserId::new());
    orgs::create(&s, &c).await.unwrap();

    let mut renamed = c.org.clone();
    renamed.name = "Renamed".into();
    s.commit(Tx::new().write(Write::replace(&renamed, 1).unwrap()))
        .await
        .unwrap();
    let stored = orgs::get(&s, &c.org.id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Renamed", 2));

    // A writer that still believes version 1 loses.
    let err = s
        .commit(Tx::new().write(Write::replace(&renamed, 1).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConditionFailed { ref label } if label == "org"),
        "{err:?}"
    );
}

#[tokio::test]
async fn listing_pages_with_opaque_cursors_bound_to_their_scope() {
    let s = store().await;
    let user = UserId::new();
    let mut expected = vec![];
    for i in 0..7 {
        let c = new_org(&format!("Org {i}"), &user);
        orgs::create(&s, &c).await.unwrap();
        expected.push(c.org.id);
    }
    let mut seen = vec![];
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = orgs::list_for_user(&s, &user, 3, cursor.clone())
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|m: &Membership| m.org_id.clone()));
        if let Some(c) = &page.next_cursor {
            assert!(
                !c.contains("USER#") && !c.contains("ORG#"),
                "cursor must not leak raw keys"
            );
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3, "3 + 3 + 1, and no empty page after the last");
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);

    // An exactly full last page ends the listing: no cursor to an empty page.
    let all = orgs::list_for_user(&s, &user, 7, None).await.unwrap();
    assert_eq!((all.items.len(), all.next_cursor.is_none()), (7, true));
    let first = orgs::list_for_user(&s, &user, 6, None).await.unwrap();
    let rest = orgs::list_for_user(&s, &user, 1, first.next_cursor.clone())
        .await
        .unwrap();
    assert_eq!((first.items.len(), rest.items.len()), (6, 1));
    assert!(rest.next_cursor.is_none(), "the one-item last page is full");

    // A cursor is refused for another user's listing, and when tampered with.
    let page = orgs::list_for_user(&s, &user, 3, None).await.unwrap();
    let c = page.next_cursor.unwrap();
    let other = orgs::list_for_user(&s, &UserId::new(), 3, Some(c.clone()))
        .await
        .unwrap_err();
    assert_eq!(other.status(), 400);
    let tampered = format!("{}x", c);
    assert_eq!(
        orgs::list_for_user(&s, &user, 3, Some(tampered))
            .await
            .unwrap_err()
            .status(),
        400
    );
}

#[tokio::test]
async fn idempotency_claims_replay_and_refuse_reuse() {
    let s = store().await;
    let t = IdemTiming::new(Timestamp::now());
    assert_eq!(
        s.idem_claim("usr_1", "POST /v1/orgs#k1", "h1", t)
            .await
            .unwrap(),
        Claim::Proceed
    );
    assert_eq!(
        s.idem_claim("usr_1", "POST /v1/orgs#k1", "h1", t)
            .await
            .unwrap(),
        Claim::InProgress
    );
    assert_eq!(
        s.idem_claim("usr_1", "POST /v1/orgs#k1", "h2", t)
            .await
            .unwrap(),
        Claim::Mismatch
    );
    let resp = StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        location: None,
        body: "{\"id\":1}".into(),
    };
    s.idem_complete("usr_1", "POST /v1/orgs#k1", "h1", &resp, t)
        .await
        .unwrap();
    assert_eq!(
        s.idem_claim("usr_1", "POST /v1/orgs#k1", "h1", t)
            .await
            .unwrap(),
        Claim::Replay(resp)
    );
    // Another principal's key space is separate.
    assert_eq!(
        s.idem_claim("usr_2", "POST /v1/orgs#k1", "h1", t)
            .await
            .unwrap(),
        Claim::Proceed
    );
    // A failed attempt releases its claim; a lock past its expiry frees itself.
    s.idem_release("usr_2", "POST /v1/orgs#k1").await.unwrap();
    assert_eq!(
        s.idem_claim("usr_2", "POST /v1/orgs#k1", "h1", t)
            .await
            .unwrap(),
        Claim::Proceed
    );
    let later = IdemTiming {
        now_ms: t.now_ms + t.lock_ms + 1,
        ..t
    };
    assert_eq!(
        s.idem_claim("usr_2", "POST /v1/orgs#k1", "h1", later)
            .await
            .unwrap(),
        Claim::Proceed
    );
}

#[tokio::test]
async fn audit_append_is_idempotent_per_event_and_lists_newest_first() {
    let s = store().await;
    let org = OrgId::new();
    let mut ids = vec![];
    for i in 0..3 {
        let e = nexus_core::events::DomainEvent::new(
            "orgs",
            &format!("Thing{i}"),
            Some(org.clone()),
            "usr_x",
            Timestamp::now(),
            serde_json::json!({}),
        );
        let entry = audit::AuditEntry::from_event(&e).unwrap();
        assert!(audit::append(&s, &entry).await.unwrap());
        assert!(
            !audit::append(&s, &entry).await.unwrap(),
            "second delivery is a no-op"
        );
        ids.push(e.id);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let page = audit::list(&s, &org, 10, None).await.unwrap();
    let got: Vec<_> = page.items.iter().map(|e| e.event_id.clone()).collect();
    ids.reverse();
    assert_eq!(got, ids);
    assert!(
        audit::list(&s, &OrgId::new(), 10, None)
            .await
            .unwrap()
            .items
            .is_empty(),
        "other tenants see nothing"
    );
}

#[tokio::test]
async fn health_ping_reads_the_table() {
    let s = store().await;
    s.ping().await.unwrap();
    let missing = Store::new(s.client().clone(), "no-such-table", CursorKey::new("k"));
    assert!(missing.ping().await.is_err());
    let _ = Key::new("a", "b");
}

/// Counts resolutions; fails the first `fail_first` of them.
struct CountingSource {
    calls: std::sync::atomic::AtomicUsize,
    fail_first: usize,
}

#[async_trait::async_trait]
impl nexus_store::CursorKeySource for CountingSource {
    async fn cursor_key(&self) -> Result<CursorKey, String> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n < self.fail_first {
            return Err("GetSecretValue: ThrottlingException".into());
        }
        Ok(CursorKey::new("test-cursor-key"))
    }
}

#[tokio::test]
async fn a_lazy_cursor_key_is_resolved_when_first_needed_then_kept() {
    let s = store().await;
    let user = UserId::new();
    for i in 0..3 {
        orgs::create(&s, &new_org(&format!("Org {i}"), &user))
            .await
            .unwrap();
    }
    let source = std::sync::Arc::new(CountingSource {
        calls: 0.into(),
        fail_first: 1,
    });
    let lazy = Store::without_cursor_key(s.client().clone(), s.table_name())
        .with_cursor_key_source(source.clone());
    let calls = || source.calls.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(calls(), 0, "nothing is resolved at construction");
    // A listing that fits one page needs no key.
    let all = orgs::list_for_user(&lazy, &user, 10, None).await.unwrap();
    assert_eq!(
        (all.items.len(), all.next_cursor.is_none(), calls()),
        (3, true, 0)
    );
    // The first cursor resolves it; a failed resolution is an internal error
    // (logged, never shown) and is tried again on the next request.
    let failed = orgs::list_for_user(&lazy, &user, 2, None)
        .await
        .unwrap_err();
    assert_eq!(failed.status(), 500);
    let page = orgs::list_for_user(&lazy, &user, 2, None).await.unwrap();
    let next = orgs::list_for_user(&lazy, &user, 2, page.next_cursor.clone())
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert_eq!(calls(), 2, "resolved once, after one failure");
    // The same key as a fixed-key store: cursors are interchangeable.
    let fixed = orgs::list_for_user(&s, &user, 2, page.next_cursor)
        .await
        .unwrap();
    assert_eq!(fixed.items.len(), 1);
}

#[tokio::test]
async fn a_store_without_a_cursor_key_refuses_every_query_with_a_clear_error() {
    let s = store().await;
    let user = UserId::new();
    orgs::create(&s, &new_org("Solo", &user)).await.unwrap();
    let unwired = Store::without_cursor_key(s.client().clone(), s.table_name());
    // Even a listing that would fit one page: the missing wiring shows on the
    // first query, not on the first long listing.
    let err = orgs::list_for_user(&unwired, &user, 10, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 500);
    let Error::Internal(cause) = err else {
        panic!("internal error expected")
    };
    assert!(
        cause.contains("no pagination cursor key wired") && cause.contains("CURSOR_KEY_SECRET_ARN"),
        "{cause}"
    );
    // Reads and writes don't need it.
    unwired.ping().await.unwrap();
}

#[tokio::test]
async fn a_whole_collection_is_read_across_dynamodb_pages_without_a_cursor_key() {
    let s = store().await;
    let user = UserId::new();
    let mut expected = vec![];
    for i in 0..7 {
        let c = new_org(&format!("Org {i}"), &user);
        orgs::create(&s, &c).await.unwrap();
        expected.push(c.org.id);
    }
    // No cursor leaves the process, so a store without a cursor key (the
    // authorizer's) reads it all, three items per DynamoDB call.
    let unwired = Store::without_cursor_key(s.client().clone(), s.table_name());
    let q = nexus_store::Query::new(
        nexus_store::Index::Gsi1,
        format!("USER#{user}"),
        format!("{user}/orgs"),
    )
    .prefix("ORG#")
    .limit(3);
    let mut seen: Vec<_> = unwired
        .query_all::<Membership>(q)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.org_id)
        .collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
}

/// A store on its own table behind [`ConflictingDynamo`]: DynamoDB's rule
/// that a write touching an item of a transaction in flight is refused.
async fn contended_store(policy: ConflictRetry, hold_ms: u64) -> (Store, ConflictingDynamo) {
    let plain = store().await;
    let front = ConflictingDynamo::start(
        &nexus_devenv::dynamodb_local::shared_endpoint().await,
        std::time::Duration::from_millis(hold_ms),
    )
    .await
    .unwrap();
    let client =
        aws_sdk_dynamodb::Client::new(&nexus_devenv::local_sdk_config(front.endpoint()).await);
    let s = Store::new(
        client,
        plain.table_name(),
        CursorKey::new("test-cursor-key"),
    )
    .with_conflict_retry(policy);
    (s, front)
}

/// `ADD <attr> 1` on `key`, unconditionally.
fn add_one(key: &Key, attr: &str) -> Write {
    Write::Update {
        key: key.clone(),
        update: format!("ADD {attr} :one"),
        condition: None,
        names: vec![],
        values: vec![(":one".into(), AttributeValue::N("1".into()))],
        label: "counter".into(),
    }
}

/// `writers` transactions, released together by a barrier from their own
/// tasks, each adding 1 to a counter on one hot item and claiming an item
/// of its own. Returns how many failed with `TransactionConflict` and the
/// counter's final value.
async fn hot_item_race(s: &Store, writers: usize) -> (usize, u64) {
    let hot = Key::new("RACE#hot", "COUNTER");
    let results = race(
        (0..writers)
            .map(|i| {
                let tx = Tx::new().write(add_one(&hot, "hits")).write(Write::Unique {
                    kind: "writer",
                    value: format!("{i}"),
                    owner: format!("usr_{i}"),
                });
                let s = s.clone();
                async move { s.commit(tx).await }
            })
            .collect(),
    )
    .await;
    let mut conflicts = 0;
    for r in results {
        match r {
            Ok(()) => {}
            Err(StoreError::TransactionConflict) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let hits = match s.get_raw(&hot).await.unwrap() {
        Some(item) => match item.get("hits") {
            Some(AttributeValue::N(n)) => n.parse().unwrap(),
            other => panic!("hits: {other:?}"),
        },
        None => 0,
    };
    (conflicts, hits)
}

/// DynamoDB cancels a transaction that meets another on the same item
/// (`TransactionConflict`): nothing of it is written. Without retries a
/// crowd of writers on one hot item loses writes to it; with the store's
/// retry every write lands, exactly once, and no caller sees the conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_conflicts_are_retried_until_every_write_lands() {
    const WRITERS: usize = 8;

    let (bare, front) = contended_store(ConflictRetry::NONE, 5).await;
    let (conflicts, hits) = hot_item_race(&bare, WRITERS).await;
    assert!(
        conflicts > 0,
        "the writers never overlapped: the race proves nothing"
    );
    assert_eq!(conflicts, front.conflicts());
    assert_eq!(
        hits as usize,
        WRITERS - conflicts,
        "a cancelled transaction writes nothing"
    );

    for _ in 0..3 {
        let (s, front) = contended_store(ConflictRetry::default(), 5).await;
        let (conflicts, hits) = hot_item_race(&s, WRITERS).await;
        assert!(
            front.conflicts() > 0,
            "no conflict was met, so none was retried"
        );
        assert_eq!(conflicts, 0, "a conflict reached the caller");
        assert_eq!(hits as usize, WRITERS, "every write landed once");
    }
}

/// A single-item write meeting a transaction in flight is refused with
/// `TransactionConflictException`: the store's retry waits it out (here a
/// transaction held for 300 ms), and without the retry the caller gets the
/// conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_item_write_waits_out_a_transaction_in_flight() {
    for (policy, lands) in [
        (ConflictRetry::default(), true),
        (ConflictRetry::NONE, false),
    ] {
        let (s, front) = contended_store(policy, 300).await;
        let key = Key::new("RACE#hot", "COUNTER");
        let long = tokio::spawn({
            let (s, tx) = (s.clone(), Tx::new().write(add_one(&key, "hits")));
            async move { s.commit(tx).await }
        });
        // Once the transaction holds the item (for 300 ms).
        while front.held() == 0 {
            tokio::task::yield_now().await;
        }
        let req = s
            .client()
            .update_item()
            .table_name(s.table_name())
            .set_key(Some(key.to_item()))
            .update_expression("ADD single :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        let single = s
            .retry_conflicts(|| {
                let req = req.clone();
                async move { req.send().await.map_err(StoreError::from_sdk) }
            })
            .await;
        long.await.unwrap().unwrap();
        assert!(front.conflicts() > 0, "the write never met the transaction");
        let item = s.get_raw(&key).await.unwrap().unwrap();
        if lands {
            single.unwrap();
            assert_eq!(item.get("single"), Some(&AttributeValue::N("1".into())));
        } else {
            assert!(
                matches!(single, Err(StoreError::TransactionConflict)),
                "{single:?}"
            );
            assert_eq!(item.get("single"), None);
        }
    }
}

/// Two members join at the same moment for an organization's last seat
/// (its owner holds one of two), from their own tasks, on a DynamoDB that
/// applies the conflict rule: exactly one gets in, every round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_joiners_for_the_last_seat_get_exactly_one_in() {
    const ROUNDS: usize = 10;
    let (s, front) = contended_store(ConflictRetry::default(), 5).await;
    let mut met = 0;
    for round in 0..ROUNDS {
        let owner = UserId::new();
        let c = new_org(&format!("Seats {round}"), &owner);
        orgs::create(&s, &c).await.unwrap();
        let before = front.contention();
        let results = race(
            (0..2)
                .map(|_| {
                    let s = s.clone();
                    let m = Membership {
                        user_id: UserId::new(),
                        role: Role::Viewer,
                        ..c.owner.clone()
                    };
                    async move { orgs::add_member(&s, &m, Some(2), Tx::new()).await }
                })
                .collect(),
        )
        .await;
        met += usize::from(front.contention() > before);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(refused.code(), "seats-changed", "round {round}");
        let org = orgs::get(&s, &c.org.id).await.unwrap().unwrap();
        assert_eq!(org.member_count, 2, "round {round}");
    }
    assert!(met > 0, "in {ROUNDS} rounds the joiners never met");
    eprintln!("seat race: the writes met in {met} of {ROUNDS} rounds");
}
