//! A signed-in client: every request carries the member's session cookie, as
//! a browser's would.

use reqwest::RequestBuilder;
use serde_json::Value;

use crate::TestApp;

pub struct SignedIn<'a> {
    app: &'a TestApp,
    cookie: &'a str,
}

impl TestApp {
    /// Requests as the member whose session cookie (`lodge_session=…`) is `cookie`.
    pub fn as_member<'a>(&'a self, cookie: &'a str) -> SignedIn<'a> {
        SignedIn { app: self, cookie }
    }
}

impl SignedIn<'_> {
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.app.get(path).header("cookie", self.cookie)
    }

    /// The page at `path`, which must answer 200.
    pub async fn html(&self, path: &str) -> String {
        let r = self.get(path).send().await.expect("request");
        let status = r.status();
        let body = r.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// A same-origin form POST, as the app's own pages send it.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> RequestBuilder {
        self.app.post_form(path, fields).header("cookie", self.cookie)
    }

    pub fn post_json(&self, path: &str, body: Value) -> RequestBuilder {
        self.app.post_json(path, body).header("cookie", self.cookie)
    }

    /// Any method, as the admin pages' scripts send it (same origin, JSON).
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.app
            .http
            .request(method, self.app.at(path))
            .header("cookie", self.cookie)
            .header("accept", "application/json")
            .header("origin", &self.app.url)
    }

    /// `GET /api/me`, as an API client asks it.
    pub async fn me(&self) -> reqwest::Response {
        self.get("/api/me")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
    }

    /// The signed-in member as `/api/me` shows them (the session must be valid).
    pub async fn member(&self) -> Value {
        let r = self.me().await;
        assert_eq!(r.status(), 200, "/api/me");
        r.json::<Value>().await.unwrap()["member"].clone()
    }
}
