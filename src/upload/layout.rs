//! A file as numbered parts: part `i` (from 1) covers bytes
//! `[(i-1) * part_size, min(i * part_size, size))`; an empty file is one
//! empty part (S3 takes an empty object as one part).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// How a file of `size` bytes is cut into parts of `part_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The file's size in bytes.
    pub size: u64,
    /// Every part's size but the last's.
    pub part_size: u64,
    /// How many parts.
    pub parts: u32,
}

impl Layout {
    /// The layout of `size` bytes in parts of `part_size` (at least 1 byte;
    /// at most 10,000 parts, S3's limit).
    ///
    /// ```
    /// use apiretry::upload::Layout;
    /// let l = Layout::new(12, 5).unwrap();
    /// assert_eq!(l.parts, 3);
    /// assert_eq!(l.range(3), (10, 2));
    /// assert_eq!(Layout::new(0, 5).unwrap().parts, 1);
    /// ```
    pub fn new(size: u64, part_size: u64) -> Result<Layout, ApiError> {
        let bad = |why: String| Err(ApiError::invalid_input(why));
        if part_size == 0 {
            return bad("the part size must be at least 1 byte".into());
        }
        let parts = size.div_ceil(part_size).max(1);
        match u32::try_from(parts) {
            Ok(parts) if parts <= MAX_PARTS => Ok(Layout {
                size,
                part_size,
                parts,
            }),
            _ => bad(format!(
                "{size} bytes in parts of {part_size} make {parts} parts; at most {MAX_PARTS} \
                 (S3's limit): use larger parts"
            )),
        }
    }

    /// Part `i`'s offset and length (`i` from 1 to `parts`).
    pub fn range(&self, i: u32) -> (u64, u64) {
        let offset = u64::from(i.saturating_sub(1)) * self.part_size;
        (offset, self.part_size.min(self.size.saturating_sub(offset)))
    }
}

/// S3's most parts in one multipart upload.
pub const MAX_PARTS: u32 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: (size, part size) -> every part's (offset, length).
    #[test]
    fn parts_cover_the_file_exactly_once() {
        /// Each part's (offset, length).
        type Ranges = &'static [(u64, u64)];
        let rows: [(u64, u64, Ranges); 5] = [
            (0, 5, &[(0, 0)]),
            (5, 5, &[(0, 5)]),
            (12, 5, &[(0, 5), (5, 5), (10, 2)]),
            (1, 1 << 20, &[(0, 1)]),
            (10, 3, &[(0, 3), (3, 3), (6, 3), (9, 1)]),
        ];
        for (size, part, want) in rows {
            let l = Layout::new(size, part).unwrap();
            let got: Vec<_> = (1..=l.parts).map(|i| l.range(i)).collect();
            assert_eq!(got, want, "{size} in {part}");
        }
        assert!(Layout::new(10, 0).is_err());
        assert!(Layout::new(10_001, 1).is_err());
        assert_eq!(Layout::new(10_000, 1).unwrap().parts, 10_000);
    }
}
