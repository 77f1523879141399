//! OAuth 2.0 for devices: pairing by the device authorization grant (RFC
//! 8628), access tokens the client refreshes by itself (RFC 6749 6), and a
//! store that keeps them across reboots.
//!
//! ```no_run
//! use apiretry::{CancelToken, Client, FileStore, OAuth, Pairing, Request, Secret};
//!
//! let oauth = OAuth::new("https://api.example.com/v2/auth/token", "camera")
//!     .client_secret(Secret::new("s3cret"))
//!     .store(FileStore::new("/data/tokens.json"));
//! let client = Client::builder("https://api.example.com/v2")
//!     .header("x-client-version", "2.0.0")
//!     .oauth(oauth)
//!     .build();
//! if client.needs_pairing() {
//!     let pairing = Pairing::new("https://api.example.com/v2/auth/device/code")
//!         .scope("asset_create offline")
//!         .on_code(|c| println!("enter {} at {}", c.user_code, c.verification_uri));
//!     client.pair(&pairing, &CancelToken::new())?;
//! }
//! client.send(&Request::post("/assets").body(b"{}".to_vec()).expect(201))?;
//! # Ok::<(), apiretry::ApiError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use crate::gate::Secret;

mod form;
pub(crate) mod pairing;
mod source;
mod store;
mod tokens;

pub use form::ClientAuth;
pub(crate) use form::{authenticate, Form};
pub use pairing::{Pairing, Poll, UserCode, SLOW_DOWN_STEP};
pub(crate) use source::OAuthSource;
pub use store::{FileStore, TokenStore};
pub use tokens::{Tokens, REFRESH_AT_LIFE};

/// An OAuth client of one authorization server: its token endpoint, who
/// the device is to it, and where the device's tokens are kept. Given to
/// [`crate::ClientBuilder::oauth`], the client loads the stored tokens,
/// refreshes them by itself and stores each new set; `Debug` never shows
/// the secret.
#[derive(Clone)]
pub struct OAuth {
    pub(crate) token_url: String,
    pub(crate) client_id: String,
    pub(crate) secret: Option<Secret>,
    pub(crate) auth: ClientAuth,
    pub(crate) store: Option<Arc<dyn TokenStore>>,
    pub(crate) tokens: Option<Tokens>,
}

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth")
            .field("token_url", &crate::redact::secrets(&self.token_url))
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .field("auth", &self.auth)
            .field("store", &self.store.is_some())
            .field("tokens", &self.tokens.is_some())
            .finish()
    }
}

impl OAuth {
    /// A public client `client_id` of the token endpoint at `token_url`.
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        OAuth {
            token_url: token_url.into(),
            client_id: client_id.into(),
            secret: None,
            auth: ClientAuth::Public,
            store: None,
            tokens: None,
        }
    }

    /// The client secret, sent in the form unless [`OAuth::client_auth`]
    /// says HTTP Basic.
    pub fn client_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        if self.auth == ClientAuth::Public {
            self.auth = ClientAuth::Form;
        }
        self
    }

    /// How the client authenticates (default: in the form when it has a
    /// secret, else as a public client).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Keeps the tokens in `store`: loaded when the client is built, saved
    /// whenever they change.
    pub fn store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Starts from these tokens instead of the store's.
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = Some(tokens);
        self
    }
}
