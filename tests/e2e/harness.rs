//! Starts Xvfb (when there is no display), tauri-driver and the app, and stops them again.

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One window at a time: the tests share the display and the driver's native port.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(30);

pub struct App {
    pub client: Client,
    // Fields drop in order: the driver (and with it the app) before the display.
    _driver: Process,
    _display: Option<Process>,
    /// The X display the window is on (`:99`), for what WebDriver cannot reach: native dialogs.
    display_name: String,
    _config: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// A child process stopped when dropped, so a failing test leaves nothing running.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

impl App {
    /// Opens the app with extra environment variables (e.g. a dead DOCKER_HOST).
    pub async fn launch(env: &[(&str, &str)]) -> App {
        let turn = ONE_AT_A_TIME.lock().await;
        let (display, display_name) = ensure_display();
        // A config folder of its own, so no saved setting of the user's steers the test, and
        // a Downloads folder of its own (named the XDG way) for exported reports.
        let config = tempfile::tempdir().unwrap();
        let downloads = config.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        std::fs::write(
            config.path().join("user-dirs.dirs"),
            format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
        )
        .unwrap();
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(tool("tauri-driver"));
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", &display_name)
            .env("XDG_CONFIG_HOME", config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let driver = Process(command.spawn().expect("tauri-driver starts"));
        wait_for_port(port);
        // tauri-driver forwards the new session to WebKitWebDriver, which it starts beside
        // itself; asked before that one listens, it drops the request (hyper's
        // IncompleteMessage here, seen on a busy machine).
        wait_for_port(native_port);

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": env!("CARGO_BIN_EXE_squashbox") }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = format!("http://127.0.0.1:{port}");
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let session = builder.connect(&url);
        let client = tokio::time::timeout(WAIT, session)
            .await
            .expect("the app's WebDriver session opens in time")
            .expect("a WebDriver session on the app");
        App {
            client,
            _driver: driver,
            _display: display,
            display_name,
            _config: config,
            _turn: turn,
        }
    }

    /// Where the app saves exported reports.
    pub fn downloads(&self) -> PathBuf {
        self._config.path().join("downloads")
    }

    /// The text of the first element matching `css`, once it has some. Read as the DOM's
    /// textContent: WebKitWebDriver's element text came back empty for rows of the audit view's
    /// tables although they were on screen.
    pub async fn wait_for_text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.text_of(css).await;
            if let Some(text) = text.as_ref().filter(|t| !t.is_empty()) {
                return text.clone();
            }
            assert!(
                started.elapsed() < WAIT,
                "{css} never showed text: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css` once it contains `needle`, waiting up to
    /// `within` (a squash builds and reads two images: longer than a click takes).
    pub async fn wait_for_text_containing(
        &self,
        css: &str,
        needle: &str,
        within: Duration,
    ) -> String {
        let started = Instant::now();
        loop {
            let text = self.text_of(css).await;
            if text.as_deref().is_some_and(|t| t.contains(needle)) {
                return text.unwrap_or_default();
            }
            assert!(
                started.elapsed() < within,
                "{css} never contained {needle:?}; last text: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The DOM's textContent of the first element matching `css`, whitespace collapsed.
    async fn text_of(&self, css: &str) -> Option<String> {
        let script =
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        match self.client.execute(script, vec![css.into()]).await {
            Ok(serde_json::Value::String(text)) => {
                Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
            }
            _ => None,
        }
    }

    /// Clicks the element matching `css` once it is there and can be clicked (a button that
    /// shows on a selected row appears a frame after the selection).
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if element.click().await.is_ok() {
                    return;
                }
            }
            assert!(started.elapsed() < WAIT, "{css} never became clickable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Filters the list down to the one row whose tag is `tag` and returns that row's selector,
    /// as a person looking for one image would. WebDriver clicks at the element's coordinates:
    /// in the full list, another test's build landing meanwhile inserts a row above (newest
    /// first) and the click lands on a neighbour (seen in CI: the squash opened on `<none>`).
    pub async fn only_row_of(&self, tag: &str, id: &str) -> String {
        let filter = self
            .client
            .find(Locator::Css("[data-testid=filter]"))
            .await
            .unwrap();
        filter.send_keys(tag).await.unwrap();
        self.wait_until_rows(|rows| rows.len() == 1 && rows[0].contains(tag))
            .await;
        format!("[data-testid=image-row][data-image-id=\"{id}\"]")
    }

    /// The text of every image row, once one of them contains `needle`.
    pub async fn wait_for_rows_containing(&self, needle: &str) -> Vec<String> {
        self.wait_until_rows(|rows| rows.iter().any(|r| r.contains(needle)))
            .await
    }

    pub async fn wait_until_rows(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let started = Instant::now();
        loop {
            let rows = self.row_texts().await;
            if done(&rows) {
                return rows;
            }
            assert!(
                started.elapsed() < WAIT,
                "rows never became as expected: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn row_texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        let rows = self
            .client
            .find_all(Locator::Css("[data-testid=image-row]"))
            .await
            .unwrap_or_default();
        for row in rows {
            if let Ok(text) = row.text().await {
                texts.push(text);
            }
        }
        texts
    }

    /// Saves a screenshot under target/e2e-screenshots/ for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Accepts the system's save dialog as it opened (its folder, its suggested name), as a
    /// person pressing Enter would. WebDriver sees only the web page, so this goes through X:
    /// the dialog's window is found by its title and given the keyboard (no window manager
    /// runs here to do that).
    pub fn accept_save_dialog(&self, title: &str) {
        let xdotool = |args: &[&str]| {
            let output = std::process::Command::new("xdotool")
                .args(args)
                .env("DISPLAY", &self.display_name)
                .output()
                .expect("xdotool is installed (the README test command installs it)");
            assert!(
                output.status.success(),
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        let started = Instant::now();
        let window = loop {
            let found = std::process::Command::new("xdotool")
                .args(["search", "--onlyvisible", "--name", title])
                .env("DISPLAY", &self.display_name)
                .output()
                .expect("xdotool is installed");
            if let Some(id) = String::from_utf8_lossy(&found.stdout).lines().last() {
                break id.to_owned();
            }
            assert!(
                started.elapsed() < WAIT,
                "no save dialog titled {title:?} appeared"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        xdotool(&["windowfocus", "--sync", &window]);
        xdotool(&["key", "Return"]);
    }

    /// Sizes the window as a person would drag it, and waits until the page has that size.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window can be resized");
        let started = Instant::now();
        loop {
            let inner = self
                .client
                .execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await
                .unwrap();
            if inner == serde_json::json!([width, height]) {
                return;
            }
            assert!(started.elapsed() < WAIT, "the page stayed {inner}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session politely; dropping the App then stops the driver and the display.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.clone().close()).await;
    }
}

/// SIGTERM, not SIGKILL: tauri-driver then stops WebKitWebDriver and the app too.
fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The display to use: the session's own, or a fresh Xvfb on a display number it picks itself
/// (`-displayfd`), so stale locks of earlier runs never collide with ours.
fn ensure_display() -> (Option<Process>, String) {
    if let Ok(display) = std::env::var("DISPLAY") {
        if !display.is_empty() {
            return (None, display);
        }
    }
    let mut xvfb = Process(
        Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                // Room for the largest window a test asks for (1400×900).
                "1600x1000x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (the README test command installs it)"),
    );
    let stdout = xvfb.0.stdout.take().expect("Xvfb's stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("Xvfb reports its display");
    let number = line.trim();
    assert!(!number.is_empty(), "Xvfb did not start");
    (Some(xvfb), format!(":{number}"))
}

fn tool(name: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo/bin").join(name))
        .filter(|p| p.exists());
    cargo_bin.unwrap_or_else(|| PathBuf::from(name))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the driver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
