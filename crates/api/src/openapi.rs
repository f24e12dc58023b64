//! `GET /_ecsd/openapi.json`: an OpenAPI 3.1 document of every route ecsd serves, generated
//! from [`crate::routes`] (the same list the route test checks against the router).
//!
//! It describes operations, path parameters, security and the error shapes; request and
//! response bodies are the reference's (`/work/shared/reference/ecs-api-ref/`) and are not
//! restated here, except the `{"job_id"}` answer of asynchronous operations.

use crate::routes::{self, Access, Operation};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The document (built once: it depends on nothing but the code).
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    for operation in routes::all() {
        let item = paths
            .entry(operation.path.to_owned())
            .or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(operation.method.to_ascii_lowercase(), describe(operation));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ecsd",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "A local emulator of the Elastic Cloud Server (ECS) API and its asynchronous jobs.",
            "description": "Bodies follow the ECS API reference. Asynchronous operations answer {\"job_id\"}; poll ShowJob until status is SUCCESS or FAIL.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "tags": [
            {"name": "jobs"}, {"name": "servers"}, {"name": "server jobs"}, {"name": "tags"},
            {"name": "server groups"}, {"name": "flavors"}, {"name": "identity"},
            {"name": "ecsd", "description": "ecsd's own routes, for operators and tools."}
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "akSk": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "SDK-HMAC-SHA256 signature with the account's access and secret keys (with X-Sdk-Date)."
                },
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Auth-Token",
                    "description": "A token from POST /v3/auth/tokens."
                },
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The admin token (--admin-token / ECSD_ADMIN_TOKEN); without one configured, loopback callers send none."
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "description": "The ECS error envelope.",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["message", "code"],
                            "properties": {
                                "message": {"type": "string"},
                                "code": {"type": "string"},
                                "details": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "message": {"type": "string"},
                                            "code": {"type": "string"}
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
                "GatewayError": {
                    "type": "object",
                    "description": "The API gateway's answer (authentication, throttling, unknown APIs).",
                    "required": ["error_code", "error_msg"],
                    "properties": {
                        "error_code": {"type": "string"},
                        "error_msg": {"type": "string"},
                        "request_id": {"type": "string"}
                    }
                },
                "JobAccepted": {
                    "type": "object",
                    "required": ["job_id"],
                    "properties": {
                        "job_id": {"type": "string"},
                        "serverIds": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }
        }
    })
}

/// The `{name}` segments of a path template.
pub fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn describe(operation: &Operation) -> Value {
    let parameters: Vec<Value> = path_parameters(operation.path)
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let success = if operation.job {
        json!({
            "description": "Accepted: the job's id.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobAccepted"}}}
        })
    } else {
        json!({"description": "Success, in the reference's shape."})
    };
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Error"},
                {"$ref": "#/components/schemas/GatewayError"}
            ]}}}
        })
    };
    let mut responses = Map::new();
    let success_status = match (operation.method, operation.path) {
        ("POST", routes::TOKENS_PATH) => "201",
        _ => "200",
    };
    responses.insert(success_status.to_owned(), success);
    responses.insert(
        "default".to_owned(),
        error("An error, in the ECS envelope or the gateway's shape."),
    );
    let mut described = json!({
        "operationId": operation.id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(object) = described.as_object_mut() {
        let security = match operation.access {
            Access::Tenant => json!([{"akSk": []}, {"token": []}]),
            Access::Open => json!([]),
            // Optional: loopback callers need none when no admin token is configured.
            Access::Admin => json!([{"admin": []}, {}]),
        };
        object.insert("security".to_owned(), security);
        // ecsd's own additions to the ECS API are marked for generators and readers.
        if routes::ECS_EXTENSIONS.contains(&operation.id) {
            object.insert("x-ecsd-extension".to_owned(), json!(true));
        }
    }
    described
}

/// `GET /_ecsd/openapi.json`.
pub async fn openapi_view() -> Response {
    let mut response = axum::Json(document()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_document_with_its_path_parameters() {
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        for operation in routes::all() {
            let described =
                &document["paths"][operation.path][operation.method.to_ascii_lowercase()];
            assert_eq!(described["operationId"], operation.id, "{operation:?}");
            let names: Vec<&str> = described["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|parameter| parameter["name"].as_str())
                .collect();
            assert_eq!(names, path_parameters(operation.path).collect::<Vec<_>>());
        }
        assert_eq!(
            path_parameters("/v1/{project_id}/jobs/{job_id}").collect::<Vec<_>>(),
            ["project_id", "job_id"]
        );
    }

    #[test]
    fn ecsd_extensions_are_marked_and_only_they() {
        let document = document();
        for operation in routes::all() {
            let described =
                &document["paths"][operation.path][operation.method.to_ascii_lowercase()];
            let marked = described["x-ecsd-extension"] == true;
            assert_eq!(
                marked,
                routes::ECS_EXTENSIONS.contains(&operation.id),
                "{operation:?}"
            );
        }
        assert_eq!(
            document["paths"]["/v1/{project_id}/jobs"]["get"]["x-ecsd-extension"],
            true
        );
    }
}
