//! Owner login as upstream (`hyperdrive/src/http/server.rs` login, `utils.rs` auth_token_valid):
//! `POST /login` checks the password and sets `hyperware-auth_<node>`, an HS256 JWT with
//! `{username, subdomain, expiration}`; authenticated paths accept only a valid one.
use super::HttpServer;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResp};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct JwtClaims {
    username: String,
    subdomain: Option<String>,
    expiration: u64,
}

#[derive(Deserialize)]
struct CheckedClaims {
    username: String,
    subdomain: Option<String>,
    expiration: u64,
}

#[derive(Deserialize)]
struct LoginInfo {
    password_hash: String,
    #[serde(default)]
    subdomain: Option<String>,
}

impl HttpServer {
    pub(super) fn make_jwt(&self, subdomain: Option<String>) -> String {
        let claims = JwtClaims {
            username: self.our.clone(),
            subdomain,
            expiration: (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()) + 60 * 60 * 24 * 30,
        };
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(&self.jwt_secret))
            .expect("HS256 encoding of plain claims")
    }

    /// Upstream `auth_token_valid` for a non-secure binding.
    pub(super) fn auth_valid(&self, cookie_header: &str) -> bool {
        let label = format!("hyperware-auth_{}", self.our);
        let token = cookie_header.split("; ").find_map(|entry| {
            let parts: Vec<&str> = entry.split('=').collect();
            (parts.len() == 2 && parts[0] == label).then(|| parts[1].to_string())
        });
        let Some(token) = token.filter(|t| !t.is_empty()) else { return false };
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let Ok(data) = jsonwebtoken::decode::<CheckedClaims>(&token, &jsonwebtoken::DecodingKey::from_secret(&self.jwt_secret), &validation)
        else {
            return false;
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        data.claims.username == self.our && data.claims.subdomain.is_none() && data.claims.expiration > now
    }

    pub(super) fn login_page(&self) -> String {
        LOGIN_HTML.replace("${node}", &self.our)
    }

    pub(super) fn login(&self, headers: &HeaderMap, body: &[u8]) -> HttpResp {
        let Ok(info) = serde_json::from_slice::<LoginInfo>(body) else {
            return (StatusCode::BAD_REQUEST, axum::Json("Failed to parse login info")).into_response();
        };
        if info.password_hash != self.password {
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json("Failed to decode keyfile: wrong password")).into_response();
        }
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        let is_localhost = host_only.contains("localhost");
        let subdomain = if is_localhost { info.subdomain.clone().filter(|s| !s.is_empty()) } else { None };
        let token = self.make_jwt(subdomain.clone());
        let cookie = match subdomain {
            None => format!("hyperware-auth_{}={token}; domain=.{host_only};", self.our),
            Some(sub) => {
                let sub: String = sub.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.')).collect();
                format!("hyperware-auth_{}@{sub}={token};", self.our)
            }
        };
        let mut resp = (StatusCode::OK, axum::Json(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, self.our.as_bytes()))).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append("set-cookie", v);
        }
        resp
    }
}

/// devnode's own login page: the real one hashes the password in the browser; devnode's
/// password is compared as given, so this page sends it as `password_hash` unchanged.
const LOGIN_HTML: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Login - ${node}</title></head>
<body>
<h1>${node}</h1>
<p>devnode login: enter this node's password.</p>
<form id="login"><input id="password" type="password" autofocus placeholder="password"><button type="submit">Log in</button></form>
<p id="error"></p>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/login', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password_hash: document.getElementById('password').value, subdomain: null }) });
  if (r.ok) { location.reload(); } else { document.getElementById('error').textContent = 'wrong password'; }
});
</script>
</body></html>
"#;
