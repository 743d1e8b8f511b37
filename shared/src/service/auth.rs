use crate::app::App;
use crate::domain::ids::session_key_of;
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::http::bearer;
use crate::store::Store;
use crate::store::{CatalogItem, Session};
use lambda_http::Request;

fn expired() -> ApiError {
    ApiError::unauthorized("unknown or expired session; log in again")
}

/// The hash a session is stored under, from `Authorization: Bearer <session>`.
fn session_key(req: &Request) -> Result<String, ApiError> {
    let token = bearer(req).ok_or_else(|| ApiError::unauthorized("log in first: no session given"))?;
    if token.len() > 128 {
        return Err(expired());
    }
    Ok(session_key_of(token))
}

/// The caller's session, from `Authorization: Bearer <session>`.
pub async fn session<S: Store + ?Sized>(app: &App<S>, req: &Request) -> Result<Session, ApiError> {
    app.store
        .get_session(&session_key(req)?, now_secs())
        .await?
        .ok_or_else(expired)
}

/// The caller's session and the catalog entry of `sku`, read in one table request.
pub async fn session_with_item<S: Store + ?Sized>(
    app: &App<S>,
    req: &Request,
    sku: &str,
) -> Result<(Session, Option<CatalogItem>), ApiError> {
    let (session, item) = app
        .store
        .session_and_catalog_item(&session_key(req)?, now_secs(), sku)
        .await?;
    Ok((session.ok_or_else(expired)?, item))
}
