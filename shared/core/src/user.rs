//! User accounts: brand/agency members, creators and staff.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Result};
use crate::ids::UserId;
use crate::time::Timestamp;
use crate::validation::{one_of, Validator};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    /// Works in brand or agency organizations.
    Brand,
    /// A creator: belongs to no organization, is invited to campaigns.
    Creator,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Brand => "brand",
            AccountType::Creator => "creator",
        }
    }
}

/// A normalized, syntactically valid e-mail address (lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let e = raw.trim().to_lowercase();
        let valid = e.len() <= 254
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && domain
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
                    && !local.contains(char::is_whitespace)
                    && !local.contains('@')
            });
        if valid {
            Ok(Self(e))
        } else {
            Err("not a valid e-mail address".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public view of a user (never secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    #[schema(value_type = String, format = "email")]
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    pub email_verified: bool,
    pub mfa: MfaStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaStatus {
    pub totp: bool,
    pub email_otp: bool,
}

impl MfaStatus {
    pub fn enabled(&self) -> bool {
        self.totp || self.email_otp
    }

    pub fn methods(&self) -> Vec<&'static str> {
        let mut m = vec![];
        if self.totp {
            m.push("totp");
        }
        if self.email_otp {
            m.push("email");
        }
        m
    }
}

/// A validated registration.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    /// Checked against the password rules; hash it before storing.
    pub password: String,
}

impl Registration {
    pub fn parse(
        email: Option<String>,
        password: Option<String>,
        name: Option<String>,
        account_type: Option<String>,
    ) -> Result<Self> {
        let mut v = Validator::new();
        let email = v.parse("/email", email.as_deref(), "invalid_format", Email::parse);
        let name = v.text("/name", name, 1, 100);
        let account_type = match account_type.as_deref() {
            None => Some(AccountType::Brand),
            Some(t) => v.parse("/accountType", Some(t), "unknown_value", |t| {
                one_of(
                    t,
                    &[
                        ("brand", AccountType::Brand),
                        ("creator", AccountType::Creator),
                    ],
                )
            }),
        };
        match &password {
            None => v.push(FieldError::new(
                "/password",
                "required",
                "password is required",
            )),
            Some(p) => {
                if let Err(e) = crate::password::check(
                    p,
                    email.as_ref().map(Email::as_str).unwrap_or(""),
                    name.as_deref().unwrap_or(""),
                ) {
                    v.push(e);
                }
            }
        }
        v.finish()?;
        match (email, name, account_type, password) {
            (Some(email), Some(name), Some(account_type), Some(password)) => Ok(Self {
                email,
                name,
                account_type,
                password,
            }),
            _ => Err(crate::Error::internal("validator passed without values")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("  Jane.Doe@Example.COM ").unwrap().as_str(),
            "jane.doe@example.com"
        );
        for bad in [
            "", "jane", "jane@", "@x.io", "a@b", "a@.b.c", "a b@c.io", "a@b..io", "a@b.io.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_reports_every_field() {
        let Err(crate::Error::Validation(errs)) = Registration::parse(
            Some("nope".into()),
            Some("password1".into()),
            None,
            Some("robot".into()),
        ) else {
            panic!()
        };
        let pointers: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/email", "/name", "/accountType", "/password"]);
        let ok = Registration::parse(
            Some("A@B.io".into()),
            Some("violet-kayak-47-orbit".into()),
            Some("Ann".into()),
            None,
        )
        .unwrap();
        assert_eq!(ok.account_type, AccountType::Brand);
    }
}
