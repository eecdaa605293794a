//! Every answer of the API, checked against its OpenAPI document as the integration suite runs
//! (issue 19, finding 12: a client generated from the document must get what it describes).
//!
//! Each test server carries a [`Conformance`] log behind a middleware that sees every response
//! under `/api/v1`: its status must be one the operation documents, its media type one the
//! status documents, and a JSON body must validate against that schema and carry no field the
//! schema leaves out. A test whose traffic breaks the document fails when its `TestApp` is
//! dropped, naming each difference. Requests to paths or methods the document does not have
//! (probes of unknown routes) are not an operation's answers and are left alone.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// The document, as served.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(ideaweave_web::openapi()).unwrap_or_else(|e| {
        panic!("the OpenAPI document does not serialise: {e}");
    })
});

/// The document's path templates, split into segments (`None` for a `{parameter}`).
static TEMPLATES: LazyLock<Vec<(String, Vec<Option<String>>)>> = LazyLock::new(|| {
    DOCUMENT["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(template, _)| {
            let segments = template
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            (template.clone(), segments)
        })
        .collect()
});

/// Compiled response schemas, by their place in the document.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// The differences between one server's answers and the document.
#[derive(Debug, Default)]
pub struct Conformance {
    differences: Mutex<Vec<String>>,
    checked: AtomicUsize,
}

impl Conformance {
    /// How many answers were checked against the document.
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::Relaxed)
    }

    /// The differences found, each naming the request and what differs.
    pub fn differences(&self) -> Vec<String> {
        self.differences
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    fn record(&self, found: Vec<String>) {
        self.checked.fetch_add(1, Ordering::Relaxed);
        if !found.is_empty()
            && let Ok(mut d) = self.differences.lock()
        {
            d.extend(found);
        }
    }

    /// Panics with every difference, unless the test failed already (its own message is the
    /// one to read).
    pub fn assert_none(&self, server: &str) {
        let differences = self.differences();
        if !differences.is_empty() && !std::thread::panicking() {
            panic!(
                "{server} answered {} time(s) outside its OpenAPI document (issue 19, finding \
                 12):\n  {}",
                differences.len(),
                differences.join("\n  ")
            );
        }
    }
}

/// The middleware: passes the request on and checks the answer.
pub async fn check(log: Arc<Conformance>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let Some(path) = request
        .uri()
        .path()
        .strip_prefix("/api/v1")
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    if method == Method::HEAD {
        return response;
    }
    let Some((template, operation)) = operation(&method, &path) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let media = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
    let json = media.as_deref().is_some_and(is_json);
    let (body, bytes) = if json {
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => (Body::from(b.clone()), Some(b)),
            Err(e) => {
                log.record(vec![format!(
                    "{method} {path}: the body could not be read: {e}"
                )]);
                return Response::from_parts(parts, Body::empty());
            }
        }
    } else {
        (body, None)
    };
    let found = differences(
        &format!("{method} {path} ({template})"),
        &template,
        &method,
        operation,
        parts.status.as_u16(),
        media.as_deref(),
        bytes.as_deref(),
    );
    log.record(found);
    Response::from_parts(parts, body)
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// The documented operation a request reaches: the template with the most fixed segments that
/// matches the path, and its method's operation.
fn operation(method: &Method, path: &str) -> Option<(String, &'static Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    let (template, _) = TEMPLATES
        .iter()
        .filter(|(_, t)| {
            t.len() == segments.len()
                && t.iter().zip(&segments).all(|(t, s)| match t {
                    Some(fixed) => fixed == s,
                    None => !s.is_empty(),
                })
        })
        .max_by_key(|(_, t)| t.iter().filter(|s| s.is_some()).count())?;
    let op = DOCUMENT["paths"][template.as_str()].get(method.as_str().to_ascii_lowercase())?;
    Some((template.clone(), op))
}

/// What differs between one answer and the operation's documented responses.
pub fn differences(
    request: &str,
    template: &str,
    method: &Method,
    operation: &Value,
    status: u16,
    media: Option<&str>,
    body: Option<&[u8]>,
) -> Vec<String> {
    let responses = &operation["responses"];
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    let Some((key, documented)) = [exact.as_str(), range.as_str(), "default"]
        .into_iter()
        .find_map(|k| responses.get(k).map(|r| (k, r)))
    else {
        return vec![format!("{request}: status {status} is not documented")];
    };
    let content = documented["content"].as_object();
    let Some(media) = media else {
        return match content {
            Some(c) if !c.is_empty() && status != 204 => {
                vec![format!(
                    "{request}: {status} came without a Content-Type, documented as {:?}",
                    c.keys().collect::<Vec<_>>()
                )]
            }
            _ => Vec::new(),
        };
    };
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return vec![format!(
            "{request}: {status} answered {media}, documented without a body"
        )];
    };
    let Some((declared, entry)) = content.iter().find(|(d, _)| media_matches(d, media)) else {
        return vec![format!(
            "{request}: {status} answered {media}, documented as {:?}",
            content.keys().collect::<Vec<_>>()
        )];
    };
    let (Some(schema), Some(body)) = (entry.get("schema"), body) else {
        return Vec::new();
    };
    let instance: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("{request}: {status} is not JSON: {e}")],
    };
    let place = format!(
        "/paths/{}/{}/responses/{key}/content/{}/schema",
        escape(template),
        method.as_str().to_ascii_lowercase(),
        escape(declared)
    );
    let validator = match validator(&place, schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "{request}: the schema at {place} does not compile: {e}"
            )];
        }
    };
    let mut found: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{request}: {status} body at {}: {e}", e.instance_path()))
        .collect();
    undocumented_fields(schema, &instance, "", &mut found);
    found
        .into_iter()
        .map(|f| {
            if f.starts_with(request) {
                f
            } else {
                format!("{request}: {status} body has {f}")
            }
        })
        .collect()
}

fn media_matches(declared: &str, actual: &str) -> bool {
    match declared.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => actual.split('/').next() == Some(kind),
        _ => declared.eq_ignore_ascii_case(actual),
    }
}

/// A JSON Pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn validator(place: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    let mut cache = VALIDATORS
        .lock()
        .map_err(|_| "the validator cache is poisoned".to_owned())?;
    if let Some(v) = cache.get(place) {
        return Ok(v.clone());
    }
    let mut root = serde_json::Map::new();
    root.insert(
        "$schema".into(),
        Value::from("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), DOCUMENT["components"].clone());
    root.insert("allOf".into(), Value::Array(vec![schema.clone()]));
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .map_err(|e| e.to_string())?;
    let v = Arc::new(v);
    cache.insert(place.to_owned(), v.clone());
    Ok(v)
}

fn resolve(schema: &Value) -> &Value {
    let mut s = schema;
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                s = DOCUMENT
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or(&Value::Null)
            }
            None => break,
        }
    }
    s
}

/// Fields of `instance` that its schema does not name: validation alone lets them through
/// (the response schemas do not forbid extra fields), but a document that leaves out what the
/// server sends is not exact.
fn undocumented_fields(schema: &Value, instance: &Value, at: &str, found: &mut Vec<String>) {
    let s = resolve(schema);
    if let Some(branches) = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array)
    {
        if instance.is_null() {
            return;
        }
        let mut others = branches
            .iter()
            .filter(|b| resolve(b).get("type") != Some(&Value::from("null")));
        if let (Some(only), None) = (others.next(), others.next()) {
            undocumented_fields(only, instance, at, found);
        }
        return;
    }
    match instance {
        Value::Object(fields) => {
            let mut properties = BTreeMap::new();
            let mut open = false;
            properties_of(s, &mut properties, &mut open);
            if open {
                return;
            }
            for (name, value) in fields {
                let here = format!("{at}/{name}");
                match properties.get(name.as_str()) {
                    Some(p) => undocumented_fields(p, value, &here, found),
                    None => found.push(format!(
                        "the field {here}, which the document does not name"
                    )),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.get("items") {
                for (i, v) in items.iter().enumerate() {
                    undocumented_fields(item, v, &format!("{at}/{i}"), found);
                }
            }
        }
        _ => {}
    }
}

/// The properties an object schema names, through `allOf`; `open` when it admits any field.
fn properties_of<'a>(schema: &'a Value, out: &mut BTreeMap<&'a str, &'a Value>, open: &mut bool) {
    let s = resolve(schema);
    let parts = s.get("allOf").and_then(Value::as_array);
    for p in parts.into_iter().flatten() {
        properties_of(p, out, open);
    }
    match s.get("properties").and_then(Value::as_object) {
        Some(p) => out.extend(p.iter().map(|(k, v)| (k.as_str(), v))),
        None if parts.is_none() => *open = true,
        None => {}
    }
    if s.get("additionalProperties")
        .is_some_and(|a| a != &Value::Bool(false))
    {
        *open = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(method: Method, path: &str, status: u16, body: &Value) -> Vec<String> {
        let (template, op) = operation(&method, path).expect("a documented operation");
        differences(
            path,
            &template,
            &method,
            op,
            status,
            Some("application/json"),
            Some(body.to_string().as_bytes()),
        )
    }

    #[test]
    fn a_conforming_answer_passes() {
        let body = serde_json::json!({"error": {"code": "not_found", "message": "no such idea"}});
        assert_eq!(
            answer(
                Method::GET,
                "/workspaces/acme/ideas/0190c0de-0000-7000-8000-000000000000",
                404,
                &body
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wrong_types_missing_fields_extra_fields_and_statuses_are_named() {
        let me = serde_json::json!({"id": "not a uuid", "name": 7, "secret": true});
        let found = answer(Method::PATCH, "/me", 200, &me);
        let text = found.join("\n");
        assert!(text.contains("\"not a uuid\""), "{text}");
        assert!(text.contains("7 is not of type"), "{text}");
        assert!(text.contains("\"email\" is a required property"), "{text}");
        assert!(text.contains("/secret"), "{text}");
        let found = answer(Method::PATCH, "/me", 302, &me);
        assert!(
            found[0].contains("status 302 is not documented"),
            "{found:?}"
        );
    }

    #[test]
    fn the_most_specific_template_wins_and_unknown_routes_are_not_operations() {
        assert!(operation(&Method::GET, "/no/such/route").is_none());
        assert!(operation(&Method::TRACE, "/me").is_none());
        let (template, _) = operation(&Method::GET, "/me/second-factors").unwrap();
        assert_eq!(template, "/me/second-factors");
    }
}
