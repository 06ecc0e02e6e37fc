//! `ports:` and `expose:` entries, short and long forms, with ranges expanded to one entry per
//! container port.
//!
//! Short form, as Docker's `nat.ParsePortSpec` reads it: `[[IP:][HOST]:]CONTAINER[/PROTO]`,
//! where HOST and CONTAINER may be ranges (`9000-9002`) and an IPv6 address is written in
//! brackets (`[::1]:8080:80`).

use std::net::IpAddr;

use super::model::{ExposedPort, HostPort, PortMapping, Protocol};

/// What a valid port looks like, for messages.
pub(crate) const PORT_EXPECTED: &str = "`CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER` \
     with an optional `/udp`, ports from 1 to 65535 (ranges like `9000-9002` allowed), or the \
     long form `{target, published, host_ip, protocol}`";

/// Parse a short-form entry (`"127.0.0.1:8080:80/udp"`, `"80"`; integers arrive as text).
pub(crate) fn parse_short(spec: &str) -> Result<Vec<PortMapping>, String> {
    let (rest, protocol) = split_protocol(spec.trim())?;
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [container] => (None, None, *container),
        [host, container] => (None, Some(*host), *container),
        [ip @ .., host, container] => (Some(ip.join(":")), Some(*host), *container),
        [] => return Err("the port is empty".into()),
    };
    let host_ip = ip.map(|ip| parse_ip(&ip)).transpose()?;
    let host = host
        .filter(|h| !h.is_empty())
        .map(parse_range)
        .transpose()?;
    let container = parse_range(container)?;
    expand(host_ip, host, container, protocol)
}

/// Build the mappings of a long-form entry.
pub(crate) fn from_long(
    target: &str,
    published: Option<&str>,
    host_ip: Option<&str>,
    protocol: Option<&str>,
) -> Result<Vec<PortMapping>, String> {
    let container = parse_range(target)?;
    let host = published
        .filter(|p| !p.is_empty())
        .map(parse_range)
        .transpose()?;
    let host_ip = host_ip.map(parse_ip).transpose()?;
    let protocol = protocol.map_or(Ok(Protocol::Tcp), parse_protocol)?;
    expand(host_ip, host, container, protocol)
}

/// Parse an `expose:` entry: `3000`, `8000-8010`, `3000/udp`.
pub(crate) fn parse_expose(spec: &str) -> Result<Vec<ExposedPort>, String> {
    let (rest, protocol) = split_protocol(spec.trim())?;
    let range = parse_range(rest)?;
    Ok((range.start..=range.end)
        .map(|port| ExposedPort { port, protocol })
        .collect())
}

fn split_protocol(spec: &str) -> Result<(&str, Protocol), String> {
    match spec.rsplit_once('/') {
        Some((rest, proto)) => Ok((rest, parse_protocol(proto)?)),
        None => Ok((spec, Protocol::Tcp)),
    }
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        _ => Err(format!("`{text}` is not a protocol (tcp, udp or sctp)")),
    }
}

fn parse_ip(text: &str) -> Result<String, String> {
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("`{text}` is not an IP address"))
}

/// `80` or `9000-9002`.
fn parse_range(text: &str) -> Result<HostPort, String> {
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (parse_port(a)?, parse_port(b)?),
        None => {
            let port = parse_port(text)?;
            (port, port)
        }
    };
    if end < start {
        return Err(format!("the range `{text}` ends before it starts"));
    }
    Ok(HostPort { start, end })
}

fn parse_port(text: &str) -> Result<u16, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a port number is missing".into());
    }
    let number: u64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a port number"))?;
    u16::try_from(number)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("port {text} is out of range"))
}

fn expand(
    host_ip: Option<String>,
    host: Option<HostPort>,
    container: HostPort,
    protocol: Protocol,
) -> Result<Vec<PortMapping>, String> {
    let count = container.end - container.start;
    let mapping = |host_port: Option<HostPort>, container_port: u16| PortMapping {
        host_ip: host_ip.clone(),
        host_port,
        container_port,
        protocol,
    };
    match host {
        // One container port: a host range means "any free port of these".
        _ if count == 0 => Ok(vec![mapping(host, container.start)]),
        None => Ok((container.start..=container.end)
            .map(|port| mapping(None, port))
            .collect()),
        Some(host) if host.end - host.start == count => Ok((0..=count)
            .map(|offset| {
                mapping(
                    Some(HostPort::single(host.start + offset)),
                    container.start + offset,
                )
            })
            .collect()),
        Some(host) => Err(format!(
            "the host range {host} and the container range {container} differ in length"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(mappings: &[PortMapping]) -> Vec<String> {
        mappings
            .iter()
            .map(|m| {
                format!(
                    "{}|{}|{}/{}",
                    m.host_ip.as_deref().unwrap_or("-"),
                    m.host_port.map_or("-".to_owned(), |h| h.to_string()),
                    m.container_port,
                    m.protocol.as_str()
                )
            })
            .collect()
    }

    #[test]
    fn short_forms() {
        let table: &[(&str, &[&str])] = &[
            ("80", &["-|-|80/tcp"]),
            ("8080:80", &["-|8080|80/tcp"]),
            ("127.0.0.1:8080:80/udp", &["127.0.0.1|8080|80/udp"]),
            ("127.0.0.1::80", &["127.0.0.1|-|80/tcp"]),
            ("[::1]:6001:6001", &["::1|6001|6001/tcp"]),
            ("::1:6001:6001", &["::1|6001|6001/tcp"]),
            (
                "9000-9001:9000-9001",
                &["-|9000|9000/tcp", "-|9001|9001/tcp"],
            ),
            ("3000-3001", &["-|-|3000/tcp", "-|-|3001/tcp"]),
            ("8000-8010:80", &["-|8000-8010|80/tcp"]),
            ("53:53/UDP", &["-|53|53/udp"]),
        ];
        for (spec, want) in table {
            let got = parse_short(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(show(&got), *want, "{spec}");
        }
    }

    #[test]
    fn bad_short_forms() {
        for bad in [
            "99999",
            "0",
            "80:99999",
            "a:80",
            "80/http",
            "9000-9002:80-81",
            "80-79",
            "300.1.1.1:80:80",
            "",
        ] {
            assert!(parse_short(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn expose_forms() {
        assert_eq!(parse_expose("3000/udp").map(|v| v.len()), Ok(1));
        assert_eq!(parse_expose("8000-8002").map(|v| v.len()), Ok(3));
        assert!(parse_expose("x").is_err());
    }
}
