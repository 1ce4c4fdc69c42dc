//! Password rules (NIST SP 800-63B style: length over composition, and no
//! guessable or breached-pattern passwords). Every refusal says why.

use crate::error::FieldError;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// The most common passwords and base words of breach corpora (lower case).
/// A password whose core (letters with leading/trailing digits and symbols
/// removed, leetspeak undone) is one of these is refused.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "qwerty",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "login",
    "master",
    "dragon",
    "monkey",
    "football",
    "baseball",
    "basketball",
    "soccer",
    "hockey",
    "iloveyou",
    "princess",
    "sunshine",
    "shadow",
    "superman",
    "batman",
    "trustno",
    "starwars",
    "whatever",
    "freedom",
    "hello",
    "charlie",
    "donald",
    "michael",
    "jennifer",
    "jordan",
    "hunter",
    "ranger",
    "buster",
    "thomas",
    "tigger",
    "robert",
    "soccer",
    "harley",
    "andrew",
    "daniel",
    "jessica",
    "pepper",
    "ginger",
    "summer",
    "winter",
    "spring",
    "autumn",
    "secret",
    "changeme",
    "default",
    "guest",
    "root",
    "toor",
    "test",
    "tester",
    "testing",
    "pass",
    "access",
    "computer",
    "internet",
    "google",
    "facebook",
    "instagram",
    "tiktok",
    "linkedin",
    "youtube",
    "pinterest",
    "twitter",
    "nexus",
    "brand",
    "creator",
    "marketing",
    "influencer",
    "company",
    "business",
    "money",
    "lovely",
    "loveme",
    "flower",
    "cookie",
    "chocolate",
    "banana",
    "orange",
    "apple",
    "cheese",
    "coffee",
    "matrix",
    "killer",
    "ninja",
    "mustang",
    "ferrari",
    "corvette",
    "mercedes",
    "london",
    "paris",
    "berlin",
    "newyork",
    "america",
    "canada",
    "abc",
    "abcd",
    "abcdef",
    "abcdefg",
    "abcdefgh",
    "abcdefghij",
    "azerty",
    "qazwsx",
    "zaq",
    "1q2w3e",
    "1qaz2wsx",
    "passwordpassword",
    "p@ssword",
    "mypassword",
    "yourpassword",
    "newpassword",
    "oldpassword",
    "temp",
    "temppass",
    "monday",
    "friday",
    "sunday",
    "january",
    "december",
    "blink",
    "liverpool",
    "chelsea",
    "arsenal",
    "barcelona",
    "pokemon",
    "naruto",
    "minecraft",
    "fortnite",
    "starbucks",
    "samsung",
    "iphone",
    "android",
    "windows",
    "linux",
];

/// Keyboard rows and alphabets, for sequence detection.
const SEQUENCES: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv",
];

fn unleet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        _ => c,
    }
}

/// Why a password is refused, or `Ok` when it is acceptable.
/// `email` and `name` are the account's, so they can't be the password.
pub fn check(password: &str, email: &str, name: &str) -> Result<(), FieldError> {
    let weak = |detail: String| Err(FieldError::new("/password", "weak_password", detail));
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(FieldError::new(
            "/password",
            "too_short",
            format!("password must be at least {MIN_LEN} characters"),
        ));
    }
    if len > MAX_LEN {
        return Err(FieldError::new(
            "/password",
            "too_long",
            format!("password must be at most {MAX_LEN} characters"),
        ));
    }
    let lower = password.to_lowercase();
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 5 {
        return weak("password repeats too few different characters".into());
    }
    // The longest stretch that is a keyboard row or alphabet run, either way.
    let chars: Vec<char> = lower.chars().collect();
    let mut longest_run = 0;
    for seq in SEQUENCES {
        let rev: String = seq.chars().rev().collect();
        for s in [seq.to_string(), rev] {
            for i in 0..chars.len() {
                let mut j = i + 1;
                while j <= chars.len() && s.contains(&chars[i..j].iter().collect::<String>()) {
                    j += 1;
                }
                longest_run = longest_run.max(j - 1 - i);
            }
        }
    }
    if longest_run >= 4 && longest_run * 10 >= len * 6 {
        return weak("password is mostly a keyboard or alphabet sequence".into());
    }
    // Core word: strip digits/symbols at both ends, then undo leetspeak inside.
    let core: String = lower
        .trim_matches(|c: char| !c.is_alphabetic())
        .chars()
        .map(unleet)
        .filter(|c| c.is_alphanumeric())
        .collect();
    let base: String = lower
        .chars()
        .map(unleet)
        .filter(|c| c.is_alphabetic())
        .collect();
    for candidate in [core.as_str(), base.as_str()] {
        if COMMON.contains(&candidate)
            || COMMON
                .iter()
                .any(|w| w.len() >= 4 && candidate == format!("{w}{w}"))
        {
            return weak("password is a commonly used or breached password pattern".into());
        }
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 3 && (lower.contains(&local) || base.contains(&local)) {
        return weak("password must not contain your e-mail address".into());
    }
    for part in name
        .to_lowercase()
        .split_whitespace()
        .filter(|p| p.chars().count() >= 3)
    {
        if lower.contains(part) && base.len() <= part.len() + 4 {
            return weak("password must not be based on your name".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_weak_passwords_with_a_reason() {
        let cases = [
            ("short1!", "too_short"),
            ("Password2024!", "weak_password"),
            ("P@ssw0rd123456", "weak_password"),
            ("qwertyuiop12", "weak_password"),
            ("aaaaaaaaaaaaaaa", "weak_password"),
            ("1234567890ab", "weak_password"),
            ("abababababab", "weak_password"),
            ("Letmein!!2025", "weak_password"),
            ("dragondragon", "weak_password"),
            ("jane.doe-2026!", "weak_password"),
        ];
        for (pw, code) in cases {
            let e = check(pw, "jane.doe@example.com", "Jane Doe").expect_err(pw);
            assert_eq!(e.code, code, "{pw}: {}", e.detail);
            assert_eq!(e.pointer, "/password");
            assert!(!e.detail.is_empty());
        }
        assert_eq!(
            check(&"x".repeat(129), "a@b.co", "A").unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn accepts_long_unguessable_passwords() {
        for pw in [
            "correct horse battery staple",
            "Tr0ub4dor&3-mango-glacier",
            "violet-kayak-47-orbit",
            "zQ8#nW2!pL5v",
        ] {
            assert!(
                check(pw, "jane.doe@example.com", "Jane Doe").is_ok(),
                "{pw}"
            );
        }
    }
}
