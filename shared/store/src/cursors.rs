//! Where the store's pagination cursor key comes from.
//!
//! A function that queries must wire a key: fixed (the local platform,
//! tests) or a [`CursorKeySource`] resolved on first use and kept for the
//! execution environment's lifetime (Secrets Manager in AWS, so the key is
//! never a plaintext environment variable). A store without a key refuses
//! every query up front, whether or not a cursor would be needed, so a
//! function that forgot to wire one fails its first listing in the tests,
//! not its first long listing in production.

use std::sync::Arc;

use async_trait::async_trait;
use nexus_core::cursor::CursorKey;

/// Resolves the cursor key (e.g. `GetSecretValue`).
#[async_trait]
pub trait CursorKeySource: Send + Sync {
    async fn cursor_key(&self) -> Result<CursorKey, String>;
}

/// A key known up front (the local platform, tests).
#[async_trait]
impl CursorKeySource for CursorKey {
    async fn cursor_key(&self) -> Result<CursorKey, String> {
        Ok(self.clone())
    }
}

#[derive(Clone)]
pub(crate) enum Cursors {
    Fixed(CursorKey),
    Lazy(Arc<Lazy>),
    Unwired,
}

pub(crate) struct Lazy {
    source: Arc<dyn CursorKeySource>,
    key: tokio::sync::OnceCell<CursorKey>,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cursors::Fixed(_) => "Cursors::Fixed(***)",
            Cursors::Lazy(_) => "Cursors::Lazy",
            Cursors::Unwired => "Cursors::Unwired",
        })
    }
}

/// What a store without a cursor key answers to a query.
pub(crate) const UNWIRED: &str =
    "this function queries the table but has no pagination cursor key \
     wired: ask for paging in its wiring (`Platform::paging`); in AWS it needs \
     CURSOR_KEY_SECRET_ARN and secretsmanager:GetSecretValue on that secret";

fn unwired() -> nexus_core::Error {
    tracing::error!("{UNWIRED}");
    nexus_core::Error::internal(UNWIRED)
}

impl Cursors {
    pub(crate) fn lazy(source: Arc<dyn CursorKeySource>) -> Self {
        Cursors::Lazy(Arc::new(Lazy {
            source,
            key: tokio::sync::OnceCell::new(),
        }))
    }

    /// Fails when no key is wired (checked before any query).
    pub(crate) fn check(&self) -> Result<(), nexus_core::Error> {
        match self {
            Cursors::Unwired => Err(unwired()),
            _ => Ok(()),
        }
    }

    /// The key, resolving it on first use. A failed resolution is not kept:
    /// the next request tries again.
    pub(crate) async fn key(&self) -> Result<&CursorKey, nexus_core::Error> {
        match self {
            Cursors::Fixed(k) => Ok(k),
            Cursors::Lazy(lazy) => lazy
                .key
                .get_or_try_init(|| lazy.source.cursor_key())
                .await
                .map_err(|e| {
                    tracing::error!(error.cause = %e, "cannot resolve the pagination cursor key");
                    nexus_core::Error::internal(format!("cursor key: {e}"))
                }),
            Cursors::Unwired => Err(unwired()),
        }
    }
}
