//! Elastic Beanstalk events, polled by time window so none is missed: each poll asks for
//! everything since the newest event already seen (inclusive, EB's `StartTime`), follows every
//! page, and drops what it already returned. (The official deploy action reads only the last 10
//! events per poll and can miss an ERROR in a burst.)

use std::collections::HashSet;

use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::primitives::DateTime;
use aws_sdk_elasticbeanstalk::types::EventDescription;

use super::error::AwsError;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EbEvent {
    /// When (ms since the epoch).
    pub time_ms: i64,
    /// `TRACE` … `FATAL`.
    pub severity: String,
    /// The text.
    pub message: String,
    /// The request that started the operation it belongs to.
    pub request_id: Option<String>,
    /// The version it concerns.
    pub version_label: Option<String>,
}

impl EbEvent {
    fn from_description(e: &EventDescription) -> EbEvent {
        EbEvent {
            time_ms: e.event_date().and_then(|t| t.to_millis().ok()).unwrap_or(0),
            severity: e
                .severity()
                .map(|s| s.as_str().to_ascii_uppercase())
                .unwrap_or_else(|| "INFO".into()),
            message: e.message().unwrap_or_default().to_owned(),
            request_id: e.request_id().map(str::to_owned),
            version_label: e.version_label().map(str::to_owned),
        }
    }

    /// `ERROR` or `FATAL`.
    pub fn is_error(&self) -> bool {
        matches!(self.severity.as_str(), "ERROR" | "FATAL")
    }

    /// The event as one line, as the EB CLI prints it: time, severity, message. Every command
    /// that shows events (deploy and rollback follows, `events`, `status --remote`) uses it.
    pub fn line(&self) -> String {
        format!(
            "{}  {:<7} {}",
            self.time_text(),
            self.severity,
            self.message
        )
    }

    /// `2024-05-01 12:00:00` (UTC), as the EB CLI prints event times.
    pub fn time_text(&self) -> String {
        DateTime::from_millis(self.time_ms)
            .fmt(aws_sdk_elasticbeanstalk::primitives::DateTimeFormat::DateTime)
            .map(|t| {
                t.replace('T', " ")
                    .trim_end_matches('Z')
                    .chars()
                    .take(19)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The newest `count` events of `environment` (1–1000), oldest first.
pub async fn recent(
    eb: &Client,
    application: &str,
    environment: &str,
    count: i32,
) -> Result<Vec<EbEvent>, AwsError> {
    let out = eb
        .describe_events()
        .application_name(application)
        .environment_name(environment)
        .max_records(count.clamp(1, 1000))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEvents", e))?;
    let mut events: Vec<EbEvent> = out.events().iter().map(EbEvent::from_description).collect();
    events.reverse();
    Ok(events)
}

/// Polls one environment's events, oldest first, each event once.
#[derive(Debug, Clone)]
pub struct EventPoller {
    application: String,
    environment: String,
    since_ms: i64,
    seen: HashSet<(i64, String, Option<String>)>,
}

impl EventPoller {
    /// Events of `environment` from `since_ms` on.
    pub fn new(application: &str, environment: &str, since_ms: i64) -> EventPoller {
        EventPoller {
            application: application.to_owned(),
            environment: environment.to_owned(),
            since_ms,
            seen: HashSet::new(),
        }
    }

    /// Count `events` as already returned (e.g. printed from [`recent`]).
    pub fn mark_seen(&mut self, events: &[EbEvent]) {
        for e in events {
            self.seen
                .insert((e.time_ms, e.message.clone(), e.request_id.clone()));
        }
    }

    /// The events that arrived since the last poll, oldest first.
    pub async fn poll(&mut self, eb: &Client) -> Result<Vec<EbEvent>, AwsError> {
        let mut page: Vec<EbEvent> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = eb
                .describe_events()
                .application_name(&self.application)
                .environment_name(&self.environment)
                .start_time(DateTime::from_millis(self.since_ms))
                .max_records(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeEvents", e))?;
            page.extend(out.events().iter().map(EbEvent::from_description));
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(self.take_new(page))
    }

    /// Keep the events not returned before, oldest first (EB answers newest first), and move
    /// the window to the newest.
    fn take_new(&mut self, newest_first: Vec<EbEvent>) -> Vec<EbEvent> {
        let mut fresh: Vec<EbEvent> = newest_first
            .into_iter()
            .rev()
            .filter(|e| {
                self.seen
                    .insert((e.time_ms, e.message.clone(), e.request_id.clone()))
            })
            .collect();
        // Stable: events of the same millisecond keep EB's order.
        fresh.sort_by_key(|e| e.time_ms);
        if let Some(newest) = fresh.iter().map(|e| e.time_ms).max()
            && newest > self.since_ms
        {
            self.since_ms = newest;
            // Only events at the window's start can come again.
            self.seen.retain(|(t, _, _)| *t >= newest);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(time_ms: i64, message: &str) -> EbEvent {
        EbEvent {
            time_ms,
            severity: "INFO".into(),
            message: message.into(),
            request_id: None,
            version_label: None,
        }
    }

    #[test]
    fn each_event_once_oldest_first_with_a_moving_window() {
        let mut poller = EventPoller::new("app", "env", 0);
        let first = poller.take_new(vec![event(20, "b"), event(10, "a")]);
        assert_eq!(
            first.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(poller.since_ms, 20);
        // The next window starts at 20 inclusive: "b" comes again and is dropped.
        let second = poller.take_new(vec![event(30, "d"), event(20, "c"), event(20, "b")]);
        assert_eq!(
            second
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            vec!["c", "d"]
        );
        assert!(poller.take_new(vec![event(30, "d")]).is_empty());
    }

    #[test]
    fn times_print_like_the_eb_cli() {
        assert_eq!(
            event(1_700_000_000_000, "x").time_text(),
            "2023-11-14 22:13:20"
        );
    }
}
