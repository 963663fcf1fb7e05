//! `squashbox-cli prune`: removes the dangling images (and with `--build-cache` the build cache),
//! or with `--dry-run` only says what would go.

use clap::Args;
use squashbox_core::daemon::Daemon;
use squashbox_core::endpoint::Environment;
use squashbox_core::job::{CancelToken, Progress};
use squashbox_core::{prune, Error};
use std::process::ExitCode;

use crate::output::{human_bytes, print_json, terminal_safe};

#[derive(Args)]
pub struct PruneArgs {
    /// List what would be removed and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also free the build cache no build is using.
    #[arg(long)]
    build_cache: bool,
    /// Print JSON: imagesDeleted (IDs), spaceReclaimed (bytes), and the rest.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Environment, args: PruneArgs) -> Result<ExitCode, Error> {
    let daemon = Daemon::connect(env).await?;
    let preview = prune::preview_images(&daemon).await?;
    let cache = match args.build_cache {
        true => Some(prune::preview_build_cache(&daemon).await?),
        false => None,
    };
    if args.dry_run {
        if args.json {
            print_json(&serde_json::json!({
                "dryRun": true,
                "images": preview.images,
                "estimatedBytes": preview.estimated_bytes,
                "keptInUse": preview.kept_in_use,
                "buildCache": cache,
                "imagesDeleted": [],
                "spaceReclaimed": 0,
            }))?;
        } else {
            print_preview(&preview);
            if let Some(cache) = &cache {
                println!(
                    "Build cache: {} entries, {} to free.",
                    cache.entries,
                    human_bytes(cache.reclaimable)
                );
            }
            println!("Dry run: nothing was removed.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let ids: Vec<String> = preview.images.iter().map(|i| i.id.clone()).collect();
    let result = prune::prune_images(&daemon, &ids, &|_: Progress| {}, &CancelToken::new()).await?;
    let cache_result = match args.build_cache {
        true => Some(prune::prune_build_cache(&daemon).await?),
        false => None,
    };
    if args.json {
        print_json(&serde_json::json!({
            "dryRun": false,
            "imagesDeleted": result.images_deleted,
            "spaceReclaimed": result.space_reclaimed,
            "skipped": result.skipped,
            "buildCache": cache_result,
        }))?;
    } else {
        for id in &result.images_deleted {
            println!("deleted {}", terminal_safe(id));
        }
        for skipped in &result.skipped {
            println!(
                "kept    {} ({})",
                terminal_safe(&skipped.id),
                terminal_safe(&skipped.reason)
            );
        }
        println!(
            "{} images removed, {} reclaimed (the daemon's figure).",
            result.images_deleted.len(),
            human_bytes(result.space_reclaimed)
        );
        if let Some(cache) = cache_result {
            println!(
                "Build cache: {} entries removed, {} reclaimed.",
                cache.entries_deleted,
                human_bytes(cache.space_reclaimed)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_preview(preview: &prune::PrunePreview) {
    if preview.images.is_empty() {
        println!("No dangling images to remove.");
    } else {
        println!("{:<14} {:>10} {:>12}  WHY", "IMAGE", "SIZE", "FREES ABOUT");
        for image in &preview.images {
            let why = match &image.left_by {
                Some(name) => format!("left by squashing {}", terminal_safe(name)),
                None => String::new(),
            };
            println!(
                "{:<14} {:>10} {:>12}  {why}",
                terminal_safe(&image.short_id),
                human_bytes(image.size),
                human_bytes(image.unique_size)
            );
        }
        println!(
            "{} dangling images, about {} to free.",
            preview.images.len(),
            human_bytes(preview.estimated_bytes)
        );
    }
    if preview.kept_in_use > 0 {
        println!(
            "{} dangling images stay: containers use them.",
            preview.kept_in_use
        );
    }
}
