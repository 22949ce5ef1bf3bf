package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// nopHost accepts every call and does nothing: the fuzz targets exercise
// the server's decoding, not a host.
type nopHost struct{}

func (nopHost) Facts(context.Context) (dbplane.HostFacts, error)        { return dbplane.HostFacts{}, nil }
func (nopHost) EnsurePackages(context.Context, []string) error          { return nil }
func (nopHost) EnsureUser(context.Context, string) error                { return nil }
func (nopHost) EnsureDir(context.Context, string, string, uint32) error { return nil }
func (nopHost) WriteFile(context.Context, dbplane.File) error           { return nil }
func (nopHost) Run(context.Context, dbplane.Command) (*dbplane.CommandResult, error) {
	return &dbplane.CommandResult{}, nil
}
func (nopHost) StartInstance(context.Context, dbplane.Instance) error { return nil }
func (nopHost) StopInstance(context.Context, string) error            { return nil }
func (nopHost) InstanceStatus(context.Context, string) (*dbplane.InstanceStatus, error) {
	return &dbplane.InstanceStatus{}, nil
}
func (nopHost) RemoveInstance(context.Context, string, []string) error { return nil }

var fuzzRoutes = []string{wire.PathFacts, wire.PathEnsurePackages, wire.PathEnsureUser, wire.PathEnsureDir, wire.PathWriteFile, wire.PathRun,
	wire.PathStartInstance, wire.PathStopInstance, wire.PathInstanceStatus, wire.PathRemoveInstance}

// controlPlaneTLS is the connection state of a request from the control
// plane, as the handshake would have verified it.
var controlPlaneTLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{
	Subject:     pkix.Name{CommonName: ControlPlaneCN},
	ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
}}}}

// FuzzServerRequest: whatever the body, the server answers success or a
// client error in its error shape; never a 5xx, never a panic.
func FuzzServerRequest(f *testing.F) {
	f.Add(uint8(1), []byte(`{"packages":["coreutils"]}`))
	f.Add(uint8(3), []byte(`{"path":"/x","owner":"nobody","mode":448}`))
	f.Add(uint8(5), []byte(`{"user":"nobody","argv":["true"],"timeout":1000,"stdin":"aGk="}`))
	f.Add(uint8(6), []byte(`{"id":"pg-1","user":"postgres","argv":["/bin/postgres"],"env":["A=b"]}`))
	f.Add(uint8(9), []byte(`{"id":"pg-1","paths":["/x"]} {}`))
	f.Add(uint8(0), []byte(`{}`))
	s := NewServer(nopHost{}, &tls.Config{}, nil)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.TLS = controlPlaneTLS
		rec := httptest.NewRecorder()
		s.srv.Handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusNoContent:
			return
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s %q: status %d", path, body, rec.Code)
		}
		var eb wire.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Code == "internal" {
			t.Fatalf("%s %q: error body %q (%v)", path, body, rec.Body, err)
		}
	})
}
