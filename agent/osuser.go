package agent

import (
	"errors"
	"fmt"
	"os/user"
	"regexp"
	"strconv"
	"syscall"

	"github.com/dbplane/dbplane"
)

// osUser is an OS account resolved to the numbers the kernel wants.
type osUser struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	home   string
}

// userNameRE is the portable subset of user names that useradd accepts.
var userNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// validUserName returns a permanent error unless name is a plausible OS
// user name: it ends up on useradd's command line.
func validUserName(field, name string) error {
	if name == "" {
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: "is required"})
	}
	if !userNameRE.MatchString(name) {
		return dbplane.Invalid(dbplane.FieldError{Field: field,
			Message: "must be 1-32 lowercase letters, digits, '_' or '-', starting with a letter or '_'"})
	}
	return nil
}

// lookupUser resolves name. A missing user is a client error: the caller
// must create it first, and retrying will not.
func lookupUser(field, name string) (*osUser, error) {
	if err := validUserName(field, name); err != nil {
		return nil, err
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("user %q does not exist on the host", name)})
		}
		return nil, fmt.Errorf("while looking up user %q: %w", name, err)
	}
	ou := &osUser{name: name, home: u.HomeDir}
	if ou.uid, err = parseID(u.Uid); err != nil {
		return nil, err
	}
	if ou.gid, err = parseID(u.Gid); err != nil {
		return nil, err
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("while listing the groups of user %q: %w", name, err)
	}
	for _, g := range gids {
		id, err := parseID(g)
		if err != nil {
			return nil, err
		}
		ou.groups = append(ou.groups, id)
	}
	return ou, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("while parsing user or group id %q: %w", s, err)
	}
	return uint32(n), nil
}

// credential makes a child process run as the user, with its supplementary
// groups (postgres reads ssl-cert keys through one).
func (u *osUser) credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// defaultPath is the PATH of commands and instances: the agent's own PATH
// may be a service manager's minimal one, or a developer's.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env returns the minimal environment of a process of the user, followed
// by extra; a later entry wins (os/exec keeps the last of duplicates).
func (u *osUser) env(extra []string) []string {
	env := []string{
		"PATH=" + defaultPath,
		"HOME=" + u.home,
		"USER=" + u.name,
		"LOGNAME=" + u.name,
		"LANG=C.UTF-8",
	}
	return append(env, extra...)
}
