//! The mock's Frame.io Camera-to-Cloud device side, as its public guides
//! describe it: asset creation (`POST /v2/devices/assets`, basic with
//! `upload_urls`, or real time), real-time parts requests, part PUTs whose
//! URLs sign `content-type`, `host` and `x-amz-acl` (a PUT without them is
//! refused 403 `SignatureDoesNotMatch`, as S3 refuses it), windows in which
//! the channel was paused (creation answered 409 "Channel Paused" for media
//! made then), and the heartbeat. It keeps each asset's parts (size and MD5
//! of the whole body), so that a test sees what a viewer would play.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use md5::Digest;
use serde_json::Value;

use super::reply::Reply;
use super::wire::Request;

/// Where the part URLs point.
const PARTS_PREFIX: &str = "/c2c-parts/";
const ASSETS: &str = "/v2/devices/assets";

/// One asset as the mock holds it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct C2cAsset {
    /// Its id.
    pub id: String,
    /// The name given.
    pub name: String,
    /// The MIME type given.
    pub filetype: String,
    /// The size given at creation, or with the final real-time part.
    pub filesize: Option<u64>,
    /// The offset given (seconds since the file was created).
    pub offset: f64,
    /// Created for a real-time upload.
    pub realtime: bool,
    /// Parts received: number -> (size, MD5 in hex). A part sent again
    /// replaces the one before.
    pub parts: BTreeMap<u32, (u64, String)>,
    /// Part PUTs received, those sent again included.
    pub puts: u32,
}

impl C2cAsset {
    /// Whether every part of its final size is stored: a viewer plays it.
    pub fn playable(&self) -> bool {
        let Some(size) = self.filesize else {
            return false;
        };
        let numbered = self.parts.keys().copied().eq(1..=self.parts.len() as u32);
        numbered && self.parts.values().map(|p| p.0).sum::<u64>() == size
    }
}

#[derive(Debug, Default)]
pub(crate) struct C2c {
    pub assets: BTreeMap<String, C2cAsset>,
    /// Windows (Unix ms) in which the device was paused.
    pub paused: Vec<(u64, u64)>,
    /// Heartbeats received (Unix ms).
    pub heartbeats: Vec<u64>,
    /// The size Frame.io aims its basic parts at (16 MiB unless set).
    pub part_target: u64,
    /// The server's own URL, for the part URLs.
    pub base: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn json(status: u16, v: &Value) -> Reply {
    Reply::json(status, &v.to_string())
}

fn invalid(why: &str) -> Reply {
    Reply::detailed(422, "Invalid Request", why)
}

impl C2c {
    pub fn new(base: &str) -> C2c {
        C2c {
            part_target: 16 << 20,
            base: base.to_owned(),
            ..C2c::default()
        }
    }

    /// Whether `path` is a part's, whose body is stored (hashed whole).
    pub fn stores(path: &str) -> bool {
        path.starts_with(PARTS_PREFIX)
    }

    /// Whether `path` is one of this side's.
    pub fn serves(path: &str) -> bool {
        path.starts_with(PARTS_PREFIX) || path.starts_with("/v2/devices/")
    }

    /// The answer for `req` when it is one of this side's routes.
    pub fn answer(&mut self, req: &Request) -> Option<Reply> {
        let path = req.path.as_str();
        if let Some(rest) = path.strip_prefix(PARTS_PREFIX) {
            return Some(self.part(req, rest));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match (req.method.as_str(), path) {
            ("POST", "/v2/devices/heartbeat") => {
                self.heartbeats.push(now_ms());
                Some(Reply::status(204))
            }
            ("POST", ASSETS) => Some(self.create(&body)),
            ("POST", p) => {
                let id = p
                    .strip_prefix(ASSETS)?
                    .strip_prefix('/')?
                    .strip_suffix("/realtime_upload/parts")?;
                Some(self.realtime_parts(id, &body))
            }
            _ => None,
        }
    }

    fn url(&self, id: &str, n: u32) -> String {
        format!(
            "{}{PARTS_PREFIX}{id}/{n}?x-amz-acl=private&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Expires=86400&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl\
             &X-Amz-Signature=mock{n}",
            self.base
        )
    }

    fn create(&mut self, body: &Value) -> Reply {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(name), Some(filetype)) = (text("name"), text("filetype")) else {
            return invalid("name and filetype are required");
        };
        let realtime = body.get("is_realtime_upload").and_then(Value::as_bool) == Some(true);
        let filesize = body.get("filesize").and_then(Value::as_u64);
        if !realtime && filesize.is_none() {
            return invalid("filesize is required");
        }
        let offset = body.get("offset").and_then(Value::as_f64).unwrap_or(0.0);
        let made = now_ms().saturating_sub((offset.max(0.0) * 1000.0) as u64);
        if self.paused.iter().any(|&(a, b)| (a..=b).contains(&made)) {
            return Reply::detailed(
                409,
                "Channel Paused",
                "The channel you're uploading from is currently paused.",
            );
        }
        let id = format!("asset-{}", self.assets.len() + 1);
        self.assets.insert(
            id.clone(),
            C2cAsset {
                id: id.clone(),
                name: name.clone(),
                filetype,
                filesize,
                offset,
                realtime,
                parts: BTreeMap::new(),
                puts: 0,
            },
        );
        let mut answer = serde_json::json!({"id": id, "name": name});
        if let (false, Some(size)) = (realtime, filesize) {
            let urls = (size / self.part_target.max(1)).clamp(1, 10_000) as u32;
            answer["upload_urls"] = (1..=urls).map(|n| self.url(&id, n)).collect();
        }
        json(200, &answer)
    }

    fn realtime_parts(&mut self, id: &str, body: &Value) -> Reply {
        let Some(asset) = self.assets.get(id).filter(|a| a.realtime) else {
            return Reply::detailed(404, "Not Found", "no such real-time asset");
        };
        let Some(parts) = body.get("parts").and_then(Value::as_array) else {
            return invalid("parts is required");
        };
        let mut urls = Vec::new();
        let mut size = asset.filesize;
        for p in parts {
            let n = p.get("number").and_then(Value::as_u64).unwrap_or(0);
            let bytes = p.get("size").and_then(Value::as_u64).unwrap_or(0);
            let last = p.get("is_final").and_then(Value::as_bool).unwrap_or(false);
            if !(1..=10_000).contains(&n) {
                return invalid("part numbers are 1 to 10,000");
            }
            if !last && bytes < 5 << 20 {
                return invalid("parts but the final one are at least 5 MiB");
            }
            if last {
                match body.get("asset_filesize").and_then(Value::as_u64) {
                    Some(s) => size = Some(s),
                    None => return invalid("asset_filesize is required with the final part"),
                }
            }
            urls.push(self.url(id, n as u32));
        }
        if let Some(a) = self.assets.get_mut(id) {
            a.filesize = size;
        }
        json(200, &serde_json::json!({"upload_urls": urls}))
    }

    fn part(&mut self, req: &Request, rest: &str) -> Reply {
        let (id, n) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(n) = n.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)) else {
            return Reply::aws(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000.",
            );
        };
        let Some(asset) = self.assets.get_mut(id) else {
            return Reply::aws(404, "NoSuchUpload", "The specified upload does not exist.");
        };
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let signed = header("content-type") == Some(asset.filetype.as_str())
            && header("x-amz-acl") == Some("private")
            && header("authorization").is_none();
        if req.method != "PUT" || !signed {
            return Reply::aws(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        let digest = match req.body_md5.clone() {
            Some(h) => h.finalize(),
            None => md5::Md5::digest(&req.body),
        };
        let md5: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        asset.puts += 1;
        asset.parts.insert(n, (req.body_len, md5.clone()));
        Reply::status(200).header("ETag", &format!("\"{md5}\""))
    }
}
