//! Races that really race: each contender runs in its own task, and a
//! barrier releases them together, so their requests overlap instead of
//! running one after the other inside a single task (`tokio::join!`).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;

/// Run `contenders` in their own tasks, released together; their outcomes
/// in the contenders' order. Use a multi-threaded runtime for the tasks to
/// run in parallel.
pub async fn race<T, F>(contenders: Vec<F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let gate = Arc::new(Barrier::new(contenders.len()));
    let tasks: Vec<_> = contenders
        .into_iter()
        .map(|f| {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.wait().await;
                f.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("a contender panicked"));
    }
    out
}
