//! Signing in and out with the login form.

use super::*;
use crate::AppState;
use crate::problem::Problem;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use stockade_app::users;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct Login {
    error: Option<String>,
    name: String,
}

pub(super) async fn login_page() -> Response {
    page(StatusCode::OK, &Login { error: None, name: String::new() })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    name: String,
    password: String,
}

pub(super) async fn login(
    State(st): State<AppState>,
    connect: Option<axum::extract::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return refused(Problem::forbidden("a sign-in must come from this site's own page"));
    }
    let from = connect.map_or_else(|| "unknown".to_owned(), |c| c.0.0.ip().to_string());
    let again = |error: String| {
        page(StatusCode::UNAUTHORIZED, &Login { error: Some(error), name: f.name.chars().take(64).collect() })
    };
    match users::login(&*st.store, st.intake.ledger(), &*st.clock, &st.throttle, &f.name, &f.password, &from).await {
        Ok(opened) => {
            let mut r = Redirect::to("/console").into_response();
            match crate::api::session::cookie(&st, &opened.secret, users::SESSION_HOURS * 3600) {
                Ok(c) => {
                    r.headers_mut().insert(header::SET_COOKIE, c);
                    r
                }
                Err(p) => refused(p),
            }
        }
        Err(users::LoginError::Store(e)) => refused(Problem::from(e)),
        Err(e) => again(e.to_string()),
    }
}

pub(super) async fn logout(State(st): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let (_, secret) = signed_in_or_login!(st, headers);
    if !csrf_ok(&secret, &f.csrf) {
        return refused(Problem::forbidden("the form did not carry this session's CSRF token"));
    }
    let now = st.clock.now().timestamp_micros();
    if let Ok(Some((session, _))) = users::session_of(&*st.store, &secret, now).await
        && let Err(e) = users::logout(&*st.store, &session, now).await
    {
        return refused(Problem::from(e));
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(c) = crate::api::session::cookie(&st, "", 0) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}
