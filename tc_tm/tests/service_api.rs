//! Public API of the service layer: dispatch by (service, subtype), errors, failure codes.

use tc_tm::service::function::{Bank, Function};
use tc_tm::service::memory::MemoryId;
use tc_tm::service::text::parse_request;
use tc_tm::service::verification::{Failure, FailureData, RequestId};
use tc_tm::service::{
    Error, FailureCode, Report, Request, Stage, function, memory, parameter, verification,
};

#[test]
fn dispatch_by_service_and_subtype() {
    let req = Request::parse(8, 1, &[0x02, 0x02]).unwrap();
    assert_eq!(
        req,
        Request::Function(function::Request::Perform(Function::SelectBootBank(Bank::B)))
    );
    assert_eq!(req.service_subtype(), (8, 1));
    assert_eq!(req.buffer_len(), 2);
    assert_eq!(req.to_string(), "function select-boot-bank bank=B");

    let rep =
        Report::parse(6, 10, &[0x04, 0, 0, 0, 0, 0, 0, 0, 9, 0xCB, 0xF4, 0x39, 0x26]).unwrap();
    let Report::Memory(memory::Report::Check(c)) = rep else { panic!("{rep:?}") };
    assert_eq!(c.memory_id, MemoryId::Patch);
    assert_eq!(c.crc, tc_tm::crc::crc32(b"123456789"));
}

#[test]
fn direction_and_unknown_numbers_are_rejected() {
    assert_eq!(Request::parse(4, 1, &[]).unwrap_err(), Error::UnknownService(4));
    // 1,1 is a report, not a request.
    assert_eq!(Request::parse(1, 1, &[0; 4]).unwrap_err(), Error::UnknownService(1));
    assert_eq!(Report::parse(8, 1, &[3]).unwrap_err(), Error::UnknownService(8));
    assert_eq!(
        Request::parse(17, 2, &[]).unwrap_err(),
        Error::UnknownSubtype { service: 17, subtype: 2 }
    );
}

#[test]
fn service_errors_map_to_acceptance_failure_codes() {
    let cases: [(&[u8], u8, u8, FailureCode); 5] = [
        (&[0x09], 8, 1, FailureCode::FunctionUnknown),
        (&[0x02, 0x07], 8, 1, FailureCode::BadEnumValue),
        (&[0x01], 20, 1, FailureCode::MalformedData),
        (&[0x00], 20, 1, FailureCode::BadCount),
        (&[], 99, 1, FailureCode::UnknownService),
    ];
    for (data, s, t, code) in cases {
        let e = Request::parse(s, t, data).unwrap_err();
        let mapped = FailureCode::from(e);
        assert_eq!(mapped, code, "{e}");
        assert_eq!(mapped.stage(), Stage::Acceptance);
        assert_eq!(mapped.stage().failure_subtype(), 2);
    }
    let crate_error: tc_tm::Error = Error::UnknownService(9).into();
    assert_eq!(crate_error.layer(), "service");
}

#[test]
fn unit_reports_a_parameter_range_failure() {
    // What the unit does with `param set hk_period_ms=50`: parse, check, report 1,4.
    let mut buf = [0u8; 16];
    let (s, t, n) = parse_request("param set hk_period_ms=50", &mut buf).unwrap();
    let Request::Parameter(parameter::Request::Set(items)) =
        Request::parse(s, t, &buf[..n]).unwrap()
    else {
        panic!()
    };
    let (index, item) = items.iter().enumerate().next().unwrap();
    let code = parameter::check(item.id, item.raw).unwrap_err();
    assert_eq!(code, FailureCode::ParameterOutOfRange);
    let report = Report::Verification(verification::Report::StartFailure(Failure {
        request_id: RequestId { packet_id: 0x1A40, seq_ctrl: 0xC007 },
        code,
        data: FailureData { subject: item.id.0, index: index as u16, field: 0, value: item.raw },
    }));
    let mut out = [0u8; 16];
    assert_eq!(report.emit(&mut out).unwrap(), 16);
    assert_eq!(
        out,
        [
            0x1A, 0x40, 0xC0, 0x07, 0x02, 0x0D, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x32
        ]
    );
    assert_eq!(report.service_subtype(), (1, code.stage().failure_subtype()));
}
