//! SigV4 verification, as AWS does it: the emulator recomputes the signature of each request
//! from the headers it names (`SignedHeaders`), its time (`X-Amz-Date`), its body and the
//! secret it was configured with, and refuses a request whose signature differs
//! (`SignatureDoesNotMatch`) or that carries none (`MissingAuthenticationToken`).

use std::time::SystemTime;

use aws_sdk_elasticbeanstalk::config::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};

use super::error::ApiError;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct Authorization<'a> {
    access_key: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let mut scope = credential?.split('/');
    let access_key = scope.next()?;
    let _date = scope.next()?;
    let region = scope.next()?;
    let service = scope.next()?;
    Some(Authorization {
        access_key,
        region,
        service,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

/// `20240501T120000Z` as a time.
fn amz_date(text: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    if text.len() != 16 || !text.ends_with('Z') || text.as_bytes()[8] != b'T' {
        return None;
    }
    let date = time::Date::from_calendar_date(
        i32::try_from(digits(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?,
        u8::try_from(digits(6..8)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(digits(9..11)?).ok()?,
        u8::try_from(digits(11..13)?).ok()?,
        u8::try_from(digits(13..15)?).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .into(),
    )
}

/// Check the request's signature against `access_key`/`secret`.
pub fn verify(
    method: &str,
    path_and_query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: Option<&str>,
) -> Result<(), ApiError> {
    let Some(header) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::missing_authentication());
    };
    let Some(auth) = parse(header) else {
        return Err(ApiError::incomplete_signature());
    };
    if auth.access_key != access_key {
        return Err(ApiError::bad_token());
    }
    let Some(secret) = secret else {
        return Ok(());
    };
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(time) = value("x-amz-date").and_then(amz_date) else {
        return Err(ApiError::incomplete_signature());
    };
    let mut signed = Vec::new();
    for name in &auth.signed_headers {
        let Some(v) = value(name) else {
            return Err(ApiError::signature_mismatch());
        };
        signed.push((*name, v));
    }
    let host = value("host").unwrap_or("localhost");
    let identity = Credentials::new(access_key, secret, None, None, "ebsim").into();
    let Ok(params) = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
    else {
        return Err(ApiError::incomplete_signature());
    };
    let params = params.into();
    let url = format!("http://{host}{path_and_query}");
    let Ok(request) = SignableRequest::new(
        method,
        url,
        signed.iter().copied(),
        SignableBody::Bytes(body),
    ) else {
        return Err(ApiError::signature_mismatch());
    };
    match sign(request, &params) {
        Ok(output) if output.signature() == auth.signature => Ok(()),
        _ => Err(ApiError::signature_mismatch()),
    }
}
