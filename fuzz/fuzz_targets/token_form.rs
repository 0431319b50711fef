#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (body, authorization) = portcullis_token_server::fuzzing::split_request(data);
    portcullis_token_server::fuzzing::token_form(body, authorization);
});
