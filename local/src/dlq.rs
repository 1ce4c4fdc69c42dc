//! Dead letters: what AWS would send to an on-failure destination or a rule's
//! dead-letter queue is written as one JSON file per message to
//! `<state dir>/dlq/`, and logged.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct DeadLetters {
    dir: PathBuf,
}

impl DeadLetters {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Write one dead letter; `kind` is `stream` or `event`, `function` the
    /// target's logical id. Returns the file written.
    pub async fn write(
        &self,
        kind: &str,
        function: &str,
        message: &serde_json::Value,
    ) -> Result<PathBuf, String> {
        let now = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%S%.3fZ")
            .to_string();
        let path = self.dir.join(format!(
            "{now}-{kind}-{function}-{}.json",
            ulid::Ulid::new()
        ));
        let text = serde_json::to_vec_pretty(message).map_err(|e| e.to_string())?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        tokio::fs::write(&path, text)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Every dead letter written so far, oldest first.
    pub fn list(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }
}

/// A queue's local stand-in: the [`nexus_ports::events::DeadLetterQueue`] a
/// function writes its own dead letters to (the outbox publisher's
/// `OUTBOX_DLQ_URL`). Each letter is a file `…-queue-<Queue>-….json` holding
/// the message body, its `ErrorCode` and `EventId` attributes.
#[derive(Debug, Clone)]
pub struct LocalQueue {
    letters: DeadLetters,
    /// The queue's logical id in template.yaml.
    queue: String,
}

impl LocalQueue {
    pub fn new(letters: DeadLetters, queue: impl Into<String>) -> Self {
        Self {
            letters,
            queue: queue.into(),
        }
    }
}

#[async_trait::async_trait]
impl nexus_ports::events::DeadLetterQueue for LocalQueue {
    async fn send(&self, letter: &nexus_ports::events::DeadLetter) -> Result<(), String> {
        let message = serde_json::json!({
            "body": letter.body,
            "attributes": {"ErrorCode": letter.code, "EventId": letter.event_id},
        });
        let path = self.letters.write("queue", &self.queue, &message).await?;
        tracing::error!(queue = %self.queue, error.code = %letter.code, "dead letter kept: {}", path.display());
        Ok(())
    }
}
