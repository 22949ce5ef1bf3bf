package dbplane

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"
)

// PackageFormat is the format of an uploaded package file.
type PackageFormat string

// Package formats dbplane reads.
const (
	PackageDeb PackageFormat = "deb"
	PackageRPM PackageFormat = "rpm"
)

// DefaultMaxPackageBytes bounds an uploaded package file unless the
// configuration says otherwise: larger than any database server package.
const DefaultMaxPackageBytes int64 = 2 << 30

// SoftwarePackage is a package file uploaded to the control plane's
// package store, so that hosts without a package repository (air-gapped
// ones) can install it: agents fetch it from the control plane. Catalog
// entries name it by its file name. Its content is immutable: a file name
// always means the same bytes.
type SoftwarePackage struct {
	ID int64 `json:"id"`
	// FileName is the name it was uploaded as, e.g. foo_1.0-1_amd64.deb;
	// unique.
	FileName string        `json:"file_name"`
	Format   PackageFormat `json:"format"`
	// Name, Version, Release and Architecture are read from the file's
	// own metadata (a .deb's control file, an .rpm's header). A .deb has
	// no separate release: it is part of Version.
	Name         string `json:"name"`
	Version      string `json:"version"`
	Release      string `json:"release,omitempty"`
	Architecture string `json:"architecture"`
	Description  string `json:"description,omitempty"`
	Size         int64  `json:"size"`
	// SHA256 (hex) addresses the content: agents fetch and verify it by
	// this digest. MD5 is kept because OCP clients show it.
	SHA256    string    `json:"sha256"`
	MD5       string    `json:"md5"`
	Creator   string    `json:"creator"`
	CreatedAt time.Time `json:"created_at"`
}

// SoftwarePackageFilter selects uploaded packages. Nil fields do not
// filter.
type SoftwarePackageFilter struct {
	// Keyword matches file name, package name or version, ignoring case.
	Keyword  *string `json:"keyword,omitempty"`
	FileName *string `json:"file_name,omitempty"`
	SHA256   *string `json:"sha256,omitempty"`
	Offset   int     `json:"offset,omitempty"`
	Limit    int     `json:"limit,omitempty"`
}

// SoftwarePackageService is the package store's API, shared by every
// front door. Uploading and deleting need the manage role on the fleet,
// reading the read role: packages belong to no project.
type SoftwarePackageService interface {
	// UploadSoftwarePackage reads a package file from r and stores it
	// under fileName. KindInvalid (field "file") if it is not a .deb or
	// .rpm its name's suffix says; KindTooLarge over the size limit;
	// KindConflict if fileName is taken by other content. The same file
	// uploaded again returns the stored package.
	UploadSoftwarePackage(ctx context.Context, fileName string, r io.Reader) (*SoftwarePackage, error)
	// FindSoftwarePackages returns a page of packages, ordered by id, and
	// the total that match.
	FindSoftwarePackages(ctx context.Context, filter SoftwarePackageFilter) ([]*SoftwarePackage, int, error)
	// FindSoftwarePackageByID returns a package. KindNotFound if missing.
	FindSoftwarePackageByID(ctx context.Context, id int64) (*SoftwarePackage, error)
	// DeleteSoftwarePackage removes a package. KindNotFound if missing;
	// KindConflict while a catalog entry names it.
	DeleteSoftwarePackage(ctx context.Context, id int64) error
}

// SoftwarePackageStore keeps the metadata of uploaded packages; the bytes
// live in a content-addressed directory beside it.
type SoftwarePackageStore interface {
	// CreateSoftwarePackage inserts p and sets its ID. KindConflict if
	// its file name is taken.
	CreateSoftwarePackage(ctx context.Context, p *SoftwarePackage) error
	// FindSoftwarePackages returns a page ordered by id and the total.
	FindSoftwarePackages(ctx context.Context, filter SoftwarePackageFilter) ([]*SoftwarePackage, int, error)
	// FindSoftwarePackageByID returns a package. KindNotFound if missing.
	FindSoftwarePackageByID(ctx context.Context, id int64) (*SoftwarePackage, error)
	// DeleteSoftwarePackage removes a package and reports how many other
	// packages still have its content (the caller removes the bytes when
	// none do). KindNotFound if missing.
	DeleteSoftwarePackage(ctx context.Context, id int64) (shared int, err error)
}

// PackageFile is an uploaded package as an agent installs it: fetched
// from the control plane by its digest, verified, then installed.
type PackageFile struct {
	FileName     string        `json:"file_name"`
	Format       PackageFormat `json:"format"`
	Name         string        `json:"name"`
	Version      string        `json:"version"`
	Architecture string        `json:"architecture"`
	SHA256       string        `json:"sha256"`
	Size         int64         `json:"size"`
}

// File returns what an agent needs to install p.
func (p *SoftwarePackage) File() PackageFile {
	v := p.Version
	if p.Release != "" {
		v += "-" + p.Release
	}
	return PackageFile{FileName: p.FileName, Format: p.Format, Name: p.Name, Version: v,
		Architecture: p.Architecture, SHA256: p.SHA256, Size: p.Size}
}

// PackageFileInstaller is implemented by agents that install uploaded
// package files (agentclient.Client does); HostAgent.EnsurePackages takes only
// names of the OS's packages.
type PackageFileInstaller interface {
	// EnsurePackageFiles installs the files whose package is not installed
	// at their version yet, fetching them from the control plane.
	EnsurePackageFiles(ctx context.Context, files []PackageFile) error
}

// PackageFormatOf returns the format a catalog package entry's suffix
// names: an entry ending in .deb or .rpm is the file name of an uploaded
// package; any other entry is an OS package name.
func PackageFormatOf(entry string) (PackageFormat, bool) {
	switch {
	case strings.HasSuffix(entry, ".deb"):
		return PackageDeb, true
	case strings.HasSuffix(entry, ".rpm"):
		return PackageRPM, true
	}
	return "", false
}

// packageFileNameRE is what an uploaded file may be called: a plain file
// name of the characters package file names use, so it is safe in paths,
// shells and apt's command line.
var packageFileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._~-]{0,250}\.(deb|rpm)$`)

// ValidPackageFileName reports whether name may name an uploaded package
// file: letters, digits and + . _ ~ -, ending in .deb or .rpm.
func ValidPackageFileName(name string) bool { return packageFileNameRE.MatchString(name) }

// UploadedPackages returns the entries of packages that name uploaded
// files, in order.
func UploadedPackages(packages []string) []string {
	var files []string
	for _, p := range packages {
		if _, ok := PackageFormatOf(p); ok {
			files = append(files, p)
		}
	}
	return files
}
