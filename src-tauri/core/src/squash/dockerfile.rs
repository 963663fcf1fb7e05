//! The squash as a Dockerfile: the source's filesystem copied into `scratch` in one layer, and
//! its configuration, which `COPY` drops, declared again.
//!
//! ```
//! # fn demo(plan: &squashbox_core::squash::SquashPlan) -> squashbox_core::Result<()> {
//! let dockerfile = squashbox_core::squash::render(plan)?;
//! assert!(dockerfile.contains("FROM scratch\nCOPY --from=sha256:"));
//! # Ok(()) }
//! ```
//!
//! Every value must reach the new image byte for byte, and none may add an instruction. Both
//! builders read a Dockerfile the same way (Engine 20.10's classic builder and BuildKit share
//! the parser and word processing; each rule below was checked against both on that engine):
//!
//! - The parser reads one instruction per line; a line ending in `\` (then only spaces or
//!   tabs) continues on the next. No escape yields a newline, so a line break in a value that
//!   is not JSON is refused, as is a carriage return.
//! - ENV, LABEL, USER, WORKDIR, STOPSIGNAL, EXPOSE and VOLUME values go through word
//!   processing, which expands `$NAME` and `${…}` and removes quotes. Inside double quotes a
//!   backslash escapes only `"`, `$` and `\` and is otherwise kept; outside quotes it escapes
//!   any character. So a word is written bare when it holds only characters special to
//!   nothing ([`is_plain`]), and otherwise in double quotes with `"`, `$` and `\` escaped.
//! - VOLUME's JSON form is word-processed too, element by element after JSON decoding; those
//!   elements are escaped outside quotes (a backslash before `\ $ " '`), and a leading U+FEFF,
//!   which word processing drops, is escaped the same way.
//! - CMD, ENTRYPOINT, SHELL and HEALTHCHECK CMD in JSON form are not processed at all: JSON
//!   string escapes carry any character but NUL, newlines included.
//! - The healthcheck's shell form and ONBUILD triggers are kept as written, so they are
//!   written as they are, and refused when the parser would not read them back (see
//!   [`SquashPlan::validate`]).
//!
//! The file starts with `# escape=\` so it says which escape character it was written for,
//! even though that is the default. The source is named by its image ID, which the classic
//! builder looks up locally; BuildKit instead reads `sha256:…` as a registry name
//! (`docker.io/library/sha256`) and goes looking for it, so a BuildKit squash must `COPY
//! --from` a local tag (measured on Engine 20.10).
//!
//! Why `COPY --from=<image>` and not `FROM <image> AS source`: the source's ONBUILD triggers
//! run when it is used in `FROM`, and their effects would land in the squashed filesystem;
//! naming it in `COPY --from` runs none (both checked with both builders).

use serde::Serialize;
use ts_rs::TS;

use crate::build::Builder;
use crate::error::{Error, Result};
use crate::reference::validate_tag;
use crate::squash::plan::{names_the_id, KeyValue, SquashPlan};

/// The PATH both builders add to a `FROM scratch` image's environment.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The parser reads lines with Go's `bufio.Scanner`, which gives up on lines of 64 KiB.
const MAX_LINE_BYTES: usize = 64 * 1024 - 1;

/// The Dockerfile that builds `plan`: `FROM scratch`, the copy of the source by image ID, then
/// the configuration. For the classic builder; see the module docs for BuildKit.
pub fn render(plan: &SquashPlan) -> Result<String> {
    render_copying(plan, &plan.source_id)
}

/// [`render`], copying from `source`: the source's ID, or a tag of it. BuildKit reads an ID in
/// `--from` as a registry name and goes looking for it online, so a BuildKit squash names a
/// (temporary) tag of the source instead.
pub fn render_copying(plan: &SquashPlan, source: &str) -> Result<String> {
    plan.validate()?;
    if source != plan.source_id {
        validate_tag(source)?;
    }
    let mut out = Lines::default();
    out.push("", "# escape=\\".into())?;
    out.push("", "FROM scratch".into())?;
    out.push("", format!("COPY --from={source} / /"))?;
    write_config(plan, &mut out)?;
    Ok(out.text)
}

/// The squash as a stage to paste into one's own Dockerfile: `FROM scratch AS <stage_name>`
/// and a copy from the source's name (its ID when it has none). It assumes the default escape
/// character, as most Dockerfiles use.
pub fn render_stage(plan: &SquashPlan, stage_name: &str) -> Result<String> {
    plan.validate()?;
    if !is_stage_name(stage_name) {
        return Err(Error::InvalidInput(format!(
            "stage name {stage_name:?} must be a lowercase letter then lowercase letters, digits, '-', '_' or '.'"
        )));
    }
    let named = !names_the_id(&plan.source_name, &plan.source_id);
    let from = if named && validate_tag(&plan.source_name).is_ok() {
        &plan.source_name
    } else {
        &plan.source_id
    };
    let mut out = Lines::default();
    out.push(
        "",
        format!("# {from}, squashed into one layer, with its configuration declared again"),
    )?;
    out.push("", format!("FROM scratch AS {stage_name}"))?;
    out.push("", format!("COPY --from={from} / /"))?;
    write_config(plan, &mut out)?;
    Ok(out.text)
}

/// A way the built image's configuration will differ from the plan's, because a Dockerfile
/// cannot say otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KnownDifference {
    /// The config field, as `docker image inspect` names it.
    pub field: String,
    pub detail: String,
}

/// What the `builder` will make differently from `plan` (measured on Engine 20.10).
pub fn known_differences(plan: &SquashPlan, builder: Builder) -> Vec<KnownDifference> {
    let mut found = Vec::new();
    let mut note = |field: &str, detail: String| {
        found.push(KnownDifference {
            field: field.into(),
            detail,
        })
    };
    match plan.env.iter().position(|v| v.key == "PATH") {
        None => note(
            "Env",
            format!("the builder adds PATH={DEFAULT_PATH} as the first variable"),
        ),
        Some(at) if at > 0 => note(
            "Env",
            format!(
                "PATH moves from position {} to the first: the builder sets it before any ENV",
                at + 1
            ),
        ),
        Some(_) => {}
    }
    if plan.entrypoint.as_ref().is_some_and(Vec::is_empty) {
        note(
            "Entrypoint",
            "an empty entrypoint cannot be declared; the result has none, which runs the same"
                .into(),
        );
    }
    match (builder, plan.working_dir.is_empty()) {
        (Builder::BuildKit, true) => {
            note("WorkingDir", "BuildKit sets / when none is declared".into())
        }
        (Builder::BuildKit, false) => note(
            "RootFS",
            "BuildKit's WORKDIR adds a second, empty layer".into(),
        ),
        (Builder::Classic, false) => note(
            "RootFS",
            "if the working directory is missing from the filesystem, WORKDIR adds a layer creating it"
                .into(),
        ),
        (Builder::Classic, true) => {}
    }
    if builder == Builder::BuildKit && (plan.cmd.is_some() || plan.entrypoint.is_some()) {
        note(
            "ArgsEscaped",
            "BuildKit sets it (only Windows reads it)".into(),
        );
    }
    if plan
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.start_interval != 0)
    {
        note(
            "Healthcheck",
            "a start interval needs Engine 25 or newer: older builders refuse the Dockerfile"
                .into(),
        );
    }
    found
}

/// The order matters twice: WORKDIR comes before USER because BuildKit creates the working
/// directory as the current user and looks a user name up in the image's /etc/passwd, and
/// ENTRYPOINT comes before CMD because ENTRYPOINT clears a CMD declared before it.
fn write_config(plan: &SquashPlan, out: &mut Lines) -> Result<()> {
    out.pairs("env", "ENV", &plan.env)?;
    out.pairs("label", "LABEL", &plan.labels)?;
    if !plan.working_dir.is_empty() {
        out.push(
            "working directory",
            format!("WORKDIR {}", word(&plan.working_dir)),
        )?;
    }
    if !plan.exposed_ports.is_empty() {
        out.push("ports", format!("EXPOSE {}", plan.exposed_ports.join(" ")))?;
    }
    if !plan.volumes.is_empty() {
        let escaped: Vec<String> = plan.volumes.iter().map(|v| escaped_unquoted(v)).collect();
        out.push("volumes", format!("VOLUME {}", json_array(&escaped)))?;
    }
    if !plan.stop_signal.is_empty() {
        out.push("stop signal", format!("STOPSIGNAL {}", plan.stop_signal))?;
    }
    if let Some(shell) = &plan.shell {
        out.push("shell", format!("SHELL {}", json_array(shell)))?;
    }
    if let Some(check) = &plan.healthcheck {
        out.push("healthcheck", healthcheck_line(check))?;
    }
    // An empty entrypoint cannot be declared (the builders store `ENTRYPOINT []` as none).
    if let Some(entrypoint) = plan.entrypoint.as_ref().filter(|e| !e.is_empty()) {
        out.push(
            "entrypoint",
            format!("ENTRYPOINT {}", json_array(entrypoint)),
        )?;
    }
    if let Some(cmd) = &plan.cmd {
        out.push("cmd", format!("CMD {}", json_array(cmd)))?;
    }
    if !plan.user.is_empty() {
        out.push("user", format!("USER {}", word(&plan.user)))?;
    }
    for trigger in &plan.on_build {
        out.push("onbuild trigger", format!("ONBUILD {trigger}"))?;
    }
    Ok(())
}

fn healthcheck_line(check: &crate::squash::plan::Healthcheck) -> String {
    if check.test.first().is_some_and(|t| t == "NONE") {
        return "HEALTHCHECK NONE".into();
    }
    let mut line = String::from("HEALTHCHECK");
    for (flag, ns) in check.durations() {
        if ns != 0 {
            line.push_str(&format!(" --{flag}={}", go_duration(ns)));
        }
    }
    if check.retries != 0 {
        line.push_str(&format!(" --retries={}", check.retries));
    }
    match check.shell_command() {
        Some(command) => line.push_str(&format!(" CMD {command}")),
        None => line.push_str(&format!(" CMD {}", json_array(&check.test[1..]))),
    }
    line
}

/// Nanoseconds as Go's `time.ParseDuration` reads them, in the largest exact unit.
fn go_duration(ns: u64) -> String {
    const UNITS: [(&str, u64); 5] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ];
    UNITS
        .iter()
        .find(|(_, size)| ns.is_multiple_of(*size))
        .map_or_else(
            || format!("{ns}ns"),
            |(unit, size)| format!("{}{unit}", ns / size),
        )
}

#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    fn push(&mut self, field: &str, line: String) -> Result<()> {
        if line.len() > MAX_LINE_BYTES {
            return Err(Error::InvalidInput(format!(
                "{field}: a Dockerfile line cannot be longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        self.text.push_str(&line);
        self.text.push('\n');
        Ok(())
    }

    /// `ENV a=1 \` / `    b=2`: one instruction, one pair per line.
    fn pairs(&mut self, field: &str, instruction: &str, pairs: &[KeyValue]) -> Result<()> {
        let last = pairs.len().saturating_sub(1);
        for (i, KeyValue { key, value }) in pairs.iter().enumerate() {
            let lead = if i == 0 { instruction } else { "   " };
            let tail = if i == last { "" } else { " \\" };
            self.push(field, format!("{lead} {}={}{tail}", word(key), word(value)))?;
        }
        Ok(())
    }
}

/// Special to neither the parser nor word processing, wherever a word stands.
pub fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '/' | '.' | '_' | ':' | '@' | '%' | '+' | ',' | '=' | '-')
}

/// A word that word processing turns back into `value`. A leading `-` is quoted so that no
/// word reads as a `--flag`.
fn word(value: &str) -> String {
    if !value.is_empty() && !value.starts_with('-') && value.chars().all(is_plain) {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// `value` escaped for word processing outside quotes, where a backslash escapes any character.
fn escaped_unquoted(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '$' | '"' | '\'' | '\u{feff}') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn json_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| json_string(s)).collect();
    format!("[{}]", items.join(", "))
}

/// A JSON string with every control character escaped, so the line stays one line.
fn json_string(value: &str) -> String {
    let mut json = String::with_capacity(value.len() + 2);
    json.push('"');
    for c in value.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                json.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => json.push(c),
        }
    }
    json.push('"');
    json
}

fn is_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::squash::plan::Healthcheck;
    use proptest::prelude::*;

    const ID: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn plan() -> SquashPlan {
        SquashPlan {
            source_id: ID.into(),
            source_name: "web:1".into(),
            tag: "web:1-squashed".into(),
            ..Default::default()
        }
    }

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }

    /// A small model of how Docker reads the rendered file back, after moby/buildkit's
    /// `frontend/dockerfile/parser` and `shell/lex.go` (the versions in Engine 20.10 behaved
    /// the same in every probe): lines, continuation, word splitting, word processing.
    mod model {
        /// Logical instructions: comment lines dropped, a line ending in `\` (then spaces or
        /// tabs) joined to the next.
        pub fn instructions(text: &str) -> Vec<String> {
            let mut out = Vec::new();
            let mut current: Option<String> = None;
            for line in text.split('\n') {
                // Comment lines and blank lines are skipped, also inside a continuation.
                if line.trim_start().starts_with('#') || line.trim_start().is_empty() {
                    continue;
                }
                let line = if current.is_none() {
                    line.trim_start()
                } else {
                    line
                };
                let trimmed = line.trim_end_matches([' ', '\t']);
                let (part, continues) = match trimmed.strip_suffix('\\') {
                    Some(part) => (part, true),
                    None => (line, false),
                };
                let joined = current.take().unwrap_or_default() + part;
                if continues {
                    current = Some(joined);
                } else {
                    out.push(joined);
                }
            }
            out
        }

        /// The parser's `parseWords`: split on whitespace outside quotes, quotes kept; a
        /// backslash keeps the next character in the word (but not inside single quotes).
        pub fn split_words(rest: &str) -> Vec<String> {
            let mut words = Vec::new();
            let mut word = String::new();
            let mut started = false;
            let mut quote = None;
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match quote {
                    None if c.is_whitespace() => {
                        if started {
                            words.push(std::mem::take(&mut word));
                            started = false;
                        }
                    }
                    None => {
                        started = true;
                        word.push(c);
                        if c == '"' || c == '\'' {
                            quote = Some(c);
                        } else if c == '\\' {
                            word.extend(chars.next());
                        }
                    }
                    Some(q) => {
                        word.push(c);
                        if c == q {
                            quote = None;
                        } else if c == '\\' && q == '"' {
                            word.extend(chars.next());
                        }
                    }
                }
            }
            if started {
                words.push(word);
            }
            words
        }

        /// `ProcessWord` with no variables defined. None when a `$` would expand, a quote is
        /// left open, or the word starts with U+FEFF (which Go's scanner drops).
        pub fn process_word(word: &str) -> Option<String> {
            if word.starts_with('\u{feff}') {
                return None;
            }
            let mut out = String::new();
            let mut chars = word.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    '$' => return None,
                    '\'' => loop {
                        match chars.next()? {
                            '\'' => break,
                            c => out.push(c),
                        }
                    },
                    '"' => loop {
                        match chars.next()? {
                            '"' => break,
                            '$' => return None,
                            '\\' => match chars.peek() {
                                Some(&next @ ('"' | '$' | '\\')) => {
                                    chars.next();
                                    out.push(next);
                                }
                                _ => out.push('\\'),
                            },
                            c => out.push(c),
                        }
                    },
                    c => out.push(c),
                }
            }
            Some(out)
        }

        pub fn json(rest: &str) -> Vec<String> {
            serde_json::from_str(rest).expect("a JSON array of strings")
        }
    }

    /// Reads `text` back with the model and checks it declares exactly `plan`.
    fn assert_reads_back(text: &str, plan: &SquashPlan) {
        let instructions = model::instructions(text);
        let split = |line: &String| {
            let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
            (keyword.to_owned(), rest.trim().to_owned())
        };
        let parsed: Vec<(String, String)> = instructions.iter().map(split).collect();
        let mut expected = vec!["FROM", "COPY"];
        let optional = [
            ("ENV", !plan.env.is_empty()),
            ("LABEL", !plan.labels.is_empty()),
            ("WORKDIR", !plan.working_dir.is_empty()),
            ("EXPOSE", !plan.exposed_ports.is_empty()),
            ("VOLUME", !plan.volumes.is_empty()),
            ("STOPSIGNAL", !plan.stop_signal.is_empty()),
            ("SHELL", plan.shell.is_some()),
            ("HEALTHCHECK", plan.healthcheck.is_some()),
            (
                "ENTRYPOINT",
                plan.entrypoint.as_ref().is_some_and(|e| !e.is_empty()),
            ),
            ("CMD", plan.cmd.is_some()),
            ("USER", !plan.user.is_empty()),
        ];
        expected.extend(optional.iter().filter(|(_, on)| *on).map(|(k, _)| *k));
        expected.extend(plan.on_build.iter().map(|_| "ONBUILD"));
        let keywords: Vec<&str> = parsed.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keywords, expected, "instructions of\n{text}");

        let mut triggers = Vec::new();
        for ((keyword, rest), line) in parsed.iter().zip(&instructions) {
            let pairs = || -> Vec<KeyValue> {
                model::split_words(rest)
                    .iter()
                    .map(|w| {
                        let (k, v) = w.split_once('=').expect("name=value");
                        kv(
                            &model::process_word(k).expect("key"),
                            &model::process_word(v).expect("value"),
                        )
                    })
                    .collect()
            };
            let single = || model::process_word(rest).expect("one word");
            match keyword.as_str() {
                "ENV" => assert_eq!(pairs(), plan.env),
                "LABEL" => assert_eq!(pairs(), plan.labels),
                "WORKDIR" => assert_eq!(single(), plan.working_dir),
                "USER" => assert_eq!(single(), plan.user),
                "STOPSIGNAL" => assert_eq!(single(), plan.stop_signal),
                "EXPOSE" => {
                    let ports: Option<Vec<String>> =
                        rest.split_whitespace().map(model::process_word).collect();
                    assert_eq!(ports, Some(plan.exposed_ports.clone()));
                }
                "VOLUME" => {
                    let volumes: Vec<String> = model::json(rest)
                        .iter()
                        .map(|v| model::process_word(v).expect("volume"))
                        .collect();
                    assert_eq!(volumes, plan.volumes);
                }
                "CMD" => assert_eq!(Some(model::json(rest)), plan.cmd),
                "ENTRYPOINT" => assert_eq!(Some(model::json(rest)), plan.entrypoint),
                "SHELL" => assert_eq!(Some(model::json(rest)), plan.shell),
                "HEALTHCHECK" => {
                    let after_flags = rest
                        .split_once("CMD ")
                        .map(|(_, command)| command.trim())
                        .expect("CMD");
                    let leading_json = serde_json::Deserializer::from_str(after_flags)
                        .into_iter::<Vec<String>>()
                        .next();
                    let test = match leading_json {
                        Some(Ok(args)) => [vec!["CMD".to_owned()], args].concat(),
                        _ => vec!["CMD-SHELL".to_owned(), after_flags.to_owned()],
                    };
                    assert_eq!(
                        Some(test),
                        plan.healthcheck.as_ref().map(|h| h.test.clone())
                    );
                }
                // The trigger is the line as written, minus `ONBUILD` and the blanks after it.
                "ONBUILD" => triggers.push(
                    line.trim_start()["ONBUILD".len()..]
                        .trim_start_matches([' ', '\t'])
                        .to_owned(),
                ),
                "FROM" => assert_eq!(rest, "scratch"),
                "COPY" => assert_eq!(rest, &format!("--from={} / /", plan.source_id)),
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(triggers, plan.on_build);
    }

    fn invalid_input(result: Result<String>) -> String {
        match result {
            Err(Error::InvalidInput(message) | Error::InvalidSetting { message, .. }) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn a_bare_plan_is_a_copy_from_the_image_id() {
        assert_eq!(
            render(&plan()).unwrap(),
            format!("# escape=\\\nFROM scratch\nCOPY --from={ID} / /\n")
        );
    }

    #[test]
    fn plain_words_stay_bare_and_others_are_quoted() {
        assert_eq!(word("/usr/local/bin:/bin"), "/usr/local/bin:/bin");
        assert_eq!(word("a=b,c@d%e+f"), "a=b,c@d%e+f");
        assert_eq!(word(""), "\"\"");
        assert_eq!(word("-x"), "\"-x\"");
        assert_eq!(word("#x"), "\"#x\"");
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word("$HOME"), "\"\\$HOME\"");
        assert_eq!(word("${X}"), "\"\\${X}\"");
        assert_eq!(word("\"q\""), "\"\\\"q\\\"\"");
        assert_eq!(word("it's"), "\"it's\"");
        assert_eq!(word("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(word("end\\"), "\"end\\\\\"");
        assert_eq!(word("  spaces  "), "\"  spaces  \"");
        assert_eq!(word("üñí €"), "\"üñí €\"");
        assert_eq!(word("tab\tx"), "\"tab\tx\"");
        assert_eq!(
            word("\\n"),
            "\"\\\\n\"",
            "a backslash-n stays two characters"
        );
    }

    #[test]
    fn env_and_labels_are_one_instruction_with_a_pair_per_line() {
        let plan = SquashPlan {
            env: vec![kv("PATH", "/bin"), kv("A", "$HOME"), kv("E", "")],
            labels: vec![kv("org.x", "1"), kv("with space", "it's")],
            ..plan()
        };
        let text = render(&plan).unwrap();
        assert!(
            text.contains("ENV PATH=/bin \\\n    A=\"\\$HOME\" \\\n    E=\"\"\n"),
            "{text}"
        );
        assert!(
            text.contains("LABEL org.x=1 \\\n    \"with space\"=\"it's\"\n"),
            "{text}"
        );
        assert_reads_back(&text, &plan);
    }

    #[test]
    fn every_field_renders_in_a_safe_order() {
        let plan = SquashPlan {
            env: vec![kv("A", "1")],
            labels: vec![kv("l", "v")],
            user: "app:app".into(),
            working_dir: "/srv/my app".into(),
            cmd: Some(vec!["serve".into(), "--port=$PORT".into()]),
            entrypoint: Some(vec!["/bin/app".into()]),
            exposed_ports: vec!["80/tcp".into(), "53/udp".into()],
            volumes: vec!["/data".into(), "/it's $x".into()],
            stop_signal: "SIGINT".into(),
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "/bin/check".into()],
                interval: 30_000_000_000,
                timeout: 1_500_000_000,
                start_period: 2_000_000,
                start_interval: 0,
                retries: 3,
            }),
            shell: Some(vec!["/bin/sh".into(), "-c".into()]),
            on_build: vec!["RUN make".into(), "COPY . /src  ".into()],
            ..plan()
        };
        let text = render(&plan).unwrap();
        let expected = format!(
            "# escape=\\\nFROM scratch\nCOPY --from={ID} / /\nENV A=1\nLABEL l=v\n\
             WORKDIR \"/srv/my app\"\nEXPOSE 80/tcp 53/udp\n\
             VOLUME [\"/data\", \"/it\\\\'s \\\\$x\"]\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/sh\", \"-c\"]\n\
             HEALTHCHECK --interval=30s --timeout=1500ms --start-period=2ms --retries=3 CMD [\"/bin/check\"]\n\
             ENTRYPOINT [\"/bin/app\"]\nCMD [\"serve\", \"--port=$PORT\"]\nUSER app:app\n\
             ONBUILD RUN make\nONBUILD COPY . /src  \n"
        );
        assert_eq!(text, expected);
        assert_reads_back(&text, &plan);
    }

    #[test]
    fn json_arrays_carry_newlines_and_control_characters_escaped() {
        let args = vec![
            "a\nb".to_owned(),
            "\"q\" \\ $X".to_owned(),
            "\u{1}\u{7f}\u{2028}".to_owned(),
            String::new(),
        ];
        assert_eq!(
            json_array(&args),
            "[\"a\\nb\", \"\\\"q\\\" \\\\ $X\", \"\\u0001\\u007f\\u2028\", \"\"]"
        );
        let plan = SquashPlan {
            cmd: Some(args),
            ..plan()
        };
        let text = render(&plan).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert_reads_back(&text, &plan);
    }

    #[test]
    fn an_empty_cmd_is_declared_and_an_empty_entrypoint_is_not() {
        let plan = SquashPlan {
            cmd: Some(vec![]),
            entrypoint: Some(vec![]),
            ..plan()
        };
        let text = render(&plan).unwrap();
        assert!(
            text.ends_with("CMD []\n") && !text.contains("ENTRYPOINT"),
            "{text}"
        );
        let differences = known_differences(&plan, Builder::Classic);
        assert!(differences.iter().any(|d| d.field == "Entrypoint"));
    }

    #[test]
    fn volumes_escape_what_word_processing_reads() {
        assert_eq!(escaped_unquoted("/a b"), "/a b");
        assert_eq!(escaped_unquoted("/$x\\\"'"), "/\\$x\\\\\\\"\\'");
        assert_eq!(escaped_unquoted("\u{feff}/x"), "\\\u{feff}/x");
    }

    #[test]
    fn healthchecks_render_in_each_form() {
        let check = |test: &[&str]| Healthcheck {
            test: test.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(healthcheck_line(&check(&["NONE"])), "HEALTHCHECK NONE");
        assert_eq!(
            healthcheck_line(&check(&["CMD-SHELL", "[ -f /ok ] || exit 1"])),
            "HEALTHCHECK CMD [ -f /ok ] || exit 1"
        );
        let all = Healthcheck {
            start_interval: 5_000_000_000,
            ..check(&["CMD", "a b"])
        };
        assert_eq!(
            healthcheck_line(&all),
            "HEALTHCHECK --start-interval=5s CMD [\"a b\"]"
        );
    }

    #[test]
    fn durations_use_the_largest_exact_unit() {
        assert_eq!(go_duration(7_200_000_000_000), "2h");
        assert_eq!(go_duration(90_000_000_000), "90s");
        assert_eq!(go_duration(120_000_000_000), "2m");
        assert_eq!(go_duration(1_500_000_000), "1500ms");
        assert_eq!(go_duration(1_000_001_000), "1000001us");
        assert_eq!(go_duration(1_000_000_001), "1000000001ns");
    }

    #[test]
    fn unsafe_values_are_refused_naming_the_field() {
        let message = invalid_input(render(&SquashPlan {
            env: vec![kv("A", "x\nRUN rm -rf /")],
            ..plan()
        }));
        assert!(
            message.contains("env \"A\"") && message.contains("line break"),
            "{message}"
        );
        let message = invalid_input(render(&SquashPlan {
            on_build: vec!["RUN x\nRUN y".into()],
            ..plan()
        }));
        assert!(message.contains("onbuild"), "{message}");
    }

    #[test]
    fn lines_longer_than_the_parser_reads_are_refused() {
        let long = SquashPlan {
            labels: vec![kv("big", &"x".repeat(MAX_LINE_BYTES))],
            ..plan()
        };
        assert!(invalid_input(render(&long)).contains("label"));
        let fits = SquashPlan {
            labels: vec![
                kv("big", &"x".repeat(60_000)),
                kv("big2", &"y".repeat(60_000)),
            ],
            ..plan()
        };
        render(&fits).unwrap();
    }

    #[test]
    fn a_stage_copies_from_the_source_name() {
        let text = render_stage(&plan(), "squashed").unwrap();
        assert!(text.starts_with("# web:1, squashed"), "{text}");
        assert!(text.contains("FROM scratch AS squashed\nCOPY --from=web:1 / /\n"));
        assert!(!text.contains("escape"));
        let dangling = SquashPlan {
            source_name: "0123456789ab".into(),
            ..plan()
        };
        let text = render_stage(&dangling, "s").unwrap();
        assert!(text.contains(&format!("COPY --from={ID} / /")), "{text}");
        assert!(invalid_input(render_stage(&plan(), "Bad Name")).contains("stage name"));
        let named_like_a_host = SquashPlan {
            source_name: "x\nRUN y".into(),
            ..plan()
        };
        assert!(render_stage(&named_like_a_host, "s").unwrap().contains(ID));
    }

    #[test]
    fn known_differences_depend_on_the_builder() {
        let fields = |plan: &SquashPlan, builder| -> Vec<String> {
            known_differences(plan, builder)
                .into_iter()
                .map(|d| d.field)
                .collect()
        };
        assert_eq!(fields(&plan(), Builder::Classic), vec!["Env"]);
        assert_eq!(
            fields(&plan(), Builder::BuildKit),
            vec!["Env", "WorkingDir"]
        );
        let first_path = SquashPlan {
            env: vec![kv("PATH", "/bin"), kv("A", "1")],
            working_dir: "/srv".into(),
            cmd: Some(vec![]),
            ..plan()
        };
        assert_eq!(fields(&first_path, Builder::Classic), vec!["RootFS"]);
        assert_eq!(
            fields(&first_path, Builder::BuildKit),
            vec!["RootFS", "ArgsEscaped"]
        );
        let later_path = SquashPlan {
            env: vec![kv("A", "1"), kv("PATH", "/bin")],
            ..plan()
        };
        assert!(known_differences(&later_path, Builder::Classic)[0]
            .detail
            .contains("position 2"));
    }

    #[test]
    fn the_model_reads_docker_words_as_measured() {
        // Each case is what Engine 20.10 stored for the word (probed with both builders).
        for (word, stored) in [
            ("\"\\$HOME\"", "$HOME"),
            ("\"a\\b\"", "a\\b"),
            ("\"a\\nb\"", "a\\nb"),
            ("\"x\\'y\"", "x\\'y"),
            ("\"\\{\"", "\\{"),
            ("a\\ b", "a b"),
            ("'$X'", "$X"),
            ("\"end\\\\\"", "end\\"),
        ] {
            assert_eq!(model::process_word(word).as_deref(), Some(stored), "{word}");
        }
        assert_eq!(
            model::split_words("A=\"x y\" B=a\\ b C='q r'"),
            vec!["A=\"x y\"", "B=a\\ b", "C='q r'"]
        );
    }

    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            30 => prop::sample::select(vec![
                'a', 'Z', '0', ' ', '\t', '$', '{', '}', '"', '\'', '\\', '=', '#', '-', '/', ':',
                '[', ']', ',', 'é', '€', '\u{feff}', '\u{a0}', '\u{85}', '\u{2028}', '\u{1}',
            ]),
            1 => prop::sample::select(vec!['\n', '\r', '\0']),
            3 => any::<char>(),
        ]
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        prop::collection::vec(tricky_char(), 0..8).prop_map(|c| c.into_iter().collect())
    }

    fn pairs(key: BoxedStrategy<String>) -> impl Strategy<Value = Vec<KeyValue>> {
        prop::collection::vec((key, tricky_string()), 0..4).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(key, value)| KeyValue { key, value })
                .collect()
        })
    }

    fn arbitrary_plan() -> impl Strategy<Value = SquashPlan> {
        let env_key = prop_oneof![4 => "[A-Za-z_][A-Za-z0-9_]{0,5}", 1 => tricky_string()].boxed();
        let label_key = prop_oneof![4 => "[a-z.]{1,6}", 1 => tricky_string()].boxed();
        let user = prop_oneof![
            1 => Just(String::new()),
            4 => "[a-z_][a-z0-9_-]{0,5}(:[0-9]{1,4})?",
            1 => tricky_string()
        ];
        let args = || prop::option::of(prop::collection::vec(tricky_string(), 0..3));
        (
            (pairs(env_key), pairs(label_key), user, tricky_string()),
            (args(), args()),
            prop::collection::vec(tricky_string(), 0..3),
            prop::collection::vec(tricky_string(), 0..2),
            prop::option::of(tricky_string()),
        )
            .prop_map(
                |((env, labels, user, dir), (cmd, entrypoint), volumes, triggers, check)| {
                    SquashPlan {
                        env,
                        labels,
                        user,
                        working_dir: format!("/{dir}"),
                        cmd,
                        entrypoint,
                        volumes: volumes.into_iter().map(|v| format!("/{v}")).collect(),
                        on_build: triggers.into_iter().map(|t| format!("RUN {t}")).collect(),
                        healthcheck: check.map(|command| Healthcheck {
                            test: vec!["CMD-SHELL".into(), command],
                            ..Default::default()
                        }),
                        ..plan()
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Either the renderer refuses, or Docker's reading of the file declares exactly the
        /// plan: the instructions we wrote and no other, each value byte for byte.
        #[test]
        fn rendered_files_read_back_as_the_plan(plan in arbitrary_plan()) {
            match render(&plan) {
                Ok(text) => assert_reads_back(&text, &plan),
                Err(Error::InvalidInput(_) | Error::InvalidSetting { .. }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }

        /// Refusal is kept for what cannot be written: any env value or label without a line
        /// break or NUL renders.
        #[test]
        fn only_line_breaks_and_nul_are_refused_in_values(
            values in prop::collection::vec(tricky_string(), 1..4)
        ) {
            let values: Vec<String> = values
                .into_iter()
                .filter(|v| !v.contains(['\n', '\r', '\0']))
                .collect();
            let plan = SquashPlan {
                env: values.iter().enumerate().map(|(i, v)| kv(&format!("V{i}"), v)).collect(),
                labels: values.iter().enumerate().map(|(i, v)| kv(&format!("l{i}"), v)).collect(),
                ..plan()
            };
            let text = render(&plan).expect("renders");
            assert_reads_back(&text, &plan);
        }
    }
}
