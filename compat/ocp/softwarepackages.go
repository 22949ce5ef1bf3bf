package ocp

import (
	"cmp"
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// Software packages: OCP's package store, where rpmName's packages come
// from. dbplane keeps .deb and .rpm files; catalog entries name them by
// file name and agents fetch them from the control plane.

// softwarePackagesPath is the collection's path.
const softwarePackagesPath = "/api/v2/software-packages"

// maxSignedUploadBytes bounds a signed upload: checking the signature's
// body MD5 holds the whole body in memory. Uploads with Basic credentials
// stream to disk, up to MaxPackageBytes.
const maxSignedUploadBytes = 256 << 20

// uploadOverhead is what a multipart body adds around its file.
const uploadOverhead = 1 << 20

func (s *Server) registerSoftwarePackageRoutes() {
	if s.Packages == nil {
		return
	}
	s.route("POST "+softwarePackagesPath, "software-package.upload", codesCommon, s.handlePackageUpload)
	s.route("GET "+softwarePackagesPath, "software-package.list", codesCommon, s.handlePackageList)
	s.route("GET "+softwarePackagesPath+"/{id}", "software-package.get", codesCommon, s.handlePackageGet)
	s.route("DELETE "+softwarePackagesPath+"/{id}", "software-package.delete", codesCommon, s.handlePackageDelete)
}

// bodyLimit is the largest body r may have: an upload's is its package's
// bound, every other request's MaxBodyBytes.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if s.Packages == nil || r.Method != http.MethodPost || r.URL.Path != softwarePackagesPath {
		return s.MaxBodyBytes
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "OCP-ACCESS-KEY") {
		return maxSignedUploadBytes
	}
	return s.maxPackageBytes() + uploadOverhead
}

func (s *Server) maxPackageBytes() int64 {
	if s.MaxPackageBytes > 0 {
		return s.MaxPackageBytes
	}
	return dbplane.DefaultMaxPackageBytes
}

// softwarePackage is a package in OCP's shape, with dbplane's sha256.
type softwarePackage struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Version      string `json:"version"`
	BuildNumber  string `json:"buildNumber"` // an RPM's release
	Architecture string `json:"architecture"`
	Type         string `json:"type"` // DEB or RPM
	FileName     string `json:"fileName"`
	Description  string `json:"description"`
	Size         int64  `json:"size"`
	MD5          string `json:"md5"`
	SHA256       string `json:"sha256"`
	Creator      string `json:"creator"`
	CreateTime   string `json:"createTime"`
	GmtCreate    string `json:"gmtCreate"`
}

func toSoftwarePackage(p *dbplane.SoftwarePackage) softwarePackage {
	return softwarePackage{ID: p.ID, Name: p.Name, Version: p.Version, BuildNumber: p.Release,
		Architecture: p.Architecture, Type: strings.ToUpper(string(p.Format)), FileName: p.FileName,
		Description: p.Description, Size: p.Size, MD5: p.MD5, SHA256: p.SHA256, Creator: p.Creator,
		CreateTime: formatTime(p.CreatedAt), GmtCreate: formatTime(p.CreatedAt)}
}

// uploadObject names the upload's form in sub errors.
const uploadObject = "form"

// handlePackageUpload handles POST /api/v2/software-packages: a
// multipart/form-data body whose part "file" is the package file, as
// `curl -F file=@x.deb` sends it. The file streams to the package store.
func (s *Server) handlePackageUpload(w http.ResponseWriter, r *http.Request) (any, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, dbplane.Errorf(dbplane.KindUnsupported,
			"Content-Type must be multipart/form-data with the package file in a part named file (curl -F file=@pkg.deb)")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, invalidErr(subError{Object: uploadObject, Field: "file", Message: "missing: send the package file in a part named file"})
		} else if err != nil {
			return nil, uploadError(err)
		}
		if part.FormName() != "file" {
			// Other fields OCP clients send (descriptions, …) are ignored.
			if _, err := io.Copy(io.Discard, io.LimitReader(part, uploadOverhead)); err != nil {
				return nil, uploadError(err)
			}
			continue
		}
		if part.FileName() == "" {
			return nil, invalidErr(subError{Object: uploadObject, Field: "file", Message: "the part has no filename: send it as a file (curl -F file=@pkg.deb)"})
		}
		p, err := s.Packages.UploadSoftwarePackage(r.Context(), part.FileName(), partReader{part})
		if err != nil {
			return nil, err
		}
		return toSoftwarePackage(p), nil
	}
}

// partReader turns the errors of reading an upload into the request's
// fault: a body over the limit, or one cut short.
type partReader struct{ p *multipart.Part }

func (pr partReader) Read(b []byte) (int, error) {
	n, err := pr.p.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, uploadError(err)
	}
	return n, err
}

// uploadError classifies an error reading the body.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return dbplane.Errorf(dbplane.KindTooLarge, "the request body is over the limit of %d bytes", mbe.Limit)
	}
	if k := dbplane.ErrorKind(err); k != dbplane.KindInternal && k != dbplane.KindOther {
		return err
	}
	return &dbplane.Error{Kind: dbplane.KindInvalid, Message: "the upload is not a complete multipart/form-data body",
		Fields: []dbplane.FieldError{{Field: "file", Message: "the body ended early or is malformed"}}, Err: err}
}

// packageSorts are the sortable fields of the package list.
var packageSorts = map[string]comparator[*dbplane.SoftwarePackage]{
	"id":           func(a, b *dbplane.SoftwarePackage) int { return cmp.Compare(a.ID, b.ID) },
	"name":         func(a, b *dbplane.SoftwarePackage) int { return strings.Compare(a.Name, b.Name) },
	"version":      func(a, b *dbplane.SoftwarePackage) int { return strings.Compare(a.Version, b.Version) },
	"fileName":     func(a, b *dbplane.SoftwarePackage) int { return strings.Compare(a.FileName, b.FileName) },
	"architecture": func(a, b *dbplane.SoftwarePackage) int { return strings.Compare(a.Architecture, b.Architecture) },
	"type":         func(a, b *dbplane.SoftwarePackage) int { return strings.Compare(string(a.Format), string(b.Format)) },
	"size":         func(a, b *dbplane.SoftwarePackage) int { return cmp.Compare(a.Size, b.Size) },
	"createTime":   func(a, b *dbplane.SoftwarePackage) int { return a.CreatedAt.Compare(b.CreatedAt) },
}

// handlePackageList handles GET /api/v2/software-packages: keyword
// matches file name, name or version, ignoring case.
func (s *Server) handlePackageList(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := parsePage(r, slices.Sorted(maps.Keys(packageSorts)))
	if err != nil {
		return nil, err
	}
	f := dbplane.SoftwarePackageFilter{}
	if k := r.URL.Query().Get("keyword"); k != "" {
		f.Keyword = &k
	}
	ps, err := collect(func(offset, limit int) ([]*dbplane.SoftwarePackage, int, error) {
		f.Offset, f.Limit = offset, limit
		return s.Packages.FindSoftwarePackages(r.Context(), f)
	})
	if err != nil {
		return nil, err
	}
	page := paginate(ps, p, packageSorts)
	out := []softwarePackage{}
	for _, sp := range page.Contents.([]*dbplane.SoftwarePackage) {
		out = append(out, toSoftwarePackage(sp))
	}
	page.Contents = out
	return page, nil
}

// handlePackageGet handles GET /api/v2/software-packages/{id}.
func (s *Server) handlePackageGet(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	p, err := s.Packages.FindSoftwarePackageByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return toSoftwarePackage(p), nil
}

// handlePackageDelete handles DELETE /api/v2/software-packages/{id}:
// refused (409) while a catalog entry names the package.
func (s *Server) handlePackageDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if err := s.Packages.DeleteSoftwarePackage(r.Context(), id); err != nil {
		return nil, err
	}
	return noData{}, nil
}
