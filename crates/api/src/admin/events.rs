//! `GET /_ecsd/events`: the engine's job and server changes ([`engine::events`]) as
//! server-sent events, one per change: `id` (increasing from 1 per process), `event` (`job` or
//! `server`) and the change as JSON in `data`. A client that reconnects with `Last-Event-ID`
//! (browsers' `EventSource` does so by itself) gets the later events the engine still keeps,
//! then the live ones; if some are gone (the ring moved on, or ecsd restarted) it first gets
//! one `missed` event, meaning "reload what you show". `?project_id=` keeps one project's.
//!
//! Streams end when the server shuts down ([`engine::events::EventLog::close`]), so an open
//! dashboard does not hold the graceful shutdown.

use crate::error::ApiError;
use crate::{project_from_path, AppState};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::events::{Change, EngineEvent};
use engine::Engine;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub project_id: Option<String>,
}

/// What one stream has left to send.
struct Cursor {
    engine: Arc<Engine>,
    project_id: Option<String>,
    backlog: VecDeque<EngineEvent>,
    missed: bool,
    last_id: u64,
    receiver: tokio::sync::broadcast::Receiver<EngineEvent>,
    closed: tokio::sync::watch::Receiver<bool>,
}

impl Cursor {
    fn wanted(&self, event: &EngineEvent) -> bool {
        let project = match &event.change {
            Change::Job { project_id, .. } | Change::Server { project_id, .. } => project_id,
        };
        event.id > self.last_id && self.project_id.as_ref().is_none_or(|want| want == project)
    }

    /// The next event to send; `None` once the server shuts down.
    async fn next(&mut self) -> Option<Event> {
        if std::mem::take(&mut self.missed) {
            return Some(
                Event::default()
                    .id(self.last_id.to_string())
                    .event("missed")
                    .data("{}"),
            );
        }
        loop {
            let event = match self.backlog.pop_front() {
                Some(event) => event,
                None => {
                    if *self.closed.borrow() {
                        return None;
                    }
                    tokio::select! {
                        received = self.receiver.recv() => match received {
                            Ok(event) => event,
                            Err(RecvError::Lagged(_)) => {
                                // Too slow for the channel: catch up from the ring.
                                let (kept, missed) = self.engine.events().after(self.last_id);
                                self.backlog = kept.into();
                                if missed {
                                    self.missed = true;
                                    return Some(Event::default().event("missed").data("{}"));
                                }
                                continue;
                            }
                            Err(RecvError::Closed) => return None,
                        },
                        _ = self.closed.changed() => return None,
                    }
                }
            };
            if !self.wanted(&event) {
                self.last_id = self.last_id.max(event.id);
                continue;
            }
            self.last_id = event.id;
            let kind = match event.change {
                Change::Job { .. } => "job",
                Change::Server { .. } => "server",
            };
            return match Event::default()
                .id(event.id.to_string())
                .event(kind)
                .json_data(&event)
            {
                Ok(sse) => Some(sse),
                Err(error) => {
                    tracing::error!(%error, "an engine event did not serialise");
                    continue;
                }
            };
        }
    }
}

pub async fn events_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    if let Some(project_id) = &query.project_id {
        project_from_path(project_id)?;
    }
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        crate::error_codes::ECSD_BAD_REQUEST,
                        "Last-Event-ID must be an event id this stream sent (a decimal number).",
                    )
                })?,
        ),
    };
    let log = state.engine.events();
    let subscription = log.subscribe_after(last_id);
    let cursor = Cursor {
        engine: state.engine.clone(),
        project_id: query.project_id,
        backlog: subscription.backlog.into(),
        missed: subscription.missed,
        last_id: subscription.last_id,
        receiver: subscription.receiver,
        closed: subscription.closed,
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        Some((Ok::<_, Infallible>(event), cursor))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
