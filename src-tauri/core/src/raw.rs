//! A plain JSON GET to the daemon, for the few answers whose shape bollard's models (written
//! for API 1.53) no longer describe at the version we pinned, e.g. `/system/df` on API ≤ 1.51
//! (`LayersSize`, `Images`, …), which bollard reads as an empty struct.
//!
//! HTTP/1.0 keeps this small: the daemon answers without chunking and closes the connection.

use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// `GET /v{api}{path}` and decode the JSON body.
pub async fn get_json<T: DeserializeOwned>(daemon: &Daemon, path: &str) -> Result<T> {
    let info = daemon.info();
    let target = format!("/v{}{}", info.api_version, path);
    let host = info.endpoint.host.as_str();
    let response = if let Some(socket) = host.strip_prefix("unix://") {
        exchange(connect_unix(socket).await?, &target).await?
    } else if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Stream(format!("{addr}: {e}")))?;
        exchange(stream, &target).await?
    } else {
        return Err(Error::Stream(format!(
            "cannot send a plain request to {host}"
        )));
    };
    decode(&response)
}

#[cfg(unix)]
async fn connect_unix(socket: &str) -> Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| Error::Stream(format!("{socket}: {e}")))
}

#[cfg(not(unix))]
async fn connect_unix(socket: &str) -> Result<tokio::net::TcpStream> {
    Err(Error::Stream(format!(
        "unix sockets are not available here: {socket}"
    )))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    target: &str,
) -> Result<Vec<u8>> {
    let request =
        format!("GET {target} HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n");
    let io = |e: std::io::Error| Error::Stream(e.to_string());
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(io)?;
    Ok(response)
}

fn decode<T: DeserializeOwned>(response: &[u8]) -> Result<T> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| Error::Stream("the daemon's answer had no body".into()))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = &response[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Stream("the daemon's answer had no status".into()))?;
    if !(200..300).contains(&status) {
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let message = serde_json::from_slice::<Message>(body)
            .map(|m| m.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
        return Err(Error::Daemon { status, message });
    }
    serde_json::from_slice(body).map_err(|e| Error::Stream(format!("unreadable answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_json_body() {
        let answer =
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"LayersSize\":42}";
        let value: serde_json::Value = decode(answer).unwrap();
        assert_eq!(value["LayersSize"], 42);
    }

    #[test]
    fn daemon_errors_keep_status_and_message() {
        let answer = b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"page not found\"}";
        match decode::<serde_json::Value>(answer) {
            Err(Error::Daemon { status, message }) => {
                assert_eq!(status, 404);
                assert_eq!(message, "page not found");
            }
            other => panic!("expected a daemon error, got {other:?}"),
        }
    }

    #[test]
    fn truncated_answers_are_errors() {
        assert!(matches!(
            decode::<serde_json::Value>(b"HTTP/1.0 200"),
            Err(Error::Stream(_))
        ));
        assert!(matches!(
            decode::<serde_json::Value>(b"HTTP/1.0 200 OK\r\n\r\n{\"a\":"),
            Err(Error::Stream(_))
        ));
    }
}
