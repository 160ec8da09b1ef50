//! A reset carried out by the target (`onboard::handover`), as the firmware does: the reset TC
//! queues its reports and raises `restart_requested` without restarting in place; the queued TM
//! goes out; a new unit resumes from the hand-over with the boot event, and FARM-1, the VC frame
//! counts (the ground's reassemblers fail on any gap) and the TM sequence counts go on.

mod unit_harness;

use onboard::handover::LinkHandover;
use onboard::unit::Unit;
use tc_tm::service::Request;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{self as func, ArmTarget, Function};
use tc_tm::service::test::Request as TestRequest;
use unit_harness::{Ground, storage};

fn function(f: Function) -> Request<'static> {
    Request::Function(func::Request::Perform(f))
}

#[test]
fn a_target_restart_carries_the_link_over() {
    let mut g = Ground::new("restart-external");
    g.unit.set_external_restart(true);
    let rid = g.exec(&Request::Test(TestRequest::AreYouAlive));
    g.assert_ok(rid);
    g.take();
    let rid = g.exec(&function(Function::Arm(ArmTarget::Reset)));
    g.assert_ok(rid);
    let rid = g.exec(&function(Function::Reset));
    assert!(g.unit.restart_requested(), "the target restarts, not the unit");
    assert!(!g.unit.tm_pending(), "the reset's reports were sent");
    assert_eq!(g.stages(rid), [1, 3], "accepted and started, then the restart");
    assert!(!g.events().iter().any(|(e, _)| *e == EventId::Boot), "no in-place restart");
    assert_eq!(g.unit.counters().resets, 0);
    let seq_before = g.take().iter().filter(|t| t.vc == 0).map(|t| t.seq).max().unwrap();

    // A frame arriving now is not taken (FOP-1 would send it again after the restart).
    let vs = g.vs;
    let rid_lost = g.send(&Request::Test(TestRequest::AreYouAlive));
    g.drain();
    assert!(g.verifications(rid_lost).is_empty());
    assert_eq!(g.unit.counters().frames_dropped_restarting, 1);
    g.vs = vs;

    // The hand-over crosses as octets; the new unit resumes from it.
    let h = LinkHandover::decode(&g.unit.link_handover().encode()).expect("hand-over");
    assert_eq!(h.v_r, vs);
    let placeholder = Unit::power_on(storage("restart-placeholder"), g.now);
    let old = std::mem::replace(&mut g.unit, placeholder);
    g.unit = Unit::resume(old.power_off(), g.now, &h);
    g.drain();
    let boot = g.take();
    assert!(boot.iter().any(|t| (t.service, t.subtype) == (5, 1)), "boot event after resume");
    assert!(boot.iter().all(|t| t.vc != 0 || t.seq > seq_before), "TM sequence goes on");
    assert_eq!(g.unit.counters().resets, 1);

    // FARM-1 expects the next N(S): the TC sent again is executed once.
    let rid = g.exec(&Request::Test(TestRequest::AreYouAlive));
    g.assert_ok(rid);
}
