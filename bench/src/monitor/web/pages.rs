//! The pages, rendered on the server as HTML strings: the layout ([`page`]) around each page's
//! live part (`<main>`), which the browser re-fetches alone (`?fragment=1`) when the server's
//! event stream says something changed. Every text from the store or the user is escaped;
//! plots are inline SVG ([`super::svg`]) so that nothing is loaded from anywhere but this
//! server.

use std::fmt::Write as _;

use super::data::{
    AlarmLists, AlarmView, AlertView, FileView, Overview, Resolution, Role, TrendPoint,
    TriggerView, UserRecord,
};
use super::svg;
use crate::workflow::evidence::{esc, utc_text};

/// UTC text of Unix milliseconds, to the second (`2026-12-07 10:31:05Z`).
pub fn utc_ms(ms: i64) -> String {
    let t = utc_text(ms.div_euclid(1000), 0);
    // "YYYY-MM-DDTHH:MM:SS.000Z" → "YYYY-MM-DD HH:MM:SSZ"
    let s = t.replacen('T', " ", 1);
    match s.strip_suffix(".000Z") {
        Some(head) => format!("{head}Z"),
        None => s,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for form fields and links.
pub fn utc_param(ms: i64) -> String {
    let t = utc_text(ms.div_euclid(1000), 0);
    t.strip_suffix(".000Z").map_or(t.clone(), |h| format!("{h}Z"))
}

/// The user and their CSRF token, as every page needs them.
#[derive(Debug, Clone)]
pub struct Viewer<'a> {
    /// User name.
    pub user: &'a str,
    /// Role.
    pub role: Role,
    /// CSRF token of the session.
    pub csrf: &'a str,
}

const NAV: [(&str, &str); 6] = [
    ("/", "Overview"),
    ("/alarms", "Alarms"),
    ("/trends", "Trends"),
    ("/trigger", "Trigger"),
    ("/files", "Files"),
    ("/users", "Users"),
];

/// A whole page: head, navigation, the live `<main>` with `body`, and the script.
pub fn page(title: &str, path: &str, live_src: &str, v: &Viewer<'_>, body: &str) -> String {
    let mut nav = String::new();
    for (href, name) in NAV {
        if href == "/users" && v.role != Role::Admin {
            continue;
        }
        let cur = if href == path { " aria-current=\"page\"" } else { "" };
        let _ = write!(nav, "<a href=\"{href}\"{cur}>{name}</a>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} — ECLAIRs monitor</title><link rel=\"stylesheet\" href=\"/static/monitor.css\">\
<script src=\"/static/monitor.js\" defer></script></head>\
<body data-csrf=\"{csrf}\"><header><strong>ECLAIRs monitor</strong><nav>{nav}</nav>\
<span class=\"who\">{user} ({role}) <span id=\"live-state\" class=\"live-off\" title=\"live updates\">●</span>\
<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">Log out</button></form></span></header>\
<main id=\"live\" data-src=\"{src}\">{body}</main></body></html>\n",
        title = esc(title),
        csrf = esc(v.csrf),
        user = esc(v.user),
        role = v.role,
        src = esc(live_src),
    )
}

/// The login page, with an optional message (`wrong user or password`).
pub fn login(next: &str, login_csrf: &str, message: Option<&str>) -> String {
    let msg = message
        .map_or(String::new(), |m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)));
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Log in — ECLAIRs monitor</title><link rel=\"stylesheet\" href=\"/static/monitor.css\"></head>\
<body class=\"login\"><main><h1>ECLAIRs monitor</h1>{msg}\
<form method=\"post\" action=\"/login\" id=\"login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label>User <input name=\"user\" autocomplete=\"username\" required autofocus></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\">Log in</button></form>\
<p class=\"hint\">Accounts: <code>eic-bench monitor user add NAME --role viewer|operator|admin</code></p>\
</main></body></html>\n",
        csrf = esc(login_csrf),
        next = esc(next),
    )
}

/// A small error page (403, 404, 429, 500) inside the layout when a user is known.
pub fn message(title: &str, text: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
<link rel=\"stylesheet\" href=\"/static/monitor.css\"></head><body><main><h1>{t}</h1>\
<p>{x}</p><p><a href=\"/\">Overview</a></p></main></body></html>\n",
        t = esc(title),
        x = esc(text)
    )
}

fn sev_class(severity: u8) -> &'static str {
    match severity {
        0 => "ok",
        1 => "soft",
        _ => "hard",
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.is_finite() {
        format!("{v:.4}")
    } else {
        format!("{v}")
    }
}

/// The overview's live part.
pub fn overview(o: &Overview) -> String {
    let mut s = String::from("<h1>Overview</h1><dl class=\"status\">");
    let opt = |x: &Option<String>| x.as_deref().map_or("—".to_owned(), esc);
    let _ = write!(
        s,
        "<dt>Unit mode</dt><dd id=\"mode\">{}</dd><dt>Software</dt><dd id=\"software\">{}</dd>\
<dt>Link</dt><dd id=\"link\">{}</dd><dt>Last HK</dt><dd id=\"last-hk\">{}</dd>",
        opt(&o.mode),
        opt(&o.software),
        esc(&o.link),
        o.last_hk_ms.map_or("never".to_owned(), utc_ms)
    );
    s.push_str("<dt>Open alarms</dt><dd id=\"open-alarms\">");
    if o.open_alarms.is_empty() {
        s.push_str("none");
    }
    for (sev, n) in &o.open_alarms {
        let _ = write!(
            s,
            "<a class=\"badge sev-{c}\" href=\"/alarms\" data-severity=\"{c}\">{n} {c}</a> ",
            c = esc(sev)
        );
    }
    s.push_str("</dd></dl><h2>Housekeeping</h2>");
    if o.params.is_empty() {
        s.push_str("<p>No housekeeping received yet.</p>");
        return s;
    }
    s.push_str(
        "<table class=\"hk\"><thead><tr><th>Parameter</th><th>Value</th><th>Unit</th>\
<th>Limits</th></tr></thead><tbody>",
    );
    for p in &o.params {
        let _ = write!(
            s,
            "<tr class=\"{c}\" data-param=\"{n}\"><td><a href=\"/trends?param={n}\">{n}</a></td>\
<td class=\"num\">{v}</td><td>{u}</td><td>{l}</td></tr>",
            c = sev_class(p.severity),
            n = esc(&p.name),
            v = fmt_value(p.value),
            u = p.unit.as_deref().map_or(String::new(), esc),
            l = esc(&p.limits),
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn alarm_row(s: &mut String, a: &AlarmView, v: &Viewer<'_>, actions: bool) {
    let _ = write!(
        s,
        "<tr class=\"alarm sev-{sev} st-{st}\" data-alarm-id=\"{id}\" data-alarm-subject=\"{sub}\" \
data-alarm-state=\"{st}\" data-raised-ms=\"{raised}\"><td>{sev}</td><td>{sub}</td><td>{msg}</td>\
<td>{when}</td><td>{st}{until}</td><td>{note}</td><td>",
        id = a.id,
        sev = esc(&a.severity),
        st = esc(&a.state),
        sub = esc(&a.subject),
        msg = esc(&a.message),
        raised = a.raised_ms,
        when = utc_ms(a.raised_ms),
        until = a.shelved_until_ms.map_or(String::new(), |u| format!(" until {}", utc_ms(u))),
        note = a.last_note.as_deref().map_or(String::new(), esc),
    );
    if actions && v.role >= Role::Operator {
        let csrf = esc(v.csrf);
        if a.state == "raised" || a.state == "cleared" {
            let _ = write!(
                s,
                "<form method=\"post\" action=\"/alarms/{id}/ack\" class=\"ack\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input name=\"comment\" placeholder=\"comment\" required aria-label=\"comment\">\
<button type=\"submit\">Acknowledge</button></form>",
                id = a.id
            );
        }
        if matches!(a.state.as_str(), "raised" | "acknowledged" | "cleared") {
            let _ = write!(
                s,
                "<form method=\"post\" action=\"/alarms/{id}/shelve\" class=\"shelve\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input name=\"reason\" placeholder=\"reason\" required aria-label=\"reason\">\
<input name=\"minutes\" type=\"number\" min=\"1\" max=\"10080\" value=\"60\" aria-label=\"minutes\"> min \
<button type=\"submit\">Shelve</button></form>",
                id = a.id
            );
        }
    }
    s.push_str("</td></tr>");
}

fn alarm_table(
    s: &mut String,
    title: &str,
    id: &str,
    list: &[AlarmView],
    v: &Viewer<'_>,
    actions: bool,
) {
    let _ = write!(s, "<h2>{title} ({})</h2>", list.len());
    if list.is_empty() {
        let _ = write!(s, "<p id=\"{id}\" class=\"empty\">None.</p>");
        return;
    }
    let _ = write!(
        s,
        "<table id=\"{id}\" class=\"alarms\"><thead><tr><th>Severity</th><th>Subject</th>\
<th>Message</th><th>Raised</th><th>State</th><th>Last note</th><th></th></tr></thead><tbody>"
    );
    for a in list {
        alarm_row(s, a, v, actions);
    }
    s.push_str("</tbody></table>");
}

/// The alarms page's live part.
pub fn alarms(l: &AlarmLists, v: &Viewer<'_>) -> String {
    let mut s = String::from("<h1>Alarms</h1>");
    if v.role < Role::Operator {
        s.push_str("<p class=\"hint\">Viewers read; operators acknowledge and shelve.</p>");
    }
    alarm_table(&mut s, "Open", "open", &l.open, v, true);
    alarm_table(&mut s, "Shelved", "shelved", &l.shelved, v, true);
    alarm_table(&mut s, "Recent", "recent", &l.recent, v, false);
    s
}

/// The query of the trends page, resolved.
#[derive(Debug, Clone)]
pub struct TrendQuery {
    /// Parameter name.
    pub param: String,
    /// Interval start.
    pub from_ms: i64,
    /// Interval end.
    pub to_ms: i64,
    /// Resolution used.
    pub resolution: Resolution,
}

fn trend_link(param: &str, from: i64, to: i64, text: &str) -> String {
    format!(
        "<a href=\"/trends?param={}&amp;from={}&amp;to={}\">{text}</a>",
        esc(param),
        utc_param(from),
        utc_param(to)
    )
}

/// The trends page's live part: the form, zoom links and the plot.
pub fn trends(q: &TrendQuery, params: &[String], points: &[TrendPoint]) -> String {
    let mut s =
        String::from("<h1>Trends</h1><form method=\"get\" action=\"/trends\" class=\"trend\">");
    s.push_str("<label>Parameter <select name=\"param\">");
    for p in params {
        let sel = if *p == q.param { " selected" } else { "" };
        let _ = write!(s, "<option{sel}>{}</option>", esc(p));
    }
    let _ = write!(
        s,
        "</select></label> <label>From <input name=\"from\" value=\"{}\"></label> \
<label>To <input name=\"to\" value=\"{}\"></label> <button type=\"submit\">Show</button></form>",
        utc_param(q.from_ms),
        utc_param(q.to_ms)
    );
    let span = (q.to_ms - q.from_ms).max(1000);
    let mid = q.from_ms + span / 2;
    let _ = write!(
        s,
        "<p class=\"zoom\">{} {} {} {} · <span id=\"resolution\">{}</span>, {} points</p>",
        trend_link(&q.param, q.from_ms - span / 2, q.to_ms - span / 2, "← earlier"),
        trend_link(&q.param, mid - span / 4, mid + span / 4, "zoom in ×2"),
        trend_link(&q.param, mid - span, mid + span, "zoom out ×2"),
        trend_link(&q.param, q.from_ms + span / 2, q.to_ms + span / 2, "later →"),
        q.resolution.as_str(),
        points.len()
    );
    if q.param.is_empty() {
        s.push_str("<p>No parameter has samples yet.</p>");
    } else {
        s.push_str(&svg::trend(&q.param, q.from_ms, q.to_ms, points));
    }
    s
}

/// The trigger tables in force and their thresholds (or why unknown).
fn thresholds(s: &mut String, t: &TriggerView) {
    let _ = write!(
        s,
        "<h2>Thresholds in force</h2><p id=\"thresholds-at\">{}</p>",
        match t.thresholds_at_ms {
            Some(at) => format!(
                "At {} (the newest report), from the table versions the unit reported and \
                 the table images seen in dumps (200,6).",
                utc_ms(at)
            ),
            None => "No table version known yet (no HK or directory report).".to_owned(),
        }
    );
    if t.thresholds.is_empty() {
        return;
    }
    s.push_str("<table id=\"thresholds\"><thead><tr><th>Table</th><th>Threshold</th><th>Value</th></tr></thead><tbody>");
    for tt in &t.thresholds {
        let head = format!(
            "{} v{} (CRC {:08X}){}",
            esc(&tt.table),
            tt.version,
            tt.crc,
            tt.image_seen_ns
                .map_or(String::new(), |ns| format!(", dumped {}", utc_ms(ns / 1_000_000)))
        );
        if let Some(why) = &tt.unknown {
            let _ = write!(
                s,
                "<tr class=\"unknown\" data-table=\"{}\"><td>{head}</td><td colspan=\"2\">{}</td></tr>",
                esc(&tt.table),
                esc(why)
            );
            continue;
        }
        for (what, value) in &tt.rows {
            let _ = write!(
                s,
                "<tr data-table=\"{}\"><td>{head}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&tt.table),
                esc(what),
                esc(value)
            );
        }
    }
    s.push_str("</tbody></table>");
}

fn alert_row(s: &mut String, a: &AlertView) {
    let pos = match (a.ra_deg, a.dec_deg) {
        (Some(ra), Some(dec)) => format!("{ra:.3}, {dec:+.3}"),
        _ => "—".to_owned(),
    };
    let _ = write!(
        s,
        "<tr data-alert-id=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{:.1}</td><td class=\"threshold\">{}</td><td>{}</td><td>{}</td></tr>",
        a.id,
        utc_ms(a.t_ms),
        esc(&a.kind),
        fmt_value(a.timescale_ms),
        a.snr,
        esc(a.threshold.as_deref().unwrap_or("—")),
        pos,
        a.catalog_id.map_or("—".to_owned(), |c| c.to_string()),
    );
}

/// The trigger page's live part.
pub fn trigger(t: &TriggerView) -> String {
    let mut s =
        String::from("<h1>Trigger</h1><div class=\"cols\"><section><h2>Alerts on the sky</h2>");
    s.push_str(&svg::sky_map(&t.alerts));
    s.push_str("</section><section><h2>Counters and sector rates</h2>");
    if t.gauges.is_empty() {
        s.push_str("<p>No trigger housekeeping yet.</p>");
    } else {
        s.push_str(
            "<p class=\"note\">The unit has no threshold on sector rates: the limit shown is the \
ground's (the limits file's soft high). The on-board thresholds are below.</p>",
        );
        s.push_str("<table class=\"gauges\"><thead><tr><th>Name</th><th>Value</th><th>Ground limit</th></tr></thead><tbody>");
        for g in &t.gauges {
            let over = g.threshold.is_some_and(|th| g.value > th);
            let _ = write!(
                s,
                "<tr class=\"{}\" data-gauge=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                if over { "hard" } else { "ok" },
                esc(&g.name),
                esc(&g.name),
                fmt_value(g.value),
                g.threshold.map_or("—".to_owned(), fmt_value)
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section></div>");
    thresholds(&mut s, t);
    s.push_str("<h2>Alerts</h2>");
    if t.alerts.is_empty() {
        s.push_str("<p id=\"alerts\" class=\"empty\">No alert received.</p>");
    } else {
        s.push_str(
            "<table id=\"alerts\"><thead><tr><th>Received</th><th>Type</th><th>Timescale (ms)</th>\
<th>SNR</th><th>Threshold in force</th><th>RA, Dec (°)</th><th>Catalogue</th></tr></thead><tbody>",
        );
        for a in &t.alerts {
            alert_row(&mut s, a);
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("<h2>Alerts per day</h2>");
    s.push_str(&svg::per_day(&t.alerts_per_day));
    s.push_str("<h2>Table versions in force</h2>");
    if t.tables.is_empty() {
        s.push_str("<p>No table directory received.</p>");
    } else {
        let mut names: Vec<&str> = Vec::new();
        for tv in &t.tables {
            for (n, _) in &tv.versions {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        s.push_str("<table class=\"tables\"><thead><tr><th>From</th>");
        for n in &names {
            let _ = write!(s, "<th>{}</th>", esc(n));
        }
        s.push_str("</tr></thead><tbody>");
        for tv in &t.tables {
            let _ = write!(s, "<tr><td>{}</td>", utc_ms(tv.t_ms));
            for n in &names {
                let v = tv
                    .versions
                    .iter()
                    .find(|(m, _)| m == n)
                    .map_or("—".to_owned(), |(_, v)| v.to_string());
                let _ = write!(s, "<td class=\"num\">{v}</td>");
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
    }
    s
}

/// The files page's live part.
pub fn files(list: &[FileView]) -> String {
    let mut s = String::from("<h1>Files</h1>");
    let n_q = list.iter().filter(|f| f.outcome != "ingested").count();
    let _ = write!(s, "<p>{} ingested, {} quarantined (newest first).</p>", list.len() - n_q, n_q);
    if list.is_empty() {
        return s;
    }
    s.push_str(
        "<table class=\"files\"><thead><tr><th>File</th><th>Outcome</th><th>When</th>\
<th>Contents or reason</th><th>SHA-256</th></tr></thead><tbody>",
    );
    for f in list {
        let _ = write!(
            s,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            if f.outcome == "ingested" { "ok" } else { "hard" },
            esc(&f.name),
            esc(&f.outcome),
            utc_ms(f.t_ms),
            esc(&f.detail),
            f.sha256.as_deref().map_or(String::new(), |h| esc(h.get(..16).unwrap_or(h))),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The users page (admins only).
pub fn users(list: &[UserRecord], v: &Viewer<'_>, me: &str) -> String {
    let csrf = esc(v.csrf);
    let mut s = String::from(
        "<h1>Users</h1><table class=\"users\"><thead><tr><th>Name</th><th>Role</th><th></th></tr></thead><tbody>",
    );
    for u in list {
        let mut opts = String::new();
        for r in Role::ALL {
            let sel = if r == u.role { " selected" } else { "" };
            let _ = write!(opts, "<option{sel}>{r}</option>");
        }
        let _ = write!(
            s,
            "<tr data-user=\"{n}\"><td>{n}</td><td><form method=\"post\" action=\"/users/role\" class=\"inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"name\" value=\"{n}\">\
<select name=\"role\">{opts}</select> <button type=\"submit\">Set</button></form></td><td>",
            n = esc(&u.name)
        );
        if u.name != me {
            let _ = write!(
                s,
                "<form method=\"post\" action=\"/users/delete\" class=\"inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"name\" value=\"{n}\">\
<button type=\"submit\">Remove</button></form>",
                n = esc(&u.name)
            );
        }
        s.push_str("</td></tr>");
    }
    let _ = write!(
        s,
        "</tbody></table><h2>Add a user</h2><form method=\"post\" action=\"/users/add\" class=\"adduser\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>Name <input name=\"name\" required pattern=\"[A-Za-z0-9_.-]{{1,64}}\"></label> \
<label>Role <select name=\"role\"><option>viewer</option><option>operator</option><option>admin</option></select></label> \
<label>Password <input name=\"password\" type=\"password\" minlength=\"8\" required autocomplete=\"new-password\"></label> \
<button type=\"submit\">Add</button></form>"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_escaping() {
        assert_eq!(utc_ms(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc_param(86_400_000 + 1500), "1970-01-02T00:00:01Z");
        let v = Viewer { user: "<x>", role: Role::Viewer, csrf: "\"t" };
        let p = page("T", "/", "/?fragment=1", &v, "");
        assert!(p.contains("&lt;x&gt;") && !p.contains("<x>"));
        assert!(p.contains("&quot;t"));
        assert!(!p.contains("href=\"/users\""), "viewers have no users link");
    }

    #[test]
    fn viewers_get_no_alarm_forms_operators_do() {
        let a = AlarmView {
            id: 7,
            subject: "tc_rejected".into(),
            severity: "warning".into(),
            state: "raised".into(),
            message: "tc_rejected = 1 above soft high 0".into(),
            raised_ms: 1_000,
            last_note: None,
            shelved_until_ms: None,
        };
        let lists = AlarmLists { open: vec![a], ..AlarmLists::default() };
        let viewer = Viewer { user: "v", role: Role::Viewer, csrf: "c" };
        let op = Viewer { user: "o", role: Role::Operator, csrf: "c" };
        assert!(!alarms(&lists, &viewer).contains("/alarms/7/ack"));
        let h = alarms(&lists, &op);
        assert!(h.contains("action=\"/alarms/7/ack\"") && h.contains("/alarms/7/shelve"));
        assert!(h.contains("data-alarm-subject=\"tc_rejected\""));
    }
}
