//! Test harness: a local platform per test (own table, own state dir, port 0)
//! on the shared DynamoDB Local, and one helper per API call. Builders that
//! write straight to the store (e.g. changing a plan, which billing owns)
//! say so in their name.
//!
//! Every response read through [`TestApp::call`] / [`TestApp::raw`] is
//! checked against the served OpenAPI document (see [`contract`]).

pub mod contract;

use std::sync::Arc;
use std::time::Duration;

use contract::Contract;

use nexus_local::{LocalPlatform, Options};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestApp {
    pub local: LocalPlatform,
    pub client: reqwest::Client,
    /// The served `/openapi.json`, compiled on the first response.
    contract: tokio::sync::OnceCell<Arc<Contract>>,
    /// Present for [`TestApp::spawn_contended`].
    front: Option<nexus_devenv::conflicts::ConflictingDynamo>,
}

/// A response, read once.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and type suffix.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(
            self.body["type"],
            format!("{}{kind}", nexus_core::error::PROBLEM_BASE),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
    }
}

/// A verified user with a session.
#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "violet-kayak-47-orbit";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|o| o).await
    }

    /// A platform with adjusted options (e.g. `o.with_override("reminders", …)`).
    pub async fn spawn_with(adjust: impl FnOnce(Options) -> Options) -> Self {
        let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
        Self::on(endpoint, adjust, None).await
    }

    /// A platform whose DynamoDB applies the service's transaction-conflict
    /// rule ([`nexus_devenv::conflicts::ConflictingDynamo`] in front of
    /// DynamoDB Local), for races that must contend as they do in AWS.
    pub async fn spawn_contended() -> Self {
        let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
        let front =
            nexus_devenv::conflicts::ConflictingDynamo::start(&endpoint, Duration::from_millis(5))
                .await
                .expect("conflict front starts");
        Self::on(front.endpoint().to_owned(), |o| o, Some(front)).await
    }

    async fn on(
        endpoint: String,
        adjust: impl FnOnce(Options) -> Options,
        front: Option<nexus_devenv::conflicts::ConflictingDynamo>,
    ) -> Self {
        let local = LocalPlatform::start(adjust(Options::ephemeral(endpoint)))
            .await
            .expect("local platform starts");
        Self {
            local,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            contract: tokio::sync::OnceCell::new(),
            front,
        }
    }

    /// Times two writes met (conflicts and lost conditions) so far; only
    /// for [`TestApp::spawn_contended`].
    pub fn front(&self) -> &nexus_devenv::conflicts::ConflictingDynamo {
        self.front.as_ref().expect("spawn_contended")
    }

    pub fn contention(&self) -> usize {
        self.front.as_ref().expect("spawn_contended").contention()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.local.url())
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        self.raw(r).await
    }

    /// Send a request and read its response, which must keep the API's
    /// contract (the served OpenAPI document): a response that breaks it
    /// fails the test, naming the operation, status and JSON pointer.
    pub async fn raw(&self, r: reqwest::RequestBuilder) -> Res {
        let (client, req) = r.build_split();
        let req = req.expect("request builds");
        let (method, path, headers) = (
            req.method().clone(),
            req.url().path().to_owned(),
            req.headers().clone(),
        );
        let res = read(client.execute(req).await.expect("request sent")).await;
        let broken = self.contract().await.check(&method, &path, &headers, &res);
        assert!(
            broken.is_empty(),
            "the response breaks the OpenAPI contract (fix the annotation or the handler):\n  {}",
            broken.join("\n  ")
        );
        res
    }

    /// The contract of the served `/openapi.json`.
    pub async fn contract(&self) -> Arc<Contract> {
        self.contract
            .get_or_init(|| async {
                let resp = self.client.get(self.url("/openapi.json")).send().await;
                let r = read(resp.expect("GET /openapi.json sent")).await;
                assert_eq!(r.status, 200, "GET /openapi.json: {}", r.text);
                Contract::for_document(&r.text)
            })
            .await
            .clone()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Res {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Messages the local Mailer stored for `to`, newest first.
    pub async fn outbox(&self, to: &str) -> Vec<Value> {
        let r = self.get(&format!("/_local/outbox?to={to}"), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The newest e-mail of `template` to `to`. Account e-mails leave
    /// through the outbox and the account-mail worker, so this lets the
    /// platform settle first.
    pub async fn last_mail(&self, to: &str, template: &str) -> Value {
        self.settle().await;
        self.outbox(to)
            .await
            .into_iter()
            .find(|m| m["template"] == template)
            .unwrap_or_else(|| panic!("no {template} mail to {to}"))
    }

    /// How many e-mails of `template` went to `to` (after settling).
    pub async fn mail_count(&self, to: &str, template: &str) -> usize {
        self.settle().await;
        self.outbox(to)
            .await
            .iter()
            .filter(|m| m["template"] == template)
            .count()
    }

    pub async fn register(&self, email: &str) -> Res {
        self.register_with(email, PASSWORD).await
    }

    pub async fn register_with(&self, email: &str, password: &str) -> Res {
        self.post(
            "/v1/auth/register",
            None,
            json!({"email": email, "password": password, "name": "Test User"}),
        )
        .await
    }

    /// Log in with a password (no second factor); the response.
    pub async fn login(&self, email: &str, password: &str) -> Res {
        self.post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Register, verify through the e-mailed token, log in.
    pub async fn verified_user(&self) -> Session {
        self.verified_account("brand").await
    }

    /// A verified creator account (no organization), logged in.
    pub async fn creator(&self) -> Session {
        self.verified_account("creator").await
    }

    /// Builder (writes the store directly; staff are appointed by operators,
    /// not through the API): a verified user flagged as NEXUS staff, logged in.
    pub async fn staff(&self) -> Session {
        let s = self.verified_user().await;
        self.appoint_staff_in_store(s).await
    }

    /// Builder (writes the store directly): flag an existing account (a
    /// creator, say) as NEXUS staff; returns it logged in again.
    pub async fn appoint_staff_in_store(&self, s: Session) -> Session {
        let id: nexus_core::UserId = s.user_id.parse().expect("user id");
        let store = self.local.store();
        let mut u = nexus_store::repos::users::get(store, &id)
            .await
            .expect("read")
            .expect("user");
        let v = u.version;
        u.staff = true;
        store
            .commit(nexus_store::Tx::new().write(nexus_store::Write::replace(&u, v).expect("item")))
            .await
            .expect("staff set");
        let l = self
            .post(
                "/v1/auth/login",
                None,
                json!({"email": s.email, "password": s.password}),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.text);
        Session {
            access: l.body["accessToken"].as_str().expect("access").to_owned(),
            refresh: l.body["refreshToken"].as_str().expect("refresh").to_owned(),
            ..s
        }
    }

    async fn verified_account(&self, account_type: &str) -> Session {
        let email = format!(
            "u{}@example.com",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let r = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Test User", "accountType": account_type}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        let token = self.last_mail(&email, "verify-email").await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let v = self
            .post("/v1/auth/verify-email", None, json!({"token": token}))
            .await;
        assert_eq!(v.status, 204, "{}", v.text);
        let l = self
            .post(
                "/v1/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.text);
        let access = l.body["accessToken"].as_str().expect("access").to_owned();
        let me = self.get("/v1/me", Some(&access)).await;
        assert_eq!(me.status, 200, "{}", me.text);
        Session {
            email,
            password: PASSWORD.into(),
            user_id: me.body["id"].as_str().expect("id").to_owned(),
            access,
            refresh: l.body["refreshToken"].as_str().expect("refresh").to_owned(),
        }
    }

    /// A user owning a new organization, with tokens scoped to it.
    pub async fn org_owner(&self, kind: &str) -> (Session, String) {
        let mut s = self.verified_user().await;
        let r = self
            .post(
                "/v1/orgs",
                Some(&s.access),
                json!({"name": "Acme Test", "kind": kind}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let org = r.body["id"].as_str().expect("org id").to_owned();
        let t = self
            .post(
                "/v1/auth/switch-org",
                Some(&s.access),
                json!({"orgId": org}),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.text);
        s.access = t.body["accessToken"].as_str().expect("access").to_owned();
        s.refresh = t.body["refreshToken"].as_str().expect("refresh").to_owned();
        (s, org)
    }

    /// Builder (writes the store directly; billing owns plan changes): put `org` on `plan`.
    pub async fn set_plan_in_store(&self, org: &str, plan: nexus_core::plans::Plan) {
        let id: nexus_core::OrgId = org.parse().expect("org id");
        let store = self.local.store();
        let mut o = nexus_store::repos::orgs::get(store, &id)
            .await
            .expect("read")
            .expect("org");
        let v = o.version;
        o.plan = plan;
        store
            .commit(nexus_store::Tx::new().write(nexus_store::Write::replace(&o, v).expect("item")))
            .await
            .expect("plan set");
    }

    /// Invite `email` into `org` as `role` and accept as `invitee`; returns the invitee's tokens scoped to `org`.
    pub async fn join(&self, owner: &Session, org: &str, invitee: &Session, role: &str) -> Session {
        let r = self
            .post(
                &format!("/v1/orgs/{org}/invitations"),
                Some(&owner.access),
                json!({"email": invitee.email, "role": role}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let token = self.last_mail(&invitee.email, "invitation").await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let a = self
            .post(
                &format!("/v1/invitations/{token}/accept"),
                Some(&invitee.access),
                json!({}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let t = self
            .post(
                "/v1/auth/switch-org",
                Some(&invitee.access),
                json!({"orgId": org}),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.text);
        Session {
            access: t.body["accessToken"].as_str().expect("access").to_owned(),
            refresh: t.body["refreshToken"].as_str().expect("r").to_owned(),
            ..invitee.clone()
        }
    }

    /// The local clock's now (`GET /_local/clock`).
    pub async fn now(&self) -> jiff::Timestamp {
        let r = self.get("/_local/clock", None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["now"]
            .as_str()
            .expect("now")
            .parse()
            .expect("RFC 3339")
    }

    /// Move the local clock to the start of the next whole hour (also the
    /// start of a 15-minute window). The rate limits count in fixed windows
    /// aligned to the clock, and the local clock starts at the real time:
    /// a test that counts toward a limit starts here, so its counting never
    /// straddles a window boundary, whatever the time of day.
    pub async fn at_window_start(&self) -> jiff::Timestamp {
        let next = (self.now().await.as_second() / 3600 + 1) * 3600;
        let at = jiff::Timestamp::from_second(next).expect("a time");
        self.set_clock(at).await;
        at
    }

    /// Move the local clock to `at` (`POST /_local/clock {"set": …}`; the
    /// clock only moves forward).
    pub async fn set_clock(&self, at: jiff::Timestamp) {
        let r = self
            .post("/_local/clock", None, json!({ "set": at.to_string() }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Move the local clock forward (`POST /_local/clock {"advance": seconds}`);
    /// returns the new now.
    pub async fn advance_clock(&self, seconds: i64) -> jiff::Timestamp {
        let r = self
            .post("/_local/clock", None, json!({ "advance": seconds }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["now"]
            .as_str()
            .expect("now")
            .parse()
            .expect("RFC 3339")
    }

    /// Pending one-time schedules (`GET /_local/schedules`), or with `state`
    /// (`fired`, `failed`, `skipped`, `all`) what became of past ones.
    pub async fn schedules(&self, state: Option<&str>) -> Vec<Value> {
        let path = match state {
            Some(s) => format!("/_local/schedules?state={s}"),
            None => "/_local/schedules".into(),
        };
        let r = self.get(&path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Builder (writes the outbox directly, as the function owning the change
    /// would): commit `event`, then let the platform publish and deliver it.
    pub async fn emit_in_store(&self, event: nexus_core::events::DomainEvent) {
        self.local
            .store()
            .commit(nexus_store::Tx::new().event(event))
            .await
            .expect("event committed");
        self.settle().await;
    }

    pub async fn settle(&self) {
        self.local
            .settle(Duration::from_secs(20))
            .await
            .expect("platform settles");
    }
}

pub async fn read(resp: reqwest::Response) -> Res {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        body,
        text,
    }
}
