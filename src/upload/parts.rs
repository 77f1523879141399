//! The parts file `apiretry upload` reads: `{"part_size": BYTES, "urls":
//! ["https://...", ...]}`, one URL per part, as an API hands them out.

use serde::Deserialize;

use crate::error::ApiError;

/// The largest parts file read: 10,000 presigned URLs of 2 KiB each.
pub const MAX_PARTS_FILE: usize = 32 << 20;

/// A parts file's contents.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PartsFile {
    /// Every part's size but the last's.
    pub part_size: u64,
    /// One URL per part, in order.
    pub urls: Vec<String>,
}

impl PartsFile {
    /// Reads a parts file; the error says what is wrong with it (never a
    /// URL, which carries a signature).
    ///
    /// ```
    /// use apiretry::upload::PartsFile;
    /// let p = PartsFile::from_json(br#"{"part_size": 5, "urls": ["https://b/1"]}"#).unwrap();
    /// assert_eq!((p.part_size, p.urls.len()), (5, 1));
    /// assert!(PartsFile::from_json(br#"{"part_size": 5, "urls": ["ftp://b/1"]}"#).is_err());
    /// ```
    pub fn from_json(text: &[u8]) -> Result<PartsFile, ApiError> {
        let bad = |why: String| {
            ApiError::invalid_input(format!(
                "not a parts file ({{\"part_size\": BYTES, \"urls\": [...]}}): {why}"
            ))
        };
        if text.len() > MAX_PARTS_FILE {
            return Err(bad(format!(
                "{} bytes, more than {MAX_PARTS_FILE}",
                text.len()
            )));
        }
        let parts: PartsFile = serde_json::from_slice(text).map_err(|e| {
            bad(format!(
                "{:?} at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if parts.part_size == 0 {
            return Err(bad("the part size is 0".into()));
        }
        if parts.urls.is_empty() {
            return Err(bad("no URL".into()));
        }
        let not_url = |u: &String| !(u.starts_with("http://") || u.starts_with("https://"));
        if let Some(i) = parts.urls.iter().position(not_url) {
            return Err(bad(format!("URL {} is not http:// or https://", i + 1)));
        }
        Ok(parts)
    }
}
