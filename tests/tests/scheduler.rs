//! One-time schedules end to end: created through the functions' Scheduler
//! port, fired by the local runner when the local clock (moved through
//! `POST /_local/clock`) reaches them, observed through the target function
//! (an override of the reminders stub that records its invocations) and
//! `GET /_local/schedules`.

use std::sync::{Arc, Mutex};

use integration_tests::TestApp;
use nexus_local::Handler;
use nexus_ports::scheduler::{
    FireTime, OneTimeSchedule, RetryPolicy, ATTEMPT_NUMBER, EXECUTION_ID, SCHEDULED_TIME,
    SCHEDULE_ARN,
};
use serde_json::{json, Value};

type Calls = Arc<Mutex<Vec<Value>>>;

/// A platform whose reminders function records its input (and fails when
/// the input says `"fail": true`).
async fn app() -> (TestApp, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let reminders = Handler::invoke(move |e: lambda_runtime::LambdaEvent<Value>| {
        let seen = seen.clone();
        async move {
            let fail = e.payload["fail"] == true;
            seen.lock().unwrap().push(e.payload);
            if fail {
                return Err(lambda_runtime::Diagnostic {
                    error_type: "Internal".into(),
                    error_message: "the reminder could not be sent".into(),
                });
            }
            Ok(json!({"handled": true}))
        }
    });
    let app = TestApp::spawn_with(|o| o.with_override("reminders", reminders)).await;
    (app, calls)
}

/// Move the platform's clock to a fixed instant (tests never depend on the
/// real date: an hour from "now" in Paris is a different thing the week of
/// a DST change).
async fn clock_at(app: &TestApp, instant: &str) {
    app.set_clock(instant.parse().unwrap()).await;
}

/// A reminder at the wall-clock time `local` of Europe/Paris.
fn paris(app: &TestApp, name: &str, local: &str, input: Value) -> OneTimeSchedule {
    let platform = app.local.platform();
    OneTimeSchedule {
        name: name.into(),
        at: local.parse().unwrap(),
        time_zone: "Europe/Paris".into(),
        target: platform
            .config
            .reminders_target()
            .expect("the local platform configures the reminders target"),
        input,
    }
}

/// Let every worker of the platform poll once more with nothing to do: what
/// a "nothing happened" assertion waits for (instead of a sleep that proves
/// nothing on a slow machine).
async fn quiet(app: &TestApp) {
    app.settle().await;
    app.settle().await;
}

#[tokio::test]
async fn a_schedule_fires_once_when_the_clock_reaches_it() {
    let (app, calls) = app().await;
    let platform = app.local.platform();
    assert_eq!(
        platform.config.reminders_target_arn.as_deref(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:RemindersFunction")
    );
    clock_at(&app, "2027-03-10T08:00:00Z").await;
    let s = paris(
        &app,
        "reminder-deadline-1",
        "2027-03-10T10:00:00", // 09:00 UTC (CET, +01:00)
        json!({"kind": "deliverable-due", "subject": "deliverable/d1", "dueAt": "x",
               "executionId": EXECUTION_ID, "attempt": ATTEMPT_NUMBER,
               "scheduleArn": SCHEDULE_ARN, "scheduledTime": SCHEDULED_TIME}),
    );
    platform.scheduler.schedule_once(&s).await.unwrap();
    platform.scheduler.schedule_once(&s).await.unwrap(); // a retried create

    // Not before the clock moves.
    quiet(&app).await;
    let pending = app.schedules(None).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["name"], "reminder-deadline-1");
    assert_eq!(pending[0]["timeZone"], "Europe/Paris");
    assert!(calls.lock().unwrap().is_empty());

    let r = app
        .post("/_local/clock", None, json!({"advance": "PT2H"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    quiet(&app).await; // more polls: still once

    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "fired exactly once: {got:?}");
    assert_eq!(got[0]["kind"], "deliverable-due");
    assert_eq!(got[0]["attempt"], "1");
    assert_eq!(
        got[0]["scheduleArn"],
        "arn:aws:scheduler:us-east-1:000000000000:schedule/nexus-local/reminder-deadline-1"
    );
    assert_eq!(
        s.fire_time().unwrap(),
        FireTime::At("2027-03-10T09:00:00Z".parse().unwrap())
    );
    assert_eq!(got[0]["scheduledTime"], "2027-03-10T09:00:00Z");
    assert!(
        app.schedules(None).await.is_empty(),
        "deleted after completion"
    );
    let fired = app.schedules(Some("fired")).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["executionIds"][0], got[0]["executionId"]);

    // The real reminders stub accepts the same input (sanity of the payload).
    let stub: reminders::ReminderInput = serde_json::from_value(got[0].clone()).unwrap();
    assert_eq!(stub.subject, "deliverable/d1");
}

/// A reminder that fails in the function is retried by Lambda (Scheduler
/// invokes asynchronously: same execution, attempt 1), then Lambda's
/// on-failure record (input and error) is kept in the queue template.yaml
/// names for RemindersFunction; the schedule itself is gone, as on AWS.
#[tokio::test]
async fn a_failing_reminder_is_retried_by_lambda_then_kept_in_the_reminders_queue() {
    let (app, calls) = app().await;
    clock_at(&app, "2027-03-10T08:00:00Z").await;
    let mut s = paris(
        &app,
        "reminder-broken",
        "2027-03-10T10:00:00",
        json!({"kind": "x", "fail": true, "attempt": ATTEMPT_NUMBER, "id": EXECUTION_ID}),
    );
    assert_eq!(
        s.target.dead_letter_arn.as_deref(),
        Some("arn:aws:sqs:us-east-1:000000000000:RemindersDeadLetterQueue"),
        "the schedule's DeadLetterConfig comes from SCHEDULE_DLQ_ARN in template.yaml"
    );
    s.target.retry = RetryPolicy {
        maximum_retry_attempts: 2,
        maximum_event_age_secs: 3600,
    };
    app.local
        .platform()
        .scheduler
        .schedule_once(&s)
        .await
        .unwrap();
    app.advance_clock(2 * 3600).await;
    app.settle().await;

    let seen = calls.lock().unwrap().clone();
    let attempts: Vec<Value> = seen.iter().map(|c| c["attempt"].clone()).collect();
    assert_eq!(
        attempts,
        [json!("1"), json!("1"), json!("1")],
        "EventInvokeConfig: 2 retries"
    );
    assert!(seen.iter().all(|c| c["id"] == seen[0]["id"]));
    assert!(app.schedules(None).await.is_empty());
    let failed = app.schedules(Some("failed")).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(
        failed[0]["deadLetter"],
        "arn:aws:sqs:us-east-1:000000000000:RemindersDeadLetterQueue"
    );
    let letters = app.local.dead_letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
    assert_eq!(letter["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(letter["requestPayload"]["kind"], "x");
    assert!(letter["responsePayload"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("could not be sent"));
}

#[tokio::test]
async fn a_cancelled_schedule_never_fires() {
    let (app, calls) = app().await;
    clock_at(&app, "2027-03-10T08:00:00Z").await;
    let s = paris(
        &app,
        "reminder-cancelled",
        "2027-03-10T10:00:00",
        json!({"kind": "x"}),
    );
    let scheduler = &app.local.platform().scheduler;
    scheduler.schedule_once(&s).await.unwrap();
    assert_eq!(app.schedules(None).await.len(), 1);
    scheduler.cancel("reminder-cancelled").await.unwrap();
    scheduler.cancel("reminder-cancelled").await.unwrap(); // already gone: Ok
    assert!(app.schedules(None).await.is_empty());
    app.advance_clock(2 * 3600).await;
    quiet(&app).await;
    assert!(calls.lock().unwrap().is_empty());
    assert!(app.schedules(Some("all")).await.is_empty());
}

/// Autumn fold: 02:30 happens twice in Paris on 2027-10-31 (CEST, then
/// CET). The documented rule: a fold fires at its first occurrence, once.
#[tokio::test]
async fn a_time_in_the_autumn_fold_fires_at_its_first_occurrence_only() {
    let (app, calls) = app().await;
    clock_at(&app, "2027-10-30T22:00:00Z").await;
    let s = paris(
        &app,
        "reminder-fold",
        "2027-10-31T02:30:00",
        json!({"scheduledTime": SCHEDULED_TIME}),
    );
    assert_eq!(
        s.fire_time().unwrap(),
        FireTime::At("2027-10-31T00:30:00Z".parse().unwrap()),
        "02:30 CEST (+02:00), not 02:30 CET (01:30 UTC)"
    );
    app.local
        .platform()
        .scheduler
        .schedule_once(&s)
        .await
        .unwrap();
    clock_at(&app, "2027-10-31T00:29:00Z").await;
    quiet(&app).await;
    assert!(
        calls.lock().unwrap().is_empty(),
        "not before the first 02:30"
    );
    clock_at(&app, "2027-10-31T00:31:00Z").await;
    app.settle().await;
    clock_at(&app, "2027-10-31T01:31:00Z").await; // past the second 02:30
    quiet(&app).await;
    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "once: {got:?}");
    assert_eq!(got[0]["scheduledTime"], "2027-10-31T00:30:00Z");
}

/// Spring gap: 02:30 does not exist in Paris on 2027-03-28 (02:00 CET
/// becomes 03:00 CEST). The documented rule: the schedule never fires, and
/// the local platform records it as skipped once the clock passes the gap.
#[tokio::test]
async fn a_time_in_the_spring_gap_never_fires_and_is_recorded_as_skipped() {
    let (app, calls) = app().await;
    clock_at(&app, "2027-03-27T22:00:00Z").await;
    let s = paris(
        &app,
        "reminder-gap",
        "2027-03-28T02:30:00",
        json!({"kind": "x"}),
    );
    assert_eq!(s.fire_time().unwrap(), FireTime::Skipped);
    app.local
        .platform()
        .scheduler
        .schedule_once(&s)
        .await
        .unwrap();
    clock_at(&app, "2027-03-28T03:00:00Z").await;
    quiet(&app).await;
    assert!(calls.lock().unwrap().is_empty());
    let skipped = app.schedules(Some("skipped")).await;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["name"], "reminder-gap");
    assert!(app.schedules(None).await.is_empty());
}

#[tokio::test]
async fn the_clock_moves_forward_only_and_bad_bodies_are_problems() {
    let app = TestApp::spawn().await;
    let before = app.now().await;
    let after = app.advance_clock(90).await;
    assert!(after.duration_since(before) >= jiff::SignedDuration::from_secs(90));
    let target = after + jiff::SignedDuration::from_hours(48);
    let r = app
        .post("/_local/clock", None, json!({"set": target.to_string()}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["now"], target.to_string());
    assert!(app.now().await >= target);

    for (body, kind) in [
        (json!({"set": before.to_string()}), "validation-failed"),
        (json!({"advance": "soon"}), "validation-failed"),
        (json!({"advance": -5}), "validation-failed"),
        (
            json!({"advance": "PT1H", "set": target.to_string()}),
            "validation-failed",
        ),
        (json!({}), "validation-failed"),
        (json!([1]), "malformed-request"),
    ] {
        app.post("/_local/clock", None, body.clone())
            .await
            .assert_problem(400, kind);
    }
    assert!(app.now().await >= target, "refused moves change nothing");
    let r = app.get("/_local/schedules?state=nope", None).await;
    r.assert_problem(400, "validation-failed");
}
