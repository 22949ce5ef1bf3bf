package signature_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// allSchemes are the three schemes with the header each dates requests by.
var allSchemes = []struct {
	scheme     signature.Scheme
	dateHeader string
}{
	{&signature.SigV4{Services: []string{"dbplane"}}, "X-Amz-Date"},
	{signature.Huawei{}, "X-Sdk-Date"},
	{signature.OCP{}, "Date"},
}

// mustSigned returns a POST to srv signed with scheme at when.
func mustSigned(tb testing.TB, srv *verifyServer, scheme signature.Scheme, secret string, when time.Time) *http.Request {
	tb.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/v1/clusters?x=1", strings.NewReader(`{"name":"a"}`))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := scheme.Sign(req, testAK, secret, when); err != nil {
		tb.Fatal(err)
	}
	return req
}

// TestClockSkew accepts requests dated up to 15 minutes either side of the
// server's clock, and refuses later or earlier ones and undated ones.
func TestClockSkew(t *testing.T) {
	for _, s := range allSchemes {
		t.Run(s.scheme.Name(), func(t *testing.T) {
			srv := mustServe(t, mustVerifier(allSchemes[0].scheme, allSchemes[1].scheme, allSchemes[2].scheme))
			for _, tc := range []struct {
				off time.Duration
				ok  bool
			}{
				{0, true}, {14 * time.Minute, true}, {-14 * time.Minute, true},
				{15 * time.Minute, true}, {-15 * time.Minute, true},
				{16 * time.Minute, false}, {-16 * time.Minute, false}, {24 * time.Hour, false},
			} {
				res := srv.do(t, mustSigned(t, srv, s.scheme, testSK, signTime.Add(tc.off)))
				switch {
				case tc.ok:
					wantVerified(t, "dated "+tc.off.String(), res, `{"name":"a"}`)
				case !strings.Contains(res.Message, "allowed skew is 15m0s"):
					t.Errorf("dated %s: %q, want a message naming the allowed skew", tc.off, res.Message)
				default:
					wantRefused(t, "dated "+tc.off.String(), res)
				}
			}
			req := mustSigned(t, srv, s.scheme, testSK, signTime)
			req.Header.Del(s.dateHeader)
			res := srv.do(t, req)
			wantRefused(t, "undated", res)
			if want := "missing " + s.dateHeader + " header"; res.Message != want {
				t.Errorf("undated: %q, want %q", res.Message, want)
			}
		})
	}
}

// signatureOf returns the signature an Authorization header carries.
func signatureOf(auth string) string {
	if _, sig, ok := strings.Cut(auth, "Signature="); ok {
		return sig
	}
	return auth[strings.LastIndex(auth, ":")+1:]
}

// TestMaxSkew honours a Verifier's own bound.
func TestMaxSkew(t *testing.T) {
	v := mustVerifier(signature.OCP{})
	v.MaxSkew = time.Minute
	srv := mustServe(t, v)
	wantVerified(t, "59s", srv.do(t, mustSigned(t, srv, signature.OCP{}, testSK, signTime.Add(-59*time.Second))), `{"name":"a"}`)
	wantRefused(t, "61s", srv.do(t, mustSigned(t, srv, signature.OCP{}, testSK, signTime.Add(61*time.Second))))
}

// TestRefusals checks what the client is told for each kind of failure,
// and that it never learns the right signature or the secret.
func TestRefusals(t *testing.T) {
	srv := mustServe(t, mustVerifier(allSchemes[0].scheme, allSchemes[1].scheme, allSchemes[2].scheme))
	for _, s := range allSchemes {
		t.Run(s.scheme.Name(), func(t *testing.T) {
			good := mustSigned(t, srv, s.scheme, testSK, signTime)
			rightAuth := good.Header.Get("Authorization")

			bad := mustSigned(t, srv, s.scheme, "another secret", signTime)
			res := srv.do(t, bad)
			wantRefused(t, "wrong secret", res)
			mismatch := res.Message
			if !strings.HasPrefix(mismatch, "signature does not match") {
				t.Errorf("wrong secret: %q", mismatch)
			}
			for _, secret := range []string{signatureOf(rightAuth), testSK} {
				if strings.Contains(mismatch, secret) {
					t.Errorf("message %q reveals %q", mismatch, secret)
				}
			}

			unknown := mustSigned(t, srv, s.scheme, testSK, signTime)
			unknown.Header.Set("Authorization", strings.Replace(unknown.Header.Get("Authorization"), testAK, "AKUNKNOWN", 1))
			if res := srv.do(t, unknown); res.Message != mismatch || res.Kind != "unauthorized" {
				t.Errorf("unknown key: %s %q, want the same as a bad signature: %q", res.Kind, res.Message, mismatch)
			}

			twice := mustSigned(t, srv, s.scheme, testSK, signTime)
			twice.Header.Add("Authorization", rightAuth)
			if res := srv.do(t, twice); !strings.Contains(res.Message, "more than once") {
				t.Errorf("two Authorization headers: %q", res.Message)
			}
		})
	}
	for _, tc := range []struct{ name, auth, want string }{
		{"missing", "", "missing Authorization header"},
		{"unsupported", "Basic dXNlcjpwYXNz", `unsupported signature algorithm "Basic" (accepted: AWS4-HMAC-SHA256, SDK-HMAC-SHA256, OCP-ACCESS-KEY-HMACSHA1)`},
		{"lower-case algorithm", "ocp-access-key-hmacsha1 a:b", "unsupported signature algorithm"},
		{"sigv4 part missing", "AWS4-HMAC-SHA256 Credential=AK/20260814/r/dbplane/aws4_request, Signature=00", "malformed Authorization header: missing SignedHeaders"},
		{"sigv4 credential", "AWS4-HMAC-SHA256 Credential=AK/20260814/dbplane/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "malformed Authorization header: Credential: want AccessKeyId/yyyymmdd/region/service/aws4_request"},
		{"sigv4 credential date", "AWS4-HMAC-SHA256 Credential=AK/20261301/r/dbplane/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", `malformed Authorization header: Credential: bad date "20261301" (want yyyymmdd)`},
		{"sigv4 host unsigned", "AWS4-HMAC-SHA256 Credential=AK/20260814/r/dbplane/aws4_request, SignedHeaders=x-amz-date, Signature=00", "malformed Authorization header: SignedHeaders must include host"},
		{"sigv4 signature", "AWS4-HMAC-SHA256 Credential=AK/20260814/r/dbplane/aws4_request, SignedHeaders=host;x-amz-date, Signature=zz", "malformed Authorization header: Signature must be 64 hex digits"},
		{"sigv4 unknown part", "AWS4-HMAC-SHA256 Credential=AK/20260814/r/dbplane/aws4_request, Foo=1", `malformed Authorization header: unknown part "Foo" (want Credential, SignedHeaders, Signature)`},
		{"huawei signed headers", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=X-Sdk-Date, Signature=00", `malformed Authorization header: SignedHeaders: "X-Sdk-Date" is not a lower-case header name`},
		{"huawei twice", "SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=x-sdk-date, Signature=00", "malformed Authorization header: Access is given twice"},
		{"ocp no colon", "OCP-ACCESS-KEY-HMACSHA1 AKsig", "malformed Authorization header: want AccessKeyId:Signature after OCP-ACCESS-KEY-HMACSHA1"},
		{"ocp signature", "OCP-ACCESS-KEY-HMACSHA1 AK:!!!", "malformed Authorization header: Signature must be the base64 of a 20-byte HMAC-SHA1"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res := srv.do(t, req)
		wantRefused(t, tc.name, res)
		if !strings.HasPrefix(res.Message, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, res.Message, tc.want)
		}
	}
}

// TestBadDates refuses date headers that are not in the scheme's format.
func TestBadDates(t *testing.T) {
	srv := mustServe(t, mustVerifier(allSchemes[0].scheme, allSchemes[1].scheme, allSchemes[2].scheme))
	for _, s := range allSchemes {
		for _, bad := range []string{"yesterday", "20260814T123045", "2026-08-14T12:30:45Z", "Fri, 14 Aug 2026 12:30:45 PST", "Fri, 14 Aug 2026 12:30:45 +0000"} {
			req := mustSigned(t, srv, s.scheme, testSK, signTime)
			req.Header.Set(s.dateHeader, bad)
			res := srv.do(t, req)
			wantRefused(t, s.scheme.Name()+" "+bad, res)
			if !strings.HasPrefix(res.Message, "malformed "+s.dateHeader+" header") {
				t.Errorf("%s date %q: %q", s.scheme.Name(), bad, res.Message)
			}
		}
	}
}

// TestVerifyErrors checks the failures that are not about credentials.
func TestVerifyErrors(t *testing.T) {
	scheme := signature.Huawei{}
	newReq := func(body string) *http.Request {
		req := httptest.NewRequest("POST", "http://dbplane.test/v3/x", strings.NewReader(body))
		if err := scheme.Sign(req, testAK, testSK, signTime); err != nil {
			t.Fatal(err)
		}
		return req
	}

	t.Run("TooLarge", func(t *testing.T) {
		v := mustVerifier(scheme)
		req := newReq(strings.Repeat("x", 100))
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 10)
		_, err := v.Verify(req)
		if got := dbplane.ErrorKind(err); got != dbplane.KindTooLarge {
			t.Errorf("kind %s (%v), want too_large", got, err)
		}
	})
	t.Run("StoreDown", func(t *testing.T) {
		v := mustVerifier(scheme)
		v.Secrets = func(context.Context, string) (string, error) {
			return "", dbplane.Errorf(dbplane.KindUnavailable, "store is down")
		}
		_, err := v.Verify(newReq("{}"))
		if got := dbplane.ErrorKind(err); got != dbplane.KindUnavailable {
			t.Errorf("kind %s (%v), want unavailable", got, err)
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		v := mustVerifier(scheme)
		v.Secrets = func(context.Context, string) (string, error) { return "", errors.New("disk on fire") }
		_, err := v.Verify(newReq("{}"))
		if got := dbplane.ErrorKind(err); got != dbplane.KindInternal || dbplane.ErrorMessage(err) != "internal error" {
			t.Errorf("kind %s, message %q, want internal without details", got, dbplane.ErrorMessage(err))
		}
	})
	t.Run("EmptySecret", func(t *testing.T) {
		v := mustVerifier(scheme)
		v.Secrets = func(context.Context, string) (string, error) { return "", nil }
		req := httptest.NewRequest("POST", "http://dbplane.test/v3/x", strings.NewReader("{}"))
		if err := scheme.Sign(req, testAK, "", signTime); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(req); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Errorf("a key with an empty secret verified: %v", err)
		}
	})
	t.Run("NoSecrets", func(t *testing.T) {
		v := &signature.Verifier{Schemes: []signature.Scheme{scheme}}
		if _, err := v.Verify(newReq("{}")); dbplane.ErrorKind(err) != dbplane.KindInternal {
			t.Errorf("verifier without secrets: %v", err)
		}
	})
	t.Run("Identity", func(t *testing.T) {
		id, err := mustVerifier(scheme).Verify(newReq("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if id != (signature.Identity{AccessKeyID: testAK, Scheme: "huawei"}) {
			t.Errorf("identity %+v", id)
		}
	})
}

// TestTransport signs requests on their way out, and leaves the caller's
// request unsigned.
func TestTransport(t *testing.T) {
	srv := mustServe(t, mustVerifier(&signature.SigV4{Services: []string{"dbplane"}}))
	tr := &signature.Transport{
		Base:        srv.Client().Transport,
		Scheme:      &signature.SigV4{Services: []string{"dbplane"}, Region: "dbplane"},
		AccessKeyID: testAK, Secret: testSK,
		Now: fixedClock(signTime.Add(time.Minute)),
	}
	if s := fmt.Sprintf("%v %+v", tr, tr); strings.Contains(s, testSK) {
		t.Errorf("a Transport prints its secret: %s", s)
	}
	client := &http.Client{Transport: tr}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/clusters", strings.NewReader(`{"name":"t"}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res verifyResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	wantVerified(t, "through Transport", res, `{"name":"t"}`)
	if req.Header.Get("Authorization") != "" {
		t.Error("Transport signed the caller's request in place")
	}
}
