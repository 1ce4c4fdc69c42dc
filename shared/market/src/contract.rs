//! Contracts: the terms both parties accept, each acceptance provable later
//! by the SHA-256 of the canonical terms; and the deliverables they cover.

use nexus_core::ids::{ApplicationId, CampaignId, ContractId, OrgId, UserId};
use nexus_core::money::Money;
use nexus_core::validation::Validator;
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::campaign::{Campaign, UsageRights};
use crate::vocab::{closed_enum, DeliverableType, SocialPlatform};

/// Bump when the shape of [`ContractTerms`] changes; part of the hashed terms.
pub const TERMS_VERSION: &str = "2026-11-28";

closed_enum!(
    ContractStatus {
        /// Waiting for one or both parties to accept the terms.
        PendingSignatures = "pending_signatures",
        /// Both parties accepted.
        Signed = "signed",
        /// Every deliverable approved or cancelled.
        Completed = "completed",
        Cancelled = "cancelled",
    }
);

closed_enum!(
    Party {
        Brand = "brand",
        Creator = "creator",
    }
);

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliverableStatus {
    Pending,
    Submitted,
    ChangesRequested,
    Approved,
    Rejected,
    /// The contract was cancelled (never through the transitions endpoint).
    Cancelled,
}

impl DeliverableStatus {
    pub const ALL: [DeliverableStatus; 6] = [
        DeliverableStatus::Pending,
        DeliverableStatus::Submitted,
        DeliverableStatus::ChangesRequested,
        DeliverableStatus::Approved,
        DeliverableStatus::Rejected,
        DeliverableStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeliverableStatus::Pending => "PENDING",
            DeliverableStatus::Submitted => "SUBMITTED",
            DeliverableStatus::ChangesRequested => "CHANGES_REQUESTED",
            DeliverableStatus::Approved => "APPROVED",
            DeliverableStatus::Rejected => "REJECTED",
            DeliverableStatus::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{}' is not one of: PENDING, SUBMITTED, CHANGES_REQUESTED, APPROVED, REJECTED",
                    s.chars().take(40).collect::<String>()
                )
            })
    }
    /// Approved or cancelled: nothing more to do.
    pub fn resolved(self) -> bool {
        matches!(
            self,
            DeliverableStatus::Approved | DeliverableStatus::Cancelled
        )
    }
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliverableStatus::Approved
                | DeliverableStatus::Rejected
                | DeliverableStatus::Cancelled
        )
    }
}

/// The deliverable state machine: `(from, to, who moves it)`.
pub const DELIVERABLE_TABLE: &[(DeliverableStatus, DeliverableStatus, Party)] = {
    use DeliverableStatus::*;
    &[
        (Pending, Submitted, Party::Creator),
        (ChangesRequested, Submitted, Party::Creator),
        (Submitted, ChangesRequested, Party::Brand),
        (Submitted, Approved, Party::Brand),
        (Submitted, Rejected, Party::Brand),
    ]
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsDeliverable {
    /// 1-based position (the `{n}` of the deliverable endpoints).
    pub n: u32,
    #[serde(rename = "type")]
    pub kind: DeliverableType,
    pub platform: SocialPlatform,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FtcObligations {
    pub disclosure_required: bool,
    /// E.g. `#ad` in the first line, plus the platform's paid-partnership label.
    pub disclosure: String,
}

/// The terms both parties accept. Hashed in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractTerms {
    pub terms_version: String,
    pub contract_id: ContractId,
    pub campaign_id: CampaignId,
    pub brand_org_id: OrgId,
    pub creator_id: UserId,
    pub campaign_title: String,
    pub fee: Money,
    pub deliverables: Vec<TermsDeliverable>,
    pub usage_rights: UsageRights,
    pub ftc: FtcObligations,
    pub required_hashtags: Vec<String>,
    pub required_mentions: Vec<String>,
    pub time_zone: String,
}

impl ContractTerms {
    pub fn from_campaign(
        id: ContractId,
        c: &Campaign,
        creator: UserId,
        fee: Money,
    ) -> Result<Self, Error> {
        let mut n = 0;
        let deliverables = c
            .deliverables
            .iter()
            .flat_map(|d| (0..d.quantity).map(move |_| d))
            .map(|d| {
                n += 1;
                TermsDeliverable {
                    n,
                    kind: d.kind,
                    platform: d.platform,
                    due_at: d.due_at,
                }
            })
            .collect();
        Ok(Self {
            terms_version: TERMS_VERSION.into(),
            contract_id: id,
            campaign_id: c.id.clone(),
            brand_org_id: c.org_id.clone(),
            creator_id: creator,
            campaign_title: c.title.clone(),
            fee,
            deliverables,
            usage_rights: c.usage_rights.clone().ok_or_else(|| {
                Error::conflict("no-usage-rights", "the campaign has no usage rights")
            })?,
            ftc: FtcObligations {
                disclosure_required: c.brief.ftc_disclosure_required,
                disclosure: if c.brief.ftc_disclosure_required {
                    "Disclose the paid relationship clearly and first: #ad (or #sponsored) at the start of the caption and the platform's paid-partnership label; not only in hashtags at the end.".into()
                } else {
                    "No disclosure required by the brand; applicable law still applies.".into()
                },
            },
            required_hashtags: c.brief.required_hashtags.clone(),
            required_mentions: c.brief.required_mentions.clone(),
            time_zone: c.time_zone.clone(),
        })
    }

    /// Canonical JSON: keys sorted at every level, no whitespace, numbers as
    /// serde_json writes integers (the terms hold no floats).
    pub fn canonical(&self) -> Result<String, Error> {
        let v = serde_json::to_value(self).map_err(Error::internal)?;
        let mut out = String::new();
        canonical_json(&v, &mut out);
        Ok(out)
    }

    /// Lower-case hex SHA-256 of [`Self::canonical`].
    pub fn hash(&self) -> Result<String, Error> {
        Ok(hex(&Sha256::digest(self.canonical()?.as_bytes())))
    }
}

pub fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Acceptance {
    pub party: Party,
    pub user_id: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub ip: String,
    /// SHA-256 of the canonical terms that were accepted.
    pub terms_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub from: DeliverableStatus,
    pub to: DeliverableStatus,
    pub by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deliverable {
    pub n: u32,
    #[serde(rename = "type")]
    pub kind: DeliverableType,
    pub platform: SocialPlatform,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub status: DeliverableStatus,
    /// This deliverable's share of the fee (minor units), spent on approval.
    pub fee_share: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_submitted_at: Option<Timestamp>,
    /// First submitted after its due date.
    pub late: bool,
    /// Not submitted and past due (set by the overdue reminder, and on read).
    pub overdue: bool,
    pub changes_requested: u32,
    /// The due-soon reminder went out.
    #[serde(default)]
    pub reminded: bool,
    pub history: Vec<StatusChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    pub requested_by: Party,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub agreed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: ContractId,
    pub org_id: OrgId,
    pub campaign_id: CampaignId,
    pub application_id: ApplicationId,
    pub creator_id: UserId,
    pub status: ContractStatus,
    pub terms: ContractTerms,
    pub terms_hash: String,
    pub acceptances: Vec<Acceptance>,
    pub deliverables: Vec<Deliverable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// Body of `POST /v1/contracts/{id}/accept`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptInput {
    /// The `termsHash` the caller was shown; must match the contract's.
    pub terms_hash: Option<String>,
}

/// Body of `POST /v1/contracts/{id}/cancel`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CancelInput {
    pub reason: Option<String>,
}

/// Body of `POST /v1/contracts/{id}/deliverables/{n}/transitions`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DeliverableMove {
    /// `SUBMITTED` (creator), `CHANGES_REQUESTED`, `APPROVED`, `REJECTED` (brand).
    pub to: Option<String>,
    /// Required when requesting changes or rejecting.
    pub note: Option<String>,
}

/// Body of `POST /v1/contracts/{id}/rating`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RatingInput {
    /// 1–5.
    pub score: Option<i64>,
    pub comment: Option<String>,
}

/// What accepting did.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Waiting for the other party.
    Waiting,
    /// Both accepted: the contract is signed.
    Signed,
}

/// What cancelling did.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// Recorded; the other party must agree.
    Requested,
    /// The contract is cancelled.
    Done {
        was_signed: bool,
        unspent: i64,
        open: u32,
    },
}

/// What a deliverable move did, for the campaign and the reputation counters.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverableMoved {
    pub n: u32,
    pub from: DeliverableStatus,
    pub to: DeliverableStatus,
    pub first_submission: bool,
    pub late: bool,
    /// Approved with no change requested before.
    pub first_pass: bool,
    /// Fee share to move from committed to spent (approvals).
    pub spent: i64,
    pub contract_completed: bool,
}

impl Contract {
    pub fn new(
        id: ContractId,
        application_id: ApplicationId,
        terms: ContractTerms,
        now: Timestamp,
    ) -> Result<Self, Error> {
        let count = terms.deliverables.len().max(1) as i64;
        let fee = terms.fee.amount;
        let deliverables = terms
            .deliverables
            .iter()
            .enumerate()
            .map(|(i, d)| Deliverable {
                n: d.n,
                kind: d.kind,
                platform: d.platform,
                due_at: d.due_at,
                status: DeliverableStatus::Pending,
                // Even split; the last takes the remainder so the shares sum to the fee.
                fee_share: if i as i64 == count - 1 {
                    fee - (fee / count) * (count - 1)
                } else {
                    fee / count
                },
                first_submitted_at: None,
                late: false,
                overdue: false,
                changes_requested: 0,
                reminded: false,
                history: vec![],
            })
            .collect();
        Ok(Self {
            id: terms.contract_id.clone(),
            org_id: terms.brand_org_id.clone(),
            campaign_id: terms.campaign_id.clone(),
            application_id,
            creator_id: terms.creator_id.clone(),
            status: ContractStatus::PendingSignatures,
            terms_hash: terms.hash()?,
            terms,
            acceptances: vec![],
            deliverables,
            cancellation: None,
            rating: None,
            created_at: now,
            updated_at: now,
            version: 0,
        })
        .inspect(|c: &Contract| debug_assert_eq!(c.id, id))
    }

    pub fn accept(
        &mut self,
        party: Party,
        user: UserId,
        ip: &str,
        input: AcceptInput,
        now: Timestamp,
    ) -> Result<Accepted, Error> {
        let mut v = Validator::new();
        let hash = v.text("/termsHash", input.terms_hash, 64, 64);
        v.finish()?;
        if self.status != ContractStatus::PendingSignatures {
            return Err(Error::conflict(
                "not-pending",
                format!("the contract is {}", self.status),
            ));
        }
        if hash.as_deref() != Some(self.terms_hash.as_str()) {
            return Err(Error::conflict(
                "terms-changed",
                "the terms you accepted are not the contract's current terms; reload and review them",
            ));
        }
        if self.acceptances.iter().any(|a| a.party == party) {
            return Err(Error::conflict(
                "already-accepted",
                format!("the {party} already accepted"),
            ));
        }
        self.acceptances.push(Acceptance {
            party,
            user_id: user,
            at: now,
            ip: ip.to_owned(),
            terms_hash: self.terms_hash.clone(),
        });
        self.updated_at = now;
        if self.acceptances.len() == 2 {
            self.status = ContractStatus::Signed;
            Ok(Accepted::Signed)
        } else {
            Ok(Accepted::Waiting)
        }
    }

    /// Before signature either party may withdraw; after it, cancelling needs both.
    pub fn cancel(
        &mut self,
        party: Party,
        input: CancelInput,
        now: Timestamp,
    ) -> Result<Cancelled, Error> {
        let mut v = Validator::new();
        let reason = v.text("/reason", input.reason, 3, 1000);
        v.finish()?;
        let reason = reason.unwrap_or_default();
        match self.status {
            ContractStatus::Completed | ContractStatus::Cancelled => {
                return Err(Error::conflict(
                    "contract-closed",
                    format!("the contract is {}", self.status),
                ))
            }
            ContractStatus::PendingSignatures => {}
            ContractStatus::Signed => match &mut self.cancellation {
                Some(c) if c.requested_by != party => c.agreed_at = Some(now),
                Some(_) => {
                    return Err(Error::conflict(
                        "awaiting-agreement",
                        "you already asked to cancel; the other party must agree",
                    ))
                }
                None => {
                    self.cancellation = Some(Cancellation {
                        requested_by: party,
                        reason,
                        requested_at: now,
                        agreed_at: None,
                    });
                    self.updated_at = now;
                    return Ok(Cancelled::Requested);
                }
            },
        }
        if self.cancellation.is_none() {
            self.cancellation = Some(Cancellation {
                requested_by: party,
                reason,
                requested_at: now,
                agreed_at: Some(now),
            });
        }
        let was_signed = self.status == ContractStatus::Signed;
        let mut unspent = 0;
        let mut open = 0;
        for d in &mut self.deliverables {
            if d.status != DeliverableStatus::Approved {
                unspent += d.fee_share;
                if was_signed && !d.status.resolved() {
                    open += 1;
                }
                if d.status != DeliverableStatus::Cancelled {
                    d.status = DeliverableStatus::Cancelled;
                }
            }
        }
        self.status = ContractStatus::Cancelled;
        self.updated_at = now;
        Ok(Cancelled::Done {
            was_signed,
            unspent,
            open,
        })
    }

    pub fn deliverable(&self, n: u32) -> Result<&Deliverable, Error> {
        self.deliverables
            .iter()
            .find(|d| d.n == n)
            .ok_or(Error::NotFound {
                resource: "deliverable",
            })
    }

    /// Move deliverable `n` as `party`.
    pub fn move_deliverable(
        &mut self,
        n: u32,
        party: Party,
        by: UserId,
        input: DeliverableMove,
        now: Timestamp,
    ) -> Result<DeliverableMoved, Error> {
        let mut v = Validator::new();
        let to = v.parse(
            "/to",
            input.to.as_deref(),
            "unknown_value",
            DeliverableStatus::parse,
        );
        let note = match to {
            Some(DeliverableStatus::ChangesRequested | DeliverableStatus::Rejected) => {
                v.text("/note", input.note, 3, 2000)
            }
            _ => input.note.and_then(|n| v.text("/note", Some(n), 0, 2000)),
        };
        v.finish()?;
        let to = to.ok_or_else(|| Error::internal("validated"))?;
        if self.status != ContractStatus::Signed {
            return Err(Error::conflict(
                "contract-not-signed",
                format!(
                    "deliverables move once the contract is signed (it is {})",
                    self.status
                ),
            ));
        }
        let d = self
            .deliverables
            .iter_mut()
            .find(|d| d.n == n)
            .ok_or(Error::NotFound {
                resource: "deliverable",
            })?;
        let from = d.status;
        let ok = DELIVERABLE_TABLE
            .iter()
            .any(|(f, t, p)| *f == from && *t == to && *p == party);
        if !ok {
            return Err(Error::InvalidTransition {
                resource: "deliverable",
                from: from.as_str().into(),
                to: to.as_str().into(),
                allowed: DELIVERABLE_TABLE
                    .iter()
                    .filter(|(f, _, p)| *f == from && *p == party)
                    .map(|(_, t, _)| t.as_str().to_owned())
                    .collect(),
            });
        }
        let first_submission = to == DeliverableStatus::Submitted && d.first_submitted_at.is_none();
        if first_submission {
            d.first_submitted_at = Some(now);
            d.late = now > d.due_at;
            d.overdue = false;
        }
        if to == DeliverableStatus::ChangesRequested {
            d.changes_requested += 1;
        }
        d.status = to;
        d.history.push(StatusChange {
            from,
            to,
            by,
            at: now,
            note,
        });
        let moved = DeliverableMoved {
            n,
            from,
            to,
            first_submission,
            late: d.late,
            first_pass: to == DeliverableStatus::Approved && d.changes_requested == 0,
            spent: if to == DeliverableStatus::Approved {
                d.fee_share
            } else {
                0
            },
            contract_completed: false,
        };
        self.updated_at = now;
        let contract_completed = self.deliverables.iter().all(|d| d.status.resolved());
        if contract_completed {
            self.status = ContractStatus::Completed;
        }
        Ok(DeliverableMoved {
            contract_completed,
            ..moved
        })
    }

    /// Flag past-due deliverables (read side and the overdue reminder).
    pub fn mark_overdue(&mut self, now: Timestamp) -> Vec<u32> {
        let mut flagged = vec![];
        if self.status != ContractStatus::Signed {
            return flagged;
        }
        for d in &mut self.deliverables {
            let waiting = matches!(
                d.status,
                DeliverableStatus::Pending | DeliverableStatus::ChangesRequested
            );
            if waiting && now > d.due_at && !d.overdue {
                d.overdue = true;
                flagged.push(d.n);
            }
        }
        flagged
    }

    pub fn rate(&mut self, by: UserId, input: RatingInput, now: Timestamp) -> Result<u8, Error> {
        let mut v = Validator::new();
        let score = match input.score {
            Some(s) if (1..=5).contains(&s) => Some(s as u8),
            Some(_) => {
                v.error("/score", "out_of_range", "a score from 1 to 5");
                None
            }
            None => {
                v.error("/score", "required", "score is required");
                None
            }
        };
        let comment = input
            .comment
            .and_then(|c| v.text("/comment", Some(c), 0, 2000));
        v.finish()?;
        if self.status != ContractStatus::Completed {
            return Err(Error::conflict(
                "not-completed",
                "rate a creator once the contract is completed",
            ));
        }
        if self.rating.is_some() {
            return Err(Error::conflict(
                "already-rated",
                "this contract is already rated",
            ));
        }
        let score = score.unwrap_or(1);
        self.rating = Some(Rating {
            score,
            comment,
            by,
            at: now,
        });
        self.updated_at = now;
        Ok(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{Campaign, CampaignInput};
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn terms() -> ContractTerms {
        // Fixed ids so the hash is a stable golden value.
        let org: OrgId = "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8K".parse().unwrap();
        let by: UserId = "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K".parse().unwrap();
        let mut c = Campaign::new_draft(org, by.clone(), now());
        c.id = "cmp_01JDQ8M3ZP6T0N7W4C5B2X9Y8K".parse().unwrap();
        let input: CampaignInput = serde_json::from_value(json!({
            "title": "Winter glow launch",
            "brief": {"objectives": "Launch", "keyMessages": ["glow"], "requiredHashtags": ["#glow"]},
            "deliverables": [{"type": "video", "platform": "tiktok", "quantity": 2, "dueAt": "2027-01-10T12:00:00Z"},
                             {"type": "story", "platform": "instagram", "dueAt": "2027-01-12T12:00:00Z"}],
            "usageRights": {"type": "limited", "durationDays": 90, "territories": ["US", "CA"], "channels": ["paid_social"]},
        }))
        .unwrap();
        input.apply_to(&mut c, now()).unwrap();
        let fee = Money::new(100_000, nexus_core::Currency::parse("USD").unwrap());
        ContractTerms::from_campaign(
            "ctr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K".parse().unwrap(),
            &c,
            by,
            fee,
        )
        .unwrap()
    }

    #[test]
    fn terms_hash_is_stable_and_sensitive() {
        let t = terms();
        // Golden value (checked independently with `sha256sum` of the canonical
        // form printed below): changing it changes every signed contract's proof.
        // Only update it together with TERMS_VERSION.
        assert_eq!(t.hash().unwrap(), t.hash().unwrap());
        assert_eq!(
            t.hash().unwrap(),
            "6500b9c00a715bdcab8da4881f9a5578acdb04b4e681c7d2a96f2c4efb286b49",
            "canonical: {}",
            t.canonical().unwrap()
        );
        // Key order in the source doesn't matter: parse, reserialise, same hash.
        let round: ContractTerms = serde_json::from_str(&t.canonical().unwrap()).unwrap();
        assert_eq!(round.hash().unwrap(), t.hash().unwrap());
        let mut changed = t.clone();
        changed.fee.amount += 1;
        assert_ne!(changed.hash().unwrap(), t.hash().unwrap());
        assert!(t
            .canonical()
            .unwrap()
            .starts_with(r#"{"brandOrgId":"org_01JDQ8M3ZP6T0N7W4C5B2X9Y8K","campaignId":"#));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut s = String::new();
        canonical_json(&json!({"b": [ {"z": 1, "a": "x y"} ], "a": null}), &mut s);
        assert_eq!(s, r#"{"a":null,"b":[{"a":"x y","z":1}]}"#);
    }

    fn signed() -> Contract {
        let t = terms();
        let mut c = Contract::new(
            t.contract_id.clone(),
            nexus_core::ids::ApplicationId::new(),
            t,
            now(),
        )
        .unwrap();
        let h = c.terms_hash.clone();
        let acc = |h: &str| AcceptInput {
            terms_hash: Some(h.to_owned()),
        };
        assert_eq!(
            c.accept(Party::Creator, UserId::new(), "203.0.113.7", acc(&h), now())
                .unwrap(),
            Accepted::Waiting
        );
        assert_eq!(
            c.accept(Party::Creator, UserId::new(), "203.0.113.7", acc(&h), now())
                .unwrap_err()
                .code(),
            "already-accepted"
        );
        assert_eq!(
            c.accept(
                Party::Brand,
                UserId::new(),
                "198.51.100.2",
                acc(&"0".repeat(64)),
                now()
            )
            .unwrap_err()
            .code(),
            "terms-changed"
        );
        assert_eq!(
            c.accept(Party::Brand, UserId::new(), "198.51.100.2", acc(&h), now())
                .unwrap(),
            Accepted::Signed
        );
        assert!(c.acceptances.iter().all(|a| a.terms_hash == h));
        c
    }

    #[test]
    fn fee_shares_sum_to_the_fee() {
        let c = signed();
        assert_eq!(c.deliverables.len(), 3);
        assert_eq!(
            c.deliverables.iter().map(|d| d.fee_share).sum::<i64>(),
            100_000
        );
    }

    fn mv(
        c: &mut Contract,
        n: u32,
        party: Party,
        to: &str,
        note: Option<&str>,
        at: Timestamp,
    ) -> Result<DeliverableMoved, Error> {
        c.move_deliverable(
            n,
            party,
            UserId::new(),
            DeliverableMove {
                to: Some(to.into()),
                note: note.map(Into::into),
            },
            at,
        )
    }

    #[test]
    fn deliverable_state_machine_every_pair() {
        // Written from docs/marketplace.md ("Deliverables"), independently of
        // DELIVERABLE_TABLE: the creator submits (first time or after a
        // change request); the brand requests changes, approves or rejects a
        // submission. Nothing else moves through the endpoint; CANCELLED is
        // neither reached nor left this way.
        const EXPECTED: &[(&str, &str, &str)] = &[
            ("PENDING", "SUBMITTED", "creator"),
            ("CHANGES_REQUESTED", "SUBMITTED", "creator"),
            ("SUBMITTED", "CHANGES_REQUESTED", "brand"),
            ("SUBMITTED", "APPROVED", "brand"),
            ("SUBMITTED", "REJECTED", "brand"),
        ];
        let mut allowed = 0;
        for from in DeliverableStatus::ALL {
            for to in DeliverableStatus::ALL {
                for (party, who) in [(Party::Brand, "brand"), (Party::Creator, "creator")] {
                    let mut c = signed();
                    c.deliverables[0].status = from;
                    let got = mv(&mut c, 1, party, to.as_str(), Some("because"), now());
                    let expected = EXPECTED.contains(&(from.as_str(), to.as_str(), who));
                    allowed += usize::from(got.is_ok());
                    assert_eq!(got.is_ok(), expected, "{from:?} → {to:?} by {party}");
                    if !expected {
                        assert_eq!(got.unwrap_err().status(), 409);
                    }
                }
            }
        }
        assert_eq!(allowed, EXPECTED.len(), "of 6 × 6 × 2 moves");
    }

    #[test]
    fn late_first_pass_and_completion() {
        let mut c = signed();
        let after_due: Timestamp = "2027-01-11T00:00:00Z".parse().unwrap();
        let m = mv(&mut c, 1, Party::Creator, "SUBMITTED", None, after_due).unwrap();
        assert!(m.first_submission && m.late);
        assert_eq!(
            mv(&mut c, 1, Party::Brand, "CHANGES_REQUESTED", None, now())
                .unwrap_err()
                .status(),
            400
        );
        mv(
            &mut c,
            1,
            Party::Brand,
            "CHANGES_REQUESTED",
            Some("shorter intro"),
            after_due,
        )
        .unwrap();
        let m = mv(&mut c, 1, Party::Creator, "SUBMITTED", None, after_due).unwrap();
        assert!(!m.first_submission);
        let m = mv(&mut c, 1, Party::Brand, "APPROVED", None, after_due).unwrap();
        assert!(!m.first_pass);
        assert!(m.spent > 0);
        for n in [2, 3] {
            mv(&mut c, n, Party::Creator, "SUBMITTED", None, now()).unwrap();
            let m = mv(&mut c, n, Party::Brand, "APPROVED", None, now()).unwrap();
            assert!(m.first_pass);
            assert_eq!(m.contract_completed, n == 3);
        }
        assert_eq!(c.status, ContractStatus::Completed);
        assert_eq!(
            c.rate(
                UserId::new(),
                RatingInput {
                    score: Some(6),
                    comment: None
                },
                now()
            )
            .unwrap_err()
            .status(),
            400
        );
        assert_eq!(
            c.rate(
                UserId::new(),
                RatingInput {
                    score: Some(5),
                    comment: None
                },
                now()
            )
            .unwrap(),
            5
        );
    }

    #[test]
    fn cancelling_a_signed_contract_needs_both_parties() {
        let mut c = signed();
        mv(&mut c, 1, Party::Creator, "SUBMITTED", None, now()).unwrap();
        mv(&mut c, 1, Party::Brand, "APPROVED", None, now()).unwrap();
        let reason = || CancelInput {
            reason: Some("product recalled".into()),
        };
        assert_eq!(
            c.cancel(Party::Brand, reason(), now()).unwrap(),
            Cancelled::Requested
        );
        assert_eq!(
            c.cancel(Party::Brand, reason(), now()).unwrap_err().code(),
            "awaiting-agreement"
        );
        let Cancelled::Done {
            was_signed,
            unspent,
            open,
        } = c.cancel(Party::Creator, reason(), now()).unwrap()
        else {
            panic!()
        };
        assert!(was_signed);
        assert_eq!(open, 2);
        assert_eq!(unspent, 100_000 - c.deliverables[0].fee_share);
        assert_eq!(c.status, ContractStatus::Cancelled);
        assert_eq!(
            c.cancel(Party::Creator, reason(), now())
                .unwrap_err()
                .code(),
            "contract-closed"
        );
    }

    #[test]
    fn overdue_flags_only_waiting_deliverables_once() {
        let mut c = signed();
        mv(&mut c, 3, Party::Creator, "SUBMITTED", None, now()).unwrap();
        let later: Timestamp = "2027-02-01T00:00:00Z".parse().unwrap();
        assert_eq!(c.mark_overdue(later), vec![1, 2]);
        assert!(c.mark_overdue(later).is_empty());
    }
}
