//! Decoding BuildKit's status stream (`moby.buildkit.trace` messages, each a base64
//! `StatusResponse`) into steps and log lines.

use std::collections::{HashMap, VecDeque};

use super::proto::{self, Fields, Value};

/// Log lines kept per step to explain a failure.
const TAIL_LINES: usize = 15;

/// A step (vertex) as last reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vertex {
    /// The step's name, e.g. `[2/3] RUN make`.
    pub name: String,
    /// Whether the result came from the cache.
    pub cached: bool,
    /// Start, seconds since the epoch.
    pub started: Option<f64>,
    /// End, seconds since the epoch.
    pub completed: Option<f64>,
    /// The error, when the step failed.
    pub error: String,
}

/// Something the status stream said.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusEvent {
    /// A step started.
    Started(String, Vertex),
    /// A step finished (or was found in the cache).
    Completed(String, Vertex),
    /// A line of a step's output.
    Log(String, String),
}

/// Tracks steps across status messages.
#[derive(Debug, Default)]
pub struct StatusTracker {
    vertices: HashMap<String, Vertex>,
    tails: HashMap<String, VecDeque<String>>,
    partial: HashMap<String, String>,
}

fn timestamp(bytes: &[u8]) -> f64 {
    let (mut seconds, mut nanos) = (0u64, 0u64);
    for (field, value) in Fields::new(bytes) {
        match (field, value) {
            (1, Value::Uint(v)) => seconds = v,
            (2, Value::Uint(v)) => nanos = v,
            _ => {}
        }
    }
    seconds as f64 + nanos as f64 / 1e9
}

impl StatusTracker {
    /// Absorbs one `StatusResponse`, returning what changed.
    pub fn absorb(&mut self, message: &[u8]) -> Vec<StatusEvent> {
        let mut events = Vec::new();
        for (field, value) in Fields::new(message) {
            let Value::Bytes(body) = value else { continue };
            match field {
                1 => self.vertex(body, &mut events),
                3 => self.log(body, &mut events),
                _ => {}
            }
        }
        events
    }

    fn vertex(&mut self, body: &[u8], events: &mut Vec<StatusEvent>) {
        let mut digest = String::new();
        let mut update = Vertex::default();
        for (field, value) in Fields::new(body) {
            match (field, value) {
                (1, Value::Bytes(v)) => digest = proto::text(v),
                (3, Value::Bytes(v)) => update.name = proto::text(v),
                (4, Value::Uint(v)) => update.cached = v != 0,
                (5, Value::Bytes(v)) => update.started = Some(timestamp(v)),
                (6, Value::Bytes(v)) => update.completed = Some(timestamp(v)),
                (7, Value::Bytes(v)) => update.error = proto::text(v),
                _ => {}
            }
        }
        let previous = self.vertices.get(&digest).cloned().unwrap_or_default();
        if update.started.is_some() && previous.started.is_none() && update.completed.is_none() {
            events.push(StatusEvent::Started(digest.clone(), update.clone()));
        }
        if update.completed.is_some() && previous.completed.is_none() {
            events.push(StatusEvent::Completed(digest.clone(), update.clone()));
        }
        self.vertices.insert(digest, update);
    }

    fn log(&mut self, body: &[u8], events: &mut Vec<StatusEvent>) {
        let mut digest = String::new();
        let mut text = Vec::new();
        for (field, value) in Fields::new(body) {
            match (field, value) {
                (1, Value::Bytes(v)) => digest = proto::text(v),
                (4, Value::Bytes(v)) => text.extend_from_slice(v),
                _ => {}
            }
        }
        let partial = self.partial.entry(digest.clone()).or_default();
        partial.push_str(&String::from_utf8_lossy(&text));
        let mut lines = Vec::new();
        while let Some(end) = partial.find('\n') {
            let line: String = partial.drain(..=end).collect();
            lines.push(line.trim_end().to_owned());
        }
        let tail = self.tails.entry(digest.clone()).or_default();
        for line in lines {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.clone());
            events.push(StatusEvent::Log(digest.clone(), line));
        }
    }

    /// The step that failed, with its last output lines.
    pub fn failed_step(&self) -> Option<(String, Vec<String>)> {
        // Several vertices may carry the error (a step and the loads waiting on it); the
        // Dockerfile step (`[2/4] RUN …`) is the one to name.
        self.vertices
            .iter()
            .filter(|(_, v)| !v.error.is_empty())
            .max_by_key(|(_, v)| (v.name.starts_with('['), v.name.clone()))
            .map(|(digest, v)| {
                let mut tail: Vec<String> = self
                    .tails
                    .get(digest)
                    .map(|t| t.iter().cloned().collect())
                    .unwrap_or_default();
                if let Some(rest) = self.partial.get(digest).filter(|p| !p.trim().is_empty()) {
                    tail.push(rest.trim_end().to_owned());
                }
                (v.name.clone(), tail)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertex_start_complete_and_logs() {
        let mut ts = Vec::new();
        proto::put_uint(&mut ts, 1, 10);
        let mut v = Vec::new();
        proto::put_bytes(&mut v, 1, b"sha256:a");
        proto::put_bytes(&mut v, 3, b"[1/2] RUN true");
        proto::put_bytes(&mut v, 5, &ts);
        let mut msg = Vec::new();
        proto::put_bytes(&mut msg, 1, &v);
        let mut log = Vec::new();
        proto::put_bytes(&mut log, 1, b"sha256:a");
        proto::put_bytes(&mut log, 4, b"hello\nwor");
        proto::put_bytes(&mut msg, 3, &log);
        let mut t = StatusTracker::default();
        let events = t.absorb(&msg);
        assert!(
            matches!(&events[0], StatusEvent::Started(d, v) if d == "sha256:a" && v.name == "[1/2] RUN true")
        );
        assert_eq!(
            events[1],
            StatusEvent::Log("sha256:a".into(), "hello".into())
        );
        assert_eq!(events.len(), 2);
    }
}
