//! Argument parsing shared by the subcommands.

use std::ffi::OsStr;

use apiretry::Profile;
use lexopt::ValueExt;

use crate::UsageError;

/// A built-in profile by name.
pub fn builtin_profile(name: &str) -> Result<Profile, UsageError> {
    Profile::builtin(name).cloned().ok_or_else(|| {
        UsageError(format!(
            "unknown profile {name:?} (expected one of: {})",
            Profile::BUILTIN_NAMES.join(", ")
        ))
    })
}

/// A profile from a JSON file.
pub fn profile_file(path: &OsStr) -> Result<Profile, UsageError> {
    Profile::load(path).map_err(|e| UsageError(e.message.into_owned()))
}

/// `Name: value`.
pub fn header(h: &str) -> Result<(String, String), UsageError> {
    let (name, value) = h
        .split_once(':')
        .filter(|(n, _)| !n.trim().is_empty())
        .ok_or_else(|| UsageError(format!("--header {h:?} is not 'Name: value'")))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// A file's bytes; `what` names it in the error.
pub fn read_file(path: &OsStr, what: &str) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path).map_err(|e| {
        UsageError(format!(
            "cannot read {what} {}: {e}",
            path.to_string_lossy()
        ))
    })
}

/// An HTTP status, 100 to 599.
pub fn status(s: &str) -> Result<u16, UsageError> {
    s.parse::<u16>()
        .ok()
        .filter(|n| (100..=599).contains(n))
        .ok_or_else(|| UsageError(format!("{s:?} is not an HTTP status (100-599)")))
}

/// A positive whole number for `option`.
pub fn number(s: &str, option: &str) -> Result<u32, UsageError> {
    s.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UsageError(format!("{option} takes a positive whole number, not {s:?}")))
}

/// Fills `slot`, refusing a second value.
pub fn set_once<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), UsageError> {
    if slot.replace(value).is_some() {
        return Err(UsageError(format!("{what} given more than once")));
    }
    Ok(())
}

/// A message's body: given, or a file's (read by `classify`, streamed by
/// `request`).
pub enum Body {
    Bytes(Vec<u8>),
    /// The file and its size, checked when the option was read.
    File(std::path::PathBuf, u64),
}

impl Body {
    /// The bytes (a file's read whole).
    pub fn into_bytes(self) -> Result<Vec<u8>, UsageError> {
        match self {
            Body::Bytes(b) => Ok(b),
            Body::File(path, _) => read_file(path.as_os_str(), "body file"),
        }
    }
}

/// The options `classify` and `request` share: the profile, and the headers,
/// body and expected status of the message.
#[derive(Default)]
pub struct MessageArgs {
    pub profile: Option<Profile>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub expect: Option<u16>,
}

impl MessageArgs {
    const NAMES: &'static [&'static str] = &[
        "profile",
        "profile-file",
        "header",
        "body",
        "body-file",
        "expect",
    ];

    /// Whether `--name` is one of these options.
    pub fn takes(name: &str) -> bool {
        Self::NAMES.contains(&name)
    }

    /// Reads option `--name`'s value from `parser`.
    pub fn parse(&mut self, name: &str, parser: &mut lexopt::Parser) -> Result<(), UsageError> {
        let value = parser.value()?;
        match name {
            "profile" => set_once(
                &mut self.profile,
                builtin_profile(&value.string()?)?,
                "--profile/--profile-file",
            ),
            "profile-file" => set_once(
                &mut self.profile,
                profile_file(&value)?,
                "--profile/--profile-file",
            ),
            "header" => {
                self.headers.push(header(&value.string()?)?);
                Ok(())
            }
            "body" => set_once(
                &mut self.body,
                Body::Bytes(value.string()?.into_bytes()),
                "--body/--body-file",
            ),
            "body-file" => {
                let meta = std::fs::metadata(&value).map_err(|e| {
                    UsageError(format!(
                        "cannot read body file {}: {e}",
                        value.to_string_lossy()
                    ))
                })?;
                let file = Body::File(value.into(), meta.len());
                set_once(&mut self.body, file, "--body/--body-file")
            }
            "expect" => {
                self.expect = Some(status(&value.string()?)?);
                Ok(())
            }
            _ => unreachable!("takes() said yes"),
        }
    }

    /// The profile given, or `generic`.
    pub fn profile_or_generic(&mut self) -> Profile {
        self.profile
            .take()
            .unwrap_or_else(|| Profile::builtin("generic").expect("built in").clone())
    }
}
