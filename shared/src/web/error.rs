use http::StatusCode;

/// A failure as the client sees it: a status, a stable machine code and a
/// sentence a person can act on. Internal details (`cause`) go to the log,
/// once, when `web::serve` turns the error into a response.
#[derive(Debug, Clone)]
pub struct WebError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra headers, e.g. `Retry-After` or `Allow`.
    pub headers: Vec<(&'static str, String)>,
    /// What failed, for the log: the dependency (if any) and the cause chain.
    pub cause: Option<(Option<&'static str>, String)>,
}

impl WebError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
            cause: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Not a failure: send the browser elsewhere (e.g. to sign in).
    pub fn redirect(location: impl Into<String>) -> Self {
        Self::new(StatusCode::SEE_OTHER, "redirect", "").with_header("location", location)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A field failed validation; the message names what to fix.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Sign in to continue.")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is no such page.")
    }

    pub fn too_many(message: impl Into<String>, retry_after_secs: i64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            .with_header("retry-after", retry_after_secs.max(1).to_string())
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {} KB.", limit / 1024),
        )
    }

    /// A dependency failed; shown as "try again", logged with `detail`.
    pub fn unavailable(what: &'static str, detail: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("We could not reach {what} just now. Please try again in a minute."),
        );
        e.cause = Some((Some(what), detail.to_string()));
        e
    }

    /// A bug or an unexpected state; logged with `detail`.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again.",
        );
        e.cause = Some((None, detail.to_string()));
        e
    }

    /// Writes the failure to the log, once per response: 5xx as errors with
    /// their cause chain, the rest (the client's mistakes) not at all.
    pub fn record(&self) {
        if let Some((dependency, cause)) = &self.cause {
            match dependency {
                Some(dependency) => tracing::error!(code = self.code, dependency, error = %cause, "dependency failed"),
                None => tracing::error!(code = self.code, error = %cause, "internal error"),
            }
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        WebError::unavailable("the database", crate::telemetry::chain(&e))
    }
}
