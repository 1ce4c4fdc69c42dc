//! Invitations, seat limits, roles and the last-owner rule, agency access.

use integration_tests::TestApp;
use nexus_core::plans::Plan;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn invitations_respect_seat_limits_and_roles() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    let invitee = app.verified_user().await;

    // Free: one seat, taken by the owner.
    let r = app
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            Some(&owner.access),
            json!({"email": invitee.email, "role": "manager"}),
        )
        .await;
    r.assert_problem(402, "limit-reached");
    assert_eq!(r.body["limit"], "seats");
    assert_eq!(r.body["max"], 1);

    app.set_plan_in_store(&org, Plan::Starter).await; // 3 seats
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&owner.access),
        json!({"email": "x", "role": "owner"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let manager = app.join(&owner, &org, &invitee, "manager").await;
    let members = app
        .get(&format!("/v1/orgs/{org}/members"), Some(&owner.access))
        .await;
    assert_eq!(members.body["items"].as_array().unwrap().len(), 2);

    // A manager can't manage members; the owner can.
    let third = app.verified_user().await;
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&manager.access),
        json!({"email": third.email, "role": "viewer"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let viewer = app.join(&owner, &org, &third, "viewer").await;
    // Third seat taken: a fourth invitation is over the limit.
    app.post(
        &format!("/v1/orgs/{org}/invitations"),
        Some(&owner.access),
        json!({"email": "four@example.com", "role": "viewer"}),
    )
    .await
    .assert_problem(402, "limit-reached");

    // The invitation is for its addressee only, and single use.
    let _ = viewer;
    let patch = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", manager.user_id),
            Some(&owner.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert_eq!(patch.body["role"], "admin");

    // The last owner can't leave or be demoted; after sharing ownership, they can.
    let me = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            None,
        )
        .await;
    me.assert_problem(409, "last-owner");
    let demote = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            Some(json!({"role": "admin"})),
        )
        .await;
    demote.assert_problem(409, "last-owner");
    let transfer = app
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{}", manager.user_id),
            Some(&owner.access),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(transfer.status, 200, "{}", transfer.text);
    let leave = app
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{}", owner.user_id),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(leave.status, 204, "{}", leave.text);
    // Removed members lose the organization at their next refresh.
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refreshToken": owner.refresh}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("orgId").is_none(), "{}", r.text);
}

#[tokio::test]
async fn concurrent_acceptances_cannot_exceed_seats() {
    let app = TestApp::spawn().await;
    let (owner, org) = app.org_owner("brand").await;
    app.set_plan_in_store(&org, Plan::Starter).await; // 3 seats: owner + 2
    let mut users = vec![];
    let mut tokens = vec![];
    for _ in 0..2 {
        let u = app.verified_user().await;
        let r = app
            .post(
                &format!("/v1/orgs/{org}/invitations"),
                Some(&owner.access),
                json!({"email": u.email, "role": "viewer"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        tokens.push(
            app.last_mail(&u.email, "invitation").await["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        users.push(u);
    }
    // Squeeze a third member in behind the limit check: back to Free (1 seat) and accept both at once.
    app.set_plan_in_store(&org, Plan::Free).await;
    let results = futures::future::join_all(users.iter().zip(&tokens).map(|(u, t)| {
        let app = &app;
        async move {
            app.post(
                &format!("/v1/invitations/{t}/accept"),
                Some(&u.access),
                json!({}),
            )
            .await
        }
    }))
    .await;
    for r in &results {
        r.assert_problem(402, "limit-reached");
    }
    app.set_plan_in_store(&org, Plan::Starter).await;
    let ok = futures::future::join_all(users.iter().zip(&tokens).map(|(u, t)| {
        let app = &app;
        async move {
            app.post(
                &format!("/v1/invitations/{t}/accept"),
                Some(&u.access),
                json!({}),
            )
            .await
        }
    }))
    .await;
    assert!(
        ok.iter().all(|r| r.status == 200),
        "{:?}",
        ok.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let org_item = app
        .get(&format!("/v1/orgs/{org}"), Some(&owner.access))
        .await;
    assert_eq!(org_item.body["memberCount"], 3);
}

#[tokio::test]
async fn agency_members_act_in_a_client_brand_with_the_granted_role() {
    let app = TestApp::spawn().await;
    let (brand_owner, brand) = app.org_owner("brand").await;
    let (agency_owner, agency) = app.org_owner("agency").await;
    let g = app
        .post(
            &format!("/v1/orgs/{brand}/agency-grants"),
            Some(&brand_owner.access),
            json!({"agencyOrgId": agency, "role": "manager"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    app.post(
        &format!("/v1/orgs/{brand}/agency-grants"),
        Some(&brand_owner.access),
        json!({"agencyOrgId": brand, "role": "manager"}),
    )
    .await
    .assert_problem(400, "validation-failed");
    let s = app
        .post(
            "/v1/auth/switch-org",
            Some(&agency_owner.access),
            json!({"orgId": brand}),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    let as_agency = s.body["accessToken"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/orgs/{brand}"), Some(as_agency))
            .await
            .status,
        200
    );
    // A manager, not an admin: member management stays with the brand.
    app.get(&format!("/v1/orgs/{brand}/audit-log"), Some(as_agency))
        .await
        .assert_problem(403, "forbidden");
}
