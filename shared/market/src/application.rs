//! Applications: a creator's pitch for a campaign, or a brand's invitation,
//! and the brand's decisions on it.

use nexus_core::ids::{ApplicationId, CampaignId, ContractId, OrgId, UserId};
use nexus_core::money::Money;
use nexus_core::validation::Validator;
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input::{self, MoneyInput};
use crate::vocab::closed_enum;

closed_enum!(
    ApplicationStatus {
        /// The brand invited the creator; the creator hasn't applied yet.
        Invited = "invited",
        Applied = "applied",
        Shortlisted = "shortlisted",
        /// The brand proposed other terms; accepting creates the contract with them.
        Countered = "countered",
        Rejected = "rejected",
        /// A contract was created.
        Accepted = "accepted",
        Withdrawn = "withdrawn",
    }
);

closed_enum!(
    Decision {
        Shortlist = "shortlist",
        Reject = "reject",
        Counter = "counter",
        Accept = "accept",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CounterOffer {
    pub fee: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: ApplicationId,
    pub campaign_id: CampaignId,
    pub org_id: OrgId,
    pub creator_id: UserId,
    pub status: ApplicationStatus,
    /// `true` when it started as the brand's invitation.
    pub invited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_message: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pitch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_fee: Option<Money>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_links: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_offer: Option<CounterOffer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<ContractId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// Body of `POST /v1/campaigns/{id}/applications` (creators).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyInput {
    pub pitch: Option<String>,
    pub proposed_fee: Option<MoneyInput>,
    #[serde(default)]
    pub sample_links: Vec<String>,
}

/// Body of `POST /v1/campaigns/{id}/invitations` (brands).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteInput {
    pub creator_id: Option<String>,
    pub message: Option<String>,
}

/// Body of `POST /v1/campaigns/{id}/applications/{applicationId}/decisions`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionInput {
    /// `shortlist`, `reject`, `counter` or `accept`.
    pub decision: Option<String>,
    /// Required to reject; shown to the creator.
    pub reason: Option<String>,
    /// Counter-offer fee (required to counter).
    pub fee: Option<MoneyInput>,
    pub note: Option<String>,
}

pub struct Pitch {
    pub pitch: String,
    pub proposed_fee: Money,
    pub sample_links: Vec<String>,
}

impl ApplyInput {
    pub fn parse(self) -> Result<Pitch, Error> {
        let mut v = Validator::new();
        let pitch = v.text("/pitch", self.pitch, 20, 3000);
        let fee = input::money(&mut v, "/proposedFee", self.proposed_fee.as_ref());
        if self.sample_links.len() > 10 {
            v.error("/sampleLinks", "too_long", "at most 10 links");
        }
        let links = self
            .sample_links
            .iter()
            .take(10)
            .enumerate()
            .filter_map(|(i, l)| input::url(&mut v, &format!("/sampleLinks/{i}"), Some(l)))
            .collect();
        v.finish()?;
        Ok(Pitch {
            pitch: pitch.unwrap_or_default(),
            proposed_fee: fee.ok_or_else(|| Error::internal("validated"))?,
            sample_links: links,
        })
    }
}

#[derive(Debug)]
pub enum Decided {
    Shortlisted,
    Rejected,
    Countered,
    /// Accept with this fee: the caller reserves budget and creates the contract.
    Accept(Money),
}

impl Application {
    pub fn invitation(
        campaign_id: CampaignId,
        org_id: OrgId,
        creator_id: UserId,
        message: Option<String>,
        now: Timestamp,
    ) -> Self {
        Self {
            id: ApplicationId::new(),
            campaign_id,
            org_id,
            creator_id,
            status: ApplicationStatus::Invited,
            invited: true,
            invitation_message: message,
            pitch: String::new(),
            proposed_fee: None,
            sample_links: vec![],
            counter_offer: None,
            rejection_reason: None,
            contract_id: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// A creator applies (fresh, or answering an invitation).
    pub fn apply(&mut self, p: Pitch, now: Timestamp) -> Result<(), Error> {
        if self.status != ApplicationStatus::Invited {
            return Err(Error::conflict(
                "already-applied",
                format!(
                    "you already applied to this campaign (status {})",
                    self.status
                ),
            ));
        }
        self.status = ApplicationStatus::Applied;
        self.pitch = p.pitch;
        self.proposed_fee = Some(p.proposed_fee);
        self.sample_links = p.sample_links;
        self.updated_at = now;
        Ok(())
    }

    fn refuse(&self, to: &str, allowed: &[ApplicationStatus]) -> Error {
        Error::InvalidTransition {
            resource: "application",
            from: self.status.as_str().into(),
            to: to.into(),
            allowed: allowed.iter().map(|s| s.as_str().to_owned()).collect(),
        }
    }

    /// What the brand may decide from here.
    pub fn open_decisions(&self) -> Vec<ApplicationStatus> {
        use ApplicationStatus::*;
        match self.status {
            Applied | Countered => vec![Shortlisted, Rejected, Countered, Accepted],
            Shortlisted => vec![Rejected, Countered, Accepted],
            Invited => vec![Rejected],
            _ => vec![],
        }
    }

    pub fn decide(&mut self, input: DecisionInput, now: Timestamp) -> Result<Decided, Error> {
        let mut v = Validator::new();
        let decision = v.parse(
            "/decision",
            input.decision.as_deref(),
            "unknown_value",
            Decision::parse,
        );
        let reason = match decision {
            Some(Decision::Reject) => v.text("/reason", input.reason, 3, 1000),
            _ => None,
        };
        let fee = match decision {
            Some(Decision::Counter) => input::money(&mut v, "/fee", input.fee.as_ref()),
            Some(Decision::Accept) => input
                .fee
                .as_ref()
                .and_then(|f| input::money(&mut v, "/fee", Some(f))),
            _ => None,
        };
        let note = input.note.and_then(|n| v.text("/note", Some(n), 0, 1000));
        v.finish()?;
        let decision = decision.ok_or_else(|| Error::internal("validated"))?;
        let target = match decision {
            Decision::Shortlist => ApplicationStatus::Shortlisted,
            Decision::Reject => ApplicationStatus::Rejected,
            Decision::Counter => ApplicationStatus::Countered,
            Decision::Accept => ApplicationStatus::Accepted,
        };
        let open = self.open_decisions();
        if !open.contains(&target) {
            return Err(self.refuse(target.as_str(), &open));
        }
        self.updated_at = now;
        Ok(match decision {
            Decision::Shortlist => {
                self.status = ApplicationStatus::Shortlisted;
                Decided::Shortlisted
            }
            Decision::Reject => {
                self.status = ApplicationStatus::Rejected;
                self.rejection_reason = reason;
                Decided::Rejected
            }
            Decision::Counter => {
                let fee = fee.ok_or_else(|| Error::internal("validated"))?;
                if self
                    .proposed_fee
                    .is_some_and(|p| p.currency != fee.currency)
                {
                    return Err(Error::field(
                        "/fee/currency",
                        "currency_mismatch",
                        "counter in the currency the creator proposed",
                    ));
                }
                self.status = ApplicationStatus::Countered;
                self.counter_offer = Some(CounterOffer { fee, note, at: now });
                Decided::Countered
            }
            Decision::Accept => {
                // The brand's explicit fee, else its counter-offer, else the creator's ask.
                let fee = fee
                    .or(self.counter_offer.as_ref().map(|c| c.fee))
                    .or(self.proposed_fee)
                    .ok_or_else(|| {
                        Error::field("/fee", "required", "no fee was proposed; give one")
                    })?;
                self.status = ApplicationStatus::Accepted;
                Decided::Accept(fee)
            }
        })
    }

    pub fn withdraw(&mut self, now: Timestamp) -> Result<(), Error> {
        use ApplicationStatus::*;
        if !matches!(self.status, Invited | Applied | Shortlisted | Countered) {
            return Err(self.refuse("withdrawn", &[]));
        }
        self.status = Withdrawn;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn applied() -> Application {
        let mut a =
            Application::invitation(CampaignId::new(), OrgId::new(), UserId::new(), None, now());
        let pitch: ApplyInput = serde_json::from_value(json!({
            "pitch": "I make calm skincare tutorials that convert.",
            "proposedFee": {"amount": 30000, "currency": "USD"},
            "sampleLinks": ["https://tiktok.com/@mia/video/1"]
        }))
        .unwrap();
        a.apply(pitch.parse().unwrap(), now()).unwrap();
        a
    }

    fn decide(a: &mut Application, body: serde_json::Value) -> Result<Decided, Error> {
        a.decide(serde_json::from_value(body).unwrap(), now())
    }

    #[test]
    fn counter_then_accept_uses_the_counter_fee() {
        let mut a = applied();
        assert!(matches!(
            decide(&mut a, json!({"decision": "shortlist"})),
            Ok(Decided::Shortlisted)
        ));
        assert!(matches!(
            decide(
                &mut a,
                json!({"decision": "counter", "fee": {"amount": 25000, "currency": "USD"}})
            ),
            Ok(Decided::Countered)
        ));
        let Ok(Decided::Accept(fee)) = decide(&mut a, json!({"decision": "accept"})) else {
            panic!()
        };
        assert_eq!(fee.amount, 25000);
        // Decided: nothing more is open.
        let e = decide(&mut a, json!({"decision": "reject", "reason": "too late"})).unwrap_err();
        assert_eq!(e.status(), 409);
    }

    #[test]
    fn reject_needs_a_reason_and_counter_a_fee_in_the_right_currency() {
        let mut a = applied();
        assert_eq!(
            decide(&mut a, json!({"decision": "reject"}))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            decide(&mut a, json!({"decision": "counter"}))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            decide(
                &mut a,
                json!({"decision": "counter", "fee": {"amount": 1, "currency": "EUR"}})
            )
            .unwrap_err()
            .status(),
            400
        );
        assert_eq!(
            decide(&mut a, json!({"decision": "hire"}))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(a.status, ApplicationStatus::Applied);
    }

    #[test]
    fn applying_twice_is_a_conflict() {
        let mut a = applied();
        let again = ApplyInput {
            pitch: Some("another pitch that is long enough".into()),
            proposed_fee: Some(MoneyInput {
                amount: Some(1),
                currency: Some("USD".into()),
            }),
            sample_links: vec![],
        };
        assert_eq!(
            a.apply(again.parse().unwrap(), now()).unwrap_err().code(),
            "already-applied"
        );
    }
}
