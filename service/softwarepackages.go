package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pkgfile"
)

var _ dbplane.SoftwarePackageService = (*SoftwarePackages)(nil)

// SoftwarePackages implements the package store: uploaded .deb and .rpm
// files, their metadata in Store and their bytes in Files. Packages belong
// to the fleet, like hosts: uploading and deleting need the manage role,
// reading the read role, on every project.
type SoftwarePackages struct {
	Store dbplane.SoftwarePackageStore
	Files *pkgfile.Dir
	// MaxBytes bounds an upload; 0 means dbplane.DefaultMaxPackageBytes.
	MaxBytes int64
	// Catalog is the catalog whose entries may name uploaded packages: a
	// package it names cannot be deleted.
	Catalog dbplane.Catalog
	// Logger receives audit lines; nil discards them.
	Logger *slog.Logger
}

// UploadSoftwarePackage stores the package file read from r as fileName.
// The file is parsed before it is kept: one that is not the package its
// suffix says is refused naming the field "file". The same file uploaded
// again answers the stored package; other content under a taken file name
// is a conflict, since catalog entries and hosts rely on a file name
// meaning one content.
func (s *SoftwarePackages) UploadSoftwarePackage(ctx context.Context, fileName string, r io.Reader) (*dbplane.SoftwarePackage, error) {
	const op = "service.UploadSoftwarePackage"
	dbplane.AuditTarget(ctx, target("software-package", fileName), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return nil, err
	}
	fileName = path.Base(strings.ReplaceAll(fileName, `\`, "/")) // browsers may send a client path
	format, ok := dbplane.PackageFormatOf(fileName)
	if !ok || !dbplane.ValidPackageFileName(fileName) {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "file", Message: fmt.Sprintf(
			"the file name %q must be a package file name ending in .deb or .rpm, of letters, digits and + . _ ~ -", clip(fileName))})
	}
	var info pkgfile.Info
	blob, err := s.Files.Put(r, s.maxBytes(), func(f *os.File, size int64) error {
		var err error
		info, err = pkgfile.Parse(f, size, format)
		return err
	})
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	p := &dbplane.SoftwarePackage{FileName: fileName, Format: format, Name: info.Name, Version: info.Version,
		Release: info.Release, Architecture: info.Architecture, Description: info.Description,
		Size: blob.Size, SHA256: blob.SHA256, MD5: blob.MD5, Creator: userName(ctx)}
	if err := s.Store.CreateSoftwarePackage(ctx, p); dbplane.ErrorKind(err) == dbplane.KindConflict {
		return s.existing(ctx, p)
	} else if err != nil {
		s.dropUnused(ctx, blob.SHA256)
		return nil, dbplane.E(op, err)
	}
	// A delete of another package with the same content may have removed
	// the bytes between their rename and this insert: then undo.
	f, err := s.Files.Open(p.SHA256)
	if err != nil {
		s.Store.DeleteSoftwarePackage(ctx, p.ID)
		return nil, &dbplane.Error{Op: op, Kind: dbplane.KindConflict,
			Message: "a package of the same content was deleted during the upload: upload it again", Err: err}
	}
	f.Close()
	s.logger().InfoContext(ctx, "software package uploaded", "id", p.ID, "file_name", p.FileName,
		"sha256", p.SHA256, "size", p.Size, "user", p.Creator)
	return p, nil
}

// existing answers an upload under a taken file name: the stored package
// if the content is the same, else a conflict.
func (s *SoftwarePackages) existing(ctx context.Context, p *dbplane.SoftwarePackage) (*dbplane.SoftwarePackage, error) {
	ps, _, err := s.Store.FindSoftwarePackages(ctx, dbplane.SoftwarePackageFilter{FileName: &p.FileName, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 { // deleted meanwhile: the caller may try again
		return nil, dbplane.Errorf(dbplane.KindConflict, "package file %q changed while it was uploaded: upload it again", p.FileName)
	}
	if ps[0].SHA256 != p.SHA256 {
		// The new bytes may be stored under their digest now: drop them
		// unless a package has them.
		s.dropUnused(ctx, p.SHA256)
		return nil, &dbplane.Error{Kind: dbplane.KindConflict, Message: fmt.Sprintf(
			"a different package file named %q exists already (sha256 %s): delete it first, or upload under another name",
			p.FileName, ps[0].SHA256), Fields: []dbplane.FieldError{{Field: "file", Message: "file name taken by other content"}}}
	}
	dbplane.AuditTarget(ctx, target("software-package", ps[0].ID), dbplane.GlobalScope)
	return ps[0], nil
}

// dropUnused removes the bytes of digest if no package has them.
func (s *SoftwarePackages) dropUnused(ctx context.Context, digest string) {
	ps, _, err := s.Store.FindSoftwarePackages(ctx, dbplane.SoftwarePackageFilter{SHA256: &digest, Limit: 1})
	if err == nil && len(ps) == 0 {
		if err := s.Files.Remove(digest); err != nil {
			s.logger().WarnContext(ctx, "cannot remove an unused package file", "sha256", digest, "error", err)
		}
	}
}

// FindSoftwarePackages returns a page of packages.
func (s *SoftwarePackages) FindSoftwarePackages(ctx context.Context, f dbplane.SoftwarePackageFilter) ([]*dbplane.SoftwarePackage, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindSoftwarePackages(ctx, f)
}

// FindSoftwarePackageByID returns a package.
func (s *SoftwarePackages) FindSoftwarePackageByID(ctx context.Context, id int64) (*dbplane.SoftwarePackage, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindSoftwarePackageByID(ctx, id)
}

// DeleteSoftwarePackage removes a package, refused while a catalog entry
// names it: clusters of that entry could no longer be created or
// repaired. Its bytes go when no other package has them. Hosts that
// installed it keep it.
func (s *SoftwarePackages) DeleteSoftwarePackage(ctx context.Context, id int64) error {
	dbplane.AuditTarget(ctx, target("software-package", id), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	p, err := s.Store.FindSoftwarePackageByID(ctx, id)
	if err != nil {
		return err
	}
	for _, ev := range s.Catalog.Engines {
		if slices.Contains(ev.Packages, p.FileName) {
			return dbplane.Errorf(dbplane.KindConflict,
				"package file %q is named by the catalog entry %s %s: remove it from the catalog first", p.FileName, ev.Engine, ev.Version)
		}
	}
	shared, err := s.Store.DeleteSoftwarePackage(ctx, id)
	if err != nil {
		return err
	}
	if shared == 0 {
		if err := s.Files.Remove(p.SHA256); err != nil {
			s.logger().WarnContext(ctx, "cannot remove a deleted package's file", "sha256", p.SHA256, "error", err)
		}
	}
	s.logger().InfoContext(ctx, "software package deleted", "id", id, "file_name", p.FileName, "user", userName(ctx))
	return nil
}

func (s *SoftwarePackages) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return dbplane.DefaultMaxPackageBytes
}

func (s *SoftwarePackages) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// checkUploads refuses a cluster whose catalog entry names package files
// that are not uploaded: its install step could only fail. The message
// names the missing files.
func (s *Service) checkUploads(ctx context.Context, spec dbplane.ClusterSpec) error {
	ev, ok := s.Catalog.Version(spec.Engine, spec.Version)
	if !ok {
		return nil // validateSpec refused it already
	}
	files := dbplane.UploadedPackages(ev.Packages)
	if len(files) == 0 {
		return nil
	}
	var missing []string
	for _, f := range files {
		if s.Uploads == nil {
			missing = append(missing, f)
			continue
		}
		ps, _, err := s.Uploads.FindSoftwarePackages(ctx, dbplane.SoftwarePackageFilter{FileName: &f, Limit: 1})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return dbplane.Invalid(dbplane.FieldError{Field: "version", Message: fmt.Sprintf(
		"the catalog entry %s %s names package file %s, which is not uploaded: upload it (POST /api/v2/software-packages) first",
		ev.Engine, ev.Version, strings.Join(missing, ", "))})
}
