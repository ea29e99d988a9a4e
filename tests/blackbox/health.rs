use lodge_tests::TestApp;

#[tokio::test]
async fn healthz_reads_the_table_and_answers_json() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "ok");
}

#[tokio::test]
async fn healthz_reports_a_broken_table_as_503() {
    let app = TestApp::spawn_with(&[("LODGE_TABLE", "no-such-table")]).await;
    let r = app.get("/healthz").send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}
