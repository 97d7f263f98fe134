//! The dashboard and the customer portal over HTTP, on a real server: signing in,
//! the CSRF and origin checks on form posts, security headers, and the portal's
//! isolation — a portal session for one application gets nothing of another's.

use herald_testkit::TestServer;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

/// A client that keeps no cookies and follows no redirects: each test says exactly
/// what it sends.
fn client() -> reqwest::Client {
    crate::common::install_crypto();
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

async fn api(server: &TestServer, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = client()
        .request(method, format!("{}{path}", server.base_url))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .expect("api call");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

/// `name=value` of the `Set-Cookie` header.
fn cookie_of(r: &reqwest::Response) -> String {
    let set = r.headers().get("set-cookie").expect("a cookie is set").to_str().expect("ascii");
    set.split(';').next().expect("name=value").to_owned()
}

/// The CSRF token a signed-in page carries in its forms.
async fn csrf(server: &TestServer, cookie: &str, path: &str) -> String {
    let page = client().get(format!("{}{path}", server.base_url)).header("cookie", cookie).send().await;
    let html = page.expect("page").text().await.expect("html");
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
    html[at..].split('"').next().expect("token").to_owned()
}

async fn sign_in(server: &TestServer) -> String {
    let r = client()
        .post(format!("{}/signin", server.base_url))
        .form(&[("token", server.token.as_str()), ("next", "/apps")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/apps");
    let set = r.headers()["set-cookie"].to_str().expect("ascii");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    cookie_of(&r)
}

#[tokio::test]
async fn signing_in_takes_the_admin_token_and_pages_need_it() {
    let server = TestServer::start().await;
    let base = &server.base_url;
    let r = client().get(format!("{base}/")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "no session: sign in first");
    assert_eq!(r.headers()["location"], "/signin?next=%2F");
    let wrong =
        client().post(format!("{base}/signin")).form(&[("token", "nope")]).send().await.expect("post");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());

    let cookie = sign_in(&server).await;
    let r = client().get(format!("{base}/")).header("cookie", &cookie).send().await.expect("overview");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let csp = r.headers()["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(r.text().await.expect("html").contains("Queue depth"));
    let forged = cookie.replace('.', ".x");
    let r = client().get(format!("{base}/apps")).header("cookie", forged).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a tampered cookie is no session");
    // The API beside it is untouched: JSON, bearer auth.
    let r = client().get(format!("{base}/api/v1/app")).header("cookie", &cookie).send().await.expect("api");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a dashboard cookie is not an API credential");
    server.stop().await;
}

#[tokio::test]
async fn form_posts_need_the_session_csrf_token_and_this_origin() {
    let server = TestServer::start().await;
    let app = api(&server, reqwest::Method::POST, "/api/v1/app", json!({"name": "Acme"})).await;
    let app_id = app["id"].as_str().expect("id");
    let cookie = sign_in(&server).await;
    let path = format!("/apps/{app_id}/endpoints");
    let url = format!("{}{path}", server.base_url);
    let post =
        |form: Vec<(&'static str, String)>| client().post(&url).header("cookie", &cookie).form(&form).send();
    let hook = "https://example.com/hook".to_owned();
    let r = post(vec![("url", hook.clone())]).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let r = post(vec![("url", hook.clone()), ("_csrf", "guess".into())]).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a wrong CSRF token");

    let token = csrf(&server, &cookie, &format!("/apps/{app_id}")).await;
    let cross = client()
        .post(&url)
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[("url", hook.as_str()), ("_csrf", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "posted from another origin");
    let listed =
        api(&server, reqwest::Method::GET, &format!("/api/v1/app/{app_id}/endpoint"), Value::Null).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(0), "nothing was created so far");

    let r = post(vec![("url", hook.clone()), ("_csrf", token.clone())]).await.expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the real token works");
    assert!(r.headers()["location"].to_str().expect("ascii").contains("done=created"));
    let invalid = post(vec![("url", "not a url".into()), ("_csrf", token)]).await.expect("post");
    assert_eq!(invalid.status(), StatusCode::OK, "the API's validation error is shown on the page");
    assert!(invalid.text().await.expect("html").contains("class=\"alert\""));
    server.stop().await;
}

#[tokio::test]
async fn a_portal_session_for_one_application_reaches_nothing_of_another() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let acme = api(&server, post.clone(), "/api/v1/app", json!({"name": "Acme"})).await;
    let globex = api(&server, post.clone(), "/api/v1/app", json!({"name": "Globex"})).await;
    let (acme, globex) = (acme["id"].as_str().expect("id"), globex["id"].as_str().expect("id"));
    let secret_url = "https://globex.example/private";
    let ep =
        api(&server, post.clone(), &format!("/api/v1/app/{globex}/endpoint"), json!({"url": secret_url}))
            .await;
    let globex_ep = ep["id"].as_str().expect("id");
    let msg = json!({"eventType": "order.paid", "payload": {"secret": "globex-data"}});
    let m = api(&server, post.clone(), &format!("/api/v1/app/{globex}/msg"), msg).await;
    let globex_msg = m["id"].as_str().expect("id");

    let access =
        api(&server, post.clone(), &format!("/api/v1/auth/app-portal-access/{acme}"), json!({})).await;
    let link = access["url"].as_str().expect("url");
    assert_eq!(
        link,
        format!("{}/portal/{acme}#key={}", server.base_url, access["token"].as_str().expect("token"))
    );
    let key = access["token"].as_str().expect("token");

    let base = &server.base_url;
    // The key opens Acme's portal, and only Acme's.
    let wrong = client().post(format!("{base}/portal/{globex}/session")).form(&[("key", key)]).send().await;
    assert_eq!(wrong.expect("post").status(), StatusCode::FORBIDDEN);
    let r = client()
        .post(format!("{base}/portal/{acme}/session"))
        .form(&[("key", key)])
        .send()
        .await
        .expect("open");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(set.contains(&format!("Path=/portal/{acme}")) && set.contains("HttpOnly"), "{set}");
    let cookie = cookie_of(&r);

    let get = |path: String| client().get(format!("{base}{path}")).header("cookie", &cookie).send();
    let home = get(format!("/portal/{acme}")).await.expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.headers().get("x-frame-options").is_none(), "the portal may be framed");
    assert!(home.headers()["content-security-policy"].to_str().expect("csp").contains("frame-ancestors *"));
    let token = csrf(&server, &cookie, &format!("/portal/{acme}")).await;

    for path in [
        format!("/portal/{globex}"),
        format!("/portal/{globex}/messages"),
        format!("/portal/{globex}/endpoints/{globex_ep}"),
        format!("/portal/{globex}/messages/{globex_msg}"),
        format!("/portal/{acme}/endpoints/{globex_ep}"),
        format!("/portal/{acme}/messages/{globex_msg}"),
        format!("/apps/{globex}"),
        format!("/messages?app={globex}"),
        "/".to_owned(),
    ] {
        let r = get(path.clone()).await.expect("get");
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND, StatusCode::SEE_OTHER]
                .contains(&r.status()),
            "{path}: {}",
            r.status()
        );
        let body = r.text().await.expect("body");
        assert!(!body.contains(secret_url) && !body.contains("globex-data"), "{path} shows Globex's data");
    }
    for path in [
        format!("/portal/{globex}/endpoints/{globex_ep}/delete"),
        format!("/portal/{globex}/messages/{globex_msg}/resend/{globex_ep}"),
        format!("/portal/{acme}/endpoints/{globex_ep}/delete"),
        format!("/portal/{acme}/messages/{globex_msg}/resend/{globex_ep}"),
        format!("/apps/{globex}/endpoints/{globex_ep}/delete"),
    ] {
        let r = client()
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .form(&[("_csrf", token.as_str())])
            .send()
            .await
            .expect("post");
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND, StatusCode::UNPROCESSABLE_ENTITY]
                .contains(&r.status()),
            "{path}: {}",
            r.status()
        );
    }
    let still = api(
        &server,
        reqwest::Method::GET,
        &format!("/api/v1/app/{globex}/endpoint/{globex_ep}"),
        Value::Null,
    )
    .await;
    assert_eq!(still["url"], secret_url, "Globex's endpoint is untouched");
    server.stop().await;
}

#[tokio::test]
async fn the_sources_pages_show_the_ingest_url_what_was_received_and_what_was_refused() {
    use crate::providers::{create_source, now, post_in, providers};
    let server = TestServer::start().await;
    let base = &server.base_url;
    let app = api(&server, reqwest::Method::POST, "/api/v1/app", json!({"name": "Shop"})).await;
    let app = app["id"].as_str().expect("app id");
    let cookie = sign_in(&server).await;
    let page = |path: String| {
        let cookie = cookie.clone();
        async move {
            let r =
                client().get(format!("{base}{path}")).header("cookie", cookie).send().await.expect("page");
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.text().await.expect("html")
        }
    };
    assert!(page("/sources".into()).await.contains("No sources yet"), "an empty list says how to start");

    let github = providers().into_iter().find(|p| p.name == "github").expect("github");
    let source =
        create_source(&server, app, json!({"name": "GitHub org", "verifier": github.verifier})).await;
    let id = source["id"].as_str().expect("source id");
    let ingest = format!("{base}/in/{id}");
    let mut headers: Vec<(String, String)> =
        github.extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    headers.extend((github.sign)(github.secret, github.body.as_bytes(), now()));
    let ok = post_in(base, &format!("/in/{id}"), &headers, github.body.as_bytes()).await;
    assert_eq!(ok.status, 200);
    let msg = ok.json()["id"].as_str().expect("message id").to_owned();
    let forged = post_in(base, &format!("/in/{id}"), &headers, b"{\"action\": \"forged\"}").await;
    assert_eq!(forged.status, 401);

    let list = page("/sources".into()).await;
    assert!(list.contains("GitHub org") && list.contains(&format!("/sources/{id}")), "the source is listed");
    assert!(list.contains(&ingest), "with its ingest URL as the provider must call it");
    assert!(list.contains(">github<"), "and its verifier");

    let detail = page(format!("/sources/{id}")).await;
    assert!(detail.contains(&format!("value=\"{ingest}\"")), "the ingest URL, ready to copy");
    assert!(detail.contains(&msg) && detail.contains("pull_request.opened"), "the received message");
    assert!(detail.contains("signature_mismatch"), "the refused request, with its reason code");
    assert!(detail.contains("1 in all"), "refusals are counted");
    assert!(!detail.contains(github.secret), "the verifier's secret is never shown");
    assert!(page(format!("/messages?app={app}&q={id}")).await.contains(&msg), "every received message");

    let r = client().get(format!("{base}/sources/src_nope")).header("cookie", &cookie).send().await;
    assert_eq!(r.expect("page").status(), StatusCode::NOT_FOUND);
    let r = client().get(format!("{base}/sources")).send().await.expect("no session");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "operators only");
}

#[tokio::test]
async fn a_portal_takes_its_theme_from_the_application_and_the_link_overrides_it() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let metadata = json!({"portal.name": "Globex Webhooks", "portal.primary": "#0f766e"});
    let app =
        api(&server, post.clone(), "/api/v1/app", json!({"name": "Globex", "metadata": metadata})).await;
    let app = app["id"].as_str().expect("id");
    let open = async |query: &str| {
        let access =
            api(&server, post.clone(), &format!("/api/v1/auth/app-portal-access/{app}"), json!({})).await;
        let key = access["token"].as_str().expect("token");
        let url = format!("{}/portal/{app}/session{query}", server.base_url);
        let r = client().post(url).form(&[("key", key)]).send().await.expect("open");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let home = client()
            .get(format!("{}/portal/{app}", server.base_url))
            .header("cookie", cookie_of(&r))
            .send()
            .await
            .expect("home");
        home.text().await.expect("html")
    };
    let themed = open("").await;
    assert!(themed.contains("Globex Webhooks") && themed.contains("--primary:#0f766e"), "from the metadata");
    let linked = open("?name=Globex%20EU").await;
    assert!(linked.contains("Globex EU") && !linked.contains("Globex Webhooks"), "the link's name wins");
    assert!(linked.contains("--primary:#0f766e"), "the rest still comes from the application");
}

#[tokio::test]
async fn endpoint_pages_never_show_a_url_password() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let app = api(&server, post.clone(), "/api/v1/app", json!({"name": "Mail"})).await;
    let app = app["id"].as_str().expect("id");
    let url = "smtp://alerts:hunter2-secret@127.0.0.1:2525?from=a@example.com&to=b@example.com";
    let ep = api(&server, post, &format!("/api/v1/app/{app}/endpoint"), json!({"url": url})).await;
    let ep = ep["id"].as_str().expect("id");
    let cookie = sign_in(&server).await;
    for path in [format!("/apps/{app}"), format!("/apps/{app}/endpoints/{ep}")] {
        let r = client().get(format!("{}{path}", server.base_url)).header("cookie", &cookie).send().await;
        let html = r.expect("page").text().await.expect("html");
        assert!(!html.contains("hunter2"), "{path} shows the password");
        assert!(html.contains("smtp://alerts:••••@127.0.0.1:2525"), "{path} shows the URL without it");
    }
}
