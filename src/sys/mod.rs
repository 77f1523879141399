//! Calls into the operating system that no safe crate offers. With the C
//! boundary (`ffi`), the only place `unsafe` is allowed; each block says
//! why it is sound. Not part of the C API.

pub(crate) mod lock;
pub(crate) mod tcp_info;
