#!/usr/bin/env python3
"""Self-test of saml_idp.py, driven by pysaml2's own service-provider client (Saml2Client).

Run: PYTHONPATH=target/pydeps python3 tests/sso/saml_idp_selftest.py

Checks that the valid variants sign a user in, that every hostile variant is structurally the attack
it claims to be (signatures checked with xmlsec1 on their own), prints what pysaml2's SP makes of
each, and walks single logout both ways. Exits non-zero on the first broken expectation.
"""

import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit
from xml.dom import minidom

# pysaml2 imports a cipher mode that cryptography deprecates (hence the imports below this line).
warnings.filterwarnings("ignore", module=r"saml2(\.|$)")

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

SAMLP, SAML = "urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
USER, EVIL = "alice@corp.example", "evil-admin@corp.example"
SP_ID, ACS, SP_SLO = "http://127.0.0.1:1/metadata", "http://127.0.0.1:1/acs", "http://127.0.0.1:1/slo"
OTHER = "http://other-sp.example"
TMP = tempfile.mkdtemp(prefix="saml-idp-selftest-")
# Where the genuine signed element sits in each wrapping attack (root first, by local name).
XSW_PLACE = {1: "Response/Signature/Response", 2: "Response/Response", 3: "Response/Assertion",
             4: "Response/Assertion/Assertion", 5: "Response/Assertion", 6: "Response/Assertion/Signature/Assertion",
             7: "Response/Extensions/Assertion", 8: "Response/Assertion/Signature/Object/Assertion"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(url, data=None):
    """(status, headers, body) without following redirects."""
    try:
        with OPENER.open(urllib.request.Request(url, data=data), timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Forms(HTMLParser):
    """Collects each form's action and named inputs."""

    def __init__(self, text):
        super().__init__()
        self.forms = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "id": a.get("id"), "fields": {}})
        elif tag == "input" and a.get("name") and self.forms:
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def pem_file(b64, name):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n" + b64.strip() + "\n-----END CERTIFICATE-----\n")
    return path


def xmlsec_verify(xml, cert, node_id=None):
    """True if xmlsec1 verifies a signature with cert, called as pysaml2 calls it. The signature is the
    document's first, or the first at or after the element with ID (or ds:Signature Id) node_id."""
    path = os.path.join(TMP, "check.xml")
    with open(path, "w") as f:
        f.write(xml)
    cmd = ["xmlsec1", "--verify", "--enabled-reference-uris", "empty,same-doc", "--enabled-key-data",
           "raw-x509-cert", "--pubkey-cert-pem", cert, "--id-attr:ID", f"{SAML}:Assertion",
           "--id-attr:ID", f"{SAMLP}:Response", "--id-attr:Id", f"{DS}:Signature"]
    cmd += (["--node-id", node_id] if node_id else []) + [path]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def kids(el, local):
    return [n for n in el.childNodes if n.nodeType == n.ELEMENT_NODE and n.localName == local]


def each(doc, ns, local):
    return list(doc.getElementsByTagNameNS(ns, local))


def text(el):
    return "".join(n.data for n in el.childNodes if n.nodeType == n.TEXT_NODE)


def nameid(assertion):
    return text(kids(kids(assertion, "Subject")[0], "NameID")[0])


def place(el):
    names = []
    while el.nodeType == el.ELEMENT_NODE:
        names.append(el.localName)
        el = el.parentNode
    return "/".join(reversed(names))


def in_scope(el):
    """Namespace declarations el sees, nearest first."""
    decls, node = {}, el
    while node is not None and node.nodeType == node.ELEMENT_NODE:
        for k, v in node.attributes.items():
            if k == "xmlns" or k.startswith("xmlns:"):
                decls.setdefault(k, v)
        node = node.parentNode
    return decls


def standalone(doc, sig):
    """The element sig references, cut out into its own document with sig put back after its Issuer
    (minus anything wrapped inside sig), so xmlsec1 can check that signature on its own."""
    ref = each(sig, DS, "Reference")[0].getAttribute("URI")[1:]
    targets = [e for e in doc.getElementsByTagName("*") if e.getAttribute("ID") == ref]
    expect(len(targets) == 1, f"reference #{ref} must name exactly one element")
    target = targets[0]
    out = minidom.Document()
    root = out.importNode(target, True)
    for k, v in in_scope(target).items():
        if not root.hasAttribute(k):
            root.setAttribute(k, v)
    out.appendChild(root)
    if not any(n.localName == "Signature" for n in root.childNodes):
        s = out.importNode(sig, True)
        for extra in [n for n in s.childNodes if n.localName not in ("SignedInfo", "SignatureValue", "KeyInfo")]:
            s.removeChild(extra)
        for k, v in in_scope(sig).items():
            if not s.hasAttribute(k):
                s.setAttribute(k, v)
        issuer = kids(root, "Issuer")[0]
        root.insertBefore(s, issuer.nextSibling)
    return target, out.toxml()


def check(variant, xml, req_id, idp_cert):
    """Asserts the response is what the variant claims; returns a short description."""
    doc = minidom.parseString(xml)
    resp = doc.documentElement
    sigs = each(doc, DS, "Signature")
    assertion = kids(resp, "Assertion")[0] if kids(resp, "Assertion") else None
    a_id = assertion.getAttribute("ID") if assertion else None
    now = datetime.now(timezone.utc)

    def a_ok():  # the assertion's own signature, in place, with the IdP's key
        return xmlsec_verify(xml, idp_cert, a_id)

    def when(stamp):
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    conditions = each(doc, SAML, "Conditions")[0] if each(doc, SAML, "Conditions") else None
    scd = each(doc, SAML, "SubjectConfirmationData")[0] if assertion else None
    if variant in ("signed-assertion", "signed-response", "signed-both"):
        want = {"signed-assertion": [a_id], "signed-response": [resp.getAttribute("ID")],
                "signed-both": [resp.getAttribute("ID"), a_id]}[variant]
        expect(sorted(each(s, DS, "Reference")[0].getAttribute("URI")[1:] for s in sigs) == sorted(want),
               "signed elements")
        expect(all(xmlsec_verify(xml, idp_cert, i) for i in want), "signatures verify in place")
        expect(resp.getAttribute("Destination") == ACS and resp.getAttribute("InResponseTo") == req_id
               and scd.getAttribute("Recipient") == ACS and scd.getAttribute("InResponseTo") == req_id
               and scd.getAttribute("NotOnOrAfter") and [text(e) for e in each(doc, SAML, "Audience")] == [SP_ID]
               and each(doc, SAML, "AuthnStatement")[0].getAttribute("SessionIndex"), "protocol fields")
        return "signed " + " + ".join("response" if i == resp.getAttribute("ID") else "assertion" for i in want)
    if variant == "unsigned":
        expect(not sigs, "no signature at all")
        return "no ds:Signature anywhere"
    if variant == "impostor-key":
        embedded = each(sigs[0], DS, "X509Certificate")[0].firstChild.data
        expect(embedded.strip() != open(idp_cert).read().split("-----")[2].strip(), "KeyInfo cert is not the IdP's")
        expect(xmlsec_verify(xml, pem_file(embedded, "impostor.pem"), a_id), "verifies with the embedded cert")
        expect(not a_ok(), "does not verify with the IdP cert")
        return "verifies with KeyInfo's impostor cert only"
    if variant.startswith("xsw"):
        n = int(variant[3:])
        expect(len(sigs) == 1, "one signature")
        target, alone = standalone(doc, sigs[0])
        expect(xmlsec_verify(alone, idp_cert), "the genuine signed element verifies on its own")
        genuine = target if target.localName == "Assertion" else kids(target, "Assertion")[0]
        expect(nameid(genuine) == USER, "genuine element is the user's")
        expect(place(target) == XSW_PLACE[n], f"genuine element at {XSW_PLACE[n]}, not {place(target)}")
        expect(nameid(assertion) == EVIL and a_id != genuine.getAttribute("ID"),
               "the Response's first assertion is the evil one, with a fresh ID")
        expect(each(sigs[0], DS, "Reference")[0].getAttribute("URI") != "#" + a_id, "evil assertion is not signed")
        # Whether the signature also holds inside the attack document: not where the genuine element sits
        # inside the Signature, as a conformant enveloped-signature transform then digests nothing of it.
        return f"signed original at {place(target)}; signature in place: " + \
            ("verifies" if xmlsec_verify(xml, idp_cert, sigs[0].getAttribute("Id")) else "fails")
    if variant == "wrong-audience":
        expect(a_ok() and [text(e) for e in each(doc, SAML, "Audience")] == [OTHER + "/metadata"], "audience")
        return "signed; Audience " + OTHER + "/metadata"
    if variant == "no-audience":
        expect(a_ok() and not each(doc, SAML, "AudienceRestriction"), "no audience restriction")
        return "signed; no AudienceRestriction"
    if variant == "wrong-recipient":
        expect(a_ok() and scd.getAttribute("Recipient") == OTHER + "/acs"
               and resp.getAttribute("Destination") == ACS, "recipient")
        return "signed; Recipient " + OTHER + "/acs, Destination ours"
    if variant == "wrong-destination":
        expect(xmlsec_verify(xml, idp_cert, resp.getAttribute("ID"))
               and resp.getAttribute("Destination") == OTHER + "/acs", "destination")
        return "response signed; Destination " + OTHER + "/acs"
    if variant == "wrong-in-response-to":
        irt = {resp.getAttribute("InResponseTo"), scd.getAttribute("InResponseTo")}
        expect(a_ok() and len(irt) == 1 and req_id not in irt, "in-response-to")
        return "signed; InResponseTo a fresh ID on both"
    if variant == "expired":
        hour_ago = now - timedelta(minutes=59)
        expect(a_ok() and all(when(v) < hour_ago for v in (
            conditions.getAttribute("NotOnOrAfter"), scd.getAttribute("NotOnOrAfter"),
            assertion.getAttribute("IssueInstant"), resp.getAttribute("IssueInstant"))), "expired")
        return "signed; NotOnOrAfter " + conditions.getAttribute("NotOnOrAfter")
    if variant == "not-yet-valid":
        expect(a_ok() and when(conditions.getAttribute("NotBefore")) > now + timedelta(minutes=59), "not yet valid")
        return "signed; NotBefore " + conditions.getAttribute("NotBefore")
    if variant == "comment-in-nameid":
        expect(re.search(r"<saml:NameID[^>]*>" + re.escape(USER) + r"<!---->\.evil\.example</saml:NameID>", xml),
               "comment inside NameID")
        expect(xml.count("<!---->") == 2, "and inside the email attribute")
        expect(a_ok(), "signature still verifies with the comment in place")
        return f"signed for {USER}.evil.example; NameID reads {USER}<!---->.evil.example"
    if variant == "sha1":
        algs = {e.getAttribute("Algorithm") for e in each(doc, DS, "SignatureMethod") + each(doc, DS, "DigestMethod")}
        expect(a_ok() and algs == {DS + "rsa-sha1", DS + "sha1"}, "sha1")
        return "signed with rsa-sha1 / sha1"
    if variant == "doctype":
        expect("<!DOCTYPE" in xml.split("<samlp:Response")[0] and "&lol3;" in xml, "DTD and entity reference")
        # What a DTD-processing parser sees (expat expands the entities): a validly signed response.
        # (Debian's xmlsec1 1.2.37 crashes on the document as sent, so it is checked expanded.)
        doc.removeChild(doc.doctype)
        expanded = doc.toxml()
        expect("lol" * 1000 in expanded and xmlsec_verify(expanded, idp_cert, a_id), "valid once expanded")
        return "DOCTYPE with nested entities used in StatusMessage; expanded, signature valid"
    if variant == "external-reference":
        uris = [r.getAttribute("URI") for r in each(doc, DS, "Reference")]
        expect(len(sigs) == 1 and len(uris) == 1 and uris[0].endswith("/probe"), "one signature referencing the IdP's /probe")
        return "signed assertion whose Reference URI is " + uris[0]
    if variant == "two-signatures":
        expect(len(sigs) == 2 and all(s.parentNode is assertion for s in sigs), "two signatures on the assertion")
        return "assertion carrying its signature twice"
    raise AssertionError(f"no check for {variant}")


def keypair(name):
    key, cert = os.path.join(TMP, name + ".key"), os.path.join(TMP, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-keyout", key, "-out", cert], check=True, capture_output=True)
    return key, cert


def main():
    logging.disable(logging.CRITICAL)  # pysaml2 logs every refusal at length; the table says it shortly
    idp_proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "saml_idp.py"), "0"],
                                stdout=subprocess.PIPE, text=True)
    try:
        line = idp_proc.stdout.readline().strip()
        expect(line.startswith("listening http://127.0.0.1:"), f"IdP start line: {line!r}")
        run(line.split()[1])
    finally:
        idp_proc.terminate()
        code = idp_proc.wait(timeout=10)
        shutil.rmtree(TMP, ignore_errors=True)
        print(f"IdP exited with {code} on SIGTERM")
    expect(code == 0, "IdP exits cleanly on SIGTERM")


def run(base):
    status, _, idp_md = http(base + "/metadata")
    expect(status == 200 and 'use="signing"' in idp_md, "IdP metadata")
    idp_id = base + "/metadata"
    idp_cert = pem_file(re.search(r"<ds:X509Certificate>([^<]+)<", idp_md).group(1), "idp.pem")
    key, cert = keypair("sp")
    conf = SPConfig()
    conf.load({
        "entityid": SP_ID, "xmlsec_binary": "/usr/bin/xmlsec1", "key_file": key, "cert_file": cert,
        "signing_algorithm": SIG_RSA_SHA256, "digest_algorithm": DIGEST_SHA256,
        "metadata": {"inline": [idp_md]}, "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(ACS, BINDING_HTTP_POST)],
                          "single_logout_service": [(SP_SLO, BINDING_HTTP_REDIRECT)]},
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS], "allow_unsolicited": False,
            "want_assertions_or_response_signed": True, "want_response_signed": False,
            "want_assertions_signed": False, "logout_requests_signed": True,
        }},
    })
    client = Saml2Client(conf)
    sp_md = create_metadata_string(None, conf, None, None, None, None, None, False)
    expect(http(base + "/sp", b"<not-xml")[0] == 400, "bad SP metadata refused")
    expect(http(base + "/sp", sp_md)[0] == 204, "SP registered")
    valid, hostile = json.loads(http(base + "/valid-variants")[2]), json.loads(http(base + "/hostile-variants")[2])

    def authn_location():
        req_id, info = client.prepare_for_authenticate(entityid=idp_id, relay_state="state-1",
                                                       binding=BINDING_HTTP_REDIRECT)
        return req_id, dict(info["headers"])["Location"]

    # Registering again replaces: once the metadata names another ACS, a request asking for the old
    # one is refused; registered back, it is served.
    for acs, want in ((ACS + "2", 400), (ACS, 200)):
        expect(http(base + "/sp", sp_md.replace(ACS.encode(), acs.encode()))[0] == 204, "SP re-registered")
        status, _, page = http(authn_location()[1] + "&user=" + USER)
        expect(status == want, f"ACS {ACS} requested, {acs} registered: {status}")
    expect(http(base + "/sso?SAMLRequest=bm9wZQ%3D%3D")[0] == 400, "garbage AuthnRequest refused")
    expect(http(authn_location()[1] + "&user=x@y&variant=nope")[0] == 400, "unknown variant refused")

    # The login page a browser sees, and its form posted back.
    req_id, loc = authn_location()
    status, _, page = http(loc)
    form = Forms(page).forms[0]
    expect(status == 200 and "Email" in page and "Sign in" in page and "user" in form["fields"]
           and form["fields"]["SAMLRequest"], "login page")
    form["fields"]["user"] = USER
    status, _, page = http(urljoin(loc, form["action"]), urlencode(form["fields"]).encode())
    post = Forms(page).forms[0]
    expect(status == 200 and post["id"] == "saml-post" and post["action"] == ACS and ".submit()" in page
           and post["fields"]["RelayState"] == "state-1", "auto-post form")

    rows, session = [], None
    for variant in valid + hostile:
        req_id, loc = authn_location()
        status, _, page = http(loc + "&" + urlencode({"user": USER, "variant": variant}))
        expect(status == 200, f"{variant}: /sso answered {status}: {page[:300]}")
        saml_response = Forms(page).forms[0]["fields"]["SAMLResponse"]
        xml = base64.b64decode(saml_response).decode()
        try:
            shape = check(variant, xml, req_id, idp_cert)
        except AssertionError as e:
            print(xml, file=sys.stderr)
            raise AssertionError(f"{variant}: not the claimed attack: {e}") from None
        try:
            parsed = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, {req_id: "/"})
            verdict = f"ACCEPTED as {parsed.name_id.text}" if parsed else "rejected: None"
        except Exception as e:
            parsed, verdict = None, f"rejected: {type(e).__name__}"
        if variant in valid:
            expect(parsed and parsed.name_id.text == USER and parsed.ava.get("email") == [USER]
                   and parsed.ava.get("groups") == ["staff"], f"{variant} accepted: {verdict}")
            session = session or parsed
        rows.append((variant, shape, verdict))
    width, vwidth = max(len(r[0]) for r in rows), max(len(r[2]) for r in rows)
    print(f"{'variant'.ljust(width)}  {'pysaml2 SP verdict'.ljust(vwidth)}  structure (checked)")
    for variant, shape, verdict in rows:
        print(f"{variant.ljust(width)}  {verdict.ljust(vwidth)}  {shape}")

    # SP-initiated single logout: signed redirect in, signed LogoutResponse redirect out.
    out = client.global_logout(session.name_id, sign=True, sign_alg=SIG_RSA_SHA256)
    slo_url = dict(out[idp_id][1]["headers"])["Location"]
    expect(http(re.sub(r"&Signature=[^&]*", "&Signature=AAAA", slo_url))[0] == 400, "bad signature refused")
    expect(http(re.sub(r"&(SigAlg|Signature)=[^&]*", "", slo_url))[0] == 400, "unsigned logout refused")
    status, headers, _ = http(slo_url)
    back = headers.get("Location", "")
    expect(status == 302 and back.startswith(SP_SLO + "?"), f"SLO redirect to the SP: {status} {back}")
    q = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    expect(verify_redirect_signature(q, client.sec.sec_backend, open(idp_cert).read().split("-----")[2].strip()),
           "LogoutResponse redirect signature")
    logout = client.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
    expect(logout.response.status.status_code.value.endswith(":Success"), "LogoutResponse Success")
    expect(json.loads(http(base + "/logged-out")[2]) == [USER], "/logged-out lists the user")
    print(f"SP-initiated logout: 302 to {SP_SLO}, signed LogoutResponse Success, /logged-out = [{USER}]")

    # IdP-initiated single logout.
    status, headers, _ = http(base + "/idp-logout?" + urlencode({"user": USER, "sp": SP_ID}))
    q = {k: v[0] for k, v in parse_qs(urlsplit(headers.get("Location", "")).query).items()}
    expect(status == 302 and verify_redirect_signature(
        q, client.sec.sec_backend, open(idp_cert).read().split("-----")[2].strip()), "IdP-initiated logout")
    req = client.parse_logout_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT).message
    expect(req.name_id.text == USER and req.session_index, "LogoutRequest names the user and session")
    print("IdP-initiated logout: 302 to the SP with a signed LogoutRequest for " + USER)
    print(f"{len(valid)} valid and {len(hostile)} hostile variants checked")


if __name__ == "__main__":
    main()
