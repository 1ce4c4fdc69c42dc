//! The state directory (`.nexus/` at the repository root by default):
//!
//! | path | what |
//! |---|---|
//! | `dynamodb/` | DynamoDB Local data (`-dbPath`) |
//! | `s3/` | embedded S3 objects, one folder per bucket |
//! | `keys/cursor-key` | HMAC key for pagination cursors (random, 0600) |
//! | `keys/jwt-secret` | access-token signing secret (`nexus_auth::FileKeys`) |
//! | `keys/data-key` | AES-256 key of the local KMS stand-in (hex, 0600) |
//! | `streams/<function>.seq` | last processed stream position per stream consumer |
//! | `scheduler/schedules.json` | pending one-time schedules and recent outcomes |
//! | `dlq/` | dead letters: exhausted stream batches, rule deliveries and schedules |
//! | `workflows/<machine>:<name>.json` | Step Functions executions: interpreter state, history, issued task tokens |

use std::path::{Path, PathBuf};

/// Written at creation; `--fresh` only wipes directories that hold it.
const MARKER: &str = "NEXUS_LOCAL_STATE";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Open (and create) the state directory; with `fresh`, wipe it first.
    pub fn open(root: &Path, fresh: bool) -> Result<Self, String> {
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| format!("current directory: {e}"))?
                .join(root)
        };
        if fresh && root.exists() {
            let empty = std::fs::read_dir(&root)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if !empty && !root.join(MARKER).is_file() {
                return Err(format!(
                    "refusing to wipe {}: it is not a nexus-local state directory (no {MARKER} file)",
                    root.display()
                ));
            }
            std::fs::remove_dir_all(&root)
                .map_err(|e| format!("wiping {}: {e}", root.display()))?;
        }
        let me = Self { root };
        for dir in [
            me.root.clone(),
            me.dynamodb(),
            me.s3(),
            me.keys(),
            me.streams(),
            me.scheduler(),
            me.dlq(),
            me.workflows(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let marker = me.root.join(MARKER);
        if !marker.is_file() {
            std::fs::write(&marker, "State of the NEXUS local platform (make dev). Safe to delete; `make dev ARGS=--fresh` does.\n")
                .map_err(|e| format!("writing {}: {e}", marker.display()))?;
        }
        Ok(me)
    }

    /// Delete a state directory, only if it is one (holds the marker file).
    pub fn remove(root: &Path) -> std::io::Result<()> {
        if root.join(MARKER).is_file() {
            std::fs::remove_dir_all(root)
        } else {
            Ok(())
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn dynamodb(&self) -> PathBuf {
        self.root.join("dynamodb")
    }
    pub fn s3(&self) -> PathBuf {
        self.root.join("s3")
    }
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    pub fn streams(&self) -> PathBuf {
        self.root.join("streams")
    }
    pub fn scheduler(&self) -> PathBuf {
        self.root.join("scheduler")
    }
    pub fn dlq(&self) -> PathBuf {
        self.root.join("dlq")
    }
    pub fn workflows(&self) -> PathBuf {
        self.root.join("workflows")
    }

    /// The cursor HMAC key: 64 random alphanumerics, created once (mode 0600).
    pub fn cursor_key(&self) -> Result<String, String> {
        let path = self.keys().join("cursor-key");
        if let Ok(s) = std::fs::read_to_string(&path) {
            let s = s.trim();
            if s.len() >= 32 {
                return Ok(s.to_owned());
            }
        }
        use rand::distr::{Alphanumeric, SampleString};
        let key = Alphanumeric.sample_string(&mut rand::rng(), 64);
        write_private(&path, &key)?;
        Ok(key)
    }
}

impl StateDir {
    /// The local cipher's 256-bit key (the KMS stand-in), created once (mode 0600).
    pub fn data_key(&self) -> Result<[u8; 32], String> {
        let path = self.keys().join("data-key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let bytes: Option<Vec<u8>> = (0..text.trim().len())
                .step_by(2)
                .map(|i| {
                    text.trim()
                        .get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            if let Some(key) = bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
                return Ok(key);
            }
            return Err(format!("{} is not 64 hex characters; delete it (and data encrypted with it) or run with --fresh", path.display()));
        }
        let key: [u8; 32] = rand::random();
        write_private(
            &path,
            &key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        )?;
        Ok(key)
    }
}

/// Write a secret readable by the owner only.
fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        f.write_all(contents.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents).map_err(|e| format!("writing {}: {e}", path.display()))
    }
}

/// Replace a file atomically (write a sibling, then rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        std::env::temp_dir().join(format!("nexus-state-{}", ulid::Ulid::new()))
    }

    #[test]
    fn layout_keys_and_fresh() {
        let root = tmp();
        let s = StateDir::open(&root, false).unwrap();
        assert!(s.dlq().is_dir() && s.streams().is_dir() && s.s3().is_dir());
        let k = s.cursor_key().unwrap();
        assert_eq!(k.len(), 64);
        assert_eq!(s.cursor_key().unwrap(), k, "created once");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.keys().join("cursor-key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let d = s.data_key().unwrap();
        assert_eq!(s.data_key().unwrap(), d, "created once");
        let s = StateDir::open(&root, true).unwrap();
        assert_ne!(s.cursor_key().unwrap(), k, "--fresh wipes keys");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn fresh_refuses_foreign_directories() {
        let root = tmp();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("precious.txt"), "x").unwrap();
        let err = StateDir::open(&root, true).unwrap_err();
        assert!(err.contains("refusing"), "{err}");
        StateDir::remove(&root).unwrap();
        assert!(root.join("precious.txt").is_file());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
