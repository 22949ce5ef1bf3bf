package pki

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// LoadKeyring returns the keyring of the secret keys: from SecretKeyEnv
// (comma-separated base64 keys, the primary first) if getenv has it, else
// from SecretKeyFile in dataDir (one base64 key per line, the primary
// first), which is created with one random key (mode 0600) if it does not
// exist. A keyring of the file re-reads it when it meets a key it lacks (see
// Keyring). getenv nil means os.Getenv.
func LoadKeyring(getenv func(string) string, dataDir string) (*Keyring, error) {
	const op = "pki.LoadKeyring"
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(SecretKeyEnv); v != "" {
		raw, err := parseKeyList(strings.Split(v, ","), "key")
		if err != nil {
			return nil, dbplane.E(op, fmt.Errorf("while reading %s: %w", SecretKeyEnv, err))
		}
		kr, err := NewKeyring(raw[0], raw[1:]...)
		if err != nil {
			return nil, dbplane.E(op, fmt.Errorf("while reading %s: %w", SecretKeyEnv, err))
		}
		return kr, nil
	}
	path := KeyFilePath(dataDir)
	if _, err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, dbplane.E(op, err)
	}
	src := &keyFileSource{path: path}
	raw, err := src.read()
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	keys, err := newSecretKeys(raw)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while reading %s: %w", path, err))
	}
	return &Keyring{keys: keys, file: src}, nil
}

// keyFileCheckInterval is how often a keyring of a key file checks, when
// it seals, whether the file changed. A variable for tests.
var keyFileCheckInterval = time.Minute

// keyFileSource is the key file a keyring came from, with the version of
// it read last.
type keyFileSource struct {
	path    string
	mu      sync.Mutex
	stamp   string
	checked time.Time
}

// fileStamp identifies a version of the file: its inode (a rotation
// renames a new file into place), size and modification time.
func fileStamp(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	return fmt.Sprintf("%d/%d/%d", ino, st.Size(), st.ModTime().UnixNano())
}

// read reads the file and remembers its version.
func (s *keyFileSource) read() ([][]byte, error) {
	stamp := fileStamp(s.path)
	keys, err := readKeyFile(s.path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.stamp = stamp
	s.mu.Unlock()
	return keys, nil
}

// changed reports whether the file differs from the version read last,
// looking at most once every keyFileCheckInterval.
func (s *keyFileSource) changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.checked) < keyFileCheckInterval {
		return false
	}
	s.checked = now
	return fileStamp(s.path) != s.stamp
}

// KeyFilePath returns the path of the key file in dataDir.
func KeyFilePath(dataDir string) string { return filepath.Join(dataDir, SecretKeyFile) }

// NewSecretKey returns a new random key, base64-encoded as the key file and
// SecretKeyEnv hold it, and its id.
func NewSecretKey() (encoded, id string, err error) {
	key := make([]byte, secretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return "", "", dbplane.E("pki.NewSecretKey", fmt.Errorf("while generating a secret key: %w", err))
	}
	return base64.StdEncoding.EncodeToString(key), keyID(key), nil
}

// parseKeyList decodes base64 keys, skipping blank entries and, in a key
// file, comment lines starting with #. what names an entry in errors
// ("line", "key").
func parseKeyList(entries []string, what string) ([][]byte, error) {
	var keys [][]byte
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("%s %d: the secret key is not base64: %w", what, i+1, err)
		}
		if len(key) != secretKeyLen {
			return nil, fmt.Errorf("%s %d: the secret key has %d bytes, want %d", what, i+1, len(key), secretKeyLen)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no secret key found")
	}
	return keys, nil
}

// readKeyFile reads a key file, refusing one that others may read: a key
// anyone can copy protects nothing.
func readKeyFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by other users (mode %#o): chmod 600 it", path, st.Mode().Perm())
	}
	text, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	keys, err := parseKeyList(lines, "line")
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	return keys, nil
}

// formatKeyFile returns the text of a key file holding keys, the primary
// first.
func formatKeyFile(keys [][]byte) []byte {
	var b bytes.Buffer
	for _, key := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(key))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// createKeyFile writes a new random key to path, unless the file exists
// (fs.ErrExist), for instance because another process created it first.
// The key is written to a temporary file and linked into place, so nobody
// reads half a key.
func createKeyFile(path string) ([][]byte, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fs.ErrExist
	}
	key := make([]byte, secretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("while generating the secret key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("while creating %s: %w", dir, err)
	}
	tmp, err := writeTempKeyFile(dir, [][]byte{key})
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return nil, fs.ErrExist
	} else if err != nil {
		return nil, fmt.Errorf("while creating %s: %w", path, err)
	}
	return [][]byte{key}, nil
}

// writeTempKeyFile writes keys to a new temporary file (mode 0600) in dir,
// synced to disk, and returns its path.
func writeTempKeyFile(dir string, keys [][]byte) (string, error) {
	tmp, err := os.CreateTemp(dir, ".secret-key-*")
	if err != nil {
		return "", fmt.Errorf("while creating a secret key file: %w", err)
	}
	_, err = tmp.Write(formatKeyFile(keys))
	if err == nil {
		err = tmp.Chmod(0o600) // CreateTemp makes 0600 files today; do not rely on it
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("while writing a secret key file: %w", err)
	}
	return tmp.Name(), nil
}

// replaceKeyFile atomically replaces the key file at path with keys: a
// reader sees the old file or the new one, and a crash leaves one of them.
func replaceKeyFile(path string, keys [][]byte) error {
	dir := filepath.Dir(path)
	tmp, err := writeTempKeyFile(dir, keys)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("while replacing %s: %w", path, err)
	}
	// Sync the directory, so the rename survives a crash: losing it would
	// lose the new key that secrets are about to be sealed with.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("while syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("while syncing %s: %w", dir, err)
	}
	return nil
}

// editKeyFile runs edit on the keys of the key file in dataDir and writes
// what it returns, holding an exclusive lock on dataDir so that two
// rotations cannot lose each other's keys.
func editKeyFile(dataDir string, edit func([][]byte) ([][]byte, error)) error {
	d, err := os.Open(dataDir)
	if err != nil {
		return fmt.Errorf("while opening the data directory: %w", err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("while locking %s: %w", dataDir, err)
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	path := KeyFilePath(dataDir)
	keys, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return dbplane.Errorf(dbplane.KindNotFound, "there is no key file %s: is the data directory the control plane's?", path)
	} else if err != nil {
		return err
	}
	if keys, err = edit(keys); err != nil {
		return err
	}
	return replaceKeyFile(path, keys)
}

// RotateKeyFile adds a new random key to the key file in dataDir as its
// primary, keeping the older keys after it, and returns the new key's id.
// Secrets sealed before stay sealed with their old keys until the store
// re-seals them (dbplane.Store.ResealSecrets).
func RotateKeyFile(dataDir string) (string, error) {
	const op = "pki.RotateKeyFile"
	key := make([]byte, secretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return "", dbplane.E(op, fmt.Errorf("while generating a secret key: %w", err))
	}
	err := editKeyFile(dataDir, func(keys [][]byte) ([][]byte, error) {
		return append([][]byte{key}, keys...), nil
	})
	if err != nil {
		return "", dbplane.E(op, err)
	}
	return keyID(key), nil
}

// RetireKeys removes every key but the primary from the key file in
// dataDir and returns the ids of the keys it removed. primaryID must name
// the file's primary key: the key the caller re-sealed every stored secret
// with, for a secret of a retired key no longer opens. If another rotation
// made another key primary meanwhile, RetireKeys changes nothing and returns
// a KindConflict error.
func RetireKeys(dataDir, primaryID string) ([]string, error) {
	var retired []string
	err := editKeyFile(dataDir, func(keys [][]byte) ([][]byte, error) {
		if id := keyID(keys[0]); id != primaryID {
			return nil, dbplane.Errorf(dbplane.KindConflict,
				"the primary key of the key file is %s, not %s: it was rotated meanwhile; re-seal the secrets again first", id, primaryID)
		}
		for _, k := range keys[1:] {
			retired = append(retired, keyID(k))
		}
		return keys[:1], nil
	})
	if err != nil {
		return nil, dbplane.E("pki.RetireKeys", err)
	}
	return retired, nil
}
