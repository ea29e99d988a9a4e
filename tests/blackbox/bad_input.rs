use lodge_tests::TestApp;

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or_default().into(),
        body["error"]["message"].as_str().unwrap_or_default().into(),
    )
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_precise_4xx() {
    let app = TestApp::spawn().await;
    let (s, code, msg) = error_of(app.get("/no/such/thing").send().await.unwrap()).await;
    assert_eq!((s, code.as_str()), (404, "not_found"));
    assert!(msg.contains("/no/such/thing"), "{msg}");
    let r = app.http.delete(app.at("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET");
    let (s, code, msg) = error_of(r).await;
    assert_eq!((s, code.as_str()), (405, "method_not_allowed"));
    assert!(msg.contains("GET"), "{msg}");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_rejected_clearly() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .post(app.at("/auth/email"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (s, code, msg) = error_of(r).await;
    assert_eq!((s, code.as_str()), (400, "bad_request"));
    assert!(msg.contains("JSON"), "{msg}");

    let big = "a".repeat(65 * 1024);
    let r = app
        .post_form("/auth/email", &[("email", &big)])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let (s, code, _) = error_of(r).await;
    assert_eq!((s, code.as_str()), (413, "payload_too_large"));

    let huge = vec![b'a'; 11 * 1024 * 1024];
    let r = app.http.post(app.at("/auth/email")).body(huge).send().await.unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn html_errors_for_browsers_json_for_api_clients() {
    let app = TestApp::spawn().await;
    let r = app
        .post_form("/auth/email", &[("email", "not-an-email")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(page.contains("does not look like an email address"), "{page}");
    let r = app
        .post_json("/auth/email", serde_json::json!({"email": "not-an-email"}))
        .send()
        .await
        .unwrap();
    let (s, code, _) = error_of(r).await;
    assert_eq!((s, code.as_str()), (422, "invalid_input"));
}
