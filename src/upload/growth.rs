//! A file uploaded while it is still written (a clip while it records):
//! parts are cut at the part size as the file grows, each sent once the
//! file holds its whole range and at least one byte more (so that the
//! final part is never empty), and after [`Growth::finish`] the rest is
//! the final part.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::MAX_PARTS;
use crate::error::ApiError;

/// The handle that ends a growing file's upload: [`finish`](Self::finish)
/// with the file's final size, from any thread, while the upload runs or
/// before. Cloned handles are one.
///
/// ```no_run
/// use apiretry::upload::{Growth, Upload};
/// # let client = apiretry::Client::builder("https://api.example.com").build();
/// let growth = Growth::new();
/// let upload = Upload::new(&client, "/media/A002.mov", 8 << 20)
///     .growing(&growth)
///     .part_source(|p| Ok(format!("https://bucket.example.com/A002?partNumber={}", p.number)));
/// let recorder = {
///     let growth = growth.clone();
///     std::thread::spawn(move || {
///         // ... the camera writes the clip, closes it ...
///         growth.finish(1_234_567_890);
///     })
/// };
/// upload.run(None)?;
/// # recorder.join().unwrap();
/// # Ok::<(), apiretry::ApiError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Growth(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    final_size: Mutex<Option<u64>>,
    wake: Condvar,
}

impl Growth {
    /// A file still growing.
    pub fn new() -> Growth {
        Growth::default()
    }

    /// The file is complete at `final_size` bytes; the first call counts.
    pub fn finish(&self, final_size: u64) {
        let mut f = self
            .0
            .final_size
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f.get_or_insert(final_size);
        self.0.wake.notify_all();
    }

    /// The final size, once finished.
    pub fn final_size(&self) -> Option<u64> {
        *self
            .0
            .final_size
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `at_most`, or until finished.
    pub(super) fn wait(&self, at_most: Duration) {
        let f = self
            .0
            .final_size
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if f.is_none() {
            let _ = self.0.wake.wait_timeout(f, at_most);
        }
    }
}

/// How often a part waiting for the file to grow looks at its size.
pub(super) const LOOK_EVERY: Duration = Duration::from_millis(50);

/// Parts cut so far, and whether that is all of them: with `cut` parts of
/// `part_size` cut before, the file now `size` bytes, and its final size
/// if finished. An error when the file is finished shorter than parts
/// already cut, or grows past S3's 10,000 parts.
pub(super) fn cut(
    cut: u32,
    size: u64,
    part_size: u64,
    final_size: Option<u64>,
) -> Result<(u32, bool), ApiError> {
    if let Some(f) = final_size {
        let parts = f.div_ceil(part_size).max(1);
        if parts > u64::from(MAX_PARTS) {
            return Err(too_many(f, part_size));
        }
        // Parts cut before were not the last: the file held more than them.
        if cut > 0 && u64::from(cut) >= parts {
            return Err(ApiError::invalid_input(format!(
                "the final size {f} is shorter than the {cut} parts of {part_size} bytes already sent"
            )));
        }
        if size < f {
            return Err(super::source::changed_growing(f, size));
        }
        return Ok((parts as u32, true));
    }
    // Part n is whole, and not the last, once the file holds more than n parts.
    let whole = size.saturating_sub(1) / part_size;
    if whole >= u64::from(MAX_PARTS) {
        return Err(too_many(size, part_size));
    }
    Ok(((whole as u32).max(cut), false))
}

fn too_many(size: u64, part_size: u64) -> ApiError {
    ApiError::invalid_input(format!(
        "the growing file reached {size} bytes: more than {MAX_PARTS} parts of {part_size} \
         bytes, S3's limit (choose a larger part size)"
    ))
    .with_code(super::PART_RULES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: (cut before, size now, final) -> (cut now, all cut), or an
    /// error; parts of 10 bytes.
    #[test]
    fn parts_are_cut_once_the_file_holds_them_and_a_byte_more() {
        /// (cut before, size, final) -> (cut, all cut) or what the error says
        type Row = (u32, u64, Option<u64>, Result<(u32, bool), &'static str>);
        let rows: [Row; 11] = [
            (0, 0, None, Ok((0, false))),
            (0, 10, None, Ok((0, false))),
            (0, 11, None, Ok((1, false))),
            (1, 25, None, Ok((2, false))),
            (2, 25, None, Ok((2, false))),
            (2, 30, Some(30), Ok((3, true))),
            (2, 31, Some(31), Ok((4, true))),
            (0, 0, Some(0), Ok((1, true))),
            (3, 30, Some(30), Err("shorter")),
            (2, 29, Some(30), Err("changed")),
            (0, 100_011, None, Err("10000 parts")),
        ];
        for (before, size, fin, want) in rows {
            let got = cut(before, size, 10, fin);
            match want {
                Ok(w) => assert_eq!(got.unwrap(), w, "{before} {size} {fin:?}"),
                Err(says) => {
                    let e = got.unwrap_err();
                    assert!(e.message.contains(says), "{before} {size} {fin:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_first_finish_counts_and_wakes_a_waiter() {
        let g = Growth::new();
        let waiter = {
            let g = g.clone();
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                g.wait(Duration::from_secs(30));
                t.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        g.finish(5);
        g.finish(7);
        assert!(waiter.join().unwrap() < Duration::from_secs(10));
        assert_eq!(g.final_size(), Some(5));
    }
}
