package signature_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/dbplane/dbplane/signature"
)

// TestCurlSigV4 checks that curl's own SigV4 signer, as documented for
// dbplane's native API, signs requests that verify:
//
//	curl --aws-sigv4 "aws:amz:dbplane:dbplane" --user AK:SK ...
func TestCurlSigV4(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	help, err := exec.Command(curl, "--help", "all").Output()
	if err != nil || !bytes.Contains(help, []byte("--aws-sigv4")) {
		t.Skip("this curl has no --aws-sigv4 (it came in curl 7.75)")
	}
	// curl signs with the real clock, so the verifier keeps it.
	srv := mustServe(t, &signature.Verifier{
		Schemes: []signature.Scheme{&signature.SigV4{Services: []string{"dbplane"}}},
		Secrets: secrets,
	})
	run := func(t *testing.T, secret string, args ...string) verifyResult {
		t.Helper()
		args = append([]string{"-sS", "--aws-sigv4", "aws:amz:dbplane:dbplane", "--user", testAK + ":" + secret}, args...)
		out, err := exec.Command(curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
		}
		var res verifyResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("curl's answer %q: %v", out, err)
		}
		return res
	}
	const body = `{"name":"orders","engine":"postgresql"}`
	t.Run("GET", func(t *testing.T) {
		wantVerified(t, "curl GET", run(t, testSK, srv.URL+"/v1/clusters"), "")
	})
	t.Run("GETQuery", func(t *testing.T) {
		// Sorted, and every key with a value: curl before 8.x signs the
		// query as written (curl issue 9717), which AWS refuses too.
		wantVerified(t, "curl GET with a query", run(t, testSK, srv.URL+"/v1/clusters?engine=postgresql&limit=10"), "")
	})
	t.Run("POST", func(t *testing.T) {
		wantVerified(t, "curl POST", run(t, testSK, "-H", "Content-Type: application/json", "-d", body, srv.URL+"/v1/clusters"), body)
	})
	t.Run("WrongSecret", func(t *testing.T) {
		wantRefused(t, "curl with a wrong secret", run(t, "not-the-secret", "-d", body, srv.URL+"/v1/clusters"))
	})
}
