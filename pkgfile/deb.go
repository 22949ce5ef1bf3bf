package pkgfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Limits that keep a hostile .deb from using much memory: a control file
// is a few KiB.
const (
	maxControlTar  = 16 << 20
	maxControlFile = 1 << 20
	arMagic        = "!<arch>\n"
)

// parseDeb reads a .deb: an ar archive of debian-binary ("2.x"), then
// control.tar[.gz|.xz|.zst] whose ./control file has the package's fields.
func parseDeb(r io.ReadSeeker) (Info, error) {
	a, err := newArReader(r)
	if err != nil {
		return Info{}, err
	}
	h, err := a.Next()
	if errors.Is(err, io.EOF) {
		return Info{}, invalid("not a .deb package: the archive is empty")
	} else if err != nil {
		return Info{}, err
	}
	if h.Name != "debian-binary" && h.Name != "debian-binary/" {
		return Info{}, invalid("not a .deb package: its first member is %q, not debian-binary", clip(h.Name))
	}
	v, err := io.ReadAll(io.LimitReader(a, 64))
	if err != nil {
		return Info{}, err
	}
	if !strings.HasPrefix(string(v), "2.") {
		return Info{}, invalid("unsupported .deb format version %q: want 2.x", clip(strings.TrimSpace(string(v))))
	}
	for {
		h, err := a.Next()
		if errors.Is(err, io.EOF) {
			return Info{}, invalid("not a .deb package: it has no control.tar member")
		} else if err != nil {
			return Info{}, err
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !strings.HasPrefix(name, "control.tar") {
			continue
		}
		if h.Size > maxControlTar {
			return Info{}, invalid("the .deb's %s is over %d bytes", name, maxControlTar)
		}
		return readControlTar(name, io.LimitReader(a, h.Size))
	}
}

// readControlTar finds ./control in the control archive, decompressing it
// as its name's suffix says.
func readControlTar(name string, r io.Reader) (Info, error) {
	var (
		dr  io.Reader
		err error
	)
	switch path.Ext(name) {
	case ".tar":
		dr = r
	case ".gz":
		var gz *gzip.Reader
		if gz, err = gzip.NewReader(r); err == nil {
			defer gz.Close()
			dr = gz
		}
	case ".xz":
		dr, err = xz.NewReader(r)
	case ".zst":
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(r, zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderConcurrency(1)); err == nil {
			defer zr.Close()
			dr = zr
		}
	default:
		return Info{}, invalid("the .deb's %s is compressed in an unknown way", clip(name))
	}
	if err != nil {
		return Info{}, invalid("the .deb's %s cannot be decompressed: %v", name, err)
	}
	tr := tar.NewReader(io.LimitReader(dr, maxControlTar))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return Info{}, invalid("the .deb's %s has no control file", name)
		} else if err != nil {
			return Info{}, invalid("the .deb's %s is not a readable tar archive: %v", name, err)
		}
		if path.Clean(h.Name) != "control" || h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxControlFile+1))
		if err != nil {
			return Info{}, invalid("the .deb's control file cannot be read: %v", err)
		}
		if len(data) > maxControlFile {
			return Info{}, invalid("the .deb's control file is over %d bytes", maxControlFile)
		}
		return controlInfo(data), nil
	}
}

// controlInfo reads the fields of a control file (deb-control(5)); the
// continuation lines of multi-line fields are skipped.
func controlInfo(data []byte) Info {
	var info Info
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxControlFile)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(key) {
		case "package":
			info.Name = value
		case "version":
			info.Version = value
		case "architecture":
			info.Architecture = value
		case "description":
			info.Description = value
		}
	}
	return info
}
