//! How a squash makes its image, and how Auto chooses.
//!
//! ```
//! use squashbox_core::squash::{choose_method, Method, MethodChoice};
//! let pick = choose_method(MethodChoice::Auto, None, Some("app:1"));
//! assert_eq!(pick.method, Method::Direct);
//! println!("{}", pick.reason);
//! ```
//!
//! - **Direct**: Squashbox writes the one layer itself from the source's saved layers and
//!   loads it (see `direct`). Exact on every engine: every entry, owner, mode, xattr, device,
//!   FIFO and hard link as the layers have them, modification times to the nanosecond, nothing
//!   a runtime adds. It needs no builder and leaves no build cache.
//! - **Multi-stage**, the seed's method: `FROM scratch` + `COPY --from=<source> / /`, built by
//!   the classic builder (keeps devices and FIFOs) or BuildKit (faster, but turns devices into
//!   empty files and drops FIFOs). Its Dockerfile is what "copy as a stage" gives. Measured on
//!   Engine 28.5 with the containerd store, the copy of an image whose `RUN` steps the classic
//!   builder made brings the runtime's files (`/.dockerenv`, `/etc/hosts`, …): verification
//!   refuses such a result.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::SpecialFiles;
use crate::build::Builder;

/// What made (or will make) the squashed image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Method {
    /// Squashbox wrote the layer and loaded it: no builder.
    Direct,
    /// The multi-stage Dockerfile, built by the classic builder.
    Classic,
    /// The multi-stage Dockerfile, built by BuildKit.
    BuildKit,
}

impl Method {
    /// The builder of a multi-stage squash; `None` for the direct one.
    pub fn builder(self) -> Option<Builder> {
        match self {
            Method::Direct => None,
            Method::Classic => Some(Builder::Classic),
            Method::BuildKit => Some(Builder::BuildKit),
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum MethodChoice {
    /// The direct method: the only one exact everywhere (times to the nanosecond, the root's
    /// entry, no runtime files on the containerd store). Not the fastest: on Engine 20.10 a
    /// 256 MB image took 12.7 s against 9.2 s for the classic multi-stage squash, bounded by
    /// the daemon's `docker save` and `docker load` (scripts/bench-squash.sh).
    Auto,
    Direct,
    /// The multi-stage Dockerfile, with the builder chosen as [`choose_builder`] does.
    MultiStage,
    Classic,
    BuildKit,
}

/// The method a squash will use, and why, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MethodPick {
    pub method: Method,
    pub reason: String,
}

/// Picks the method. `special` is what a read of the source found (devices and FIFOs guide the
/// builder), `source_tag` a tag of the source (BuildKit names the image by one).
pub fn choose_method(
    choice: MethodChoice,
    special: Option<&SpecialFiles>,
    source_tag: Option<&str>,
) -> MethodPick {
    let pick = |method: Method, reason: &str| MethodPick {
        method,
        reason: reason.into(),
    };
    match choice {
        MethodChoice::Auto => pick(
            Method::Direct,
            "Squashbox writes the layer itself: an exact copy on every engine (times to the nanosecond, devices, FIFOs), and the faster method, with no builder and no build cache left behind",
        ),
        MethodChoice::Direct => pick(Method::Direct, "chosen"),
        MethodChoice::Classic => pick(Method::Classic, "chosen"),
        MethodChoice::BuildKit => pick(Method::BuildKit, "chosen"),
        MethodChoice::MultiStage => match choose_builder(special, source_tag) {
            Builder::BuildKit => pick(
                Method::BuildKit,
                "BuildKit: the image has no device nodes or FIFOs for it to lose, and a tag to copy from",
            ),
            Builder::Classic => pick(
                Method::Classic,
                "the classic builder: BuildKit would lose device nodes or FIFOs, or the image was not read yet, or it has no tag to copy from",
            ),
        },
    }
}

/// The builder for a multi-stage squash: BuildKit only where it loses nothing (`special` from
/// the audit says no devices or FIFOs) and the source has a tag for `--from`; otherwise
/// the classic builder.
pub fn choose_builder(special: Option<&SpecialFiles>, source_tag: Option<&str>) -> Builder {
    let harmless = special.is_some_and(|s| s.devices == 0 && s.fifos == 0);
    if harmless && source_tag.is_some() {
        Builder::BuildKit
    } else {
        Builder::Classic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_direct_and_says_why() {
        let pick = choose_method(MethodChoice::Auto, None, None);
        assert_eq!(pick.method, Method::Direct);
        assert!(pick.reason.contains("exact"), "{}", pick.reason);
    }

    #[test]
    fn multi_stage_takes_buildkit_only_when_it_loses_nothing_and_has_a_tag() {
        let clean = SpecialFiles::default();
        let fifo = SpecialFiles {
            fifos: 1,
            ..SpecialFiles::default()
        };
        let method = |special, tag| choose_method(MethodChoice::MultiStage, special, tag).method;
        assert_eq!(method(Some(&clean), Some("a:1")), Method::BuildKit);
        assert_eq!(method(Some(&fifo), Some("a:1")), Method::Classic);
        assert_eq!(method(None, Some("a:1")), Method::Classic);
        assert_eq!(method(Some(&clean), None), Method::Classic);
        assert_eq!(
            choose_method(MethodChoice::BuildKit, Some(&fifo), None).method,
            Method::BuildKit
        );
    }
}
