//! Extractors whose refusals are RFC 9457 problems, checked when the
//! handler asks: a handler checks the caller's role first, then its
//! parameters, so a token without the role gets 403 whatever it sent, and
//! a malformed parameter or body gets a `application/problem+json` 400 (or
//! 415 for a body of the wrong type), never axum's plain-text rejection.

use crate::problem::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

/// A problem from one of axum's rejections, keeping its status.
fn problem(what: &str, rejection: impl IntoResponse + std::fmt::Display) -> Problem {
    let detail = format!("{what}: {rejection}");
    let status = rejection.into_response().status();
    match status.as_u16() {
        415 => Problem::new(status, "unsupported-media-type", "Unsupported content type", detail),
        413 => Problem::new(status, "body-too-large", "Request body too large", detail),
        _ => Problem::bad_request(detail),
    }
}

/// Query parameters, parsed; the refusal is kept for the handler to return
/// after its role check (`let q = q?;`).
pub struct Query<T>(pub Result<T, Problem>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map(|axum::extract::Query(v)| v)
                .map_err(|e| problem("query parameters", e)),
        ))
    }
}

/// Path parameters, parsed; as [`Query`].
pub struct Path<T>(pub Result<T, Problem>);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Path(
            axum::extract::Path::<T>::from_request_parts(parts, state)
                .await
                .map(|axum::extract::Path(v)| v)
                .map_err(|e| problem("path", e)),
        ))
    }
}

/// A JSON request body (`application/json`), parsed; as [`Query`].
pub struct JsonBody<T>(pub Result<T, Problem>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(
            axum::Json::<T>::from_request(req, state)
                .await
                .map(|axum::Json(v)| v)
                .map_err(|e| problem("the JSON body", e)),
        ))
    }
}
