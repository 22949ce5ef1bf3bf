package pkgfile

import (
	"fmt"
	"io"
	"regexp"

	"github.com/dbplane/dbplane"
)

// Info is the metadata a package file carries about itself.
type Info struct {
	Format       dbplane.PackageFormat
	Name         string
	Version      string // a .deb's full version, an .rpm's version without release
	Release      string // an .rpm's release; empty for a .deb
	Architecture string
	Description  string // its first line only
}

// fileField names the upload in the errors of Parse, as front doors call
// it.
const fileField = "file"

// Parse reads the metadata of the package in r (size bytes), which must be
// of the given format. An unreadable or incomplete package is a KindInvalid
// error naming the field "file".
func Parse(r io.ReaderAt, size int64, format dbplane.PackageFormat) (Info, error) {
	var (
		info Info
		err  error
	)
	switch format {
	case dbplane.PackageDeb:
		info, err = parseDeb(io.NewSectionReader(r, 0, size))
	case dbplane.PackageRPM:
		info, err = parseRPM(io.NewSectionReader(r, 0, size))
	default:
		return Info{}, invalid("unknown package format %q: want deb or rpm", format)
	}
	if err != nil {
		if dbplane.ErrorKind(err) == dbplane.KindInvalid {
			return Info{}, err
		}
		return Info{}, invalid("not a readable .%s package: %v", format, err)
	}
	info.Format = format
	return info, checkInfo(info)
}

// nameRE and versionRE bound what a package may call itself: the names
// and versions of Debian policy §5.6 and of RPM, which excludes anything
// that could surprise a shell, a path or a log line.
var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9.+~:_-]{1,128}$`)
)

// checkInfo refuses metadata a package manager would refuse too, or that
// is missing.
func checkInfo(info Info) error {
	switch {
	case !nameRE.MatchString(info.Name):
		return invalid("the package's name %q is missing or not a valid package name", clip(info.Name))
	case !versionRE.MatchString(info.Version):
		return invalid("the package's version %q is missing or not a valid version", clip(info.Version))
	case info.Release != "" && !versionRE.MatchString(info.Release):
		return invalid("the package's release %q is not valid", clip(info.Release))
	case !nameRE.MatchString(info.Architecture):
		return invalid("the package's architecture %q is missing or not valid", clip(info.Architecture))
	}
	return nil
}

func invalid(format string, args ...any) error {
	return dbplane.Invalid(dbplane.FieldError{Field: fileField, Message: fmt.Sprintf(format, args...)})
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
