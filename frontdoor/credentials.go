package frontdoor

import (
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// credentialKind says how a request claims to authenticate.
type credentialKind uint8

const (
	credNone credentialKind = iota
	credBearer
	credBasic
	credSignature
)

// credential is what a request presents, before it is checked.
type credential struct {
	kind           credentialKind
	token          string           // credBearer
	user, password string           // credBasic
	scheme         signature.Scheme // credSignature
}

// maxCredentialLen bounds what is passed on to the store: no token, name or
// password of dbplane's is longer, and a megabyte of "password" would only
// cost argon2 time.
const maxCredentialLen = 4096

// credentials reads the credential of r among those d accepts. A header
// that is present but malformed, or of a scheme d does not accept, is an
// error: the client meant to authenticate and should learn why it failed.
func (d *Door) credentials(r *http.Request) (credential, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		if d.TokenHeader != "" {
			if tok := strings.TrimSpace(r.Header.Get(d.TokenHeader)); tok != "" {
				if !validToken(tok) {
					return credential{}, unauthorized("malformed %s header", d.TokenHeader)
				}
				return credential{kind: credBearer, token: tok}, nil
			}
		}
		return credential{}, nil
	}
	if len(vals) > 1 {
		return credential{}, unauthorized("malformed Authorization header: sent more than once")
	}
	h := strings.TrimSpace(vals[0])
	scheme, _, _ := strings.Cut(h, " ")
	switch {
	case d.Bearer && strings.EqualFold(scheme, "Bearer"):
		tok, ok := parseBearer(h)
		if !ok {
			return credential{}, unauthorized("malformed Authorization header: want Bearer <token>")
		}
		return credential{kind: credBearer, token: tok}, nil
	case d.Basic && strings.EqualFold(scheme, "Basic"):
		user, pw, ok := parseBasic(h)
		if !ok {
			return credential{}, unauthorized("malformed Authorization header: want Basic base64(user:password)")
		}
		return credential{kind: credBasic, user: user, password: pw}, nil
	}
	for _, s := range d.Signatures {
		if s.Algorithm() == scheme {
			return credential{kind: credSignature, scheme: s}, nil
		}
	}
	return credential{}, unauthorized("unsupported Authorization scheme %q: %s", clip(scheme), d.accepted())
}

// accepted describes the credentials d accepts, for error messages.
func (d *Door) accepted() string {
	var ways []string
	if d.Bearer {
		ways = append(ways, "a bearer token (Authorization: Bearer <token>)")
	}
	if d.TokenHeader != "" {
		ways = append(ways, "a token in "+d.TokenHeader)
	}
	if d.Basic {
		ways = append(ways, "HTTP Basic")
	}
	for _, s := range d.Signatures {
		ways = append(ways, "an access-key signature ("+s.Algorithm()+")")
	}
	if len(ways) == 0 {
		return "this API accepts no credentials"
	}
	return "send " + strings.Join(ways, " or ")
}

// parseBearer returns the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive (RFC 9110 §11.1); the token must
// be a token68 (RFC 7235 §2.1), a single word of printable characters.
func parseBearer(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(scheme):])
	return tok, validToken(tok)
}

// validToken accepts a non-empty, bounded word of visible ASCII.
func validToken(tok string) bool {
	if tok == "" || len(tok) > maxCredentialLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// parseBasic returns the user and password of an "Authorization: Basic"
// header (RFC 7617): base64 of "user:password", the user non-empty and
// without a colon, both valid UTF-8 without control characters.
func parseBasic(h string) (user, password string, ok bool) {
	const scheme = "basic "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", "", false
	}
	enc := strings.TrimSpace(h[len(scheme):])
	if len(enc) > maxCredentialLen {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" || !printable(user) || !printable(password) {
		return "", "", false
	}
	return user, password, true
}

// printable accepts valid UTF-8 without control characters, so that
// nothing odd reaches logs or the store.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// unauthorized returns a KindUnauthorized error.
func unauthorized(format string, args ...any) error {
	return dbplane.Errorf(dbplane.KindUnauthorized, format, args...)
}

// clip shortens client input quoted back in messages, at a rune boundary.
func clip(s string) string {
	const maxQuote = 32
	if len(s) <= maxQuote {
		return s
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
