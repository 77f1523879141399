//! S3's multipart rules (non-final parts of 5 MiB to 5 GiB, at most 10,000
//! parts), checked before anything is sent, and the part sizes chosen for
//! a caller: s3transfer's rule, and Frame.io C2C's (one part per URL).

use super::{Layout, MAX_PARTS};
use crate::error::ApiError;

/// S3's smallest part but the last: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// The part size `Upload::part_size_for` gives a file of 128 MiB to
/// 78 GiB: 8 MiB, as s3transfer.
pub const DEFAULT_PART_SIZE: u64 = 8 << 20;
/// The parts a smaller file is cut into, within S3's 5 MiB minimum: as
/// many as the engine may keep in flight, since on a lossy link each part
/// in flight is a flow that adds its share of the rate.
const PARTS_WANTED: u64 = crate::flows::CAP as u64;

/// The code of the error for a layout S3 would refuse.
pub const PART_RULES: &str = "part_rules";

/// Whether S3 takes `layout`; the error names the rule broken.
pub(super) fn check_s3(layout: &Layout) -> Result<(), ApiError> {
    let broken = if layout.parts > 1 && layout.part_size < MIN_PART_SIZE {
        format!(
            "parts of {} bytes: S3 takes parts but the last of at least 5 MiB ({MIN_PART_SIZE} bytes)",
            layout.part_size
        )
    } else if layout.part_size.min(layout.size) > MAX_PART_SIZE {
        format!(
            "parts of {} bytes: S3 takes parts of at most 5 GiB ({MAX_PART_SIZE} bytes)",
            layout.part_size
        )
    } else {
        return Ok(());
    };
    Err(ApiError::invalid_input(format!(
        "{} bytes in {} {broken}",
        layout.size, layout.parts
    ))
    .with_code(PART_RULES)
    .with_hint("Choose the part size with Upload::part_size_for (or part_size_for_urls), or use a profile other than s3 for a store without these rules."))
}

/// `Upload::part_size_for`.
pub(super) fn part_size_for(size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    let spread = size.div_ceil(PARTS_WANTED).div_ceil(MIB) * MIB;
    let mut part = spread.clamp(MIN_PART_SIZE, DEFAULT_PART_SIZE);
    while size.div_ceil(part) > u64::from(MAX_PARTS) && part < MAX_PART_SIZE {
        part *= 2;
    }
    part.min(MAX_PART_SIZE)
}

/// `Upload::part_size_for_urls`; at least 1.
pub(super) fn part_size_for_urls(size: u64, urls: u32) -> u64 {
    size.div_ceil(u64::from(urls.max(1))).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// Rows: (size, part size) -> S3 takes it, or the rule named.
    #[test]
    fn s3_takes_only_layouts_within_its_rules() {
        let rows: [(u64, u64, Option<&str>); 7] = [
            (0, 5 * MIB, None),
            (3 * MIB, 5 * MIB, None),
            (12 * MIB, 5 * MIB, None),
            (2 * MIB, MIB, Some("at least 5 MiB")),
            (10 * MIB, 5 * MIB - 1, Some("at least 5 MiB")),
            (6 << 30, 6 << 30, Some("at most 5 GiB")),
            (5 << 30, 5 << 30, None),
        ];
        for (size, part, want) in rows {
            let got = check_s3(&Layout::new(size, part).unwrap());
            match want {
                None => assert!(got.is_ok(), "{size} in {part}: {got:?}"),
                Some(rule) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.code.as_deref(), Some(PART_RULES));
                    assert!(e.message.contains(rule), "{size} in {part}: {e}");
                }
            }
        }
    }

    /// Rows: size -> the part size chosen, which S3 takes.
    #[test]
    fn the_part_size_chosen_fits_s3() {
        let rows = [
            (0, 5 * MIB),
            (8 * MIB, 5 * MIB),
            (64 * MIB, 5 * MIB),  // 13 parts
            (100 * MIB, 7 * MIB), // 15
            (128 * MIB, 8 * MIB), // 16
            (129 * MIB, 8 * MIB),
            (10_000 * 8 * MIB, 8 * MIB),
            (10_000 * 8 * MIB + 1, 16 * MIB),
            (5 << 40, 1 << 30),
        ];
        for (size, want) in rows {
            let part = part_size_for(size);
            assert_eq!(part, want, "{size}");
            assert!(
                check_s3(&Layout::new(size, part).unwrap()).is_ok(),
                "{size}"
            );
        }
    }
}
