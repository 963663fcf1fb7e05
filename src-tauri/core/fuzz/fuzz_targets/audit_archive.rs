//! Arbitrary bytes as a `docker save` stream: the audit must answer with a report or an
//! error, never a panic, a hang or an allocation the input's size does not justify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ops::ControlFlow;

fuzz_target!(|data: &[u8]| {
    let _ = squashbox_core::audit::audit_archive(data, &mut |_| ControlFlow::Continue(()));
});
