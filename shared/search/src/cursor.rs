//! Search-after cursors: `<sort tag>.<sort key, 16 hex>.<creator_id, hex>`.
//!
//! The sort key is the engine's order-preserving `u64` for the last hit
//! (larger ranks first); `creator_id` breaks ties. The tag binds the cursor to
//! the ordering it was produced for, so a cursor replayed against another sort
//! is rejected instead of silently skipping creators.

use crate::SearchError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct After {
    pub key: u64,
    pub creator_id: String,
}

pub(crate) fn encode(tag: &str, after: &After) -> String {
    let mut s = String::with_capacity(tag.len() + 18 + after.creator_id.len() * 2);
    s.push_str(tag);
    s.push('.');
    s.push_str(&format!("{:016x}", after.key));
    s.push('.');
    for b in after.creator_id.as_bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub(crate) fn decode(tag: &str, cursor: &str) -> Result<After, SearchError> {
    let mut parts = cursor.split('.');
    let (Some(t), Some(key), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SearchError::BadCursor);
    };
    if t != tag
        || key.len() != 16
        || !key.bytes().all(|b| b.is_ascii_hexdigit())
        || id.is_empty()
        || id.len() % 2 != 0
    {
        return Err(SearchError::BadCursor);
    }
    let key = u64::from_str_radix(key, 16).map_err(|_| SearchError::BadCursor)?;
    let bytes = (0..id.len())
        .step_by(2)
        .map(|i| {
            id.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(SearchError::BadCursor)?;
    let creator_id = String::from_utf8(bytes).map_err(|_| SearchError::BadCursor)?;
    Ok(After { key, creator_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let a = After {
            key: 0xdead_beef,
            creator_id: "usr_01Hé".into(),
        };
        let c = encode("fd", &a);
        assert_eq!(decode("fd", &c), Ok(a));
        assert_eq!(decode("rp", &c), Err(SearchError::BadCursor), "other sort");
        for bad in [
            "",
            "fd",
            "fd..",
            "fd.zz.00",
            "fd.0000000000000001.0",
            "fd.0000000000000001.ff",
            "fd.0000000000000001.61.x",
            "fd.+000000000000001.61",
        ] {
            assert_eq!(decode("fd", bad), Err(SearchError::BadCursor), "{bad}");
        }
    }
}
