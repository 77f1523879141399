//! The mock's Frame.io C2C device side, switched on and looked into (see
//! `mock::C2cAsset`'s module).

use super::{MockServer, Shared};
use crate::mock::c2c::{C2c, C2cAsset};

impl MockServer {
    /// Serves Frame.io's C2C device endpoints: asset creation (basic and
    /// real time), real-time parts requests, part PUTs that check the
    /// signed headers, and the heartbeat.
    pub fn c2c(&self) {
        let base = self.url();
        self.shared
            .state()
            .c2c
            .get_or_insert_with(|| C2c::new(&base));
    }

    /// The size the basic uploads' parts aim at (16 MiB unless set): the
    /// number of URLs an asset gets is its size over this, at least 1.
    pub fn c2c_part_target(&self, bytes: u64) {
        self.c2c();
        if let Some(c) = self.shared.state().c2c.as_mut() {
            c.part_target = bytes.max(1);
        }
    }

    /// The device was paused from `from_unix_ms` to `to_unix_ms`: assets
    /// of media made then are refused (409 "Channel Paused").
    pub fn c2c_pause(&self, from_unix_ms: u64, to_unix_ms: u64) {
        self.c2c();
        if let Some(c) = self.shared.state().c2c.as_mut() {
            c.paused.push((from_unix_ms, to_unix_ms));
        }
    }

    /// The assets created, in order.
    pub fn c2c_assets(&self) -> Vec<C2cAsset> {
        let st = self.shared.state();
        let mut assets: Vec<C2cAsset> = st
            .c2c
            .as_ref()
            .map(|c| c.assets.values().cloned().collect())
            .unwrap_or_default();
        assets.sort_by_key(|a| {
            a.id.trim_start_matches("asset-")
                .parse::<u64>()
                .unwrap_or(0)
        });
        assets
    }

    /// When heartbeats came (Unix ms).
    pub fn c2c_heartbeats(&self) -> Vec<u64> {
        let st = self.shared.state();
        st.c2c
            .as_ref()
            .map(|c| c.heartbeats.clone())
            .unwrap_or_default()
    }
}

impl Shared {
    /// Whether `path`'s whole body is hashed as it is read (the C2C side's
    /// parts, whose MD5 a store answers with).
    pub(super) fn hashes_body(&self, path: &str) -> bool {
        self.state().c2c.is_some() && C2c::stores(path)
    }
}
