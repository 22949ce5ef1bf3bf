package agentclient

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// FuzzDecodeError: any answer becomes an error with a kind and a message,
// never a panic; an answer that is not the agent's is never permanent.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"code":"invalid","message":"m","permanent":true,"details":[{"field":"f","message":"x"}]}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(404, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		resp := &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(bytes.NewReader(body))}
		de, permanent := decodeError(resp)
		if de == nil || de.Kind == dbplane.KindOther {
			t.Fatalf("decodeError(%d, %q) = %v", status, body, de)
		}
		var eb wire.ErrorBody
		if err := json.Unmarshal(body, &eb); (err != nil || eb.Error.Code == "") && (permanent || de.Kind != dbplane.KindFromHTTPStatus(status)) {
			t.Fatalf("a foreign answer (%d, %q) became %v, permanent %v", status, body, de, permanent)
		}
	})
}
