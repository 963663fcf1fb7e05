//! Plain HTTP to the daemon, for what bollard cannot do at the version we pinned:
//! - `/system/df` on API ≤ 1.51 (`LayersSize`, `Images`, …), which bollard's 1.53 model reads as
//!   an empty struct;
//! - `/build` with BuildKit (`version=2`): its progress arrives as `aux` strings (base64
//!   protobuf) that bollard without its gRPC feature cannot decode, failing the whole stream.
//!
//! Each request opens its own connection through the daemon's [`crate::transport::Dialer`]:
//! the same route (socket, pipe, TCP, TLS, ssh) as bollard's requests.
//!
//! HTTP/1.0 keeps this small: the daemon answers without chunking and closes the connection, so
//! the body is everything after the headers.

use serde::de::DeserializeOwned;
use std::ops::ControlFlow;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::transport::Connection;

/// `GET /v{api}{path}` and decode the JSON body.
pub async fn get_json<T: DeserializeOwned>(daemon: &Daemon, path: &str) -> Result<T> {
    let (mut conn, target) = open(daemon, path).await?;
    let request =
        format!("GET {target} HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n");
    conn.write_all(request.as_bytes()).await.map_err(io)?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.map_err(io)?;
    decode(&response)
}

/// `POST /v{api}{path}` with `body`, handing each JSON value of the streamed answer to `on_value`
/// as it arrives; `Break` from it closes the connection (the daemon then stops the work).
pub async fn post_streaming(
    daemon: &Daemon,
    path: &str,
    content_type: &str,
    body: &[u8],
    mut on_value: impl FnMut(serde_json::Value) -> ControlFlow<()>,
) -> Result<()> {
    let (mut conn, target) = open(daemon, path).await?;
    let head = format!(
        "POST {target} HTTP/1.0\r\nHost: docker\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.map_err(io)?;
    conn.write_all(body).await.map_err(io)?;

    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut body_start = None;
    loop {
        let n = conn.read(&mut chunk).await.map_err(io)?;
        buffer.extend_from_slice(&chunk[..n]);
        if body_start.is_none() {
            if let Some(end) = find_header_end(&buffer) {
                let status = status_of(&buffer[..end])?;
                if !(200..300).contains(&status) {
                    // An error answer is short: read it whole for its message.
                    conn.read_to_end(&mut buffer).await.map_err(io)?;
                    return Err(error_answer(status, &buffer[end + 4..]));
                }
                buffer.drain(..end + 4);
                body_start = Some(());
            }
        }
        if body_start.is_some() {
            let consumed = feed_values(&buffer, n == 0, &mut on_value)?;
            buffer.drain(..consumed.bytes);
            if consumed.stopped {
                return Ok(());
            }
        }
        if n == 0 {
            return match body_start {
                Some(()) => Ok(()),
                None => Err(Error::Stream(
                    "the daemon closed the connection without answering".into(),
                )),
            };
        }
    }
}

struct Consumed {
    bytes: usize,
    stopped: bool,
}

/// Hands every complete JSON value in `buffer` to `on_value`; a value cut off at the end waits
/// for more bytes, unless the stream has ended, when it is an error.
fn feed_values(
    buffer: &[u8],
    ended: bool,
    on_value: &mut impl FnMut(serde_json::Value) -> ControlFlow<()>,
) -> Result<Consumed> {
    let mut values = serde_json::Deserializer::from_slice(buffer).into_iter::<serde_json::Value>();
    loop {
        let offset = values.byte_offset();
        match values.next() {
            None => {
                return Ok(Consumed {
                    bytes: buffer.len(),
                    stopped: false,
                })
            }
            Some(Ok(value)) => {
                if on_value(value).is_break() {
                    return Ok(Consumed {
                        bytes: values.byte_offset(),
                        stopped: true,
                    });
                }
            }
            Some(Err(e)) if e.is_eof() && !ended => {
                return Ok(Consumed {
                    bytes: offset,
                    stopped: false,
                })
            }
            Some(Err(e)) => {
                return Err(Error::Stream(format!(
                    "unreadable answer from the daemon: {e}"
                )))
            }
        }
    }
}

async fn open(daemon: &Daemon, path: &str) -> Result<(Box<dyn Connection>, String)> {
    let target = format!("/v{}{}", daemon.info().api_version, path);
    let conn = daemon.dialer().dial().await.map_err(io)?;
    Ok((conn, target))
}

fn io(e: std::io::Error) -> Error {
    Error::Stream(e.to_string())
}

fn find_header_end(response: &[u8]) -> Option<usize> {
    response.windows(4).position(|w| w == b"\r\n\r\n")
}

fn status_of(head: &[u8]) -> Result<u16> {
    String::from_utf8_lossy(head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Stream("the daemon's answer had no status".into()))
}

fn error_answer(status: u16, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let message = serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
    Error::Daemon { status, message }
}

fn decode<T: DeserializeOwned>(response: &[u8]) -> Result<T> {
    let split = find_header_end(response)
        .ok_or_else(|| Error::Stream("the daemon's answer had no body".into()))?;
    let status = status_of(&response[..split])?;
    let body = &response[split + 4..];
    if !(200..300).contains(&status) {
        return Err(error_answer(status, body));
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
    fn streamed_values_are_handed_over_whole_and_cut_ones_wait() {
        let mut seen = 0;
        let buffer = b"{\"stream\":\"Step 1/2\"}\n{\"aux\":{\"ID\":\"sha256:ab\"}}\n{\"stre";
        let consumed = feed_values(buffer, false, &mut |_| {
            seen += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(seen, 2);
        let rest = &buffer[consumed.bytes..];
        assert_eq!(rest.trim_ascii(), b"{\"stre");
        assert!(feed_values(rest, true, &mut |_| ControlFlow::Continue(())).is_err());
    }

    #[test]
    fn a_break_stops_at_that_value() {
        let buffer = b"{\"a\":1}{\"b\":2}";
        let consumed = feed_values(buffer, true, &mut |_| ControlFlow::Break(())).unwrap();
        assert!(consumed.stopped);
        assert_eq!(&buffer[..consumed.bytes], b"{\"a\":1}");
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
