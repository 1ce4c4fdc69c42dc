//! One-time schedules end to end: created through the functions' Scheduler
//! port, fired by the local runner when the local clock (moved through
//! `POST /_local/clock`) reaches them, observed through the target function
//! (an override of the reminders stub that records its invocations) and
//! `GET /_local/schedules`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration_tests::TestApp;
use jiff::tz::TimeZone;
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

/// A reminder at `now + 1 h` on the wall clock of Europe/Paris.
async fn in_an_hour(app: &TestApp, name: &str, input: Value) -> OneTimeSchedule {
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let at = tz.to_datetime(app.now().await + jiff::SignedDuration::from_hours(1));
    let platform = app.local.platform();
    OneTimeSchedule {
        name: name.into(),
        at,
        time_zone: "Europe/Paris".into(),
        target: platform
            .config
            .reminders_target()
            .expect("the local platform configures the reminders target"),
        input,
    }
}

#[tokio::test]
async fn a_schedule_fires_once_when_the_clock_reaches_it() {
    let (app, calls) = app().await;
    let platform = app.local.platform();
    assert_eq!(
        platform.config.reminders_target_arn.as_deref(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:RemindersFunction")
    );
    let s = in_an_hour(
        &app,
        "reminder-deadline-1",
        json!({"kind": "deliverable-due", "subject": "deliverable/d1", "dueAt": "x",
               "executionId": EXECUTION_ID, "attempt": ATTEMPT_NUMBER,
               "scheduleArn": SCHEDULE_ARN, "scheduledTime": SCHEDULED_TIME}),
    )
    .await;
    platform.scheduler.schedule_once(&s).await.unwrap();
    platform.scheduler.schedule_once(&s).await.unwrap(); // a retried create

    // Not before the clock moves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
    let pending = app.schedules(None).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["name"], "reminder-deadline-1");
    assert_eq!(pending[0]["timeZone"], "Europe/Paris");
    assert!(calls.lock().unwrap().is_empty());

    let r = app
        .post("/_local/clock", None, json!({"advance": "PT2H"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.settle().await;
    tokio::time::sleep(Duration::from_millis(300)).await; // more ticks: still once
    app.settle().await;

    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "fired exactly once: {got:?}");
    assert_eq!(got[0]["kind"], "deliverable-due");
    assert_eq!(got[0]["attempt"], "1");
    assert_eq!(
        got[0]["scheduleArn"],
        "arn:aws:scheduler:us-east-1:000000000000:schedule/nexus-local/reminder-deadline-1"
    );
    let FireTime::At(due) = s.fire_time().unwrap() else {
        panic!("Paris has no DST gap an hour from now")
    };
    assert_eq!(
        got[0]["scheduledTime"],
        due.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
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
    let mut s = in_an_hour(
        &app,
        "reminder-broken",
        json!({"kind": "x", "fail": true, "attempt": ATTEMPT_NUMBER, "id": EXECUTION_ID}),
    )
    .await;
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
    let s = in_an_hour(&app, "reminder-cancelled", json!({"kind": "x"})).await;
    let scheduler = &app.local.platform().scheduler;
    scheduler.schedule_once(&s).await.unwrap();
    assert_eq!(app.schedules(None).await.len(), 1);
    scheduler.cancel("reminder-cancelled").await.unwrap();
    scheduler.cancel("reminder-cancelled").await.unwrap(); // already gone: Ok
    assert!(app.schedules(None).await.is_empty());
    app.advance_clock(2 * 3600).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.settle().await;
    assert!(calls.lock().unwrap().is_empty());
    assert!(app.schedules(Some("all")).await.is_empty());
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
