//! Token-endpoint bodies: `application/x-www-form-urlencoded` (RFC 6749
//! appendix B), and how the client proves who it is (RFC 6749 2.3.1).

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::gate::Secret;

/// Everything but RFC 3986's unreserved characters is escaped, so `&`, `=`,
/// `+`, `%` and spaces in a secret survive any form decoder.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How the client authenticates to the token and device endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
#[repr(u32)]
pub enum ClientAuth {
    /// A public client: `client_id` in the form, no secret.
    #[default]
    Public,
    /// `client_id` and `client_secret` in the form (Frame.io does this;
    /// OpenID's `client_secret_post`).
    Form,
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 2.3.1;
    /// `client_secret_basic`).
    Basic,
}

/// A form body being built.
#[derive(Default)]
pub(crate) struct Form(String);

impl Form {
    /// Adds `name=value`, both encoded.
    pub fn field(mut self, name: &str, value: &str) -> Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.extend(utf8_percent_encode(name, FORM));
        self.0.push('=');
        self.0.extend(utf8_percent_encode(value, FORM));
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

/// The client's identity added to `form` as `auth` wants it, and the
/// `Authorization` header value it needs, if any.
pub(crate) fn authenticate(
    form: Form,
    (auth, id, secret): (ClientAuth, &str, Option<&Secret>),
) -> (Form, Option<Secret>) {
    match (auth, secret) {
        (ClientAuth::Basic, Some(secret)) => {
            let pair = format!(
                "{}:{}",
                utf8_percent_encode(id, FORM),
                utf8_percent_encode(secret.expose(), FORM)
            );
            let basic = base64::engine::general_purpose::STANDARD.encode(pair);
            (form, Some(Secret::new(format!("Basic {basic}"))))
        }
        (ClientAuth::Form, Some(secret)) => (
            form.field("client_id", id)
                .field("client_secret", secret.expose()),
            None,
        ),
        _ => (form.field("client_id", id), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_survive() {
        let rows = [
            ("a b", "a%20b"),
            ("a&b=c", "a%26b%3Dc"),
            ("1+1%", "1%2B1%25"),
            ("Ünï", "%C3%9Cn%C3%AF"),
            ("A-z_0.9~", "A-z_0.9~"),
        ];
        for (value, wire) in rows {
            let body = Form::default().field("s", value).into_bytes();
            assert_eq!(
                String::from_utf8(body).unwrap(),
                format!("s={wire}"),
                "{value}"
            );
        }
    }

    #[test]
    fn each_client_authentication() {
        let secret = Secret::new("p&ss word");
        let rows: [(ClientAuth, Option<&Secret>, &str, Option<&str>); 4] = [
            (ClientAuth::Public, None, "x=1&client_id=cam%201", None),
            (
                ClientAuth::Form,
                Some(&secret),
                "x=1&client_id=cam%201&client_secret=p%26ss%20word",
                None,
            ),
            // base64("cam%201:p%26ss%20word")
            (
                ClientAuth::Basic,
                Some(&secret),
                "x=1",
                Some("Basic Y2FtJTIwMTpwJTI2c3MlMjB3b3Jk"),
            ),
            // A secret-less client sends its id whatever the method.
            (ClientAuth::Basic, None, "x=1&client_id=cam%201", None),
        ];
        for (auth, secret, body, header) in rows {
            let (form, h) = authenticate(Form::default().field("x", "1"), (auth, "cam 1", secret));
            assert_eq!(
                String::from_utf8(form.into_bytes()).unwrap(),
                body,
                "{auth:?}"
            );
            assert_eq!(h.as_ref().map(Secret::expose), header, "{auth:?}");
        }
    }
}
