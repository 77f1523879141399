//! What a journal is bound to: the multipart upload its ETags belong to.
//! Given URLs identify it themselves once their signing parameters are
//! removed (a renewed URL of the same upload keeps its path, `uploadId` and
//! `partNumber`); asked URLs, by an id the application gives.

use md5::{Digest, Md5};

/// Query parameters that sign a URL or say until when it is good: they
/// change when the same upload's URLs are renewed. Compared ignoring case;
/// a name ending in `-` is a prefix.
const SIGNING: [&str; 13] = [
    "x-amz-",
    "x-goog-",
    "signature",
    "expires",
    "awsaccesskeyid",
    "key-pair-id",
    "policy",
    "sig",
    "se",
    "st",
    "sv",
    "sp",
    "sr",
];

fn signs(name: &str) -> bool {
    SIGNING.iter().any(|s| match s.strip_suffix('-') {
        Some(_) => name.len() >= s.len() && name[..s.len()].eq_ignore_ascii_case(s),
        None => name.eq_ignore_ascii_case(s),
    })
}

/// `url` without its signing parameters (and without its fragment).
pub(super) fn unsigned(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !signs(kv.split('=').next().unwrap_or_default()))
        .collect();
    match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    }
}

/// The code of the error for a URL that signs a header the parts do not
/// send: S3 would answer every PUT 403 `SignatureDoesNotMatch`.
pub const SIGNED_HEADER_MISSING: &str = "signed_header_missing";

/// Refused, nothing sent, when `url` signs a header (`X-Amz-SignedHeaders`)
/// that is neither among `headers` nor one the client sends itself (`host`,
/// `content-length`, and `content-md5` when `md5` is on).
pub(super) fn signed_headers_sent(
    url: &str,
    headers: &[(String, String)],
    md5: bool,
) -> Result<(), crate::error::ApiError> {
    let query = url.split('#').next().unwrap_or_default();
    let Some((_, query)) = query.split_once('?') else {
        return Ok(());
    };
    let Some(signed) = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-SignedHeaders"))
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    else {
        return Ok(());
    };
    let ours =
        |name: &str| matches!(name, "host" | "content-length") || (md5 && name == "content-md5");
    let missing = signed.split(';').map(str::trim).find(|name| {
        !name.is_empty()
            && !ours(name)
            && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    });
    match missing {
        None => Ok(()),
        Some(name) => Err(crate::error::ApiError::invalid_input(format!(
            "the part URL signs the header {name:?}, which the upload does not send: \
             S3 would refuse every part (403 SignatureDoesNotMatch)"
        ))
        .with_code(SIGNED_HEADER_MISSING)
        .with_hint("Add it with Upload::header (Frame.io: Content-Type and x-amz-acl: private).")),
    }
}

/// The identity of an upload to `urls`: a digest of them, unsigned (the
/// journal holds no URL: they name buckets and keys).
pub(super) fn of_urls(urls: &[String]) -> String {
    let mut h = Md5::new();
    for url in urls {
        h.update(unsigned(url).as_bytes());
        h.update(b"\n");
    }
    format!("urls:{}", hex(&h.finalize()))
}

/// The identity the application gave.
pub(super) fn of_id(id: &str) -> String {
    format!("id:{id}")
}

/// Bytes as lowercase hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: URL -> what identifies it.
    #[test]
    fn signing_parameters_are_removed_the_upload_kept() {
        let rows = [
            (
                "https://b.s3.amazonaws.com/k?partNumber=2&uploadId=U1&X-Amz-Algorithm=AWS4&X-Amz-Credential=c&X-Amz-Date=d&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
                "https://b.s3.amazonaws.com/k?partNumber=2&uploadId=U1",
            ),
            (
                "https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Expires=1&Signature=s&uploadId=U&partNumber=1",
                "https://b.s3.amazonaws.com/k?uploadId=U&partNumber=1",
            ),
            ("https://x/y?sig=1&se=2&comp=block", "https://x/y?comp=block"),
            ("https://x/y?X-Goog-Signature=1", "https://x/y"),
            ("https://x/y#frag", "https://x/y"),
            ("https://x/y?a=1&&b", "https://x/y?a=1&b"),
        ];
        for (url, want) in rows {
            assert_eq!(unsigned(url), want, "{url}");
        }
    }

    /// Rows: the headers a URL signs, the headers sent -> refused (the
    /// header named) or not.
    #[test]
    fn a_url_that_signs_a_header_not_sent_is_refused() {
        let frameio = "https://b.s3.amazonaws.com/k?partNumber=1&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl&X-Amz-Signature=s";
        let both = [
            ("Content-Type".to_owned(), "video/mp4".to_owned()),
            ("x-amz-acl".to_owned(), "private".to_owned()),
        ];
        /// (URL, headers sent, Content-MD5 on) -> the header refused, if any
        type Row<'a> = (&'a str, &'a [(String, String)], bool, Option<&'a str>);
        let rows: [Row; 5] = [
            (frameio, &both, false, None),
            (frameio, &both[..1], false, Some("x-amz-acl")),
            (frameio, &[], false, Some("content-type")),
            ("https://b/k?X-Amz-SignedHeaders=host", &[], false, None),
            (
                "https://b/k?X-Amz-SignedHeaders=content-md5%3Bhost",
                &[],
                true,
                None,
            ),
        ];
        for (url, headers, md5, want) in rows {
            let got = signed_headers_sent(url, headers, md5);
            match want {
                None => assert!(got.is_ok(), "{url}: {got:?}"),
                Some(name) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.code.as_deref(), Some(SIGNED_HEADER_MISSING));
                    assert!(e.message.contains(name), "{e}");
                }
            }
        }
    }

    #[test]
    fn renewed_urls_of_one_upload_are_one_destination_another_upload_is_not() {
        let urls = |upload: &str, sig: &str| -> Vec<String> {
            (1..=3)
                .map(|i| {
                    format!("https://b/k?partNumber={i}&uploadId={upload}&X-Amz-Signature={sig}")
                })
                .collect()
        };
        assert_eq!(of_urls(&urls("U1", "a")), of_urls(&urls("U1", "b")));
        assert_ne!(of_urls(&urls("U1", "a")), of_urls(&urls("U2", "a")));
        assert!(!of_urls(&urls("U1", "a")).contains("U1"));
    }
}
