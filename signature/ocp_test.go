package signature_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane/signature"
)

// ocpDate is the date of OCP's documentation example.
var ocpDate = time.Date(2023, 1, 17, 3, 36, 1, 0, time.UTC)

// TestOCPKnownAnswer signs requests whose signatures were computed by hand
// from the documented toSignString, with openssl:
//
//	printf '%s' "$toSignString" | openssl dgst -sha1 -hmac ocp-secret -binary | base64
func TestOCPKnownAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, body string
		headers                 [][2]string
		toSign                  string // documents the vector; the signature is what is checked
		want                    string
	}{
		{
			name: "body, x-ocp headers and query", method: "POST",
			url:     "http://ocp.example:8080/api/v2/ob/clusters?b=2&a=x+y&empty&a=1",
			body:    `{"name":"c1","zones":["z1"]}`,
			headers: [][2]string{{"Content-Type", "application/json"}, {"X-Ocp-Trace", "abc"}, {"x-ocp-origin", "dbplane-cli"}},
			toSign: "POST\n781DD76B82527AE54C766C541DD1CC39\napplication/json\nTue, 17 Jan 2023 03:36:01 GMT\n" +
				"ocp.example:8080\nx-ocp-origin:dbplane-cli\nx-ocp-trace:abc\n/api/v2/ob/clusters?a=1&a=x%20y&b=2&empty=",
			want: "MTwZ/Z11s4jBm/fE7gGmFTXa0aY=",
		},
		{
			name: "bare get", method: "GET", url: "http://ocp.example:8080/api/v2/ob/clusters",
			toSign: "GET\n\n\nTue, 17 Jan 2023 03:36:01 GMT\nocp.example:8080\n\n/api/v2/ob/clusters",
			want:   "xMq1gV9Nr171b6cVvMET6KCY07o=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.headers {
				req.Header[h[0]] = []string{h[1]}
			}
			if err := (signature.OCP{}).Sign(req, "ocp-ak", "ocp-secret", ocpDate); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Date"); got != "Tue, 17 Jan 2023 03:36:01 GMT" {
				t.Errorf("Date %q", got)
			}
			if got, want := req.Header.Get("Authorization"), "OCP-ACCESS-KEY-HMACSHA1 ocp-ak:"+tc.want; got != want {
				t.Errorf("Authorization %q, want %q", got, want)
			}
			if got := ocpSign("ocp-secret", tc.toSign); got != tc.want {
				t.Errorf("the vector's toSignString signs to %s, not %s: fix the vector", got, tc.want)
			}
		})
	}
}

// ocpSign is HMAC-SHA1 in base64, for vectors built by hand.
func ocpSign(secret, toSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ocpRequest is a signed request to srv with a body, a query and an
// x-ocp header.
func ocpRequest(tb testing.TB, srv *verifyServer, body string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/api/v2/ob/clusters/3/zones?name=z%201&name=z0&x=%E4%B8%80", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ocp-Origin", "dbplane-test")
	if err := (signature.OCP{}).Sign(req, testAK, testSK, signTime); err != nil {
		tb.Fatal(err)
	}
	return req
}

var ocpTampers = append(commonTampers[:len(commonTampers):len(commonTampers)],
	tamper{"date", func(r *http.Request) bool {
		r.Header.Set("Date", signTime.Add(time.Second).Format(http.TimeFormat))
		return true
	}},
	changeHeader("X-Ocp-Origin"),
	tamper{"x-ocp header added", func(r *http.Request) bool { r.Header.Set("X-Ocp-Extra", "1"); return true }},
	changeHeader("Content-Type"),
	tamper{"host", func(r *http.Request) bool { r.Host = "tampered.example"; return true }},
)

// TestOCPRoundTrip verifies what OCP.Sign signs, and refuses it once any
// part of it changes.
func TestOCPRoundTrip(t *testing.T) {
	srv := mustServe(t, mustVerifier(signature.OCP{}))
	const body = `{"zoneName":"z1","idc":"idc1"}`
	res := srv.do(t, ocpRequest(t, srv, body))
	wantVerified(t, "signed", res, body)
	if res.Scheme != "ocp" {
		t.Errorf("scheme %q, want ocp", res.Scheme)
	}
	for _, tm := range ocpTampers {
		req := ocpRequest(t, srv, body)
		if tm.fn(req) {
			wantRefused(t, "tampered "+tm.name, srv.do(t, req))
		}
	}
}

// TestOCPLowerCaseMD5 documents that only the upper-case body MD5 that OCP
// documents verifies.
func TestOCPLowerCaseMD5(t *testing.T) {
	srv := mustServe(t, mustVerifier(signature.OCP{}))
	const body = `{"a":1}`
	req, err := http.NewRequest("PUT", srv.URL+"/api/v2/x", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	date := signTime.Format(http.TimeFormat)
	sum := md5.Sum([]byte(body))
	host := strings.TrimPrefix(srv.URL, "http://")
	sign := func(md5Hex string) string {
		return "OCP-ACCESS-KEY-HMACSHA1 " + testAK + ":" +
			ocpSign(testSK, "PUT\n"+md5Hex+"\n\n"+date+"\n"+host+"\n\n/api/v2/x")
	}
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", sign(hex.EncodeToString(sum[:])))
	wantRefused(t, "lower-case MD5", srv.do(t, req))

	req, _ = http.NewRequest("PUT", srv.URL+"/api/v2/x", strings.NewReader(body))
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", sign(strings.ToUpper(hex.EncodeToString(sum[:]))))
	wantVerified(t, "upper-case MD5 signed by hand", srv.do(t, req), body)
}
