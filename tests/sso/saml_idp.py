#!/usr/bin/env python3
"""A real SAML 2.0 Identity Provider (pysaml2) on loopback for the single-sign-on tests.

Usage: python3 saml_idp.py PORT        (PORT 0 picks a free one)
Prints exactly one line, "listening http://127.0.0.1:PORT", once it accepts connections.
Entity ID: http://127.0.0.1:PORT/metadata. Exits cleanly on SIGTERM/SIGINT.

Any email signs in (no password). Identity: NameID (emailAddress) = the email; attributes
email, displayName (part before "@"), groups (["staff"] for "@corp.example", else none).
Service providers are registered at run time by POSTing their metadata to /sp.

Endpoints:
  GET  /metadata            IdP metadata (signing certificate included)
  POST /sp                  body = SP metadata XML; registers or replaces that SP -> 204
  GET|POST /sso             SAMLRequest (HTTP-Redirect encoding), RelayState, [user], [variant]:
                            without user a login page, with user an auto-posting response form
  GET  /valid-variants      JSON list;  GET /hostile-variants  JSON list
  GET  /slo                 SP-initiated logout (redirect binding, signature required) -> 302
  GET  /logged-out          JSON list of NameIDs logged out so far
  GET  /idp-logout?user=&sp=  IdP-initiated logout -> 302 to the SP with a signed LogoutRequest
"""

import base64
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.dom import minidom
from xml.etree import ElementTree

# pysaml2 imports a cipher mode that cryptography deprecates; that noise is not ours to fix
# (hence the imports below this line).
warnings.filterwarnings("ignore", module=r"saml2(\.|$)")

from cryptography import x509  # pulled in by pysaml2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.mdstore import InMemoryMetaData, locations
from saml2.saml import (
    AUTHN_PASSWORD_PROTECTED, NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS,
    Attribute, AttributeStatement, AttributeValue, NameID)
from saml2.server import Server
from saml2.sigver import pre_signature_part
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

SAMLP, SAML = "urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
# Readable, stable prefixes in everything pysaml2 serialises (ElementTree's map is global).
for _prefix, _uri in {"samlp": SAMLP, "saml": SAML, "ds": DS, "md": "urn:oasis:names:tc:SAML:2.0:metadata",
                      "xs": "http://www.w3.org/2001/XMLSchema",
                      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}.items():
    ElementTree.register_namespace(_prefix, _uri)

VALID = ["signed-assertion", "signed-response", "signed-both"]
HOSTILE = ["unsigned", "impostor-key", *[f"xsw{n}" for n in range(1, 9)], "wrong-audience", "no-audience",
           "wrong-recipient", "wrong-destination", "wrong-in-response-to", "expired", "not-yet-valid",
           "comment-in-nameid", "sha1", "doctype", "external-reference", "two-signatures"]
# Variants that depend on what was issued before, so not in either list.
STATEFUL = ["repeated-assertion-id"]
# Only SHA-2 redirect signatures are taken from service providers.
REDIRECT_SIG_HASHES = {SIG_RSA_SHA256: hashes.SHA256(), "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384":
                       hashes.SHA384(), "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512()}
BILLION_LAUGHS = ('<!DOCTYPE samlp:Response [<!ENTITY lol "lol"><!ENTITY lol1 "' + "&lol;" * 10 + '">'
                  '<!ENTITY lol2 "' + "&lol1;" * 10 + '"><!ENTITY lol3 "' + "&lol2;" * 10 + '">]>')


class BadRequest(Exception):
    """The client's fault: answered 400 with the message, no traceback."""


def stamp(hours=0.0):
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def keypair(directory, name):
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-keyout", key, "-out", cert], check=True, capture_output=True)
    with open(cert) as f:
        b64 = "".join(line for line in f.read().splitlines() if "-----" not in line)
    return key, b64


def child(parent, local):
    return next(n for n in parent.childNodes if n.nodeType == n.ELEMENT_NODE and n.localName == local)


def pin_namespaces(el):
    """Declare on el every prefix it inherits, so moving it elsewhere keeps each prefix's meaning
    (exclusive c14n looks at prefix bindings, not at where they are declared)."""
    node = el.parentNode
    while node is not None and node.nodeType == node.ELEMENT_NODE:
        for name, value in node.attributes.items():
            if (name == "xmlns" or name.startswith("xmlns:")) and not el.hasAttribute(name):
                el.setAttributeNS("http://www.w3.org/2000/xmlns/", name, value)
        node = node.parentNode


class IdP:
    def __init__(self, base, tmp):
        self.base, self.lock = base, threading.Lock()
        self.key, self.cert = keypair(tmp, "idp-signing")
        self.impostor_key, self.impostor_cert = keypair(tmp, "impostor")
        config = IdPConfig()
        config.load({
            "entityid": base + "/metadata", "xmlsec_binary": "/usr/bin/xmlsec1",
            "key_file": self.key, "cert_file": os.path.join(tmp, "idp-signing.crt"),
            "signing_algorithm": SIG_RSA_SHA256, "digest_algorithm": DIGEST_SHA256,
            "metadata": {},  # an empty store: service providers are added by POST /sp
            "service": {"idp": {
                "name": "Ideaweave test IdP",
                "endpoints": {"single_sign_on_service": [(base + "/sso", BINDING_HTTP_REDIRECT)],
                              "single_logout_service": [(base + "/slo", BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "want_authn_requests_signed": False,
                "policy": {"default": {"lifetime": {"minutes": 5}}},
            }},
        })
        self.server = Server(config=config)
        self.logged_out, self.sessions = [], {}
        self.last_assertion_id = None  # for the stateful repeated-assertion-id variant
        self.probes = 0  # requests to /probe (external-reference must never cause one)

    def metadata(self):
        descriptor = entity_descriptor(self.server.config)
        descriptor.extensions = None  # pysaml2 would advertise every algorithm it knows, MD5 included
        return str(descriptor)

    def register_sp(self, xml):
        md = InMemoryMetaData(self.server.metadata.attrc, xml)
        try:
            md.load()
        except Exception as e:
            raise BadRequest(f"unreadable SP metadata: {e}") from e
        sps = [eid for eid, ent in md.items() if "spsso_descriptor" in ent]
        if not sps:
            raise BadRequest("no EntityDescriptor with an SPSSODescriptor")
        # Keyed by entity ID, so registering the same SP again replaces its old metadata.
        self.server.metadata[sps[0]] = md
        if not self.server.metadata.assertion_consumer_service(sps[0], BINDING_HTTP_POST):
            raise BadRequest("the SP has no HTTP-POST AssertionConsumerService")

    def authn_request(self, saml_request):
        try:
            req = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
            return self.server.response_args(req.message, [BINDING_HTTP_POST])
        except Exception as e:
            raise BadRequest(f"unusable AuthnRequest: {type(e).__name__}: {e}") from e

    # ---- building blocks: build unsigned, mutate, then sign ----

    def unsigned(self, a, email):
        """The unsigned samlp.Response pysaml2 builds for this request and email."""
        resp = self.server.create_authn_response(
            {}, a["in_response_to"], a["destination"], a["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": self.base + "/metadata"},
            sign_response=False, sign_assertion=False)
        local = email.split("@")[0]
        groups = ["staff"] if email.endswith("@corp.example") else []
        resp.assertion.attribute_statement = [AttributeStatement(attribute=[
            Attribute(name=name, name_format=NAME_FORMAT_BASIC,
                      attribute_value=[AttributeValue(text=v) for v in values])
            for name, values in [("email", [email]), ("displayName", [local]), ("groups", groups)]])]
        self.sessions[(a["sp_entity_id"], email)] = resp.assertion.authn_statement[0].session_index
        return resp

    def sign(self, resp, assertion=False, response=False, impostor=False, sha1=False):
        """Serialise resp and sign the chosen elements (inner assertion first, then the response)."""
        key, cert = (self.impostor_key, self.impostor_cert) if impostor else (self.key, self.cert)
        algs = dict(sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1) if sha1 else \
            dict(sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        targets = ([resp.assertion] if assertion else []) + ([resp] if response else [])
        if assertion:
            self.last_assertion_id = resp.assertion.id
        for n, el in enumerate(targets):
            el.signature = pre_signature_part(el.id, cert, n + 1, **algs)
        xml = str(resp)
        for el in targets:
            node = f"{el.c_namespace}:{el.c_tag}"
            xml = self.server.sec.sign_statement(xml, node, key_file=key, node_id=el.id)
        return xml

    def variant(self, name, a, user):
        if name.startswith("xsw"):
            return self.xsw(int(name[3:]), a, user)
        if name == "comment-in-nameid":  # comment truncation (CVE-2017-11427 family)
            return self.comment_in_nameid(a, user)
        r = self.unsigned(a, user)
        if name == "signed-assertion":  # valid: the assertion alone is signed
            return self.sign(r, assertion=True)
        if name == "signed-response":  # valid: the response alone is signed
            return self.sign(r, response=True)
        if name == "signed-both":  # valid: both signed
            return self.sign(r, assertion=True, response=True)
        if name == "unsigned":  # signature stripping: nothing signed at all
            return self.sign(r)
        if name == "repeated-assertion-id":  # a new response reusing the last assertion's ID (replay cache)
            if self.last_assertion_id is None:
                raise BadRequest("no assertion was issued yet")
            r.assertion.id = self.last_assertion_id
            return self.sign(r, assertion=True)
        if name == "external-reference":  # Reference URI pointing elsewhere: the SP must not fetch it (SSRF, DoS)
            xml = self.sign(r, assertion=True)
            return xml.replace(f'URI="#{r.assertion.id}"', f'URI="{self.base}/probe"', 1)
        if name == "two-signatures":  # a second (copied) signature on the assertion
            xml = self.sign(r, assertion=True)
            start = xml.index("<ds:Signature")
            end = xml.index("</ds:Signature>") + len("</ds:Signature>")
            return xml[:end] + xml[start:end] + xml[end:]
        if name == "impostor-key":  # signature by a key the IdP never published (its cert in KeyInfo)
            return self.sign(r, assertion=True, impostor=True)
        sc = r.assertion.subject.subject_confirmation[0].subject_confirmation_data
        if name == "wrong-audience":  # assertion meant for another SP (audience confusion)
            r.assertion.conditions.audience_restriction[0].audience[0].text = "http://other-sp.example/metadata"
        elif name == "no-audience":  # assertion valid for any SP (no audience restriction)
            r.assertion.conditions.audience_restriction = []
        elif name == "wrong-recipient":  # bearer assertion delivered to someone else's ACS
            sc.recipient = "http://other-sp.example/acs"
        elif name == "wrong-destination":  # response addressed to another endpoint
            r.destination = "http://other-sp.example/acs"
            return self.sign(r, response=True)
        elif name == "wrong-in-response-to":  # response to a request this SP never sent (unsolicited/replayed)
            r.in_response_to = sc.in_response_to = "id-" + uuid.uuid4().hex
        elif name == "expired":  # replay of an old assertion
            r.issue_instant = r.assertion.issue_instant = r.assertion.conditions.not_before = stamp(-2)
            r.assertion.authn_statement[0].authn_instant = stamp(-2)
            r.assertion.conditions.not_on_or_after = sc.not_on_or_after = stamp(-1)
        elif name == "not-yet-valid":  # assertion from the future (clock-skew abuse)
            r.assertion.conditions.not_before = stamp(1)
            r.assertion.conditions.not_on_or_after = stamp(2)
        elif name == "sha1":  # algorithm downgrade to RSA-SHA1 / SHA-1
            return self.sign(r, assertion=True, sha1=True)
        elif name == "doctype":  # DTD with entity expansion (billion laughs, small), otherwise valid
            r.status.status_message = samlp.StatusMessage(text="ENTITY-HERE")
            xml = self.sign(r, assertion=True).replace("ENTITY-HERE", "&lol3;")
            head, _, body = xml.partition("?>")
            return head + "?>" + BILLION_LAUGHS + body
        else:
            raise BadRequest(f"unknown variant {name!r}")
        return self.sign(r, assertion=True)

    def comment_in_nameid(self, a, user):
        doc = minidom.parseString(self.sign(self.unsigned(a, user + ".evil.example"), assertion=True))
        # Exclusive c14n without comments drops the comment, so the signature still holds; a parser that
        # reads only the first text node sees the victim's address (in NameID and the email attribute).
        for node in doc.getElementsByTagNameNS(SAML, "NameID") + doc.getElementsByTagNameNS(SAML, "AttributeValue"):
            if node.firstChild and node.firstChild.data == user + ".evil.example":
                node.removeChild(node.firstChild)
                for part in (doc.createTextNode(user), doc.createComment(""), doc.createTextNode(".evil.example")):
                    node.appendChild(part)
        return doc.toxml()

    def xsw(self, n, a, user):
        """XML Signature Wrapping, numbered as in Somorovsky et al., "On Breaking SAML" (2012): the genuine
        response for user (XSW1-2: response signed, XSW3-8: assertion signed) rearranged around an unsigned
        evil assertion for evil-admin@ the user's domain, with a fresh ID."""
        doc = minidom.parseString(self.sign(self.unsigned(a, user), **{"response" if n <= 2 else "assertion": True}))
        evil_email = "evil-admin@" + user.split("@", 1)[1]
        evil = doc.importNode(minidom.parseString(str(self.unsigned(a, evil_email).assertion)).documentElement, True)
        resp = doc.documentElement
        orig = child(resp, "Assertion")
        if n in (1, 2):
            copy = resp.cloneNode(True)  # the genuine response, to be referenced by the signature
            copy.removeChild(child(copy, "Signature"))
            resp.setAttribute("ID", "id-" + uuid.uuid4().hex)
            resp.replaceChild(evil, orig)
            sig = child(resp, "Signature")
            if n == 1:  # XSW1: genuine response copied inside the evil response's Signature
                sig.appendChild(copy)
            else:  # XSW2: genuine response copied next to the Signature (detached signature)
                resp.insertBefore(copy, sig)
            return doc.toxml()
        pin_namespaces(orig)
        sig = child(orig, "Signature")
        pin_namespaces(sig)
        if n == 3:  # XSW3: evil assertion placed before the signed one
            resp.insertBefore(evil, orig)
        elif n == 4:  # XSW4: evil assertion wraps the signed one
            resp.replaceChild(evil, orig)
            evil.appendChild(orig)
        elif n in (5, 6, 8):
            orig.removeChild(sig)
            resp.replaceChild(evil, orig)
            evil.insertBefore(sig, child(evil, "Issuer").nextSibling)  # the evil assertion carries the signature
            if n == 5:  # XSW5: signature in the evil assertion, genuine one appended to the Response
                resp.appendChild(orig)
            elif n == 6:  # XSW6: genuine assertion inside the Signature the evil assertion carries
                sig.appendChild(orig)
            else:  # XSW8: genuine assertion inside a ds:Object of that Signature
                obj = doc.createElementNS(DS, f"{sig.prefix}:Object")
                sig.appendChild(obj)
                obj.appendChild(orig)
        elif n == 7:  # XSW7: genuine assertion hidden in samlp:Extensions, evil one in its place
            resp.replaceChild(evil, orig)
            ext = doc.createElementNS(SAMLP, f"{resp.prefix}:Extensions")
            resp.insertBefore(ext, child(resp, "Status"))
            ext.appendChild(orig)
        return doc.toxml()

    # ---- logout ----

    def slo(self, raw_query):
        q = {k: v[0] for k, v in parse_qs(raw_query).items()}
        if "SAMLRequest" not in q:
            raise BadRequest("SAMLRequest missing")
        try:
            req = self.server.parse_logout_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        except Exception as e:
            raise BadRequest(f"unusable LogoutRequest: {type(e).__name__}: {e}") from e
        sp = req.issuer.text.strip()
        verified = self.redirect_signature_ok(raw_query, q, sp)
        print(f"saml_idp: LogoutRequest from {sp} for {req.name_id.text}: signature "
              f"{'verified' if verified else 'MISSING OR BAD'}", file=sys.stderr, flush=True)
        if not verified:
            raise BadRequest("LogoutRequest must carry a valid redirect-binding signature (SHA-2)")
        self.logged_out.append(req.name_id.text)
        resp = self.server.create_logout_response(req, [BINDING_HTTP_REDIRECT], sign=False)
        return self.redirect(str(resp), resp.destination, q.get("RelayState", ""), response=True)

    def redirect_signature_ok(self, raw_query, q, sp):
        """Checks the signature over the octets as sent (SAML bindings 3.4.4.1), not a re-encoding."""
        if "Signature" not in q or q.get("SigAlg") not in REDIRECT_SIG_HASHES:
            return False
        raw = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
        signed = "&".join(f"{k}={raw[k]}" for k in ("SAMLRequest", "RelayState", "SigAlg") if k in raw).encode()
        try:
            certs = self.server.metadata.certs(sp, "spsso", "signing")
        except KeyError:
            return False
        for _, cert in certs:
            key = x509.load_der_x509_certificate(base64.b64decode(cert)).public_key()
            try:
                key.verify(base64.b64decode(q["Signature"]), signed, padding.PKCS1v15(),
                           REDIRECT_SIG_HASHES[q["SigAlg"]])
                return True
            except Exception:
                continue
        return False

    def idp_logout(self, user, sp):
        try:  # requests go to Location (pysaml2's pick_binding would prefer a ResponseLocation)
            dest = next(locations(self.server.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")))
        except Exception as e:
            raise BadRequest(f"no redirect SingleLogoutService for {sp!r}: {type(e).__name__} {e}") from e
        session = self.sessions.get((sp, user))
        _, req = self.server.create_logout_request(
            dest, sp, name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user), sign=False,
            session_indexes=[session] if session else None)
        return self.redirect(str(req), dest, "", response=False)

    def redirect(self, xml, dest, relay_state, response):
        info = self.server.apply_binding(BINDING_HTTP_REDIRECT, xml, dest, relay_state, response=response,
                                         sign=True, sigalg=SIG_RSA_SHA256)
        return dict(info["headers"])["Location"]


def page(title, body):
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1>{body}</body></html>")


def hidden(fields):
    return "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items() if v)


class Handler(BaseHTTPRequestHandler):
    idp: IdP

    def do_GET(self):
        self.route("GET", urlsplit(self.path).query)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        self.route("POST", body)

    def route(self, method, data):
        path, idp = urlsplit(self.path).path, self.idp
        q = {k: v[0] for k, v in parse_qs(data).items()}
        if path == "/probe":  # what an SP fetches when it follows a signature's Reference URI
            idp.probes += 1
            self.reply(200, "text/plain", "probed\n")
            return
        if (method, path) == ("GET", "/probes"):
            self.reply(200, "application/json", json.dumps(idp.probes))
            return
        try:
            with idp.lock:  # pysaml2's objects are not made for concurrent use
                if (method, path) == ("GET", "/metadata"):
                    self.reply(200, "application/samlmetadata+xml", idp.metadata())
                elif (method, path) == ("POST", "/sp"):
                    idp.register_sp(data)
                    self.reply(204)
                elif path == "/sso":
                    self.sso(q)
                elif (method, path) == ("GET", "/valid-variants"):
                    self.reply(200, "application/json", json.dumps(VALID))
                elif (method, path) == ("GET", "/hostile-variants"):
                    self.reply(200, "application/json", json.dumps(HOSTILE))
                elif (method, path) == ("GET", "/slo"):
                    self.reply(302, location=idp.slo(data))
                elif (method, path) == ("GET", "/logged-out"):
                    self.reply(200, "application/json", json.dumps(idp.logged_out))
                elif (method, path) == ("GET", "/idp-logout"):
                    if not (q.get("user") and q.get("sp")):
                        raise BadRequest("user and sp are required")
                    self.reply(302, location=idp.idp_logout(q["user"], q["sp"]))
                else:
                    self.reply(404, "text/plain", "not found\n")
        except BadRequest as e:
            self.reply(400, "text/plain", f"{e}\n")
        except Exception as e:
            traceback.print_exc()
            self.reply(500, "text/plain", f"{type(e).__name__}: {e}\n")

    def sso(self, q):
        if not q.get("SAMLRequest"):
            raise BadRequest("SAMLRequest missing")
        a = self.idp.authn_request(q["SAMLRequest"])
        if not q.get("user"):
            keep = {k: q.get(k, "") for k in ("SAMLRequest", "RelayState", "variant")}
            self.reply(200, "text/html; charset=utf-8", page("Sign in to the test IdP", (
                '<form method="post" action="/sso"><label for="user">Email</label> '
                '<input id="user" name="user" type="text" autocomplete="username" autofocus> '
                f'{hidden(keep)}<button type="submit">Sign in</button></form>')))
            return
        name = q.get("variant") or "signed-assertion"
        if name not in VALID + HOSTILE + STATEFUL:
            raise BadRequest(f"unknown variant {name!r}")
        xml = self.idp.variant(name, a, q["user"].strip())
        fields = {"SAMLResponse": base64.b64encode(xml.encode()).decode(), "RelayState": q.get("RelayState", "")}
        self.reply(200, "text/html; charset=utf-8", page("Signing you in", (
            f'<form id="saml-post" method="post" action="{html.escape(a["destination"])}">{hidden(fields)}'
            '<button type="submit">Continue</button></form>'
            "<script>document.getElementById('saml-post').submit();</script>")))

    def reply(self, status, ctype=None, body="", location=None):
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 saml_idp.py PORT")
    tmp = tempfile.mkdtemp(prefix="saml-idp-")
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        Handler.idp = IdP(base, tmp)
        # SIGTERM ends serve_forever through SystemExit, so the finally below still cleans up.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"listening {base}", flush=True)
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
