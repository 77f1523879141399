//! Frame.io's C2C device endpoints the uploader calls, on the
//! application's client (its base URL, token, `c2c` profile and firmware
//! header): asset creation with the offset, the real-time parts request,
//! the heartbeat.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::client::{Client, Request};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};
use crate::upload::PartRequest;

/// An asset made: its id, and for a finished file its parts' URLs.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Created {
    pub id: String,
    #[serde(default)]
    pub upload_urls: Vec<String>,
}

fn post(client: &Client, path: &str, body: &Value) -> Result<Vec<u8>, ApiError> {
    let req = Request::post(path)
        .header("Content-Type", "application/json")
        .body(body.to_string().into_bytes());
    Ok(client.send(&req)?.into_body())
}

fn answer<T: for<'a> Deserialize<'a>>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(Kind::Protocol)
            .with_retry(Retry::No)
            .with_message(format!("{what}: the answer is not the one documented: {e}"))
    })
}

/// `POST /v2/devices/assets`: a finished file of `filesize` bytes, or (with
/// `None`) a real-time upload; `offset_s` is the seconds since the file was
/// made, which the server holds against the windows the channel was
/// paused in (409 "Channel Paused", kind `channel_paused`).
pub(crate) fn create_asset(
    client: &Client,
    name: &str,
    filetype: &str,
    filesize: Option<u64>,
    offset_s: f64,
) -> Result<Created, ApiError> {
    let mut body = json!({"name": name, "filetype": filetype, "offset": offset_s});
    match filesize {
        Some(size) => body["filesize"] = size.into(),
        None => body["is_realtime_upload"] = true.into(),
    }
    let created: Created = answer(
        "asset creation",
        &post(client, "/v2/devices/assets", &body)?,
    )?;
    if filesize.is_some() && created.upload_urls.is_empty() {
        return Err(ApiError::new(Kind::Protocol)
            .with_retry(Retry::No)
            .with_message("asset creation: no upload_urls in the answer"));
    }
    Ok(created)
}

#[derive(Deserialize)]
struct Urls {
    upload_urls: Vec<String>,
}

/// `POST /v2/devices/assets/{id}/realtime_upload/parts` for one part: its
/// URL.
pub(crate) fn realtime_part_url(
    client: &Client,
    asset: &str,
    part: &PartRequest,
) -> Result<String, ApiError> {
    let mut body = json!({"parts": [{
        "number": part.number, "size": part.size, "is_final": part.is_final,
    }]});
    if let Some(size) = part.file_size {
        body["asset_filesize"] = size.into();
    }
    let path = format!("/v2/devices/assets/{asset}/realtime_upload/parts");
    let urls: Urls = answer("the real-time parts request", &post(client, &path, &body)?)?;
    urls.upload_urls.into_iter().next().ok_or_else(|| {
        ApiError::new(Kind::Protocol)
            .with_retry(Retry::No)
            .with_message("the real-time parts request: no URL in the answer")
    })
}

/// `POST /v2/devices/heartbeat`: the device is online.
pub(crate) fn heartbeat(client: &Client) -> Result<(), ApiError> {
    client
        .send(&Request::post("/v2/devices/heartbeat").without_waiting())
        .map(drop)
}
