//! Finishing touches to the generated OpenAPI document, so that it is valid OpenAPI 3.1 and
//! exact (issue 19, finding 12): the annotations describe operations and bodies, and this fills
//! in what OpenAPI 3.1 requires that the generator leaves out.

use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Gives every response the description OpenAPI 3.1 requires (the generator, written for 3.2,
/// leaves it empty when the annotation has none): the status's meaning. Every operation can
/// also fail on the server's side (a database down, stored data that fails its integrity
/// check): that answer is documented once here rather than on every handler.
pub(crate) fn finish(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            op.responses
                .responses
                .entry("5XX".to_owned())
                .or_insert_with(server_failure);
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(r) = response else {
                    continue;
                };
                if r.description.is_empty() {
                    r.description = status_meaning(status).to_owned();
                }
            }
        }
    }
}

/// The answer to a request the server could not carry out: an error body like every other.
fn server_failure() -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(status_meaning("5XX"))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// What a response status (or range, as OpenAPI writes it) means.
fn status_meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "303" => "See other",
        "4XX" => {
            "The request was refused; the body says why (`{\"error\":{\"code\",\"message\"}}`)"
        }
        "5XX" => {
            "The server could not carry out the request (`integrity_failure` when stored data \
             failed its check); the body says so without details"
        }
        _ => "Response",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_response_has_a_description() {
        let doc = serde_json::to_value(crate::openapi()).expect("the document serialises");
        let paths = doc["paths"].as_object().expect("paths");
        let mut missing = Vec::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                for (status, r) in op["responses"].as_object().into_iter().flatten() {
                    if r["description"].as_str().is_none_or(str::is_empty) {
                        missing.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }
}
