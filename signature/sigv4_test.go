package signature_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/dbplane/dbplane/signature"
)

// sigv4Case is a request for the AWS SDK's signer and ours to sign.
type sigv4Case struct {
	name     string
	method   string
	path     string // decoded path
	rawPath  string // its encoding, when not Go's default
	rawQuery string
	headers  [][2]string
	body     string
	sha      string // X-Amz-Content-Sha256: "" none, "body" the body's hash, or a literal
	region   string
}

var sigv4Cases = []sigv4Case{
	{name: "root", method: "GET", path: "/", region: "us-east-1"},
	{name: "repeated keys and empty values", method: "GET", path: "/v1/clusters",
		rawQuery: "b=2&a=1&a=0&empty=&flag&a=", region: "us-east-1"},
	{name: "reserved and unicode query", method: "GET", path: "/v1/clusters",
		rawQuery: "sp=a%20b&plus=a+b&res=%21%2A%27%28%29%2C%2F%3F%3A%40%26%3D%2B%24%23&uni=%E4%B8%80&~=tilde&%C3%A9=e&-=x&_=y&.=z",
		region:   "us-east-1"},
	{name: "unicode path", method: "GET", path: "/v1/项目/実例 é", region: "us-east-1"},
	{name: "reserved path", method: "GET", path: "/v1/a:b@c!d$e&f'g(h)*i+j,k;l=m~n", region: "us-east-1"},
	{name: "encoded slash in path", method: "GET", path: "/v1/a/b", rawPath: "/v1/a%2Fb", region: "us-east-1"},
	{name: "trailing slash", method: "GET", path: "/v1/clusters/", region: "us-east-1"},
	{name: "blank region", method: "GET", path: "/api/ReplicationServiceStatus", region: ""},
	{name: "json body", method: "POST", path: "/v1/clusters", region: "us-east-1",
		headers: [][2]string{{"Content-Type", "application/json"}, {"X-Dbplane-Test", "one"}},
		body:    `{"name":"orders","engine":"postgresql","nodes":3}`},
	{name: "body with content sha", method: "POST", path: "/api/CreateReplication", region: "",
		headers: [][2]string{{"Content-Type", "application/json"}},
		body:    `{"replicationMethod":"ContinuousWithAutoSeeding"}`, sha: "body"},
	{name: "empty body with content sha", method: "DELETE", path: "/v1/clusters/7", region: "us-east-1", sha: "body"},
	{name: "unsigned payload", method: "PUT", path: "/v1/blobs/x", region: "us-east-1",
		headers: [][2]string{{"Content-Type", "application/octet-stream"}},
		body:    "\x00\x01binary", sha: "UNSIGNED-PAYLOAD"},
	{name: "repeated headers and inner spaces", method: "POST", path: "/v1/x", region: "us-east-1",
		headers: [][2]string{{"X-Multi", "a"}, {"X-Multi", "b  c"}, {"X-Spaces", "x   y z"}},
		body:    "plain text"},
	{name: "unsigned headers", method: "GET", path: "/v1/x", region: "us-east-1",
		headers: [][2]string{{"User-Agent", "dbplane-test/1"}, {"X-Amzn-Trace-Id", "Root=1-abc"}, {"X-Dbplane-Test", "two"}}},
	{name: "large body", method: "POST", path: "/v1/x", region: "us-east-1",
		headers: [][2]string{{"Content-Type", "text/plain"}},
		body:    strings.Repeat("0123456789abcdef", 4096)},
}

// request builds tc as a client request to base.
func (tc sigv4Case) request(tb testing.TB, base string) *http.Request {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path, u.RawPath, u.RawQuery = tc.path, tc.rawPath, tc.rawQuery
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequest(tc.method, u.String(), body)
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range tc.headers {
		req.Header.Add(h[0], h[1])
	}
	switch tc.sha {
	case "":
	case "body":
		req.Header.Set("X-Amz-Content-Sha256", sha256Hex(tc.body))
	default:
		req.Header.Set("X-Amz-Content-Sha256", tc.sha)
	}
	return req
}

// sdkSign signs req with the AWS SDK for Go v2.
func (tc sigv4Case) sdkSign(tb testing.TB, req *http.Request, now time.Time) {
	tb.Helper()
	hash := req.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		hash = sha256Hex(tc.body)
	}
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "dbplane", tc.region, now); err != nil {
		tb.Fatalf("SDK sign: %v", err)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// tamper changes a signed request in one way; it reports false when the
// change does not apply to the case.
type tamper struct {
	name string
	fn   func(r *http.Request) bool
}

// commonTampers change what every scheme signs.
var commonTampers = []tamper{
	{"method", func(r *http.Request) bool {
		r.Method = map[string]string{"GET": "PATCH", "POST": "PUT"}[r.Method]
		if r.Method == "" {
			r.Method = "POST"
		}
		return true
	}},
	{"path", func(r *http.Request) bool {
		r.URL.Path = strings.TrimSuffix(r.URL.Path, "/") + "/x"
		r.URL.RawPath = ""
		return true
	}},
	{"query added", func(r *http.Request) bool { r.URL.RawQuery += "&z=1"; return true }},
	{"query value", func(r *http.Request) bool {
		if r.URL.RawQuery == "" {
			return false
		}
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "=", "=9", 1)
		return true
	}},
	{"body", func(r *http.Request) bool {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		if len(body) == 0 {
			body = []byte("!")
		} else {
			body[len(body)-1] ^= 1 // same length: only the hash can tell
		}
		setBody(r, body)
		return true
	}},
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	r.GetBody = nil
	r.ContentLength = int64(len(body))
}

// bumpHeader adds a second to a compact date header.
func bumpHeader(name string) tamper {
	return tamper{"date " + name, func(r *http.Request) bool {
		t, err := time.Parse("20060102T150405Z", r.Header.Get(name))
		if err != nil {
			return false
		}
		r.Header.Set(name, t.Add(time.Second).Format("20060102T150405Z"))
		return true
	}}
}

// changeHeader changes the value of a signed header, when it is set.
func changeHeader(name string) tamper {
	return tamper{"header " + name, func(r *http.Request) bool {
		if r.Header.Get(name) == "" {
			return false
		}
		r.Header.Set(name, r.Header.Get(name)+"x")
		return true
	}}
}

var sigv4Tampers = append(commonTampers[:len(commonTampers):len(commonTampers)],
	bumpHeader("X-Amz-Date"),
	changeHeader("X-Dbplane-Test"),
	changeHeader("Content-Type"),
	tamper{"host", func(r *http.Request) bool { r.Host = "tampered.example"; return true }},
)

// TestSigV4AgainstSDK checks, for each request of a table, that a request
// the AWS SDK signed verifies, that our signer writes the very same
// Authorization header, and that changing any signed part is refused.
func TestSigV4AgainstSDK(t *testing.T) {
	scheme := &signature.SigV4{Services: []string{"dbplane"}}
	srv := mustServe(t, mustVerifier(scheme))
	for _, tc := range sigv4Cases {
		t.Run(tc.name, func(t *testing.T) {
			sdkReq := tc.request(t, srv.URL)
			tc.sdkSign(t, sdkReq, signTime)
			wantVerified(t, "SDK-signed", srv.do(t, sdkReq), tc.body)

			ours := tc.request(t, srv.URL)
			signer := &signature.SigV4{Services: []string{"dbplane"}, Region: tc.region}
			if err := signer.Sign(ours, testAK, testSK, signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got, want := ours.Header.Get("Authorization"), sdkReq.Header.Get("Authorization"); got != want {
				t.Errorf("our Authorization\n %s\nSDK's\n %s", got, want)
			}
			wantVerified(t, "self-signed", srv.do(t, ours), tc.body)

			for _, tm := range sigv4Tampers {
				req := tc.request(t, srv.URL)
				tc.sdkSign(t, req, signTime)
				if !tm.fn(req) {
					continue
				}
				res := srv.do(t, req)
				if tm.name == "body" && tc.sha == "UNSIGNED-PAYLOAD" {
					if !res.ok() {
						t.Errorf("tampered body with UNSIGNED-PAYLOAD: refused (%s), want verified: the body is not signed", res.Message)
					}
					continue
				}
				wantRefused(t, "tampered "+tm.name, res)
			}
		})
	}
}

// TestSigV4Scope checks the service and region of the credential scope.
func TestSigV4Scope(t *testing.T) {
	for _, tc := range []struct {
		name            string
		accept          signature.SigV4
		service, region string
		ok              bool
	}{
		{"service accepted", signature.SigV4{Services: []string{"cloudbasic", "cbr"}}, "cbr", "", true},
		{"service refused", signature.SigV4{Services: []string{"dbplane"}}, "s3", "us-east-1", false},
		{"any region", signature.SigV4{Services: []string{"dbplane"}}, "dbplane", "eu-west-3", true},
		{"region required", signature.SigV4{Services: []string{"cloudbasic"}, Region: "us-east-1"}, "cloudbasic", "", false},
		{"region matches", signature.SigV4{Services: []string{"cloudbasic"}, Region: "us-east-1"}, "cloudbasic", "us-east-1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mustServe(t, mustVerifier(&tc.accept))
			req, _ := http.NewRequest("GET", srv.URL+"/api/x", nil)
			signer := &signature.SigV4{Services: []string{tc.service}, Region: tc.region}
			if err := signer.Sign(req, testAK, testSK, signTime); err != nil {
				t.Fatal(err)
			}
			res := srv.do(t, req)
			if tc.ok {
				wantVerified(t, tc.name, res, "")
			} else {
				wantRefused(t, tc.name, res)
				if !strings.Contains(res.Message, "credential scope") {
					t.Errorf("message %q does not name the credential scope", res.Message)
				}
			}
		})
	}
}

// TestSigV4ContentSha checks that a body hash header must match the body.
func TestSigV4ContentSha(t *testing.T) {
	srv := mustServe(t, mustVerifier(&signature.SigV4{Services: []string{"dbplane"}}))
	for _, tc := range []struct{ name, sha, want string }{
		{"wrong hash", sha256Hex("other"), "does not match the body"},
		{"streaming", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "unsupported X-Amz-Content-Sha256"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/x", strings.NewReader("body"))
		req.Header.Set("X-Amz-Content-Sha256", tc.sha)
		if err := (&signature.SigV4{Services: []string{"dbplane"}}).Sign(req, testAK, testSK, signTime); err != nil {
			t.Fatal(err)
		}
		res := srv.do(t, req)
		wantRefused(t, tc.name, res)
		if !strings.Contains(res.Message, tc.want) {
			t.Errorf("%s: message %q, want it to say %q", tc.name, res.Message, tc.want)
		}
	}
}
