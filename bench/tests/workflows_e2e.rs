//! The two workflows end to end on the twin over pseudo-terminals: workplan → stack → run
//! (slots activated on the unit's clock, a second plan empty, an invalid workplan refused
//! before anything is sent), and software updates (resume after the twin is killed halfway,
//! a corrupted bank caught by the check, a fallback at reset reported, rollback).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eic_bench::cmd::plan::unit_state;
use eic_bench::session::{Session, SessionConfig};
use eic_bench::twin::{TwinConfig, UnitTwin};
use eic_bench::workflow::evidence::{Evidence, Recorder, unix_now, utc_text};
use eic_bench::workflow::plan::{LoadedWorkplan, configurations, plan};
use eic_bench::workflow::run::{RunOptions, execute};
use eic_bench::workflow::stack::{Stack, check};
use eic_bench::workflow::tables as wft;
use eic_bench::workflow::update::{self as upd, UpdateOptions};
use indicatif::ProgressBar;
use onboard::image::{ImageInfo, SwVersion};
use tables::TableId;
use tc_tm::service::function::Bank;

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn session(path: &Path) -> Session {
    let mut cfg = SessionConfig::fast(path);
    cfg.clcw_timeout = Duration::from_secs(1);
    let mut s = Session::open(cfg).unwrap();
    s.connect().unwrap();
    s
}

/// What headless Chromium measures on an evidence page at a 1 280-pixel window.
#[derive(Debug, serde::Deserialize)]
struct PageMeasure {
    /// The page's scroll width, px.
    width: f64,
    /// TC rows (`tr` with an `id="tc-N"`), and their indices.
    rows: Vec<usize>,
    /// The tallest TC row, px, and its text (its start).
    max_row_px: f64,
    tallest: String,
    /// Folded octet strings (`details.octets`) and the octets they hold whole.
    folded: usize,
    folded_hex_chars: usize,
    /// Failures listed in the summary, and where the summary is (px from the top) relative
    /// to the TC table.
    failures: usize,
    summary_before_tcs: bool,
}

/// Renders an evidence page in headless Chromium at 1 280 × 900 and measures it with a
/// script added to a copy of the page (the page itself has none), as the regression report's
/// test renders its page. Needs `chromium` (Debian `chromium`; scripts/test installs it).
fn measure_in_chromium(html: &str) -> PageMeasure {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect(
            "chromium is required by this test: apt-get install -y chromium (scripts/test does)",
        );
    let probe = r#"<script>
const rows = [...document.querySelectorAll('table.tcs tr[id^="tc-"]')];
const tcs = document.querySelector('table.tcs').getBoundingClientRect().top;
const summary = document.getElementById('summary').getBoundingClientRect().top;
const m = {
  width: document.documentElement.scrollWidth,
  rows: rows.map(r => parseInt(r.id.slice(3))),
  max_row_px: Math.max(0, ...rows.map(r => r.getBoundingClientRect().height)),
  tallest: rows.reduce((a, r) => (a && a.getBoundingClientRect().height >=
    r.getBoundingClientRect().height) ? a : r, null)?.textContent.slice(0, 300) ?? '',
  folded: document.querySelectorAll('details.octets').length,
  folded_hex_chars: [...document.querySelectorAll('details.octets .hex')]
    .reduce((n, e) => n + e.textContent.length, 0),
  failures: document.querySelectorAll('li.failure').length,
  summary_before_tcs: summary < tcs,
};
const out = document.createElement('pre');
out.id = 'measure';
out.textContent = JSON.stringify(m);
document.body.appendChild(out);
</script></body>"#;
    assert!(!html.contains("<script"), "the evidence page itself has no script");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("evidence.html");
    std::fs::write(&page, html.replace("</body>", probe)).unwrap();
    let profile = dir.path().join("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .expect("runs chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom.find("<pre id=\"measure\">").unwrap_or_else(|| {
        panic!("chromium rendered no page:\n{}", String::from_utf8_lossy(&out.stderr))
    });
    let json = &dom[at + "<pre id=\"measure\">".len()..];
    let json = &json[..json.find("</pre>").unwrap()];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn workplan(dir: &Path, t0: i64) -> PathBuf {
    let p = dir.join("wp.toml");
    let body = format!(
        "profile = \"{}\"\n\
         [[slot]]\nname = \"noisy-pixels\"\nstart = \"{}\"\npixels.noisy = [12, 407]\n\n\
         [[slot]]\nname = \"crab-pointing\"\nstart = \"{}\"\n\
         catalog = [{{ source = \"Crab\", scale = 3.0 }}]\nparams.alert_min_snr = 7.5\n\n\
         [[slot]]\nname = \"survey\"\nstart = \"{}\"\n\
         catalog = [{{ source = \"Crab\", scale = 0.3333333 }}]\nalert.min_alert_snr = 7.0\n",
        examples().join("workplan-tables").display(),
        utc_text(t0 - 3600, 0),
        utc_text(t0 + 3600, 0),
        utc_text(t0 + 7200, 0),
    );
    std::fs::write(&p, body).unwrap();
    p
}

/// Waits until the unit's active tables equal `want` (time-tagged releases happen at the
/// twin's next tick).
fn wait_for_tables(s: &mut Session, want: &tables::set::TableSet, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A release may switch a table in the middle of its dump: pull again then.
        if let Ok(u) = wft::pull(s, &ProgressBar::hidden())
            && u.set().is_ok_and(|got| &got == want)
        {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: the unit's tables never became the slot's");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn workplan_to_stack_to_run_slots_happen_on_the_units_clock_then_nothing_left() {
    let dir = tempfile::tempdir().unwrap();
    let t = UnitTwin::start(&dir.path().join("state"), false, TwinConfig::default()).unwrap();
    let clock = t.twin.clock();
    let mut s = session(t.tctm_path());
    let t0 = unix_now().0;
    let wp = LoadedWorkplan::load(&workplan(dir.path(), t0)).unwrap();
    let cfgs = configurations(&wp).unwrap();
    // The unit holds the workplan's profile (as after last week's run).
    let profile = tables::set::TableSet::load_dir(&examples().join("workplan-tables")).unwrap();
    wft::push(&mut s, &profile, &ProgressBar::hidden()).unwrap();

    let unit = unit_state(&mut s, &wp.param_names()).unwrap();
    let (stack, sum) = plan(&wp, &unit, "twin").unwrap();
    assert_eq!(sum.now_slot.as_deref(), Some("noisy-pixels"));
    // Minimal: the pixel table is the only table of the past slot and is loaded once; the
    // catalogue is loaded now for slot 2 and again (time-tagged) after its activation.
    let loads = |id: u8, now: bool| {
        stack
            .tc
            .iter()
            .filter(|t| t.is_now() == now && t.request.starts_with(&format!("table load id={id} ")))
            .count()
    };
    assert_eq!(loads(1, true), 110, "pixel table, 108 812 octets in 990-octet segments");
    let cat = cfgs[1].set.image(TableId::Catalog).unwrap().len();
    assert_eq!(loads(5, true), cat.div_ceil(990), "catalogue for slot 2, now");
    assert_eq!(
        loads(5, false),
        cat.div_ceil(960),
        "catalogue for slot 3, after slot 2's activation"
    );
    for id in [2, 3, 4, 6] {
        assert_eq!(loads(id, true) + loads(id, false), 0, "table {id} unchanged: not loaded");
    }
    let stack_path = dir.path().join("wp.stack");
    stack.save(&stack_path).unwrap();
    let reread = Stack::load(&stack_path).unwrap();
    assert_eq!(reread.tc, stack.tc);
    assert!(check(&reread, t0).iter().all(|f| !f.error));

    let mut rec = Recorder::new(Evidence::new("run", "wp.stack", "twin"));
    let sum = execute(&mut s, &mut rec, &reread, &RunOptions::default()).unwrap();
    assert!(sum.time_tagged > 0 && sum.sent_now > 0, "{sum:?}");
    assert!(rec.evidence.tcs.iter().all(|t| t.ok()), "every TC verified");
    let sched = &rec.evidence.json()["sections"]["schedule"];
    assert_eq!(sched["unit_schedule_entries"].as_u64(), Some(sum.time_tagged as u64), "{sched}");
    let back = sched["read_back"].as_array().expect("11,13 summary read back");
    assert_eq!(back.len(), sum.time_tagged, "{sched}");
    assert_eq!(
        back[0]["release_utc"].as_str().map(|t| &t[..19]),
        Some(&utc_text(t0 + 3600, 0)[..19])
    );
    let html = rec.evidence.html();
    assert!(html.contains("table activate id=1") && html.contains("schedule insert"));
    // The page a reviewer opens: fits a 1 280-pixel screen, every TC a row of modest height,
    // every long octet string (the table loads' data) folded with the whole kept.
    let m = measure_in_chromium(&html);
    eprintln!(
        "evidence page: {} px wide, {} TC rows, tallest {} px, {} octet strings folded",
        m.width,
        m.rows.len(),
        m.max_row_px,
        m.folded
    );
    assert!(m.width <= 1280.0, "the page is {} px wide at a 1 280-pixel window", m.width);
    let indices: Vec<usize> = rec.evidence.tcs.iter().map(|t| t.index).collect();
    assert_eq!(m.rows, indices, "every TC has its row, in order");
    assert!(m.max_row_px < 200.0, "a TC row is {} px tall: {}", m.max_row_px, m.tallest);
    let long = rec.evidence.tcs.iter().filter(|t| t.app_data.len() > 64).count();
    assert!(long >= 110, "the pixel table loads carry long data: {long}");
    assert!(m.folded >= 2 * long, "request and application data folded: {m:?}");
    let all_hex: usize =
        rec.evidence.tcs.iter().filter(|t| t.app_data.len() > 64).map(|t| t.app_data.len()).sum();
    assert!(m.folded_hex_chars >= all_hex, "the whole octets are in the page: {m:?}");
    assert_eq!((m.failures, m.summary_before_tcs), (0, true), "{m:?}");

    // Now: the past slot's tables are active.
    wait_for_tables(&mut s, &cfgs[0].set, "slot noisy-pixels");
    // The unit's clock reaches slot 2, then slot 3.
    clock.advance_ms(3600 * 1000 + 5000);
    std::thread::sleep(Duration::from_millis(300));
    wait_for_tables(&mut s, &cfgs[1].set, "slot crab-pointing");
    clock.advance_ms(3600 * 1000);
    std::thread::sleep(Duration::from_millis(300));
    wait_for_tables(&mut s, &cfgs[2].set, "slot survey");
    let p = eic_bench::cmd::plan::read_params(&mut s, &["alert_min_snr".to_owned()]).unwrap();
    assert_eq!(p.get("alert_min_snr"), Some(&7.5f32.to_bits()), "parameter set at slot 2");

    // A second plan finds nothing to do.
    let unit = unit_state(&mut s, &wp.param_names()).unwrap();
    let (again, _) = plan(&wp, &unit, "twin").unwrap();
    assert!(again.tc.is_empty(), "{:?}", again.tc.iter().map(|t| &t.request).collect::<Vec<_>>());
    drop(s);
    t.stop().unwrap();
}

#[test]
fn an_invalid_workplan_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let t = UnitTwin::start(&dir.path().join("state"), false, TwinConfig::default()).unwrap();
    let wp = dir.path().join("bad.toml");
    std::fs::write(
        &wp,
        format!(
            "profile = \"{}\"\n[[slot]]\nname = \"too-high\"\nstart = \"2030-01-01T00:00:00Z\"\n\
             catalog = [{{ source = \"Crab\", flux_threshold = [1.0, -2.0, 1.0, 1.0] }}]\n",
            examples().join("workplan-tables").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("bad.stack");
    let o = Command::new(BIN)
        .env("EIC_JOURNAL_DIR", dir.path())
        .args(["plan", wp.to_str().unwrap(), "--against"])
        .arg(t.tctm_path())
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("slot \"too-high\"") && err.contains("catalog"), "{err}");
    assert!(err.contains("field"), "names the field: {err}");
    assert!(!out.exists(), "nothing written");
    assert_eq!(t.twin.stats().uplink_octets, 0, "nothing sent to the unit");
    t.stop().unwrap();
}

struct TwinProcess {
    child: Child,
    tctm: PathBuf,
}

fn spawn_twin(state: &Path) -> TwinProcess {
    let (child, v) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--until-stdin-eof", "--state"]).arg(state),
    );
    TwinProcess { child, tctm: PathBuf::from(v["tctm"].as_str().unwrap()) }
}

impl TwinProcess {
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn image(version: SwVersion, len: usize) -> (Vec<u8>, ImageInfo) {
    let payload: Vec<u8> =
        (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let img = eic_bench::cmd::image::build_image(&payload, version).unwrap();
    let info = eic_bench::cmd::image::inspect(&img).unwrap();
    (img, info)
}

fn update(
    path: &Path,
    img: &[u8],
    info: &ImageInfo,
    switch: bool,
) -> (anyhow::Result<upd::UpdateFigures>, Recorder) {
    let mut s = session(path);
    let mut rec = Recorder::new(Evidence::new("update", "test", "twin"));
    let r = upd::update(
        &mut s,
        &mut rec,
        img,
        info,
        UpdateOptions { bank: Bank::B, switch },
        &ProgressBar::hidden(),
    );
    (r, rec)
}

fn corrupt(state: &Path, file: &str, offset: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(state.join(file)).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut b = [0u8; 1];
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&[b[0] ^ 0x40]).unwrap();
}

#[test]
fn update_killed_halfway_resumes_then_corruption_is_caught_fallback_reported_rollback_works() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (img, info) = image(SwVersion::new(1, 1, 0, 0), 256 * 1024 - 32);

    // 1. The twin process is killed (SIGKILL) once half the image is loaded.
    let twin = spawn_twin(&state);
    let bar = ProgressBar::hidden();
    let killed = Arc::new(AtomicBool::new(false));
    let pid = twin.child.id();
    let watcher = {
        let (bar, killed) = (bar.clone(), killed.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if bar.length().is_some_and(|l| l > 0 && bar.position() * 2 >= l) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    killed.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let mut s = session(&twin.tctm);
    let mut rec = Recorder::new(Evidence::new("update", "test", "twin"));
    let first = upd::update(
        &mut s,
        &mut rec,
        &img,
        &info,
        UpdateOptions { bank: Bank::B, switch: true },
        &bar,
    );
    watcher.join().unwrap();
    assert!(killed.load(Ordering::SeqCst), "the twin was killed halfway");
    assert!(first.is_err(), "the interrupted update fails");
    drop(s);
    let mut twin = twin;
    let _ = twin.child.wait();

    // 2. Restarted on the same state: the update resumes from what bank B holds.
    let twin = spawn_twin(&state);
    let (r, rec) = update(&twin.tctm, &img, &info, true);
    let f = r.unwrap_or_else(|e| panic!("{e:#}\n{:?}", rec.evidence.steps));
    assert!(f.chunks_already_on_board * 3 >= f.chunks, "a third or more kept: {f:?}");
    assert!(f.octets_sent * 10 < img.len() * 7, "far less than the whole image sent again: {f:?}");
    assert!(rec.evidence.steps.iter().any(|s| s.name == "confirm" && s.ok));
    twin.stop();

    // 3. A byte of bank B is corrupted on disk (the unit runs B): at power-on the unit
    //    falls back to A and the update tool says so, then its survey finds the damaged
    //    chunk and resends only it.
    corrupt(&state, "bank_b.bin", 100_000);
    let twin = spawn_twin(&state);
    let (r, rec) = update(&twin.tctm, &img, &info, true);
    let f = r.unwrap_or_else(|e| panic!("{e:#}\n{:?}", rec.evidence.steps));
    let status = &rec.evidence.steps[0];
    assert!(status.detail.contains("fell back"), "{}", status.detail);
    assert_eq!(f.octets_sent, upd::CHUNK_LEN, "only the damaged chunk resent: {f:?}");
    twin.stop();

    // 4. Corruption while bank B is selected: the reset falls back and the tool reports it.
    corrupt(&state, "bank_b.bin", 200_000);
    let twin = spawn_twin(&state);
    let mut s = session(&twin.tctm);
    let mut rec = Recorder::new(Evidence::new("reset", "test", "twin"));
    let boot = upd::reset(&mut s, &mut rec, Bank::B).unwrap();
    assert!(boot.fallback && boot.booted == Some(Bank::A), "{boot:?}");
    let e = upd::confirm(&mut s, &mut rec, Bank::B, Some(&info), &boot).unwrap_err().to_string();
    assert!(e.contains("FELL BACK to bank A"), "{e}");
    drop(s);

    // 5. Repaired by the update, then rolled back to bank A in one command.
    let (r, _) = update(&twin.tctm, &img, &info, true);
    assert_eq!(r.unwrap().octets_sent, upd::CHUNK_LEN);
    let o = Command::new(BIN)
        .env("EIC_JOURNAL_DIR", dir.path())
        .args(["rollback"])
        .arg(&twin.tctm)
        .args(["--json", "--evidence"])
        .arg(dir.path().join("rb"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["outcome"].as_str().unwrap().contains("1.0.0+0 from bank A"), "{v}");
    assert!(dir.path().join("rb.html").exists());
    twin.stop();
}

#[test]
fn update_refuses_a_bad_image_and_the_running_bank_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let t = UnitTwin::start(&dir.path().join("state"), false, TwinConfig::default()).unwrap();
    let (mut img, _) = image(SwVersion::new(2, 0, 0, 0), 4000);
    img[100] ^= 1;
    let p = dir.path().join("bad.img");
    std::fs::write(&p, &img).unwrap();
    let o = Command::new(BIN)
        .arg("update")
        .arg(t.tctm_path())
        .arg(&p)
        .args(["--bank", "B"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("payload CRC"));
    assert_eq!(t.twin.stats().uplink_octets, 0, "nothing sent");

    let (img, info) = image(SwVersion::new(2, 0, 0, 0), 4000);
    let mut s = session(t.tctm_path());
    let mut rec = Recorder::new(Evidence::new("update", "test", "twin"));
    let e = upd::update(
        &mut s,
        &mut rec,
        &img,
        &info,
        UpdateOptions { bank: Bank::A, switch: true },
        &ProgressBar::hidden(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("runs from bank A"), "{e}");
    assert!(!rec.evidence.tcs.iter().any(|t| t.service == 6), "no memory TC sent");
    drop(s);

    // Through the command, with a stack of acceptance TCs run on the new software.
    let good = dir.path().join("good.img");
    std::fs::write(&good, &img).unwrap();
    let mut acc = Stack::new("acceptance", "twin", tc_tm::service::function::Mode::Safe);
    acc.push("now", "", "alive", vec![], "test are-you-alive".into()).unwrap();
    acc.push("now", "", "version", vec![], "param get id=sw_version".into()).unwrap();
    let acc_path = dir.path().join("acc.stack");
    acc.save(&acc_path).unwrap();
    let o = Command::new(BIN)
        .env("EIC_JOURNAL_DIR", dir.path())
        .arg("update")
        .arg(t.tctm_path())
        .arg(&good)
        .args(["--bank", "B", "--json", "--acceptance"])
        .arg(&acc_path)
        .arg("--evidence")
        .arg(dir.path().join("ev"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v} {}", String::from_utf8_lossy(&o.stderr));
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ev.json")).unwrap())
            .unwrap();
    let purposes: Vec<&str> =
        ev["tcs"].as_array().unwrap().iter().filter_map(|t| t["purpose"].as_str()).collect();
    assert!(purposes.contains(&"alive") && purposes.contains(&"version"), "{purposes:?}");
    t.stop().unwrap();
}

#[test]
fn run_stops_at_the_first_failure_unless_the_stack_says_continue() {
    let dir = tempfile::tempdir().unwrap();
    let t = UnitTwin::start(&dir.path().join("state"), false, TwinConfig::default()).unwrap();
    let mut s = session(t.tctm_path());
    let mut stack = Stack::new("test", "twin", tc_tm::service::function::Mode::Safe);
    for req in [
        "param set alert_min_snr=99.0",
        "test are-you-alive",
        "param set hk_period_ms=5",
        "test are-you-alive",
    ] {
        stack.push("now", "", "test", vec![], req.to_owned()).unwrap();
    }
    stack.tc[0].on_failure = "continue".into();
    let mut rec = Recorder::new(Evidence::new("run", "test", "twin"));
    let e = execute(&mut s, &mut rec, &stack, &RunOptions::default()).unwrap_err();
    assert!(format!("{e:#}").contains("TC 3 of the stack"), "{e:#}");
    let main: Vec<&str> = rec
        .evidence
        .tcs
        .iter()
        .filter(|t| t.purpose == "test")
        .map(|t| t.outcome.as_str())
        .collect();
    assert_eq!(main, ["failed", "completed", "failed"], "the 4th TC is never sent");
    let first = rec.evidence.tcs.iter().find(|t| t.purpose == "test").unwrap();
    assert!(
        first.failure.as_deref().unwrap_or("").contains("parameter_out_of_range"),
        "failure code explained: {first:?}"
    );
    assert!(rec.evidence.html().contains("parameter_out_of_range"));
    // The failures come first, in the summary above the tables.
    rec.evidence.finish(false, format!("{e:#}"));
    let m = measure_in_chromium(&rec.evidence.html());
    assert!(m.summary_before_tcs && m.failures >= 2, "{m:?}");
    assert_eq!(m.rows.len(), rec.evidence.tcs.len());
    assert!(m.width <= 1280.0, "{m:?}");
    drop(s);
    t.stop().unwrap();
}

#[test]
fn a_run_killed_after_it_changed_the_unit_is_recovered_at_the_next_contact() {
    let dir = tempfile::tempdir().unwrap();
    let jdir = dir.path().join("journal");
    let twin = spawn_twin(&dir.path().join("state"));
    let wp = workplan(dir.path(), unix_now().0);
    let stack = dir.path().join("wp.stack");
    let bench = |args: &[&std::ffi::OsStr], crash: Option<&str>| {
        let mut c = Command::new(BIN);
        c.env("EIC_JOURNAL_DIR", &jdir).args(args);
        if let Some(n) = crash {
            c.env("EIC_BENCH_CRASH_AFTER_STEP", n);
        }
        c.output().unwrap()
    };
    let dev = twin.tctm.as_os_str();
    let o = bench(
        &[
            "plan".as_ref(),
            wp.as_os_str(),
            "--against".as_ref(),
            dev,
            "-o".as_ref(),
            stack.as_os_str(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Killed (abort, no cleanup) right after journaling its second step: maintenance entered,
    // the pixel load about to start.
    let ev = dir.path().join("ev");
    let o = bench(
        &["run".as_ref(), dev, stack.as_os_str(), "--evidence".as_ref(), ev.as_os_str()],
        Some("2"),
    );
    assert!(o.status.code().is_none() || !o.status.success(), "the run was killed");
    assert!(std::fs::read_dir(&jdir).unwrap().count() == 1, "its journal is left behind");
    // The next contact finds it, restores the mode, and the run then completes.
    let o = bench(
        &[
            "run".as_ref(),
            dev,
            stack.as_os_str(),
            "--json".as_ref(),
            "--evidence".as_ref(),
            ev.as_os_str(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupted `run`"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v} {err}");
    assert_eq!(
        std::fs::read_dir(&jdir).unwrap().count(),
        0,
        "journal removed after a complete run"
    );
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ev.json")).unwrap())
            .unwrap();
    assert!(ev["sections"]["recovered"].is_string(), "the recovery is in the evidence");
    twin.stop();
}
