//! `squashbox-cli squash`: the direct or multi-stage squash with the source's settings carried over,
//! edited from flags, verified before the tag is given.

use clap::{Args, ValueEnum};
use squashbox_core::audit::audit_image_with_files;
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::Progress;
use squashbox_core::squash::{
    self, KeyValue, Method, MethodChoice, SourceAudit, SquashOptions, SquashPlan,
};
use squashbox_core::units::percent;
use squashbox_core::Error;
use std::io::IsTerminal;
use std::process::ExitCode;

use crate::output::{cancel_on_ctrl_c, human_bytes, print_json, terminal_safe, ProgressBar};

/// Exit code when the squashed image differs from its source (it is then removed, untagged).
const NOT_VERIFIED: u8 = 8;

#[derive(Clone, Copy, ValueEnum)]
enum MethodFlag {
    Auto,
    Direct,
    Multistage,
}

#[derive(Clone, Copy, ValueEnum)]
enum BuilderFlag {
    Auto,
    Buildkit,
    Classic,
}

#[derive(Args)]
pub struct SquashArgs {
    /// The image to squash: name, tag or ID.
    image: String,
    /// Tag for the result (default: <repo>:<tag>-squashed).
    #[arg(long)]
    tag: Option<String>,
    /// Set an environment variable (repeatable): KEY=VALUE.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Remove an environment variable (repeatable).
    #[arg(long = "unset-env", value_name = "KEY")]
    unset_env: Vec<String>,
    /// User: a name or uid[:gid].
    #[arg(long)]
    user: Option<String>,
    /// Working directory (absolute).
    #[arg(long)]
    workdir: Option<String>,
    /// direct: Squashbox writes the one layer itself and loads it (exact on every engine);
    /// multistage: builds `FROM scratch` + `COPY --from`; auto: direct.
    #[arg(long, value_enum, default_value = "auto")]
    method: MethodFlag,
    /// The builder of a multi-stage squash (naming one implies --method multistage). auto:
    /// BuildKit when the source holds nothing it would damage, else classic.
    #[arg(long, value_enum, default_value = "auto")]
    builder: BuilderFlag,
    /// Keep the first N layers as they are (shared with other images on the same base) and
    /// squash the rest into one layer on top. Direct method only.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_layers: u32,
    /// Move the tag even if it already names another image (that image stays, by ID).
    #[arg(long)]
    overwrite: bool,
    /// Once verified, move the source's own tag (IMAGE) to the result too; the source stays,
    /// by ID, until pruned.
    #[arg(long)]
    move_tag: bool,
    /// Print the Dockerfile that would be built, and build nothing.
    #[arg(long)]
    dockerfile: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

fn layers(count: u32) -> String {
    match count {
        1 => "1 layer".to_owned(),
        n => format!("{n} layers"),
    }
}

fn method_words(method: Method) -> &'static str {
    match method {
        Method::Direct => "direct",
        Method::Classic => "multi-stage, classic builder",
        Method::BuildKit => "multi-stage, BuildKit",
    }
}

/// The method the flags ask for: a builder named alone means a multi-stage squash.
fn method_choice(method: MethodFlag, builder: BuilderFlag) -> Result<MethodChoice, Error> {
    Ok(match (method, builder) {
        (MethodFlag::Auto, BuilderFlag::Auto) => MethodChoice::Auto,
        (MethodFlag::Direct, BuilderFlag::Auto) => MethodChoice::Direct,
        (MethodFlag::Direct, _) => return Err(Error::InvalidInput(
            "the direct method uses no builder: leave out --builder, or use --method multistage"
                .into(),
        )),
        (MethodFlag::Multistage, BuilderFlag::Auto) => MethodChoice::MultiStage,
        (_, BuilderFlag::Classic) => MethodChoice::Classic,
        (_, BuilderFlag::Buildkit) => MethodChoice::BuildKit,
    })
}

pub async fn run(env: &Environment, args: SquashArgs) -> Result<ExitCode, Error> {
    let daemon = Daemon::connect(env).await?;
    let inspect = squashbox_core::images::inspect(&daemon, &args.image).await?;
    let mut plan = SquashPlan::from_image(&inspect, &args.image)?;
    apply_edits(&mut plan, &args)?;
    if args.dockerfile {
        print_dockerfile(&squash::render(&plan)?);
        return Ok(ExitCode::SUCCESS);
    }

    let cancel = cancel_on_ctrl_c();
    let bar = ProgressBar::for_stderr();
    let report = |p: Progress| bar.draw(&p);
    let choice = method_choice(args.method, args.builder)?;
    // The direct method reads the source first for what an audit finds (every entry's header); a
    // multi-stage squash left to choose its builder needs to know whether the source holds
    // what BuildKit would damage. An audit with files tells both, and serves the verification.
    let source_audit = match choice {
        MethodChoice::Classic | MethodChoice::BuildKit => SourceAudit::default(),
        // A partial squash (direct only) reads the source itself, for the filesystem of the
        // kept layers too: an audit first would be one reading more.
        _ if args.keep_layers > 0 => SourceAudit::default(),
        MethodChoice::Auto | MethodChoice::Direct | MethodChoice::MultiStage => {
            let (audited, files) =
                audit_image_with_files(&daemon, &plan.source_id, &report, &cancel).await?;
            SourceAudit::of(&audited.report, Some(files))
        }
    };
    let preflight = squash::preflight(&daemon, &plan, choice, source_audit.clone()).await?;
    bar.clear();
    // Said before the work starts, as the window says it beside the Squash button: which method
    // Auto picked and why (or why the one asked for is the one used).
    eprintln!(
        "method: {}: {}",
        method_words(preflight.method.method),
        terminal_safe(&preflight.method.reason)
    );
    for warning in &preflight.warnings {
        eprintln!("warning: {}", terminal_safe(warning));
    }
    if preflight.tag_taken_by.as_deref() == Some(plan.source_id.as_str()) {
        eprintln!(
            "note: {} names the source itself: the tag moves to the squashed image",
            terminal_safe(&plan.tag)
        );
    }
    let options = SquashOptions {
        method: choice,
        overwrite_tag: args.overwrite,
        move_source_tag: args.move_tag,
        keep_layers: args.keep_layers,
    };
    let outcome = squash::squash(&daemon, &plan, &options, source_audit, &report, &cancel).await;
    bar.clear();
    let outcome = outcome?;

    if args.json {
        print_json(&outcome)?;
    } else {
        println!(
            "{} → {} ({})",
            terminal_safe(&args.image),
            terminal_safe(&outcome.tag),
            method_words(outcome.method)
        );
        println!(
            "Before {} in {} · After {} in {} · {:.0}% smaller",
            human_bytes(outcome.size_before),
            layers(outcome.layers_before),
            human_bytes(outcome.size_after),
            layers(outcome.layers_after),
            percent(
                outcome.size_before.saturating_sub(outcome.size_after),
                outcome.size_before
            )
        );
        if (outcome.engine_size_before, outcome.engine_size_after)
            != (outcome.size_before, outcome.size_after)
        {
            println!(
                "(Sizes are the files, unpacked. The engine's own figures, {} → {}, also count the compressed layers.)",
                human_bytes(outcome.engine_size_before),
                human_bytes(outcome.engine_size_after)
            );
        }
        if let Some(moved) = &outcome.moved_tag {
            println!("{} now names the squashed image too.", terminal_safe(moved));
        }
        if outcome.verified.passed {
            println!("Verified: the filesystem and the settings are the source's.");
        } else {
            println!("NOT verified: the result was removed and no tag was given. Differences:");
            for d in &outcome.verified.filesystem {
                println!(
                    "  {}  {:?}: {} → {}",
                    terminal_safe(&d.path),
                    d.what,
                    terminal_safe(&d.source),
                    terminal_safe(&d.result)
                );
            }
            for d in &outcome.verified.config {
                println!(
                    "  {}: {} → {}",
                    terminal_safe(&d.field),
                    terminal_safe(&d.planned),
                    terminal_safe(&d.result)
                );
            }
        }
        for allowed in &outcome.verified.allowed {
            println!("  allowed: {}", terminal_safe(&allowed.note));
        }
        for known in &outcome.known_differences {
            println!(
                "  note: {}: {}",
                terminal_safe(&known.field),
                terminal_safe(&known.detail)
            );
        }
        if !outcome.left_behind.is_empty() {
            println!(
                "Left behind without a name (prune to free): {}",
                terminal_safe(&outcome.left_behind.join(", "))
            );
        }
    }
    Ok(if outcome.verified.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_VERIFIED)
    })
}

/// Redirected, the Dockerfile is for building and must keep every value byte for byte, as
/// `--json` does; at a terminal it is read, so each line is made [`terminal_safe`] (no value
/// holds a line break: the renderer refuses them).
fn print_dockerfile(dockerfile: &str) {
    if std::io::stdout().is_terminal() {
        for line in dockerfile.lines() {
            println!("{}", terminal_safe(line));
        }
    } else {
        print!("{dockerfile}");
    }
}

fn apply_edits(plan: &mut SquashPlan, args: &SquashArgs) -> Result<(), Error> {
    if let Some(tag) = &args.tag {
        plan.tag = tag.clone();
    }
    for pair in &args.env {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::InvalidInput(format!("--env {pair:?}: write KEY=VALUE")))?;
        match plan.env.iter_mut().find(|v| v.key == key) {
            Some(existing) => existing.value = value.to_owned(),
            None => plan.env.push(KeyValue {
                key: key.to_owned(),
                value: value.to_owned(),
            }),
        }
    }
    for key in &args.unset_env {
        plan.env.retain(|v| &v.key != key);
    }
    if let Some(user) = &args.user {
        plan.user = user.clone();
    }
    if let Some(workdir) = &args.workdir {
        plan.working_dir = workdir.clone();
    }
    plan.validate()
}
