package signature

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// The fuzz targets feed arbitrary text to every parser of client input.
// None may panic; what a parser accepts must read back the same once
// written out again, so that no two headers mean one signature.

func FuzzParseSigV4Authorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		"AWS4-HMAC-SHA256 Credential=AK/20260814//cloudbasic/aws4_request,SignedHeaders=host;x-amz-date,Signature=" + strings.Repeat("0", 64),
		"AWS4-HMAC-SHA256 Credential=AK/20260814/r/s/aws4_request, Credential=x",
		"AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 ,,,", "AWS4-HMAC-SHA256 Signature==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseSigV4Authorization(h)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		again := AlgorithmSigV4 + " Credential=" + a.Credential.AccessKeyID + "/" + a.Credential.scope() +
			", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + hex.EncodeToString(a.Signature)
		b, err := parseSigV4Authorization(again)
		if err != nil || b.Credential != a.Credential || !slices.Equal(b.SignedHeaders, a.SignedHeaders) || !bytes.Equal(b.Signature, a.Signature) {
			t.Fatalf("%q parsed as %+v, which written out as %q reads back as %+v, %v", h, a, again, b, err)
		}
	})
}

func FuzzParseSigV4Credential(f *testing.F) {
	for _, s := range []string{
		"AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request", "AK/20260814//cloudbasic/aws4_request",
		"AK/2026081/r/s/aws4_request", "AK/20260230/r/s/aws4_request", "/20260814/r/s/aws4_request",
		"AK/20260814/r/s/aws4_request/", "a/b/c/d/e", "AK/20260814/r/s/AWS4_REQUEST",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseSigV4Credential(s)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		if again := c.AccessKeyID + "/" + c.scope(); again != s {
			t.Fatalf("%q parsed as %+v, written out as %q", s, c, again)
		}
		if _, err := time.Parse("20060102", c.Date); err != nil || !validAccessKey(c.AccessKeyID) || c.Service == "" {
			t.Fatalf("%q accepted with bad parts %+v", s, c)
		}
	})
}

func FuzzParseHuaweiAuthorization(f *testing.F) {
	for _, s := range []string{
		"SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624",
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;x-project-id;x-sdk-date, Signature=" + strings.Repeat("f", 64),
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;x-sdk-date, Signature=00",
		"SDK-HMAC-SHA256 Access=, SignedHeaders=;, Signature=", "SDK-HMAC-SHA256 =,=,=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseHuaweiAuthorization(h)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		again := AlgorithmHuawei + " Access=" + a.AccessKeyID + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
			", Signature=" + hex.EncodeToString(a.Signature)
		b, err := parseHuaweiAuthorization(again)
		if err != nil || b.AccessKeyID != a.AccessKeyID || !slices.Equal(b.SignedHeaders, a.SignedHeaders) || !bytes.Equal(b.Signature, a.Signature) {
			t.Fatalf("%q parsed as %+v, which written out as %q reads back as %+v, %v", h, a, again, b, err)
		}
	})
}

func FuzzParseOCPAuthorization(f *testing.F) {
	for _, s := range []string{
		"OCP-ACCESS-KEY-HMACSHA1 ocp-ak:MTwZ/Z11s4jBm/fE7gGmFTXa0aY=",
		"OCP-ACCESS-KEY-HMACSHA1 ak:MTwZ/Z11s4jBm/fE7gGmFTXa0aY", "OCP-ACCESS-KEY-HMACSHA1 :",
		"OCP-ACCESS-KEY-HMACSHA1 a:b:c", "OCP-ACCESS-KEY-HMACSHA1  ak:====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseOCPAuthorization(h)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		again := AlgorithmOCP + " " + a.AccessKeyID + ":" + base64.StdEncoding.EncodeToString(a.Signature)
		b, err := parseOCPAuthorization(again)
		if err != nil || b.AccessKeyID != a.AccessKeyID || !bytes.Equal(b.Signature, a.Signature) || len(a.Signature) != 20 {
			t.Fatalf("%q parsed as %+v, which written out as %q reads back as %+v, %v", h, a, again, b, err)
		}
	})
}

func FuzzParseCompactDate(f *testing.F) {
	for _, s := range []string{"20150830T123600Z", "20260229T000000Z", "20261301T000000Z", "2026081T1230450Z", "20260814T1230 5Z", "20260814t123045z", "+0260814T123045Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseCompactDate(s)
		if ok && d.Format(compactDateFormat) != s {
			t.Fatalf("%q parsed as %s", s, d)
		}
	})
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Tue, 17 Jan 2023 03:36:01 GMT", "Tue, 17 Jan 2023 03:36:01 PST", "Mon, 17 Jan 2023 03:36:01 GMT", "Tuesday, 17-Jan-23 03:36:01 GMT", "Tue Jan 17 03:36:01 2023", "Tue, 7 Jan 2023 03:36:01 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseHTTPDate(s)
		if ok && (d.Format(http.TimeFormat) != s || d.Location() != time.UTC) {
			t.Fatalf("%q parsed as %s", s, d)
		}
	})
}

// FuzzCanonicalQuery checks that a query's canonical form does not depend
// on the order of its pairs, for both orders the schemes use.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"b=2&a=1&a=0&empty=&flag", "~=1&%C3%A9=2", "a=x+y&a=x%20y", "a=%zz", "a;b=c", "&&=&=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		pairs, err := queryPairs(raw)
		if err != nil {
			wantUnauthorized(t, err)
			return
		}
		rev := slices.Clone(pairs)
		slices.Reverse(rev)
		for _, enc := range []bool{true, false} {
			if a, b := canonicalQuery(pairs, enc), canonicalQuery(rev, enc); a != b {
				t.Fatalf("%q: canonical form %q, of the pairs reversed %q", raw, a, b)
			}
		}
	})
}

// FuzzVerify runs whole requests with arbitrary signature headers, query
// and path through a Verifier of every scheme: each answer is a refusal,
// and none a panic.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20260814//dbplane/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64), "20260814T123045Z", "/v1/x", "a=1")
	f.Add("SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;x-missing, Signature="+strings.Repeat("0", 64), "20260814T123045Z", "/v3/%zz", "")
	f.Add("OCP-ACCESS-KEY-HMACSHA1 AK:MTwZ/Z11s4jBm/fE7gGmFTXa0aY=", "Fri, 14 Aug 2026 12:30:45 GMT", "/api/v2/x", "b=%E4")
	now := time.Date(2026, 8, 14, 12, 30, 45, 0, time.UTC)
	v := &Verifier{
		Schemes: []Scheme{&SigV4{Services: []string{"dbplane"}}, Huawei{}, OCP{}},
		Secrets: func(context.Context, string) (string, error) { return "secret", nil },
		Now:     func() time.Time { return now },
	}
	f.Fuzz(func(t *testing.T, auth, date, path, query string) {
		r := httptest.NewRequest("POST", "http://dbplane.test/", strings.NewReader("body"))
		r.RequestURI = path
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		for _, h := range []string{"X-Amz-Date", "X-Sdk-Date", "Date"} {
			r.Header.Set(h, date)
		}
		if _, err := v.Verify(r); err == nil {
			t.Fatalf("verified %q", auth)
		} else {
			wantUnauthorized(t, err)
		}
	})
}

func wantUnauthorized(t *testing.T, err error) {
	t.Helper()
	if k := dbplane.ErrorKind(err); k != dbplane.KindUnauthorized {
		t.Fatalf("error of kind %s, want unauthorized: %v", k, err)
	}
}
