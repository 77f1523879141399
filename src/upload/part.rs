//! One part sent until it is done: its request (the held file's range,
//! hashed as it streams, the part headers, no redirect followed), and the
//! proof it is stored: an ETag that is a plain MD5 must be the bytes sent's
//! (else, or on `BadDigest`, the part is sent again, at most 3 times); an
//! expired URL asked again once from a part source.

use std::sync::{Arc, Mutex};

use super::destination::hex;
use super::run::{lock, Run, Task};
use super::{is_expired_url, urls_expired, DonePart, Urls};
use crate::client::{Request, RequestClass};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// Sends of one part whose bytes the server stored otherwise (an ETag or
/// `BadDigest` that does not match what was read) before it fails.
const CHECKSUM_TRIES: u32 = 3;

impl Run<'_> {
    /// One attempt's request for `task` at `url`, its bytes hashed into
    /// `digest` as they stream.
    fn request(&self, task: &Task, url: &str, digest: &Arc<Mutex<Option<[u8; 16]>>>) -> Request {
        let up = self.up;
        let Task {
            number,
            offset,
            len,
            ..
        } = *task;
        let (source, stop, slot) = (self.source.clone(), self.stop.clone(), digest.clone());
        let tally = self.tally.clone();
        let mut req = Request::new(&up.method, url)
            .class(RequestClass::ChunkUpload)
            .without_authorization()
            .follow_redirects(false)
            .body_reader_sized(len, move || {
                *lock(&slot) = None;
                Ok(Box::new(source.part(
                    offset,
                    len,
                    stop.clone(),
                    slot.clone(),
                )))
            })
            .progress(move |p| tally.moved(number, p.sent));
        for (name, value) in &up.headers {
            req = req.header(name, value);
        }
        req.profile = Some(up.profile.clone());
        req
    }

    /// Sends `task` until it is done or fails for good.
    pub(super) fn send(&self, task: &Task) -> Result<DonePart, ApiError> {
        let (up, part) = (self.up, task.number);
        let mut url = self.url(task, false)?;
        let mut renewed = false;
        let mut mismatches = 0;
        let digest = Arc::new(Mutex::new(None));
        loop {
            let mut req = self.request(task, &url, &digest);
            if up.content_md5 {
                use base64::Engine as _;
                let md5 = self
                    .source
                    .md5(task.offset, task.len, &self.stop)
                    .map_err(|e| {
                        ApiError::new(Kind::Io).with_message(format!("part {part}: reading: {e}"))
                    })?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(md5);
                req = req.header("Content-MD5", &encoded);
            }
            let answer = up.client.send_cancellable(&req, &self.stop);
            let sent = lock(&digest).take().map(|d| hex(&d));
            let mismatch = match answer {
                Ok(resp) => {
                    let etag = resp.header("ETag").map(str::to_owned).ok_or_else(|| {
                        ApiError::new(Kind::Protocol)
                            .with_retry(Retry::No)
                            .with_message(format!("part {part}: the answer has no ETag"))
                    })?;
                    match plain_md5(&etag) {
                        Some(stored) if Some(&stored) != sent.as_ref() => format!(
                            "S3 stored bytes whose MD5 is {stored}, not the {} sent",
                            sent.as_deref().unwrap_or("(unread)")
                        ),
                        _ => return Ok(DonePart { etag, md5: sent }),
                    }
                }
                Err(e) if e.code.as_deref() == Some("BadDigest") => e.message.to_string(),
                Err(e) if is_expired_url(&e) => match &up.urls {
                    Urls::Asked(_) if !renewed => {
                        url = self.url(task, true)?;
                        renewed = true;
                        continue;
                    }
                    _ => return Err(urls_expired(part, &e)),
                },
                Err(mut e) => {
                    e.message = format!("part {part}: {}", e.message).into();
                    return Err(e);
                }
            };
            mismatches += 1;
            if mismatches >= CHECKSUM_TRIES {
                return Err(ApiError::new(Kind::Protocol)
                    .with_retry(Retry::No)
                    .with_code("checksum_mismatch")
                    .with_message(format!(
                        "part {part}: sent {mismatches} times, stored otherwise each time: {mismatch}"
                    )));
            }
            log::warn!("part {part}: {mismatch}; sent again");
        }
    }
}

/// The MD5 an ETag states, when it is a plain one (a part's, or an object
/// sent whole without encryption by KMS): 32 hex digits, quoted or not.
fn plain_md5(etag: &str) -> Option<String> {
    let t = etag.trim().trim_start_matches("W/").trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    /// Rows: ETag -> the MD5 it states.
    #[test]
    fn only_a_plain_md5_etag_is_checked() {
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        let rows = [
            ("\"9e107d9d372bb6826bd81d3542a419d6\"", Some(md5)),
            ("9E107D9D372BB6826BD81D3542A419D6", Some(md5)),
            ("\"9e107d9d372bb6826bd81d3542a419d6-3\"", None),
            ("\"mock-0123456789abcdef\"", None),
            ("\"\"", None),
            ("\"9e107d9d372bb6826bd81d3542a419zz\"", None),
        ];
        for (etag, want) in rows {
            assert_eq!(super::plain_md5(etag).as_deref(), want, "{etag}");
        }
    }
}
