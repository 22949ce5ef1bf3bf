package signature

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The building blocks of canonical requests. Each scheme puts the same
// parts (method, path, query, headers, body hash) together, but encodes and
// orders them in its own way, as its reference signer does: the functions
// here take those choices as arguments.

// escape percent-encodes every byte of s but RFC 3986's unreserved
// characters (A-Z a-z 0-9 - . _ ~), with upper-case hex digits, as AWS and
// Huawei Cloud both want. keepSlash leaves '/' as it is, for paths.
func escape(s string, keepSlash bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// requestPath returns r's path as it is, or will be, on the wire, still
// percent-encoded: clients sign what they send. On a server that is the
// request line's path, which middleware that rewrites r.URL leaves alone.
func requestPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	p, _, _ := strings.Cut(r.URL.RequestURI(), "?")
	if p == "" || p == "*" {
		return "/"
	}
	return p
}

// queryPair is one decoded key=value pair of a query string.
type queryPair struct{ key, value string }

// queryPairs decodes a raw query string. A key without '=' has an empty
// value. A query that does not decode is refused rather than half-read:
// url.Query drops such pairs silently, and a pair nobody signed must not
// reach a handler.
func queryPairs(raw string) ([]queryPair, error) {
	var pairs []queryPair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		if strings.Contains(part, ";") {
			return nil, unauthorized("malformed query string: ';' is not a separator")
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, unauthorized("malformed query string: bad escape in key %q", clip(k))
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, unauthorized("malformed query string: bad escape in the value of %q", clip(key))
		}
		pairs = append(pairs, queryPair{key, value})
	}
	return pairs, nil
}

// canonicalQuery encodes pairs with escape, sorted by key then value, and
// joins them as k=v&k=v. sortEncoded sorts the encoded pairs (AWS);
// otherwise the decoded ones are sorted (Huawei Cloud, OCP). The two
// orders differ for keys such as "~" and "é".
func canonicalQuery(pairs []queryPair, sortEncoded bool) string {
	enc := make([]queryPair, len(pairs))
	for i, p := range pairs {
		enc[i] = queryPair{escape(p.key, false), escape(p.value, false)}
	}
	order := func(i, j int) int {
		a, b := pairs[i], pairs[j]
		if sortEncoded {
			a, b = enc[i], enc[j]
		}
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	}
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, order)
	var b strings.Builder
	for n, i := range idx {
		if n > 0 {
			b.WriteByte('&')
		}
		b.WriteString(enc[i].key)
		b.WriteByte('=')
		b.WriteString(enc[i].value)
	}
	return b.String()
}

// headerValues returns the values of the header name (lower case) in r. Go
// keeps Host out of r.Header, and a client request's length out of it too.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		if r.URL != nil && r.URL.Host != "" {
			return []string{r.URL.Host}
		}
		return nil
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return vs
		}
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	}
	vs := r.Header.Values(name)
	// A client may have set a key that is not in canonical form.
	var odd []string
	for k := range r.Header {
		if strings.EqualFold(k, name) && k != http.CanonicalHeaderKey(name) {
			odd = append(odd, k)
		}
	}
	slices.Sort(odd)
	for _, k := range odd {
		vs = append(vs, r.Header[k]...)
	}
	return vs
}

// canonicalHeaders writes one line per signed header, "name:value\n",
// through line, which formats a header's values as its scheme wants. A
// signed header that the request lacks is refused by name: it cannot have
// been signed as sent.
func canonicalHeaders(r *http.Request, signed []string, line func(b *strings.Builder, name string, values []string)) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		vs := headerValues(r, name)
		if len(vs) == 0 {
			return "", unauthorized("signed header %q is not in the request", clip(name))
		}
		line(&b, name, vs)
	}
	return b.String(), nil
}

// validHeaderName reports whether s is a lower-case HTTP header name, as
// signed-header lists carry them.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// maxSignedHeaders bounds a signed-header list, and so the work a request
// can make the verifier do.
const maxSignedHeaders = 64

// parseSignedHeaders reads a ';'-separated list of signed header names.
func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, malformed("SignedHeaders is empty")
	}
	names := strings.Split(s, ";")
	if len(names) > maxSignedHeaders {
		return nil, malformed("SignedHeaders lists more than %d headers", maxSignedHeaders)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !validHeaderName(n) {
			return nil, malformed("SignedHeaders: %q is not a lower-case header name", clip(n))
		}
		if seen[n] {
			return nil, malformed("SignedHeaders: %q is listed twice", clip(n))
		}
		seen[n] = true
	}
	return names, nil
}

// parseParams reads the comma-separated Name=Value parts of an
// Authorization header after its algorithm, such as "Credential=...,
// SignedHeaders=..., Signature=...". Every name in names must occur once,
// and no other.
func parseParams(s string, names ...string) (map[string]string, error) {
	got := make(map[string]string, len(names))
	for part := range strings.SplitSeq(s, ",") {
		part = strings.Trim(part, " \t")
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, malformed("part %q is not Name=Value", clip(part))
		}
		if !slices.Contains(names, k) {
			return nil, malformed("unknown part %q (want %s)", clip(k), strings.Join(names, ", "))
		}
		if _, dup := got[k]; dup {
			return nil, malformed("%s is given twice", k)
		}
		got[k] = v
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			return nil, malformed("missing %s", n)
		}
	}
	return got, nil
}

// maxAccessKeyLen bounds access key ids passed to the secret lookup.
const maxAccessKeyLen = 128

// validAccessKey reports whether s can be an access key id: printable
// ASCII, no spaces or separators of the headers that carry it.
func validAccessKey(s string) bool {
	if s == "" || len(s) > maxAccessKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == '/' || c == ':' || c == ';' {
			return false
		}
	}
	return true
}

// parseHexSignature decodes a hex HMAC-SHA256 signature.
func parseHexSignature(s string) ([]byte, error) {
	if len(s) != 2*sha256.Size {
		return nil, malformed("Signature must be %d hex digits", 2*sha256.Size)
	}
	sig, err := hex.DecodeString(s)
	if err != nil {
		return nil, malformed("Signature must be %d hex digits", 2*sha256.Size)
	}
	return sig, nil
}

// compactDateFormat is the ISO 8601 basic format of X-Amz-Date and
// X-Sdk-Date.
const compactDateFormat = "20060102T150405Z"

// parseCompactDate parses a yyyymmddTHHMMSSZ date strictly: time.Parse
// alone would accept one-digit hours and the like.
func parseCompactDate(s string) (time.Time, bool) {
	if len(s) != len(compactDateFormat) || s[8] != 'T' || s[15] != 'Z' || !digits(s[:8]) || !digits(s[9:15]) {
		return time.Time{}, false
	}
	t, err := time.Parse(compactDateFormat, s)
	if err != nil || t.Format(compactDateFormat) != s {
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// singleHeader returns the one value of header name; a header sent twice
// is refused, since which one was signed is unclear.
func singleHeader(r *http.Request, name string) (string, error) {
	vs := r.Header.Values(name)
	switch {
	case len(vs) == 0 || vs[0] == "":
		return "", unauthorized("missing %s header", name)
	case len(vs) > 1:
		return "", unauthorized("%s header is sent more than once", name)
	}
	return vs[0], nil
}

// checkSkew refuses a date further than max from now, either way: a
// signed request can be replayed only within that window.
func checkSkew(date, now time.Time, max time.Duration) error {
	d := now.Sub(date)
	if d < 0 {
		d = -d
	}
	if d > max {
		return unauthorized("request date %s is %s off the server's clock; the allowed skew is %s",
			date.UTC().Format(time.RFC3339), d.Round(time.Second), max)
	}
	return nil
}

// unsignedPayload is the body hash that says the body is not signed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// payloadHash returns the body hash to sign: the header's value when the
// client sent one (the body's hex SHA-256, which must then match, or
// UNSIGNED-PAYLOAD), otherwise the body's hex SHA-256.
func payloadHash(r *http.Request, header string, body []byte) (string, error) {
	sum := sha256Hex(body)
	vs := r.Header.Values(header)
	if len(vs) == 0 {
		return sum, nil
	}
	if len(vs) > 1 {
		return "", unauthorized("%s header is sent more than once", header)
	}
	v := vs[0]
	switch {
	case v == unsignedPayload:
		return v, nil
	case len(v) == len(sum) && isHex(v):
		if !strings.EqualFold(v, sum) {
			return "", unauthorized("%s does not match the body's SHA-256", header)
		}
		return v, nil
	}
	return "", unauthorized("unsupported %s value %q (want the body's hex SHA-256 or %s)", header, clip(v), unsignedPayload)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
