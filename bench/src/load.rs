//! Latency and throughput through the local gateway (release build, the
//! platform in-process, DynamoDB Local): `GET /health` and a store round-trip
//! (`POST /v1/orgs` with a fresh `Idempotency-Key`, then `GET /v1/orgs/{id}`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_local::{LocalPlatform, Options};
use serde_json::json;

struct Stats {
    latencies_ms: Vec<f64>,
    wall: Duration,
    errors: usize,
}

async fn drive<F, Fut>(requests: usize, concurrency: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Instant::now();
                if !f(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, errors)
        }));
    }
    let mut latencies_ms = vec![];
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies_ms.extend(l);
            errors += e;
        }
    }
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    Stats {
        latencies_ms,
        wall: started.elapsed(),
        errors,
    }
}

fn row(name: &str, s: &Stats) {
    println!(
        "| {name} | {} | {:.2} ms | {:.2} ms | {:.0} | {} |",
        s.latencies_ms.len(),
        crate::percentile(&s.latencies_ms, 50.0),
        crate::percentile(&s.latencies_ms, 99.0),
        s.latencies_ms.len() as f64 / s.wall.as_secs_f64(),
        s.errors
    );
}

pub async fn run(requests: usize, concurrency: usize) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = nexus_devenv::dynamodb_local::shared_endpoint().await;
    let local = LocalPlatform::start(Options::ephemeral(endpoint)).await?;
    let base = local.url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;

    // A real user: register, verify through the local outbox, log in.
    let email = format!(
        "bench-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let password = "violet-kayak-47-orbit";
    client
        .post(format!("{base}/v1/auth/register"))
        .json(&json!({"email": email, "password": password, "name": "Bench"}))
        .send()
        .await?;
    // The verification e-mail leaves through the outbox and the account-mail worker.
    local.settle(std::time::Duration::from_secs(20)).await?;
    let outbox: serde_json::Value = client
        .get(format!("{base}/_local/outbox?to={email}"))
        .send()
        .await?
        .json()
        .await?;
    let verify = outbox["items"][0]["token"]
        .as_str()
        .ok_or("no verification mail")?
        .to_owned();
    client
        .post(format!("{base}/v1/auth/verify-email"))
        .json(&json!({"token": verify}))
        .send()
        .await?;
    let login: serde_json::Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["accessToken"]
        .as_str()
        .ok_or("login failed")?
        .to_owned();

    println!("\n## Local gateway, {requests} requests, {concurrency} concurrent clients (release build, DynamoDB Local)\n");
    println!("| scenario | requests | p50 | p99 | req/s | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    // Warm up connections and the JVM.
    for _ in 0..50 {
        let _ = client.get(format!("{base}/health")).send().await;
    }
    let (c, b) = (client.clone(), base.clone());
    let health = drive(requests, concurrency, move |_| {
        let (c, b) = (c.clone(), b.clone());
        async move {
            c.get(format!("{b}/health"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    row("GET /health (table read)", &health);

    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    let round_trip = drive(requests / 2, concurrency, move |i| {
        let (c, b, t) = (c.clone(), b.clone(), t.clone());
        async move {
            let created = c
                .post(format!("{b}/v1/orgs"))
                .bearer_auth(&t)
                .header(
                    "idempotency-key",
                    format!("bench-{i}-{}", ulid::Ulid::new()),
                )
                .json(&json!({"name": format!("Bench {i}"), "kind": "brand"}))
                .send()
                .await;
            let Ok(created) = created else { return false };
            if created.status().as_u16() != 201 {
                return false;
            }
            let Ok(body) = created.json::<serde_json::Value>().await else {
                return false;
            };
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            // The token isn't scoped to the new org, so the read is refused (404) after a
            // real store lookup of the principal's tenancy; list the caller's orgs instead.
            c.get(format!("{b}/v1/orgs?limit=1"))
                .bearer_auth(&t)
                .send()
                .await
                .map(|r| r.status().is_success() && !id.is_empty())
                .unwrap_or(false)
        }
    })
    .await;
    row(
        "POST /v1/orgs + GET /v1/orgs (transaction + outbox + query)",
        &round_trip,
    );
    local.settle(Duration::from_secs(60)).await.ok();
    local.stop().await;
    Ok(())
}
