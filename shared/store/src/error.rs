use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// What the store can report. Repositories turn these into domain errors;
/// anything unexpected becomes `nexus_core::Error::Internal`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition failed; `label` names which write (e.g. `"unique email"`).
    #[error("condition failed on {label}")]
    ConditionFailed { label: String },
    /// A concurrent transaction touched the same items; safe to retry.
    #[error("transaction conflict")]
    TransactionConflict,
    #[error("throttled by DynamoDB")]
    Throttled,
    #[error("(de)serialization: {0}")]
    Serde(String),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

impl StoreError {
    pub fn from_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
        e: SdkError<E, R>,
    ) -> Self {
        let code = e.code().unwrap_or_default().to_owned();
        match code.as_str() {
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded" => StoreError::Throttled,
            "TransactionConflictException" => StoreError::TransactionConflict,
            _ => {
                let msg = e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{e:?}"));
                StoreError::Dynamo(format!("{code}: {msg}"))
            }
        }
    }
}

impl From<StoreError> for nexus_core::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled | StoreError::TransactionConflict => {
                nexus_core::Error::Unavailable {
                    detail: "the data store is busy; retry shortly".into(),
                    retry_after_secs: 1,
                }
            }
            StoreError::ConditionFailed { label } => nexus_core::Error::conflict(
                "conflict",
                format!("the {label} changed or already exists"),
            ),
            other => nexus_core::Error::internal(other),
        }
    }
}
