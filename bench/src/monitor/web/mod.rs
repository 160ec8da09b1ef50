//! The monitor's web page: an async HTTP server (axum on a tokio runtime of its own thread)
//! over a [`MonitorData`] store.
//!
//! - Pages rendered on the server ([`pages`]): overview, alarms (acknowledge, shelve with a
//!   comment), trends (any parameter, any interval, raw when short and aggregates when long,
//!   zoom), trigger (alerts with a sky map, counters and sector rates against thresholds,
//!   alerts per day, table versions over time), files (ingested, quarantined and why), users
//!   (admins).
//! - Live updates by server-sent events: a task polls [`MonitorData::change_stamp`] every
//!   [`WebConfig::poll`] and pushes the new stamp on `GET /events`; the page's script then
//!   re-fetches its live part (`?fragment=1`) without reloading.
//! - Nothing from the network: the stylesheet and the script are compiled into the binary
//!   (`/static/monitor.css`, `/static/monitor.js`); the content-security policy allows only
//!   this origin.
//! - Users ([`auth`]): login page, session cookie (HttpOnly, SameSite=Strict), a CSRF token
//!   on every state-changing request (form field `csrf` or header `X-CSRF-Token`), failed
//!   logins rate-limited. Viewers read, operators acknowledge and shelve, admins manage users.
//!
//! | request | without a session | role | refused with |
//! |---|---|---|---|
//! | `GET` a page, `/events` | 303 to `/login?next=…` | viewer | |
//! | `POST /alarms/{id}/ack`, `/alarms/{id}/shelve` | 303 to `/login` | operator | 403 (role or CSRF) |
//! | `GET /users`, `POST /users/{add,role,delete}` | 303 to `/login` | admin | 403 (role or CSRF) |
//! | `POST /login` | | | 401 wrong user/password, 403 CSRF, 429 too many failures |

pub mod auth;
pub mod data;
pub mod pages;
pub mod store;
pub mod svg;
pub mod users;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Response, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use tokio::sync::{oneshot, watch};

use self::auth::{LoginLimiter, SESSION_COOKIE, Session, Sessions};
use self::data::{MonitorData, Resolution, Role, UserRecord};
use self::pages::{TrendQuery, Viewer};

/// The cookie of the login form's CSRF token (double submit: cookie and form field).
pub const LOGIN_COOKIE: &str = "eic_monitor_login";

const CSS: &str = include_str!("static/monitor.css");
const JS: &str = include_str!("static/monitor.js");

/// How the web server runs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on (`127.0.0.1:8080` by default; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The server is reached through a TLS-terminating proxy: cookies get `Secure`.
    pub behind_tls_proxy: bool,
    /// How often the store is asked whether anything changed (live updates).
    pub poll: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            behind_tls_proxy: false,
            poll: Duration::from_millis(100),
        }
    }
}

/// The warning for a listening address other than loopback without a TLS proxy in front
/// (passwords and session cookies would cross the network in clear).
pub fn listen_warning(cfg: &WebConfig) -> Option<String> {
    if cfg.listen.ip().is_loopback() || cfg.behind_tls_proxy {
        return None;
    }
    Some(format!(
        "warning: the monitor page listens on {} without TLS: passwords and session cookies \
would cross the network in clear. Put it behind a TLS-terminating reverse proxy and pass \
--behind-tls-proxy, or listen on 127.0.0.1 and use an SSH tunnel.",
        cfg.listen
    ))
}

/// A running web server (its own thread and runtime); stops when [`WebServer::stop`] is
/// called or it is dropped.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl WebServer {
    /// The address it listens on (the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread.
    ///
    /// # Errors
    /// What made the server fail, if it did.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop_inner()
    }

    /// Blocks until the server ends (it ends only on error).
    ///
    /// # Errors
    /// What made the server fail.
    pub fn wait(mut self) -> anyhow::Result<()> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow::anyhow!("web server thread panicked"))?,
            None => Ok(()),
        }
    }

    fn stop_inner(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow::anyhow!("web server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

struct App {
    data: Arc<dyn MonitorData>,
    sessions: Sessions,
    limiter: LoginLimiter,
    secure: bool,
    stamp: watch::Receiver<u64>,
    /// A hash to verify against when the user does not exist, so that the time of a failed
    /// login does not tell whether the name exists.
    dummy_hash: String,
}

type Shared = Arc<App>;
type Resp = Response<Body>;

/// Binds `cfg.listen` now (so a busy port is an error here) and serves `data` on a thread.
///
/// # Errors
/// The address cannot be bound, or the runtime cannot start.
pub fn start(cfg: &WebConfig, data: Arc<dyn MonitorData>) -> anyhow::Result<WebServer> {
    let listener = std::net::TcpListener::bind(cfg.listen)
        .with_context(|| format!("listening on {} for the monitor page", cfg.listen))?;
    listener.set_nonblocking(true).context("non-blocking listener")?;
    let addr = listener.local_addr().context("listener address")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_io()
        .enable_time()
        .thread_name("monitor-web")
        .build()
        .context("starting the web server's runtime")?;
    let dummy_hash = auth::hash_password("no such user")?;
    let (tx_stop, rx_stop) = oneshot::channel::<()>();
    let poll = cfg.poll;
    let secure = cfg.behind_tls_proxy;
    let thread = std::thread::Builder::new()
        .name("monitor-web".into())
        .spawn(move || {
            rt.block_on(async move {
                let first = {
                    let d = data.clone();
                    tokio::task::spawn_blocking(move || d.change_stamp())
                        .await
                        .ok()
                        .and_then(Result::ok)
                };
                let (tx_stamp, rx_stamp) = watch::channel(first.unwrap_or(0));
                let app = Arc::new(App {
                    data: data.clone(),
                    sessions: Sessions::default(),
                    limiter: LoginLimiter::default(),
                    secure,
                    stamp: rx_stamp,
                    dummy_hash,
                });
                tokio::spawn(poll_changes(data, tx_stamp, poll));
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(
                    listener,
                    router(app).into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = rx_stop.await;
                })
                .await
                .context("serving the monitor page")
            })
        })
        .context("starting the web server thread")?;
    Ok(WebServer { addr, shutdown: Some(tx_stop), thread: Some(thread) })
}

async fn poll_changes(data: Arc<dyn MonitorData>, tx: watch::Sender<u64>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let d = data.clone();
        if let Ok(Ok(s)) = tokio::task::spawn_blocking(move || d.change_stamp()).await {
            tx.send_if_modified(|old| {
                let changed = *old != s;
                *old = s;
                changed
            });
        }
        if tx.is_closed() && tx.receiver_count() == 0 {
            return;
        }
    }
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/alarms", get(alarms))
        .route("/alarms/{id}/ack", post(ack))
        .route("/alarms/{id}/shelve", post(shelve))
        .route("/trends", get(trends))
        .route("/trigger", get(trigger))
        .route("/files", get(files))
        .route("/users", get(users))
        .route("/users/{action}", post(users_post))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/events", get(events))
        .route("/static/monitor.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/monitor.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .fallback(|| async {
            html(StatusCode::NOT_FOUND, pages::message("Not found", "No such page."))
        })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

async fn security_headers(mut r: Resp) -> Resp {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn asset(ctype: &'static str, body: &'static str) -> Resp {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

fn html(status: StatusCode, body: String) -> Resp {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

fn redirect(to: &str) -> Resp {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn with_cookie(mut r: Resp, c: &str) -> Resp {
    if let Ok(v) = HeaderValue::from_str(c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Percent-encodes a local path and query for the `next` parameter.
fn pct(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// A `next` target that stays on this site (a path, not `//host`).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn form(bytes: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn query(q: &Option<String>) -> HashMap<String, String> {
    form(q.as_deref().unwrap_or("").as_bytes())
}

struct Authed {
    token: String,
    session: Session,
}

/// The request's session, or the redirect to the login page.
fn authed(app: &App, headers: &HeaderMap, here: &str) -> Result<Authed, Resp> {
    let token = cookie_value(headers, SESSION_COOKIE).unwrap_or("");
    match app.sessions.get(token) {
        Some(session) => Ok(Authed { token: token.to_owned(), session }),
        None => Err(redirect(&format!("/login?next={}", pct(safe_next(here))))),
    }
}

/// The session of a state-changing request: logged in, carrying the session's CSRF token
/// (form field `csrf` or header `X-CSRF-Token`), with at least `role`.
fn authorised(
    app: &App,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
    role: Role,
) -> Result<Authed, Resp> {
    let a = authed(app, headers, "/")?;
    let sent = fields
        .get("csrf")
        .map(String::as_str)
        .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    if !auth::constant_time_eq(sent, &a.session.csrf) {
        return Err(html(
            StatusCode::FORBIDDEN,
            pages::message(
                "Refused",
                "The request carried no valid CSRF token: reload the page and try again.",
            ),
        ));
    }
    if a.session.role < role {
        return Err(html(
            StatusCode::FORBIDDEN,
            pages::message(
                "Refused",
                &format!(
                    "This needs the {role} role; you are {} ({}).",
                    a.session.user, a.session.role
                ),
            ),
        ));
    }
    Ok(a)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Resp> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message("Store error", &format!("{e:#}")),
        )),
        Err(_) => Err(html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message("Error", "the request failed"),
        )),
    }
}

fn respond(a: &Authed, title: &str, path: &str, q: &Option<String>, body: String) -> Resp {
    let fragment = query(q).get("fragment").is_some_and(|v| v == "1");
    if fragment {
        return html(StatusCode::OK, body);
    }
    let live = match q.as_deref() {
        Some(q) if !q.is_empty() => format!("{path}?{q}&fragment=1"),
        _ => format!("{path}?fragment=1"),
    };
    let v = Viewer { user: &a.session.user, role: a.session.role, csrf: &a.session.csrf };
    html(StatusCode::OK, pages::page(title, path, &live, &v, &body))
}

fn here(path: &str, q: &Option<String>) -> String {
    match q.as_deref() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

async fn overview(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let d = app.data.clone();
    match blocking(move || d.overview()).await {
        Ok(o) => respond(&a, "Overview", "/", &q, pages::overview(&o)),
        Err(r) => r,
    }
}

async fn alarms(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/alarms", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let d = app.data.clone();
    match blocking(move || d.alarms()).await {
        Ok(l) => {
            let v = Viewer { user: &a.session.user, role: a.session.role, csrf: &a.session.csrf };
            let body = pages::alarms(&l, &v);
            respond(&a, "Alarms", "/alarms", &q, body)
        }
        Err(r) => r,
    }
}

async fn ack(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Resp {
    let f = form(&body);
    let a = match authorised(&app, &headers, &f, Role::Operator) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let comment = f.get("comment").map_or("", |c| c.trim()).chars().take(500).collect::<String>();
    let d = app.data.clone();
    let user = a.session.user.clone();
    match tokio::task::spawn_blocking(move || d.acknowledge(id, &user, &comment)).await {
        Ok(Ok(())) => redirect("/alarms"),
        Ok(Err(e)) => {
            html(StatusCode::CONFLICT, pages::message("Not acknowledged", &format!("{e:#}")))
        }
        Err(_) => {
            html(StatusCode::INTERNAL_SERVER_ERROR, pages::message("Error", "the request failed"))
        }
    }
}

async fn shelve(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Resp {
    let f = form(&body);
    let a = match authorised(&app, &headers, &f, Role::Operator) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let reason = f.get("reason").map_or("", |c| c.trim()).chars().take(500).collect::<String>();
    if reason.is_empty() {
        return html(
            StatusCode::BAD_REQUEST,
            pages::message("Not shelved", "Shelving needs a reason."),
        );
    }
    let minutes = match f.get("minutes").map(|m| m.trim().parse::<i64>()) {
        Some(Ok(m)) if (1..=7 * 24 * 60).contains(&m) => m,
        None => 60,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::message(
                    "Not shelved",
                    "Minutes must be a whole number from 1 to 10080 (a week).",
                ),
            );
        }
    };
    let until = now_ms() + minutes * 60_000;
    let d = app.data.clone();
    let user = a.session.user.clone();
    match tokio::task::spawn_blocking(move || d.shelve(id, &user, &reason, until)).await {
        Ok(Ok(())) => redirect("/alarms"),
        Ok(Err(e)) => html(StatusCode::CONFLICT, pages::message("Not shelved", &format!("{e:#}"))),
        Err(_) => {
            html(StatusCode::INTERNAL_SERVER_ERROR, pages::message("Error", "the request failed"))
        }
    }
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    let (s, n) = crate::workflow::evidence::unix_now();
    s * 1000 + i64::from(n / 1_000_000)
}

/// The most points a trend plot draws (raw samples beyond that are binned by the store).
pub const TREND_POINTS: usize = 1500;

fn parse_time(s: Option<&String>) -> Result<Option<i64>, String> {
    match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::workflow::evidence::parse_utc(s).map(|secs| Some(secs * 1000)),
    }
}

async fn trends(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/trends", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let qs = query(&q);
    let (from, to) = match (parse_time(qs.get("from")), parse_time(qs.get("to"))) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => {
            return html(StatusCode::BAD_REQUEST, pages::message("Bad interval", &e));
        }
    };
    let param = qs.get("param").cloned();
    let d = app.data.clone();
    let res = blocking(move || {
        let params = d.parameters()?;
        let param =
            param.filter(|p| !p.is_empty()).or_else(|| params.first().cloned()).unwrap_or_default();
        let span = d.time_span()?;
        let to = to.unwrap_or_else(|| span.map_or_else(now_ms, |(_, last)| last + 1000));
        // Default: the last hour of data, or all of it when there is less.
        let from = from.unwrap_or_else(|| {
            let hour = to - 3_600_000;
            span.map_or(hour, |(first, _)| hour.max(first.min(to - 60_000)))
        });
        let (from, to) = if from < to { (from, to) } else { (to - 3_600_000, to) };
        let (resolution, points) = if param.is_empty() {
            (Resolution::Raw, Vec::new())
        } else {
            d.trend(&param, from, to, TREND_POINTS)?
        };
        Ok((TrendQuery { param, from_ms: from, to_ms: to, resolution }, params, points))
    })
    .await;
    match res {
        Ok((tq, params, points)) => {
            respond(&a, "Trends", "/trends", &q, pages::trends(&tq, &params, &points))
        }
        Err(r) => r,
    }
}

async fn trigger(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/trigger", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let d = app.data.clone();
    match blocking(move || d.trigger()).await {
        Ok(t) => respond(&a, "Trigger", "/trigger", &q, pages::trigger(&t)),
        Err(r) => r,
    }
}

async fn files(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/files", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let d = app.data.clone();
    match blocking(move || d.files()).await {
        Ok(f) => respond(&a, "Files", "/files", &q, pages::files(&f)),
        Err(r) => r,
    }
}

async fn users(State(app): State<Shared>, headers: HeaderMap, RawQuery(q): RawQuery) -> Resp {
    let a = match authed(&app, &headers, &here("/users", &q)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if a.session.role < Role::Admin {
        return html(
            StatusCode::FORBIDDEN,
            pages::message("Refused", "Managing users needs the admin role."),
        );
    }
    let d = app.data.clone();
    match blocking(move || d.users()).await {
        Ok(list) => {
            let v = Viewer { user: &a.session.user, role: a.session.role, csrf: &a.session.csrf };
            let body = pages::users(&list, &v, &a.session.user);
            respond(&a, "Users", "/users", &q, body)
        }
        Err(r) => r,
    }
}

/// Whether `name` is an acceptable user name (1 to 64 of `A-Z a-z 0-9 _ . -`).
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

async fn users_post(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(action): Path<String>,
    body: Bytes,
) -> Resp {
    let f = form(&body);
    let a = match authorised(&app, &headers, &f, Role::Admin) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = f.get("name").cloned().unwrap_or_default();
    if !valid_user_name(&name) {
        return html(
            StatusCode::BAD_REQUEST,
            pages::message("Refused", "A user name is 1 to 64 of A-Z a-z 0-9 _ . -"),
        );
    }
    let role = f.get("role").and_then(|r| Role::parse(r));
    let d = app.data.clone();
    let app2 = app.clone();
    let me = a.session.user.clone();
    let res = match action.as_str() {
        "add" => {
            let (Some(role), Some(pw)) = (role, f.get("password").cloned()) else {
                return html(
                    StatusCode::BAD_REQUEST,
                    pages::message("Refused", "Adding a user needs a role and a password."),
                );
            };
            if pw.chars().count() < MIN_PASSWORD_LEN {
                return html(
                    StatusCode::BAD_REQUEST,
                    pages::message(
                        "Refused",
                        &format!("A password has at least {MIN_PASSWORD_LEN} characters."),
                    ),
                );
            }
            blocking(move || {
                if d.user(&name)?.is_some() {
                    anyhow::bail!("user {name} exists already: change its role instead");
                }
                let password_hash = auth::hash_password(&pw)?;
                d.put_user(&UserRecord { name, role, password_hash })
            })
            .await
        }
        "role" => {
            let Some(role) = role else {
                return html(StatusCode::BAD_REQUEST, pages::message("Refused", "Unknown role."));
            };
            blocking(move || {
                let Some(mut u) = d.user(&name)? else { anyhow::bail!("no user {name}") };
                if u.name == me && role < Role::Admin {
                    anyhow::bail!("an admin cannot lower their own role (another admin can)");
                }
                u.role = role;
                d.put_user(&u)?;
                app2.sessions.remove_user(&u.name);
                Ok(())
            })
            .await
        }
        "delete" => {
            blocking(move || {
                if name == me {
                    anyhow::bail!("an admin cannot remove themselves");
                }
                if !d.delete_user(&name)? {
                    anyhow::bail!("no user {name}");
                }
                app2.sessions.remove_user(&name);
                Ok(())
            })
            .await
        }
        _ => return html(StatusCode::NOT_FOUND, pages::message("Not found", "No such action.")),
    };
    match res {
        Ok(()) => redirect("/users"),
        Err(r) => r,
    }
}

async fn login_page(State(app): State<Shared>, RawQuery(q): RawQuery) -> Resp {
    let qs = query(&q);
    let next = safe_next(qs.get("next").map_or("/", String::as_str)).to_owned();
    login_form(&app, &next, StatusCode::OK, None)
}

fn login_form(app: &App, next: &str, status: StatusCode, msg: Option<&str>) -> Resp {
    let token = match auth::random_hex(32) {
        Ok(t) => t,
        Err(e) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message("Error", &format!("{e:#}")),
            );
        }
    };
    let r = html(status, pages::login(next, &token, msg));
    with_cookie(r, &cookie(LOGIN_COOKIE, &token, app.secure, Some(3600)))
}

async fn login_post(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Resp {
    let f = form(&body);
    let next = safe_next(f.get("next").map_or("/", String::as_str)).to_owned();
    let sent = f.get("csrf").map_or("", String::as_str);
    let cookie_token = cookie_value(&headers, LOGIN_COOKIE).unwrap_or("");
    if cookie_token.is_empty() || !auth::constant_time_eq(sent, cookie_token) {
        return html(
            StatusCode::FORBIDDEN,
            pages::message(
                "Refused",
                "The login form carried no valid CSRF token: open the login page again.",
            ),
        );
    }
    let user = f.get("user").map_or("", |u| u.trim()).to_owned();
    let password = f.get("password").cloned().unwrap_or_default();
    let ip: IpAddr = peer.ip();
    if let Some(wait) = app.limiter.blocked(ip, &user, Instant::now()) {
        let mut r = login_form(
            &app,
            &next,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!("Too many failed logins: try again in {} s.", wait.as_secs().max(1))),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let d = app.data.clone();
    let dummy = app.dummy_hash.clone();
    let name = user.clone();
    let found = blocking(move || {
        let rec = if valid_user_name(&name) { d.user(&name)? } else { None };
        let ok = match &rec {
            Some(u) => auth::verify_password(&password, &u.password_hash),
            None => {
                let _ = auth::verify_password(&password, &dummy);
                false
            }
        };
        Ok(rec.filter(|_| ok))
    })
    .await;
    let rec = match found {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(rec) = rec else {
        app.limiter.failed(ip, &user, Instant::now());
        return login_form(&app, &next, StatusCode::UNAUTHORIZED, Some("Wrong user or password."));
    };
    app.limiter.succeeded(&rec.name);
    let token = match app.sessions.create(&rec.name, rec.role) {
        Ok(t) => t,
        Err(e) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message("Error", &format!("{e:#}")),
            );
        }
    };
    let r = with_cookie(redirect(&next), &cookie(SESSION_COOKIE, &token, app.secure, None));
    with_cookie(r, &cookie(LOGIN_COOKIE, "", app.secure, Some(0)))
}

async fn logout(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Resp {
    let f = form(&body);
    let a = match authorised(&app, &headers, &f, Role::Viewer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    app.sessions.remove(&a.token);
    with_cookie(redirect("/login"), &cookie(SESSION_COOKIE, "", app.secure, Some(0)))
}

async fn events(State(app): State<Shared>, headers: HeaderMap) -> Resp {
    if let Err(r) = authed(&app, &headers, "/") {
        return r;
    }
    let rx = app.stamp.clone();
    let first = *rx.borrow();
    let hello = futures_util::stream::once(async move {
        Ok::<Event, std::convert::Infallible>(
            Event::default().event("stamp").data(first.to_string()),
        )
    });
    let changes = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let s = *rx.borrow_and_update();
        Some((
            Ok::<Event, std::convert::Infallible>(
                Event::default().event("stamp").data(s.to_string()),
            ),
            rx,
        ))
    });
    use futures_util::StreamExt as _;
    Sse::new(hello.chain(changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_without_tls_warns() {
        let mut c = WebConfig::default();
        assert!(listen_warning(&c).is_none());
        c.listen = "0.0.0.0:8080".parse().unwrap();
        assert!(listen_warning(&c).unwrap().contains("without TLS"));
        c.behind_tls_proxy = true;
        assert!(listen_warning(&c).is_none());
    }

    #[test]
    fn next_stays_on_site_and_names_are_checked() {
        assert_eq!(safe_next("/alarms?x=1"), "/alarms?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(pct("/trends?param=a b"), "/trends%3Fparam%3Da%20b");
        assert!(valid_user_name("ana.b-1_x"));
        assert!(!valid_user_name("") && !valid_user_name("a b") && !valid_user_name("é"));
    }

    #[test]
    fn cookies_are_httponly_samesite_strict() {
        let c = cookie(SESSION_COOKIE, "t", false, None);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(cookie(SESSION_COOKIE, "t", true, None).ends_with("; Secure"));
    }
}
