//! Typed, prefixed identifiers on ULIDs: `org_01JD…`, `usr_01JD…`.
//!
//! The field is private and every constructor checks the prefix and the ULID,
//! so a malformed id never deserializes. ULIDs sort by creation time, which the
//! store uses for time-ordered sort keys.

use std::fmt;
use std::str::FromStr;

/// A string was not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {kind} id (expected '{prefix}_' followed by a ULID)")]
pub struct InvalidId {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub const KIND: &'static str = $kind;

            /// A new id; ULIDs generated later sort later.
            pub fn new() -> Self {
                Self(format!("{}_{}", $prefix, ulid::Ulid::new()))
            }

            /// An id from a known ULID (tests, deterministic replays).
            pub fn from_ulid(ulid: ulid::Ulid) -> Self {
                Self(format!("{}_{}", $prefix, ulid))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn ulid(&self) -> ulid::Ulid {
                // Checked at construction.
                ulid::Ulid::from_string(&self.0[$prefix.len() + 1..]).unwrap_or_default()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                let invalid = || InvalidId { kind: $kind, prefix: $prefix, value: s.chars().take(64).collect() };
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or_else(invalid)?;
                let ulid = ulid::Ulid::from_string(rest).map_err(|_| invalid())?;
                // Canonical upper-case form only, so one entity has one key.
                if ulid.to_string() != rest {
                    return Err(invalid());
                }
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-9A-HJKMNP-TV-Z]{26}$")))
                    .examples([serde_json::json!(concat!($prefix, "_01JDQ8M3ZP6T0N7W4C5B2X9Y8K"))])
                    .description(Some(concat!("A ", $kind, " id: '", $prefix, "_' followed by a ULID.")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

prefixed_id!(
    /// An organization (brand or agency): the tenant.
    OrgId, "org", "organization"
);
prefixed_id!(
    /// A user account (brand member, agency member, creator or staff).
    UserId, "usr", "user"
);
prefixed_id!(
    /// A domain event, as written to the outbox.
    EventId, "evt", "event"
);
prefixed_id!(
    /// An API key (server-to-server access for an organization).
    ApiKeyId, "key", "API key"
);
prefixed_id!(
    /// A pending invitation into an organization (one per e-mail address).
    InvitationId, "inv", "invitation"
);
prefixed_id!(
    /// A campaign run by a brand organization.
    CampaignId, "cmp", "campaign"
);
prefixed_id!(
    /// A creator's application to (or invitation into) a campaign.
    ApplicationId, "app", "application"
);
prefixed_id!(
    /// A contract between a brand and a creator.
    ContractId, "ctr", "contract"
);
prefixed_id!(
    /// An in-app notification.
    NotificationId, "ntf", "notification"
);
prefixed_id!(
    /// A creator verification request (social, document, video selfie, phone).
    VerificationId, "vrq", "verification request"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_string_and_json() {
        let id = OrgId::new();
        assert!(id.as_str().starts_with("org_"));
        assert_eq!(id.as_str().len(), 30);
        let parsed: OrgId = id.as_str().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        let back: OrgId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn rejects_wrong_prefix_bad_ulid_and_non_canonical_case() {
        let ulid = ulid::Ulid::new().to_string();
        for bad in [
            format!("usr_{ulid}"),
            format!("org{ulid}"),
            "org_".to_string(),
            "org_not-a-ulid".to_string(),
            format!("org_{}", ulid.to_lowercase()),
            format!("org_{ulid}x"),
            String::new(),
        ] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad} should be rejected");
            assert!(serde_json::from_value::<OrgId>(serde_json::json!(bad)).is_err());
        }
    }

    #[test]
    fn later_ids_sort_later() {
        let a = EventId::from_ulid(ulid::Ulid::from_parts(1_000, 5));
        let b = EventId::from_ulid(ulid::Ulid::from_parts(2_000, 1));
        assert!(a < b);
        assert_eq!(a.ulid().timestamp_ms(), 1_000);
    }
}
