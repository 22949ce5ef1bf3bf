package pkgfile

import (
	"bytes"
	"encoding/binary"
	"io"
)

// RPM's file format (rpm's doc/manual/format): a 96-byte lead, a signature
// header padded to 8 bytes, then the main header that holds the tags read
// here. No library is used: the one maintained reader (cavaliergopher/rpm)
// is not reachable from this project's module proxy, and go-rpmutils
// brings cgo zstd and OpenPGP along for what is a bounded binary read.
const (
	rpmLeadSize = 96
	// Bounds of a header, as rpm's own (HEADER_MAX_BYTES is 256 MiB): far
	// above any real package's, and a bound on what a hostile one costs.
	rpmMaxEntries = 1 << 16
	rpmMaxStore   = 64 << 20

	rpmTagName    = 1000
	rpmTagVersion = 1001
	rpmTagRelease = 1002
	rpmTagSummary = 1004
	rpmTagArch    = 1022

	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9
)

var (
	rpmLeadMagic   = []byte{0xed, 0xab, 0xee, 0xdb}
	rpmHeaderMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
)

// parseRPM reads the name, version, release, architecture and summary
// of an .rpm.
func parseRPM(r *io.SectionReader) (Info, error) {
	lead := make([]byte, rpmLeadSize)
	if _, err := io.ReadFull(r, lead); err != nil || !bytes.Equal(lead[:4], rpmLeadMagic) {
		return Info{}, invalid("not an .rpm package: it has no RPM lead")
	}
	if err := skipSignature(r); err != nil {
		return Info{}, err
	}
	pos, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return Info{}, err
	}
	tags, err := readHeader(r, r.Size()-pos)
	if err != nil {
		return Info{}, err
	}
	return Info{Name: tags[rpmTagName], Version: tags[rpmTagVersion], Release: tags[rpmTagRelease],
		Architecture: tags[rpmTagArch], Description: tags[rpmTagSummary]}, nil
}

// headerIntro reads a header's intro (magic, reserved, entry count, store
// size) and checks its bounds.
func headerIntro(r io.Reader) (entries, store uint32, err error) {
	var intro [16]byte
	if _, err := io.ReadFull(r, intro[:]); err != nil {
		return 0, 0, invalid("the .rpm is truncated: a header is missing")
	}
	if !bytes.Equal(intro[:4], rpmHeaderMagic) {
		return 0, 0, invalid("not an .rpm package: bad header magic")
	}
	entries = binary.BigEndian.Uint32(intro[8:12])
	store = binary.BigEndian.Uint32(intro[12:16])
	if entries == 0 || entries > rpmMaxEntries || store > rpmMaxStore {
		return 0, 0, invalid("the .rpm's header is implausibly large (%d entries, %d bytes)", entries, store)
	}
	return entries, store, nil
}

// skipSignature skips the signature header and its padding to 8 bytes.
func skipSignature(r io.ReadSeeker) error {
	entries, store, err := headerIntro(r)
	if err != nil {
		return err
	}
	n := int64(entries)*16 + int64(store)
	if n%8 != 0 {
		n += 8 - n%8
	}
	_, err = r.Seek(n, io.SeekCurrent)
	return err
}

// readHeader reads the main header, of the remain bytes left in the
// file, and returns its string tags of interest; the first string of an
// array or a translated string.
func readHeader(r io.Reader, remain int64) (map[int32]string, error) {
	entries, store, err := headerIntro(r)
	if err != nil {
		return nil, err
	}
	// A header larger than the file is a lie: refuse it before allocating.
	if int64(entries)*16+int64(store) > remain-16 {
		return nil, invalid("the .rpm is truncated: its header claims more bytes than the file has")
	}
	index := make([]byte, int(entries)*16)
	data := make([]byte, store)
	if _, err := io.ReadFull(r, index); err != nil {
		return nil, invalid("the .rpm is truncated in its header index")
	}
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, invalid("the .rpm is truncated in its header data")
	}
	tags := map[int32]string{}
	for i := 0; i < int(entries); i++ {
		e := index[i*16 : i*16+16]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		switch tag {
		case rpmTagName, rpmTagVersion, rpmTagRelease, rpmTagSummary, rpmTagArch:
		default:
			continue
		}
		if typ != rpmTypeString && typ != rpmTypeStringArray && typ != rpmTypeI18NString {
			return nil, invalid("the .rpm's header tag %d is not a string", tag)
		}
		if off >= store {
			return nil, invalid("the .rpm's header tag %d points outside the header", tag)
		}
		end := bytes.IndexByte(data[off:], 0)
		if end < 0 {
			return nil, invalid("the .rpm's header tag %d is not terminated", tag)
		}
		tags[tag] = string(data[off : int(off)+end])
	}
	return tags, nil
}
