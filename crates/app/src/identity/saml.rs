//! SAML 2.0 single sign-on per workspace (IDN-03), this server being the service provider.
//!
//! A workspace's admins import their identity provider's metadata; the workspace gets its own
//! key pair and service-provider metadata. A sign-in sends a signed `AuthnRequest` (HTTP-Redirect
//! binding) and takes the answer at the assertion consumer service (HTTP-POST binding), where
//! `samael` (over xmlsec) checks every signature against the provider's metadata certificates
//! and keeps only what a verified signature covers: nothing outside a verified element is ever
//! read. On top of that this module refuses any document with a DOCTYPE, comment or processing
//! instruction before it is parsed, allows only SHA-2 signatures and digests, requires an
//! audience restriction naming this workspace, answers only its own single-use requests (no
//! IdP-initiated sign-in), and remembers accepted assertion IDs until they expire.
//!
//! The answer arrives as a cross-site POST, which carries no `SameSite=Lax` cookie: the
//! verified identity waits, sealed, for one redirect to the finishing URL, where the browser's
//! cookie must be the one that started the sign-in. Accounts are matched by the provider's
//! subject (`NameID`), never by address alone, as for OpenID Connect.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ideaweave_domain::policy::Action;
use ideaweave_domain::{AuthLevel, Email, Role, UserId, WorkspaceId};
use openssl::pkey::{PKey, Private};
use samael::metadata::EntityDescriptor;
use samael::schema::Assertion;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{Read, Write};

use crate::OrInternal;
use crate::identity::auth::{LoginOutcome, Principal};
use crate::identity::sso::SsoStart;
use crate::identity::sso::{ParkedLogin, ProviderLogout, list, refused};
use crate::platform::sealed::at;
use crate::platform::sealed::column;
use crate::platform::secrets::{hash_secret, random_secret};
use crate::trust::audit::{AuditAction, ClientInfo, Target};
use crate::{App, AppError, AppResult, Member};

/// How long a sign-in may stay at the provider.
const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// How long a verified answer waits for its browser to come back (one redirect).
const FINISH_TTL_MS: i64 = 2 * 60_000;
/// Largest `SAMLResponse` (base64) or redirect message taken.
const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// How long a `LogoutRequest` from the provider is taken after its `IssueInstant`, and the
/// clock difference allowed either way.
const LOGOUT_TTL_MS: i64 = 5 * 60_000;
const LOGOUT_SKEW_MS: i64 = 3 * 60_000;
/// Largest identity-provider metadata document imported.
const MAX_METADATA_BYTES: usize = 256 * 1024;
const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Attribute names read for the address and the display name (name or friendly name).
const EMAIL_ATTRIBUTES: &[&str] = &["email", "mail", "urn:oid:0.9.2342.19200300.100.1.3"];
const NAME_ATTRIBUTES: &[&str] = &["displayName", "urn:oid:2.16.840.1.113730.3.1.241", "cn"];

/// A workspace's SAML identity provider, as its admins set it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlSettingsInput {
    /// The identity provider's metadata (an `EntityDescriptor` with an `IDPSSODescriptor`, a
    /// signing certificate and an HTTP-Redirect single sign-on service).
    pub idp_metadata: String,
    /// Addresses at these domains become members on their first sign-in.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// The assertion attribute listing the person's groups (for example `groups`).
    #[serde(default)]
    pub group_attribute: Option<String>,
    /// Members of these groups become members on their first sign-in.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// The role they get (guest, member or moderator).
    #[serde(default = "default_role")]
    pub default_role: Role,
    /// Take a person's address from the `email`/`mail` attribute when the NameID is not an
    /// address. Only for an IdP whose users cannot change that attribute themselves: the
    /// address becomes their account's, instance-wide.
    #[serde(default)]
    pub trust_email_attribute: bool,
}

fn default_role() -> Role {
    Role::Member
}

/// A workspace's SAML identity provider, and what to register there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SamlSettingsView {
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_slo_url: Option<String>,
    pub allowed_domains: Vec<String>,
    pub group_attribute: Option<String>,
    pub allowed_groups: Vec<String>,
    pub default_role: Role,
    pub trust_email_attribute: bool,
    /// This workspace's service-provider entity ID; its metadata is served at this URL.
    pub sp_entity_id: String,
    /// The assertion consumer service (HTTP-POST binding).
    pub acs_url: String,
    /// The single logout service (HTTP-Redirect binding).
    pub slo_url: String,
}

/// What an identity provider's metadata says, as the set-up page's check shows it.
#[derive(Debug, Clone)]
pub struct SamlProbe {
    pub entity_id: String,
    pub sso_url: String,
    pub logs_out: bool,
    /// How many signing certificates it names.
    pub certificates: usize,
}

/// What a verified assertion said, sealed while it waits for its browser.
#[derive(Serialize, Deserialize)]
struct VerifiedIdentity {
    name_id: String,
    name_id_format: Option<String>,
    email: Option<String>,
    name: Option<String>,
    groups: Vec<String>,
    session_index: Option<String>,
}

/// What single logout asks of the web layer.
#[derive(Debug)]
pub struct SingleLogout {
    /// Where to send the browser next.
    pub redirect: String,
    /// The browser's session was ended here (its cookie should be cleared).
    pub signed_out: bool,
}

/// What the imported metadata says, checked.
struct IdentityProvider {
    metadata: EntityDescriptor,
    entity_id: String,
    sso_url: String,
    slo_url: Option<String>,
    certificates: Vec<openssl::x509::X509>,
}

/// The workspace's own key pair.
struct ServiceKeys {
    key: PKey<Private>,
    certificate_der: Vec<u8>,
}

/// This workspace's service-provider URLs.
struct ServiceUrls {
    entity_id: String,
    acs: String,
    slo: String,
}

/// Refuses XML that no SAML message needs and that attacks rely on: a document type (entity
/// expansion, external entities), comments (which split a `NameID` for parsers that read only
/// its first text node) and processing instructions. Checked on the text, before any parser
/// sees it; the leading XML declaration is allowed.
fn refuse_hostile_xml(xml: &str) -> Result<(), &'static str> {
    let body = match xml.trim_start_matches('\u{feff}').trim_start() {
        b if b.starts_with("<?xml ") || b.starts_with("<?xml?>") => match b.find("?>") {
            Some(end) => &b[end + 2..],
            None => return Err("the XML declaration is not closed"),
        },
        b => b,
    };
    if body.contains("<!DOCTYPE") || body.contains("<!ENTITY") {
        return Err("it declares a document type");
    }
    if body.contains("<!--") {
        return Err("it contains XML comments");
    }
    if body.contains("<?") {
        return Err("it contains processing instructions");
    }
    // SHA-1 digests are refused too (samael only restricts the signature method).
    if body.contains("http://www.w3.org/2000/09/xmldsig#sha1")
        || body.contains("http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    {
        return Err("it is signed with SHA-1");
    }
    Ok(())
}

const NS_PROTOCOL: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
const NS_ASSERTION: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
const NS_DSIG: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
const NS_EXC_C14N: &[u8] = b"http://www.w3.org/2001/10/xml-exc-c14n#";
/// Canonicalisations a signature may use (none keeps comments).
const C14N: &[&str] = &[
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
];
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const DIGESTS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const SIGNATURE_METHODS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
/// What a signature may contain (XML-DSig elements by local name). No `Object`, `Manifest`,
/// `RetrievalMethod`, `XPath` or `XSLT`: nothing that makes a verifier fetch, run or digest
/// anything but the signed element itself.
const SIGNATURE_PARTS: &[&[u8]] = &[
    b"SignedInfo",
    b"CanonicalizationMethod",
    b"SignatureMethod",
    b"Reference",
    b"Transforms",
    b"Transform",
    b"DigestMethod",
    b"DigestValue",
    b"SignatureValue",
    b"KeyInfo",
    b"KeyName",
    b"KeyValue",
    b"RSAKeyValue",
    b"Modulus",
    b"Exponent",
    b"X509Data",
    b"X509Certificate",
    b"X509IssuerSerial",
    b"X509IssuerName",
    b"X509SerialNumber",
    b"X509SubjectName",
];

/// An element open on the way down the document.
struct Open {
    ns: Vec<u8>,
    local: Vec<u8>,
    /// Its `ID` attribute (for a response or assertion).
    id: Option<String>,
    /// Signatures directly inside it.
    signatures: u32,
}

/// Refuses a response whose shape is not the one SAML gives it, before xmlsec sees it: one
/// `samlp:Response` as the root, one `saml:Assertion` directly inside it, at most one
/// signature directly inside each of those two, and each signature exactly an enveloped
/// signature of its parent — one `Reference` to `#` + the parent's `ID`, only the enveloped
/// and canonicalisation transforms, SHA-2 digests and signature methods, nothing that points
/// elsewhere. Signature-wrapping attacks need a second response or assertion or a signature
/// elsewhere; a reference to another URI would make xmlsec fetch it (a file, an internal
/// address) before checking any signature value. samael reads only what a verified signature
/// covers as well: this makes such documents fail outright.
fn check_response_shape(xml: &str) -> Result<(), &'static str> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(xml);
    let mut path: Vec<Open> = Vec::new();
    let (mut responses, mut assertions) = (0, 0);
    // Inside a signature: its depth in `path`, the ID it must reference, references seen.
    let mut signature: Option<(usize, String, u32)> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| "it is not well-formed XML")?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.as_ref().to_vec(),
            _ => Vec::new(),
        };
        let (start, empty) = match &event {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            Event::End(_) => {
                if let Some((depth, _, references)) = &signature
                    && path.len() == depth + 1
                {
                    if *references != 1 {
                        return Err("a signature must reference exactly one element");
                    }
                    signature = None;
                }
                path.pop();
                continue;
            }
            Event::Eof => break,
            Event::DocType(_) => return Err("it declares a document type"),
            Event::Comment(_) => return Err("it contains XML comments"),
            Event::PI(_) => return Err("it contains processing instructions"),
            _ => continue,
        };
        let local = start.local_name().as_ref().to_vec();
        let attr = |name: &[u8]| -> Result<Option<String>, &'static str> {
            for a in start.attributes() {
                let a = a.map_err(|_| "it has a malformed attribute")?;
                if a.key.local_name().as_ref() == name {
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|_| "it has a malformed attribute")?;
                    return Ok(Some(v.into_owned()));
                }
            }
            Ok(None)
        };
        if let Some((_, parent_id, references)) = &mut signature {
            let known = (ns.as_slice() == NS_DSIG && SIGNATURE_PARTS.contains(&local.as_slice()))
                || (ns.as_slice() == NS_EXC_C14N && local.as_slice() == b"InclusiveNamespaces");
            if !known {
                return Err("a signature holds something other than a plain signature");
            }
            let algorithm = attr(b"Algorithm")?.unwrap_or_default();
            match local.as_slice() {
                b"Reference" => {
                    *references += 1;
                    if attr(b"URI")?.as_deref() != Some(&format!("#{parent_id}")) {
                        return Err("a signature references something other than its element");
                    }
                }
                b"Transform" if algorithm != ENVELOPED && !C14N.contains(&algorithm.as_str()) => {
                    return Err("a signature uses a transform other than enveloped and c14n");
                }
                b"CanonicalizationMethod" if !C14N.contains(&algorithm.as_str()) => {
                    return Err("a signature uses a canonicalisation that is not allowed");
                }
                b"DigestMethod" if !DIGESTS.contains(&algorithm.as_str()) => {
                    return Err("a signature uses a digest other than SHA-2 (SHA-1?)");
                }
                b"SignatureMethod" if !SIGNATURE_METHODS.contains(&algorithm.as_str()) => {
                    return Err("a signature uses a method other than RSA or ECDSA with SHA-2");
                }
                _ => {}
            }
        } else {
            match (ns.as_slice(), local.as_slice()) {
                (NS_PROTOCOL, b"Response") => {
                    responses += 1;
                    if !path.is_empty() {
                        return Err("it has a response inside another element");
                    }
                }
                (NS_ASSERTION, b"Assertion") => {
                    assertions += 1;
                    if path.len() != 1 {
                        return Err("it has an assertion outside the response's top level");
                    }
                }
                (NS_ASSERTION, b"EncryptedAssertion") => {
                    return Err(
                        "encrypted assertions are not supported; turn assertion encryption off \
                         at the provider",
                    );
                }
                (NS_DSIG, b"Signature") => {
                    let Some(parent) = path.last_mut().filter(|p| {
                        matches!(
                            (p.ns.as_slice(), p.local.as_slice()),
                            (NS_PROTOCOL, b"Response") | (NS_ASSERTION, b"Assertion")
                        )
                    }) else {
                        return Err(
                            "it has a signature outside the response or assertion it signs",
                        );
                    };
                    parent.signatures += 1;
                    if parent.signatures > 1 {
                        return Err("an element carries more than one signature");
                    }
                    let id = parent
                        .id
                        .clone()
                        .filter(|id| !id.is_empty())
                        .ok_or("a signed element has no ID")?;
                    if empty {
                        return Err("a signature is empty");
                    }
                    signature = Some((path.len(), id, 0));
                }
                (NS_DSIG, _) => return Err("it has signature parts outside a signature"),
                _ if path.is_empty() => return Err("its root is not a SAML response"),
                _ => {}
            }
        }
        if !empty {
            let id = attr(b"ID")?;
            path.push(Open {
                ns,
                local,
                id,
                signatures: 0,
            });
        }
    }
    if responses != 1 || assertions != 1 {
        return Err("it must hold exactly one response with exactly one assertion");
    }
    Ok(())
}

/// Escapes text for an XML attribute or element.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A fresh SAML message ID: `_` and 128 random bits in hex (an ID must not start with a digit).
fn message_id() -> AppResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).or_internal("random")?;
    Ok(format!("_{}", hex::encode(b)))
}

/// A time in milliseconds since the epoch as `xs:dateTime` in UTC, to the second.
fn instant(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = ideaweave_domain::requests::civil_date(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Deflates and base64-encodes a message for the HTTP-Redirect binding.
fn deflate_b64(xml: &str) -> AppResult<String> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes())
        .and_then(|_| enc.finish())
        .map(|b| STANDARD.encode(b))
        .or_internal("deflate")
}

/// Decodes an HTTP-Redirect message (base64 of raw deflate), bounded.
fn inflate_b64(value: &str) -> Result<String, &'static str> {
    let bytes = STANDARD
        .decode(value.trim())
        .map_err(|_| "the message is not base64")?;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| "the message is not deflated")?;
    if out.len() > MAX_MESSAGE_BYTES {
        return Err("the message is too large");
    }
    String::from_utf8(out).map_err(|_| "the message is not UTF-8")
}

/// An HTTP-Redirect binding query, split once: every parameter at most once and under its
/// plain name, kept as received (what the signature covers) and decoded from that same text
/// (what is acted on), so the two can never be different parameters.
struct RedirectQuery(Vec<(String, String)>);

impl RedirectQuery {
    fn parse(query: &str) -> Result<Self, &'static str> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name.contains(['%', '+']) {
                return Err("a parameter name is encoded");
            }
            if pairs.iter().any(|(n, _)| n == name) {
                return Err("a parameter is repeated");
            }
            pairs.push((name.to_owned(), value.to_owned()));
        }
        Ok(Self(pairs))
    }

    /// The value of `name` as received (still percent-encoded).
    fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, decoded.
    fn value(&self, name: &str) -> Option<String> {
        let raw = self.raw(name)?;
        url::form_urlencoded::parse(format!("v={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    }
}

/// Signs an HTTP-Redirect message: `key=value[&RelayState=…]&SigAlg=…` as sent, then
/// `&Signature=…` (SAML bindings §3.4.4.1).
fn signed_redirect(
    endpoint: &str,
    key_name: &str,
    message: &str,
    relay_state: Option<&str>,
    key: &PKey<Private>,
) -> AppResult<String> {
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut signed = format!("{key_name}={}", enc(message));
    if let Some(rs) = relay_state {
        signed.push_str(&format!("&RelayState={}", enc(rs)));
    }
    signed.push_str(&format!("&SigAlg={}", enc(RSA_SHA256)));
    let fail = |e: openssl::error::ErrorStack| AppError::internal_from("signing", e);
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key).map_err(fail)?;
    signer.update(signed.as_bytes()).map_err(fail)?;
    let signature = signer.sign_to_vec().map_err(fail)?;
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{endpoint}{sep}{signed}&Signature={}",
        enc(&STANDARD.encode(signature))
    ))
}

/// Checks an HTTP-Redirect message's signature (RSA-SHA256 only) against the provider's
/// certificates, over the parameters exactly as they arrived.
fn verify_redirect(
    query: &RedirectQuery,
    key_name: &str,
    idp: &IdentityProvider,
) -> Result<(), &'static str> {
    let message = query.raw(key_name).ok_or("the message is missing")?;
    let sig_alg = query.value("SigAlg").ok_or("the message is not signed")?;
    if sig_alg != RSA_SHA256 {
        return Err("the message is not signed with RSA-SHA256");
    }
    let signature = query
        .value("Signature")
        .ok_or("the message is not signed")?;
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| "the signature is not base64")?;
    let mut signed = format!("{key_name}={message}");
    if let Some(rs) = query.raw("RelayState") {
        signed.push_str(&format!("&RelayState={rs}"));
    }
    signed.push_str(&format!(
        "&SigAlg={}",
        query.raw("SigAlg").unwrap_or_default()
    ));
    let good = idp.certificates.iter().any(|cert| {
        cert.public_key()
            .and_then(|pk| {
                let mut v =
                    openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &pk)?;
                v.update(signed.as_bytes())?;
                v.verify(&signature)
            })
            .unwrap_or(false)
    });
    if good {
        Ok(())
    } else {
        Err("the signature does not verify with the provider's certificate")
    }
}

/// Reads and checks an identity provider's metadata.
fn read_idp_metadata(xml: &str) -> AppResult<IdentityProvider> {
    let bad = |why: &str| AppError::invalid("idp_metadata", why.to_owned());
    if xml.len() > MAX_METADATA_BYTES {
        return Err(bad("is larger than 256 KiB"));
    }
    refuse_hostile_xml(xml).map_err(|why| bad(&format!("is refused: {why}")))?;
    let metadata: EntityDescriptor = xml.parse().map_err(|e| {
        // The parser's own words name its internals; the admin is told what to fix.
        tracing::debug!(error = %e, "SAML metadata did not parse");
        bad("is not SAML metadata: paste the identity provider's EntityDescriptor XML")
    })?;
    let entity_id = metadata
        .entity_id
        .clone()
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| bad("names no entityID"))?;
    let descriptors = metadata
        .idp_sso_descriptors
        .as_deref()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("describes no identity provider (IDPSSODescriptor)"))?;
    let web_url = |u: &str| u.starts_with("https://") || u.starts_with("http://");
    let sso_url = descriptors
        .iter()
        .flat_map(|d| d.single_sign_on_services.iter())
        .find(|s| s.binding == BINDING_REDIRECT && web_url(&s.location))
        .map(|s| s.location.clone())
        .ok_or_else(|| bad("has no SingleSignOnService with the HTTP-Redirect binding"))?;
    let slo_url = descriptors
        .iter()
        .flat_map(|d| d.single_logout_services.iter())
        .find(|s| s.binding == BINDING_REDIRECT && web_url(&s.location))
        .map(|s| s.location.clone());
    let mut certificates = Vec::new();
    for d in descriptors {
        for kd in &d.key_descriptors {
            if !matches!(kd.key_use.as_deref(), None | Some("") | Some("signing")) {
                continue;
            }
            for c in kd
                .key_info
                .x509_data
                .iter()
                .flat_map(|x| x.certificates.iter())
            {
                let der: String = c.chars().filter(|c| !c.is_whitespace()).collect();
                let der = STANDARD
                    .decode(der)
                    .map_err(|_| bad("has a certificate that is not base64"))?;
                let cert = openssl::x509::X509::from_der(&der)
                    .map_err(|_| bad("has a certificate that cannot be read"))?;
                certificates.push(cert);
            }
        }
    }
    if certificates.is_empty() {
        return Err(bad(
            "has no signing certificate: responses could not be verified",
        ));
    }
    Ok(IdentityProvider {
        metadata,
        entity_id,
        sso_url,
        slo_url,
        certificates,
    })
}

/// A new RSA-2048 key pair and a self-signed certificate (ten years) for a workspace's
/// service provider. Returns the PKCS#8 private key and the certificate, both DER.
fn new_service_keys(common_name: &str) -> AppResult<(Vec<u8>, Vec<u8>)> {
    use openssl::asn1::Asn1Time;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let fail = |e: openssl::error::ErrorStack| AppError::internal_from("SP key", e);
    let rsa = openssl::rsa::Rsa::generate(2048).map_err(fail)?;
    let key = PKey::from_rsa(rsa).map_err(fail)?;
    let mut name = X509NameBuilder::new().map_err(fail)?;
    let cn: String = common_name.chars().take(60).collect();
    name.append_entry_by_text("CN", &cn).map_err(fail)?;
    let name = name.build();
    let mut b = X509Builder::new().map_err(fail)?;
    b.set_version(2).map_err(fail)?;
    let mut serial = openssl::bn::BigNum::new().map_err(fail)?;
    serial
        .rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .map_err(fail)?;
    let serial = serial.to_asn1_integer().map_err(fail)?;
    b.set_serial_number(&serial).map_err(fail)?;
    b.set_subject_name(&name).map_err(fail)?;
    b.set_issuer_name(&name).map_err(fail)?;
    b.set_pubkey(&key).map_err(fail)?;
    let (from, until) = (
        Asn1Time::days_from_now(0).map_err(fail)?,
        Asn1Time::days_from_now(3650).map_err(fail)?,
    );
    b.set_not_before(&from).map_err(fail)?;
    b.set_not_after(&until).map_err(fail)?;
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .map_err(fail)?;
    let cert = b.build().to_der().map_err(fail)?;
    let private = key.private_key_to_pkcs8().map_err(fail)?;
    Ok((private, cert))
}

/// Whether the stored configuration and newly imported metadata are the same provider: the same
/// entity ID and exactly the same signing certificates.
fn same_trust(
    stored: &ideaweave_store::SamlConfigRecord,
    new: &IdentityProvider,
) -> AppResult<bool> {
    let old = read_idp_metadata(&stored.idp_metadata)?;
    let ders = |p: &IdentityProvider| -> AppResult<Vec<Vec<u8>>> {
        let mut v = p
            .certificates
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<Vec<_>, _>>()
            .or_internal("certificate")?;
        v.sort();
        v.dedup();
        Ok(v)
    };
    Ok(old.entity_id == new.entity_id && ders(&old)? == ders(new)?)
}

/// Values of the first attribute called one of `names` (by name or friendly name).
fn attribute_values(assertion: &Assertion, names: &[&str]) -> Vec<String> {
    for name in names {
        for statement in assertion.attribute_statements.iter().flatten() {
            for a in &statement.attributes {
                let hit =
                    a.name.as_deref() == Some(name) || a.friendly_name.as_deref() == Some(name);
                if hit {
                    return a
                        .values
                        .iter()
                        .filter_map(|v| v.value.clone())
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect();
                }
            }
        }
    }
    Vec::new()
}

impl App {
    fn saml_urls(&self, slug: &str) -> ServiceUrls {
        let base = format!(
            "{}/sso/{slug}/saml",
            self.settings.public_url.trim_end_matches('/')
        );
        ServiceUrls {
            entity_id: format!("{base}/metadata"),
            acs: format!("{base}/acs"),
            slo: format!("{base}/slo"),
        }
    }

    fn saml_view(
        &self,
        slug: &str,
        r: &ideaweave_store::SamlConfigRecord,
        idp: &IdentityProvider,
    ) -> SamlSettingsView {
        let urls = self.saml_urls(slug);
        SamlSettingsView {
            idp_entity_id: idp.entity_id.clone(),
            idp_sso_url: idp.sso_url.clone(),
            idp_slo_url: idp.slo_url.clone(),
            allowed_domains: list(&r.allowed_domains),
            group_attribute: r.group_attribute.clone(),
            allowed_groups: list(&r.allowed_groups),
            default_role: r.default_role.parse().unwrap_or(Role::Member),
            trust_email_attribute: r.trust_email_attribute,
            sp_entity_id: urls.entity_id,
            acs_url: urls.acs,
            slo_url: urls.slo,
        }
    }

    /// The workspace's SAML identity provider (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn saml_settings(&self, m: &Member) -> AppResult<Option<SamlSettingsView>> {
        if m.role() < Role::Admin {
            return Err(AppError::Forbidden(
                "single sign-on settings are for the workspace's admins".into(),
            ));
        }
        let mut tx = self.store.read().await?;
        let Some(r) = tx.saml_config(m.workspace).await? else {
            return Ok(None);
        };
        let idp = read_idp_metadata(&r.idp_metadata)?;
        Ok(Some(self.saml_view(&m.slug, &r, &idp)))
    }

    /// Sets the workspace's SAML identity provider from its metadata (admins, after a recent
    /// re-authentication). The workspace's key pair is made the first time and kept after.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_saml_settings(
        &self,
        m: &Member,
        input: SamlSettingsInput,
    ) -> AppResult<SamlSettingsView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        self.require_recent_member(m)?;
        let idp = read_idp_metadata(&input.idp_metadata)?;
        let plain_http = !idp.sso_url.starts_with("https://")
            || idp
                .slo_url
                .as_deref()
                .is_some_and(|u| !u.starts_with("https://"));
        if !self.settings.sso_allow_http && plain_http {
            return Err(AppError::invalid(
                "idp_metadata",
                "the single sign-on and single logout services must be https:// URLs",
            ));
        }
        if input.default_role > Role::Moderator {
            return Err(AppError::invalid(
                "default_role",
                "must be guest, member or moderator; make admins by hand",
            ));
        }
        let (domains, groups) =
            crate::identity::sso::admission_lists(&input.allowed_domains, &input.allowed_groups)?;
        let group_attribute = input
            .group_attribute
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let existing = tx.saml_config(m.workspace).await?;
        // Links are only as good as the provider that made them: a new entity ID or new keys
        // (which a workspace admin can paste in) must not inherit them.
        let unlinked = match &existing {
            Some(e) if !same_trust(e, &idp)? => {
                tx.delete_sso_identities_in(m.workspace, "saml").await?
            }
            _ => 0,
        };
        let (sp_key, sp_certificate) = match existing {
            Some(e) => (e.sp_key, e.sp_certificate),
            None => {
                let cn = format!("Ideaweave {}", m.slug);
                let (private, cert) = tokio::task::spawn_blocking(move || new_service_keys(&cn))
                    .await
                    .map_err(|e| AppError::internal(e.to_string()))??;
                let mut repo = tx.workspace(m.workspace);
                let key = self.keyring.data_key(&mut repo, None, now).await?;
                let sealed = key.seal(
                    &at(m.workspace, column::WORKSPACE_SAML_SP_KEY, m.workspace.0),
                    &private,
                )?;
                (sealed, STANDARD.encode(cert))
            }
        };
        let record = ideaweave_store::SamlConfigRecord {
            idp_entity_id: idp.entity_id.clone(),
            idp_metadata: input.idp_metadata.clone(),
            sp_key,
            sp_certificate,
            allowed_domains: domains.join(","),
            group_attribute,
            trust_email_attribute: input.trust_email_attribute,
            allowed_groups: groups.join(","),
            default_role: input.default_role.as_str().to_owned(),
            updated_at: now,
        };
        tx.put_saml_config(m.workspace, &record).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SsoChanged,
            Target::Scope,
            json!({"protocol": "saml", "idp": idp.entity_id, "domains": domains.len(), "groups": groups.len(), "unlinked": unlinked}),
        )
        .await?;
        tx.commit().await?;
        Ok(self.saml_view(&m.slug, &record, &idp))
    }

    /// Reads an identity provider's metadata without saving it: the set-up page's "check
    /// metadata" (admins). Refuses what saving would refuse, with the reason.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub fn probe_saml_metadata(&self, m: &Member, xml: &str) -> AppResult<SamlProbe> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let idp = read_idp_metadata(xml)?;
        Ok(SamlProbe {
            entity_id: idp.entity_id,
            sso_url: idp.sso_url,
            logs_out: idp.slo_url.is_some(),
            certificates: idp.certificates.len(),
        })
    }

    /// Turns SAML single sign-on off for the workspace (admins, after a recent
    /// re-authentication). The workspace's key pair goes with it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn remove_saml_settings(&self, m: &Member) -> AppResult<()> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        self.require_recent_member(m)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_saml_config(m.workspace).await? {
            return Err(AppError::NotFound("single sign-on"));
        }
        let unlinked = tx.delete_sso_identities_in(m.workspace, "saml").await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SsoChanged,
            Target::Scope,
            json!({"protocol": "saml", "removed": true, "unlinked": unlinked}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the workspace `slug` signs in with SAML (rather than OpenID Connect).
    #[tracing::instrument(skip_all)]
    pub async fn uses_saml(&self, slug: &str) -> AppResult<bool> {
        let mut tx = self.store.read().await?;
        let Some(ws) = tx.workspace_by_slug(slug).await? else {
            return Ok(false);
        };
        Ok(tx.saml_config(ws.id).await?.is_some())
    }

    /// The workspace's configuration, provider and key pair.
    async fn saml_context(
        &self,
        slug: &str,
    ) -> AppResult<(
        WorkspaceId,
        ideaweave_store::SamlConfigRecord,
        IdentityProvider,
        ServiceKeys,
    )> {
        let none = || AppError::NotFound("single sign-on");
        let mut tx = self.store.read().await?;
        let ws = tx.workspace_by_slug(slug).await?.ok_or_else(none)?;
        let config = tx.saml_config(ws.id).await?.ok_or_else(none)?;
        let private = self
            .keyring
            .open(
                &mut tx,
                &at(ws.id, column::WORKSPACE_SAML_SP_KEY, ws.id.0),
                &config.sp_key,
            )
            .await?
            .ok_or_else(none)?;
        drop(tx);
        let key = PKey::private_key_from_pkcs8(&private)
            .map_err(|e| AppError::Integrity(format!("SP key: {e}")))?;
        let certificate_der = STANDARD
            .decode(&config.sp_certificate)
            .map_err(|e| AppError::Integrity(format!("SP certificate: {e}")))?;
        let idp = read_idp_metadata(&config.idp_metadata)?;
        Ok((
            ws.id,
            config,
            idp,
            ServiceKeys {
                key,
                certificate_der,
            },
        ))
    }

    /// The workspace's service-provider metadata (public: the provider's admins import it).
    #[tracing::instrument(skip_all)]
    pub async fn saml_sp_metadata(&self, slug: &str) -> AppResult<String> {
        let (_, _, _, keys) = self.saml_context(slug).await?;
        let urls = self.saml_urls(slug);
        let cert = STANDARD.encode(&keys.certificate_der);
        Ok(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>
    <md:NameIDFormat>{email}</md:NameIDFormat>
    <md:NameIDFormat>{persistent}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
            entity = xml_escape(&urls.entity_id),
            redirect = BINDING_REDIRECT,
            post = BINDING_POST,
            slo = xml_escape(&urls.slo),
            acs = xml_escape(&urls.acs),
            email = NAMEID_EMAIL,
            persistent = NAMEID_PERSISTENT,
        ))
    }

    /// Starts a sign-in through the workspace's SAML provider: the URL to send the browser to
    /// (a signed `AuthnRequest`), and the secret the browser keeps in a cookie.
    #[tracing::instrument(skip_all)]
    pub async fn start_saml(&self, slug: &str, next: &str) -> AppResult<SsoStart> {
        self.start_saml_for(slug, next, None).await
    }

    /// Starts linking the caller's account to their identity at the workspace's SAML provider
    /// (after a recent re-authentication).
    #[tracing::instrument(skip_all)]
    pub async fn start_saml_link(&self, principal: &Principal, slug: &str) -> AppResult<SsoStart> {
        self.require_recent_auth(principal)?;
        self.start_saml_for(slug, "/account/security", Some(principal.user))
            .await
    }

    async fn start_saml_for(
        &self,
        slug: &str,
        next: &str,
        link_user: Option<UserId>,
    ) -> AppResult<SsoStart> {
        let (ws, _, idp, keys) = self.saml_context(slug).await?;
        let urls = self.saml_urls(slug);
        let request_id = message_id()?;
        let request = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{post}"><saml:Issuer>{entity}</saml:Issuer><samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#,
            id = request_id,
            now = instant(self.now()),
            dest = xml_escape(&idp.sso_url),
            acs = xml_escape(&urls.acs),
            post = BINDING_POST,
            entity = xml_escape(&urls.entity_id),
        );
        let relay_state = random_secret()?;
        let url = signed_redirect(
            &idp.sso_url,
            "SAMLRequest",
            &deflate_b64(&request)?,
            Some(&relay_state),
            &keys.key,
        )?;
        let browser = random_secret()?;
        self.park_login(
            ws,
            ParkedLogin {
                state: &relay_state,
                secrets: &request_id,
                next,
                browser_hash: &hash_secret(&browser),
                link_user,
                protocol: "saml",
                ttl_ms: LOGIN_TTL_MS,
            },
        )
        .await?;
        Ok(SsoStart {
            redirect_to: url,
            browser_secret: browser,
        })
    }

    /// Takes the provider's answer at the assertion consumer service: the sign-in it answers
    /// is used up whatever happens; the response is verified (signatures, issuer, audience,
    /// recipient, destination, `InResponseTo`, time window, never seen before) and what it
    /// says waits, sealed, for the browser. Returns the token of the finishing URL.
    #[tracing::instrument(skip_all)]
    pub async fn accept_saml_response(
        &self,
        slug: &str,
        saml_response: &str,
        relay_state: &str,
    ) -> AppResult<String> {
        if saml_response.len() > MAX_MESSAGE_BYTES {
            return Err(refused("the response is too large"));
        }
        let (ws, config, idp, keys) = self.saml_context(slug).await?;
        let now = self.now();
        let login = self.take_login(ws, relay_state, "saml").await?;
        let request_id = login.secrets.clone();
        let xml = STANDARD
            .decode(saml_response.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| refused("the response is not base64-encoded UTF-8 XML"))?;
        refuse_hostile_xml(&xml)
            .and_then(|()| check_response_shape(&xml))
            .map_err(|why| refused(&format!("the response is refused: {why}")))?;
        let urls = self.saml_urls(slug);
        let metadata = idp.metadata.clone();
        let key = keys.key.clone();
        let assertion = tokio::task::spawn_blocking(move || {
            use samael::crypto::AllowedSignatureAlgorithm as Alg;
            let sp = samael::service_provider::ServiceProviderBuilder::default()
                .entity_id(urls.entity_id.clone())
                .key(key)
                .acs_url(urls.acs.clone())
                .slo_url(urls.slo.clone())
                .idp_metadata(metadata)
                .allowed_signature_algorithms(vec![
                    Alg::RsaSha256,
                    Alg::RsaSha384,
                    Alg::RsaSha512,
                    Alg::EcdsaSha256,
                    Alg::EcdsaSha384,
                    Alg::EcdsaSha512,
                ])
                .build()
                .or_internal("SAML service provider")?;
            sp.parse_xml_response(&xml, Some(&[request_id.as_str()]))
                .map_err(|e| {
                    tracing::info!(error = %e, "a SAML response was refused");
                    refused(&format!("the response did not verify ({e})"))
                })
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
        // Required here, optional in SAML: an assertion for any audience is not for us; and
        // every restriction must name us (samael is content with one).
        let sp_entity = self.saml_urls(slug).entity_id;
        let restrictions = assertion
            .conditions
            .as_ref()
            .and_then(|c| c.audience_restrictions.as_ref())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| refused("the assertion names no audience"))?;
        if !restrictions.iter().all(|r| r.audience.contains(&sp_entity)) {
            return Err(refused(
                "an audience restriction of the assertion excludes us",
            ));
        }
        if assertion.issue_instant.timestamp_millis() > now + 180_000 {
            return Err(refused("the assertion was issued in the future"));
        }
        if assertion
            .authn_statements
            .as_ref()
            .is_none_or(|a| a.is_empty())
        {
            return Err(refused("the assertion has no authentication statement"));
        }
        let subject = assertion
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .ok_or_else(|| refused("the assertion names no subject"))?;
        if subject.format.as_deref() == Some(NAMEID_TRANSIENT) {
            return Err(refused(
                "the provider sent a transient NameID; configure a persistent or email NameID",
            ));
        }
        // Taken exactly as signed: trimming would make two subjects one.
        let name_id = subject.value.clone();
        if name_id.trim().is_empty() || name_id.trim() != name_id || name_id.len() > 512 {
            return Err(refused(
                "the assertion's subject is empty, too long or has spaces around it",
            ));
        }
        let expires = [
            assertion
                .conditions
                .as_ref()
                .and_then(|c| c.not_on_or_after),
            assertion
                .subject
                .as_ref()
                .and_then(|s| s.subject_confirmations.as_ref())
                .and_then(|c| {
                    c.iter()
                        .filter_map(|c| c.subject_confirmation_data.as_ref())
                        .find_map(|d| d.not_on_or_after)
                }),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.timestamp_millis())
        .max()
        .unwrap_or(now)
        .max(now)
            + 10 * 60_000;
        let assertion_hash = hash_secret(&format!("{}\u{0}{}", idp.entity_id, assertion.id));
        {
            let mut tx = self.store.begin().await?;
            let fresh = tx
                .remember_saml_assertion(ws, &assertion_hash, expires)
                .await?;
            tx.commit().await?;
            if !fresh {
                return Err(refused("this response was used already"));
            }
        }
        let groups = config
            .group_attribute
            .as_deref()
            .map(|g| attribute_values(&assertion, &[g]))
            .unwrap_or_default();
        let identity = VerifiedIdentity {
            name_id: name_id.clone(),
            name_id_format: subject.format.clone(),
            email: attribute_values(&assertion, EMAIL_ATTRIBUTES)
                .into_iter()
                .next(),
            name: attribute_values(&assertion, NAME_ATTRIBUTES)
                .into_iter()
                .next(),
            groups,
            session_index: assertion
                .authn_statements
                .iter()
                .flatten()
                .find_map(|s| s.session_index.clone()),
        };
        let text =
            serde_json::to_string(&identity).map_err(|e| AppError::internal(e.to_string()))?;
        let token = random_secret()?;
        self.park_login(
            ws,
            ParkedLogin {
                state: &token,
                secrets: &text,
                next: &login.next,
                browser_hash: login.browser_hash.as_deref().unwrap_or_default(),
                link_user: login.link_user,
                protocol: "saml-finish",
                ttl_ms: FINISH_TTL_MS,
            },
        )
        .await?;
        Ok(token)
    }

    /// Finishes a SAML sign-in in the browser that started it: signs the person in (created
    /// and made a member when the workspace admits them). Returns the session and where to go.
    #[tracing::instrument(skip_all)]
    pub async fn finish_saml(
        &self,
        slug: &str,
        token: &str,
        browser: Option<&str>,
        current: Option<&Principal>,
        client: &ClientInfo,
    ) -> AppResult<(LoginOutcome, String)> {
        let (ws, config, idp, _) = self.saml_context(slug).await?;
        let login = self.take_login(ws, token, "saml-finish").await?;
        login.check_browser(browser)?;
        let identity: VerifiedIdentity =
            serde_json::from_str(&login.secrets).map_err(|e| AppError::Integrity(e.to_string()))?;
        // The NameID in email format is the IdP's own identifier; an attribute only when the
        // admins said their IdP's users cannot change it.
        let address = if identity.name_id_format.as_deref() == Some(NAMEID_EMAIL) {
            identity.name_id.clone()
        } else if config.trust_email_attribute {
            identity
                .email
                .clone()
                .ok_or_else(|| refused("the provider sent no email address"))?
        } else {
            return Err(refused(
                "the provider's NameID is not an email address (ask your admins to send one, \
                 or to trust the IdP's email attribute)",
            ));
        };
        let email =
            Email::parse(&address).map_err(|_| refused("the email address is not valid"))?;
        let name = identity.name.clone().unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or("Member")
                .to_owned()
        });
        let domain = email
            .as_str()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let admitted = list(&config.allowed_domains).contains(&domain)
            || list(&config.allowed_groups)
                .iter()
                .any(|g| identity.groups.contains(g));
        let subject_hash = self.keyring.keyed_index(&format!(
            "saml-subject:{}\u{0}{}",
            idp.entity_id, identity.name_id
        ))?;
        let role: Role = config.default_role.parse().unwrap_or(Role::Member);
        let link_user = login.link_user;
        let user = self
            .sso_account(
                crate::identity::sso::SsoArrival {
                    ws,
                    subject_hash: &subject_hash,
                    email: &email,
                    name: &name,
                    role,
                    admitted,
                    linking: link_user
                        .filter(|u| current.is_some_and(|p| p.is_session() && p.user == *u)),
                    via: "saml",
                },
                client,
            )
            .await?;
        // A provider's word about how it authenticated is not taken (see OpenID Connect).
        let (session, csrf) = self
            .start_session(user, client, AuthLevel::Password)
            .await?;
        self.remember_provider_logout(
            &session,
            user,
            &ProviderLogout::Saml {
                slug: slug.to_owned(),
                name_id: identity.name_id,
                name_id_format: identity.name_id_format,
                session_index: identity.session_index,
            },
        )
        .await?;
        let outcome = self.login_outcome(user, session, csrf).await?;
        Ok((outcome, login.next))
    }

    /// The signed `LogoutRequest` URL that ends the person's session at the provider too, when
    /// the provider has a single logout service.
    pub(crate) async fn saml_logout_url(
        &self,
        slug: &str,
        name_id: &str,
        name_id_format: Option<&str>,
        session_index: Option<&str>,
    ) -> AppResult<Option<String>> {
        let (_, _, idp, keys) = self.saml_context(slug).await?;
        let Some(slo) = idp.slo_url.clone() else {
            return Ok(None);
        };
        let urls = self.saml_urls(slug);
        let format = name_id_format
            .map(|f| format!(r#" Format="{}""#, xml_escape(f)))
            .unwrap_or_default();
        let index = session_index
            .map(|i| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", xml_escape(i)))
            .unwrap_or_default();
        let request = format!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}"><saml:Issuer>{entity}</saml:Issuer><saml:NameID{format}>{name_id}</saml:NameID>{index}</samlp:LogoutRequest>"#,
            id = message_id()?,
            now = instant(self.now()),
            dest = xml_escape(&slo),
            entity = xml_escape(&urls.entity_id),
            name_id = xml_escape(name_id),
        );
        Ok(Some(signed_redirect(
            &slo,
            "SAMLRequest",
            &deflate_b64(&request)?,
            None,
            &keys.key,
        )?))
    }

    /// The single logout service (HTTP-Redirect binding), given the raw query string. A
    /// `LogoutResponse` (the provider finished a logout this server started) is verified and
    /// the browser goes to the sign-in page. A `LogoutRequest` (the person logged out at the
    /// provider or another of its services) must be signed by the provider, fresh and never
    /// seen before: this browser's session ends when it is that subject's single sign-on
    /// session here (and, when the request names sessions, one of them), and the browser goes
    /// back to the provider with a signed `LogoutResponse`.
    #[tracing::instrument(skip_all)]
    pub async fn saml_single_logout(
        &self,
        slug: &str,
        query: &str,
        session_cookie: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<SingleLogout> {
        let bad = |why: &str| AppError::Malformed(format!("single logout: {why}"));
        if query.len() > MAX_MESSAGE_BYTES {
            return Err(bad("the message is too large"));
        }
        let query = RedirectQuery::parse(query).map_err(bad)?;
        let (ws, _, idp, keys) = self.saml_context(slug).await?;
        let urls = self.saml_urls(slug);
        let sign_in = format!("{}/sign-in", self.settings.public_url.trim_end_matches('/'));
        let from_idp = |issuer: Option<samael::schema::Issuer>| {
            issuer.and_then(|i| i.value).as_deref() == Some(idp.entity_id.as_str())
        };
        if let Some(response) = query.value("SAMLResponse") {
            verify_redirect(&query, "SAMLResponse", &idp).map_err(bad)?;
            let xml = inflate_b64(&response).map_err(bad)?;
            refuse_hostile_xml(&xml).map_err(bad)?;
            let parsed: samael::schema::LogoutResponse = xml
                .parse()
                .map_err(|_| bad("the LogoutResponse cannot be read"))?;
            if !from_idp(parsed.issuer) {
                return Err(bad(
                    "the LogoutResponse is not from this workspace's provider",
                ));
            }
            // The session here ended before the browser went to the provider, whatever its
            // answer says.
            return Ok(SingleLogout {
                redirect: sign_in,
                signed_out: false,
            });
        }
        let Some(request) = query.value("SAMLRequest") else {
            return Err(bad("neither SAMLRequest nor SAMLResponse was given"));
        };
        verify_redirect(&query, "SAMLRequest", &idp).map_err(bad)?;
        let xml = inflate_b64(&request).map_err(bad)?;
        refuse_hostile_xml(&xml).map_err(bad)?;
        let session_indexes = logout_session_indexes(&xml).map_err(bad)?;
        let parsed: samael::schema::LogoutRequest = xml
            .parse()
            .map_err(|_| bad("the LogoutRequest cannot be read"))?;
        if !from_idp(parsed.issuer.clone()) {
            return Err(bad(
                "the LogoutRequest is not from this workspace's provider",
            ));
        }
        if parsed.destination.as_deref() != Some(urls.slo.as_str()) {
            return Err(bad("the LogoutRequest is for another service"));
        }
        let now = self.now();
        let issued = parsed
            .issue_instant
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| bad("the LogoutRequest has no IssueInstant"))?;
        if issued > now + LOGOUT_SKEW_MS || issued < now - LOGOUT_TTL_MS - LOGOUT_SKEW_MS {
            return Err(bad("the LogoutRequest is not fresh"));
        }
        let id = parsed
            .id
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| bad("the LogoutRequest has no ID"))?;
        let name_id = parsed
            .name_id
            .map(|n| n.value)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("the LogoutRequest names no subject"))?;
        {
            let seen = hash_secret(&format!("logout\u{0}{}\u{0}{id}", idp.entity_id));
            let mut tx = self.store.begin().await?;
            let fresh = tx
                .remember_saml_assertion(ws, &seen, now + LOGOUT_TTL_MS + 2 * LOGOUT_SKEW_MS)
                .await?;
            tx.commit().await?;
            if !fresh {
                return Err(bad("the LogoutRequest was used already"));
            }
        }
        let mut signed_out = false;
        if let Some(cookie) = session_cookie
            && let Some(ProviderLogout::Saml {
                slug: s,
                name_id: n,
                session_index,
                ..
            }) = self.provider_logout_of(cookie).await?
            && s == slug
            && n == name_id
            && (session_indexes.is_empty()
                || session_index.is_some_and(|i| session_indexes.contains(&i)))
        {
            self.logout(cookie, client).await?;
            signed_out = true;
        }
        let Some(slo) = idp.slo_url.clone() else {
            return Ok(SingleLogout {
                redirect: sign_in,
                signed_out,
            });
        };
        let answer = format!(
            r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}" InResponseTo="{to}"><saml:Issuer>{entity}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{ok}"/></samlp:Status></samlp:LogoutResponse>"#,
            id = message_id()?,
            now = instant(now),
            dest = xml_escape(&slo),
            to = xml_escape(&id),
            entity = xml_escape(&urls.entity_id),
            ok = STATUS_SUCCESS,
        );
        let relay = query.value("RelayState");
        Ok(SingleLogout {
            redirect: signed_redirect(
                &slo,
                "SAMLResponse",
                &deflate_b64(&answer)?,
                relay.as_deref(),
                &keys.key,
            )?,
            signed_out,
        })
    }
}

/// The `SessionIndex` values of a `LogoutRequest` (samael's type does not read them).
fn logout_session_indexes(xml: &str) -> Result<Vec<String>, &'static str> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| "the LogoutRequest is not well-formed XML")?;
        let in_protocol = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == NS_PROTOCOL);
        match event {
            Event::Start(s) if in_protocol && s.local_name().as_ref() == b"SessionIndex" => {
                inside = true;
                out.push(String::new());
            }
            Event::Text(t) if inside => {
                let text = t
                    .decode()
                    .map_err(|_| "the LogoutRequest is not well-formed XML")?;
                if let Some(last) = out.last_mut() {
                    last.push_str(&text);
                }
            }
            Event::End(_) => inside = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_03_saml_hostile_xml_is_refused_before_parsing() {
        let ok = r#"<?xml version="1.0" encoding="UTF-8"?><samlp:Response ID="_1"/>"#;
        assert_eq!(refuse_hostile_xml(ok), Ok(()));
        for bad in [
            r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#,
            r#"<r><NameID>alice@corp.example<!---->.evil.example</NameID></r>"#,
            r#"<r><?php evil ?></r>"#,
            r#"<?xml version="1.0"?><r><?xml-stylesheet href="x"?></r>"#,
            r#"<r><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></r>"#,
            r#"<?xml version="1.0" <r/>"#,
        ] {
            assert!(refuse_hostile_xml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn idn_03_saml_redirect_messages_round_trip_and_escape() {
        let xml = "<a b=\"&amp;\">x</a>";
        assert_eq!(inflate_b64(&deflate_b64(xml).unwrap()).unwrap(), xml);
        assert!(inflate_b64("not base64!").is_err());
        assert_eq!(xml_escape(r#"<a&"'>"#), "&lt;a&amp;&quot;&apos;&gt;");
        let q = RedirectQuery::parse("A=1&SAMLRequest=x%2By&B=2").unwrap();
        assert_eq!(q.raw("SAMLRequest"), Some("x%2By"));
        assert_eq!(q.value("SAMLRequest").as_deref(), Some("x+y"));
        assert!(RedirectQuery::parse("SAMLRequest=a&SAMLRequest=b").is_err());
        assert!(RedirectQuery::parse("SAML%52equest=a&SAMLRequest=b").is_err());
    }

    #[test]
    fn idn_03_saml_response_shape_allows_only_enveloped_signatures_of_their_element() {
        let doc = |sig: &str| {
            format!(
                r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_r"><saml:Assertion ID="_a">{sig}<saml:Subject/></saml:Assertion></samlp:Response>"##
            )
        };
        let sig = |uri: &str, transform: &str, digest: &str, extra: &str| {
            format!(
                r##"<ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="{uri}"><ds:Transforms><ds:Transform Algorithm="{transform}"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue>x</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>x</ds:SignatureValue>{extra}</ds:Signature>"##
            )
        };
        let enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
        let sha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
        assert_eq!(
            check_response_shape(&doc(&sig("#_a", enveloped, sha256, ""))),
            Ok(())
        );
        assert_eq!(check_response_shape(&doc("")), Ok(()));
        for bad in [
            doc(&sig("file:///dev/zero", enveloped, sha256, "")),
            doc(&sig("http://169.254.169.254/", enveloped, sha256, "")),
            doc(&sig("#_r", enveloped, sha256, "")),
            doc(&sig("", enveloped, sha256, "")),
            doc(&sig("&#35;_a&#32;", enveloped, sha256, "")),
            doc(&sig(
                "#_a",
                "http://www.w3.org/TR/1999/REC-xslt-19991116",
                sha256,
                "",
            )),
            doc(&sig(
                "#_a",
                enveloped,
                "http://www.w3.org/2000/09/xmldsig&#35;sha1",
                "",
            )),
            doc(&sig(
                "#_a",
                enveloped,
                sha256,
                "<ds:Object><x/></ds:Object>",
            )),
            doc(&sig(
                "#_a",
                enveloped,
                sha256,
                "<ds:KeyInfo><ds:RetrievalMethod URI=\"http://x/\"/></ds:KeyInfo>",
            )),
            doc(&format!("{0}{0}", sig("#_a", enveloped, sha256, ""))),
            doc("<saml:Assertion ID=\"_b\"/>"),
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a\"/>"
                .to_owned(),
        ] {
            assert!(check_response_shape(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn idn_03_saml_instants_are_utc_date_times() {
        assert_eq!(instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(instant(951_782_400_000 + 3_723_999), "2000-02-29T01:02:03Z");
        assert_eq!(instant(1_704_067_199_000), "2023-12-31T23:59:59Z");
    }

    #[test]
    fn idn_03_saml_redirect_signatures_verify_only_with_the_providers_key() {
        let (private, cert) = new_service_keys("test idp").unwrap();
        let key = PKey::private_key_from_pkcs8(&private).unwrap();
        let idp = IdentityProvider {
            metadata: EntityDescriptor::default(),
            entity_id: "idp".into(),
            sso_url: "https://idp.example/sso".into(),
            slo_url: None,
            certificates: vec![openssl::x509::X509::from_der(&cert).unwrap()],
        };
        let url = signed_redirect(
            "https://sp.example/slo",
            "SAMLResponse",
            "abc+/=",
            Some("state"),
            &key,
        )
        .unwrap();
        let query = url.split_once('?').unwrap().1;
        let check =
            |q: &str| verify_redirect(&RedirectQuery::parse(q).unwrap(), "SAMLResponse", &idp);
        assert_eq!(check(query), Ok(()));
        assert!(check(&query.replace("state", "other")).is_err());
        assert!(check(query.split("&Signature=").next().unwrap()).is_err());
        let (other, _) = new_service_keys("impostor").unwrap();
        let other = PKey::private_key_from_pkcs8(&other).unwrap();
        let forged = signed_redirect(
            "https://sp.example/slo",
            "SAMLResponse",
            "abc+/=",
            Some("state"),
            &other,
        )
        .unwrap();
        assert!(check(forged.split_once('?').unwrap().1).is_err());
        assert!(check(&query.replace("rsa-sha256", "rsa-sha1")).is_err());
    }
}
