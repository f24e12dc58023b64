//! Fault rules at the HTTP layer: the middleware on tenant routes that applies the rules
//! naming an SDK operation (`ShowJob`, `ShowServer`, …), the answers every refusal gets, and
//! the marker that makes the listener close a connection without answering.
//!
//! The rules themselves, their matching and counters live in [`engine::faults`]; the engine
//! applies the job rules at acceptance. This layer runs after authentication (a rule never
//! answers a caller ecsd would have refused) and around the handler, inside a
//! [`RequestScope`] through which the engine reports the job rules that fired while serving the
//! request: this layer renders their refusals, marks dropped answers, and counts every firing.

use crate::error::ApiError;
use crate::error_codes;
use crate::AppState;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::faults::{is_job_operation, Effect, FaultSpec, Fired, RequestScope, ServerRef, Target};
use std::collections::HashMap;
use std::sync::OnceLock;

/// On a response: the listener closes the connection instead of sending it (`drop_response`).
/// Everything the request did has been done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropResponse;

/// The official SDK's operation name of each route whose id differs from it (the route table
/// names a few by ecsd's own history: its v1 create is the SDK's `CreatePostPaidServers`, its
/// v1.1 create the SDK's `CreateServers`). Routes not listed here are named by their id, which
/// is the SDK's name where the SDK has the operation.
#[rustfmt::skip]
const SDK_NAMES: &[(&str, &str, &str)] = &[
    ("POST", "/v1/{project_id}/cloudservers", "CreatePostPaidServers"),
    ("POST", "/v1.1/{project_id}/cloudservers", "CreateServers"),
    ("GET", "/v1/{project_id}/cloudservers/tags", "ListServerTags"),
    ("POST", "/v1/{project_id}/cloudservers/resource_instances/action", "ListServersByTag"),
    ("POST", "/v1/{project_id}/cloudservers/{server_id}/resize", "ResizePostPaidServer"),
    ("POST", "/v1.1/{project_id}/cloudservers/{server_id}/resize", "ResizeServer"),
    ("POST", "/v1.0/servers/{server_id}/action", "RegisterServerMonitor"),
    ("GET", "/v2.1/{project_id}/servers", "NovaListServers"),
    ("POST", "/v2.1/{project_id}/servers", "NovaCreateServers"),
    ("GET", "/v2.1/{project_id}/servers/detail", "NovaListServersDetails"),
    ("GET", "/v2.1/{project_id}/servers/{server_id}", "NovaShowServer"),
    ("DELETE", "/v2.1/{project_id}/servers/{server_id}", "NovaDeleteServer"),
    ("GET", "/v2.1/{project_id}/flavors/{flavor_id}/os-extra_specs", "NovaShowFlavorExtraSpecs"),
    ("GET", "/v2.1/{project_id}/os-availability-zone", "NovaListAvailabilityZones"),
    ("GET", "/v2.1/{project_id}/servers/{server_id}/os-security-groups", "NovaListServerSecurityGroups"),
    ("POST", "/v2.1/{project_id}/servers/{server_id}/os-interface", "NovaAttachInterface"),
    ("GET", "/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}", "NovaShowServerInterface"),
    ("GET", "/v2.1/{project_id}/os-keypairs", "NovaListKeypairs"),
    ("POST", "/v2.1/{project_id}/os-keypairs", "NovaCreateKeypair"),
    ("GET", "/v2.1/{project_id}/os-keypairs/{keypair_name}", "NovaShowKeypair"),
    ("DELETE", "/v2.1/{project_id}/os-keypairs/{keypair_name}", "NovaDeleteKeypair"),
];

/// SDK operations that share one route with others, told apart by the body only: a rule names
/// the route's id (or, for the batch actions, the job type they submit).
const SHARED_ROUTES: &[(&str, &str)] = &[
    (
        "BatchStartServers",
        "the job type batchStartServers (or BatchServerAction, the route)",
    ),
    (
        "BatchStopServers",
        "the job type batchStopServers (or BatchServerAction, the route)",
    ),
    (
        "BatchRebootServers",
        "the job type batchRebootServers (or BatchServerAction, the route)",
    ),
    (
        "BatchCreateServerTags",
        "BatchServerTags, which matches both",
    ),
    (
        "BatchDeleteServerTags",
        "BatchServerTags, which matches both",
    ),
    (
        "AddServerGroupMember",
        "ServerGroupMembers, which matches both",
    ),
    (
        "DeleteServerGroupMember",
        "ServerGroupMembers, which matches both",
    ),
    (
        "NovaAssociateSecurityGroup",
        "NovaServerActionV21, which matches every action",
    ),
    (
        "NovaDisassociateSecurityGroup",
        "NovaServerActionV21, which matches every action",
    ),
];

/// The operation name of each tenant route, by method and path template: the SDK's name
/// ([`SDK_NAMES`]), else the route's id.
fn request_operations() -> &'static HashMap<(&'static str, &'static str), &'static str> {
    static TABLE: OnceLock<HashMap<(&'static str, &'static str), &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::routes::all()
            .filter(|operation| operation.access == crate::routes::Access::Tenant)
            .map(|operation| {
                let name = SDK_NAMES
                    .iter()
                    .find(|(method, path, _)| {
                        *method == operation.method && *path == operation.path
                    })
                    .map_or(operation.id, |(_, _, name)| name);
                ((operation.method, operation.path), name)
            })
            .collect()
    })
}

/// A rule as the admin API and the config file take it: checked by [`check_spec`].
pub fn prepare_spec(spec: FaultSpec) -> Result<FaultSpec, engine::faults::RuleError> {
    check_spec(&spec)?;
    Ok(spec)
}

/// Checks what only the api knows: `operation` is a job type or a tenant operation's name,
/// and `code` / `error_code` are in the catalogue (a `throttle` code is `APIGW.0308` or
/// `Common.1503`, the two shapes a throttled client meets). Then the engine checks the rest.
pub fn check_spec(spec: &FaultSpec) -> Result<(), engine::faults::RuleError> {
    let bad = |field: &'static str, message: String| engine::faults::RuleError { field, message };
    if let Some(operation) = &spec.operation {
        if let Some((_, instead)) = SHARED_ROUTES.iter().find(|(sdk, _)| sdk == operation) {
            return Err(bad(
                "operation",
                format!("{operation:?} shares its route with other operations, told apart by the body only; use {instead}"),
            ));
        }
        let known =
            is_job_operation(operation) || request_operations().values().any(|id| id == operation);
        if !known {
            return Err(bad(
                "operation",
                format!("{operation:?} is neither a job type (createServer, batchStopServers, …) nor an operation ecsd serves (ShowJob, ShowServer, …)"),
            ));
        }
    }
    for (field, code) in [("code", &spec.code), ("error_code", &spec.error_code)] {
        if let Some(code) = code {
            if error_codes::lookup(code).is_none() {
                return Err(bad(
                    field,
                    format!("{code:?} is not an error code in the catalogue"),
                ));
            }
        }
    }
    if spec.effect == Effect::Throttle {
        if let Some(code) = spec.code.as_deref() {
            if code != error_codes::APIGW_0308.code && code != error_codes::COMMON_1503.code {
                return Err(bad(
                    "code",
                    format!("{code:?}: throttle answers APIGW.0308 (the gateway's shape) or Common.1503 (the ECS envelope)"),
                ));
            }
        }
    }
    Ok(())
}

/// The answer of a refusal (`reject`, `throttle`, `gateway_error`). For a job refused in the
/// engine it replaces whatever the handler made of the error.
pub fn refusal_response(fired: &Fired) -> Response {
    let spec = &fired.spec;
    let mut response = match fired.effect {
        Effect::GatewayError => {
            let status = spec.status.unwrap_or(502);
            let reason = if status == 504 {
                "504 Gateway Time-out"
            } else {
                "502 Bad Gateway"
            };
            // What an nginx-style load balancer in front of the API sends: HTML, not JSON.
            let body = format!(
                "<html>\r\n<head><title>{reason}</title></head>\r\n<body>\r\n<center><h1>{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                body,
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            return response;
        }
        _ => refusal_error(fired).into_response(),
    };
    if let Some(status) = spec
        .status
        .and_then(|status| StatusCode::from_u16(status).ok())
    {
        *response.status_mut() = status;
    }
    if fired.effect == Effect::Throttle {
        let seconds = spec.retry_after.unwrap_or(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The error of a refusal, in the envelope (or the gateway's shape for `APIGW.*` codes). The
/// status is the code's; [`refusal_response`] applies a rule's own `status`.
pub fn refusal_error(fired: &Fired) -> ApiError {
    let spec = &fired.spec;
    let code = spec
        .code
        .as_deref()
        .and_then(error_codes::lookup)
        .copied()
        .unwrap_or(match fired.effect {
            Effect::Throttle => error_codes::APIGW_0308,
            _ => error_codes::COMMON_0001,
        });
    let message = spec.message.clone().unwrap_or_else(|| {
        if code.code == error_codes::APIGW_0308.code {
            format!(
                "The throttling threshold has been reached: fault rule {}",
                fired.rule_id
            )
        } else if code.code == error_codes::COMMON_1503.code {
            code.render(&format!("of fault rule {}", fired.rule_id))
        } else {
            code.message.to_owned()
        }
    });
    ApiError::new(code, message)
}

/// Whether an SDK-operation rule could apply to anything: skips the path parsing otherwise.
fn has_request_rules(state: &AppState) -> bool {
    !state.faults.is_empty()
}

/// The middleware of every tenant route (ECS and Nova), after authentication: applies the
/// request rules, runs the handler in a [`RequestScope`], then renders what the job rules did.
/// `inner` is the handler's way on (see [`crate::front_door::tenant_gate`]).
pub async fn apply<F, Fut>(state: &AppState, request: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    if !has_request_rules(state) {
        return inner(request).await;
    }
    let request_id = request
        .headers()
        .get(&crate::X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (mut parts, body) = request.into_parts();
    let operation = parts.extensions.get::<MatchedPath>().and_then(|path| {
        request_operations()
            .get(&(parts.method.as_str(), path.as_str()))
            .copied()
    });
    let params = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok();
    let request = Request::from_parts(parts, body);
    let param = |name: &str| {
        params.as_ref().and_then(|params| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        })
    };
    let request_fired = operation.and_then(|operation| {
        let project_id = param("project_id").unwrap_or_default();
        let job_id = param("job_id");
        let server_id = param("server_id");
        let servers: Vec<ServerRef<'_>> = server_id
            .as_deref()
            .map(|id| ServerRef { id, name: None })
            .into_iter()
            .collect();
        state.faults.evaluate(
            &Target {
                operation,
                job: false,
                project_id: &project_id,
                job_id: job_id.as_deref(),
                servers: &servers,
            },
            engine::clock::to_unix_ms(state.engine.now()),
        )
    });
    if let Some(fired) = &request_fired {
        tracing::info!(
            rule_id = %fired.rule_id,
            effect = fired.effect.as_str(),
            operation = %fired.operation,
            job_id = fired.job_id.as_deref().unwrap_or_default(),
            request_id,
            "fault rule fired"
        );
        state.metrics.fault_fired(fired.effect);
        match fired.effect {
            Effect::Reject | Effect::Throttle | Effect::GatewayError => {
                return refusal_response(fired)
            }
            Effect::Latency => {
                if let Some(duration) = fired.latency {
                    tokio::time::sleep(duration.unsigned_abs()).await;
                }
            }
            // Job-only effects never fire on a request (the rule's check refuses them).
            Effect::DropResponse | Effect::Fail | Effect::Stuck => {}
        }
    }
    let scope = RequestScope::new(request_id);
    let mut response = scope.clone().run(inner(request)).await;
    for fired in scope.fired() {
        state.metrics.fault_fired(fired.effect);
        if fired.effect.is_refusal() {
            response = refusal_response(&fired);
        }
    }
    let dropped = scope.drop_response()
        || request_fired
            .as_ref()
            .is_some_and(|fired| fired.effect == Effect::DropResponse);
    if dropped {
        response.extensions_mut().insert(DropResponse);
    }
    response
}
