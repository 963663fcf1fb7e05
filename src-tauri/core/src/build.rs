//! Builds a Dockerfile through the Engine API, with a context that holds only the Dockerfile
//! (enough for `FROM scratch` + `COPY --from=<image>`, and accepted by both builders).
//!
//! ```no_run
//! # async fn demo(daemon: &squashbox_core::daemon::Daemon) -> squashbox_core::Result<()> {
//! use squashbox_core::build::{build_dockerfile, Builder};
//! use squashbox_core::job::{CancelToken, Progress};
//! use squashbox_core::made::MadeImages;
//! let made = MadeImages::before_job(daemon, &[]).await?;
//! let id = build_dockerfile(daemon, "FROM scratch\n", Builder::Classic, &made, &|_: Progress| {}, &CancelToken::new()).await?;
//! # Ok(()) }
//! ```
//!
//! The result is left untagged: the caller tags it once it is known good, so a failed or
//! cancelled build never leaves a half-made tag behind. A build error arrives as HTTP 200 with
//! `errorDetail` in the stream; it is an error here (docker-squash ignores it and exits 0).
//!
//! Every image the build names (the classic builder's step images, the result) is noted in the
//! caller's [`MadeImages`], which removes them, and only them, when the build or anything after
//! it fails. The build runs without `nocache`: a squash of the same image with one setting
//! changed reuses the copy instead of writing it again, and the guard in [`MadeImages`] keeps
//! an image the cache hands back from being taken for one this build made.
//!
//! A cancel reaches a BuildKit build at once (hanging up stops it and it leaves no image). The
//! classic builder finishes the step it is on even after the connection closes, commits it
//! and only then stops, and that last image would never be named in the stream (seen on Engine
//! 20.10: a build cut off one second into a 400 MB copy left the copy's image behind). So a
//! cancel of a classic build waits until the step under way has named its image, then hangs up;
//! a step the daemon begins in the moment before it notices is found by its parent.

use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use ts_rs::TS;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::job::{CancelToken, Progress, ProgressSink};
use crate::made::MadeImages;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Builder {
    /// The legacy builder (`version=1`): reproduces device nodes, FIFOs and all metadata.
    Classic,
    /// BuildKit (`version=2`): faster, but turns device nodes into empty files, drops FIFOs and
    /// keeps a cache snapshot as large as the image.
    BuildKit,
}

/// Builds `dockerfile` and returns the new image's ID (noted in `made`, like every step image).
pub async fn build_dockerfile(
    daemon: &Daemon,
    dockerfile: &str,
    builder: Builder,
    made: &MadeImages,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<String> {
    let lost_one =
        |err: &Error| matches!(err, Error::BuildFailed(why) if lost_under_the_store(daemon, why));
    crate::retry::while_passing(BUILD_TRIES, Duration::ZERO, lost_one, || {
        build_once(daemon, dockerfile, builder, made, sink, cancel)
    })
    .await
}

/// How often a build the engine's store failed under it is tried.
const BUILD_TRIES: u32 = 3;

/// A build the store failed while another program removed images, which the next try gets
/// through: Podman's Buildah meeting a vanished image or layer in its cache lookup ("checking if
/// cached image exists from a previous build: getting top layer info: layer not known", Podman
/// 4.3), and the containerd image store losing a step's lease ("failed commit on ref …: commit
/// failed: lease does not exist"), a cached step image ("unable to find image sha256:…") or
/// the snapshot a step's diff was being read from ("failed to write compressed diff: failed to
/// create diff tar stream: readlink …/tmpmounts/…/bin/sh: no such file or directory", while
/// other tests made and removed containers) or a layer's content as the result was unpacked
/// or a step ("failed to unpack image: … failed to get reader from content store: content
/// digest …: not found", and the bare "NotFound: content digest …: not found"), all seen on
/// Engine 28.5. What the failed try made
/// is in `made`, removed with the rest; a source that is really gone fails every try and is
/// reported.
fn lost_under_the_store(daemon: &Daemon, why: &str) -> bool {
    let info = daemon.info();
    (info.is_podman() && why.contains("cached image") && why.contains("not known"))
        || (info.containerd_store && containerd_lost_one(why))
}

fn containerd_lost_one(why: &str) -> bool {
    why.contains("lease does not exist")
        || why.contains("unable to find image")
        || why.contains("failed to create diff tar stream")
        || (why.contains("content digest") && why.contains("not found"))
}

async fn build_once(
    daemon: &Daemon,
    dockerfile: &str,
    builder: Builder,
    made: &MadeImages,
    sink: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<String> {
    // A cancel that came first must not reach the daemon at all: a build it has started may
    // still leave layers behind after we hang up.
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let context = context_with(dockerfile)?;
    let version = match builder {
        Builder::Classic => 1,
        Builder::BuildKit => 2,
    };
    let path = format!("/build?dockerfile=Dockerfile&version={version}&rm=1&forcerm=1&pull=0");
    let mut answer = BuildAnswer::new(builder);
    let step_running = AtomicBool::new(answer.step_running);
    let streaming =
        crate::raw::post_streaming(daemon, &path, "application/x-tar", &context, |value| {
            let flow = answer.read(&value, made, sink);
            step_running.store(answer.step_running, Ordering::SeqCst);
            flow
        });
    let streamed = tokio::select! {
        result = streaming => result,
        // Dropping the request closes the connection, which makes the daemon stop the build.
        _ = cancelled_between_steps(cancel, &step_running, sink) => Err(Error::Cancelled),
    };
    let cut_off = matches!(streamed, Err(Error::Cancelled)) && builder == Builder::Classic;
    if cut_off {
        // The daemon may have begun the next step (a setting: milliseconds) before it saw the
        // connection close; its image is found by its parent.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let result = match streamed {
        Err(err) => Err(err),
        // The build ended while a cancel waited for its last step: still a cancel.
        Ok(()) if cancel.is_cancelled() => Err(Error::Cancelled),
        // A daemon that stops mid-build just closes the stream: tell that apart from a build
        // that ended oddly, so the user hears that Docker went away.
        Ok(()) if answer.is_empty() && daemon.docker().ping().await.is_err() => Err(Error::Stream(
            "Docker stopped answering during the build".into(),
        )),
        Ok(()) => answer.into_result(),
    };
    if result.is_err() {
        made.remove_all(daemon).await;
    }
    result
}

/// Resolves once `cancel` fires and no classic step is half done (see the module's note).
async fn cancelled_between_steps(
    cancel: &CancelToken,
    step_running: &AtomicBool,
    sink: &dyn ProgressSink,
) {
    cancel.cancelled().await;
    if step_running.load(Ordering::SeqCst) {
        sink.report(Progress::new("finishing step", 0, None));
    }
    while step_running.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A tar holding only `Dockerfile`.
fn context_with(dockerfile: &str) -> Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut archive = tar::Builder::new(Vec::new());
    archive
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .and_then(|()| archive.into_inner())
        .map_err(|e| Error::InvalidInput(format!("cannot pack the Dockerfile: {e}")))
}

/// What the build stream said: the last image ID, or the error.
struct BuildAnswer {
    image_id: Option<String>,
    error: Option<String>,
    /// The classic builder's step under way, `(2, 5)` from "Step 2/5 : …". It holds until the
    /// next step line: the lines between (` ---> …`, a RUN's output) are still that step, and
    /// reporting them as "no total" turned the window's bar into an empty sweep mid-build.
    step: Option<(u64, u64)>,
    /// What the sink heard last, so the many lines of one step are told once.
    reported: Option<Progress>,
    /// The classic builder may be in a step whose image the stream has not named yet: from the
    /// start (its first step, `FROM scratch`, names none and the copy follows at once), and
    /// from each `Step n/m` line to the next step image.
    step_running: bool,
}

impl BuildAnswer {
    fn new(builder: Builder) -> Self {
        BuildAnswer {
            image_id: None,
            error: None,
            step: None,
            reported: None,
            step_running: builder == Builder::Classic,
        }
    }

    /// Reads one message of the stream, noting in `made` every image it names: the classic
    /// builder's image of each finished step (` ---> 31bec908df99`; a build that fails or is
    /// cancelled after the copy leaves them behind, the copy as large as the image) and the
    /// result.
    fn read(
        &mut self,
        value: &serde_json::Value,
        made: &MadeImages,
        sink: &dyn ProgressSink,
    ) -> ControlFlow<()> {
        if let Some(message) = error_message(value) {
            self.error = Some(message);
            self.step_running = false;
            return ControlFlow::Break(());
        }
        // Classic: {"aux":{"ID":…}}; BuildKit: {"id":"moby.image.id","aux":{"ID":…}}. BuildKit's
        // trace aux is a string and has no ID.
        if let Some(id) = value.pointer("/aux/ID").and_then(|v| v.as_str()) {
            made.note(id);
            self.image_id = Some(id.to_owned());
        }
        let stream = value.get("stream").and_then(|v| v.as_str());
        if let Some(id) = stream.and_then(step_image) {
            made.note(id);
            self.step_running = false;
        }
        if let Some(step) = stream.and_then(step_of) {
            self.step = Some(step);
            self.step_running = true;
        }
        // BuildKit's trace is a protobuf this does not decode: it says no more than "building".
        let progress = match self.step {
            Some((step, steps)) => Progress::new("building", step, Some(steps)),
            None => Progress::new("building", 0, None),
        };
        if self.reported.as_ref() != Some(&progress) {
            sink.report(progress.clone());
            self.reported = Some(progress);
        }
        ControlFlow::Continue(())
    }

    /// Neither an image nor an error came.
    fn is_empty(&self) -> bool {
        self.error.is_none() && self.image_id.is_none()
    }

    fn into_result(self) -> Result<String> {
        match (self.error, self.image_id) {
            (Some(message), _) => Err(Error::BuildFailed(message)),
            (None, Some(id)) => Ok(id),
            (None, None) => Err(Error::BuildFailed(
                "the build ended without making an image".into(),
            )),
        }
    }
}

/// The short ID in a classic build's ` ---> 31bec908df99` line (not ` ---> Running in …`).
fn step_image(stream: &str) -> Option<&str> {
    let id = stream.trim().strip_prefix("---> ")?.trim();
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

fn error_message(value: &serde_json::Value) -> Option<String> {
    value
        .pointer("/errorDetail/message")
        .or_else(|| value.get("error"))
        .and_then(|v| v.as_str())
        .map(|m| m.trim().to_owned())
}

/// "Step 2/5 : COPY …" → (2, 5).
fn step_of(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim_start().strip_prefix("Step ")?;
    let (fraction, _) = rest.split_once(' ')?;
    let (step, steps) = fraction.split_once('/')?;
    Some((step.parse().ok()?, steps.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn what_the_containerd_store_lost_under_a_build_is_told_from_a_failed_build() {
        for seen in [
            "failed commit on ref \"layer-sha256:ab\": commit failed: lease does not exist: not found",
            "unable to find image sha256:ab",
            "mount callback failed on /var/lib/containerd/tmpmounts/containerd-mount1: failed to write compressed diff: failed to create diff tar stream: readlink /var/lib/containerd/tmpmounts/containerd-mount2/bin/sh: no such file or directory",
            "NotFound: content digest sha256:e6: not found",
            "failed to export image: failed to unpack image: apply layer error for \"moby-dangling@sha256:ed\": failed to extract layer sha256:4b: NotFound: failed to get reader from content store: content digest sha256:76: not found",
        ] {
            assert!(containerd_lost_one(seen), "{seen}");
        }
        assert!(!containerd_lost_one(
            "COPY failed: file not found in build context"
        ));
    }

    fn read_all(lines: &[&str]) -> (Result<String>, Vec<Progress>) {
        let seen = Mutex::new(Vec::new());
        let sink = |p: Progress| seen.lock().unwrap().push(p);
        let mut answer = BuildAnswer::new(Builder::BuildKit);
        let made = MadeImages::knowing([]);
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            if answer.read(&value, &made, &sink).is_break() {
                break;
            }
        }
        (answer.into_result(), seen.into_inner().unwrap())
    }

    #[test]
    fn classic_streams_give_steps_and_the_last_id() {
        let (result, progress) = read_all(&[
            r#"{"stream":"Step 1/2 : FROM scratch\n"}"#,
            r#"{"stream":"Step 2/2 : COPY --from=sha256:ab / /\n"}"#,
            r#"{"aux":{"ID":"sha256:final"}}"#,
            r#"{"stream":"Successfully built final\n"}"#,
        ]);
        assert_eq!(result.unwrap(), "sha256:final");
        assert_eq!(
            progress,
            [
                Progress::new("building", 1, Some(2)),
                Progress::new("building", 2, Some(2))
            ]
        );
    }

    #[test]
    fn the_lines_between_step_lines_keep_the_step_they_belong_to() {
        // A step's image line and a RUN's output came through as "no total": the window's bar
        // swept empty for most of a build while the text had just said "step 2 of 3".
        let (_, progress) = read_all(&[
            r#"{"stream":"Step 1/3 : FROM scratch\n"}"#,
            r#"{"stream":" ---\u003e \n"}"#,
            r#"{"stream":"Step 2/3 : COPY --from=sha256:ab / /\n"}"#,
            r#"{"stream":" ---\u003e 31bec908df99\n"}"#,
            r#"{"stream":"some output of the step\n"}"#,
            r#"{"stream":"Step 3/3 : ENV A=1\n"}"#,
            r#"{"aux":{"ID":"sha256:final"}}"#,
        ]);
        assert_eq!(
            progress,
            [1, 2, 3].map(|step| Progress::new("building", step, Some(3)))
        );
    }

    #[test]
    fn buildkit_says_only_that_it_is_building_once() {
        let (_, progress) = read_all(&[
            r#"{"id":"moby.buildkit.trace","aux":"CmQKR3NoYTI1Ng=="}"#,
            r#"{"id":"moby.buildkit.trace","aux":"CmQKR3NoYTI1Ng=="}"#,
            r#"{"id":"moby.image.id","aux":{"ID":"sha256:kit"}}"#,
        ]);
        assert_eq!(progress, [Progress::new("building", 0, None)]);
    }

    #[test]
    fn buildkit_streams_give_the_image_id_message() {
        let (result, _) = read_all(&[
            r#"{"id":"moby.buildkit.trace","aux":"CmQKR3NoYTI1Ng=="}"#,
            r#"{"id":"moby.image.id","aux":{"ID":"sha256:kit"}}"#,
        ]);
        assert_eq!(result.unwrap(), "sha256:kit");
    }

    #[test]
    fn an_error_in_a_200_answer_is_a_failed_build() {
        let (result, _) = read_all(&[
            r#"{"stream":"Step 1/2 : FROM scratch\n"}"#,
            r#"{"errorDetail":{"message":"No such image: sha256:gone"},"error":"No such image: sha256:gone"}"#,
            r#"{"aux":{"ID":"sha256:never"}}"#,
        ]);
        match result {
            Err(Error::BuildFailed(message)) => assert_eq!(message, "No such image: sha256:gone"),
            other => panic!("expected BuildFailed, got {other:?}"),
        }
    }

    #[test]
    fn the_classic_builder_s_step_images_are_noted_and_a_running_step_is_known() {
        // Before anything, after `FROM`, through the copy and the setting: a cancel then waits.
        let mut answer = BuildAnswer::new(Builder::Classic);
        let made = MadeImages::knowing([]);
        let mut running = vec![answer.step_running];
        for line in [
            r#"{"stream":"Step 1/3 : FROM scratch\n"}"#,
            r#"{"stream":" ---\u003e \n"}"#,
            r#"{"stream":"Step 2/3 : COPY --from=sha256:ab / /\n"}"#,
            r#"{"stream":" ---\u003e 31bec908df99\n"}"#,
            r#"{"stream":"Step 3/3 : ENV A=1\n"}"#,
            r#"{"stream":" ---\u003e Running in 5d0c1a2b3c4d\n"}"#,
            r#"{"stream":" ---\u003e Using cache\n"}"#,
            r#"{"stream":" ---> a5855afbc6bf\n"}"#,
            r#"{"aux":{"ID":"sha256:a5855afbc6bf00"}}"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let _ = answer.read(&value, &made, &|_: Progress| {});
            running.push(answer.step_running);
        }
        assert_eq!(
            made.noted(),
            vec!["31bec908df99", "a5855afbc6bf", "sha256:a5855afbc6bf00"]
        );
        assert_eq!(
            running,
            [true, true, true, true, false, true, true, true, false, false]
        );
    }

    #[test]
    fn a_stream_without_an_image_is_a_failed_build() {
        let (result, _) = read_all(&[r#"{"stream":"Step 1/1 : FROM scratch\n"}"#]);
        assert!(matches!(result, Err(Error::BuildFailed(_))));
    }

    #[test]
    fn the_context_holds_only_the_dockerfile() {
        let context = context_with("FROM scratch\n").unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["Dockerfile"]);
    }
}
