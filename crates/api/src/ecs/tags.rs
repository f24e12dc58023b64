//! Tags (the 2D `key`/`value` tags of `tag_management/`): add and delete in a batch, a server's
//! tags, the project's tags, and the query of servers by tag. All synchronous (no job).
//!
//! Tags live in the server's document as `key=value` strings, the form the server view shows, so
//! the tags given at create (`server_tags`, `tags`) are the same tags these APIs read and change.

use crate::body::{parse_json, read_limited};
use crate::ecs::server_jobs::OnServer;
use crate::ecs::servers::server_not_found;
use crate::error::ApiError;
use crate::error_codes;
use crate::{project_from_path, AppState, Path};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::server::{tag_pairs, ServerChange};
use engine::store::{ServerEditError, ServerQuery, TagMatch};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// At most 10 tags per server (`adding_tags_to_an_ecs_in_a_batch.rst`, Constraints).
pub const MAX_TAGS: usize = 10;
const MAX_KEY_CHARS: usize = 36;
const MAX_VALUE_CHARS: usize = 43;
/// The tag query's limits (`querying_ecss_by_tag.rst`, Table 3 and 4; `limit`).
const MAX_QUERY_KEY_CHARS: usize = 127;
pub(crate) const MAX_QUERY_VALUE_CHARS: usize = 255;
const MAX_QUERY_LIMIT: u32 = 1000;
/// Keys one `tags` or `not_tags` filter may name (the query body's, and the list's
/// comma-separated `tags` / `not-tags`). The reference gives no number; 10 is Huawei's limit
/// for tag queries of other services and the most tags a server holds, and bounds the SQL each
/// query becomes (one `EXISTS` per key and row).
pub const MAX_FILTER_KEYS: usize = 10;
/// Values one key of a filter may list (alternatives).
pub const MAX_FILTER_VALUES: usize = 10;

#[derive(Debug, Deserialize)]
pub(crate) struct TagActionBody {
    action: String,
    tags: Vec<TagBody>,
}

#[derive(Debug, Deserialize)]
struct TagBody {
    key: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TagQueryBody {
    action: String,
    limit: Option<Value>,
    offset: Option<Value>,
    tags: Option<Vec<TagFilterBody>>,
    not_tags: Option<Vec<TagFilterBody>>,
    matches: Option<Vec<MatchBody>>,
}

#[derive(Debug, Deserialize)]
struct TagFilterBody {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct MatchBody {
    key: String,
    value: String,
}

/// Letters (any script: the page counts Unicode characters), digits, `_` and `-`.
fn tag_characters_ok(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
}

/// A tag of an add request: key 1–36, value 0–43 characters (`Ecs.0906` for a length, `Ecs.0907`
/// for a character outside letters, digits, `_` and `-`).
pub(crate) fn validate_new_tag(field: &str, key: &str, value: &str) -> Result<(), ApiError> {
    let length = key.chars().count();
    if length == 0 || length > MAX_KEY_CHARS {
        return Err(ApiError::new(
            error_codes::ECS_0906,
            format!("{field}.key: a tag key has 1 to {MAX_KEY_CHARS} characters, not {length}."),
        ));
    }
    if !tag_characters_ok(key) {
        return Err(ApiError::new(
            error_codes::ECS_0907,
            format!(
                "{field}.key: {key:?} has a character other than letters, digits, '_' and '-'."
            ),
        ));
    }
    let length = value.chars().count();
    if length > MAX_VALUE_CHARS {
        return Err(ApiError::new(
            error_codes::ECS_0906,
            format!("{field}.value: a tag value has at most {MAX_VALUE_CHARS} characters, not {length}."),
        ));
    }
    if !tag_characters_ok(value) {
        return Err(ApiError::new(
            error_codes::ECS_0907,
            format!(
                "{field}.value: {value:?} has a character other than letters, digits, '_' and '-'."
            ),
        ));
    }
    Ok(())
}

fn duplicate_key(field: &str, key: &str) -> ApiError {
    ApiError::new(
        error_codes::ECS_0908,
        format!("{field}.key: the tag key {key:?} is given twice."),
    )
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/tags/action` with `action` `create` or
/// `delete`. Both are idempotent; both answer 204 with no body, as the reference's "Response:
/// None" and the Go clients (which accept only 204) expect.
pub(crate) async fn server_tags_action(
    State(state): State<AppState>,
    request: OnServer<TagActionBody>,
) -> Result<Response, ApiError> {
    let body = request.body;
    if body.tags.is_empty() {
        return Err(ApiError::invalid_field(
            "tags",
            "must name at least one tag",
        ));
    }
    let mut keys = BTreeSet::new();
    let change = match body.action.as_str() {
        "create" => {
            if body.tags.len() > MAX_TAGS {
                return Err(ApiError::new(
                    error_codes::ECS_0905,
                    format!(
                        "{} tags given; an ECS has at most {MAX_TAGS}.",
                        body.tags.len()
                    ),
                ));
            }
            let mut tags = Vec::with_capacity(body.tags.len());
            for (index, tag) in body.tags.into_iter().enumerate() {
                let field = format!("tags[{index}]");
                let value = tag.value.unwrap_or_default();
                validate_new_tag(&field, &tag.key, &value)?;
                if !keys.insert(tag.key.clone()) {
                    return Err(duplicate_key(&field, &tag.key));
                }
                tags.push((tag.key, value));
            }
            ServerChange::TagsAdd {
                tags,
                max: MAX_TAGS,
            }
        }
        "delete" => {
            let mut tags = Vec::with_capacity(body.tags.len());
            for (index, tag) in body.tags.into_iter().enumerate() {
                let field = format!("tags[{index}]");
                if tag.key.is_empty() {
                    return Err(ApiError::invalid_field(
                        &format!("{field}.key"),
                        "cannot be empty",
                    ));
                }
                if !keys.insert(tag.key.clone()) {
                    return Err(duplicate_key(&field, &tag.key));
                }
                tags.push((tag.key, tag.value));
            }
            ServerChange::TagsDelete { tags }
        }
        other => {
            return Err(ApiError::invalid_field(
                "action",
                format!("must be \"create\" or \"delete\", not {other:?}"),
            ))
        }
    };
    edit(
        &state,
        &request.project_id,
        &request.server_id,
        &request.raw_server_id,
        change,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Applies a synchronous edit; a server that is not the project's is `Ecs.0114` with the id as
/// the client wrote it.
pub(crate) async fn edit(
    state: &AppState,
    project_id: &str,
    canonical_id: &str,
    server_id: &str,
    change: ServerChange,
) -> Result<engine::server::ServerRecord, ApiError> {
    match state
        .engine
        .server_edit(project_id, canonical_id, change)
        .await
    {
        Ok(server) => Ok(server),
        Err(ServerEditError::Rejected(engine::store::Rejection::ServerNotFound { .. })) => {
            Err(server_not_found(server_id))
        }
        Err(error) => Err(error.into()),
    }
}

fn tag_objects(tags: &[String]) -> Vec<Value> {
    tag_pairs(tags)
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/tags`.
pub async fn server_tags_view(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let server = crate::ecs::servers::server_in_path(&state, &project_id, &server_id).await?;
    Ok(Json(json!({ "tags": tag_objects(&server.doc.tags) })))
}

/// `GET /v1/{project_id}/cloudservers/tags`: every key used in the project with its values,
/// keys and values sorted.
pub async fn project_tags_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let tags = state.engine.tags(project_id).await?;
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, value) in tag_pairs(&tags) {
        by_key.entry(key).or_default().push(value);
    }
    let tags: Vec<Value> = by_key
        .into_iter()
        .map(|(key, values)| json!({ "key": key, "values": values }))
        .collect();
    Ok(Json(json!({ "tags": tags })))
}

/// `limit` and `offset` of the tag query: strings of digits (the page's type); integers are
/// accepted too.
fn number_field(field: &str, value: Option<&Value>) -> Result<Option<u64>, ApiError> {
    let invalid = || ApiError::invalid_field(field, "must be a non-negative integer (a string)");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => text.parse::<u64>().map(Some).map_err(|_| invalid()),
        Some(Value::Number(number)) => number.as_u64().map(Some).ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

fn too_many_keys(field: &str, given: usize) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("at most {MAX_FILTER_KEYS} tag keys per request, not {given}"),
    )
}

/// The `tags` or `not_tags` of the tag query: present means not empty, at most
/// [`MAX_FILTER_KEYS`] keys of 1–127 characters, unique, each with at most
/// [`MAX_FILTER_VALUES`] values of up to 255, unique per key.
fn tag_filters(
    field: &str,
    filters: Option<Vec<TagFilterBody>>,
) -> Result<Vec<TagMatch>, ApiError> {
    let Some(filters) = filters else {
        return Ok(Vec::new());
    };
    if filters.is_empty() {
        return Err(ApiError::invalid_field(field, "cannot be empty when given"));
    }
    if filters.len() > MAX_FILTER_KEYS {
        return Err(too_many_keys(field, filters.len()));
    }
    let mut keys = BTreeSet::new();
    let mut matches = Vec::with_capacity(filters.len());
    for (index, filter) in filters.into_iter().enumerate() {
        let length = filter.key.chars().count();
        if length == 0 || length > MAX_QUERY_KEY_CHARS {
            return Err(ApiError::invalid_field(
                &format!("{field}[{index}].key"),
                format!("has 1 to {MAX_QUERY_KEY_CHARS} characters"),
            ));
        }
        if !keys.insert(filter.key.clone()) {
            return Err(ApiError::invalid_field(
                &format!("{field}[{index}].key"),
                format!("{:?} is given twice", filter.key),
            ));
        }
        if filter.values.len() > MAX_FILTER_VALUES {
            return Err(ApiError::invalid_field(
                &format!("{field}[{index}].values"),
                format!(
                    "at most {MAX_FILTER_VALUES} values per key, not {}",
                    filter.values.len()
                ),
            ));
        }
        let mut values = BTreeSet::new();
        for (position, value) in filter.values.iter().enumerate() {
            if value.chars().count() > MAX_QUERY_VALUE_CHARS || !values.insert(value) {
                return Err(ApiError::invalid_field(
                    &format!("{field}[{index}].values[{position}]"),
                    format!(
                        "values have at most {MAX_QUERY_VALUE_CHARS} characters and are unique"
                    ),
                ));
            }
        }
        matches.push(TagMatch {
            key: filter.key,
            values: filter.values,
        });
    }
    Ok(matches)
}

/// `POST /v1/{project_id}/servers/resource_instances/action` (the page's path) and
/// `/v1/{project_id}/cloudservers/resource_instances/action` (the SDK's). Servers with all of
/// `tags` (a key's values are alternatives; no values: any value), none of `not_tags`, and a name
/// containing each `matches` value; newest first. `offset` counts items.
pub async fn servers_by_tag(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: TagQueryBody = parse_json(&headers, &bytes)?;
    let count_only = match body.action.as_str() {
        "filter" => false,
        "count" => true,
        other => {
            return Err(ApiError::invalid_field(
                "action",
                format!("must be \"filter\" or \"count\", not {other:?}"),
            ))
        }
    };
    let limit = number_field("limit", body.limit.as_ref())?.unwrap_or(MAX_QUERY_LIMIT.into());
    if limit > u64::from(MAX_QUERY_LIMIT) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("is at most {MAX_QUERY_LIMIT}"),
        ));
    }
    let offset = number_field("offset", body.offset.as_ref())?.unwrap_or(0);
    let tags = tag_filters("tags", body.tags)?;
    let not_tags = tag_filters("not_tags", body.not_tags)?;
    let mut name_contains = None;
    for (index, matched) in body.matches.unwrap_or_default().into_iter().enumerate() {
        if matched.key != "resource_name" {
            return Err(ApiError::invalid_field(
                &format!("matches[{index}].key"),
                "must be \"resource_name\"",
            ));
        }
        let length = matched.value.chars().count();
        if length == 0 || length > MAX_QUERY_VALUE_CHARS {
            return Err(ApiError::invalid_field(
                &format!("matches[{index}].value"),
                format!("has 1 to {MAX_QUERY_VALUE_CHARS} characters"),
            ));
        }
        if name_contains.replace(matched.value).is_some() {
            return Err(ApiError::invalid_field(
                &format!("matches[{index}].key"),
                "\"resource_name\" is given twice",
            ));
        }
    }
    let query = ServerQuery {
        project_id: project_id.to_owned(),
        tags,
        not_tags,
        name_contains,
        // `count` ignores limit and offset; the total is counted either way.
        limit: if count_only { 0 } else { limit as u32 },
        offset: if count_only { 0 } else { offset },
        ..ServerQuery::default()
    };
    let found = state.engine.servers(query).await?;
    if count_only {
        return Ok(Json(json!({ "total_count": found.total })));
    }
    let resources: Vec<Value> = found
        .servers
        .iter()
        .map(|server| {
            json!({
                "resource_id": server.id,
                "resource_detail": null,
                "resource_name": server.name,
                "tags": tag_objects(&server.doc.tags),
            })
        })
        .collect();
    Ok(Json(
        json!({ "resources": resources, "total_count": found.total }),
    ))
}

/// The list filters `tags` and `not-tags` of `GET …/cloudservers/detail`: comma-separated, each
/// `key=value` (that tag) or `key` (any value); at most [`MAX_FILTER_KEYS`] items, keys and
/// values within the tag query's lengths (the list page gives none).
pub(crate) fn list_tag_filter(field: &str, text: &str) -> Result<Vec<TagMatch>, ApiError> {
    let items = text.split(',').count();
    if items > MAX_FILTER_KEYS {
        return Err(too_many_keys(field, items));
    }
    text.split(',')
        .map(|item| {
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (item, None),
            };
            if key.is_empty() {
                return Err(ApiError::invalid_field(
                    field,
                    format!("{item:?}: each item is key or key=value"),
                ));
            }
            if key.chars().count() > MAX_QUERY_KEY_CHARS
                || value.is_some_and(|value| value.chars().count() > MAX_QUERY_VALUE_CHARS)
            {
                return Err(ApiError::invalid_field(
                    field,
                    format!(
                        "keys have at most {MAX_QUERY_KEY_CHARS} characters and values at most {MAX_QUERY_VALUE_CHARS}"
                    ),
                ));
            }
            Ok(TagMatch {
                key: key.to_owned(),
                values: value
                    .map(|value| vec![value.to_owned()])
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tags_follow_the_length_and_character_rules() {
        assert!(validate_new_tag("t", "env", "prod_1-a").is_ok());
        assert!(validate_new_tag("t", "env", "").is_ok());
        let code =
            |key: &str, value: &str| validate_new_tag("t", key, value).map_err(|e| e.code.code);
        assert_eq!(code("", "v"), Err("Ecs.0906"));
        assert_eq!(code(&"k".repeat(37), "v"), Err("Ecs.0906"));
        assert_eq!(code("k", &"v".repeat(44)), Err("Ecs.0906"));
        assert_eq!(code("a.b", "v"), Err("Ecs.0907"));
        assert_eq!(code("k", "a=b"), Err("Ecs.0907"));
    }

    #[test]
    fn list_filters_take_keys_and_key_value_pairs() {
        let filters = list_tag_filter("tags", "a=1,b").expect("parses");
        assert_eq!(
            filters,
            [
                TagMatch {
                    key: "a".into(),
                    values: vec!["1".into()]
                },
                TagMatch {
                    key: "b".into(),
                    values: vec![]
                },
            ]
        );
        assert!(list_tag_filter("tags", "=x").is_err());
    }

    fn refusal(result: Result<Vec<TagMatch>, ApiError>) -> String {
        match result {
            Ok(filters) => format!("accepted {} filters", filters.len()),
            Err(error) => format!("{}: {}", error.code.code, error.message),
        }
    }

    #[test]
    fn filters_are_capped_at_ten_keys_of_ten_values_with_the_limit_named() {
        let items = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
        assert_eq!(
            list_tag_filter("not-tags", &items(MAX_FILTER_KEYS).join(","))
                .map(|filters| filters.len())
                .ok(),
            Some(MAX_FILTER_KEYS)
        );
        let over = refusal(list_tag_filter("not-tags", &items(11).join(",")));
        assert!(
            over.starts_with("Ecs.0005") && over.contains("not-tags: at most 10 tag keys"),
            "{over}"
        );
        let long_key = refusal(list_tag_filter("tags", &"k".repeat(128)));
        assert!(long_key.contains("at most 127"), "{long_key}");
        let body = |keys: usize, values: usize| -> Vec<TagFilterBody> {
            (0..keys)
                .map(|key| TagFilterBody {
                    key: format!("k{key}"),
                    values: (0..values).map(|value| format!("v{value}")).collect(),
                })
                .collect()
        };
        assert!(tag_filters("tags", Some(body(10, 10))).is_ok());
        let keys = refusal(tag_filters("tags", Some(body(11, 0))));
        assert!(keys.contains("tags: at most 10 tag keys"), "{keys}");
        let values = refusal(tag_filters("not_tags", Some(body(1, 11))));
        assert!(
            values.contains("not_tags[0].values: at most 10 values per key"),
            "{values}"
        );
    }
}
