//! Who the client is: the peer address, or — only when the peer is a trusted reverse
//! proxy — the address the proxies say they forwarded for. Used by the auth rate limit
//! and the request log alike.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header::{HeaderMap, FORWARDED};
use actix_web::HttpRequest;
use ipnet::IpNet;

/// The reverse proxies whose `X-Forwarded-For`/`Forwarded` headers are believed
/// (`TRUSTED_PROXIES`); empty by default: then those headers are ignored, since any
/// client can send them.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// right-most forwarded address that is not itself a trusted proxy (proxies append,
    /// so everything left of it was written by the client and proves nothing).
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded = forwarded_for(headers);
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.trusts(*ip))
                .unwrap_or(peer),
        )
    }

    /// The client address of a request (see [`TrustedProxies::client_ip`]).
    pub fn of(req: &HttpRequest) -> Option<IpAddr> {
        let trusted = req
            .app_data::<actix_web::web::Data<TrustedProxies>>()
            .map(|t| t.get_ref().clone())
            .unwrap_or_default();
        trusted.client_ip(req.peer_addr().map(|a| a.ip()), req.headers())
    }
}

/// The scheme and host clients reach this server at (`https://convene.example.com`),
/// for URLs handed out to be pasted elsewhere: what a trusted proxy says it forwarded
/// (`Forwarded`/`X-Forwarded-Proto`/`X-Forwarded-Host`), else the request's own
/// scheme and `Host`.
pub fn public_origin(req: &HttpRequest) -> String {
    let trusted = req
        .app_data::<actix_web::web::Data<TrustedProxies>>()
        .is_some_and(|t| req.peer_addr().is_some_and(|peer| t.trusts(peer.ip())));
    if trusted {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<actix_web::http::uri::Authority>().ok())
        .map_or_else(|| req.app_config().host().to_owned(), |a| a.to_string());
    format!("{scheme}://{host}")
}

/// The addresses a request was forwarded for, first hop first: every `for=` of
/// `Forwarded` (RFC 7239) if present, else every entry of `X-Forwarded-For`. Entries
/// that are not addresses (`unknown`, obfuscated names) are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<IpAddr> = headers
        .get_all(FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(value))?
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_node)
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:80"`,
/// `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse() {
        return Some(ip);
    }
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    raw.rsplit_once(':')?.0.parse().ok()
}

/// The rate-limit key of a client: an IPv4 address, or the /64 network of an IPv6 one
/// (one host usually holds a whole /64 and could rotate through it).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            none.client_ip(Some(ip("10.0.0.1")), &xff),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            proxy.client_ip(Some(ip("192.0.2.1")), &xff),
            Some(ip("192.0.2.1"))
        );
        // Right-most untrusted: the client's own claim (6.6.6.6) is not believed.
        assert_eq!(
            proxy.client_ip(Some(ip("10.0.0.1")), &xff),
            Some(ip("203.0.113.7"))
        );
        let fwd = headers(&[(
            "forwarded",
            "for=198.51.100.1;proto=https, for=\"[2001:db8::5]:4711\"",
        )]);
        assert_eq!(
            proxy.client_ip(Some(ip("10.0.0.1")), &fwd),
            Some(ip("2001:db8::5"))
        );
        let only_proxies = headers(&[("x-forwarded-for", "10.1.1.1, unknown")]);
        assert_eq!(
            proxy.client_ip(Some(ip("10.0.0.1")), &only_proxies),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
