package agentclient

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
	"github.com/dbplane/dbplane/pkgfile"
	"github.com/dbplane/dbplane/pki"
)

// HostLister lists hosts; dbplane.HostStore is one.
type HostLister interface {
	// FindHosts returns a page of hosts (ordered by id) and the total.
	FindHosts(ctx context.Context, filter dbplane.HostFilter) ([]*dbplane.Host, int, error)
}

// PackageServer serves uploaded package files to agents on the control
// plane's API listener: GET /v1/agents/packages/{sha256}. Only an agent
// may fetch: the request must carry a client certificate that the
// listener verified against the control plane's CA (it asks for one
// without requiring it), whose common name is an agent's, of a host that
// still exists at an address the certificate names. The file must belong
// to an uploaded package.
type PackageServer struct {
	Hosts    HostLister
	Packages dbplane.SoftwarePackageStore
	Files    *pkgfile.Dir
	// Logger receives refusals and failures; nil discards them.
	Logger *slog.Logger
}

// certSlack is how much earlier than its host's record an agent's
// certificate may start: certificates are backdated (pki's clock skew)
// and signed just before the host is recorded. A certificate older than
// that is from an earlier host of the same name and address, since
// deleted.
const certSlack = 10 * time.Minute

// ServeHTTP serves one package file.
func (s *PackageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, err := s.peerHost(ctx, r)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	digest := strings.TrimPrefix(r.URL.Path, wire.PackagesPath)
	if v := r.PathValue("sha256"); v != "" {
		digest = v
	}
	if !pkgfile.ValidDigest(digest) {
		s.refuse(w, r, dbplane.Errorf(dbplane.KindNotFound, "no package file %q: want a lower-case hex SHA-256", clipText(digest)))
		return
	}
	ps, _, err := s.Packages.FindSoftwarePackages(ctx, dbplane.SoftwarePackageFilter{SHA256: &digest, Limit: 1})
	if err == nil && len(ps) == 0 {
		err = dbplane.Errorf(dbplane.KindNotFound, "no uploaded package has sha256 %s", digest)
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	f, err := s.Files.Open(digest)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	s.logger().InfoContext(ctx, "serving a package file to an agent", "host_id", h.ID, "file_name", ps[0].FileName, "sha256", digest)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable") // a digest names one content
	http.ServeContent(w, r, ps[0].FileName, st.ModTime(), f)
}

// peerHost returns the host whose agent made the request, from its
// verified client certificate.
func (s *PackageServer) peerHost(ctx context.Context, r *http.Request) (*dbplane.Host, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "an agent's client certificate is required")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	hostname, ok := strings.CutPrefix(leaf.Subject.CommonName, pki.AgentCNPrefix)
	if !ok || hostname == "" || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return nil, dbplane.Errorf(dbplane.KindForbidden, "only agents may fetch package files: the certificate is not an agent's")
	}
	for offset := 0; ; {
		hs, total, err := s.Hosts.FindHosts(ctx, dbplane.HostFilter{Offset: offset, Limit: dbplane.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if certOfHost(leaf, hostname, h) {
				return h, nil
			}
		}
		offset += len(hs)
		if len(hs) == 0 || offset >= total {
			break
		}
	}
	return nil, dbplane.Errorf(dbplane.KindForbidden, "the agent certificate of %s is not of a host of this control plane (deleted?)", hostname)
}

// certOfHost reports whether an agent's certificate is of host h: its
// name, an address the certificate names, not being deleted, and a
// certificate issued for this record of the host rather than an earlier
// one.
func certOfHost(leaf *x509.Certificate, hostname string, h *dbplane.Host) bool {
	if h.Name != hostname || h.Status == dbplane.HostDeleting || leaf.NotBefore.Before(h.CreatedAt.Add(-certSlack)) {
		return false
	}
	return slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.String() == h.Address })
}

func (s *PackageServer) refuse(w http.ResponseWriter, r *http.Request, err error) {
	kind := dbplane.ErrorKind(err)
	level := slog.LevelInfo
	if kind == dbplane.KindInternal {
		level = slog.LevelError
	}
	s.logger().Log(r.Context(), level, "package file request refused", "path", r.URL.Path, "error", err.Error())
	body := wire.ErrorBody{Error: wire.ErrorDetail{Code: kind.String(), Message: dbplane.ErrorMessage(err)}}
	b, _ := json.Marshal(&body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(kind.HTTPStatus())
	w.Write(append(b, '\n'))
}

func (s *PackageServer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// clipText shortens a client's value quoted in a message.
func clipText(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
