//! ST\[17\] test: the are-you-alive report.

use tc_tm::service::test;

use super::Body;

pub(super) fn text(r: &test::Report) -> Option<String> {
    match r {
        test::Report::AreYouAlive => Some("are-you-alive: the unit is alive".to_owned()),
        _ => None,
    }
}

pub(super) fn json(r: &test::Report) -> Option<Body> {
    match r {
        test::Report::AreYouAlive => Some(Body::new("are_you_alive")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tc_tm::service::Report;

    use super::*;
    use crate::report::{json, text};

    #[test]
    fn st17_test() {
        let r = Report::Test(test::Report::AreYouAlive);
        assert_eq!(text(&r), "17,2 are-you-alive: the unit is alive");
        assert_eq!(json(&r), json!({"service": 17, "subtype": 2, "type": "are_you_alive"}));
    }
}
