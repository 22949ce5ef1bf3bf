package ocp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/compat/ocp"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/internal/debtest"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/pkgfile"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// pinnedFile is a file name the fixture's catalog names (in MariaDB
// 10.11's entry), so it cannot be deleted and an rpmName may name it.
const pinnedFile = "pinned_1.0_all.deb"

// packageFixture is an OCP server whose package store is real: the
// service over a SQLite store and a package directory.
type packageFixture struct {
	fixture
}

func newPackageFixture(t *testing.T, maxPackage int64) *packageFixture {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), testdb.SQLiteDSN(t), sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir, err := pkgfile.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cat := dbplane.DefaultCatalog()
	maria := slices.IndexFunc(cat.Engines, func(ev dbplane.EngineVersion) bool { return ev.Engine == dbplane.EngineMySQL })
	cat.Engines[maria].Packages = append(cat.Engines[maria].Packages, pinnedFile)
	f := &packageFixture{fixture{clusters: &fakeClusters{}, tasks: &fakeTasks{}, hosts: &fakeHosts{hosts: map[int64]*dbplane.Host{}}}}
	s := &ocp.Server{
		Clusters: f.clusters, Tasks: f.tasks, Hosts: f.hosts, Auth: fakeAuth{}, Catalog: cat,
		Packages:        &service.SoftwarePackages{Store: db, Files: dir, MaxBytes: maxPackage, Catalog: cat},
		MaxPackageBytes: maxPackage,
		AuditRecorder: frontdoor.RecorderFunc(func(_ context.Context, e *dbplane.AuditEvent) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audit = append(f.audit, *e)
		}),
		Security: frontdoor.Config{FailureLimit: frontdoor.Off},
	}
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// uploadRequest builds a multipart upload of content as fileName in the
// part part, with Basic credentials.
func (f *packageFixture) uploadRequest(t *testing.T, part, fileName string, content []byte) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("description", "ignored")
	w, err := mw.CreateFormFile(part, fileName)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v2/software-packages", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return basic(req, testUser, testPassword)
}

// upload uploads content as fileName.
func (f *packageFixture) upload(t *testing.T, fileName string, content []byte) *answer {
	t.Helper()
	return send(t, f.uploadRequest(t, "file", fileName, content))
}

// ocpPackage is the answer's shape, as a client reads it.
type ocpPackage struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	Type         string `json:"type"`
	FileName     string `json:"fileName"`
	Size         int64  `json:"size"`
	MD5          string `json:"md5"`
	SHA256       string `json:"sha256"`
	CreateTime   string `json:"createTime"`
}

func TestPackageUpload(t *testing.T) {
	f := newPackageFixture(t, 4<<20)
	deb := debtest.Bytes(t, debtest.Package{Name: "dbplane-probe", Version: "1.0-1"})
	sum := sha256.Sum256(deb)

	a := f.upload(t, "dbplane-probe_1.0-1_all.deb", deb)
	if a.HTTPStatus != http.StatusOK {
		t.Fatalf("upload answered %d: %+v", a.HTTPStatus, a.Error)
	}
	p := decodeData[ocpPackage](t, a)
	if p.ID == 0 || p.Name != "dbplane-probe" || p.Version != "1.0-1" || p.Architecture != "all" || p.Type != "DEB" ||
		p.FileName != "dbplane-probe_1.0-1_all.deb" || p.Size != int64(len(deb)) ||
		p.SHA256 != hex.EncodeToString(sum[:]) || len(p.MD5) != 32 || p.CreateTime == "" {
		t.Fatalf("uploaded package %+v", p)
	}
	if e := f.audit[len(f.audit)-1]; e.Action != "software-package.upload" || e.Status != http.StatusOK {
		t.Fatalf("audit event %+v", e)
	}

	t.Run("SameFileAgain", func(t *testing.T) {
		again := decodeData[ocpPackage](t, f.upload(t, "dbplane-probe_1.0-1_all.deb", deb))
		if again.ID != p.ID {
			t.Fatalf("re-upload made package %d, want the stored %d", again.ID, p.ID)
		}
	})
	t.Run("OtherContentUnderTheName", func(t *testing.T) {
		other := debtest.Bytes(t, debtest.Package{Name: "dbplane-probe", Version: "1.0-2"})
		wantError(t, f.upload(t, "dbplane-probe_1.0-1_all.deb", other), http.StatusConflict, 10003)
	})
	t.Run("Signed", func(t *testing.T) {
		req := f.uploadRequest(t, "file", "signed_1.0_all.deb", debtest.Bytes(t, debtest.Package{Name: "signed", Version: "1.0"}))
		req.Header.Del("Authorization")
		if a := send(t, sign(t, req, testAK, testSK, time.Now())); a.HTTPStatus != http.StatusOK {
			t.Fatalf("signed upload answered %d: %+v", a.HTTPStatus, a.Error)
		}
	})
	t.Run("LargerThanOtherBodies", func(t *testing.T) {
		// Random bytes do not compress: the .deb is over the 1 MiB that
		// bounds other requests' bodies, and under the package bound.
		big := make([]byte, 3<<19)
		rand.Read(big)
		deb := debtest.Bytes(t, debtest.Package{Name: "big", Version: "1", Files: map[string]string{"usr/share/big/blob": string(big)}})
		if len(deb) <= ocp.DefaultMaxBodyBytes {
			t.Fatalf("the test package has %d bytes, not more than %d", len(deb), ocp.DefaultMaxBodyBytes)
		}
		if a := f.upload(t, "big_1_all.deb", deb); a.HTTPStatus != http.StatusOK {
			t.Fatalf("upload of %d bytes answered %d: %+v", len(deb), a.HTTPStatus, a.Error)
		}
	})
}

func TestPackageUploadRefused(t *testing.T) {
	f := newPackageFixture(t, 64<<10)
	deb := debtest.Bytes(t, debtest.Package{Name: "dbplane-probe", Version: "1.0"})
	junk := make([]byte, 128<<10)
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		status int
		code   int
		field  string
	}{
		{"NotAPackage", func() *http.Request { return f.uploadRequest(t, "file", "x_1_all.deb", []byte("hello, world\n")) },
			http.StatusBadRequest, 10001, "file"},
		{"DebNamedRPM", func() *http.Request { return f.uploadRequest(t, "file", "x-1-1.noarch.rpm", deb) },
			http.StatusBadRequest, 10001, "file"},
		{"NotAPackageName", func() *http.Request { return f.uploadRequest(t, "file", "notes.txt", deb) },
			http.StatusBadRequest, 10001, "file"},
		{"NoFilePart", func() *http.Request { return f.uploadRequest(t, "upload", "x_1_all.deb", deb) },
			http.StatusBadRequest, 10001, "file"},
		{"TooLarge", func() *http.Request { return f.uploadRequest(t, "file", "big_1_all.deb", junk) },
			http.StatusRequestEntityTooLarge, 10004, ""},
		{"NotMultipart", func() *http.Request {
			return f.request(t, http.MethodPost, "/api/v2/software-packages", []byte(`{"file":"x"}`))
		}, http.StatusUnsupportedMediaType, 10005, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			if req.Header.Get("Authorization") == "" {
				basic(req, testUser, testPassword)
			}
			fields := wantError(t, send(t, req), tc.status, tc.code)
			if tc.field != "" && !slices.Contains(fields, tc.field) {
				t.Fatalf("sub error fields %v, want %q", fields, tc.field)
			}
		})
	}
	list := decodeData[struct {
		Page struct{ TotalElements int } `json:"page"`
	}](t, f.get(t, "/api/v2/software-packages"))
	if list.Page.TotalElements != 0 {
		t.Fatalf("refused uploads left %d packages", list.Page.TotalElements)
	}
}

func TestPackageListGetDelete(t *testing.T) {
	f := newPackageFixture(t, 0)
	ids := map[string]int64{}
	for _, name := range []string{"bravo", "alpha", "charlie"} {
		fileName := name + "_1.0_all.deb"
		if name == "charlie" {
			fileName = pinnedFile
		}
		p := decodeData[ocpPackage](t, f.upload(t, fileName, debtest.Bytes(t, debtest.Package{Name: name, Version: "1.0"})))
		ids[name] = p.ID
	}
	type page struct {
		Contents []ocpPackage `json:"contents"`
		Page     struct {
			TotalElements, TotalPages, Number, Size int
		} `json:"page"`
	}
	names := func(p page) []string {
		var out []string
		for _, c := range p.Contents {
			out = append(out, c.Name)
		}
		return out
	}

	t.Run("SortedPaginated", func(t *testing.T) {
		p := decodeData[page](t, f.get(t, "/api/v2/software-packages?sort=name,desc&size=2&page=1"))
		if got := names(p); !slices.Equal(got, []string{"charlie", "bravo"}) || p.Page.TotalElements != 3 || p.Page.TotalPages != 2 {
			t.Fatalf("page 1 = %v, %+v", got, p.Page)
		}
		p = decodeData[page](t, f.get(t, "/api/v2/software-packages?sort=name,desc&size=2&page=2"))
		if got := names(p); !slices.Equal(got, []string{"alpha"}) {
			t.Fatalf("page 2 = %v", got)
		}
	})
	t.Run("Keyword", func(t *testing.T) {
		p := decodeData[page](t, f.get(t, "/api/v2/software-packages?keyword=RAV"))
		if got := names(p); !slices.Equal(got, []string{"bravo"}) {
			t.Fatalf("keyword RAV = %v", got)
		}
	})
	t.Run("UnknownSort", func(t *testing.T) {
		if fields := wantError(t, f.get(t, "/api/v2/software-packages?sort=color,asc"), http.StatusBadRequest, 10001); !slices.Equal(fields, []string{"sort"}) {
			t.Fatalf("sub errors %v, want sort", fields)
		}
	})
	t.Run("Get", func(t *testing.T) {
		p := decodeData[ocpPackage](t, f.get(t, "/api/v2/software-packages/"+itoa(ids["alpha"])))
		if p.Name != "alpha" || p.FileName != "alpha_1.0_all.deb" {
			t.Fatalf("get = %+v", p)
		}
		wantError(t, f.get(t, "/api/v2/software-packages/9999"), http.StatusNotFound, 10002)
		wantError(t, f.get(t, "/api/v2/software-packages/x"), http.StatusBadRequest, 10001)
	})
	t.Run("Delete", func(t *testing.T) {
		del := func(id int64) *answer {
			return send(t, basic(f.request(t, http.MethodDelete, "/api/v2/software-packages/"+itoa(id), nil), testUser, testPassword))
		}
		if a := del(ids["alpha"]); a.HTTPStatus != http.StatusOK {
			t.Fatalf("delete answered %d: %+v", a.HTTPStatus, a.Error)
		}
		wantError(t, f.get(t, "/api/v2/software-packages/"+itoa(ids["alpha"])), http.StatusNotFound, 10002)
		// The catalog names charlie's file: deleting it is refused.
		wantError(t, del(ids["charlie"]), http.StatusConflict, 10003)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCreateRpmNameNamesAnUploadedFile checks that rpmName may be a file
// the catalog's MariaDB entry names, and that the service's refusal of a
// file not uploaded comes back on rpmName.
func TestCreateRpmNameNamesAnUploadedFile(t *testing.T) {
	f := newPackageFixture(t, 0)
	threeIDCs(&f.fixture)
	f.clusters.create = func(_ context.Context, spec dbplane.ClusterSpec, _ bool) (*dbplane.Cluster, *dbplane.Task, error) {
		if spec.Engine != dbplane.EngineMySQL || spec.Version != "10.11" {
			t.Errorf("spec %s %s, want MariaDB 10.11", spec.Engine, spec.Version)
		}
		return nil, nil, dbplane.Invalid(dbplane.FieldError{Field: "version",
			Message: "the catalog entry mysql 10.11 names package file " + pinnedFile + ", which is not uploaded"})
	}
	body := strings.ReplaceAll(createBody, `"mariadb-server"`, strconv.Quote(pinnedFile))
	a := f.post(t, "/api/v2/ob/clusters", []byte(body))
	if fields := wantError(t, a, http.StatusBadRequest, 10001); !slices.Equal(fields, []string{"rpmName"}) ||
		!strings.Contains(a.Error.SubErrors[0].Message, pinnedFile) {
		t.Fatalf("sub errors %+v, want one on rpmName naming %s", a.Error.SubErrors, pinnedFile)
	}
}
