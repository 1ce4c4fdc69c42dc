//! The API reference page as a person sees it: Debian's Chromium, headless,
//! loads `/docs` from the local platform with every request outside the
//! platform's origin blocked, lists every documented operation, and "try it
//! out" on `GET /health` gets a 200 from the platform.
//!
//! Needs `chromium` and `playwright-core` (node), both installed by `make tools`.
//! The screenshot lands in target/docs-page.png.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use integration_tests::TestApp;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_owned()
}

fn chromium() -> PathBuf {
    let p = std::env::var_os("NEXUS_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("chromium"))
                .find(|p| p.is_file())
        });
    match p {
        Some(p) if p.is_file() => p,
        _ => panic!(
            "chromium not found: the browser tests need Debian's chromium; `make tools` installs it \
             (or set NEXUS_CHROMIUM to a Chromium binary)"
        ),
    }
}

fn node_modules() -> PathBuf {
    let dir = std::env::var_os("NEXUS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools"))
        .join("node_modules");
    assert!(
        dir.join("playwright-core").exists(),
        "{} has no playwright-core: run `make tools`",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn docs_page_works_offline_lists_operations_and_tries_one_out() {
    let (browser, modules) = (chromium(), node_modules());
    let app = TestApp::spawn().await;
    let screenshot = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("docs-page.png");
    let run = tokio::process::Command::new("node")
        .arg(repo().join("tests/browser/docs-page.cjs"))
        .arg(app.local.url())
        .arg(&browser)
        .arg(&screenshot)
        .env("NODE_PATH", &modules)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finishes within 3 minutes")
        .expect("node runs (is Node.js installed?)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser run failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });

    assert_eq!(
        report["external"],
        serde_json::json!([]),
        "the page must work offline: it asked for other origins"
    );
    assert_eq!(report["failed"], serde_json::json!([]), "failed requests");
    assert_eq!(
        report["consoleErrors"],
        serde_json::json!([]),
        "console errors"
    );
    assert!(
        report["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("NEXUS API")),
        "{report}"
    );

    // Every operation of the served document is on the page.
    let doc = app.get("/openapi.json", None).await.body;
    let listed: Vec<&str> = report["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut documented = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let methods = item.as_object().expect("path item").keys();
        for method in
            methods.filter(|m| ["get", "put", "post", "delete", "patch"].contains(&m.as_str()))
        {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    for op in &documented {
        assert!(
            listed.contains(&op.as_str()),
            "{op} is not on the page; listed: {listed:?}"
        );
    }
    assert_eq!(listed.len(), documented.len(), "{listed:?}");

    // "Try it out" reached this platform (same origin) and got its answer.
    let t = &report["tryItOut"];
    assert_eq!(t["status"], 200, "{report}");
    assert_eq!(
        t["shownStatus"], "200",
        "the page shows the status: {report}"
    );
    assert_eq!(t["url"], format!("{}/health", app.local.url()), "{report}");
    let body: Value = serde_json::from_str(t["body"].as_str().unwrap_or("")).expect("JSON");
    assert_eq!(body["status"], "ok", "{report}");
}
