//! Shared helpers of the WebSocket integration tests: a real server on 127.0.0.1:0 with auth
//! on, a real WebSocket client (tokio-tungstenite), and waits on messages (never on time).
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use neurograph_core::server::{self, Config, ServerHandle};
use neurograph_core::space::{NUM_AXES, NUM_SPACES};
use neurograph_core::storage::tokens::TokenBatch;
use neurograph_core::storage::RuntimeStorage;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// How long any wait may take before the test fails (generous: the machine is shared).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub type Ws = WebSocketStream<TcpStream>;

/// A started server and the store it serves.
pub struct Served {
    pub store: Arc<RuntimeStorage>,
    pub server: ServerHandle,
    pub key: String,
}

impl Served {
    /// Start a server on a fresh store with `tune` applied to the default config.
    pub fn start(tune: impl FnOnce(&mut Config)) -> Served {
        let store = Arc::new(RuntimeStorage::new());
        let mut config = Config::default();
        tune(&mut config);
        let server = server::start(store.clone(), config).expect("server starts");
        let key = server.state.auth.ephemeral_admin_key();
        Served { store, server, key }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.server.addr)
    }

    /// Open the stream with the admin key and no Origin; returns the socket and its hello.
    pub async fn connect(&self) -> (Ws, Value) {
        let mut ws = self
            .try_connect(Some(&self.key), None, None)
            .await
            .expect("upgrade accepted");
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello", "{hello}");
        (ws, hello)
    }

    /// Try an upgrade with optional bearer key and Origin (and a socket receive buffer).
    pub async fn try_connect(
        &self,
        key: Option<&str>,
        origin: Option<&str>,
        recv_buffer: Option<u32>,
    ) -> Result<Ws, u16> {
        self.try_connect_to(&self.url(), key, origin, recv_buffer)
            .await
    }

    /// [`Served::try_connect`] to `url` (e.g. with a `?ticket=`).
    pub async fn try_connect_to(
        &self,
        url: &str,
        key: Option<&str>,
        origin: Option<&str>,
        recv_buffer: Option<u32>,
    ) -> Result<Ws, u16> {
        let mut req = url.into_client_request().unwrap();
        if let Some(k) = key {
            let v = HeaderValue::from_str(&format!("Bearer {k}")).unwrap();
            req.headers_mut().insert("authorization", v);
        }
        if let Some(o) = origin {
            req.headers_mut()
                .insert("origin", HeaderValue::from_str(o).unwrap());
        }
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(n) = recv_buffer {
            socket.set_recv_buffer_size(n).unwrap();
        }
        let stream = socket.connect(self.server.addr).await.unwrap();
        match tokio_tungstenite::client_async(req, stream).await {
            Ok((ws, _)) => Ok(ws),
            Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("handshake failed: {e}"),
        }
    }
}

/// The next JSON text frame (pings and pongs skipped); panics on close or after PATIENCE.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message arrives in time")
            .expect("the stream stays open")
            .expect("a valid frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Skip frames until one whose `type` is `kind`.
pub async fn next_of_type(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

/// Send one JSON op.
pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Subscribe and wait for the acknowledgement; returns every frame before it (the replay)
/// and the acknowledgement.
pub async fn subscribe(ws: &mut Ws, channels: &[&str], after: Option<u64>) -> (Vec<Value>, Value) {
    let mut op = serde_json::json!({"op": "subscribe", "channels": channels});
    if let Some(a) = after {
        op["after"] = a.into();
    }
    send(ws, op).await;
    let mut before = Vec::new();
    loop {
        let v = next_json(ws).await;
        if v["type"] == "subscribed" {
            return (before, v);
        }
        before.push(v);
    }
}

/// `n` tokens placed in space 0 (as a notebook's `create_many` does).
pub fn create_tokens(store: &RuntimeStorage, n: usize) -> Vec<u32> {
    let mut coords = vec![f32::NAN; n * NUM_SPACES * NUM_AXES];
    for i in 0..n {
        let row = &mut coords[i * NUM_SPACES * NUM_AXES..][..3];
        row.copy_from_slice(&[
            (i % 600) as f32 - 300.0,
            (i / 600 % 600) as f32 - 300.0,
            0.0,
        ]);
    }
    store
        .create_tokens(&TokenBatch {
            coords: &coords,
            weights: None,
            entities: None,
            field_radius: None,
            field_strength: None,
            labels: None,
            ids: None,
            clamp: false,
            undefined_nan: true,
            default_weight: 1.0,
        })
        .expect("tokens created")
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`): status and JSON body
/// (`Value::Null` when the body is empty or not JSON).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("a response in time")
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("headers");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
