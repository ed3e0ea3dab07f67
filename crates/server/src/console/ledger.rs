//! The ledger page: size, checkpoint, verifier key, how to verify.

use super::*;
use crate::AppState;
use crate::auth::Permission;
use crate::problem::Problem;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "ledger.html")]
pub(super) struct LedgerPage {
    who: Who,
    origin: String,
    size: u64,
    checkpoint: Option<(u64, String)>,
    key: String,
}

pub(super) async fn ledger(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, secret) = signed_in_or_login!(st, headers);
    if let Err(p) = caller.require(Permission::Read) {
        return refused(p);
    }
    let Some(l) = st.intake.ledger() else {
        return refused(Problem::not_found("this instance keeps no evidence ledger"));
    };
    use base64::Engine;
    let t = LedgerPage {
        who: who(&caller, &secret),
        origin: l.origin().to_owned(),
        size: l.size(),
        checkpoint: l.checkpoint().map(|c| (c.size, base64::engine::general_purpose::STANDARD.encode(c.root.0))),
        key: l.verifier_key().to_owned(),
    };
    page(StatusCode::OK, &t)
}
