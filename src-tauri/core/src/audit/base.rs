//! Where the base image ends, read from the image config's history: a base image's Dockerfile
//! ends with the command it runs (`CMD ["bash"]`, `ENTRYPOINT …`), and an image built `FROM`
//! it carries that history first. So the last such step that has layers after it marks the
//! base's top layer. A guess, offered as a suggestion (the partial squash keeps those layers
//! byte for byte, shared with every image on the same base), never acted on by itself.

use super::archive::HistoryItem;

/// How many of the image's `layers` the base image gave it, from the config's history; `None`
/// when the history does not say (no such step, none with layers after it, or a history that
/// does not account for every layer).
pub(super) fn base_layers(history: &[HistoryItem], layers: usize) -> Option<u32> {
    let mut below = 0usize;
    let mut base = None;
    for step in history {
        if !step.empty_layer {
            below += 1;
        } else if step.created_by.as_deref().is_some_and(runs_a_command) && below > 0 {
            base = Some(below);
        }
    }
    // A history that does not pair with the layers says nothing about them.
    if below != layers {
        return None;
    }
    base.filter(|&base| base < layers)
        .and_then(|base| u32::try_from(base).ok())
}

/// `CMD …` or `ENTRYPOINT …`, as BuildKit writes the step or as the classic builder and
/// Buildah do (`/bin/sh -c #(nop)  CMD ["bash"]`).
fn runs_a_command(created_by: &str) -> bool {
    let step = created_by.trim_start();
    let step = step
        .strip_prefix("/bin/sh -c #(nop)")
        .unwrap_or(step)
        .trim_start();
    ["CMD", "ENTRYPOINT"].iter().any(|word| {
        step.strip_prefix(word)
            .is_some_and(|rest| rest.starts_with([' ', '[']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(steps: &[(&str, bool)]) -> Vec<HistoryItem> {
        steps
            .iter()
            .map(|&(by, empty)| HistoryItem {
                created_by: Some(by.to_owned()),
                empty_layer: empty,
            })
            .collect()
    }

    #[test]
    fn the_base_ends_at_its_last_cmd_with_layers_after_it() {
        let built_by_classic = config(&[
            ("/bin/sh -c #(nop) ADD file:4f7bd01a2b in / ", false),
            ("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
            ("/bin/sh -c apt-get update", false),
            ("/bin/sh -c #(nop)  ENV A=1", true),
            ("/bin/sh -c make", false),
        ]);
        assert_eq!(base_layers(&built_by_classic, 3), Some(1));
        // A base on a base (python on debian): the nearer one counts.
        let by_buildkit = config(&[
            ("ADD file:… in /", false),
            ("CMD [\"bash\"]", true),
            ("RUN apt-get install python3", false),
            ("RUN pip install wheel", false),
            ("ENTRYPOINT [\"python3\"]", true),
            ("COPY . /app # buildkit", false),
        ]);
        assert_eq!(base_layers(&by_buildkit, 4), Some(3));
    }

    #[test]
    fn no_guess_where_the_history_does_not_say() {
        // The image's own CMD, last: nothing after it to squash.
        let own_cmd_last = config(&[
            ("ADD file:… in /", false),
            ("RUN make", false),
            ("CMD [\"/app\"]", true),
        ]);
        assert_eq!(base_layers(&own_cmd_last, 2), None);
        // No CMD at all; a CMD before any layer; words that only start like one.
        let none = config(&[("ADD file:… in /", false), ("RUN make", false)]);
        assert_eq!(base_layers(&none, 2), None);
        let first = config(&[("CMD [\"sh\"]", true), ("RUN make", false)]);
        assert_eq!(base_layers(&first, 1), None);
        let lookalike = config(&[
            ("ADD file:… in /", false),
            ("CMDLINE=1 /bin/sh -c true", true),
            ("RUN make", false),
        ]);
        assert_eq!(base_layers(&lookalike, 2), None);
        // A history that does not pair with the layers (an imported image has one entry).
        let short = config(&[
            ("ADD file:… in /", false),
            ("CMD [\"bash\"]", true),
            ("RUN make", false),
        ]);
        assert_eq!(base_layers(&short, 5), None);
        assert_eq!(base_layers(&[], 2), None);
    }
}
