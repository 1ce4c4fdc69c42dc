//! Domain events of the marketplace (EventBridge `source` `nexus.<x>`,
//! `detail-type` below). Written in the same transaction as the change.

use nexus_core::events::DomainEvent;
use nexus_core::ids::OrgId;
use nexus_core::Timestamp;
use serde_json::Value;

pub const CREATORS: &str = "creators";
pub const CAMPAIGNS: &str = "campaigns";
pub const CONTRACTS: &str = "contracts";

pub mod kind {
    pub const PROFILE_UPDATED: &str = "CreatorProfileUpdated";
    pub const PROFILE_DELETED: &str = "CreatorProfileDeleted";
    pub const VERIFICATION_REQUESTED: &str = "VerificationRequested";
    pub const VERIFICATION_REVIEWED: &str = "VerificationReviewed";
    pub const REPUTATION_UPDATED: &str = "CreatorReputationUpdated";
    pub const CAMPAIGN_CREATED: &str = "CampaignCreated";
    pub const CAMPAIGN_UPDATED: &str = "CampaignUpdated";
    pub const CAMPAIGN_DELETED: &str = "CampaignDeleted";
    pub const CAMPAIGN_TRANSITIONED: &str = "CampaignTransitioned";
    pub const CREATOR_INVITED: &str = "CreatorInvited";
    pub const APPLICATION_SUBMITTED: &str = "ApplicationSubmitted";
    pub const APPLICATION_DECIDED: &str = "ApplicationDecided";
    pub const APPLICATION_WITHDRAWN: &str = "ApplicationWithdrawn";
    pub const CONTRACT_CREATED: &str = "ContractCreated";
    pub const CONTRACT_ACCEPTED: &str = "ContractAccepted";
    pub const CONTRACT_SIGNED: &str = "ContractSigned";
    pub const CONTRACT_CANCELLATION_REQUESTED: &str = "ContractCancellationRequested";
    pub const CONTRACT_CANCELLED: &str = "ContractCancelled";
    pub const CONTRACT_COMPLETED: &str = "ContractCompleted";
    pub const CREATOR_RATED: &str = "CreatorRated";
    pub const DELIVERABLE_TRANSITIONED: &str = "DeliverableTransitioned";
    pub const DELIVERABLE_DUE_SOON: &str = "DeliverableDueSoon";
    pub const DELIVERABLE_OVERDUE: &str = "DeliverableOverdue";
}

pub fn event(
    source: &str,
    kind: &str,
    tenant: Option<OrgId>,
    actor: &str,
    at: Timestamp,
    data: Value,
) -> DomainEvent {
    DomainEvent::new(source, kind, tenant, actor, at, data)
}
