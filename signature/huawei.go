package signature

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AlgorithmHuawei is the Authorization token of Huawei Cloud's AK/SK
// signature.
const AlgorithmHuawei = "SDK-HMAC-SHA256"

// Huawei is Huawei Cloud's AK/SK request signature, as the signer of
// huaweicloud-sdk-go-v3 (core/auth/signer) makes it:
//
//	Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=<hex>
//	X-Sdk-Date: yyyymmddTHHMMSSZ
//
// Its canonical request differs from SigV4's: each path segment is
// percent-encoded once and the path always ends in '/'; query pairs are
// sorted by decoded key then value before they are encoded; each value of
// a signed header is its own line, values sorted and trimmed; the string
// to sign has no credential scope and the key is the secret itself. The
// body hash is X-Sdk-Content-Sha256 when the client sends it (the SDK sends
// UNSIGNED-PAYLOAD for content types other than JSON and BSON).
type Huawei struct{}

var _ Scheme = Huawei{}

// Name returns "huawei".
func (Huawei) Name() string { return "huawei" }

// Algorithm returns AlgorithmHuawei.
func (Huawei) Algorithm() string { return AlgorithmHuawei }

// huaweiAuth is a parsed Huawei Authorization header.
type huaweiAuth struct {
	AccessKeyID   string
	SignedHeaders []string
	Signature     []byte
}

// parseHuaweiAuthorization parses a whole Huawei Authorization header.
func parseHuaweiAuthorization(h string) (huaweiAuth, error) {
	rest, ok := strings.CutPrefix(h, AlgorithmHuawei+" ")
	if !ok {
		return huaweiAuth{}, malformed("want %q followed by a space", AlgorithmHuawei)
	}
	params, err := parseParams(strings.TrimLeft(rest, " "), "Access", "SignedHeaders", "Signature")
	if err != nil {
		return huaweiAuth{}, err
	}
	a := huaweiAuth{AccessKeyID: params["Access"]}
	if !validAccessKey(a.AccessKeyID) {
		return huaweiAuth{}, malformed("Access: bad access key id")
	}
	if a.SignedHeaders, err = parseSignedHeaders(params["SignedHeaders"]); err != nil {
		return huaweiAuth{}, err
	}
	if !slices.Contains(a.SignedHeaders, "x-sdk-date") {
		return huaweiAuth{}, malformed("SignedHeaders must include x-sdk-date")
	}
	if a.Signature, err = parseHexSignature(params["Signature"]); err != nil {
		return huaweiAuth{}, err
	}
	return a, nil
}

// Parse reads a request signed the Huawei Cloud way.
func (Huawei) Parse(r *http.Request, body []byte) (*Claim, error) {
	auth, err := parseHuaweiAuthorization(strings.TrimSpace(r.Header.Get("Authorization")))
	if err != nil {
		return nil, err
	}
	sdkDate, err := singleHeader(r, "X-Sdk-Date")
	if err != nil {
		return nil, err
	}
	date, ok := parseCompactDate(sdkDate)
	if !ok {
		return nil, unauthorized("malformed X-Sdk-Date header: want yyyymmddTHHMMSSZ")
	}
	hash, err := payloadHash(r, "X-Sdk-Content-Sha256", body)
	if err != nil {
		return nil, err
	}
	canonical, err := huaweiCanonicalRequest(r, auth.SignedHeaders, hash)
	if err != nil {
		return nil, err
	}
	return &Claim{
		AccessKeyID: auth.AccessKeyID,
		Date:        date,
		Signature:   auth.Signature,
		Expected: func(secret string) []byte {
			return huaweiSignature(secret, sdkDate, canonical)
		},
	}, nil
}

// huaweiCanonicalRequest builds the SDK's canonical request.
func huaweiCanonicalRequest(r *http.Request, signed []string, payloadHash string) (string, error) {
	path, err := huaweiCanonicalPath(requestPath(r))
	if err != nil {
		return "", err
	}
	pairs, err := queryPairs(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(r, signed, huaweiHeaderLines)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		r.Method,
		path,
		canonicalQuery(pairs, false),
		headers,
		strings.Join(signed, ";"),
		payloadHash,
	}, "\n"), nil
}

// huaweiCanonicalPath encodes each segment of the wire path once, after
// decoding it, and ends the path with '/', as the SDK does to the path it
// is given before it sends it.
func huaweiCanonicalPath(wire string) (string, error) {
	segs := strings.Split(wire, "/")
	for i, s := range segs {
		dec, err := url.PathUnescape(s)
		if err != nil {
			return "", unauthorized("malformed request path: bad escape in %q", clip(s))
		}
		segs[i] = escape(dec, false)
	}
	p := strings.Join(segs, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// huaweiHeaderLines writes one name:value line per value, values trimmed
// and sorted.
func huaweiHeaderLines(b *strings.Builder, name string, values []string) {
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = strings.TrimSpace(v)
	}
	slices.Sort(vs)
	for _, v := range vs {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte('\n')
	}
}

// huaweiSignature signs the string to sign with the secret itself.
func huaweiSignature(secret, sdkDate, canonical string) []byte {
	sts := AlgorithmHuawei + "\n" + sdkDate + "\n" + sha256Hex([]byte(canonical))
	return hmacSHA256([]byte(secret), sts)
}

// Sign signs r as the Huawei Cloud SDK does: it signs every header already
// set but Content-Type and names with '_' (no Host, which the SDK leaves
// out too), and, like the SDK, sets X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD
// when r has a Content-Type other than JSON or BSON.
func (Huawei) Sign(r *http.Request, accessKeyID, secret string, now time.Time) error {
	body, err := bufferBody(r)
	if err != nil {
		return err
	}
	r.Header.Del("Authorization")
	if ct, ok := r.Header["Content-Type"]; ok && len(ct) > 0 &&
		!strings.Contains(ct[0], "application/json") && !strings.Contains(ct[0], "application/bson") {
		r.Header.Set("X-Sdk-Content-Sha256", unsignedPayload)
	}
	sdkDate := now.UTC().Format(compactDateFormat)
	r.Header.Set("X-Sdk-Date", sdkDate)
	hash := r.Header.Get("X-Sdk-Content-Sha256")
	if hash == "" {
		hash = sha256Hex(body)
	}
	var signed []string
	for k := range r.Header {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "content-type") || strings.Contains(k, "_") || slices.Contains(signed, k) {
			continue
		}
		signed = append(signed, k)
	}
	slices.Sort(signed)
	canonical, err := huaweiCanonicalRequest(r, signed, hash)
	if err != nil {
		return err
	}
	sig := huaweiSignature(secret, sdkDate, canonical)
	r.Header.Set("Authorization", AlgorithmHuawei+" Access="+accessKeyID+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+hex.EncodeToString(sig))
	return nil
}
