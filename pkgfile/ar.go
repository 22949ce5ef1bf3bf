package pkgfile

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// arReader reads the members of an ar archive, the container of a .deb
// (deb(5)): a global magic, then members, each a 60-byte header (name,
// dates, ids, mode, decimal size, "`\n") followed by its data padded to
// an even length. It is written here rather than taken from
// github.com/blakesmith/ar, which panics on malformed headers (found by
// FuzzParse) and is no longer maintained.
type arReader struct {
	r      io.ReadSeeker
	remain int64 // unread bytes of the current member
	pad    int64
}

// arHeader is what parseDeb needs of a member's header.
type arHeader struct {
	Name string
	Size int64
}

// newArReader returns a reader of the archive r, positioned after its
// magic.
func newArReader(r io.ReadSeeker) (*arReader, error) {
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != arMagic {
		return nil, invalid("not a .deb package: it is not an ar archive")
	}
	return &arReader{r: r}, nil
}

// Next skips to the next member and returns its header; io.EOF after the
// last.
func (a *arReader) Next() (*arHeader, error) {
	if _, err := a.r.Seek(a.remain+a.pad, io.SeekCurrent); err != nil {
		return nil, err
	}
	a.remain, a.pad = 0, 0
	var h [60]byte
	if n, err := io.ReadFull(a.r, h[:]); errors.Is(err, io.EOF) && n == 0 {
		return nil, io.EOF
	} else if err != nil {
		return nil, invalid("the .deb is truncated in a member header")
	}
	if string(h[58:60]) != "`\n" {
		return nil, invalid("the .deb has a malformed member header")
	}
	size, err := strconv.ParseInt(strings.TrimRight(string(h[48:58]), " "), 10, 64)
	if err != nil || size < 0 {
		return nil, invalid("the .deb has a member of malformed size")
	}
	a.remain, a.pad = size, size%2
	return &arHeader{Name: strings.TrimRight(string(h[0:16]), " "), Size: size}, nil
}

// Read reads the current member's data.
func (a *arReader) Read(b []byte) (int, error) {
	if a.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > a.remain {
		b = b[:a.remain]
	}
	n, err := a.r.Read(b)
	a.remain -= int64(n)
	if errors.Is(err, io.EOF) && a.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
