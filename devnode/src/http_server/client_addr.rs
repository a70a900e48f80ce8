//! What the server can tell about a client beyond its socket address: whether it came through
//! a proxy, and the address the proxy reports.
use axum::http::HeaderMap;

pub(super) fn behind_proxy(headers: &HeaderMap) -> bool {
    ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"].iter().any(|h| headers.contains_key(*h))
}

/// Upstream's `forwarded_for` of `WebSocketOpen`: the first `X-Forwarded-For` entry, else
/// `X-Real-IP`, else `Cf-Connecting-Ip`, each trimmed and only if not empty.
pub(super) fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let first_forwarded = header("x-forwarded-for").and_then(|v| v.split(',').next()).map(str::trim);
    [first_forwarded, header("x-real-ip").map(str::trim), header("cf-connecting-ip").map(str::trim)]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_takes_the_first_proxy_header_that_names_a_client() {
        assert_eq!(forwarded_for(&headers(&[])), None);
        assert_eq!(forwarded_for(&headers(&[("X-Forwarded-For", " 203.0.113.7 , 10.0.0.1")])).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded_for(&headers(&[("X-Real-IP", "198.51.100.2"), ("Cf-Connecting-Ip", "192.0.2.1")])).as_deref(), Some("198.51.100.2"));
        assert_eq!(forwarded_for(&headers(&[("X-Forwarded-For", " "), ("Cf-Connecting-Ip", "192.0.2.1")])).as_deref(), Some("192.0.2.1"));
        assert!(behind_proxy(&headers(&[("X-Real-IP", "1.2.3.4")])));
        assert!(!behind_proxy(&headers(&[("Host", "127.0.0.1")])));
    }
}
