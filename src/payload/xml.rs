//! AWS XML error payloads: `<Error><Code/><Message/><RequestId/></Error>`,
//! bare (S3) or wrapped in `<ErrorResponse>` (other AWS services).

use std::borrow::Cow;

use roxmltree::StringStorage;

use super::{Payload, Schema};

/// An AWS error document has about a dozen elements. Anything with many more
/// tags is not one, and is refused before parsing: roxmltree reserves node
/// storage for every `<` up front (~72 bytes each), which would turn a 1 MiB
/// body of tags into tens of megabytes.
const MAX_TAGS: usize = 512;
const NODES_LIMIT: u32 = 2 * MAX_TAGS as u32;

pub(super) fn decode<'a>(body: &'a [u8], payload: &mut Payload<'a>) -> bool {
    read(body).map(|p| *payload = p).is_some()
}

fn read(body: &[u8]) -> Option<Payload<'_>> {
    if body.iter().filter(|&&b| b == b'<').count() > MAX_TAGS {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    // DTDs are refused (roxmltree's default, stated here because it is what
    // stops entity-expansion bombs before they start).
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).ok()?;
    let root = doc.root_element();
    let error = if root.has_tag_name("Error") {
        root
    } else {
        root.children().find(|n| n.has_tag_name("Error"))?
    };
    Some(Payload {
        schema: Some(Schema::AwsXml),
        code: Some(child(error, "Code")?),
        message: child(error, "Message"),
        request_id: child(error, "RequestId").or_else(|| child(root, "RequestId")),
        ..Payload::default()
    })
}

/// The trimmed text of `parent`'s child `name`, borrowed from the body
/// unless an entity had to be expanded.
fn child<'i>(parent: roxmltree::Node<'_, 'i>, name: &str) -> Option<Cow<'i, str>> {
    let text = parent
        .children()
        .find(|n| n.has_tag_name(name))?
        .text_storage()?;
    Some(match text {
        StringStorage::Borrowed(s) => Cow::Borrowed(s.trim()),
        StringStorage::Owned(s) => Cow::Owned(s.trim().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bare_and_wrapped_errors() {
        let s3 = read(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
              <Message>The resource you requested does not exist</Message>\
              <Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>",
        )
        .unwrap();
        assert_eq!(s3.code.as_deref(), Some("NoSuchKey"));
        assert_eq!(s3.request_id.as_deref(), Some("4442587FB7D0A2F9"));

        let wrapped = read(
            b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
              <RequestId>r-1</RequestId></ErrorResponse>",
        )
        .unwrap();
        assert_eq!(wrapped.code.as_deref(), Some("Throttling"));
        assert_eq!(wrapped.request_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn refuses_dtds_and_non_errors() {
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
            <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
            <Error><Code>&lol2;</Code></Error>";
        assert!(read(bomb).is_none());
        assert!(read(b"<html><body>oops</body></html>").is_none());
        assert!(read(b"<Error><Message>no code</Message></Error>").is_none());
        assert!(read(b"<Error><Code>Slow").is_none());
    }
}
