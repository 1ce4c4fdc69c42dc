//! List pagination through the gateway (docs/api.md, "Lists"): `limit` is
//! 1–100 (default 50), a last page that is exactly full ends the listing,
//! and a cursor works only on the listing and for the tenant it came from.
//! One listing of each kind: an organization's (campaigns), a person's
//! (their organizations) and a sub-collection of an organization (API keys).

use integration_tests::{Res, TestApp};
use nexus_core::plans::Plan;
use serde_json::json;

fn items(r: &Res) -> usize {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().expect("items").len()
}

fn cursor(r: &Res) -> Option<String> {
    r.body["nextCursor"].as_str().map(str::to_owned)
}

fn refused(r: &Res, pointer: &str) {
    r.assert_problem(400, "validation-failed");
    assert_eq!(r.body["errors"][0]["pointer"], pointer, "{}", r.text);
}

#[tokio::test]
async fn limits_are_checked_default_to_fifty_and_a_full_last_page_ends_the_listing() {
    let app = TestApp::spawn().await;
    let (owner, _org) = app.org_owner("brand").await;
    let token = Some(owner.access.as_str());
    for i in 0..51 {
        let r = app
            .post(
                "/v1/campaigns",
                token,
                json!({"title": format!("Draft {i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    for bad in ["0", "101", "-1", "ten", "1.5", ""] {
        let r = app.get(&format!("/v1/campaigns?limit={bad}"), token).await;
        refused(&r, "query/limit");
    }
    // The edges of the range are accepted.
    assert_eq!(items(&app.get("/v1/campaigns?limit=1", token).await), 1);
    assert_eq!(items(&app.get("/v1/campaigns?limit=100", token).await), 51);

    // Default: 50, then the 51st on a last page with no cursor.
    let first = app.get("/v1/campaigns", token).await;
    assert_eq!(items(&first), 50);
    let next = cursor(&first).expect("a second page");
    let last = app
        .get(&format!("/v1/campaigns?cursor={next}"), token)
        .await;
    assert_eq!(items(&last), 1);
    assert_eq!(cursor(&last), None);

    // Exactly full: 51 of 51, no cursor; 17 × 3 pages, the third ends it.
    let full = app.get("/v1/campaigns?limit=51", token).await;
    assert_eq!((items(&full), cursor(&full)), (51, None));
    let mut pages = vec![];
    let mut at = None;
    loop {
        let path = match &at {
            Some(c) => format!("/v1/campaigns?limit=17&cursor={c}"),
            None => "/v1/campaigns?limit=17".to_owned(),
        };
        let r = app.get(&path, token).await;
        pages.push(items(&r));
        at = cursor(&r);
        if at.is_none() {
            break;
        }
    }
    assert_eq!(pages, [17, 17, 17], "no empty fourth page");
}

#[tokio::test]
async fn a_cursor_works_only_on_its_listing_and_for_its_tenant() {
    let app = TestApp::spawn().await;
    let (a, a_org) = app.org_owner("brand").await;
    let (b, b_org) = app.org_owner("brand").await;
    for token in [&a.access, &b.access] {
        for i in 0..3 {
            let r = app
                .post(
                    "/v1/campaigns",
                    Some(token),
                    json!({"title": format!("T {i}")}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
    for (who, org) in [(&a, &a_org), (&b, &b_org)] {
        app.set_plan_in_store(org, Plan::Growth).await; // API access
        for name in ["one", "two"] {
            let r = app
                .post(
                    &format!("/v1/orgs/{org}/api-keys"),
                    Some(&who.access),
                    json!({"name": name, "scopes": ["org:read"]}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
    let page = app.get("/v1/campaigns?limit=2", Some(&a.access)).await;
    assert_eq!(items(&page), 2);
    let c = cursor(&page).expect("cursor");

    // Same listing, same tenant: fine.
    let ok = app
        .get(
            &format!("/v1/campaigns?limit=2&cursor={c}"),
            Some(&a.access),
        )
        .await;
    assert_eq!(items(&ok), 1);
    // Another tenant's same listing: refused (not an empty page, not B's data).
    refused(
        &app.get(
            &format!("/v1/campaigns?limit=2&cursor={c}"),
            Some(&b.access),
        )
        .await,
        "query/cursor",
    );
    // Another listing of the same tenant: refused.
    refused(
        &app.get(
            &format!("/v1/orgs/{a_org}/api-keys?limit=1&cursor={c}"),
            Some(&a.access),
        )
        .await,
        "query/cursor",
    );
    // A person's listing (their organizations): a cursor of theirs works,
    // another person's is refused.
    let mine = app.get("/v1/orgs?limit=1", Some(&a.access)).await;
    assert_eq!(items(&mine), 1);
    let keys = app
        .get(
            &format!("/v1/orgs/{a_org}/api-keys?limit=1"),
            Some(&a.access),
        )
        .await;
    assert_eq!(items(&keys), 1);
    let key_cursor = cursor(&keys).expect("two keys");
    refused(
        &app.get(&format!("/v1/orgs?cursor={key_cursor}"), Some(&a.access))
            .await,
        "query/cursor",
    );
    let rest = app
        .get(
            &format!("/v1/orgs/{a_org}/api-keys?limit=1&cursor={key_cursor}"),
            Some(&a.access),
        )
        .await;
    assert_eq!((items(&rest), cursor(&rest)), (1, None));
    refused(
        &app.get(
            &format!("/v1/orgs/{b_org}/api-keys?limit=1&cursor={key_cursor}"),
            Some(&b.access),
        )
        .await,
        "query/cursor",
    );
    // Tampered: refused.
    refused(
        &app.get(&format!("/v1/campaigns?cursor={c}x"), Some(&a.access))
            .await,
        "query/cursor",
    );
}
