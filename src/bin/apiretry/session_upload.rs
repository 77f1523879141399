//! `apiretry demo`'s whole-file upload: a clip sent in parts to the mock's
//! S3 (`apiretry::upload`, a journal), cut off halfway as by a power loss,
//! resumed from the journal, and completed with the parts' ETags.

use apiretry::mock::{MockServer, S3_PREFIX};
use apiretry::upload::{Upload, MIN_PART_SIZE};
use apiretry::{CancelToken, Client, Request};

const PARTS: u32 = 6;
/// S3's smallest part but the last: the demo holds to S3's rules.
const PART_BYTES: usize = MIN_PART_SIZE as usize;

/// The clip's upload, step by step; what the table says of it.
pub fn upload_clip(server: &MockServer, client: &Client) -> String {
    server.s3_multipart();
    let dir = std::env::temp_dir().join(format!("apiretry-demo-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let (clip, journal) = (dir.join("A001_C002.mov"), dir.join("A001_C002.journal"));
    let _ = std::fs::remove_file(&journal);
    let bytes: Vec<u8> = (0..PARTS as usize * PART_BYTES)
        .map(|i| (i % 251) as u8)
        .collect();
    if let Err(e) = std::fs::write(&clip, &bytes) {
        return format!("cannot write the clip: {e}");
    }
    let object = format!("{}{S3_PREFIX}A001_C002.mov", server.url());
    let outcome = (|| -> Result<String, apiretry::ApiError> {
        let started =
            client.send(&Request::post(format!("{object}?uploads")).without_authorization())?;
        let text = String::from_utf8_lossy(started.body()).into_owned();
        let id = text
            .split_once("<UploadId>")
            .and_then(|(_, rest)| rest.split_once("</UploadId>"))
            .map_or(String::new(), |(id, _)| id.to_owned());
        let urls: Vec<String> = (1..=PARTS)
            .map(|n| format!("{object}?partNumber={n}&uploadId={id}"))
            .collect();
        let upload = Upload::new(client, &clip, PART_BYTES as u64)
            .urls(urls)
            .header("Content-Type", "video/quicktime")
            .header("x-amz-acl", "private")
            .journal(&journal)
            .parallel(2);
        // The battery dies once 3 parts are done (one at a time, so that
        // the demo's table is the same on every run).
        let power = CancelToken::new();
        let cut = power.clone();
        let first = upload
            .clone()
            .parallel(1)
            .progress(move |p| {
                if p.parts_done >= 3 {
                    cut.cancel();
                }
            })
            .run(Some(&power));
        println!(
            "  power cut: {}",
            first.err().map_or("no".into(), |e| e.to_string())
        );
        let done = upload.run(None)?;
        println!(
            "  restarted: {} of {PARTS} parts found done in the journal, {} bytes sent now",
            done.resumed, done.bytes_sent
        );
        let parts: String = (1..)
            .zip(&done.etags)
            .map(|(n, tag)| format!("<Part><PartNumber>{n}</PartNumber><ETag>{tag}</ETag></Part>"))
            .collect();
        let body = format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
        client.send(
            &Request::post(format!("{object}?uploadId={id}"))
                .without_authorization()
                .body(body.into_bytes())
                .expect(200),
        )?;
        let size = server
            .s3_objects()
            .get("A001_C002.mov")
            .copied()
            .unwrap_or(0);
        Ok(format!(
            "{PARTS} parts, {} resumed after a power cut; object of {size} bytes",
            done.resumed
        ))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = outcome.unwrap_or_else(|e| format!("failed: {e}"));
    println!("  {outcome}");
    outcome
}
