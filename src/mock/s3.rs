//! The mock's S3 side, enough for a multipart upload: initiate
//! (`POST /s3/KEY?uploads`), parts (`PUT /s3/KEY?partNumber=N&uploadId=U`,
//! each answered with an ETag), and a completion (`POST /s3/KEY?uploadId=U`)
//! that checks the parts and ETags listed, as S3 does (`InvalidPart`,
//! `InvalidPartOrder`, `NoSuchUpload`). A plain `PUT /s3/KEY` stores an
//! object. Everything else under the prefix is left to the scripts.

use std::collections::{BTreeMap, HashMap};

use super::reply::Reply;
use super::wire::Request;

/// Where the mock's S3 lives.
pub const S3_PREFIX: &str = "/s3/";

#[derive(Debug, Default)]
pub(crate) struct S3 {
    uploads: HashMap<String, Upload>,
    started: u64,
    /// Objects completed or put: key and size.
    pub objects: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Upload {
    key: String,
    /// Part number: its ETag and size.
    parts: BTreeMap<u32, (String, u64)>,
}

/// An ETag for a part: 64-bit FNV-1a of its first bytes (those the mock
/// keeps) and its length, quoted as S3 quotes them.
fn etag(req: &Request) -> String {
    let hash = req.body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{:016x}{:08x}\"", hash, req.body_len as u32)
}

fn xml(body: String) -> Reply {
    Reply::status(200)
        .header("Content-Type", "application/xml")
        .body(&body)
}

impl S3 {
    /// The answer for `req` when it is one of the multipart operations.
    pub fn answer(&mut self, req: &Request) -> Option<Reply> {
        let key = req.path.strip_prefix(S3_PREFIX)?.to_owned();
        let query: HashMap<&str, &str> = req
            .query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
            .collect();
        let upload = query.get("uploadId").copied();
        match (req.method.as_str(), upload, query.get("partNumber")) {
            ("POST", None, _) if query.contains_key("uploads") => {
                self.started += 1;
                let id = format!("mock-upload-{}", self.started);
                let parts = BTreeMap::new();
                self.uploads.insert(
                    id.clone(),
                    Upload {
                        key: key.clone(),
                        parts,
                    },
                );
                Some(xml(format!(
                    "<InitiateMultipartUploadResult><Bucket>mock</Bucket><Key>{key}</Key>\
                     <UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
                )))
            }
            ("PUT", Some(id), Some(n)) => {
                let Some(up) = self.uploads.get_mut(id) else {
                    return Some(no_such_upload());
                };
                let part: u32 = n.parse().ok().filter(|p| (1..=10_000).contains(p))?;
                let tag = etag(req);
                up.parts.insert(part, (tag.clone(), req.body_len));
                Some(Reply::status(200).header("ETag", &tag))
            }
            ("POST", Some(id), None) => Some(self.complete(id, &req.body)),
            ("PUT", None, None) => {
                self.objects.insert(key, req.body_len);
                Some(Reply::status(200).header("ETag", &etag(req)))
            }
            _ => None,
        }
    }

    /// CompleteMultipartUpload: every listed part uploaded with that ETag,
    /// in ascending order.
    fn complete(&mut self, id: &str, body: &[u8]) -> Reply {
        let Some(up) = self.uploads.get(id) else {
            return no_such_upload();
        };
        let text = String::from_utf8_lossy(body);
        let Ok(doc) = roxmltree::Document::parse(&text) else {
            return Reply::aws(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed.",
            );
        };
        let child = |n: roxmltree::Node<'_, '_>, name: &str| {
            n.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .map(str::to_owned)
        };
        let listed: Vec<(Option<u32>, Option<String>)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Part"))
            .map(|p| {
                (
                    child(p, "PartNumber").and_then(|n| n.parse().ok()),
                    child(p, "ETag"),
                )
            })
            .collect();
        if listed.is_empty() {
            return Reply::aws(400, "MalformedXML", "No parts were listed.");
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Reply::aws(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order.",
            );
        }
        for (n, tag) in &listed {
            let stored = n.and_then(|n| up.parts.get(&n));
            if stored.map(|(t, _)| t) != tag.as_ref() {
                return Reply::aws(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found.",
                );
            }
        }
        let size = listed
            .iter()
            .filter_map(|(n, _)| up.parts.get(&(*n)?))
            .map(|(_, len)| len)
            .sum();
        let key = up.key.clone();
        self.uploads.remove(id);
        self.objects.insert(key.clone(), size);
        xml(format!(
            "<CompleteMultipartUploadResult><Bucket>mock</Bucket><Key>{key}</Key>\
             <ETag>\"mock-{}\"</ETag></CompleteMultipartUploadResult>",
            listed.len()
        ))
    }
}

fn no_such_upload() -> Reply {
    Reply::aws(404, "NoSuchUpload", "The specified upload does not exist.")
}
