use crate::app::App;
use crate::domain::ids::session_key_of;
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::http::bearer;
use crate::store::Session;
use lambda_http::Request;

/// The caller's session, from `Authorization: Bearer <session>`.
pub async fn session(app: &App, req: &Request) -> Result<Session, ApiError> {
    let token = bearer(req).ok_or_else(|| ApiError::unauthorized("log in first: no session given"))?;
    if token.len() > 128 {
        return Err(ApiError::unauthorized("unknown or expired session; log in again"));
    }
    app.store
        .get_session(&session_key_of(token), now_secs())
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or expired session; log in again"))
}
