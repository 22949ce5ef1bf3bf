package signature

import (
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AlgorithmSigV4 is the Authorization token of AWS Signature Version 4.
const AlgorithmSigV4 = "AWS4-HMAC-SHA256"

// SigV4 is AWS Signature Version 4 with the signature in the Authorization
// header:
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/service/aws4_request,
//	  SignedHeaders=host;x-amz-date, Signature=<hex>
//	X-Amz-Date: yyyymmddTHHMMSSZ
//
// as the AWS SDK for Go v2 signs it: path percent-encoded twice (as AWS
// wants for every service but S3), query pairs sorted by encoded key then
// value, header values trimmed with inner runs of spaces collapsed and
// repeated values joined by commas, and the body hash of
// X-Amz-Content-Sha256 when the client sends one. Presigned URLs are not
// accepted.
type SigV4 struct {
	// Services are the service names a credential scope may carry, such
	// as "dbplane" or "cloudbasic". Sign uses the first.
	Services []string
	// Region is the region a credential scope must carry; empty accepts
	// any region, the blank one included. Sign uses it as it is.
	Region string
}

var _ Scheme = (*SigV4)(nil)

// Name returns "sigv4".
func (s *SigV4) Name() string { return "sigv4" }

// Algorithm returns AlgorithmSigV4.
func (s *SigV4) Algorithm() string { return AlgorithmSigV4 }

// sigv4Auth is a parsed SigV4 Authorization header.
type sigv4Auth struct {
	Credential    sigv4Credential
	SignedHeaders []string
	Signature     []byte
}

// sigv4Credential is the Credential part: the access key and its scope.
type sigv4Credential struct {
	AccessKeyID, Date, Region, Service string
}

// scope is the credential scope that the string to sign carries.
func (c sigv4Credential) scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/aws4_request"
}

// parseSigV4Authorization parses a whole SigV4 Authorization header.
func parseSigV4Authorization(h string) (sigv4Auth, error) {
	rest, ok := strings.CutPrefix(h, AlgorithmSigV4+" ")
	if !ok {
		return sigv4Auth{}, malformed("want %q followed by a space", AlgorithmSigV4)
	}
	params, err := parseParams(strings.TrimLeft(rest, " "), "Credential", "SignedHeaders", "Signature")
	if err != nil {
		return sigv4Auth{}, err
	}
	var a sigv4Auth
	if a.Credential, err = parseSigV4Credential(params["Credential"]); err != nil {
		return sigv4Auth{}, err
	}
	if a.SignedHeaders, err = parseSignedHeaders(params["SignedHeaders"]); err != nil {
		return sigv4Auth{}, err
	}
	for _, need := range []string{"host", "x-amz-date"} {
		if !slices.Contains(a.SignedHeaders, need) {
			return sigv4Auth{}, malformed("SignedHeaders must include %s", need)
		}
	}
	if a.Signature, err = parseHexSignature(params["Signature"]); err != nil {
		return sigv4Auth{}, err
	}
	return a, nil
}

// parseSigV4Credential parses AK/yyyymmdd/region/service/aws4_request. The
// region may be empty, as CloudBasic sends it.
func parseSigV4Credential(s string) (sigv4Credential, error) {
	const want = "Credential: want AccessKeyId/yyyymmdd/region/service/aws4_request"
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return sigv4Credential{}, malformed(want)
	}
	c := sigv4Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	if !validAccessKey(c.AccessKeyID) {
		return sigv4Credential{}, malformed("Credential: bad access key id")
	}
	if len(c.Date) != 8 || !digits(c.Date) {
		return sigv4Credential{}, malformed("Credential: bad date %q (want yyyymmdd)", clip(c.Date))
	}
	if _, err := time.Parse("20060102", c.Date); err != nil {
		return sigv4Credential{}, malformed("Credential: bad date %q (want yyyymmdd)", clip(c.Date))
	}
	if c.Service == "" || !validScopePart(c.Service) || !validScopePart(c.Region) {
		return sigv4Credential{}, malformed(want)
	}
	return c, nil
}

// validScopePart accepts the names AWS uses for regions and services.
func validScopePart(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Parse reads a SigV4-signed request.
func (s *SigV4) Parse(r *http.Request, body []byte) (*Claim, error) {
	auth, err := parseSigV4Authorization(strings.TrimSpace(r.Header.Get("Authorization")))
	if err != nil {
		return nil, err
	}
	cred := auth.Credential
	if !slices.Contains(s.Services, cred.Service) {
		return nil, unauthorized("credential scope names service %q; this endpoint accepts %s", cred.Service, strings.Join(s.Services, ", "))
	}
	if s.Region != "" && cred.Region != s.Region {
		return nil, unauthorized("credential scope names region %q; this endpoint accepts %q", cred.Region, s.Region)
	}
	amzDate, err := singleHeader(r, "X-Amz-Date")
	if err != nil {
		return nil, err
	}
	date, ok := parseCompactDate(amzDate)
	if !ok {
		return nil, unauthorized("malformed X-Amz-Date header: want yyyymmddTHHMMSSZ")
	}
	if amzDate[:8] != cred.Date {
		return nil, unauthorized("the credential scope's date %s is not the date of X-Amz-Date", cred.Date)
	}
	hash, err := payloadHash(r, "X-Amz-Content-Sha256", body)
	if err != nil {
		return nil, err
	}
	canonical, err := sigv4CanonicalRequest(r, auth.SignedHeaders, hash)
	if err != nil {
		return nil, err
	}
	return &Claim{
		AccessKeyID: cred.AccessKeyID,
		Date:        date,
		Signature:   auth.Signature,
		Expected: func(secret string) []byte {
			return sigv4Signature(secret, cred, amzDate, canonical)
		},
	}, nil
}

// sigv4CanonicalRequest builds the canonical request of AWS's task 1.
func sigv4CanonicalRequest(r *http.Request, signed []string, payloadHash string) (string, error) {
	pairs, err := queryPairs(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	headers, err := canonicalHeaders(r, signed, sigv4HeaderLine)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{
		r.Method,
		escape(requestPath(r), true),
		canonicalQuery(pairs, true),
		headers,
		strings.Join(signed, ";"),
		payloadHash,
	}, "\n"), nil
}

// sigv4HeaderLine writes name:v1,v2 with each value trimmed and its inner
// runs of spaces collapsed.
func sigv4HeaderLine(b *strings.Builder, name string, values []string) {
	b.WriteString(name)
	b.WriteByte(':')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(collapseSpaces(strings.TrimSpace(v)))
	}
	b.WriteByte('\n')
}

// collapseSpaces replaces each run of spaces in s by one space.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	prev := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && prev {
			continue
		}
		prev = s[i] == ' '
		b.WriteByte(s[i])
	}
	return b.String()
}

// sigv4Signature runs AWS's tasks 2 to 4: string to sign, derived key,
// signature.
func sigv4Signature(secret string, cred sigv4Credential, amzDate, canonical string) []byte {
	sts := AlgorithmSigV4 + "\n" + amzDate + "\n" + cred.scope() + "\n" + sha256Hex([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+secret), cred.Date)
	key = hmacSHA256(key, cred.Region)
	key = hmacSHA256(key, cred.Service)
	key = hmacSHA256(key, "aws4_request")
	return hmacSHA256(key, sts)
}

// sigv4Ignored are headers that proxies and transports change, and that AWS
// signers leave out.
var sigv4Ignored = []string{"authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "content-length"}

// Sign signs r as the AWS SDK for Go v2 does: it signs host, content-length
// when the body is not empty, and every header already set but
// Authorization, User-Agent, Expect, Transfer-Encoding and X-Amzn-Trace-Id.
// The body hash is X-Amz-Content-Sha256 if the caller set it (to
// UNSIGNED-PAYLOAD, say), else the body's SHA-256, which is not sent.
func (s *SigV4) Sign(r *http.Request, accessKeyID, secret string, now time.Time) error {
	if len(s.Services) == 0 {
		return errors.New("signature: SigV4 has no service to sign for")
	}
	body, err := bufferBody(r)
	if err != nil {
		return err
	}
	amzDate := now.UTC().Format(compactDateFormat)
	stripDefaultPort(r)
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		hash = sha256Hex(body)
	}
	signed := []string{"host"}
	if r.ContentLength > 0 {
		signed = append(signed, "content-length")
	}
	for k := range r.Header {
		if k = strings.ToLower(k); !slices.Contains(sigv4Ignored, k) && !slices.Contains(signed, k) {
			signed = append(signed, k)
		}
	}
	slices.Sort(signed)
	canonical, err := sigv4CanonicalRequest(r, signed, hash)
	if err != nil {
		return err
	}
	cred := sigv4Credential{AccessKeyID: accessKeyID, Date: amzDate[:8], Region: s.Region, Service: s.Services[0]}
	sig := sigv4Signature(secret, cred, amzDate, canonical)
	r.Header.Set("Authorization", AlgorithmSigV4+" Credential="+accessKeyID+"/"+cred.scope()+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+hex.EncodeToString(sig))
	return nil
}

// stripDefaultPort drops :80 from http and :443 from https hosts, as the AWS
// SDK does before it signs the host: so do the servers that see the Host
// header.
func stripDefaultPort(r *http.Request) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		return
	}
	scheme := strings.ToLower(r.URL.Scheme)
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		r.Host = h
		if strings.Contains(h, ":") { // an IPv6 address keeps its brackets
			r.Host = "[" + h + "]"
		}
	}
}
