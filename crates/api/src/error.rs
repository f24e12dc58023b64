//! The one error type of the HTTP layer and its wire forms: the ECS envelope
//! `{"error": {"message", "code", "details": [{"message", "code"}]}}`, and, for the codes the
//! API gateway answers on the real cloud (`APIGW.*`: authentication, throttling, unknown APIs),
//! the gateway's flat `{"error_code", "error_msg", "request_id"}`.
//!
//! Every failure a client can reach is an [`ApiError`]: engine and store errors are converted in
//! one place ([`From`] impls below), and the status always comes from the code's catalogue entry.
//! The internal message (store failures, panics) is logged, never sent.

use crate::error_codes::{self, ErrorCode};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::quota::QuotaResource;
use engine::store::{Rejection, ServerEditError, StoreError};
use engine::SubmitError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// What went wrong, for the client: specific, never internal.
    pub message: String,
    pub details: Vec<ErrorDetail>,
    /// For the log only (e.g. the store's error chain).
    pub internal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorDetail {
    pub message: String,
    pub code: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: EnvelopeBody<'a>,
}

#[derive(Serialize)]
struct EnvelopeBody<'a> {
    message: &'a str,
    code: &'a str,
    details: &'a [ErrorDetail],
}

impl ApiError {
    /// An error with `code`, a specific `message`, and one detail repeating it under the code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            details: vec![ErrorDetail {
                message: message.clone(),
                code: code.code.to_owned(),
            }],
            message,
            internal: None,
        }
    }

    /// `Ecs.0005` for one field: the field's path leads the detail, so clients can find it.
    pub fn invalid_field(field: &str, problem: impl std::fmt::Display) -> Self {
        let detail = format!("{field}: {problem}");
        Self {
            code: error_codes::ECS_0005,
            message: format!("Invalid request parameter {detail}"),
            details: vec![ErrorDetail {
                message: detail,
                code: error_codes::ECS_0005.code.to_owned(),
            }],
            internal: None,
        }
    }

    /// A 500 whose cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            internal: Some(cause.to_string()),
            ..Self::new(error_codes::COMMON_0001, error_codes::COMMON_0001.message)
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.code, self.message)
    }
}

/// A gateway answer's fields. Its body needs the request id, which the outermost layer
/// (`crate::request_id`) knows: it finds this extension on the response and writes the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAnswer {
    pub error_code: &'static str,
    pub error_msg: String,
}

impl GatewayAnswer {
    /// `{"error_code", "error_msg", "request_id"}`, as the API gateway answers.
    pub fn body(&self, request_id: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "error_code": self.error_code,
            "error_msg": self.error_msg,
            "request_id": request_id,
        }))
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code.code, internal = ?self.internal, "{}", self.message);
        }
        let note = crate::observe::ErrorCodeNote(self.code.code);
        if self.code.is_gateway() {
            let answer = GatewayAnswer {
                error_code: self.code.code,
                error_msg: self.message,
            };
            let mut response = (status, answer.body("")).into_response();
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response.extensions_mut().insert(answer);
            response.extensions_mut().insert(note);
            return response;
        }
        let body = serde_json::to_vec(&Envelope {
            error: EnvelopeBody {
                message: &self.message,
                code: self.code.code,
                details: &self.details,
            },
        })
        .unwrap_or_else(|_| {
            br#"{"error":{"message":"internal error","code":"Common.0001","details":[]}}"#.to_vec()
        });
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Clients back off by it; a handler that knows better overwrites it.
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(1u32));
        }
        response.extensions_mut().insert(note);
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // The query's cost, not a fault: the client can narrow it, so it is told so.
            StoreError::ReadDeadline { deadline } => ApiError::new(
                error_codes::ECSD_REQUEST_TIMEOUT,
                format!(
                    "The query took longer than {} ms and was stopped. Narrow the filters (fewer tags or not-tags, a name, a smaller limit) and try again.",
                    deadline.as_millis()
                ),
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        match &rejection {
            Rejection::ServerNotFound { server_id } => ApiError::new(
                error_codes::ECS_0114,
                format!("The ECS {server_id} does not exist."),
            ),
            Rejection::ServerWrongState { server_id, status } => ApiError::new(
                error_codes::ECS_0100,
                format!("The ECS {server_id} is {status}, which does not allow this operation."),
            ),
            Rejection::ClientTokenReused { token } => ApiError::invalid_field(
                "X-Client-Token",
                format!("{token:?} was already used for a different request body"),
            ),
            Rejection::TooManyUnfinishedJobs { limit } => ApiError::new(
                error_codes::COMMON_1503,
                error_codes::COMMON_1503.render(&format!(
                    "the project already has {limit} unfinished jobs (the limit); retry when some have finished"
                )),
            ),
            Rejection::ServerBusy { server_id, job_id } => ApiError::new(
                error_codes::ECS_0100,
                format!(
                    "The ECS {server_id} is busy with job {job_id}; retry when that job has finished."
                ),
            ),
            Rejection::ServerChanged { server_id } => ApiError::new(
                error_codes::ECS_0100,
                format!("The ECS {server_id} is changing; retry in a moment."),
            ),
            Rejection::SameFlavor {
                server_id,
                flavor_id,
            } => ApiError::new(
                error_codes::ECS_0810,
                format!("The ECS {server_id} already has the flavor {flavor_id}."),
            ),
            Rejection::FlavorNotAllowed {
                server_id,
                from,
                to,
            } => ApiError::new(
                error_codes::ECS_0009,
                format!(
                    "The ECS {server_id} cannot be resized from {from} to {to}: choose a flavor of the same family (GET resize_flavors lists them)."
                ),
            ),
            Rejection::SameDedicatedHost {
                server_id,
                dedicated_host_id,
            } => ApiError::new(
                error_codes::ECS_0221,
                format!(
                    "The ECS {server_id} already runs on the dedicated host {dedicated_host_id}."
                ),
            ),
            Rejection::VolumeAlreadyAttached {
                volume_id,
                server_id,
            } => ApiError::new(
                error_codes::ECS_0057,
                format!("The disk {volume_id} is already attached to the ECS {server_id}."),
            ),
            Rejection::VolumeInUse {
                volume_id,
                server_id,
            } => ApiError::new(
                error_codes::ECS_0103,
                format!(
                    "The disk {volume_id} is not available: it is attached to the ECS {server_id}."
                ),
            ),
            Rejection::DeviceInUse { server_id, device } => ApiError::invalid_field(
                "volumeAttachment.device",
                format!("{device} is already in use on the ECS {server_id}"),
            ),
            Rejection::NoFreeDiskSlot { server_id } => ApiError::new(
                error_codes::ECS_0104,
                format!("The ECS {server_id} has no free disk slot."),
            ),
            Rejection::VolumeNotAttached {
                volume_id,
                server_id,
            } => ApiError::new(
                error_codes::ECS_0111,
                format!("The disk {volume_id} is not attached to the ECS {server_id}."),
            ),
            Rejection::NoSystemDisk { server_id } => ApiError::new(
                error_codes::ECS_0105,
                format!("The ECS {server_id} has no system disk."),
            ),
            Rejection::NicNotFound { server_id, port_id } => ApiError::new(
                error_codes::ECS_0085,
                format!("The ECS {server_id} has no NIC with the port ID {port_id}."),
            ),
            // The page says 403 and names no code; Ecs.0003 is the catalogue's generic 403
            // ("no permission for this operation").
            Rejection::PrimaryNic { server_id, port_id } => ApiError::new(
                error_codes::ECS_0003,
                format!(
                    "The NIC {port_id} is the primary NIC of the ECS {server_id}; the primary NIC cannot be deleted."
                ),
            ),
            Rejection::TooManyNics {
                server_id,
                count,
                max,
            } => ApiError::new(
                error_codes::ECS_0050,
                format!("The ECS {server_id} would have {count} NICs; at most {max} are allowed."),
            ),
            Rejection::IpInUse {
                subnet_id,
                ip_address,
                server_id,
            } => ApiError::new(
                error_codes::ECS_0010,
                format!(
                    "The IP address {ip_address} of subnet {subnet_id} is already used by the ECS {server_id}."
                ),
            ),
            Rejection::QuotaExceeded {
                resource,
                limit,
                requested,
            } => {
                // The appendix has a quota code for ECSs (its note names vCPUs and memory too),
                // EVS disks, NICs ("exceeds the quota") and ECS groups; groups and members share
                // Ecs.0022 ("Insufficient ECS group quota").
                let code = match resource {
                    QuotaResource::Instances | QuotaResource::Cores | QuotaResource::Ram => {
                        error_codes::ECS_0001
                    }
                    QuotaResource::Volumes => error_codes::ECS_0021,
                    QuotaResource::Nics => error_codes::ECS_0050,
                    QuotaResource::ServerGroups | QuotaResource::ServerGroupMembers => {
                        error_codes::ECS_0022
                    }
                };
                let what = match resource {
                    QuotaResource::Instances => "ECSs",
                    QuotaResource::Cores => "vCPUs",
                    QuotaResource::Ram => "MiB of memory",
                    QuotaResource::Nics => "NICs",
                    QuotaResource::Volumes => "EVS disks",
                    QuotaResource::ServerGroups => "ECS groups",
                    QuotaResource::ServerGroupMembers => "ECSs in the ECS group",
                };
                ApiError::new(
                    code,
                    format!(
                        "Insufficient quota: the project may have {limit} {what} ({resource}); this request needs {requested}."
                    ),
                )
            }
            Rejection::ServerGroupNotFound { group_id } => ApiError::new(
                error_codes::ECS_0313,
                format!("The ECS group {group_id} does not exist."),
            ),
            Rejection::AlreadyInServerGroup {
                server_id,
                group_id,
            } => ApiError::invalid_field(
                "add_member.instance_uuid",
                format!("the ECS {server_id} is already in the ECS group {group_id}"),
            ),
            Rejection::NotInServerGroup {
                server_id,
                group_id,
            } => ApiError::invalid_field(
                "remove_member.instance_uuid",
                format!("the ECS {server_id} is not in the ECS group {group_id}"),
            ),
            // Adding a server on a DeH to a group, or migrating a member to a DeH.
            Rejection::AntiAffinityOnDedicatedHost { server_id } => ApiError::new(
                error_codes::ECS_0005,
                format!(
                    "Invalid request: the ECS {server_id} would be in an ECS group on a dedicated host, where the anti-affinity policy is not supported."
                ),
            ),
            Rejection::TooManyTags {
                server_id,
                count,
                max,
            } => ApiError::new(
                error_codes::ECS_0905,
                format!("The ECS {server_id} would have {count} tags; at most {max} are allowed."),
            ),
            // The appendix has no code for metadata (Ecs.0905 is about tags); its generic
            // invalid-parameter code, as for the create's 10 pairs.
            Rejection::TooManyMetadata {
                server_id,
                count,
                max,
            } => ApiError::invalid_field(
                "metadata",
                format!(
                    "the ECS {server_id} would have {count} metadata keys; at most {max} are allowed (maxServerMeta)"
                ),
            ),
        }
    }
}

impl From<ServerEditError> for ApiError {
    fn from(error: ServerEditError) -> Self {
        match error {
            ServerEditError::Rejected(rejection) => rejection.into(),
            ServerEditError::Store(error) => error.into(),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Rejected(rejection) => rejection.into(),
            SubmitError::Store(store) => store.into(),
            // The fault middleware replaces this answer with the rule's own (status, shape).
            SubmitError::Fault(fired) => crate::faults::refusal_error(&fired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn errors_render_the_envelope_with_the_catalogue_status() {
        let (status, body) = body_of(ApiError::invalid_field("server.flavorRef", "missing")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "Ecs.0005");
        assert_eq!(
            body["error"]["details"][0]["message"],
            "server.flavorRef: missing"
        );
        assert_eq!(body["error"]["details"][0]["code"], "Ecs.0005");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, body) = body_of(ApiError::internal("disk I/O error at /secret/path")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "Common.0001");
        assert!(!body.to_string().contains("/secret/path"));
    }

    #[tokio::test]
    async fn a_read_past_its_deadline_is_503_with_ecsds_code_and_no_internals() {
        let error = StoreError::ReadDeadline {
            deadline: std::time::Duration::from_millis(2500),
        };
        let (status, body) = body_of(error.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "Ecsd.0503");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("2500 ms") && message.contains("Narrow the filters"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn rejections_map_to_reference_codes() {
        let not_found = Rejection::ServerNotFound {
            server_id: "x".into(),
        };
        assert_eq!(body_of(not_found.into()).await.0, StatusCode::NOT_FOUND);
        let busy = Rejection::ServerBusy {
            server_id: "x".into(),
            job_id: "j".into(),
        };
        let (status, body) = body_of(busy.into()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("Ecs.0100"))
        );
    }
}
