//! A loopback mock API server for tests, the CLI's `serve` and the C
//! harness: a real HTTP/1.1 server on 127.0.0.1 that answers each route from
//! a script, fails the way networks fail, rate-limits like a real API, and
//! records every request.
//!
//! ```
//! use apiretry::mock::{MockServer, Reply};
//!
//! let server = MockServer::start().unwrap();
//! server.script("POST", "/assets/:id/children", [Reply::simple(429, "slow_down"), Reply::status(201)]);
//! // ... point a client at server.url() ...
//! assert!(server.requests().is_empty());
//! ```

mod c2c;
mod oauth;
mod reply;
mod s3;
mod scenario;
mod server;
mod tls;
mod wire;

pub use c2c::C2cAsset;
pub use oauth::DeviceFlow;
pub use reply::Reply;
pub use s3::S3_PREFIX;
pub use scenario::{OutageMode, Scenario};
pub use server::{MockServer, Recorded};
pub use tls::{Identity, TestCa, Validity};
