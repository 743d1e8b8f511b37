//! Errors of each layer, and the one place they become the contract's error codes.

use serde::Serialize;

/// The contract's error codes (CONTRACT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidCode,
    Unauthorized,
    NotFound,
    Conflict,
    PlatformError,
    PlatformUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::InvalidCode | ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PlatformError => 502,
            ErrorCode::PlatformUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// An error as the mini-program or the back office sees it. The message must be safe
/// to show: it never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

/// A failed call to a payment platform. Whether the platform may still have acted is in
/// the type: only [`PlatformError::Rejected`] and [`PlatformError::BadLoginCode`] are
/// its certain word that nothing was done; every other failure leaves the outcome
/// unknown, and money it concerns stays reserved until a query or a callback decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The platform answered and certainly refused; its code and message are kept.
    #[error("platform error {code}: {message}")]
    Rejected { code: String, message: String },
    /// The platform answered with an error that does not say whether it acted: "system
    /// busy, retry", "already exists", a refused or unobtainable token.
    #[error("platform error {code} (outcome unknown): {message}")]
    Unclear { code: String, message: String },
    /// The login code was refused.
    #[error("login code rejected ({code}: {message})")]
    BadLoginCode { code: String, message: String },
    /// Timed out, refused the connection, answered 5xx or something that does not parse.
    #[error("platform unavailable: {0}")]
    Unavailable(String),
}

impl PlatformError {
    pub fn rejected(code: impl ToString, message: impl Into<String>) -> Self {
        PlatformError::Rejected {
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn unclear(code: impl ToString, message: impl Into<String>) -> Self {
        PlatformError::Unclear {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// Whether the platform said for certain that it did nothing: the only failure on
    /// which money may be released.
    pub fn is_certain_refusal(&self) -> bool {
        matches!(
            self,
            PlatformError::Rejected { .. } | PlatformError::BadLoginCode { .. }
        )
    }

    /// The platform's code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            PlatformError::Rejected { code, .. }
            | PlatformError::Unclear { code, .. }
            | PlatformError::BadLoginCode { code, .. } => Some(code),
            PlatformError::Unavailable(_) => None,
        }
    }

    /// The same failure, with its outcome unknown: a refusal that came from behind the
    /// call (its token) says nothing certain about the call itself.
    pub fn into_unclear(self) -> Self {
        match self {
            PlatformError::Rejected { code, message } | PlatformError::BadLoginCode { code, message } => {
                PlatformError::Unclear { code, message }
            }
            other => other,
        }
    }
}

impl From<PlatformError> for ApiError {
    fn from(err: PlatformError) -> Self {
        match err {
            PlatformError::Rejected { code, message } => {
                ApiError::new(ErrorCode::PlatformError, format!("platform error {code}: {message}"))
            }
            PlatformError::Unclear { code, message } => ApiError::new(
                ErrorCode::PlatformError,
                format!(
                    "platform error {code}: {message}; the outcome is not known yet, repeat the same request to learn it"
                ),
            ),
            PlatformError::BadLoginCode { code, message } => ApiError::new(
                ErrorCode::InvalidCode,
                format!("the platform rejected the login code ({code}: {message})"),
            ),
            PlatformError::Unavailable(why) => ApiError::new(
                ErrorCode::PlatformUnavailable,
                format!("payment platform unavailable: {why}"),
            ),
        }
    }
}

/// A failed table operation (not a failed condition: those are outcomes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("table unavailable: {0}")]
    Unavailable(String),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "store error");
        ApiError::internal("storage is unavailable; retry the request")
    }
}
