//! Settings, read once at init. A missing or malformed variable fails start-up
//! with a message naming it, so a misconfigured stack never serves requests.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var} {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &str, problem: impl Into<String>) -> Self {
        Self {
            var: var.to_string(),
            problem: problem.into(),
        }
    }
}

/// A snapshot of environment variables. Lambda gets the process environment;
/// the local runner builds one per function from `template.yaml`.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl fmt::Debug for Env {
    // Values may be secrets: show names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.vars.keys().collect();
        keys.sort();
        f.debug_struct("Env").field("vars", &keys).finish()
    }
}

impl Env {
    pub fn process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_map(vars: HashMap<String, String>) -> Self {
        Self { vars }
    }

    pub fn optional(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.optional(name).ok_or_else(|| ConfigError::new(name, "is missing"))
    }

    pub fn secret(&self, name: &str, min_len: usize) -> Result<Secret, ConfigError> {
        let value = self.required(name)?;
        if value.len() < min_len {
            return Err(ConfigError::new(name, format!("must be at least {min_len} characters")));
        }
        Ok(Secret(value.to_string()))
    }

    /// Parses an optional variable, falling back to `default` when unset.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| ConfigError::new(name, format!("is malformed ({e}): {raw:?}"))),
        }
    }

    /// The function's `Timeout` from the template (`LODGE_FUNCTION_TIMEOUT_SECS`:
    /// Lambda does not tell a function its timeout). Client budgets and
    /// leases on work in progress are sized from it.
    pub fn function_timeout(&self) -> Result<std::time::Duration, ConfigError> {
        const VAR: &str = "LODGE_FUNCTION_TIMEOUT_SECS";
        let secs: u64 = self
            .required(VAR)?
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(VAR, format!("is malformed ({e})")))?;
        // Lambda's own bounds.
        if !(1..=900).contains(&secs) {
            return Err(ConfigError::new(VAR, "must be 1 to 900 seconds"));
        }
        Ok(std::time::Duration::from_secs(secs))
    }

    /// The configured public URL. Empty means "the API's own URL", which a
    /// function behind the API learns from each request (see `Ctx::app_url`):
    /// the template cannot pass it without a dependency cycle.
    pub fn app_url(&self) -> Result<Option<AppUrl>, ConfigError> {
        self.optional("LODGE_APP_URL")
            .map(|raw| AppUrl::parse(raw).map_err(|e| ConfigError::new("LODGE_APP_URL", e)))
            .transpose()
    }
}

/// A secret value: never printed by `Debug`, so it cannot leak into logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The public base URL of the app, e.g. `https://club.example.org`.
#[derive(Clone, Debug)]
pub struct AppUrl {
    base: String,
    origin: String,
    secure: bool,
}

impl AppUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http(s) URL".into());
        }
        if url.host_str().is_none() {
            return Err("has no host".into());
        }
        let origin = url.origin().ascii_serialization();
        let base = url.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            base,
            origin,
            secure: url.scheme() == "https",
        })
    }

    /// Absolute URL for an app path such as `/login`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Cookies get `Secure` everywhere except on a plain-http local origin.
    pub fn secure_cookies(&self) -> bool {
        self.secure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let e = env(&[("N", "abc")]);
        assert_eq!(e.required("X").unwrap_err().to_string(), "configuration: X is missing");
        let err = e.parse_or::<u32>("N", 3).unwrap_err().to_string();
        assert!(err.starts_with("configuration: N is malformed"), "{err}");
        assert_eq!(e.parse_or::<u32>("M", 3).unwrap(), 3);
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let e = env(&[("K", "0123456789abcdef0123456789abcdef")]);
        let s = e.secret("K", 32).unwrap();
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(e.secret("K", 64).is_err());
        assert!(!format!("{e:?}").contains("0123"));
    }

    #[test]
    fn app_url_origin_and_cookie_security() {
        let u = AppUrl::parse("http://127.0.0.1:3000/").unwrap();
        assert_eq!(u.origin(), "http://127.0.0.1:3000");
        assert_eq!(u.join("/login"), "http://127.0.0.1:3000/login");
        assert!(!u.secure_cookies());
        assert!(AppUrl::parse("https://club.example.org").unwrap().secure_cookies());
        assert!(AppUrl::parse("ftp://x").is_err());
    }
}
