package signature_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/dbplane/dbplane/signature"
)

// huaweiCase is a request for the Huawei Cloud SDK's signer and ours to
// sign, in the SDK's terms.
type huaweiCase struct {
	name    string
	method  string
	path    string
	query   map[string]any
	headers map[string]string
	body    any // nil, a string sent as it is, or a value sent as JSON
}

type instanceBody struct {
	Name   string `json:"name"`
	Flavor string `json:"flavor_ref"`
	Nodes  int    `json:"node_num"`
}

var huaweiCases = []huaweiCase{
	{name: "get with query", method: "GET", path: "/v3/0a1b/instances",
		query: map[string]any{"limit": 10, "offset": 0}},
	{name: "repeated keys, empty values, reserved and unicode", method: "GET", path: "/v3/0a1b/instances",
		query: map[string]any{
			"multi": []string{"b", "a", ""}, "empty": "", "test": "一 (&=?!#%.*)", "path": "/tmp/123",
			"~": "tilde", "é": "e", "enable": true, "a+b": "c d",
		}},
	{name: "unicode path", method: "GET", path: "/v3/项目/instances/実例 a"},
	{name: "reserved path", method: "GET", path: "/v3/a:b@c!d$e'f(g)*h+i,j;k=l~m"},
	{name: "trailing slash", method: "GET", path: "/v3/0a1b/flavors/"},
	{name: "no path", method: "GET", path: ""},
	{name: "json body", method: "POST", path: "/v3/0a1b/instances",
		headers: map[string]string{"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": "0a1b"},
		body:    &instanceBody{Name: "geminidb-1", Flavor: "geminidb.cassandra.xlarge.4", Nodes: 3}},
	{name: "unsigned payload", method: "POST", path: "/v3/0a1b/upload",
		headers: map[string]string{"Content-Type": "text/plain", "X-Project-Id": "0a1b"},
		body:    "some text"},
	{name: "body without content type", method: "PUT", path: "/v3/0a1b/instances/x/name",
		headers: map[string]string{"X-Project-Id": "0a1b", "User-Agent": "huaweicloud-usdk-go/3.0"},
		body:    "renamed"},
	{name: "delete no body", method: "DELETE", path: "/v3/0a1b/instances/x",
		headers: map[string]string{"TEST_UNDERSCORE": "not signed"}},
}

// sdkRequest builds tc as the SDK's request to base, dated signTime.
func (tc huaweiCase) sdkRequest(base string) *request.DefaultHttpRequest {
	b := request.NewHttpRequestBuilder().WithMethod(tc.method).WithEndpoint(base).WithPath(tc.path)
	for k, v := range tc.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	for k, v := range tc.headers {
		b.AddHeaderParam(k, v)
	}
	b.AddHeaderParam("X-Sdk-Date", signTime.Format("20060102T150405Z"))
	if tc.body != nil {
		b.WithBody("body", tc.body)
	}
	return b.Build()
}

// sdkSigned returns tc signed by the SDK, as the SDK would send it, and
// the body it sends.
func (tc huaweiCase) sdkSigned(tb testing.TB, base string) (*http.Request, string) {
	tb.Helper()
	sdkReq := tc.sdkRequest(base)
	headers, err := signer.Signer{}.Sign(sdkReq, testAK, testSK)
	if err != nil {
		tb.Fatalf("SDK sign: %v", err)
	}
	return tc.convert(tb, sdkReq, headers)
}

// convert turns an SDK request into the http.Request it sends.
func (tc huaweiCase) convert(tb testing.TB, sdkReq *request.DefaultHttpRequest, extra map[string]string) (*http.Request, string) {
	tb.Helper()
	body, err := sdkReq.GetBodyToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	req, err := sdkReq.ConvertRequest()
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	return req, body.String()
}

var huaweiTampers = append(commonTampers[:len(commonTampers):len(commonTampers)],
	bumpHeader("X-Sdk-Date"),
	changeHeader("X-Project-Id"),
	changeHeader("User-Agent"),
)

// TestHuaweiAgainstSDK checks, for each request of a table, that a request
// the Huawei Cloud SDK signed verifies, that our signer writes the very
// same Authorization header, and that changing any signed part is refused.
func TestHuaweiAgainstSDK(t *testing.T) {
	srv := mustServe(t, mustVerifier(signature.Huawei{}))
	for _, tc := range huaweiCases {
		t.Run(tc.name, func(t *testing.T) {
			sdkReq, body := tc.sdkSigned(t, srv.URL)
			want := sdkReq.Header.Get("Authorization")
			wantVerified(t, "SDK-signed", srv.do(t, sdkReq), body)

			ours, _ := tc.convert(t, tc.sdkRequest(srv.URL), nil)
			if err := (signature.Huawei{}).Sign(ours, testAK, testSK, signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := ours.Header.Get("Authorization"); got != want {
				t.Errorf("our Authorization\n %s\nSDK's\n %s", got, want)
			}
			wantVerified(t, "self-signed", srv.do(t, ours), body)

			unsigned := tc.headers["Content-Type"] == "text/plain"
			for _, tm := range huaweiTampers {
				req, _ := tc.sdkSigned(t, srv.URL)
				if !tm.fn(req) {
					continue
				}
				res := srv.do(t, req)
				if tm.name == "body" && unsigned {
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

// TestHuaweiKnownAnswer signs the SDK's own test request and expects the
// signature the SDK's tests expect.
func TestHuaweiKnownAnswer(t *testing.T) {
	req, err := http.NewRequest("GET", "https://example.huaweicloud.com/path?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["TEST_UNDERSCORE"] = []string{"TEST_VALUE"}
	when := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	if err := (signature.Huawei{}).Sign(req, "AccessKey", "SecretKey", when); err != nil {
		t.Fatal(err)
	}
	const want = "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, " +
		"Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization\n %s\nwant\n %s", got, want)
	}
}
