//! `squashbox-cli`: Squashbox without a window, for scripts, CI gates and quick checks.
//!
//! ```text
//! squashbox-cli images [--json]
//! squashbox-cli audit IMAGE [--json] [--ci [--lowest-efficiency F] …]
//! squashbox-cli squash IMAGE [--tag TAG] [--env K=V]… [--builder auto|buildkit|classic] [--json]
//! squashbox-cli prune [--dry-run] [--build-cache] [--json]
//! squashbox-cli doctor
//! ```

mod audit;
mod output;
mod prune;
mod squash;

use clap::{Parser, Subcommand};
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::error::ErrorCode;
use squashbox_core::{images, Error};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "squashbox-cli",
    version,
    about = "Understand and shrink Docker images"
)]
struct Cli {
    /// Daemon address to use instead of DOCKER_HOST, the Docker context or the usual sockets,
    /// e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375.
    #[arg(long, global = true, value_name = "ADDRESS")]
    host: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the daemon's images.
    Images {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show where an image's bytes go: layers vs. final filesystem, wasted files, what a squash
    /// would save.
    Audit(audit::AuditArgs),
    /// Squash an image into one layer, its settings carried over, verified before it is tagged.
    Squash(squash::SquashArgs),
    /// Remove dangling images (never tagged ones, never ones a container uses).
    Prune(prune::PruneArgs),
    /// Show every place Squashbox looks for Docker and what each answered.
    Doctor,
}

#[tokio::main]
async fn main() -> ExitCode {
    die_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let env = Environment::from_process(cli.host);
    let result = match cli.command {
        Command::Images { json } => list_images(&env, json).await,
        Command::Audit(args) => audit::run(&env, args).await,
        Command::Squash(args) => squash::run(&env, args).await,
        Command::Prune(args) => prune::run(&env, args).await,
        Command::Doctor => doctor(&env).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("squashbox-cli: {}", output::explain(&err));
            exit_code(&err)
        }
    }
}

async fn list_images(env: &Environment, json: bool) -> Result<ExitCode, Error> {
    let daemon = Daemon::connect(env).await?;
    let list = images::list(&daemon).await?;
    if json {
        output::print_json(&list)?;
    } else {
        output::print_image_table(&list);
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit 0 when some endpoint answers, 3 (as for any unreachable daemon) when none does.
async fn doctor(env: &Environment) -> Result<ExitCode, Error> {
    let attempts = Daemon::diagnose(env).await;
    output::print_attempts(&attempts);
    let connected = Daemon::connect(env).await;
    match &connected {
        Ok(daemon) => {
            let info = daemon.info();
            println!(
                "\nSquashbox will use {} ({}): {} on {}, reached by {}.",
                output::terminal_safe(&info.endpoint.host),
                output::terminal_safe(&info.endpoint.source.describe()),
                output::terminal_safe(&info.product),
                output::terminal_safe(&info.host_name),
                output::terminal_safe(&info.route.to_string())
            );
            if info.route.is_remote() {
                println!("Disk figures are that machine's, as its Docker reports them.");
            }
        }
        Err(err) => println!("\n{}", output::explain(err)),
    }
    Ok(match connected {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => exit_code(&err),
    })
}

/// `squashbox-cli images | head` closes our stdout early; like other Unix tools we then stop
/// without a word, where Rust's default would panic in the next `println!`.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: SIG_DFL installs no handler of ours; it only makes SIGPIPE end the process again.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Distinct codes so scripts can tell "Docker is down" from "no such image" (2 is clap's usage
/// error).
fn exit_code(err: &Error) -> ExitCode {
    ExitCode::from(match err.code() {
        // A connection lost mid-job is Docker gone too (stopped, restarting).
        ErrorCode::DaemonUnavailable | ErrorCode::Stream => 3,
        ErrorCode::ImageNotFound => 4,
        ErrorCode::InvalidInput => 5,
        ErrorCode::Cancelled => 130,
        ErrorCode::MalformedArchive => 6,
        ErrorCode::BuildFailed => 7,
        ErrorCode::Daemon | ErrorCode::Io => 1,
    })
}
